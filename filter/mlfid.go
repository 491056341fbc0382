package filter

import (
	"time"
)

// fail2ban's mlfid cache: Utils.Cache(maxCount=100, maxTime=5*60).
const (
	mlfidMaxCount = 100
	mlfidMaxAge   = 5 * time.Minute
)

// failData is fail2ban's failure dict: group values (strings), and the
// keys the engine adds: users (userSet), matches and nofail-matches
// ([]tupleLine), mlfpending (int), ip (string). A session's data is one
// map shared by the cache and the failures merged into it, as in fail2ban.
type failData map[string]any

// userSet is the users of an F-MLFID session, fail2ban's set.
type userSet map[string]struct{}

// str returns a string value and whether the key holds one.
func (d failData) str(k string) (string, bool) {
	s, ok := d[k].(string)
	return s, ok
}

// truthy is Python's truth of d.get(k): present and not empty or zero.
func (d failData) truthy(k string) bool {
	switch v := d[k].(type) {
	case nil:
		return false
	case string:
		return v != ""
	case int:
		return v != 0
	case userSet:
		return len(v) > 0
	case []tupleLine:
		return len(v) > 0
	}
	return true
}

// pop is Python's d.pop(k, None) followed by a truth test.
func (d failData) pop(k string) bool {
	t := d.truthy(k)
	delete(d, k)
	return t
}

// lines returns a []tupleLine value (nil when absent).
func (d failData) lines(k string) []tupleLine {
	l, _ := d[k].([]tupleLine)
	return l
}

// mlfidEntry is one cached session and when it expires.
type mlfidEntry struct {
	key     string
	data    failData
	expires time.Time
}

// mlfidCache is fail2ban's Utils.Cache as the filter uses it: insertion
// ordered, at most mlfidMaxCount entries, each expiring mlfidMaxAge after
// it was set; setting a key again keeps its place in the order.
type mlfidCache struct {
	order []string // keys, oldest first
	m     map[string]*mlfidEntry
}

func newMLFIDCache() *mlfidCache {
	return &mlfidCache{m: make(map[string]*mlfidEntry)}
}

// get returns the session of key, dropping it when it has expired.
func (c *mlfidCache) get(key string, now time.Time) failData {
	e := c.m[key]
	if e == nil {
		return nil
	}
	if e.expires.After(now) {
		return e.data
	}
	c.unset(key)
	return nil
}

// set stores a session; when the cache is full it drops entries from the
// front (the oldest) until one that had not expired was dropped or there
// is room, as fail2ban does.
func (c *mlfidCache) set(key string, d failData, now time.Time) {
	if len(c.m) >= mlfidMaxCount {
		for len(c.order) > 0 {
			k := c.order[0]
			c.order = c.order[1:]
			e := c.m[k]
			delete(c.m, k)
			if e.expires.After(now) && len(c.m) < mlfidMaxCount {
				break
			}
		}
	}
	if e := c.m[key]; e != nil {
		e.data, e.expires = d, now.Add(mlfidMaxAge)
		return
	}
	c.m[key] = &mlfidEntry{key: key, data: d, expires: now.Add(mlfidMaxAge)}
	c.order = append(c.order, key)
}

// unset removes a session.
func (c *mlfidCache) unset(key string) {
	if _, ok := c.m[key]; !ok {
		return
	}
	delete(c.m, key)
	for i, k := range c.order {
		if k == key {
			c.order = append(c.order[:i:i], c.order[i+1:]...)
			break
		}
	}
}

// updateUsers is fail2ban's _updateUsers: adds user (when not empty) to
// the users of d and returns them.
func updateUsers(d failData, user string) userSet {
	users, _ := d["users"].(userSet)
	if user != "" {
		if len(users) == 0 {
			users = userSet{}
			d["users"] = users
		}
		users[user] = struct{}{}
	}
	return users
}

// Flags of a merge, as fail2ban's _mergeFailure keeps them.
const (
	nfNoFail    = 1 // this match is a no-failure
	nfForget    = 2 // F-MLFFORGET: the session ends
	nfWasNoFail = 4 // the session's last match was a no-failure or a gain
	nfGained    = 8 // F-MLFGAINED: access was gained
)

// mergeFailure is fail2ban's _mergeFailure: merges the failure data of a
// match with the cached data of its F-MLFID session and returns the data
// the failure carries on.
func (f *Filter) mergeFailure(mlfid string, d failData, fr *found) failData {
	now := f.now()
	var cached failData
	if f.mlfid != nil {
		cached = f.mlfid.get(mlfid, now)
	}
	var users userSet
	flags := 0
	if d.truthy("mlfgained") {
		flags |= nfGained | nfNoFail
		if !d.truthy("nofail") {
			d["nofail"] = d["mlfgained"]
		}
	} else if d.truthy("nofail") {
		flags |= nfNoFail
	}
	if d.pop("mlfforget") {
		flags |= nfForget
	}
	user, _ := d.str("user")
	if cached != nil {
		users = updateUsers(cached, user)
		if cached.pop("nofail") {
			flags |= nfWasNoFail
		}
		if cached.pop("mlfgained") {
			flags |= nfWasNoFail
		}
		if flags&nfGained != 0 {
			delete(cached, "mlfpending")
		}
		if flags&nfWasNoFail == 0 && !cached.truthy("mlfpending") {
			delete(cached, "matches")
		}
		for k, v := range d {
			cached[k] = v
		}
		d = cached
		if flags&nfForget != 0 {
			f.mlfid.unset(mlfid)
		}
	} else if flags&nfForget == 0 {
		users = updateUsers(d, user)
		if f.mlfid == nil {
			f.mlfid = newMLFIDCache()
		}
		f.mlfid.set(mlfid, d, now)
	}
	if d.pop("mlfpending") || len(users) > 1 {
		// Pending failures or several users: this is no no-failure.
		delete(d, "nofail")
		delete(d, "mlfgained")
		flags &^= nfGained | nfNoFail
	}
	if flags&nfNoFail == 0 {
		m := append([]tupleLine(nil), d.lines("nofail-matches")...)
		delete(d, "nofail-matches")
		m = append(m, d.lines("matches")...)
		if flags&nfGained == 0 {
			m = append(m, fr.matched...)
		}
		d["matches"] = m
	} else if flags&(nfNoFail|nfForget) == nfNoFail {
		m := append([]tupleLine(nil), d.lines("nofail-matches")...)
		d["nofail-matches"] = append(m, fr.matched...)
	}
	return d
}
