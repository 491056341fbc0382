package daemon

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"go.uber.org/zap"

	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/server"
	"github.com/banserver/banserver/store"
)

// banStore joins the jail manager and the ban store: it records command
// bans and unbans, answers the jails' history questions for
// bantime.increment, restores a jail's bans when it starts, and purges old
// records. A nil *banStore is memory only.
type banStore struct {
	db       *store.DB
	set      *server.DBSettings
	log      *zap.Logger
	restores restoreTimes // for metrics
}

// openStore opens the ban store at path ("none": memory only).
func openStore(path string, purgeAge time.Duration, maxMatches int, log *zap.Logger) (*banStore, error) {
	if path == "none" {
		log.Info("no ban store: bans are kept in memory only and lost at exit")
		return nil, nil
	}
	db, err := store.Open(path, store.Options{MaxMatches: maxMatches, MaxMatchLen: jail.DefaultMaxMatchLen, Log: log})
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("daemon: ban store: %w: run as root, or give a store you can write with --db PATH (or --db none to keep bans in memory only)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("daemon: ban store: %w", err)
	}
	log.Info("ban store", zap.String("path", path))
	return &banStore{db: db, set: server.NewDBSettings(path, purgeAge, maxMatches), log: log}, nil
}

// Record is jail.Journal's: it queues the events of one command as one
// group of store changes, so they are stored together or not at all. It is
// called under the jails' locks and only queues.
func (b *banStore) Record(evs []jail.Event) uint64 {
	changes := make([]store.Change, 0, len(evs))
	for _, ev := range evs {
		sb := store.Ban{Jail: ev.Jail, Prefix: ev.Ban.Prefix}
		switch ev.Kind {
		case jail.EventBan, jail.EventProlong:
			matches := ev.Ban.Matches
			if max := b.set.MaxMatches(); len(matches) > max {
				matches = matches[len(matches)-max:]
			}
			sb.Start, sb.BanTime, sb.Count, sb.Matches = ev.Ban.Start, ev.Ban.BanTime, ev.Ban.Count, matches
			op := store.OpBan
			if ev.Kind == jail.EventProlong {
				op = store.OpProlong
			}
			changes = append(changes, store.Change{Op: op, Ban: sb})
		case jail.EventUnban:
			// A command's unban forgives, as fail2ban's delBan: the
			// address's next ban in this jail is a first one again.
			changes = append(changes, store.Change{Op: store.OpForgive, Ban: sb})
		case jail.EventForget:
			changes = append(changes, store.Change{Op: store.OpForget, Ban: store.Ban{Jail: ev.Jail}})
		}
	}
	return b.db.PutAll(changes)
}

// Wait is jail.Journal's: it returns once the group is on disk (fsync),
// or why it is not.
func (b *banStore) Wait(seq uint64) error {
	if err := b.db.WaitFor(context.Background(), seq); err != nil {
		return fmt.Errorf("ban store: %w", err)
	}
	return nil
}

// health is the store's line in `status` while commits fail, or "".
func (b *banStore) health() string {
	h := b.db.Health()
	if !h.Failing {
		return ""
	}
	return fmt.Sprintf("failing since %s (%d commits): %v; changes are refused until writes succeed",
		h.Since.Format(time.RFC3339), h.Failed, h.Err)
}

// history is jail.Options.History: how many times prefix was banned before.
func (b *banStore) history(jailName string, p netip.Prefix, overall bool) int {
	if overall {
		jailName = ""
	}
	h, err := b.db.History(jailName, p)
	if err != nil {
		b.log.Error("ban history", zap.String("jail", jailName), zap.Stringer("prefix", p), zap.Error(err))
		return 0
	}
	return h.Count
}

// restore brings the jail's live stored bans back.
func (b *banStore) restore(jails *jail.Manager, name string) error {
	if b == nil {
		return nil
	}
	start := time.Now()
	// A restore allocates in one burst what the daemon then keeps; letting
	// the heap grow further between collections meanwhile saves much of
	// the GC's work (measured: 1M bans restored in 3.5 s at the default
	// GOGC, 2.5 s at 400).
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	// A chunk at a time: the lists of a million bans, the store's and the
	// jail's, took 400 MiB of heap beside the 90 MiB the jail keeps.
	var (
		bans   []jail.Ban
		stored int
		n      int
	)
	err := b.db.LiveChunks(name, start, func(chunk []store.Ban) error {
		stored += len(chunk)
		bans = bans[:0]
		for _, s := range chunk {
			bans = append(bans, jail.Ban{Addr: s.Prefix.Addr(), Prefix: s.Prefix, Start: s.Start, BanTime: s.BanTime, Count: s.Count, Matches: s.Matches})
		}
		k, err := jails.Restore(name, bans)
		n += k
		return err
	})
	if err != nil {
		return fmt.Errorf("daemon: restore jail %q: %w", name, err)
	}
	// The scan dropped the store's map pages as it went (the last stretch
	// of them is still resident).
	if err := b.db.ReleaseMemory(); err != nil {
		b.log.Warn("restore: releasing the store's memory map", zap.Error(err))
	}
	b.restores.note(name, time.Since(start), n)
	b.log.Info("restored bans", zap.String("jail", name), zap.Int("stored", stored), zap.Int("restored", n),
		zap.Duration("took", time.Since(start)))
	if stored >= bigRestore {
		// The lists read from the store are garbage now, in a heap grown
		// under GOGC 400 for the burst: hand it back before the socket
		// serves, or RSS at the first answer is twice what the same bans
		// take when built. The jails keep their bans outside the heap,
		// so this collection is short.
		bans = nil
		debug.FreeOSMemory()
	}
	return nil
}

// bigRestore is the restore size from which the heap it used is handed
// back to the system at once.
const bigRestore = 50000

// purge drops ended bans and history older than dbpurgeage, hourly, until
// ctx ends.
func (b *banStore) purge(ctx context.Context) error {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		n, err := b.db.Purge(time.Now().Add(-b.set.PurgeAge()))
		if err != nil {
			b.log.Error("purge ban store", zap.Error(err))
		} else if n > 0 {
			b.log.Info("purged ban store", zap.Int("records", n))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// storePath returns the ban store's path. The default, /var/lib/banserver,
// is root's: a daemon started as another user with the store left at the
// default (make run) keeps it where that user may write, in its XDG state
// directory, and says so.
func storePath(o Options, cfg *config.Config, log *zap.Logger) string {
	if o.DB != "" || cfg.DB != config.DefaultDB || os.Geteuid() == 0 {
		return cfg.DB
	}
	state := os.Getenv("XDG_STATE_HOME")
	if state == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return cfg.DB
		}
		state = filepath.Join(home, ".local", "state")
	}
	p := filepath.Join(state, "banserver", "bans.db")
	log.Info("not root: the ban store goes to your state directory, not "+config.DefaultDB+" (choose another with --db PATH, or --db none)",
		zap.String("path", p))
	return p
}
