// Package nftables is the action that bans by adding elements to nftables
// sets: a table of the daemon's own (family inet) with a set per address
// family and kind of prefix, and one input chain that drops what the sets
// hold. Each element carries the ban's remaining time as its timeout, so
// the kernel ends a ban on time even while the daemon is down; the sets
// outlive a restart, and Reconcile squares them with the live bans.
//
// The table holds four sets: ban4 (IPv4 addresses) and ban6 (IPv6
// addresses) are hash sets, fast for the common single-address ban;
// ban4net and ban6net are interval sets for wider prefixes such as an IPv6
// /64. The kernel refuses overlapping intervals, so nested prefixes are
// folded into the widest one.
package nftables

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/banserver/banserver/actions"
	gnft "github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"go.uber.org/zap"
)

// ErrRefused reports a prefix the action will not ban: a loopback prefix,
// or one holding an address of the namespace's own interfaces, since
// dropping those would cut the host off from itself.
var ErrRefused = errors.New("nftables: refused to ban")

// ErrInvalidPrefix reports a target without a valid prefix.
var ErrInvalidPrefix = errors.New("nftables: invalid prefix")

// ErrClosed reports a call after Close.
var ErrClosed = errors.New("nftables: action closed")

// DefaultTable is the table the action uses unless told otherwise.
const DefaultTable = "banserver"

// Options configure an Action.
type Options struct {
	// Table is the name of the action's own table, family inet; default
	// DefaultTable. Two actions must not share a table.
	Table string
	// NetNS is the path of a network namespace (/run/netns/NAME) to work
	// in; "" is the daemon's own.
	NetNS string
	// Log receives warnings; nil logs nothing.
	Log *zap.Logger
}

// Action bans prefixes as elements of the sets of its nftables table. It
// implements actions.BatchAction, actions.Reconciler and actions.Closer.
type Action struct {
	spec string
	opts Options
	log  *zap.Logger
	now  func() time.Time

	mu     sync.Mutex // guards the fields below
	conn   *gnft.Conn
	nl     *netlink.Handle
	ns     netns.NsHandle // -1 for the daemon's own namespace
	sets   [numKinds]*gnft.Set
	st     *state
	closed bool
}

var (
	_ actions.BatchAction = (*Action)(nil)
	_ actions.Reconciler  = (*Action)(nil)
	_ actions.Closer      = (*Action)(nil)
	_ actions.Stateful    = (*Action)(nil)
)

// tableName is what nft accepts as an identifier unquoted, and no longer
// than the kernel's NFT_NAME_MAXLEN.
var tableName = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_.-]{0,254}$`)

// New opens the action's table in the namespace o.NetNS, creating the
// table, its sets and its chain if missing; elements already in the sets
// stay. spec is what Name returns.
func New(spec string, o Options) (*Action, error) {
	if o.Table == "" {
		o.Table = DefaultTable
	}
	if !tableName.MatchString(o.Table) {
		return nil, fmt.Errorf("%w: table %q", actions.ErrBadOptions, o.Table)
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	a := &Action{spec: spec, opts: o, log: o.Log, now: time.Now, ns: netns.None(), st: newState()}
	var err error
	if o.NetNS != "" {
		a.ns, err = netns.GetFromPath(o.NetNS)
		if err != nil {
			return nil, fmt.Errorf("nftables: netns %s: %w", o.NetNS, err)
		}
		a.nl, err = netlink.NewHandleAt(a.ns)
	} else {
		a.nl, err = netlink.NewHandle()
	}
	if err != nil {
		a.release()
		return nil, fmt.Errorf("nftables: netlink: %w", err)
	}
	if err := a.dial(); err != nil {
		a.release()
		return nil, err
	}
	for k := range numKinds {
		a.sets[k] = a.set(k)
	}
	if err := a.setup(); err != nil {
		a.release()
		return nil, err
	}
	return a, nil
}

// dial opens the lasting nftables connection, in the namespace if one is set.
func (a *Action) dial() error {
	opts := []gnft.ConnOption{gnft.AsLasting()}
	if a.ns.IsOpen() {
		opts = append(opts, gnft.WithNetNSFd(int(a.ns)))
	}
	c, err := gnft.New(opts...)
	if err != nil {
		return fmt.Errorf("nftables: connect: %w", err)
	}
	a.conn = c
	return nil
}

// flushFailed replaces the connection after a failed exchange, since acks
// left unread on a lasting socket would answer the next request, and
// returns err.
func (a *Action) flushFailed(err error) error {
	if a.conn != nil {
		_ = a.conn.CloseLasting()
	}
	if derr := a.dial(); derr != nil {
		a.conn = nil
		return errors.Join(err, derr)
	}
	return err
}

func (a *Action) release() {
	if a.conn != nil {
		_ = a.conn.CloseLasting()
		a.conn = nil
	}
	if a.nl != nil {
		a.nl.Close()
		a.nl = nil
	}
	if a.ns.IsOpen() {
		_ = a.ns.Close()
		a.ns = netns.None()
	}
}

// Factory returns the actions.Factory for the action name "nftables",
// with options table and netns (see ParseOptions).
func Factory(log *zap.Logger) actions.Factory {
	return func(spec string, opts map[string]string) (actions.Action, error) {
		o, err := ParseOptions(opts)
		if err != nil {
			return nil, err
		}
		o.Log = log
		return New(spec, o)
	}
}

// ParseOptions reads the options of an nftables spec as Factory does,
// without opening anything: table (an nft identifier, default
// DefaultTable) and netns (the absolute path of a network namespace, as
// New opens it). Any other option, or a bad value, is an
// actions.ErrBadOptions. The Options returned have no Log.
func ParseOptions(opts map[string]string) (Options, error) {
	o := Options{Table: DefaultTable}
	for k, v := range opts {
		switch k {
		case "table":
			if v == "" {
				continue // New's default, as before
			}
			if !tableName.MatchString(v) {
				return Options{}, fmt.Errorf("%w: nftables table=%q: want a letter, then letters, digits, _ . or -, at most 255 in all", actions.ErrBadOptions, v)
			}
			o.Table = v
		case "netns":
			if v != "" && (!filepath.IsAbs(v) || filepath.Clean(v) != v) {
				return Options{}, fmt.Errorf("%w: nftables netns=%q: want an absolute path such as /run/netns/NAME", actions.ErrBadOptions, v)
			}
			o.NetNS = v
		default:
			return Options{}, fmt.Errorf("%w: nftables has no option %q (table, netns)", actions.ErrBadOptions, k)
		}
	}
	return o, nil
}

// Name returns the action's spec.
func (a *Action) Name() string { return a.spec }

// State names the table the action owns, in its namespace, as a spec with
// every option written out (actions.Stateful).
func (a *Action) State() string {
	return actions.FormatSpec("nftables", map[string]string{"netns": a.opts.NetNS, "table": a.opts.Table})
}

// Ban adds t's prefix to its set, or refreshes its timeout.
func (a *Action) Ban(ctx context.Context, t actions.Target) error {
	return a.BanBatch(ctx, []actions.Target{t})
}

// Unban releases t's jail's hold on its prefix, and removes the element
// when no other jail holds it.
func (a *Action) Unban(ctx context.Context, t actions.Target) error {
	return a.UnbanBatch(ctx, []actions.Target{t})
}

// BanBatch bans every target, refreshing the timeout of elements already
// present so a prolonged ban does not expire early. Refused targets are
// reported (wrapping ErrRefused) after the others are applied.
func (a *Action) BanBatch(ctx context.Context, ts []actions.Target) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return ErrClosed
	}
	own, err := a.ownAddrs()
	if err != nil {
		return err
	}
	var bad []error
	touched := make(map[netip.Prefix]bool, len(ts))
	for _, t := range ts {
		p, err := a.check(t.Prefix, own)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		a.st.hold(p, t.Jail, t.End())
		touched[p] = true
	}
	now := a.now()
	err = a.apply(ctx, a.st.planTouched(touched, now), now)
	return errors.Join(append([]error{err}, bad...)...)
}

// UnbanBatch releases every target's hold. Unbans are not checked against
// the interfaces: an address may have moved onto one since its ban.
func (a *Action) UnbanBatch(ctx context.Context, ts []actions.Target) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return ErrClosed
	}
	var bad []error
	touched := make(map[netip.Prefix]bool, len(ts))
	for _, t := range ts {
		p, err := normalize(t.Prefix)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		a.st.release(p, t.Jail)
		if _, ok := touched[p]; !ok {
			touched[p] = false
		}
	}
	now := a.now()
	err := a.apply(ctx, a.st.planTouched(touched, now), now)
	return errors.Join(append([]error{err}, bad...)...)
}

// Reconcile makes the sets hold exactly what live needs: it rebuilds the
// per-jail holds from live, removes elements no live ban needs, adds the
// missing ones with their remaining time, and fixes timeouts that are off.
// Live bans the action refuses are logged and left out.
func (a *Action) Reconcile(ctx context.Context, live []actions.Target) (added, removed int, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return 0, 0, ErrClosed
	}
	own, err := a.ownAddrs()
	if err != nil {
		return 0, 0, err
	}
	st := newState()
	for _, t := range live {
		p, err := a.check(t.Prefix, own)
		if err != nil {
			a.log.Warn("nftables: live ban left out", zap.String("jail", t.Jail), zap.Error(err))
			continue
		}
		st.hold(p, t.Jail, t.End())
	}
	have, err := a.readAll()
	if err != nil {
		return 0, 0, err
	}
	now := a.now()
	for _, e := range have {
		if !e.p.IsValid() {
			continue
		}
		end := forever
		if e.timeout != 0 {
			end = now.Add(e.expires)
		}
		st.kern[e.p] = end
	}
	a.st = st
	ops, added, removed := planReconcile(have, st.desired(now), now)
	if err := a.apply(ctx, ops, now); err != nil {
		return 0, 0, err
	}
	return added, removed, nil
}

// Elements returns the prefixes in the sets now, sorted. Intervals that are
// not prefixes (only a hand-made element can be one) are left out.
func (a *Action) Elements(ctx context.Context) ([]netip.Prefix, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	have, err := a.readAll()
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(have))
	for _, e := range have {
		if e.p.IsValid() {
			out = append(out, e.p)
		}
	}
	slices.SortFunc(out, comparePrefix)
	return out, nil
}

// Close releases the action's handles; with flush it first deletes the
// action's table, and with it every ban it holds. Other tables are never
// touched.
func (a *Action) Close(ctx context.Context, flush bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	defer a.release()
	if !flush {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("nftables: %w", err)
	}
	tables, err := a.conn.ListTablesOfFamily(gnft.TableFamilyINet)
	if err != nil {
		return fmt.Errorf("nftables: list tables: %w", err)
	}
	for _, t := range tables {
		if t.Name == a.opts.Table {
			a.conn.DelTable(a.table())
			if err := a.conn.Flush(); err != nil {
				return fmt.Errorf("nftables: delete table %s: %w", a.opts.Table, err)
			}
		}
	}
	return nil
}

var (
	loop4 = netip.MustParsePrefix("127.0.0.0/8")
	loop6 = netip.MustParsePrefix("::1/128")
)

// normalize returns p masked, without zone, and IPv4-mapped IPv6 prefixes
// as IPv4, so the same network is always the same key.
func normalize(p netip.Prefix) (netip.Prefix, error) {
	if !p.IsValid() {
		return netip.Prefix{}, fmt.Errorf("%w %s", ErrInvalidPrefix, p)
	}
	addr := p.Addr().WithZone("")
	bits := p.Bits()
	if addr.Is4In6() {
		if bits < 96 {
			return netip.Prefix{}, fmt.Errorf("%w %s: wider than the IPv4-mapped range", ErrInvalidPrefix, p)
		}
		addr, bits = addr.Unmap(), bits-96
	}
	return netip.PrefixFrom(addr, bits).Masked(), nil
}

// check normalizes p and refuses loopback prefixes and prefixes holding an
// address in own.
func (a *Action) check(p netip.Prefix, own []netip.Addr) (netip.Prefix, error) {
	p, err := normalize(p)
	if err != nil {
		return p, err
	}
	if p.Overlaps(loop4) || p.Overlaps(loop6) {
		return p, fmt.Errorf("%w %s: loopback", ErrRefused, p)
	}
	for _, addr := range own {
		if p.Contains(addr) {
			return p, fmt.Errorf("%w %s: holds %s, an address of this host", ErrRefused, p, addr)
		}
	}
	return p, nil
}

// ownAddrs lists the addresses of the namespace's interfaces. It is read on
// every call, not cached: addresses come and go, and one netlink dump is
// cheap beside the transaction that follows.
func (a *Action) ownAddrs() ([]netip.Addr, error) {
	list, err := a.nl.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, fmt.Errorf("nftables: list addresses: %w", err)
	}
	out := make([]netip.Addr, 0, len(list))
	for _, ad := range list {
		if ad.IPNet == nil {
			continue
		}
		if addr, ok := netip.AddrFromSlice(ad.IPNet.IP); ok {
			out = append(out, addr.Unmap())
		}
	}
	return out, nil
}
