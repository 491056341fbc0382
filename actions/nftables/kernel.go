package nftables

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	gnft "github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// maxElems caps the set elements in one Flush. google/nftables v0.3.0 puts
// all elements of a call in one netlink attribute whose length is 16 bits:
// past 65,535 bytes (about 2,340 IPv4 elements with timeouts at 28 bytes
// each, about 1,640 IPv6 ones at 40) the length wraps and the kernel drops
// elements without an error. 1,000 stays under that for every set here.
const maxElems = 1000

// chainPriority runs the drop before the usual filter chains (priority 0)
// and before anything that would spend work on a banned packet.
const chainPriority = -10

// span is an interval element of the kernel's: [start, end), end invalid
// when the interval runs to the last address.
type span struct {
	start, end netip.Addr
}

// spanOf returns the interval a prefix covers.
func spanOf(p netip.Prefix) span {
	p = p.Masked()
	last := lastAddr(p)
	return span{start: p.Addr(), end: last.Next()}
}

func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// prefix returns the prefix r is, if it is one: an interval written by an
// operator by hand need not be.
func (r span) prefix() (netip.Prefix, bool) {
	for bits := r.start.BitLen(); bits >= 0; bits-- {
		p := netip.PrefixFrom(r.start, bits)
		if p.Masked().Addr() != r.start {
			break
		}
		if spanOf(p) == r {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// kelem is one element read from the kernel. p is invalid when an interval
// is not a prefix.
type kelem struct {
	p       netip.Prefix
	r       span
	timeout time.Duration // 0: the element never expires
	expires time.Duration // time left, when timeout is set
}

// table returns the action's table.
func (a *Action) table() *gnft.Table {
	return &gnft.Table{Name: a.opts.Table, Family: gnft.TableFamilyINet}
}

// set returns the kernel description of the set of kind k.
func (a *Action) set(k setKind) *gnft.Set {
	s := &gnft.Set{Table: a.table(), Name: setNames[k], HasTimeout: true, Interval: k.interval()}
	if k == host4 || k == net4 {
		s.KeyType = gnft.TypeIPAddr
	} else {
		s.KeyType = gnft.TypeIP6Addr
	}
	return s
}

// setup creates the table, its sets and its chain, or reuses them: adding
// an existing table, set or chain is a no-op in nftables. The chain's rules
// are flushed and written again in the same transaction, so a restart never
// duplicates them and never leaves a moment without them. Set elements
// are left alone: bans outlive a restart, and Reconcile decides.
func (a *Action) setup() error {
	t := a.conn.AddTable(a.table())
	var sets [numKinds]*gnft.Set
	for k := range numKinds {
		sets[k] = a.set(k)
		if err := a.conn.AddSet(sets[k], nil); err != nil {
			return fmt.Errorf("nftables: set %s: %w", setNames[k], err)
		}
	}
	policy := gnft.ChainPolicyAccept
	c := a.conn.AddChain(&gnft.Chain{
		Name:     "input",
		Table:    t,
		Type:     gnft.ChainTypeFilter,
		Hooknum:  gnft.ChainHookInput,
		Priority: gnft.ChainPriorityRef(chainPriority),
		Policy:   &policy,
	})
	a.conn.FlushChain(c)
	for k := range numKinds {
		proto, off, n := byte(unix.NFPROTO_IPV4), uint32(12), uint32(4) // ip saddr
		if sets[k].KeyType == gnft.TypeIP6Addr {
			proto, off, n = unix.NFPROTO_IPV6, 8, 16 // ip6 saddr
		}
		a.conn.AddRule(&gnft.Rule{Table: t, Chain: c, Exprs: []expr.Any{
			&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: n},
			&expr.Lookup{SourceRegister: 1, SetName: sets[k].Name, SetID: sets[k].ID},
			&expr.Verdict{Kind: expr.VerdictDrop},
		}})
	}
	if err := a.conn.Flush(); err != nil {
		return a.flushFailed(fmt.Errorf("nftables: create table %s: %w", a.opts.Table, err))
	}
	return nil
}

// encode returns the kernel elements for r in a set of kind k, with the
// time left until end as timeout (none for forever, or when withTimeout is
// false, as for the probes).
func encode(k setKind, r span, end, now time.Time, withTimeout bool) []gnft.SetElement {
	var timeout time.Duration
	if withTimeout && !end.IsZero() {
		// Round up to the kernel's milliseconds, and never 0, which
		// would mean forever.
		timeout = max(end.Sub(now), time.Millisecond).Round(time.Millisecond)
		if timeout < end.Sub(now) {
			timeout += time.Millisecond
		}
	}
	els := []gnft.SetElement{{Key: r.start.AsSlice(), Timeout: timeout}}
	if k.interval() && r.end.IsValid() {
		els = append(els, gnft.SetElement{Key: r.end.AsSlice(), IntervalEnd: true})
	}
	return els
}

func (o op) span() span {
	if o.r.start.IsValid() {
		return o.r
	}
	return spanOf(o.p)
}

func (o op) setKind() setKind {
	if o.p.IsValid() {
		return kindOf(o.p)
	}
	k := host4
	if o.r.start.Is6() {
		k = host6
	}
	return k + net4 // a range that is not a prefix lives in an interval set
}

// cost returns how many elements o sends.
func (o op) cost() int {
	n := 1
	if o.setKind().interval() && o.span().end.IsValid() {
		n = 2
	}
	switch o.kind {
	case opDel:
		return 2 * n
	case opRefresh:
		return 3 * n
	}
	return n
}

// apply sends ops in transactions of at most maxElems elements, in order,
// and records in the state what each committed transaction did.
func (a *Action) apply(ctx context.Context, ops []op, now time.Time) error {
	if err := a.redial(); err != nil {
		return err
	}
	for len(ops) > 0 {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("nftables: %w", err)
		}
		n, count := 0, 0
		for n < len(ops) {
			c := ops[n].cost()
			if n > 0 && count+c > maxElems {
				break
			}
			count += c
			n++
		}
		chunk := ops[:n]
		ops = ops[n:]
		// Three phases per transaction: probes (adds that make every
		// delete find its element), deletes, adds.
		var probe, del, add [numKinds][]gnft.SetElement
		for _, o := range chunk {
			k, r := o.setKind(), o.span()
			switch o.kind {
			case opDel:
				probe[k] = append(probe[k], encode(k, r, o.end, now, false)...)
				del[k] = append(del[k], encode(k, r, o.end, now, false)...)
			case opRefresh:
				probe[k] = append(probe[k], encode(k, r, o.end, now, false)...)
				del[k] = append(del[k], encode(k, r, o.end, now, false)...)
				add[k] = append(add[k], encode(k, r, o.end, now, true)...)
			case opAdd:
				add[k] = append(add[k], encode(k, r, o.end, now, true)...)
			}
		}
		for _, phase := range []struct {
			els [numKinds][]gnft.SetElement
			del bool
		}{{probe, false}, {del, true}, {add, false}} {
			for k := range numKinds {
				if len(phase.els[k]) == 0 {
					continue
				}
				var err error
				if phase.del {
					err = a.conn.SetDeleteElements(a.sets[k], phase.els[k])
				} else {
					err = a.conn.SetAddElements(a.sets[k], phase.els[k])
				}
				if err != nil {
					return a.flushFailed(fmt.Errorf("nftables: encode %s: %w", setNames[k], err))
				}
			}
		}
		if err := a.conn.Flush(); err != nil {
			return a.flushFailed(fmt.Errorf("nftables: %d changes: %w", len(chunk), err))
		}
		for _, o := range chunk {
			if !o.p.IsValid() {
				continue
			}
			if o.kind == opDel {
				delete(a.st.kern, o.p)
			} else {
				a.st.kern[o.p] = o.end
			}
		}
	}
	return nil
}

// readAll returns the elements of all four sets.
func (a *Action) readAll() ([]kelem, error) {
	if err := a.redial(); err != nil {
		return nil, err
	}
	var out []kelem
	for k := range numKinds {
		els, err := a.conn.GetSetElements(a.sets[k])
		if err != nil {
			return nil, a.flushFailed(fmt.Errorf("nftables: list set %s: %w", setNames[k], err))
		}
		out = append(out, decode(k, els)...)
	}
	return out, nil
}

// decode turns kernel elements into prefixes and intervals. The kernel
// lists an interval as a start element and an end element (flagged
// IntervalEnd) keyed by the address after the last; a start without an end
// runs to the last address.
func decode(k setKind, els []gnft.SetElement) []kelem {
	var out []kelem
	if !k.interval() {
		for _, e := range els {
			addr, ok := netip.AddrFromSlice(e.Key)
			if !ok {
				continue
			}
			p := netip.PrefixFrom(addr, addr.BitLen())
			out = append(out, kelem{p: p, r: spanOf(p), timeout: e.Timeout, expires: e.Expires})
		}
		return out
	}
	type key struct {
		addr netip.Addr
		e    gnft.SetElement
	}
	keys := make([]key, 0, len(els))
	for _, e := range els {
		if addr, ok := netip.AddrFromSlice(e.Key); ok {
			keys = append(keys, key{addr, e})
		}
	}
	// By address; where one interval ends at the address the next one
	// starts, the end first.
	slices.SortFunc(keys, func(x, y key) int {
		if c := x.addr.Compare(y.addr); c != 0 {
			return c
		}
		if x.e.IntervalEnd == y.e.IntervalEnd {
			return 0
		}
		if x.e.IntervalEnd {
			return -1
		}
		return 1
	})
	for i := 0; i < len(keys); i++ {
		if keys[i].e.IntervalEnd {
			continue // an end with no start: nft's marker at address zero
		}
		start := keys[i].e
		r := span{start: keys[i].addr}
		if i+1 < len(keys) && keys[i+1].e.IntervalEnd {
			r.end = keys[i+1].addr
			i++
		}
		p, _ := r.prefix()
		out = append(out, kelem{p: p, r: r, timeout: start.Timeout, expires: start.Expires})
	}
	return out
}

// redial reconnects if a failed exchange left the action without a
// connection.
func (a *Action) redial() error {
	if a.conn != nil {
		return nil
	}
	return a.dial()
}
