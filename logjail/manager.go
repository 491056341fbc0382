package logjail

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/banserver/banserver/source"
)

// Attempt reports failures of addr in a jail at a time: the jail
// manager's AttemptAt.
type Attempt func(jail string, addr netip.Addr, at time.Time, msgs []string) (int, error)

// Options configure a Manager.
type Options struct {
	// Attempt is where failures go.
	Attempt Attempt
	// Positions returns the store of a jail's source positions (nil:
	// none: every start reads from the start, or the end with tail).
	Positions func(jail string) source.Positions
	// FindTime returns a jail's findtime: the journal is read from now -
	// findtime at a first start, as fail2ban does.
	FindTime func(jail string) time.Duration
	// Journalctl is the journalctl program (tests point it elsewhere); ""
	// finds it in PATH. JournalDirectory, when set, reads journal files
	// there instead of the system journal (tests).
	Journalctl       string
	JournalDirectory string
	Log              *zap.Logger
}

// Manager runs the readers of every jail that reads logs.
type Manager struct {
	o Options

	mu      sync.Mutex // guards the fields below
	jails   map[string]*jailState
	ctx     context.Context // Run's; nil until Run
	stopped bool
}

// jailState is one jail's settings and, while it reads, its reader.
type jailState struct {
	settings Settings
	started  bool
	r        *reader // nil when not reading
	// lines count lines per file over the jail's readers, for metrics
	// (stats.go); they outlive a reader's restart.
	lines *lineCounts
}

// New returns a Manager with no jails.
func New(o Options) *Manager {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	return &Manager{o: o, jails: map[string]*jailState{}}
}

// Run lets readers run until ctx ends, then stops them all (each saves its
// positions) and returns nil.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	m.ctx = ctx
	for name, js := range m.jails {
		m.restartLocked(name, js)
	}
	m.mu.Unlock()
	<-ctx.Done()
	m.mu.Lock()
	m.stopped = true
	var rs []*reader
	for _, js := range m.jails {
		if js.r != nil {
			rs = append(rs, js.r)
			js.r = nil
		}
	}
	m.mu.Unlock()
	for _, r := range rs {
		r.stop()
	}
	return nil
}

// Configure gives a jail new log settings, checked first (a bad filter or
// regex is refused and the jail keeps its settings); a started jail's
// reader restarts with them when they changed.
func (m *Manager) Configure(jail string, s Settings) error {
	if _, err := s.Check(); err != nil {
		return fmt.Errorf("logjail: jail %q: %w", jail, err)
	}
	s = s.clone()
	m.mu.Lock()
	defer m.mu.Unlock()
	js := m.jails[jail]
	if js == nil {
		js = &jailState{}
		m.jails[jail] = js
	}
	if js.settings.equal(s) && js.r != nil {
		return nil
	}
	js.settings = s
	m.restartLocked(jail, js)
	return nil
}

// Start marks the jail started: it reads from now on, when it has
// something to read.
func (m *Manager) Start(jail string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	js := m.jails[jail]
	if js == nil {
		js = &jailState{}
		m.jails[jail] = js
	}
	js.started = true
	m.restartLocked(jail, js)
}

// Remove stops the jail's reader (its positions saved) and forgets the
// jail (stop JAIL).
func (m *Manager) Remove(jail string) {
	m.mu.Lock()
	js := m.jails[jail]
	delete(m.jails, jail)
	m.mu.Unlock()
	if js != nil && js.r != nil {
		js.r.stop()
	}
}

// Settings returns the jail's log settings.
func (m *Manager) Settings(jail string) (Settings, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	js := m.jails[jail]
	if js == nil {
		return Settings{}, false
	}
	return js.settings.clone(), true
}

// Files returns the files the jail reads now (status JAIL's File list).
func (m *Manager) Files(jail string) []string {
	m.mu.Lock()
	js := m.jails[jail]
	var r *reader
	if js != nil {
		r = js.r
	}
	m.mu.Unlock()
	if r == nil {
		return nil
	}
	return r.paths()
}

// Stats returns the jail's reader's counters.
func (m *Manager) Stats(jail string) Stats {
	m.mu.Lock()
	js := m.jails[jail]
	var r *reader
	if js != nil {
		r = js.r
	}
	m.mu.Unlock()
	if r == nil {
		return Stats{}
	}
	return r.stats()
}

// Jails lists the jails with log settings, sorted.
func (m *Manager) Jails() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.jails))
	for n := range m.jails {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// restartLocked stops the jail's reader and starts one with its settings,
// when it is started, has something to read, and Run runs. m.mu is held;
// stopping waits for the old reader, which never takes m.mu.
func (m *Manager) restartLocked(name string, js *jailState) {
	if js.r != nil {
		js.r.stop()
		js.r = nil
	}
	if m.ctx == nil || m.stopped || !js.started || !js.settings.Reads() {
		return
	}
	r, err := m.newReader(name, js.settings)
	if err != nil {
		m.o.Log.Error("cannot read the jail's logs", zap.String("jail", name), zap.Error(err))
		return
	}
	if js.lines == nil {
		js.lines = &lineCounts{}
	}
	r.counts = js.lines
	js.r = r
	r.start(m.ctx)
}
