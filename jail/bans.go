package jail

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// kickRun wakes Run when a ban that ends before every other was made.
func (m *Manager) kickRun(first bool) {
	if first {
		select {
		case m.kick <- struct{}{}:
		default:
		}
	}
}

// banLocked bans key in j from now for t and returns the ban's entry
// number; j.mu is held and key is not banned. With bantime.increment on,
// the ban lasts longer for every earlier ban of key the store remembers.
// held is the bytes of matches counted against the budget.
func (m *Manager) banLocked(j *jail, key netip.Prefix, now time.Time, matches []string, held int64, t *txn) int32 {
	banTime, count := j.cfg.BanTime, 1
	if inc := j.cfg.Increment; inc.Enabled && m.history != nil {
		before := m.history(j.name, key, inc.OverallJails)
		banTime = inc.BanTime(j.cfg.BanTime, before, m.rnd)
		count = before + 1
	}
	b := Ban{Prefix: key, Start: now, BanTime: banTime, Count: count}
	e := j.bans.entry(&b, m.banSeq.Add(1))
	e.held = int32(held)
	i, first := j.bans.insert(e, matches)
	j.banTotal++
	m.kickRun(first)
	if t != nil {
		t.undo = append(t.undo, undoStep{kind: undoBan, j: j, key: key, seq: e.seq, ver: e.ver})
	}
	m.queue(j, EventBan, j.bans.ban(i), CauseCommand, t)
	return i
}

// unbanLocked lifts ban i for cause (t: the command's transaction, nil
// for other causes); j.mu is held.
func (m *Manager) unbanLocked(j *jail, i int32, cause Cause, t *txn) {
	b := j.bans.ban(i)
	e, ms := j.bans.remove(i)
	j.unbanTotal++
	m.matches.free(int64(e.held))
	if t != nil {
		e.held = 0
		t.undo = append(t.undo, undoStep{kind: undoUnban, j: j, key: b.Prefix, seq: e.seq, ver: e.ver, e: e, matches: ms})
	}
	m.queue(j, EventUnban, b, cause, t)
}

// unbanAllLocked lifts every ban of j, in BanList order; j.mu is held.
func (m *Manager) unbanAllLocked(j *jail, cause Cause, t *txn) int {
	keys := sortedBans(j)
	for _, k := range keys {
		i, _ := j.bans.find(k)
		m.unbanLocked(j, i, cause, t)
	}
	return len(keys)
}

// sortedBans returns the prefixes of j's bans by end, forever last, then
// by address (prefixes, as entry numbers change while bans are lifted).
func sortedBans(j *jail) []netip.Prefix { return prefixesOf(j, sortedEntries(j)) }

// sortedEntries returns the numbers of j's entries in sortedBans' order.
func sortedEntries(j *jail) []int32 {
	is := allBans(j)
	slices.SortFunc(is, func(a, b int32) int {
		ea, eb := j.bans.at(a), j.bans.at(b)
		af, bf := ea.forever(), eb.forever()
		switch {
		case af && !bf:
			return 1
		case bf && !af:
			return -1
		case !af:
			if c := cmp.Compare(ea.end(), eb.end()); c != 0 {
				return c
			}
		}
		return ea.key.prefix().Addr().Compare(eb.key.prefix().Addr())
	})
	return is
}

// allBans returns the numbers of j's entries.
func allBans(j *jail) []int32 {
	is := make([]int32, j.bans.len())
	for k := range is {
		is[k] = int32(k)
	}
	return is
}

// prefixesOf returns the prefixes of j's entries is, in their order.
func prefixesOf(j *jail, is []int32) []netip.Prefix {
	out := make([]netip.Prefix, len(is))
	for k, i := range is {
		out[k] = j.bans.at(i).key.prefix()
	}
	return out
}

// bansInOrder returns j's bans in the order they were made (restored bans
// in the order they were restored), as fail2ban's ban list keeps them.
func bansInOrder(j *jail) []netip.Prefix {
	is := allBans(j)
	slices.SortFunc(is, func(a, b int32) int { return cmp.Compare(j.bans.at(a).seq, j.bans.at(b).seq) })
	return prefixesOf(j, is)
}

// Attempt records failures of addr in the jail: n = len(msgs), at least 1,
// as fail2ban's addFailure(ticket, len(matches) or 1). It returns 0 when the
// failures were not counted (an address that can never be banned, ignoreip,
// ignoreself, idle jail) and 1 otherwise. When the last maxretry failures
// lie within findtime the address is banned at once, before Attempt
// returns; with a Journal, once the ban is stored: if it cannot be, the
// ban is undone and Attempt returns the journal's error. An address
// already banned returns 1 and changes nothing.
func (m *Manager) Attempt(name string, addr netip.Addr, msgs []string) (int, error) {
	return m.AttemptAt(name, addr, time.Time{}, msgs)
}

// AttemptAt is Attempt for failures that happened at a time of their own
// (a log line's date; the zero time, or a time after now, is now): they
// count at that time, so failures older than findtime are not counted
// (AttemptAt returns 0, as fail2ban ignores such lines), and a ban they
// cause starts then and ends bantime later.
func (m *Manager) AttemptAt(name string, addr netip.Addr, at time.Time, msgs []string) (int, error) {
	return m.attempt(name, addr, at, time.Time{}, msgs)
}

// AttemptNow is Attempt for a caller that has just read the clock: now,
// from time.Now. The Manager uses it as its own reading when its clock is
// the real one (Options.Now unset), saving a second reading per attempt;
// with an injected clock it reads that clock, as Attempt does. A zero now
// is Attempt.
func (m *Manager) AttemptNow(name string, addr netip.Addr, now time.Time, msgs []string) (int, error) {
	if !m.realClock {
		now = time.Time{}
	}
	return m.attempt(name, addr, time.Time{}, now, msgs)
}

// attempt is AttemptAt with the clock's reading now, or the zero time to
// read the Manager's clock.
func (m *Manager) attempt(name string, addr netip.Addr, at, now time.Time, msgs []string) (int, error) {
	j, err := m.lookup(name)
	if err != nil {
		return 0, err
	}
	if addr, err = checkAddr(addr); err != nil {
		return 0, err
	}
	if unbannable(addr) != "" {
		return 0, nil
	}
	if now.IsZero() {
		now = m.now()
	}
	ns := now.UnixNano()
	if at.IsZero() || at.After(now) {
		at = now
	}
	atNs := at.UnixNano()
	j.mu.Lock()
	switch {
	case j.removed:
		j.mu.Unlock()
		return 0, unknownJail(name)
	case j.idle || m.ignoredLocked(j, addr, ns):
		j.mu.Unlock()
		return 0, nil
	case atNs != ns && ns-atNs >= window(j.cfg.FindTime):
		j.mu.Unlock()
		return 0, nil // older than findtime: it can ban nobody
	}
	key := m.keyLocked(j, addr, ns)
	if _, banned := j.bans.find(key); banned {
		j.mu.Unlock()
		return 1, nil
	}
	j.failTotal++
	if j.cfg.Shared && m.onFail != nil {
		m.onFail(Failure{Jail: j.name, Key: key, At: at, Count: max(len(msgs), 1), MaxRetry: j.cfg.MaxRetry, FindTime: j.cfg.FindTime})
	}
	ban, matches, held := m.fails.record(j, key.Addr(), atNs, max(len(msgs), 1), msgs, j.cfg.MaxRetry, window(j.cfg.FindTime))
	if !ban {
		j.mu.Unlock()
		return 1, nil
	}
	t := m.begin()
	m.banLocked(j, key, at, matches, held, t)
	m.record(t)
	j.mu.Unlock()
	if err := m.finish(t, j); err != nil {
		return 0, err
	}
	return 1, nil
}

// BanIP bans addrs now and returns how many were newly banned. Like
// fail2ban's banip it skips the ignore lists; unlike it, addresses that
// must never be banned are refused with ErrInvalidAddress, naming why, and
// then nothing is banned: loopback, unspecified, multicast, link-local,
// broadcast, an address in the jail's ignoreip, or one of this host's. An address already banned has its ban
// prolonged to now+bantime if that ends later. With a Journal, BanIP
// returns once the bans are stored; if they cannot be, none of them
// stays and BanIP returns the journal's error. This host's addresses are
// the cached ones, which the daemon refreshes on every address change
// (RefreshSelf); the route action checks the namespace's own again.
func (m *Manager) BanIP(name string, addrs []netip.Addr) (int, error) {
	now := m.now()
	ns := now.UnixNano()
	n := 0
	t := m.begin()
	var jj *jail
	err := m.lockedNoDeliver(name, func(j *jail) error {
		jj = j
		norm, err := checkAddrs(addrs, true)
		if err != nil {
			return err
		}
		// Refuse the whole command before banning any of it: a ban of an
		// ignored or own address would lock out what the operator meant to
		// keep reachable.
		keys := make([]netip.Prefix, len(norm))
		for i, a := range norm {
			if m.ignoredLocked(j, a, ns) {
				return fmtInvalid("in the ignore list of jail "+strconv.Quote(j.name)+":", a)
			}
			if m.isSelf(a, ns) {
				return fmtInvalid("of this host:", a)
			}
			keys[i] = m.keyLocked(j, a, ns)
		}
		if m.onEvent != nil && len(keys) > 64 {
			// One allocation for a bulk ban's events rather than a queue
			// doubling its way up (most of a 200,000-address banip's peak).
			j.evMu.Lock()
			j.pending = slices.Grow(j.pending, len(keys))
			j.evMu.Unlock()
		}
		for _, k := range keys {
			if i, ok := j.bans.find(k); ok {
				m.prolongLocked(j, i, now, t)
				continue
			}
			m.banLocked(j, k, now, nil, 0, t)
			n++
		}
		m.record(t)
		return nil
	})
	if ferr := m.finish(t, jj); ferr != nil && err == nil {
		return 0, ferr
	}
	return n, err
}

// prolongLocked extends ban i to now+bantime when that ends later,
// keeping its start, as fail2ban's BanManager.addBanTicket does; the new
// end is an EventProlong, stored and applied like a ban. j.mu is held.
func (m *Manager) prolongLocked(j *jail, i int32, now time.Time, t *txn) {
	bt := j.cfg.BanTime
	e := j.bans.at(i)
	oldTime := e.banTime
	switch {
	case e.forever():
		return
	case bt == Forever:
		j.bans.setBanTime(i, Forever)
	default:
		end := now.Add(bt)
		if end.UnixNano() <= e.end() {
			return
		}
		j.bans.setBanTime(i, time.Duration(end.UnixNano()-e.startNano()))
	}
	e = j.bans.at(i)
	e.ver++
	if t != nil {
		t.undo = append(t.undo, undoStep{kind: undoProlong, j: j, key: e.key.prefix(), seq: e.seq, ver: e.ver, banTime: oldTime})
	}
	m.queue(j, EventProlong, j.bans.ban(i), CauseCommand, t)
}

// UnbanIP lifts the bans of addrs and returns how many it lifted. Addresses
// not banned are reported in a *NotBannedError (matching ErrNotBanned)
// unless ifExists, fail2ban's default for unbanip without --report-absent;
// the others are unbanned either way. With a Journal, UnbanIP returns once
// the unbans are stored; if they cannot be, the bans stay and UnbanIP
// returns the journal's error.
func (m *Manager) UnbanIP(name string, addrs []netip.Addr, ifExists bool) (int, error) {
	n := 0
	var missed []netip.Addr
	t := m.begin()
	var jj *jail
	err := m.lockedNoDeliver(name, func(j *jail) error {
		jj = j
		norm, err := checkAddrs(addrs, false)
		if err != nil {
			return err
		}
		now := m.now().UnixNano()
		for _, a := range norm {
			if i, ok := m.findLocked(j, a, now); ok {
				m.unbanLocked(j, i, CauseCommand, t)
				n++
			} else if !ifExists {
				missed = append(missed, a)
			}
		}
		m.record(t)
		return nil
	})
	if ferr := m.finish(t, jj); ferr != nil && err == nil {
		return 0, ferr
	}
	if err == nil && len(missed) > 0 {
		err = &NotBannedError{Addrs: missed}
	}
	return n, err
}

// UnbanAll lifts every ban of the jail and forgets its ban history, as
// fail2ban's flush does, and returns how many bans it lifted.
func (m *Manager) UnbanAll(name string) (int, error) {
	n := 0
	t := m.begin()
	var jj *jail
	err := m.lockedNoDeliver(name, func(j *jail) error {
		jj = j
		m.queue(j, EventForget, Ban{}, CauseCommand, t)
		n = m.unbanAllLocked(j, CauseCommand, t)
		m.record(t)
		return nil
	})
	if ferr := m.finish(t, jj); ferr != nil && err == nil {
		return 0, ferr
	}
	return n, err
}

// UnbanEverywhere is fail2ban's `unban IP...`: it lifts the bans of addrs in
// every jail, ignoring addresses not banned; with addrs nil it is
// `unban --all`, which lifts every ban and forgets every jail's ban
// history. It returns how many bans it lifted. Invalid addresses are
// skipped, as they cannot be banned. All jails change together: with a
// Journal, if the changes cannot be stored, none stays.
func (m *Manager) UnbanEverywhere(addrs []netip.Addr) (int, error) {
	js := m.snapshot()
	// Locked together, in name order (every holder of several jail locks
	// takes them so), so the command is stored as one change.
	slices.SortFunc(js, func(a, b *jail) int { return cmp.Compare(a.name, b.name) })
	for _, j := range js {
		j.mu.Lock()
	}
	t := m.begin()
	total := 0
	now := m.now().UnixNano()
	for _, j := range js {
		switch {
		case j.removed:
		case addrs == nil:
			m.queue(j, EventForget, Ban{}, CauseCommand, t)
			total += m.unbanAllLocked(j, CauseCommand, t)
		default:
			for _, a := range addrs {
				if i, ok := m.findLocked(j, a.Unmap(), now); ok {
					m.unbanLocked(j, i, CauseCommand, t)
					total++
				}
			}
		}
	}
	m.record(t)
	for _, j := range js {
		j.mu.Unlock()
	}
	if err := m.finish(t, js...); err != nil {
		return 0, err
	}
	return total, nil
}

// IsBanned reports whether addr is banned in the jail.
func (m *Manager) IsBanned(name string, addr netip.Addr) (bool, error) {
	var banned bool
	err := m.locked(name, func(j *jail) error {
		addr, err := checkAddr(addr)
		if err == nil {
			_, banned = m.findLocked(j, addr, m.now().UnixNano())
		}
		return err
	})
	return banned, err
}

// BannedIn returns the names of the jails, sorted, where addr is banned.
func (m *Manager) BannedIn(addr netip.Addr) []string {
	addr = addr.Unmap()
	now := m.now().UnixNano()
	var names []string
	for _, j := range m.snapshot() {
		j.mu.Lock()
		if _, ok := m.findLocked(j, addr, now); ok && !j.removed {
			names = append(names, j.name)
		}
		j.mu.Unlock()
	}
	slices.Sort(names)
	return names
}

// BanList returns the jail's live bans ordered by end of ban, forever last
// (then by address), as fail2ban's getBanList(ordered=True).
func (m *Manager) BanList(name string) ([]Ban, error) {
	var out []Ban
	err := m.locked(name, func(j *jail) error {
		is := sortedEntries(j)
		out = make([]Ban, len(is))
		for k, i := range is {
			out[k] = j.bans.ban(i)
			out[k].Matches = slices.Clone(out[k].Matches)
		}
		return nil
	})
	return out, err
}

// EachBan calls f with each of the jail's live bans, in no particular
// order: for what needs every ban but not BanList's order, such as the
// kernel's reconciliation, it costs no sorted copy of them (with a million
// bans, BanList holds the jail's lock for the sort and builds 130 MB of
// list). size, if not nil, is called first with the number of bans f will
// see, to size what f fills. Both run with the jail's lock held: they
// must not call the Manager, and f must not keep b.Matches (the jail's
// own slice).
func (m *Manager) EachBan(name string, size func(n int), f func(b Ban)) error {
	return m.locked(name, func(j *jail) error {
		n := j.bans.len()
		if size != nil {
			size(n)
		}
		for i := range n {
			f(j.bans.ban(int32(i)))
		}
		return nil
	})
}

// Banned returns the jail's live bans in the order they were made, as
// fail2ban's ban list keeps them (`get JAIL banned`, `banned`, status): a
// prolonged ban keeps its place.
func (m *Manager) Banned(name string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	err := m.locked(name, func(j *jail) error {
		out = bansInOrder(j)
		return nil
	})
	return out, err
}

// Status is a jail's counters, as fail2ban's `status JAIL` reports them.
type Status struct {
	CurrentlyFailed int            // addresses with failures being tracked
	TotalFailed     int            // failures counted since the jail was added (one per Attempt)
	CurrentlyBanned int            // live bans
	TotalBanned     int            // bans since the jail was added, restored ones included (as fail2ban counts them)
	Banned          []netip.Prefix // live bans, in the order they were made (Banned)
}

// Status returns the jail's counters; failures older than findtime are
// dropped first so CurrentlyFailed is current.
func (m *Manager) Status(name string) (Status, error) {
	m.sweepFailures(m.now())
	var st Status
	err := m.locked(name, func(j *jail) error {
		st.Banned = bansInOrder(j)
		st.CurrentlyBanned = len(st.Banned)
		st.TotalBanned = j.banTotal
		st.TotalFailed = j.failTotal
		m.fails.mu.Lock()
		st.CurrentlyFailed = j.nfailed
		m.fails.mu.Unlock()
		return nil
	})
	return st, err
}

// checkAddrs normalises addrs with checkAddr, refusing with ban the
// addresses that can never be banned (loopback, unspecified, multicast,
// ...); callers check the jail first, as fail2ban looks it up first. It
// copies addrs only when one needs unmapping; the result is read-only.
func checkAddrs(addrs []netip.Addr, ban bool) ([]netip.Addr, error) {
	norm := addrs
	for i, a := range addrs {
		u, err := checkAddr(a)
		if err == nil && ban {
			if why := unbannable(u); why != "" {
				err = fmtInvalid(why+", never banned:", u)
			}
		}
		if err != nil {
			return nil, err
		}
		if u != a {
			if &norm[0] == &addrs[0] {
				norm = slices.Clone(addrs)
			}
			norm[i] = u
		}
	}
	return norm, nil
}

func fmtInvalid(what string, a netip.Addr) error {
	return &invalidAddrError{what: what, addr: a}
}

// invalidAddrError says why an otherwise valid address was refused.
type invalidAddrError struct {
	what string
	addr netip.Addr
}

// Error implements error.
func (e *invalidAddrError) Error() string {
	return ErrInvalidAddress.Error() + ": " + e.what + " " + e.addr.String()
}

// Unwrap lets errors.Is(err, ErrInvalidAddress) succeed.
func (e *invalidAddrError) Unwrap() error { return ErrInvalidAddress }

// findLocked returns the ban covering addr in j: by the jail's key for it,
// or by addr alone (a ban made before IPv6Prefix changed, or one that fell
// back to the address); j.mu is held.
func (m *Manager) findLocked(j *jail, addr netip.Addr, now int64) (int32, bool) {
	if i, ok := j.bans.find(m.keyLocked(j, addr, now)); ok {
		return i, true
	}
	return j.bans.find(netip.PrefixFrom(addr, addr.BitLen()))
}

// Restore brings stored bans back into a jail when it starts: each keeps
// its start, ban time, count and matches, so it ends when it would have;
// bans already ended are dropped, and so are those the jail would not make
// now (an address it ignores, loopback, this host's). Each restored ban is
// delivered as an EventBan with CauseRestored, so actions apply it again
// and a store does not record it twice. It returns how many came back.
func (m *Manager) Restore(name string, bans []Ban) (int, error) {
	now := m.now()
	ns := now.UnixNano()
	n := 0
	err := m.locked(name, func(j *jail) error {
		if len(bans) > 1024 {
			// Sized once: rebuilding the index as it grows to a million
			// entries costs a good part of a second.
			j.bans.presize(len(bans))
		}
		if m.onEvent != nil {
			// One allocation for all the events: growing the queue one
			// append at a time cost seconds for a million restored bans.
			j.evMu.Lock()
			j.pending = slices.Grow(j.pending, len(bans))
			j.evMu.Unlock()
		}
		for _, b := range bans {
			addr := b.Prefix.Addr()
			if !b.Prefix.IsValid() || unbannable(addr) != "" || m.ignoredLocked(j, addr, ns) || m.isSelf(addr, ns) {
				continue
			}
			if b.BanTime != Forever && !b.Start.Add(b.BanTime).After(now) {
				continue
			}
			if _, ok := j.bans.find(b.Prefix); ok {
				continue
			}
			e := j.bans.entry(&b, m.banSeq.Add(1))
			i, first := j.bans.insert(e, m.holdMatches(&e, b.Matches))
			m.kickRun(first)
			// fail2ban counts a restored ban in "Total banned": it goes
			// through the same addBanTicket as a new one.
			j.banTotal++
			m.queue(j, EventBan, j.bans.ban(i), CauseRestored, nil)
			n++
		}
		return nil
	})
	return n, err
}
