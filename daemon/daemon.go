// Package daemon wires banserver together: configuration, logging, jails,
// the actions queue and the socket server, with one Run(ctx) lifecycle that
// cmd/banserver calls. It keeps main thin and lets tests run a whole daemon
// in-process.
package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/user"
	"strconv"
	"sync"

	"go.uber.org/zap"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/logjail"
	"github.com/banserver/banserver/server"
)

// Options are the command line's overrides of the configuration.
type Options struct {
	// ConfigPath is the YAML file; "" uses the embedded default.
	ConfigPath string
	// Socket overrides socket.path when not empty.
	Socket string
	// DB overrides db when not empty.
	DB string
	// Ready, if set, is called once the socket accepts connections.
	Ready func(socket string)
	// Reload, if set, asks for a reload of the configuration file each
	// time it receives (cmd/banserver sends SIGHUP there).
	Reload <-chan struct{}
	// JournalDirectory, if set, makes log jails with the systemd backend
	// read the journal files there instead of the system journal (tests).
	JournalDirectory string
}

// daemon is one running banserver: what a reload changes.
type daemon struct {
	o     Options
	log   *zap.Logger
	level zap.AtomicLevel
	reg   *actions.Registry
	queue *actions.Queue
	jails *jail.Manager
	bans  *banStore // nil: memory only
	kern  *kernelState
	srv   *server.Server
	logs  *logjail.Manager // the log jails' readers

	// mu serializes reloads; it guards the fields below.
	mu  sync.Mutex
	cfg *config.Config // the configuration running
	// fromConfig are the running jails the configuration file made (not
	// those added over the socket): a reload removes those it no longer
	// names, and leaves the others.
	fromConfig map[string]bool
}

// Run starts the daemon and blocks until ctx ends or a client sends `stop`.
// Cancellation is a clean shutdown, not an error.
func Run(ctx context.Context, o Options) error {
	cfg, err := loadConfig(o)
	if err != nil {
		return err
	}
	level, levelName, err := zapLevel(cfg.Log.Level)
	if err != nil {
		return err
	}
	log, logs, err := newLogOutput(cfg.Log.Format, level)
	if err != nil {
		return err
	}
	defer log.Sync()

	bans, err := openStore(storePath(o, cfg, log), cfg.PurgeAge(), cfg.DBMaxMatches, log.Named("store"))
	if err != nil {
		return err
	}
	if bans != nil {
		defer bans.db.Close()
	}

	reg := actions.NewRegistry(actions.Log{L: log.Named("action")})
	registerKernel(reg, cfg.Kernel, log)
	if err := checkKernelActions(cfg.Jails, o.ConfigPath == "", log); err != nil {
		return err
	}
	queue := actions.NewQueue(reg, log.Named("actions"))
	var (
		history func(string, netip.Prefix, bool) int
		journal jail.Journal
	)
	if bans != nil {
		history, journal = bans.history, bans
	}
	hooks := &clusterHooks{}
	rec := newReconcilers(reg)
	if cfg.Cluster.Enabled() {
		history = hooks.history(history)
	}
	jails := jail.NewManager(jail.Options{
		MaxFailures: cfg.Limits.MaxFailures,
		SelfAddrs:   selfAddrs(cfg.Kernel.NetNS, log),
		History:     history,
		Journal:     journal,
		OnFailure:   hooks.failure,
		OnEvent: func(ev jail.Event) {
			hooks.event(ev)
			acts := ev.Actions
			if ev.Cause == jail.CauseRestored {
				// The reconciliation after every restore brings these
				// to the kernel (see reconcilers).
				acts = rec.without(acts)
			}
			if len(acts) == 0 {
				return
			}
			op := actions.OpBan
			if ev.Kind == jail.EventUnban {
				op = actions.OpUnban
			}
			queue.Submit(actions.Job{Op: op, Actions: acts, Target: actions.Target{
				Jail:    ev.Jail,
				Prefix:  ev.Ban.Prefix,
				Start:   ev.Ban.Start,
				BanTime: ev.Ban.BanTime,
			}})
		},
	})
	node, err := newClusterNode(cfg.Cluster, jails, log.Named("cluster"))
	if err != nil {
		return err
	}
	hooks.node = node
	d := &daemon{o: o, log: log, level: level, reg: reg, queue: queue, jails: jails, bans: bans,
		cfg: cfg, fromConfig: map[string]bool{}}
	d.kern = newKernelState(reg, queue, jails, bans, log.Named("kernel"))
	d.logs = newLogJails(jails, bans, o.JournalDirectory, log.Named("logjail"))
	for _, jc := range cfg.Jails {
		c, err := jailConfig(jc, reg)
		if err != nil {
			return err
		}
		if err := d.addJail(c, logSettings(jc, cfg.FilterDirs)); err != nil {
			return err
		}
	}

	ln, activated, err := server.ListenSystemd()
	if err != nil {
		return err
	}
	if activated {
		// systemd owns the socket file, its mode and its owner.
		log.Info("socket activated by systemd", zap.String("addr", ln.Addr().String()))
		cfg.Socket.Path = ln.Addr().String() // what the logs and Ready name
	} else {
		mode, _ := cfg.Socket.FileMode() // validated by config.Load
		uid, err := lookupID(cfg.Socket.Owner, false)
		if err != nil {
			return err
		}
		gid, err := lookupID(cfg.Socket.Group, true)
		if err != nil {
			return err
		}
		uln, err := server.Listen(server.SocketOptions{Path: cfg.Socket.Path, Mode: mode, UID: uid, GID: gid})
		if err != nil {
			return err
		}
		ln = uln
		defer server.Unlink(cfg.Socket.Path)
	}
	// Metrics listen before the kernel is touched, as the socket does: an
	// address in use refuses the start.
	mln, err := listenMetrics(cfg.Metrics, cfg.Socket)
	if err != nil {
		ln.Close()
		return err
	}
	defer mln.close()
	// Reconcile only once the socket is ours: a second daemon refused above
	// must not touch the kernel state of the one already running. It runs
	// beside serving (below), on the queue's worker.
	var specs []string
	for _, name := range jails.Jails() {
		if c, err := jails.Config(name); err == nil {
			specs = append(specs, c.Actions...)
		}
	}
	defer closeActions(context.WithoutCancel(ctx), reg, cfg.Kernel.FlushOnStop, log)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srvOpts := server.Options{
		Jails:       jails,
		Actions:     reg,
		Queue:       queue,
		Log:         log.Named("server"),
		Level:       level,
		LevelName:   levelName,
		MaxMessage:  cfg.Limits.MaxMessage,
		IdleTimeout: cfg.Limits.IdleTimeout,
		Stop:        cancel,
		OnJailStart: func(name string) error {
			return d.kern.jailStarted(ctx, name, func(name string) error { return bans.restore(jails, name) })
		},
		SetActions: func(name string, specs []string) error { return d.kern.setActions(ctx, name, specs) },
		Reload:     func(jail string) error { return d.reload(ctx, jail) },
		Logs:       logs,
		Access:     accessRules(cfg.Access),
		Limits:     serverLimits(cfg.Limits),
		LogJails:   d.logs,
	}
	if bans != nil {
		srvOpts.DB = bans.set
		srvOpts.StoreHealth = bans.health
	}
	if node != nil {
		srvOpts.Cluster = clusterStatus(node)
	}
	srv := server.New(srvOpts)
	d.srv = srv
	log.Info("banserver started", zap.String("socket", cfg.Socket.Path), zap.Strings("jails", jails.Jails()),
		zap.String("version", server.Version), zap.Int("pid", os.Getpid()))
	logMetrics(log, mln)
	if o.Ready != nil {
		o.Ready(cfg.Socket.Path)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil {
				errs <- fmt.Errorf("daemon: %s: %w", name, err)
				cancel()
			}
		}()
	}
	// The actions queue gets its own context so that, on shutdown, it
	// outlives the server and applies what the last replies acknowledged.
	qctx, qcancel := context.WithCancel(context.WithoutCancel(ctx))
	qdone := make(chan error, 1)
	go func() { qdone <- queue.Run(qctx) }()
	// The kernel agrees with the restored bans once this is done; the
	// routes of the run before stay meanwhile (see kernelState.start). A
	// failure stops the daemon, as it refused to start before.
	run("kernel", func(ctx context.Context) error { return d.kern.start(ctx, specs) })
	run("jails", jails.Run)
	// ignoreself follows this host's addresses as they change.
	run("selfwatch", func(ctx context.Context) error {
		return watchSelf(ctx, cfg.Kernel.NetNS, jails, log.Named("selfwatch"))
	})
	if bans != nil {
		run("purge", bans.purge)
	}
	// Log jails read once the server is up: their failures ban through
	// the same jails and actions as the socket's.
	run("logjails", d.logs.Run)
	if node != nil {
		// The cluster follows once the jails hold their stored bans; it
		// is never on an attempt's path (see package cluster).
		run("cluster", node.Run)
	}
	if o.Reload != nil {
		run("reload", func(ctx context.Context) error {
			for {
				select {
				case <-ctx.Done():
					return nil
				case <-o.Reload:
					if err := d.reload(ctx, ""); err != nil {
						log.Error("reload refused; the running configuration stays", zap.Error(err))
					}
				}
			}
		})
	}
	if mln != nil {
		run("metrics", func(ctx context.Context) error { return d.serveMetrics(ctx, mln, node) })
	}
	run("server", func(ctx context.Context) error { return srv.Serve(ctx, ln) })
	<-ctx.Done()
	wg.Wait()
	qcancel()
	<-qdone
	log.Info("banserver stopped")
	select {
	case err := <-errs:
		return err
	default:
		return nil
	}
}

// loadConfig loads the configuration with every check the daemon makes
// (CheckConfig's), and the command line's overrides.
func loadConfig(o Options) (*config.Config, error) {
	cfg, err := config.LoadWith(o.ConfigPath, configChecks(checkRegistry("")))
	if err != nil {
		return nil, err
	}
	if o.Socket != "" {
		cfg.Socket.Path = o.Socket
	}
	if o.DB != "" {
		cfg.DB = o.DB
	}
	return cfg, nil
}

// addJail adds, starts and restores a jail the configuration names, and
// lets it read its logs when it has any.
func (d *daemon) addJail(c jail.Config, ls logjail.Settings) error {
	if err := d.jails.Add(c); err != nil {
		return fmt.Errorf("daemon: jail %q: %w", c.Name, err)
	}
	if err := d.jails.Start(c.Name); err != nil {
		return fmt.Errorf("daemon: jail %q: %w", c.Name, err)
	}
	if err := d.bans.restore(d.jails, c.Name); err != nil {
		return err
	}
	if err := d.logs.Configure(c.Name, ls); err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	d.logs.Start(c.Name)
	d.fromConfig[c.Name] = true
	return nil
}

// serverLimits are the configured limits as the server takes them.
func serverLimits(l config.Limits) server.Limits {
	return server.Limits{
		MaxAddresses: l.MaxAddresses, RatePerUID: l.RatePerUID, RateBurst: l.RateBurst,
		MaxConns: l.MaxConns, MaxConnsPerUID: l.MaxConnsPerUID,
		ReadTimeout: l.ReadTimeout, MaxJails: l.MaxJails,
	}
}

// jailConfig turns a configured jail, parsed and checked by config.Load,
// into the jail package's settings, its actions canonical.
func jailConfig(jc config.Jail, reg *actions.Registry) (jail.Config, error) {
	c := jc.Parsed()
	c.Actions = nil
	for _, a := range jc.Actions {
		canon, err := reg.Canonical(a)
		if err != nil {
			return c, fmt.Errorf("daemon: jail %q: %w", jc.Name, err)
		}
		c.Actions = append(c.Actions, canon)
	}
	return c, nil
}

// accessRules turns the configured access rules, resolved by config.Load,
// into the server's.
func accessRules(rules []config.AccessRule) []server.Rule {
	out := make([]server.Rule, 0, len(rules))
	for _, r := range rules {
		out = append(out, server.Rule{UID: r.PeerUID(), GID: r.PeerGID(), Classes: r.CommandClasses(), Jails: r.Jails})
	}
	return out
}

// lookupID resolves a user or group name (or number); "" is -1, keep.
func lookupID(name string, group bool) (int, error) {
	if name == "" {
		return -1, nil
	}
	if n, err := strconv.Atoi(name); err == nil {
		return n, nil
	}
	var id string
	if group {
		g, err := user.LookupGroup(name)
		if err != nil {
			return 0, fmt.Errorf("daemon: socket group: %w", err)
		}
		id = g.Gid
	} else {
		u, err := user.Lookup(name)
		if err != nil {
			return 0, fmt.Errorf("daemon: socket owner: %w", err)
		}
		id = u.Uid
	}
	return strconv.Atoi(id)
}

// zapLevel maps fail2ban's level names onto zap's.
func zapLevel(name string) (zap.AtomicLevel, string, error) {
	l, up, err := server.ParseLogLevel(name)
	if err != nil {
		return zap.AtomicLevel{}, "", fmt.Errorf("%w: log.level %q", config.ErrInvalid, name)
	}
	return zap.NewAtomicLevelAt(l), up, nil
}
