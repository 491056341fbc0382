package daemon

import (
	"context"
	"fmt"
	"slices"

	"go.uber.org/zap"

	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/logjail"
	"github.com/banserver/banserver/server"
)

// reload re-reads the configuration file and applies it to the running
// daemon (SIGHUP, and the socket's reload and reload JAIL), without
// dropping live bans or failure counts:
//   - a jail the file names that is not running is added and started, its
//     stored bans restored;
//   - a running jail the file names takes the file's settings (bans and
//     counted failures stay; the new bantime applies to later bans);
//   - a jail an earlier load of the file made, that the file no longer
//     names, is stopped (its stored bans stay for a later start, as with
//     stop JAIL); jails added over the socket are left alone;
//   - the kernel is reconciled with the jails' actions.
//
// The log level, access rules and client limits are applied before the
// jails change, so no client sees the file's jails beside the old
// settings.
//
// With only set, just that jail is added or changed. The whole file is
// checked first: a file that fails to load is refused and the running
// configuration stays. Settings a running daemon cannot change (the
// socket, the store, kernel.netns, log.format, limits.max_failures) are
// logged as waiting for a restart.
func (d *daemon) reload(ctx context.Context, only string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	cfg, err := loadConfig(d.o)
	if err != nil {
		return fmt.Errorf("daemon: reload: %w", err)
	}
	if err := checkKernelActions(cfg.Jails, d.o.ConfigPath == "", d.log); err != nil {
		return fmt.Errorf("daemon: reload: %w", err)
	}
	if cfg.Cluster != d.cfg.Cluster {
		// The node's connection, name and keys are the cluster's view of
		// this host: they change with a restart, not under live traffic.
		d.log.Warn("reload: the cluster section changed; it takes effect at the next restart",
			zap.String("running", d.cfg.Cluster.Redis), zap.String("file", cfg.Cluster.Redis))
		cfg.Cluster = d.cfg.Cluster
	}
	// Every jail's settings first: nothing changes unless all are good.
	want := map[string]jail.Config{}
	wantLogs := map[string]logjail.Settings{}
	var names []string
	for _, jc := range cfg.Jails {
		c, err := jailConfig(jc, d.reg)
		if err != nil {
			return fmt.Errorf("daemon: reload: %w", err)
		}
		want[c.Name] = c
		wantLogs[c.Name] = logSettings(jc, cfg.FilterDirs)
		names = append(names, c.Name)
	}
	if only != "" {
		if _, ok := want[only]; !ok {
			return fmt.Errorf("daemon: reload: jail %q is not in the configuration file %s", only, configName(d.o.ConfigPath))
		}
		names = []string{only}
	}

	k := d.kern
	k.mu.Lock()
	defer k.mu.Unlock()
	var specs []string
	for _, name := range names {
		specs = append(specs, want[name].Actions...)
	}
	if err := k.useLocked(specs); err != nil {
		return fmt.Errorf("daemon: reload: %w", err)
	}
	if only == "" {
		// Before the jails: a client that sees the file's jails sees its
		// log level and limits too, never the old ones beside them.
		d.applyServerSettings(cfg)
		d.cfg = cfg
	}
	var added, changed, removed []string
	for _, name := range names {
		c := want[name]
		if d.jails.Has(name) {
			if err := d.jails.Reconfigure(c); err != nil {
				return fmt.Errorf("daemon: reload: jail %q: %w", name, err)
			}
			// Checked by loadConfig; a reader whose settings changed
			// restarts from its stored positions.
			if err := d.logs.Configure(name, wantLogs[name]); err != nil {
				return fmt.Errorf("daemon: reload: %w", err)
			}
			d.logs.Start(name)
			d.fromConfig[name] = true
			changed = append(changed, name)
			continue
		}
		if err := d.addJail(c, wantLogs[name]); err != nil {
			return fmt.Errorf("daemon: reload: %w", err)
		}
		added = append(added, name)
	}
	if only == "" {
		for name := range d.fromConfig {
			if _, ok := want[name]; ok {
				continue
			}
			delete(d.fromConfig, name)
			if err := d.jails.Stop(name); err != nil {
				continue // stopped over the socket meanwhile
			}
			d.logs.Remove(name)
			removed = append(removed, name)
		}
	}
	rerr := k.reconcileLocked(ctx)
	slices.Sort(removed)
	d.log.Info("reloaded", zap.String("config", configName(d.o.ConfigPath)), zap.Strings("added", added),
		zap.Strings("changed", changed), zap.Strings("removed", removed))
	return rerr
}

// applyServerSettings applies what a reload may change outside the jails
// (the log level, access rules and client limits: for connections made
// from now on), and logs what waits for a restart. d.mu is held.
func (d *daemon) applyServerSettings(cfg *config.Config) {
	old := d.cfg
	if cfg.Log.Level != old.Log.Level {
		if err := d.srv.SetLogLevel(cfg.Log.Level); err != nil {
			d.log.Warn("log level", zap.Error(err)) // checked at load: not expected
		}
	}
	d.srv.Reconfigure(server.Settings{
		Access: accessRules(cfg.Access), Limits: serverLimits(cfg.Limits),
		MaxMessage: cfg.Limits.MaxMessage, IdleTimeout: cfg.Limits.IdleTimeout,
	})
	for _, c := range []struct {
		key      string
		was, now any
	}{
		{"socket", old.Socket, cfg.Socket},
		{"metrics", old.Metrics, cfg.Metrics},
		{"db", old.DB, cfg.DB},
		{"kernel", old.Kernel, cfg.Kernel},
		{"log.format", old.Log.Format, cfg.Log.Format},
		{"limits.max_failures", old.Limits.MaxFailures, cfg.Limits.MaxFailures},
	} {
		if c.was != c.now {
			d.log.Warn("changed in the configuration, takes effect at the next start", zap.String("key", c.key))
		}
	}
}

// configName is how messages name the configuration file.
func configName(path string) string {
	if path == "" {
		return "(embedded default)"
	}
	return path
}
