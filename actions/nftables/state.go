package nftables

import (
	"net/netip"
	"slices"
	"time"
)

// setKind names one of the action's four sets. Host addresses go to hash
// sets (fast lookups, no overlap rules); wider prefixes go to interval sets,
// where the kernel refuses overlapping elements, so the plan folds nested
// prefixes into the widest one.
type setKind int

const (
	host4 setKind = iota // ban4: IPv4 /32
	host6                // ban6: IPv6 /128
	net4                 // ban4net: wider IPv4 prefixes
	net6                 // ban6net: wider IPv6 prefixes, such as a /64
	numKinds
)

// setNames are the kernel names of the sets, by kind.
var setNames = [numKinds]string{"ban4", "ban6", "ban4net", "ban6net"}

func (k setKind) interval() bool { return k == net4 || k == net6 }

func kindOf(p netip.Prefix) setKind {
	switch {
	case p.Addr().Is4() && p.Bits() == 32:
		return host4
	case p.Addr().Is4():
		return net4
	case p.Bits() == 128:
		return host6
	default:
		return net6
	}
}

// forever is the end of a ban without a timeout; the zero time, as
// actions.Target.End reports it.
var forever time.Time

// later reports whether end a lasts longer than b, with forever longest.
func later(a, b time.Time) bool {
	if b.IsZero() {
		return false
	}
	return a.IsZero() || a.After(b)
}

// state is the action's bookkeeping: which jails hold which prefix, and
// what the action last wrote to the kernel.
type state struct {
	// held maps a prefix to the jails banning it and each ban's end.
	held map[netip.Prefix]map[string]time.Time
	// kern maps each element the action believes is in the kernel to the
	// end it was given. The kernel may have expired some already; the
	// plan's probes make that harmless.
	kern map[netip.Prefix]time.Time
}

func newState() *state {
	return &state{held: map[netip.Prefix]map[string]time.Time{}, kern: map[netip.Prefix]time.Time{}}
}

// hold records jail's ban of p until end.
func (s *state) hold(p netip.Prefix, jail string, end time.Time) {
	h := s.held[p]
	if h == nil {
		h = map[string]time.Time{}
		s.held[p] = h
	}
	h[jail] = end
}

// release forgets jail's ban of p.
func (s *state) release(p netip.Prefix, jail string) {
	if h := s.held[p]; h != nil {
		delete(h, jail)
		if len(h) == 0 {
			delete(s.held, p)
		}
	}
}

// wanted returns how long p must stay banned for its own holders, and
// false if no holder's ban is still running at now.
func (s *state) wanted(p netip.Prefix, now time.Time) (time.Time, bool) {
	var end time.Time
	ok := false
	for _, e := range s.held[p] {
		if !e.IsZero() && !e.After(now) {
			continue // over already; the jail's unban is on its way
		}
		if !ok || later(e, end) {
			end = e
		}
		ok = true
	}
	return end, ok
}

// desiredNets returns the elements an interval set of kind must hold: the
// widest of the running prefixes, each with the latest end among the
// prefixes it covers, since the kernel refuses overlapping intervals and
// the covered bans must last while the daemon is down too.
func (s *state) desiredNets(kind setKind, now time.Time) map[netip.Prefix]time.Time {
	var ps []netip.Prefix
	for p := range s.held {
		if kindOf(p) == kind {
			ps = append(ps, p)
		}
	}
	// Sorted by address, then widest first: a covering prefix comes just
	// before the prefixes it covers.
	slices.SortFunc(ps, comparePrefix)
	out := map[netip.Prefix]time.Time{}
	var top netip.Prefix
	for _, p := range ps {
		end, ok := s.wanted(p, now)
		if !ok {
			continue
		}
		if top.IsValid() && top.Bits() <= p.Bits() && top.Contains(p.Addr()) {
			if later(end, out[top]) {
				out[top] = end
			}
			continue
		}
		top = p
		out[p] = end
	}
	return out
}

func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return a.Bits() - b.Bits()
}

// opKind is what one planned change does to one element.
type opKind int

const (
	// opDel removes an element. It is sent as add-then-delete in one
	// transaction so that an element the kernel expired already does not
	// fail the whole transaction with ENOENT.
	opDel opKind = iota
	// opRefresh gives an existing element a new timeout: add (a no-op if
	// present), delete, add, in one transaction, since re-adding an
	// existing element does not reset its timeout on every kernel.
	opRefresh
	// opAdd adds an element believed absent.
	opAdd
)

// op is one planned change. For opDel from a Reconcile, r is the kernel's
// own range, which need not be a prefix.
type op struct {
	kind opKind
	p    netip.Prefix
	end  time.Time
	r    span
}

// planTouched plans the kernel changes after the holders of touched changed,
// banned marking those a ban touched (their timeouts are refreshed even if
// the end did not move, so a repeated ban repairs an element the kernel
// lost). Deletes come first in the plan, so that chunks sent one after
// another never add a wide prefix before the narrower ones it covers are
// gone.
func (s *state) planTouched(touched map[netip.Prefix]bool, now time.Time) []op {
	var dels, sets []op
	var netKinds [numKinds]bool
	for p, banned := range touched {
		k := kindOf(p)
		if k.interval() {
			netKinds[k] = true
			continue
		}
		end, ok := s.wanted(p, now)
		_, inKern := s.kern[p]
		switch {
		case !ok:
			// Always delete, even if the action thinks the element is
			// absent: an unban must be idempotent and clean up after a
			// previous run too.
			dels = append(dels, op{kind: opDel, p: p})
		case inKern && (banned || !s.kern[p].Equal(end)):
			sets = append(sets, op{kind: opRefresh, p: p, end: end})
		case !inKern:
			sets = append(sets, op{kind: opAdd, p: p, end: end})
		}
	}
	for _, k := range []setKind{net4, net6} {
		if !netKinds[k] {
			continue
		}
		want := s.desiredNets(k, now)
		for p := range s.kern {
			if kindOf(p) != k {
				continue
			}
			if _, ok := want[p]; !ok {
				dels = append(dels, op{kind: opDel, p: p})
			}
		}
		for p, end := range want {
			old, inKern := s.kern[p]
			switch {
			case !inKern:
				sets = append(sets, op{kind: opAdd, p: p, end: end})
			case touched[p] || !old.Equal(end):
				sets = append(sets, op{kind: opRefresh, p: p, end: end})
			}
		}
	}
	sortOps(dels)
	sortOps(sets)
	return append(dels, sets...)
}

// sortOps orders a plan so that chunks and tests are deterministic.
func sortOps(ops []op) {
	slices.SortFunc(ops, func(a, b op) int {
		if c := comparePrefix(a.p, b.p); c != 0 {
			return c
		}
		return a.r.start.Compare(b.r.start)
	})
}

// desired returns every element the kernel must hold at now, by prefix.
func (s *state) desired(now time.Time) map[netip.Prefix]time.Time {
	out := map[netip.Prefix]time.Time{}
	for p := range s.held {
		if kindOf(p).interval() {
			continue
		}
		if end, ok := s.wanted(p, now); ok {
			out[p] = end
		}
	}
	for _, k := range []setKind{net4, net6} {
		for p, end := range s.desiredNets(k, now) {
			out[p] = end
		}
	}
	return out
}

// slack is how far a kernel element's expiry may drift from the end a
// Reconcile wants before the element gets a new timeout: the kernel counts
// in jiffies and the dump takes time, so exact equality never holds.
const slack = 2 * time.Second

// planReconcile plans the changes that turn the kernel's elements have into
// the desired ones: deletes of what no live ban needs, adds of what is
// missing, refreshes of elements whose expiry is off.
func planReconcile(have []kelem, want map[netip.Prefix]time.Time, now time.Time) (ops []op, added, removed int) {
	present := map[netip.Prefix]bool{}
	var dels, sets []op
	for _, e := range have {
		end, ok := want[e.p]
		if !e.p.IsValid() || !ok {
			dels = append(dels, op{kind: opDel, p: e.p, r: e.r})
			removed++
			continue
		}
		present[e.p] = true
		var got time.Time
		if e.timeout != 0 {
			got = now.Add(e.expires)
		}
		if end.IsZero() != got.IsZero() || (!end.IsZero() && absDur(end.Sub(got)) > slack) {
			sets = append(sets, op{kind: opRefresh, p: e.p, end: end})
		}
	}
	for p, end := range want {
		if !present[p] {
			sets = append(sets, op{kind: opAdd, p: p, end: end})
			added++
		}
	}
	sortOps(dels)
	sortOps(sets)
	return append(dels, sets...), added, removed
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
