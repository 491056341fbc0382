package daemon

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"go.uber.org/zap"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/actions/nftables"
	"github.com/banserver/banserver/actions/route"
	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/jail"
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

// reconcile hands every kernel-backed action the live bans of the jails
// using it, so routes and set elements no live ban needs go and missing
// ones come back, before the daemon answers its first command.
func reconcile(ctx context.Context, reg *actions.Registry, jails *jail.Manager, log *zap.Logger) error {
	reconcilers := map[string]actions.Reconciler{}
	for _, a := range reg.Built() {
		if r, ok := a.(actions.Reconciler); ok {
			reconcilers[a.Name()] = r
		}
	}
	if len(reconcilers) == 0 {
		return nil
	}
	live := map[string][]actions.Target{}
	for _, name := range jails.Jails() {
		cfg, err := jails.Config(name)
		if err != nil || !slices.ContainsFunc(cfg.Actions, func(a string) bool { return reconcilers[a] != nil }) {
			// No kernel state to agree with: listing (and sorting) this
			// jail's bans would be start-up work for nothing, a second or
			// more with a million restored bans.
			continue
		}
		bans, err := jails.BanList(name)
		if err != nil {
			continue
		}
		for _, spec := range cfg.Actions {
			for _, b := range bans {
				live[spec] = append(live[spec], actions.Target{Jail: name, Prefix: b.Prefix, Start: b.Start, BanTime: b.BanTime})
			}
		}
	}
	for name, r := range reconcilers {
		start := time.Now()
		added, removed, err := r.Reconcile(ctx, live[name])
		if err != nil {
			return fmt.Errorf("daemon: reconcile %s: %w", name, err)
		}
		log.Info("reconciled", zap.String("action", name), zap.Int("live", len(live[name])),
			zap.Int("added", added), zap.Int("removed", removed), zap.Duration("took", time.Since(start)))
	}
	return nil
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
