package logjail

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/banserver/banserver/filter"
	"github.com/banserver/banserver/source"
)

// Stats count what a jail's reader did.
type Stats struct {
	Lines    uint64 // lines read
	Failures uint64 // failures found and reported
	Errors   uint64 // lines the filter failed on (a regex over its budget, say)
	Skipped  uint64 // failures whose host is no address (an unresolved name)
}

// reader follows one jail's sources and reports its failures. The filter
// is used from the sources' goroutines one line at a time (mu).
type reader struct {
	jail    string
	m       *Manager
	files   []*source.Files
	journal *source.Journal

	mu     sync.Mutex // guards f, which keeps state between lines, and last
	f      *filter.Filter
	cancel context.CancelFunc
	wg     sync.WaitGroup

	// counts are the jail's lines per file (set before start; nil for a
	// reader made alone); last are the counts of lastFile, the latest
	// line's, which spares most lines counts' lock. Guarded by mu.
	counts   *lineCounts
	last     *fileCounts
	lastFile string

	lines, failures, errs, skipped atomic.Uint64
	warned                         atomic.Bool // the unresolved-host note, once
}

// newReader builds the filter and the sources of a jail's settings.
func (m *Manager) newReader(jail string, s Settings) (*reader, error) {
	f, err := s.Check()
	if err != nil {
		return nil, err
	}
	r := &reader{jail: jail, m: m, f: f}
	var pos source.Positions
	if m.o.Positions != nil {
		pos = m.o.Positions(jail)
	}
	log := m.o.Log.With(zap.String("jail", jail))
	if s.journal() {
		matches, _ := source.ParseJournalMatch(s.journalMatch(f)) // checked by Check
		jo := source.JournalOptions{
			Matches: matches, Positions: pos, Journalctl: m.o.Journalctl, Directory: m.o.JournalDirectory,
			Encoding: s.LogEncoding, Log: log,
		}
		if m.o.FindTime != nil {
			if ft := m.o.FindTime(jail); ft > 0 {
				jo.Since = time.Now().Add(-ft)
			}
		}
		j, err := source.NewJournal(jo)
		if err != nil {
			return nil, err
		}
		r.journal = j
		return r, nil
	}
	// One follower per head/tail group: the source takes one mode.
	for _, tail := range []bool{false, true} {
		var pats []string
		for _, p := range s.LogPaths {
			if p.Tail == tail {
				pats = append(pats, p.Path)
			}
		}
		if len(pats) == 0 {
			continue
		}
		fs, err := source.NewFiles(source.FileOptions{
			Patterns: pats, Backend: s.backend(), Positions: pos, Tail: tail, Encoding: s.LogEncoding, Log: log,
		})
		if err != nil {
			return nil, err
		}
		r.files = append(r.files, fs)
	}
	return r, nil
}

// start runs the sources until ctx ends or stop.
func (r *reader) start(ctx context.Context) {
	ctx, r.cancel = context.WithCancel(ctx)
	run := func(f func(context.Context, func(source.Line) error) error) {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := f(ctx, r.line); err != nil && ctx.Err() == nil {
				r.m.o.Log.Error("log source stopped", zap.String("jail", r.jail), zap.Error(err))
			}
		}()
	}
	for _, fs := range r.files {
		run(fs.Run)
	}
	if r.journal != nil {
		run(r.journal.Run)
	}
}

// stop ends the sources (they save their positions) and waits for them.
func (r *reader) stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.wg.Wait()
}

// paths are the files read now.
func (r *reader) paths() []string {
	var out []string
	for _, fs := range r.files {
		out = append(out, fs.Paths()...)
	}
	return out
}

func (r *reader) stats() Stats {
	return Stats{Lines: r.lines.Load(), Failures: r.failures.Load(), Errors: r.errs.Load(), Skipped: r.skipped.Load()}
}

// line runs one line through the filter and reports its failures. It
// never stops the source: a line the filter fails on is counted and
// logged at debug.
func (r *reader) line(l source.Line) error {
	r.lines.Add(1)
	r.mu.Lock()
	fc := r.fileCounts(l.File)
	fails, err := r.f.Process(l.Text, l.Time)
	r.mu.Unlock()
	if err != nil {
		r.errs.Add(1)
		fc.errors.Add(1)
		fc.read.Add(1)
		r.m.o.Log.Debug("line not filtered", zap.String("jail", r.jail), zap.String("file", l.File), zap.Error(err))
		return nil
	}
	found, counted := false, false
	for _, f := range fails {
		if f.NoFail || f.Pending {
			continue
		}
		found = true
		p := f.Addr
		if !p.IsValid() {
			r.skipped.Add(1)
			if !r.warned.Swap(true) {
				r.m.o.Log.Warn("a failure's host is no address, and is skipped (set usedns: no to match addresses only)",
					zap.String("jail", r.jail), zap.String("host", f.Host))
			}
			continue
		}
		addr := p.Addr()
		if !p.IsSingleIP() {
			// A subnet failure (<SUBNET>): counted for its first address;
			// the jail's ipv6prefix bans IPv6 attackers by prefix.
			addr = p.Masked().Addr()
		}
		msg := strings.Join(f.Matches, "\n")
		n, err := r.m.o.Attempt(r.jail, addr, f.Time, []string{msg})
		if err != nil {
			r.m.o.Log.Warn("failure not counted", zap.String("jail", r.jail), zap.Stringer("addr", addr), zap.Error(err))
			continue
		}
		if n > 0 {
			counted = true
		}
		r.failures.Add(1)
	}
	switch {
	case counted:
		fc.matched.Add(1)
	case found:
		fc.ignored.Add(1)
	}
	// Read last: whoever sees a line read sees what it counted.
	fc.read.Add(1)
	return nil
}
