package conf

import "strings"

// merge reads the files in order into one configuration, as fail2ban's
// SafeConfigParserWithIncludes.read does: [DEFAULT] options accumulate, a
// later file's option replaces an earlier one of the same section, and the
// replaced value is kept in the section KNOWN/<section> for %(known/x)s
// and <known/x>. A section named like "Init?family=inet6" (a conditional
// section) merges into Init with each name suffixed: "x?family=inet6".
func merge(l *loader, files []string) (*config, error) {
	c := newConfig()
	for _, f := range files {
		fc, err := l.load(f)
		if err != nil {
			return nil, err
		}
		c.defaults.update(fc.defaults)
		for _, n := range fc.names {
			s := fc.sections[n]
			if base, cond, ok := conditional(n); ok {
				renamed := newOmap()
				for _, k := range s.keys {
					if k != "__name__" { // fail2ban drops it, a relic of Python 2's configparser
						renamed.set(k+cond, s.m[k])
					}
				}
				n, s = base, renamed
			}
			s2 := c.sections[n]
			if s2 == nil {
				c.sections[n] = s.clone()
				c.names = append(c.names, n)
				continue
			}
			known := c.sections["KNOWN/"+n]
			if known == nil {
				known = c.addSection("KNOWN/" + n)
			}
			for _, k := range s2.keys {
				if s.has(k) {
					known.set(k, s2.m[k])
				}
			}
			s2.update(s)
		}
	}
	return c, nil
}

// conditional matches fail2ban's CONDITIONAL_RE, ^(\w+)(\?.+)$, on a name:
// its base and its condition ("?family=inet6").
func conditional(name string) (base, cond string, ok bool) {
	q := strings.IndexByte(name, '?')
	if q <= 0 {
		return "", "", false
	}
	for _, r := range name[:q] {
		if !isWord(r) {
			return "", "", false
		}
	}
	rest := strings.TrimSuffix(name[q+1:], "\n")
	if rest == "" || strings.Contains(rest, "\n") {
		return "", "", false
	}
	return name[:q], name[q:], true
}
