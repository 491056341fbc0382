// Package route is the action that bans by kernel route: each banned prefix
// becomes a blackhole, unreachable or prohibit route. Adds and deletes are
// pipelined on a raw rtnetlink socket, many requests per write; route and
// address dumps go through a github.com/vishvananda/netlink handle. Both
// sockets are opened once, in the configured network namespace, and reused.
//
// Every route the action adds carries its protocol number (RTPROT_*, see
// DefaultProtocol), so the action can list its own routes after a restart
// and never touches one it did not add: a route of another protocol in the
// way of a ban is an error, not something to replace, and deletes name the
// protocol so the kernel itself refuses to remove anyone else's route.
//
// Several jails may ban the same prefix through one action: the action keeps
// the set of jails per prefix, adds the route for the first and deletes it
// after the last. Prefixes that could cut the machine off (its own
// addresses, loopback, link-local, multicast, very wide prefixes) are
// refused before anything reaches the kernel; see Check.
package route

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/banserver/banserver/actions"
)

// DefaultProtocol is the route protocol number (rtm_protocol) the daemon's
// routes carry unless configured otherwise. 244 is named neither in Linux's
// include/uapi/linux/rtnetlink.h (RTPROT_* up to 192, EIGRP) nor in
// iproute2's rt_protos, and it stays clear of the numbers routing daemons
// claim without registering them (FRR's 186-198, Calico's 80). Add
// "244 banserver" to /etc/iproute2/rt_protos.d/banserver.conf for `ip route`
// to show the name.
const DefaultProtocol = 244

// Type is the kind of route a ban becomes: what the kernel does with a
// packet to a banned address.
type Type int

// The route types an action can add.
const (
	// Blackhole drops packets silently (RTN_BLACKHOLE).
	Blackhole Type = unix.RTN_BLACKHOLE
	// Unreachable drops packets and answers ICMP host unreachable (RTN_UNREACHABLE).
	Unreachable Type = unix.RTN_UNREACHABLE
	// Prohibit drops packets and answers ICMP administratively prohibited (RTN_PROHIBIT).
	Prohibit Type = unix.RTN_PROHIBIT
)

// String returns the name `ip route` and the action spec use for t.
func (t Type) String() string {
	switch t {
	case Blackhole:
		return "blackhole"
	case Unreachable:
		return "unreachable"
	case Prohibit:
		return "prohibit"
	}
	return fmt.Sprintf("type(%d)", int(t))
}

// Sentinel errors callers tell apart.
var (
	// ErrRefused reports a prefix the action will not ban because the ban
	// could cut the machine off or makes no sense as a route.
	ErrRefused = errors.New("route: refused")
	// ErrForeignRoute reports a route for the prefix that the action did not
	// add (another protocol or type): it is left alone.
	ErrForeignRoute = errors.New("route: a route the daemon did not add is in the way")
	// ErrClosed reports a call on a closed action.
	ErrClosed = errors.New("route: action closed")
	// ErrBadConfig reports Options that cannot work.
	ErrBadConfig = errors.New("route: bad options")
)

// Options configure an Action.
type Options struct {
	Type     Type   // Blackhole (the default when zero), Unreachable or Prohibit
	Table    int    // routing table; 0 means main (254)
	Protocol int    // route protocol number; 0 means DefaultProtocol
	NetNS    string // path of a network namespace (e.g. /run/netns/x); "" is the daemon's own
	Log      *zap.Logger
}

// ownTTL bounds how long a single Ban trusts its cached list of the
// namespace's own addresses; batches and Reconcile always read it afresh.
// Reading it costs a netlink dump, too much for every single ban at tens of
// thousands per second.
const ownTTL = time.Second

// dumpTries is how often a route dump interrupted by concurrent changes
// (NLM_F_DUMP_INTR) is retried before giving up.
const dumpTries = 5

// Action bans prefixes by adding routes of one type, protocol and table.
// It is safe for concurrent use; calls are serialized on its sockets.
type Action struct {
	spec  string
	netns string // path of the namespace, "" for the daemon's own
	typ   Type
	table int
	proto int
	msg   routeMsg
	log   *zap.Logger

	mu     sync.Mutex                // guards the fields below, and the sockets' use
	h      *netlink.Handle           // dumps: routes, own addresses
	p      *pipe                     // adds and deletes, pipelined
	jails  map[netip.Prefix][]string // jails banning each prefix whose route is in the kernel
	single map[string][]string       // oneLocked's shared one-jail sets, by jail
	own    []netip.Addr              // the namespace's own addresses
	ownAt  time.Time                 // when own was read; zero forces a read
	closed bool
}

// New opens its netlink sockets (in o.NetNS when set) and returns an action
// whose Name is spec: one netlink.Handle for dumps and one raw socket that
// pipelines adds and deletes, both kept for the action's life.
func New(spec string, o Options) (*Action, error) {
	if o.Type == 0 {
		o.Type = Blackhole
	}
	switch o.Type {
	case Blackhole, Unreachable, Prohibit:
	default:
		return nil, fmt.Errorf("%w: route type %d", ErrBadConfig, int(o.Type))
	}
	if o.Table == 0 {
		o.Table = unix.RT_TABLE_MAIN
	}
	if o.Table < 0 || int64(o.Table) > 0xffffffff {
		return nil, fmt.Errorf("%w: table %d", ErrBadConfig, o.Table)
	}
	if o.Protocol == 0 {
		o.Protocol = DefaultProtocol
	}
	if err := checkProtocol(o.Protocol); err != nil {
		return nil, err
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if spec == "" {
		spec = o.Type.String()
	}
	h, err := openHandle(o.NetNS)
	if err != nil {
		return nil, err
	}
	p, err := openPipe(o.NetNS)
	if err != nil {
		h.Close()
		return nil, err
	}
	return &Action{
		spec:  spec,
		netns: o.NetNS,
		typ:   o.Type,
		table: o.Table,
		proto: o.Protocol,
		msg:   routeMsg{table: o.Table, proto: uint8(o.Protocol), typ: uint8(o.Type)},
		log:   o.Log,
		h:     h,
		p:     p,
		jails: make(map[netip.Prefix][]string),
	}, nil
}

// checkProtocol refuses protocol numbers the kernel interprets or that
// others' routes carry as a rule (0-4: unspec, redirect, kernel, boot,
// static): owning them would make Close(flush) delete an operator's routes.
func checkProtocol(p int) error {
	if p <= unix.RTPROT_STATIC || p > 255 {
		return fmt.Errorf("%w: protocol %d (want 5-255; 0-4 belong to the kernel and the operator)", ErrBadConfig, p)
	}
	return nil
}

func openHandle(nsPath string) (*netlink.Handle, error) {
	if nsPath == "" {
		h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
		if err != nil {
			return nil, fmt.Errorf("route: netlink handle: %w", err)
		}
		if err := timeout(h); err != nil {
			return nil, err
		}
		return h, nil
	}
	ns, err := netns.GetFromPath(nsPath)
	if err != nil {
		return nil, fmt.Errorf("route: netns %s: %w", nsPath, err)
	}
	// The handle's socket keeps the namespace alive; the fd is not needed after.
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, fmt.Errorf("route: netlink handle in %s: %w", nsPath, err)
	}
	if err := timeout(h); err != nil {
		return nil, err
	}
	return h, nil
}

// timeout bounds the handle's reads as the pipe's are bounded: a dump that
// never ends must not hold the action's lock for ever.
func timeout(h *netlink.Handle) error {
	if err := h.SetSocketTimeout(ioTimeout); err != nil {
		h.Close()
		return fmt.Errorf("route: netlink handle timeout: %w", err)
	}
	return nil
}

// Name returns the action's spec.
func (a *Action) Name() string { return a.spec }

// State names the routes the action owns: its type, namespace, protocol
// and table, as a spec with every option written out (actions.Stateful).
func (a *Action) State() string {
	return actions.FormatSpec(a.typ.String(), map[string]string{
		"netns": a.netns, "protocol": strconv.Itoa(a.proto), "table": strconv.Itoa(a.table),
	})
}

// Ban adds the route for t.Prefix, or records t.Jail beside the jails that
// already ban it.
func (a *Action) Ban(ctx context.Context, t actions.Target) error {
	return a.BanBatch(ctx, []actions.Target{t})
}

// Unban removes t.Jail from the prefix's jails and deletes the route when
// no jail bans the prefix any longer. A route that is already gone is
// success.
func (a *Action) Unban(ctx context.Context, t actions.Target) error {
	return a.UnbanBatch(ctx, []actions.Target{t})
}

// BanBatch bans every target it can and returns an error naming those it
// could not (errors.Join of one error per failed target).
func (a *Action) BanBatch(ctx context.Context, ts []actions.Target) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return ErrClosed
	}
	own, err := a.ownLocked(len(ts) > 1)
	if err != nil {
		return err
	}
	var (
		errs  []error
		adds  []netip.Prefix
		jails [][]string           // jails[i] ban adds[i]
		queue map[netip.Prefix]int // index in adds, for a prefix twice in ts
	)
	for _, t := range ts {
		p, err := Normalize(t.Prefix)
		if err != nil {
			errs = append(errs, fmt.Errorf("route: ban %s: %w", t.Prefix, err))
			continue
		}
		if js, ok := a.jails[p]; ok {
			if !slices.Contains(js, t.Jail) {
				a.jails[p] = append(js, t.Jail)
			}
			continue
		}
		if i, ok := queue[p]; ok {
			if !slices.Contains(jails[i], t.Jail) {
				jails[i] = append(jails[i], t.Jail)
			}
			continue
		}
		if err := Check(p, own); err != nil {
			errs = append(errs, fmt.Errorf("route: ban %s (jail %s): %w", p, t.Jail, err))
			continue
		}
		if queue == nil {
			queue = make(map[netip.Prefix]int)
		}
		queue[p] = len(adds)
		adds = append(adds, p)
		jails = append(jails, a.oneLocked(t.Jail))
	}
	if err := ctx.Err(); err != nil {
		return errors.Join(append(errs, fmt.Errorf("route: %d bans not applied: %w", len(adds), err))...)
	}
	results := a.sendLocked(unix.RTM_NEWROUTE, adds)
	var exists []pending // adds that met EEXIST, resolved with one dump below
	for i, p := range adds {
		switch err := results[i]; {
		case err == nil:
			a.jails[p] = jails[i]
		case errors.Is(err, unix.EEXIST):
			exists = append(exists, pending{p, jails[i]})
		default:
			errs = append(errs, fmt.Errorf("route: ban %s (jails %v): %w", p, jails[i], err))
		}
	}
	if len(exists) > 0 {
		errs = append(errs, a.resolveExistingLocked(exists)...)
	}
	return errors.Join(errs...)
}

// sendLocked sends one request of kind per prefix through the pipe and
// returns the answer to each; a failed socket fails every request it left
// unanswered.
func (a *Action) sendLocked(kind uint16, ps []netip.Prefix) []error {
	results := make([]error, len(ps))
	if len(ps) == 0 {
		return results
	}
	for i := range results {
		results[i] = errNoAnswer
	}
	if err := a.p.do(kind, a.msg, ps, results); err != nil {
		for i, r := range results {
			if r == errNoAnswer {
				results[i] = err
			}
		}
	}
	return results
}

type pending struct {
	p     netip.Prefix
	jails []string
}

// resolveExistingLocked decides, for adds that met EEXIST, whether the
// route in the way is ours (a repeated ban after a restart or a retried
// batch: success) or someone else's (an error; the route stays). One dump
// serves the whole batch.
func (a *Action) resolveExistingLocked(ps []pending) []error {
	type owner struct {
		proto netlink.RouteProtocol
		typ   int
	}
	want := make(map[netip.Prefix]bool, len(ps))
	for _, p := range ps {
		want[p.p] = true
	}
	var found map[netip.Prefix][]owner
	err := a.dumpLocked(false, func() { found = make(map[netip.Prefix][]owner, len(ps)) }, func(r netlink.Route) {
		if p, ok := prefixOf(r.Dst); ok && want[p] {
			found[p] = append(found[p], owner{r.Protocol, r.Type})
		}
	})
	if err != nil {
		return []error{fmt.Errorf("route: %d bans met an existing route: %w", len(ps), err)}
	}
	var errs []error
	for _, p := range ps {
		ours := false
		for _, o := range found[p.p] {
			if int(o.proto) == a.proto && o.typ == int(a.typ) {
				ours = true
			}
		}
		switch {
		case ours:
			a.jails[p.p] = p.jails
		case len(found[p.p]) > 0:
			o := found[p.p][0]
			errs = append(errs, fmt.Errorf("%w: ban %s (jails %v): table %d has a %s route of protocol %s",
				ErrForeignRoute, p.p, p.jails, a.table, Type(o.typ), o.proto))
		default:
			// EEXIST, yet no route with this exact prefix in our table: a
			// route differing in something we do not compare (tos, metric).
			errs = append(errs, fmt.Errorf("%w: ban %s (jails %v): the kernel reports a route exists in table %d",
				ErrForeignRoute, p.p, p.jails, a.table))
		}
	}
	return errs
}

// UnbanBatch unbans every target and returns an error naming those it could
// not unban.
func (a *Action) UnbanBatch(ctx context.Context, ts []actions.Target) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return ErrClosed
	}
	var (
		errs  []error
		dels  []netip.Prefix
		last  [][]string // the jails that unbanned dels[i] last, restored if the delete fails
		was   []bool     // whether dels[i] was tracked: only then is last[i] restored
		queue map[netip.Prefix]int
	)
	for _, t := range ts {
		p, err := Normalize(t.Prefix)
		if err != nil {
			errs = append(errs, fmt.Errorf("route: unban %s: %w", t.Prefix, err))
			continue
		}
		if i, ok := queue[p]; ok {
			if !slices.Contains(last[i], t.Jail) {
				last[i] = append(last[i], t.Jail)
			}
			continue
		}
		js, tracked := a.jails[p]
		if tracked {
			if len(js) > 1 || js[0] != t.Jail {
				// Clone: the slice may be shared with a caller of Jails.
				rest := slices.DeleteFunc(slices.Clone(js), func(j string) bool { return j == t.Jail })
				if len(rest) > 0 {
					a.jails[p] = rest
					continue
				}
			}
			delete(a.jails, p)
		}
		// The last jail, or a prefix this process never banned (a ban from
		// before a restart without Reconcile): delete the route if it is ours.
		if queue == nil {
			queue = make(map[netip.Prefix]int)
		}
		queue[p] = len(dels)
		dels = append(dels, p)
		last = append(last, []string{t.Jail})
		was = append(was, tracked)
	}
	if err := ctx.Err(); err != nil {
		for i, p := range dels {
			if was[i] {
				a.jails[p] = last[i]
			}
		}
		return errors.Join(append(errs, fmt.Errorf("route: %d unbans not applied: %w", len(dels), err))...)
	}
	for i, err := range a.delLocked(dels) {
		if err != nil {
			errs = append(errs, fmt.Errorf("route: unban %s (jails %v): %w", dels[i], last[i], err))
			if was[i] {
				a.jails[dels[i]] = last[i] // so a retry deletes again
			}
		}
	}
	return errors.Join(errs...)
}

// delLocked deletes our routes for ps. The requests name our protocol, type
// and table, so the kernel deletes no route of anyone else's: it answers
// ESRCH, as when the route is already gone, and both are success here.
func (a *Action) delLocked(ps []netip.Prefix) []error {
	results := a.sendLocked(unix.RTM_DELROUTE, ps)
	for i, err := range results {
		if errors.Is(err, unix.ESRCH) || errors.Is(err, unix.ENOENT) {
			results[i] = nil
		}
	}
	return results
}

// Reconcile makes the kernel match live: routes of ours no live ban needs
// are deleted, missing ones added, and the per-prefix jail sets rebuilt
// from live.
//
// It is built for a restart with a million bans whose routes the kernel
// still holds: the dump streams (only prefixes are kept, no
// netlink.Route), and live and listed prefixes are compared as two sorted
// lists, which the kernel's listing and a jail's ban list nearly are
// already, so the only map built is the new jail sets.
func (a *Action) Reconcile(ctx context.Context, live []actions.Target) (added, removed int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0, 0, ErrClosed
	}
	var errs []error
	type liveBan struct {
		p    netip.Prefix
		jail string
	}
	want := make([]liveBan, 0, len(live))
	for _, t := range live {
		p, err := Normalize(t.Prefix)
		if err != nil {
			errs = append(errs, fmt.Errorf("route: reconcile %s: %w", t.Prefix, err))
			continue
		}
		want = append(want, liveBan{p, t.Jail})
	}
	// Stable: each prefix keeps its jails in the order live names them.
	slices.SortStableFunc(want, func(x, y liveBan) int { return comparePrefix(x.p, y.p) })
	have, err := a.ownedLocked()
	if err != nil {
		return 0, 0, err
	}
	slices.SortFunc(have, comparePrefix)
	var (
		jails   = make(map[netip.Prefix][]string, len(want))
		stale   []netip.Prefix // our routes no live ban needs
		missing []netip.Prefix // live prefixes without a route
		h       int
	)
	for i := 0; i < len(want); {
		p := want[i].p
		js := a.oneLocked(want[i].jail)
		for i++; i < len(want) && want[i].p == p; i++ {
			if !slices.Contains(js, want[i].jail) {
				js = append(js[:len(js):len(js)], want[i].jail)
			}
		}
		for ; h < len(have) && comparePrefix(have[h], p) < 0; h++ {
			stale = append(stale, have[h])
		}
		if h < len(have) && have[h] == p {
			// In; a second route of the prefix (another metric) is kept too.
			for h++; h < len(have) && have[h] == p; h++ {
			}
			jails[p] = js
			continue
		}
		missing = append(missing, p)
		jails[p] = js // dropped below unless its route goes in
	}
	stale = append(stale, have[h:]...)
	nlive := len(jails)
	have = nil
	if err := ctx.Err(); err != nil {
		return 0, 0, errors.Join(append(errs, err)...)
	}
	for i, err := range a.delLocked(stale) {
		if err != nil {
			errs = append(errs, fmt.Errorf("route: reconcile: delete %s: %w", stale[i], err))
			continue
		}
		removed++
	}
	own, err := a.ownLocked(true)
	if err != nil {
		return added, removed, errors.Join(append(errs, err)...)
	}
	adds := missing[:0]
	for _, p := range missing {
		if err := Check(p, own); err != nil {
			errs = append(errs, fmt.Errorf("route: reconcile %s (jails %v): %w", p, jails[p], err))
			delete(jails, p)
			continue
		}
		adds = append(adds, p)
	}
	if err := ctx.Err(); err != nil {
		for _, p := range adds {
			delete(jails, p)
		}
		a.jails = jails
		return added, removed, errors.Join(append(errs, err)...)
	}
	for i, err := range a.sendLocked(unix.RTM_NEWROUTE, adds) {
		p := adds[i]
		if err != nil {
			if errors.Is(err, unix.EEXIST) {
				// Not in our listing, so not ours.
				err = fmt.Errorf("%w: %v", ErrForeignRoute, err)
			}
			errs = append(errs, fmt.Errorf("route: reconcile %s (jails %v): %w", p, jails[p], err))
			delete(jails, p)
			continue
		}
		added++
	}
	a.jails = jails
	a.log.Info("route reconcile", zap.String("action", a.spec), zap.Int("live", nlive),
		zap.Int("added", added), zap.Int("removed", removed), zap.Int("failed", len(errs)))
	return added, removed, errors.Join(errs...)
}

// comparePrefix orders prefixes by address (IPv4 first), then length.
func comparePrefix(x, y netip.Prefix) int {
	if c := x.Addr().Compare(y.Addr()); c != 0 {
		return c
	}
	return x.Bits() - y.Bits()
}

// oneLocked returns the jail set of a prefix only jail bans: one slice per
// jail, shared by all its prefixes (a million bans would otherwise hold a
// million one-string slices). It is full (len == cap), so an append copies
// it, and every change to a set replaces the slice rather than writing to
// it.
func (a *Action) oneLocked(jail string) []string {
	js, ok := a.single[jail]
	if !ok {
		if a.single == nil {
			a.single = make(map[string][]string)
		}
		js = []string{jail}
		a.single[jail] = js
	}
	return js
}

// Close releases the netlink sockets. With flush it first deletes every
// route of the action's protocol and type in its table; without, the
// routes stay so bans outlive a restart. Closing twice is harmless.
func (a *Action) Close(ctx context.Context, flush bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	var errs []error
	if flush {
		have, err := a.ownedLocked()
		if err != nil {
			errs = append(errs, err)
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("route: flush: %w", err))
			have = nil
		}
		for i, err := range a.delLocked(have) {
			if err != nil {
				errs = append(errs, fmt.Errorf("route: flush %s: %w", have[i], err))
			}
		}
		a.jails = make(map[netip.Prefix][]string)
	}
	a.h.Close()
	a.p.close()
	a.closed = true
	return errors.Join(errs...)
}

// Owned lists the prefixes of the routes with the action's protocol and
// type in its table, as the kernel has them now.
func (a *Action) Owned(ctx context.Context) ([]netip.Prefix, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, ErrClosed
	}
	return a.ownedLocked()
}

func (a *Action) ownedLocked() ([]netip.Prefix, error) {
	var out []netip.Prefix
	err := a.dumpLocked(true, func() { out = out[:0] }, func(r netlink.Route) {
		if p, ok := prefixOf(r.Dst); ok {
			out = append(out, p)
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// dumpLocked calls f for each route in the action's table (only those of
// its protocol and type when ours is set), as the kernel sends them: a
// million routes are never held as netlink.Route values at once. A dump the
// kernel marks interrupted may be inconsistent, and acting on a partial
// listing would miss routes, so it is retried: reset is called before each
// try, and whatever f gathered from an earlier try must go.
func (a *Action) dumpLocked(ours bool, reset func(), f func(netlink.Route)) error {
	filter := &netlink.Route{Table: a.table, Protocol: netlink.RouteProtocol(a.proto), Type: int(a.typ)}
	mask := uint64(netlink.RT_FILTER_TABLE)
	if ours {
		mask |= netlink.RT_FILTER_PROTOCOL | netlink.RT_FILTER_TYPE
	}
	var err error
	for range dumpTries {
		reset()
		err = a.h.RouteListFilteredIter(netlink.FAMILY_ALL, filter, mask, func(r netlink.Route) bool {
			f(r)
			return true
		})
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("route: list table %d: %w", a.table, err)
	}
	return nil
}

// ownLocked returns the namespace's own addresses, read through the handle
// when fresh is set or the cached list is older than ownTTL.
func (a *Action) ownLocked(fresh bool) ([]netip.Addr, error) {
	if !fresh && !a.ownAt.IsZero() && time.Since(a.ownAt) < ownTTL {
		return a.own, nil
	}
	var addrs []netlink.Addr
	var err error
	for range dumpTries {
		addrs, err = a.h.AddrList(nil, netlink.FAMILY_ALL)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("route: list own addresses: %w", err)
	}
	own := a.own[:0]
	for _, ad := range addrs {
		if ad.IPNet == nil {
			continue
		}
		if ip, ok := netip.AddrFromSlice(ad.IP); ok {
			own = append(own, ip.Unmap())
		}
	}
	a.own, a.ownAt = own, time.Now()
	return own, nil
}

// prefixOf converts a dumped route's destination; a default route has none.
func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	ip, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	if len(n.IP) == net.IPv4len || ip.Is4In6() && len(n.Mask) == net.IPv4len {
		ip = ip.Unmap()
	}
	ones, _ := n.Mask.Size()
	p, err := ip.Prefix(ones)
	return p, err == nil
}

// Jails returns the jails banning p through this action (for tests and
// status), nil when none.
func (a *Action) Jails(p netip.Prefix) []string {
	p, err := Normalize(p)
	if err != nil {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.jails[p])
}

var (
	_ actions.BatchAction = (*Action)(nil)
	_ actions.Reconciler  = (*Action)(nil)
	_ actions.Closer      = (*Action)(nil)
	_ actions.Stateful    = (*Action)(nil)
)
