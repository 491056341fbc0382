package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"go.uber.org/zap"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/actions/nftables"
	"github.com/banserver/banserver/actions/route"
	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/store"
)

// canChangeRoutes is route.CanChangeRoutes; tests replace it.
var canChangeRoutes = route.CanChangeRoutes

// kernelActions are the built-in actions that change the kernel and so need
// root or CAP_NET_ADMIN.
var kernelActions = []string{"blackhole", "unreachable", "prohibit", "nftables"}

// registerKernel adds the kernel-backed actions to reg. Their netns option
// defaults to the configuration's kernel.netns.
func registerKernel(reg *actions.Registry, k config.Kernel, log *zap.Logger) {
	for _, name := range []string{"blackhole", "unreachable", "prohibit"} {
		reg.Register(name, withNetNS(route.Factory(name, log.Named("route")), k.NetNS))
	}
	reg.Register("nftables", withNetNS(nftables.Factory(log.Named("nftables")), k.NetNS))
}

// withNetNS gives a factory's options a default network namespace. The
// spec, and so the action's name, stays as the operator wrote it.
func withNetNS(f actions.Factory, netns string) actions.Factory {
	if netns == "" {
		return f
	}
	return func(spec string, opts map[string]string) (actions.Action, error) {
		if _, ok := opts["netns"]; !ok {
			o := make(map[string]string, len(opts)+1)
			for k, v := range opts {
				o[k] = v
			}
			o["netns"] = netns
			opts = o
		}
		return f(spec, opts)
	}
}

// checkKernelActions handles jails whose actions change the kernel when the
// daemon may not: with the embedded default config it says so at start and
// falls back to logging (so `make run` works as any user); with a config
// file the operator asked for enforcement, so starting without it would be
// a silent failure: it refuses to start.
func checkKernelActions(jcs []config.Jail, isDefault bool, log *zap.Logger) error {
	can, why := canChangeRoutes()
	if can {
		return nil
	}
	for i := range jcs {
		jc := &jcs[i]
		var kept []string
		for _, spec := range jc.Actions {
			name, _, err := actions.ParseSpec(spec)
			if err != nil || !slices.Contains(kernelActions, name) {
				kept = append(kept, spec)
				continue
			}
			if !isDefault {
				return fmt.Errorf("daemon: jail %q: action %s needs root or CAP_NET_ADMIN: %s", jc.Name, spec, why)
			}
			log.Warn("kernel enforcement is off: bans are only logged; run as root or with CAP_NET_ADMIN to enforce them",
				zap.String("jail", jc.Name), zap.String("action", spec), zap.String("reason", why))
		}
		if !slices.Contains(kept, "log") && len(kept) < len(jc.Actions) {
			kept = append(kept, "log")
		}
		jc.Actions = kept
	}
	return nil
}

// kernelState keeps everything the daemon owns in the kernel (routes of
// its protocol in every table it has used, its nftables tables) agreeing
// with the live bans: at start, when a jail starts, when a jail's actions
// change, and after a reload. The tables and namespaces used are recorded
// in the ban store before any ban goes through them, so one dropped from
// the configuration is still cleaned on a later start.
type kernelState struct {
	reg   *actions.Registry
	queue *actions.Queue
	jails *jail.Manager
	store *banStore // nil: memory only, nothing recorded
	log   *zap.Logger

	// mu serializes changes of what the jails use with reconciliation, so
	// a state is never dropped between being recorded and being used.
	mu       sync.Mutex
	recorded map[string]bool // states known to be in the store; guarded by mu
}

func newKernelState(reg *actions.Registry, queue *actions.Queue, jails *jail.Manager, store *banStore, log *zap.Logger) *kernelState {
	return &kernelState{reg: reg, queue: queue, jails: jails, store: store, log: log, recorded: map[string]bool{}}
}

// useLocked records the kernel state of specs' actions in the store, and
// waits until it is on disk; k.mu is held.
func (k *kernelState) useLocked(specs []string) error {
	var changes []store.Change
	for _, spec := range specs {
		a, err := k.reg.Lookup(spec)
		if err != nil {
			return err
		}
		if st, ok := a.(actions.Stateful); ok && !k.recorded[st.State()] {
			changes = append(changes, store.Change{Op: store.OpKernelUse, State: st.State()})
		}
	}
	if k.store == nil || len(changes) == 0 {
		return nil
	}
	if err := k.store.Wait(k.store.db.PutAll(changes)); err != nil {
		return fmt.Errorf("daemon: recording kernel state: %w", err)
	}
	for _, c := range changes {
		k.recorded[c.State] = true
	}
	return nil
}

// start records the kernel state of specs' actions and reconciles, at
// start. It runs beside serving, once the socket is the daemon's and the
// queue runs: the kernel still holds the routes and set elements of the
// run before, so the bans restored are enforced meanwhile, and clients are
// not kept waiting seconds for a million routes to be compared. The
// reconciliation goes through the queue's worker like any other, so a ban
// or an unban made while it runs is applied after it and never undone by
// it. The memory its lists took is handed back to the system after.
func (k *kernelState) start(ctx context.Context, specs []string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.useLocked(specs); err != nil {
		return err
	}
	err := k.queue.Do(ctx, func(qctx context.Context) error {
		if err := ctx.Err(); err != nil {
			return err // stopping before it began: nothing to reconcile for
		}
		return k.reconcileNow(qctx)
	})
	if ctx.Err() != nil {
		return nil // a stop during start is not an error
	}
	// A million bans listed, sorted and compared leave hundreds of
	// megabytes of free heap that the runtime would give back only slowly.
	debug.FreeOSMemory()
	return err
}

// reconcile makes the kernel agree with the live bans, on the queue's
// worker so it never interleaves with a ban or an unban.
func (k *kernelState) reconcile(ctx context.Context) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.reconcileLocked(ctx)
}

func (k *kernelState) reconcileLocked(ctx context.Context) error {
	return k.queue.Do(ctx, k.reconcileNow)
}

// setActions gives a jail new actions: their state is recorded first, and
// the kernel then agrees with the jail's bans under them.
func (k *kernelState) setActions(ctx context.Context, jailName string, specs []string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if err := k.useLocked(specs); err != nil {
		return err
	}
	if err := k.jails.SetActions(jailName, specs); err != nil {
		return err
	}
	return k.reconcileLocked(ctx)
}

// jailStarted records the started jail's kernel state, restores its stored
// bans, and reconciles.
func (k *kernelState) jailStarted(ctx context.Context, name string, restore func(string) error) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	cfg, err := k.jails.Config(name)
	if err != nil {
		return err
	}
	if err := k.useLocked(cfg.Actions); err != nil {
		return err
	}
	if err := restore(name); err != nil {
		return err
	}
	return k.reconcileLocked(ctx)
}

// reconcileNow hands every kernel-backed action the live bans of the jails
// using it, so routes and set elements no live ban needs go and missing
// ones come back; actions no jail uses any more (one dropped from the
// configuration, one recorded by an earlier run) are flushed, closed and
// forgotten. It runs on the queue's worker, or before the queue runs.
func (k *kernelState) reconcileNow(ctx context.Context) error {
	// What earlier runs used: built now, so that they are cleaned.
	if k.store != nil {
		states, err := k.store.db.KernelStates()
		if err != nil {
			return fmt.Errorf("daemon: kernel states: %w", err)
		}
		for _, st := range states {
			k.recorded[st] = true
			if _, err := k.reg.Lookup(st); err != nil {
				if errors.Is(err, os.ErrNotExist) {
					// The namespace is gone, and its routes with it.
					k.log.Info("kernel state gone with its namespace", zap.String("state", st))
					k.drop(st)
					continue
				}
				k.log.Warn("cannot clean kernel state an earlier run used", zap.String("state", st), zap.Error(err))
			}
		}
	}
	live := map[actions.Action][]actions.Target{}
	for _, name := range k.jails.Jails() {
		cfg, err := k.jails.Config(name)
		if err != nil {
			continue
		}
		var users []actions.Action
		for _, spec := range cfg.Actions {
			if a, err := k.reg.Lookup(spec); err == nil {
				if _, ok := a.(actions.Reconciler); ok {
					users = append(users, a)
				}
			}
		}
		if len(users) == 0 {
			// No kernel state to agree with: listing (and sorting) this
			// jail's bans would be work for nothing, a second or more with
			// a million bans.
			continue
		}
		// The bans as they come, no sorted copy: the actions sort what
		// they compare.
		size := func(n int) {
			for _, a := range users {
				live[a] = slices.Grow(live[a], n)
			}
		}
		k.jails.EachBan(name, size, func(b jail.Ban) { // an error: the jail went meanwhile
			t := actions.Target{Jail: name, Prefix: b.Prefix, Start: b.Start, BanTime: b.BanTime}
			for _, a := range users {
				live[a] = append(live[a], t)
			}
		})
	}
	var errs []error
	for _, a := range k.reg.Built() {
		r, ok := a.(actions.Reconciler)
		if !ok {
			continue
		}
		start := time.Now()
		targets, used := live[a]
		if !used {
			k.retire(ctx, a)
			continue
		}
		// Nothing here keeps the list once the action has read it: with a
		// million bans it is 80 MB the action's own lists can reuse.
		delete(live, a)
		n := len(targets)
		added, removed, err := r.Reconcile(ctx, targets)
		if err != nil {
			errs = append(errs, fmt.Errorf("daemon: reconcile %s: %w", a.Name(), err))
		}
		k.log.Info("reconciled", zap.String("action", a.Name()), zap.Int("live", n),
			zap.Int("added", added), zap.Int("removed", removed), zap.Duration("took", time.Since(start)))
	}
	return errors.Join(errs...)
}

// retire flushes what an action no jail uses left in the kernel, closes it,
// forgets it, and drops its record.
func (k *kernelState) retire(ctx context.Context, a actions.Action) {
	if c, ok := a.(actions.Closer); ok {
		if err := c.Close(ctx, true); err != nil {
			k.log.Warn("cleaning kernel state no jail uses", zap.String("action", a.Name()), zap.Error(err))
			return
		}
	}
	k.reg.Forget(a)
	k.log.Info("cleaned kernel state no jail uses", zap.String("action", a.Name()))
	if st, ok := a.(actions.Stateful); ok {
		k.drop(st.State())
	}
}

// drop forgets a recorded state.
func (k *kernelState) drop(state string) {
	delete(k.recorded, state)
	if k.store == nil {
		return
	}
	if err := k.store.Wait(k.store.db.Put(store.Change{Op: store.OpKernelDrop, State: state})); err != nil {
		k.log.Warn("forgetting kernel state", zap.String("state", state), zap.Error(err))
	}
}

// reconcilers sorts action specs into those whose actions reconcile
// (routes, set elements) and the others, for the events of restored bans:
// every restore (at start, when a jail starts, on reload) is followed by a
// reconciliation that hands such actions all live bans, so queueing each
// restored ban for them too would only repeat that work, a million jobs
// after a restart with a million bans.
type reconcilers struct {
	reg *actions.Registry

	mu    sync.Mutex // guards the fields below
	known map[string]bool
	last  []string // the latest specs filtered, and what was kept
	kept  []string
}

func newReconcilers(reg *actions.Registry) *reconcilers {
	return &reconcilers{reg: reg, known: map[string]bool{}}
}

// without returns specs less those of reconciling actions. Restored bans
// of one jail share its specs slice: the answer for the latest one is
// kept, so a million restored bans make no allocation here.
func (r *reconcilers) without(specs []string) []string {
	if len(specs) == 0 {
		return specs
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.last) == len(specs) && &r.last[0] == &specs[0] {
		return r.kept
	}
	var kept []string
	for _, spec := range specs {
		rec, ok := r.known[spec]
		if !ok {
			// An action that cannot be built is left to the queue, which
			// reports it.
			if a, err := r.reg.Lookup(spec); err == nil {
				_, rec = a.(actions.Reconciler)
				r.known[spec] = rec
			}
		}
		if !rec {
			kept = append(kept, spec)
		}
	}
	r.last, r.kept = specs, kept
	return kept
}

// closeActions releases kernel handles; flush removes what they added.
func closeActions(ctx context.Context, reg *actions.Registry, flush bool, log *zap.Logger) {
	for _, a := range reg.Built() {
		if c, ok := a.(actions.Closer); ok {
			if err := c.Close(ctx, flush); err != nil {
				log.Error("close action", zap.String("action", a.Name()), zap.Error(err))
			}
		}
	}
}

// selfAddrs returns this host's addresses for the jails' own-address rules:
// the daemon's interfaces and, when kernel actions work in another network
// namespace, that namespace's too, since those are the ones a ban there
// could cut off.
func selfAddrs(netnsPath string, log *zap.Logger) func() []netip.Addr {
	return func() []netip.Addr {
		var out []netip.Addr
		if ifs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range ifs {
				if p, err := netip.ParsePrefix(a.String()); err == nil {
					out = append(out, p.Addr().Unmap())
				}
			}
		}
		if netnsPath == "" {
			return out
		}
		path := netnsPath
		if !strings.Contains(path, "/") {
			path = "/run/netns/" + path
		}
		ns, err := netns.GetFromPath(path)
		if err != nil {
			log.Warn("own addresses of the kernel namespace", zap.String("netns", path), zap.Error(err))
			return out
		}
		defer ns.Close()
		h, err := netlink.NewHandleAt(ns)
		if err != nil {
			log.Warn("own addresses of the kernel namespace", zap.String("netns", path), zap.Error(err))
			return out
		}
		defer h.Close()
		addrs, err := h.AddrList(nil, netlink.FAMILY_ALL)
		if err != nil {
			log.Warn("own addresses of the kernel namespace", zap.String("netns", path), zap.Error(err))
			return out
		}
		for _, a := range addrs {
			if ip, ok := netip.AddrFromSlice(a.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
		return out
	}
}
