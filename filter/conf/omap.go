package conf

// entry is one option's value and where it was written.
type entry struct {
	val  string
	file string // "" for a value that came from no file (the jail)
	line int
	sect string // the section, when known
	none bool   // Python's None: an option fail2ban sets without a value
}

// omap is a map that keeps insertion order, as Python's dict does: the
// order decides which value fail2ban reads first, and so which of two
// problems it reports.
type omap struct {
	keys []string
	m    map[string]entry
}

func newOmap() *omap { return &omap{m: map[string]entry{}} }

func (o *omap) get(k string) (entry, bool) {
	if o == nil {
		return entry{}, false
	}
	e, ok := o.m[k]
	return e, ok
}

func (o *omap) has(k string) bool {
	_, ok := o.get(k)
	return ok
}

// set stores e under k; a key already present keeps its place.
func (o *omap) set(k string, e entry) {
	if _, ok := o.m[k]; !ok {
		o.keys = append(o.keys, k)
	}
	o.m[k] = e
}

func (o *omap) clone() *omap {
	c := &omap{keys: append([]string(nil), o.keys...), m: make(map[string]entry, len(o.m))}
	for k, v := range o.m {
		c.m[k] = v
	}
	return c
}

// update is Python's dict.update: o takes every key of u, in u's order.
func (o *omap) update(u *omap) {
	for _, k := range u.keys {
		o.set(k, u.m[k])
	}
}
