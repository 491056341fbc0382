package jail

import (
	"math"
	"net/netip"
	"strconv"
	"time"
)

// The cluster's doors into the jails. A jail with Config.Shared counts its
// failures and makes its bans with the other nodes of a cluster: the
// Manager hands each failure it counts to Options.OnFailure, and bans and
// unbans made by commands (CauseCommand events) reach the cluster through
// OnEvent like they reach actions. What other nodes did comes back through
// the methods below, each under this node's own rules: an address it would
// never ban (loopback, its own, its jail's ignoreip) stays unbanned
// whatever the cluster says.

// Failure is one failure counted in a shared jail, for the cluster's
// count of the attacker across nodes.
type Failure struct {
	Jail     string
	Key      netip.Prefix // what the jail counts: the address, or its IPv6 prefix
	At       time.Time
	Count    int // failures this attempt stands for (at least 1)
	MaxRetry int
	FindTime time.Duration
}

// ClusterRefusedError is why this node does not enforce a ban another node
// made: the address is one it never bans.
type ClusterRefusedError struct {
	Jail   string
	Prefix netip.Prefix
	Reason string
}

func (e *ClusterRefusedError) Error() string {
	return "jail: not enforcing the cluster's ban of " + e.Prefix.String() + " in jail " + strconv.Quote(e.Jail) + ": " + e.Reason
}

// Unwrap makes the error match ErrInvalidAddress.
func (e *ClusterRefusedError) Unwrap() error { return ErrInvalidAddress }

// refusedLocked says why the jail never bans p on this node ("" when it
// may): j.mu is held.
func (m *Manager) refusedLocked(j *jail, p netip.Prefix, now int64) string {
	a := p.Addr()
	if why := unbannable(a); why != "" {
		return why
	}
	for _, n := range j.ignoreNets {
		if n.Overlaps(p) {
			return "in the jail's ignoreip " + n.String()
		}
	}
	for x := range j.ignoreSet {
		if p.Contains(x) {
			return "covers " + x.String() + " in the jail's ignoreip"
		}
	}
	for _, x := range m.selfAddrs(now) {
		if p.Contains(x) {
			return "covers this host's address " + x.String()
		}
	}
	return ""
}

// ClusterReached bans key in the jail because the cluster's count of its
// failures, over every node, reached maxretry with the failure at at: the
// ban is this node's own (a CauseCommand event, stored and shared like an
// attempt's). It does nothing when key is already banned, or is an address
// this node never bans, and reports whether it banned.
func (m *Manager) ClusterReached(name string, key netip.Prefix, at time.Time) (bool, error) {
	now := m.now()
	if at.IsZero() || at.After(now) {
		at = now
	}
	banned := false
	t := m.begin()
	var jj *jail
	err := m.lockedNoDeliver(name, func(j *jail) error {
		jj = j
		if !key.IsValid() || j.idle {
			return nil
		}
		key = key.Masked()
		if _, ok := j.bans.find(key); ok {
			return nil
		}
		if m.refusedLocked(j, key, now.UnixNano()) != "" {
			return nil
		}
		m.banLocked(j, key, at, nil, 0, t)
		banned = true
		m.record(t)
		return nil
	})
	if ferr := m.finish(t, jj); ferr != nil && err == nil {
		return false, ferr
	}
	return banned, err
}

// ClusterBan enforces a ban another node made, with its start, ban time
// and count, so it ends here when it ends there. A ban already held that
// ends later or never is left as it is; one that ends sooner takes the new
// end (an EventProlong). Events carry CauseCluster: the store keeps them,
// actions apply them, the cluster does not send them back. An address this
// node never bans is refused with a *ClusterRefusedError. It reports
// whether anything changed.
func (m *Manager) ClusterBan(name string, b Ban) (bool, error) {
	now := m.now()
	ns := now.UnixNano()
	changed := false
	t := m.begin()
	var jj *jail
	err := m.lockedNoDeliver(name, func(j *jail) error {
		jj = j
		if !b.Prefix.IsValid() || (b.BanTime != Forever && b.BanTime <= 0) {
			return invalidValue("cluster ban", b.Prefix)
		}
		b.Prefix = b.Prefix.Masked()
		b.Addr = b.Prefix.Addr()
		if why := m.refusedLocked(j, b.Prefix, ns); why != "" {
			return &ClusterRefusedError{Jail: j.name, Prefix: b.Prefix, Reason: why}
		}
		end, ends := b.End(), b.BanTime != Forever
		if ends && !end.After(now) {
			return nil // ended already
		}
		if b.Count < 1 {
			b.Count = 1
		}
		if i, ok := j.bans.find(b.Prefix); ok {
			cur := j.bans.ban(i)
			switch {
			case cur.BanTime == Forever:
				return nil
			case ends && !end.After(cur.End()):
				return nil
			}
			oldTime := cur.BanTime
			if ends {
				m.kickRun(j.bans.setBanTime(i, end.Sub(cur.Start)))
			} else {
				j.bans.setBanTime(i, Forever)
			}
			e := j.bans.at(i)
			e.count = max(e.count, int32(min(b.Count, math.MaxInt32)))
			e.ver++
			if t != nil {
				t.undo = append(t.undo, undoStep{kind: undoProlong, j: j, key: b.Prefix, seq: e.seq, ver: e.ver, banTime: oldTime})
			}
			m.queue(j, EventProlong, j.bans.ban(i), CauseCluster, t)
			changed = true
			m.record(t)
			return nil
		}
		e := j.bans.entry(&b, m.banSeq.Add(1))
		i, first := j.bans.insert(e, m.holdMatches(&e, b.Matches))
		m.kickRun(first)
		j.banTotal++
		if t != nil {
			t.undo = append(t.undo, undoStep{kind: undoBan, j: j, key: b.Prefix, seq: e.seq, ver: e.ver})
		}
		m.queue(j, EventBan, j.bans.ban(i), CauseCluster, t)
		changed = true
		m.record(t)
		return nil
	})
	if ferr := m.finish(t, jj); ferr != nil && err == nil {
		return false, ferr
	}
	return changed && err == nil, err
}

// ClusterUnban lifts the jail's ban of prefix because another node lifted
// it (an EventUnban with CauseCluster), and reports whether there was one.
// Only a ban that started by startedBy (to the microsecond, as the cluster
// keeps times) is lifted: a later one is a newer ban the unban did not
// see. The zero startedBy lifts any.
func (m *Manager) ClusterUnban(name string, prefix netip.Prefix, startedBy time.Time) (bool, error) {
	lifted := false
	t := m.begin()
	var jj *jail
	err := m.lockedNoDeliver(name, func(j *jail) error {
		jj = j
		if !prefix.IsValid() {
			return invalidValue("cluster unban", prefix)
		}
		if i, ok := j.bans.find(prefix.Masked()); ok && (startedBy.IsZero() || j.bans.ban(i).Start.UnixMicro() <= startedBy.UnixMicro()) {
			m.unbanLocked(j, i, CauseCluster, t)
			lifted = true
			m.record(t)
		}
		return nil
	})
	if ferr := m.finish(t, jj); ferr != nil && err == nil {
		return false, ferr
	}
	return lifted, err
}

// Shared lists the jails whose Config.Shared is set.
func (m *Manager) Shared() []string {
	var out []string
	for _, j := range m.snapshot() {
		j.mu.Lock()
		if j.cfg.Shared && !j.removed {
			out = append(out, j.name)
		}
		j.mu.Unlock()
	}
	return out
}
