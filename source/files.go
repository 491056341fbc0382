package source

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// Backends for files, as a jail's backend option names them.
const (
	BackendAuto    = "auto"    // inotify when the kernel gives an instance, else polling
	BackendPolling = "polling" // stat every Interval, as fail2ban's FilterPoll
	BackendInotify = "inotify" // directory events (fsnotify); polling where a watch fails
)

// Defaults of FileOptions.
const (
	// DefaultInterval is the polling period. fail2ban's FilterPoll checks
	// at growing steps of 0.2 s within its 2 s sleeptime.
	DefaultInterval = time.Second
	// DefaultRescan is how often globs are evaluated again (also on
	// directory events with inotify).
	DefaultRescan = 10 * time.Second
	// DefaultRotateWait is how long a file rotated away (or deleted) is
	// still read after it last grew: its writer may not have reopened yet.
	DefaultRotateWait = 5 * time.Second
)

const (
	readChunk  = 64 << 10 // one read, and the lines between two Saves
	readBudget = 16       // reads per file before the other files get a turn
	maxMaxLine = 16 << 20
)

// FileOptions configures a Files follower: one jail's logpath.
type FileOptions struct {
	// Patterns are the jail's log paths: files or globs
	// (/var/log/nginx/*.log). A glob is evaluated again every Rescan and
	// on directory events, so files that appear later are followed (from
	// their first byte). A plain path that does not exist yet is waited
	// for.
	Patterns []string
	// Backend is auto (default), polling or inotify.
	Backend string
	// Positions keeps the file positions (nil: none, every start is a
	// first start).
	Positions Positions
	// Tail starts a file present at start, with no position stored for
	// it, at its end (at the end of its last complete line) rather than
	// at its first byte: fail2ban's addlogpath "tail". The default is
	// fail2ban's "head".
	Tail bool
	// MaxLine is the longest line delivered whole (default
	// DefaultMaxLine); a longer one is cut there and the rest skipped up to
	// its newline.
	MaxLine int
	// Encoding is the jail's logencoding (default auto = utf-8).
	Encoding string
	// Interval is the polling period (default DefaultInterval); with
	// inotify it is how often rotated files and directories that could
	// not be watched are checked.
	Interval time.Duration
	// Rescan is how often globs are evaluated again (default DefaultRescan).
	Rescan time.Duration
	// RotateWait is how long a rotated file is still drained after it
	// last grew (default DefaultRotateWait).
	RotateWait time.Duration
	// Log receives rotation, truncation and error notes (nil: none).
	Log *zap.Logger
}

// Files follows the files of one jail and delivers their lines.
type Files struct {
	o        FileOptions
	enc      Encoding
	patterns []pattern
	log      *zap.Logger
	running  atomic.Bool
	scans    atomic.Uint64 // Runs past their first scan (tests wait on it)
	// rescanReq asks Run for a rescan now (tests).
	rescanReq chan struct{}
	stats     counters

	mu      sync.Mutex // guards the fields below
	paths   []string   // files open now, sorted
	backend string     // backend in use by Run
}

// pattern is one of FileOptions.Patterns.
type pattern struct {
	p    string
	glob bool
}

// Stats counts what a follower did since it was made.
type Stats struct {
	Lines       uint64 // lines delivered
	Bytes       uint64 // bytes of the lines delivered (and skipped), with their newlines
	Cut         uint64 // lines longer than MaxLine, delivered cut
	Replaced    uint64 // lines with bytes invalid in the encoding (replaced by U+FFFD)
	Rotations   uint64 // files replaced at their path (rename and create, delete and create)
	Truncations uint64 // files that shrank or were rewritten in place (copytruncate)
	Restarts    uint64 // journal: journalctl restarted after it exited
	Skipped     uint64 // journal: entries longer than the read cap, skipped
}

type counters struct {
	lines, bytes, cut, replaced, rotations, truncations, restarts, skipped atomic.Uint64
}

func (c *counters) snapshot() Stats {
	return Stats{
		Lines: c.lines.Load(), Bytes: c.bytes.Load(), Cut: c.cut.Load(), Replaced: c.replaced.Load(),
		Rotations: c.rotations.Load(), Truncations: c.truncations.Load(),
		Restarts: c.restarts.Load(), Skipped: c.skipped.Load(),
	}
}

// NewFiles checks o and returns a follower; Run starts it.
func NewFiles(o FileOptions) (*Files, error) {
	if len(o.Patterns) == 0 {
		return nil, ErrNoPatterns
	}
	f := &Files{o: o, log: o.Log, rescanReq: make(chan struct{})}
	for _, p := range o.Patterns {
		if p == "" {
			return nil, errorf("%w: empty path", ErrNoPatterns)
		}
		if _, err := filepath.Match(p, ""); err != nil {
			return nil, errorf("log path %q: %w", p, err)
		}
		p = filepath.Clean(p)
		f.patterns = append(f.patterns, pattern{p: p, glob: hasMeta(p)})
	}
	switch o.Backend {
	case "", BackendAuto:
		f.o.Backend = BackendAuto
	case BackendPolling:
	case BackendInotify, "pyinotify":
		f.o.Backend = BackendInotify
	default:
		return nil, errorf("%w: %q (auto, polling, inotify)", ErrBackend, o.Backend)
	}
	enc, err := ParseEncoding(o.Encoding)
	if err != nil {
		return nil, err
	}
	f.enc = enc
	switch {
	case o.MaxLine == 0:
		f.o.MaxLine = DefaultMaxLine
	case o.MaxLine < 0 || o.MaxLine > maxMaxLine:
		return nil, errorf("max line %d out of range (1 to %d)", o.MaxLine, maxMaxLine)
	}
	if f.o.Positions == nil {
		f.o.Positions = noPositions{}
	}
	if f.o.Interval <= 0 {
		f.o.Interval = DefaultInterval
	}
	if f.o.Rescan <= 0 {
		f.o.Rescan = DefaultRescan
	}
	if f.o.RotateWait <= 0 {
		f.o.RotateWait = DefaultRotateWait
	}
	if f.log == nil {
		f.log = zap.NewNop()
	}
	return f, nil
}

// hasMeta reports whether path has glob metacharacters.
func hasMeta(path string) bool {
	for _, c := range path {
		switch c {
		case '*', '?', '[', '\\':
			return true
		}
	}
	return false
}

// Paths returns the files followed now, sorted: fail2ban's "File list".
func (f *Files) Paths() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.paths)
}

// Backend returns the backend Run uses (polling when inotify failed), or
// the configured one before Run.
func (f *Files) Backend() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.backend == "" {
		return f.o.Backend
	}
	return f.backend
}

// Stats returns the counters.
func (f *Files) Stats() Stats { return f.stats.snapshot() }

// Run follows the files until ctx ends, then returns nil. deliver is
// called from Run's goroutine, one line at a time in file order; the
// position past a line is saved only after deliver returned nil for it
// (once per read of at most 64 KiB, and before Run waits for more). An
// error from deliver stops Run, which returns it; the line is not counted
// as delivered and is read again by the next Run.
func (f *Files) Run(ctx context.Context, deliver func(Line) error) error {
	if !f.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer f.running.Store(false)
	r := &fileRun{
		f:       f,
		ctx:     ctx,
		deliver: deliver,
		tracked: make(map[string]*tracked),
		more:    make(map[string]bool),
		closed:  make(map[fileID]closedAt),
		buf:     make([]byte, readChunk),
	}
	defer r.close()
	err := r.run()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// deliverError carries an error returned by the callback (it stops Run;
// an I/O error on one file does not).
type deliverError struct{ err error }

func (e *deliverError) Error() string { return e.err.Error() }
func (e *deliverError) Unwrap() error { return e.err }

// fileRun is the state of one Run, touched only by Run's goroutine.
type fileRun struct {
	f       *Files
	ctx     context.Context
	deliver func(Line) error
	tracked map[string]*tracked // by path
	more    map[string]bool     // paths left with more to read (budget)
	buf     []byte
	w       *watcher // nil: polling
	// closed remembers where rotated files were closed, by identity: a
	// glob that matches the rotated name (x.log*) may find the file only
	// after it went quiet, and must go on from there, not from its start.
	closed map[fileID]closedAt
}

// closedAt is where a rotated file was closed.
type closedAt struct {
	pos  int64
	hash string
	at   time.Time
}

// Bounds of fileRun.closed.
const (
	closedKeep = time.Hour
	closedMax  = 1024
)

// tracked is one followed path: the file there now, and files rotated
// away from it still being drained, oldest first.
type tracked struct {
	path    string
	literal bool // named by a pattern without glob characters: waited for while absent
	atStart bool // found by the first scan: Tail applies
	cur     *reader
	old     []*reader
	dup     bool   // the file here is followed under another path (logged once)
	lastErr string // the last stat or open error logged (each is logged once)
}

// warn logs a stat or open error of t's path once, not at every poll.
func (r *fileRun) warn(t *tracked, what string, err error) {
	if msg := what + ": " + err.Error(); msg != t.lastErr {
		t.lastErr = msg
		r.f.log.Warn("source: "+what, zap.String("path", t.path), zap.Error(err))
	}
}

func (r *fileRun) run() error {
	f := r.f
	backend := BackendPolling
	if f.o.Backend != BackendPolling {
		w, err := startWatcher()
		if err != nil {
			f.log.Warn("source: inotify unavailable, polling", zap.Error(err), zap.Duration("interval", f.o.Interval))
		} else {
			r.w = w
			backend = BackendInotify
		}
	}
	f.mu.Lock()
	f.backend = backend
	f.mu.Unlock()

	if err := r.rescan(true); err != nil {
		return err
	}
	f.scans.Add(1)
	tick := time.NewTicker(f.o.Interval)
	defer tick.Stop()
	nextRescan := time.Now().Add(f.o.Rescan)
	var events <-chan fsnotify.Event
	var werrs <-chan error
	if r.w != nil {
		events, werrs = r.w.w.Events, r.w.w.Errors
	}
	for {
		if err := r.ctx.Err(); err != nil {
			return nil
		}
		// Files whose read budget ran out go again before waiting.
		if len(r.more) > 0 {
			for _, p := range sortedKeys(r.more) {
				delete(r.more, p)
				if t := r.tracked[p]; t != nil {
					if err := r.check(t); err != nil {
						return err
					}
				}
			}
			continue
		}
		select {
		case <-r.ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok { // the watcher died: poll from now on
				f.log.Warn("source: inotify watcher stopped, polling", zap.Duration("interval", f.o.Interval))
				r.w.close()
				r.w, events, werrs = nil, nil, nil
				f.mu.Lock()
				f.backend = BackendPolling
				f.mu.Unlock()
				continue
			}
			dirty := make(map[string]bool)
			r.note(ev, dirty)
			for more := true; more; {
				select {
				case ev, ok := <-events:
					if !ok {
						more = false
						break
					}
					r.note(ev, dirty)
				default:
					more = false
				}
			}
			for _, p := range sortedKeys(dirty) {
				if t := r.tracked[p]; t != nil {
					if err := r.check(t); err != nil {
						return err
					}
				}
			}
		case err, ok := <-werrs:
			if !ok {
				werrs = nil
				continue
			}
			// The kernel queue overflowed (or the watcher failed): look
			// at everything.
			f.log.Warn("source: inotify error, checking all files", zap.Error(err))
			if err := r.checkAll(false); err != nil {
				return err
			}
		case <-f.rescanReq:
			if err := r.rescan(false); err != nil {
				return err
			}
		case now := <-tick.C:
			if !now.Before(nextRescan) {
				nextRescan = now.Add(f.o.Rescan)
				if err := r.rescan(false); err != nil {
					return err
				}
			} else if err := r.checkAll(r.w != nil); err != nil {
				return err
			}
		}
	}
}

// checkAll checks every tracked path; with onlyUnwatched, only those
// events do not cover: in directories without a watch, or with a rotated
// file still open (to drain it and close it when quiet).
func (r *fileRun) checkAll(onlyUnwatched bool) error {
	for _, p := range sortedKeys(r.tracked) {
		t := r.tracked[p]
		if onlyUnwatched && len(t.old) == 0 && r.w.watched(filepath.Dir(p)) {
			continue
		}
		if err := r.check(t); err != nil {
			return err
		}
	}
	return nil
}

// rescan evaluates the patterns, tracks new matches, forgets glob matches
// that are gone, refreshes the directory watches and checks every path.
func (r *fileRun) rescan(first bool) error {
	for _, pt := range r.f.patterns {
		if !pt.glob {
			r.track(pt.p, true, first)
			continue
		}
		matches, _ := filepath.Glob(pt.p) // the pattern was checked by NewFiles
		for _, m := range matches {
			r.track(m, false, first)
		}
	}
	// Watch before reading: a write between the read and the watch
	// would otherwise wait for the next one.
	r.syncWatches()
	if err := r.checkAll(false); err != nil {
		return err
	}
	for p, t := range r.tracked {
		t.atStart = false // Tail is for files present at start only
		if !t.literal && t.cur == nil && len(t.old) == 0 {
			if _, err := os.Stat(p); err != nil || t.dup {
				delete(r.tracked, p)
			}
		}
	}
	r.syncWatches()
	return nil
}

// track starts following path if it is not already.
func (r *fileRun) track(path string, literal, first bool) *tracked {
	if t := r.tracked[path]; t != nil {
		t.literal = t.literal || literal
		return t
	}
	t := &tracked{path: path, literal: literal, atStart: first}
	r.tracked[path] = t
	return t
}

// matchesPattern reports whether path is one a pattern names.
func (r *fileRun) matchesPattern(path string) bool {
	for _, pt := range r.f.patterns {
		if pt.p == path {
			return true
		}
		if pt.glob {
			if ok, _ := filepath.Match(pt.p, path); ok {
				return true
			}
		}
	}
	return false
}

// note turns a directory event into paths to check.
func (r *fileRun) note(ev fsnotify.Event, dirty map[string]bool) {
	name := filepath.Clean(ev.Name)
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		r.w.forget(name) // when it is a watched directory
	}
	if _, ok := r.tracked[name]; ok {
		dirty[name] = true
		return
	}
	if r.matchesPattern(name) {
		r.track(name, false, false)
		dirty[name] = true
		r.syncWatches()
		return
	}
	// Another name in a watched directory, such as a rotated file still
	// written to: drain the rotated files of that directory.
	dir := filepath.Dir(name)
	for p, t := range r.tracked {
		if len(t.old) > 0 && filepath.Dir(p) == dir {
			dirty[p] = true
		}
	}
}

// syncWatches watches the directories of the patterns and of the
// followed files.
func (r *fileRun) syncWatches() {
	if r.w == nil {
		return
	}
	want := make(map[string]bool)
	for _, pt := range r.f.patterns {
		if d := filepath.Dir(pt.p); !hasMeta(d) {
			want[d] = true
		}
	}
	for p := range r.tracked {
		want[filepath.Dir(p)] = true
	}
	r.w.sync(want, r.f.log)
}

// check brings one path up to date: drain its rotated files (closing the
// quiet ones), notice a new file, a truncation or a rewrite, and read what
// was appended. Only an error from deliver (or the context) is returned;
// file errors are logged and the path is tried again later.
func (r *fileRun) check(t *tracked) error {
	if err := r.drainOld(t); err != nil {
		return err
	}
	fi, err := os.Stat(t.path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.warn(t, "stat", err)
			return nil
		}
		if t.cur != nil {
			// Renamed with no new file yet, or deleted: read what is left
			// and keep it open while its writer may still write to it.
			r.f.log.Info("source: log file gone, draining it", zap.String("path", t.path))
			if err := r.retire(t); err != nil {
				return err
			}
			r.f.stats.rotations.Add(1)
		}
		return nil
	}
	id := idOf(fi)
	if t.cur != nil && t.cur.id != id {
		// Rename and create: finish the old file before the new one.
		r.f.log.Info("source: log rotation detected", zap.String("path", t.path))
		if err := r.retire(t); err != nil {
			return err
		}
		r.f.stats.rotations.Add(1)
	}
	if t.cur == nil {
		if !fi.Mode().IsRegular() {
			return nil
		}
		rd, err := r.adopt(t, id)
		if err != nil || rd == nil {
			return err
		}
		t.cur = rd
		r.publishPaths()
	}
	return r.readCur(t)
}

// readCur reads t's current file, after checking it was not truncated or
// rewritten in place.
func (r *fileRun) readCur(t *tracked) error {
	c := t.cur
	fi, err := c.f.Stat()
	if err != nil {
		r.f.log.Warn("source: stat", zap.String("path", c.path), zap.Error(err))
		return nil
	}
	size := fi.Size()
	if size == c.off {
		return nil
	}
	truncated := size < c.off
	if !truncated && c.hash != "" {
		same, err := sameFirstLine(c.f, c.hash, c.hashLen)
		if err != nil {
			r.f.log.Warn("source: read", zap.String("path", c.path), zap.Error(err))
			return nil
		}
		truncated = !same
	}
	if truncated {
		// copytruncate, or truncated and written again: what was not read
		// is gone; the partial line read so far is delivered, then the
		// file is read again from its start.
		r.f.log.Info("source: log truncated", zap.String("path", c.path),
			zap.Int64("offset", c.off), zap.Int64("size", size))
		if err := r.flush(c); err != nil {
			return err
		}
		c.rewind()
		r.f.stats.truncations.Add(1)
	}
	if c.hash == "" {
		r.hash(c)
	}
	after := func() error {
		r.save(c)
		return r.ctx.Err()
	}
	_, more, err := c.read(r.buf, readBudget, r.emitter(c), after)
	if more {
		r.more[t.path] = true
	}
	return r.ioError(c, err)
}

// save hands c's position to Positions if it moved since the last save.
func (r *fileRun) save(c *reader) {
	if c.pos == c.saved && c.hash == c.savedHash {
		return
	}
	if c.hash == "" && c.pos > 0 {
		r.hash(c)
	}
	r.f.o.Positions.Save(c.path, c.position())
	c.saved, c.savedHash = c.pos, c.hash
}

// hash computes c's first-line hash if the line is complete now.
func (r *fileRun) hash(c *reader) {
	h, n, err := firstLine(c.f, r.f.o.MaxLine)
	if err != nil {
		r.f.log.Warn("source: read", zap.String("path", c.path), zap.Error(err))
		return
	}
	c.hash, c.hashLen = h, n
}

// ioError returns err if it must stop Run (deliver, context) and logs it
// otherwise.
func (r *fileRun) ioError(c *reader, err error) error {
	var de *deliverError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &de):
		return errorf("deliver line of %s: %w", c.path, de.err)
	case r.ctx.Err() != nil:
		return r.ctx.Err()
	}
	r.f.log.Warn("source: read", zap.String("path", c.path), zap.Error(err))
	return nil
}

// retire reads t's current file to its end and moves it to the rotated
// files, kept open until quiet for RotateWait.
func (r *fileRun) retire(t *tracked) error {
	c := t.cur
	_, _, err := c.read(r.buf, 0, r.emitter(c), nil)
	if err := r.ioError(c, err); err != nil {
		return err
	}
	c.grew = time.Now()
	t.old = append(t.old, c)
	t.cur = nil
	r.publishPaths()
	return nil
}

// drainOld reads t's rotated files to their end and closes those quiet
// for RotateWait, delivering a last line left without its newline.
func (r *fileRun) drainOld(t *tracked) error {
	if len(t.old) == 0 {
		return nil
	}
	now := time.Now()
	keep := t.old[:0]
	for _, o := range t.old {
		got, _, err := o.read(r.buf, 0, r.emitter(o), nil)
		if err := r.ioError(o, err); err != nil {
			return err
		}
		if got {
			o.grew = now
		}
		if now.Sub(o.grew) < r.f.o.RotateWait {
			keep = append(keep, o)
			continue
		}
		if err := r.flush(o); err != nil {
			return err
		}
		r.remember(o, now)
		o.close()
	}
	clear(t.old[len(keep):])
	t.old = keep
	return nil
}

// remember records where the rotated file o is closed.
func (r *fileRun) remember(o *reader, now time.Time) {
	for id, c := range r.closed {
		if now.Sub(c.at) > closedKeep || len(r.closed) >= closedMax {
			delete(r.closed, id)
		}
	}
	r.closed[o.id] = closedAt{pos: o.pos, hash: o.hash, at: now}
}

// flush delivers c's partial last line, if any.
func (r *fileRun) flush(c *reader) error {
	pc, ok := c.sp.flush()
	if !ok {
		return nil
	}
	return r.ioError(c, r.emitter(c)(pc))
}

// adopt opens the file now at t.path, or takes it over when it is one
// already open: a file rotated away from another path (x.log renamed to
// x.log.1 that a glob also matches), or t's own rotated file moved back.
// It returns nil when the file is followed under another path already.
func (r *fileRun) adopt(t *tracked, id fileID) (*reader, error) {
	for _, p := range sortedKeys(r.tracked) {
		o := r.tracked[p]
		if o != t && o.cur != nil && o.cur.id == id {
			if fi, err := os.Stat(o.path); err == nil && idOf(fi) == id {
				if !t.dup {
					r.f.log.Debug("source: same file as another path", zap.String("path", t.path), zap.String("as", o.path))
					t.dup = true
				}
				return nil, nil
			}
			// Renamed from o.path to t.path before o noticed.
			if err := r.retire(o); err != nil {
				return nil, err
			}
			r.f.stats.rotations.Add(1)
		}
		for i, rd := range o.old {
			if rd.id == id {
				o.old = slices.Delete(o.old, i, i+1)
				rd.path = t.path
				rd.saved = -1 // not saved under this path yet
				t.dup = false
				return rd, nil
			}
		}
	}
	t.dup = false
	return r.open(t)
}

// open opens the file at t.path and places it: at the stored position if
// it is the same file, else at its start (or its end for Tail at start).
func (r *fileRun) open(t *tracked) (*reader, error) {
	atStart := t.atStart
	t.atStart = false
	fh, err := os.Open(t.path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			r.warn(t, "open", err)
		}
		return nil, nil
	}
	fi, err := fh.Stat()
	if err != nil {
		fh.Close()
		r.warn(t, "stat", err)
		return nil, nil
	}
	t.lastErr = ""
	rd := &reader{path: t.path, f: fh, id: idOf(fi), sp: newSplitter(r.f.o.MaxLine)}
	r.hash(rd)
	p, ok := r.f.o.Positions.Load(t.path)
	if c, known := r.closed[rd.id]; known {
		delete(r.closed, rd.id)
		if c.hash == rd.hash && c.pos <= fi.Size() {
			// A rotated file closed earlier, found under a new name.
			p, ok = Position{Dev: rd.id.dev, Inode: rd.id.ino, Hash: c.hash, Offset: c.pos}, true
		}
	}
	switch {
	case ok && rd.matches(p, fi.Size()):
		rd.pos, rd.off = p.Offset, p.Offset
	case !ok && atStart && r.f.o.Tail:
		off, mid, err := tailStart(fh, fi.Size())
		if err != nil {
			fh.Close()
			r.f.log.Warn("source: read", zap.String("path", t.path), zap.Error(err))
			return nil, nil
		}
		rd.pos, rd.off = off, off
		if mid {
			rd.sp.dropFirst()
		}
	}
	rd.saved, rd.savedHash = rd.pos, rd.hash
	r.f.log.Info("source: following", zap.String("path", t.path), zap.Int64("offset", rd.pos),
		zap.String("hash", rd.hash), zap.Bool("resumed", ok && rd.pos > 0))
	return rd, nil
}

// tailStart returns where a file read from its end starts: after its last
// newline, or at its end with mid set when no newline is near the end.
func tailStart(f *os.File, size int64) (off int64, mid bool, err error) {
	if size == 0 {
		return 0, false, nil
	}
	start := max(0, size-readChunk)
	buf := make([]byte, size-start)
	n, err := f.ReadAt(buf, start)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, false, err
	}
	for i := n - 1; i >= 0; i-- {
		if buf[i] == '\n' {
			return start + int64(i) + 1, false, nil
		}
	}
	return start + int64(n), true, nil
}

// emitter returns the splitter callback for c: decode, deliver, advance.
func (r *fileRun) emitter(c *reader) func(piece) error {
	return func(pc piece) error {
		if !pc.drop {
			b := pc.b
			if pc.cut {
				r.f.stats.cut.Add(1)
				if r.f.enc == EncodingUTF8 {
					b = trimPartialRune(b)
				}
			} else {
				for len(b) > 0 && b[len(b)-1] == '\r' {
					b = b[:len(b)-1]
				}
			}
			text, replaced := r.f.enc.Decode(b)
			if replaced {
				r.f.stats.replaced.Add(1)
				if !c.warned {
					c.warned = true
					r.f.log.Warn("source: error decoding line, invalid characters replaced; consider setting logencoding",
						zap.String("path", c.path), zap.Stringer("encoding", r.f.enc))
				}
			}
			select {
			case <-r.ctx.Done(): // stopping: this line is for the next Run
				return r.ctx.Err()
			default:
			}
			if err := r.deliver(Line{Text: text, File: c.path, Offset: c.pos}); err != nil {
				return &deliverError{err}
			}
			r.f.stats.lines.Add(1)
		}
		c.pos += pc.span
		r.f.stats.bytes.Add(uint64(pc.span))
		return nil
	}
}

// publishPaths updates what Paths returns.
func (r *fileRun) publishPaths() {
	var ps []string
	for p, t := range r.tracked {
		if t.cur != nil {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	r.f.mu.Lock()
	r.f.paths = ps
	r.f.mu.Unlock()
}

// close saves the positions of the lines delivered since the last save
// (Run is stopping, or deliver failed after them) and closes every file.
func (r *fileRun) close() {
	for _, t := range r.tracked {
		if t.cur != nil {
			r.save(t.cur)
			t.cur.close()
		}
		for _, o := range t.old {
			o.close()
		}
	}
	if r.w != nil {
		r.w.close()
	}
	r.f.mu.Lock()
	r.f.paths = nil
	r.f.mu.Unlock()
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
