package daemon

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/logjail"
	"github.com/banserver/banserver/source"
	"github.com/banserver/banserver/store"
)

// logSettings turns a configured jail's log keys into logjail's settings.
func logSettings(jc config.Jail, filterDirs []string) logjail.Settings {
	s := logjail.Settings{
		Backend:      jc.Backend,
		Filter:       jc.Filter,
		FilterDirs:   filterDirs,
		FailRegex:    jc.FailRegex,
		IgnoreRegex:  jc.IgnoreRegex,
		PrefRegex:    jc.PrefRegex,
		DatePattern:  jc.DatePattern,
		MaxLines:     jc.MaxLines,
		JournalMatch: jc.JournalMatch,
		LogEncoding:  jc.LogEncoding,
		UseDNS:       jc.UseDNS,
		LogTimeZone:  jc.LogTimeZone,
	}
	for _, lp := range jc.LogPath {
		f := strings.Fields(lp) // checked by config: PATH [head|tail]
		if len(f) == 0 {
			continue
		}
		s.LogPaths = append(s.LogPaths, logjail.LogPath{Path: f[0], Tail: len(f) == 2 && f[1] == "tail"})
	}
	return s
}

// checkLogJail is config.Checks.LogJail: the filter read and every regex
// compiled, as the reader would.
func checkLogJail(jc config.Jail, filterDirs []string) error {
	_, err := logSettings(jc, filterDirs).Check()
	return err
}

// newLogJails returns the log readers' manager: failures go to the jails
// at the lines' own time, positions to the ban store (or memory).
func newLogJails(jails *jail.Manager, bans *banStore, journalDir string, log *zap.Logger) *logjail.Manager {
	var mem sync.Map // jail -> *source.MemoryPositions, without a store
	return logjail.New(logjail.Options{
		Attempt: jails.AttemptAt,
		Positions: func(name string) source.Positions {
			if bans == nil {
				p, _ := mem.LoadOrStore(name, &source.MemoryPositions{})
				return p.(*source.MemoryPositions)
			}
			return newStorePositions(bans.db, name, log)
		},
		FindTime: func(name string) time.Duration {
			if c, err := jails.Config(name); err == nil {
				return c.FindTime
			}
			return 0
		},
		JournalDirectory: journalDir,
		Log:              log,
	})
}

// storePositions keeps one jail's source positions in the ban store.
// Saves are queued with the store's group commit, not waited for: after
// a crash a source re-reads at most the lines past the last position
// committed (a second at most), which the jail counts again.
type storePositions struct {
	db     *store.DB
	prefix string
	log    *zap.Logger

	mu  sync.Mutex // guards pos
	pos map[string]source.Position
}

func newStorePositions(db *store.DB, jailName string, log *zap.Logger) *storePositions {
	p := &storePositions{db: db, prefix: jailName + "\x00", log: log, pos: map[string]source.Position{}}
	stored, err := db.Positions(p.prefix)
	if err != nil {
		log.Warn("log positions unreadable: the jail's logs are read as new", zap.String("jail", jailName), zap.Error(err))
		return p
	}
	for k, v := range stored {
		var pos source.Position
		if err := json.Unmarshal(v, &pos); err != nil {
			log.Warn("log position unreadable", zap.String("source", k), zap.Error(err))
			continue
		}
		p.pos[strings.TrimPrefix(k, p.prefix)] = pos
	}
	return p
}

// Load is source.Positions'.
func (p *storePositions) Load(name string) (source.Position, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pos, ok := p.pos[name]
	return pos, ok
}

// Save is source.Positions': remembered, and queued for the store.
func (p *storePositions) Save(name string, pos source.Position) {
	p.mu.Lock()
	p.pos[name] = pos
	p.mu.Unlock()
	b, err := json.Marshal(pos)
	if err != nil {
		return
	}
	if p.db.Put(store.Change{Op: store.OpPosition, State: p.prefix + name, Data: b}) == 0 {
		p.log.Debug("log position not stored", zap.String("source", name))
	}
}
