package source

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// DefaultJournalName is the Positions name of the journal cursor
// (fail2ban keeps its journal position under the same name).
const DefaultJournalName = "systemd-journal"

// Defaults of JournalOptions.
const (
	DefaultRestartMin = time.Second
	DefaultRestartMax = time.Minute
)

// JournalOptions configures a Journal follower: a jail with the systemd
// backend.
type JournalOptions struct {
	// Matches are journalctl matches: FIELD=value terms, "+" between OR
	// groups (ParseJournalMatch reads a filter's journalmatch). None:
	// every entry.
	Matches []string
	// Directory reads the journal files in this directory
	// (journalctl --directory; fail2ban's journalpath) instead of the
	// system journal.
	Directory string
	// Files reads these journal files (journalctl --file; fail2ban's
	// journalfiles).
	Files []string
	// Namespace reads a journal namespace (journalctl --namespace).
	Namespace string
	// Positions keeps the cursor (nil: none).
	Positions Positions
	// Name is the Positions name (default DefaultJournalName).
	Name string
	// Journalctl is the program (default: journalctl in PATH).
	Journalctl string
	// Since is where a follower without a stored cursor starts: entries
	// from this time on (fail2ban starts at now - findtime). Zero: after
	// the last entry there is when Run starts.
	Since time.Time
	// Encoding decodes field values that are not UTF-8 (default auto).
	Encoding string
	// MaxLine is the longest Text delivered (default DefaultMaxLine); a
	// longer one is cut.
	MaxLine int
	// RestartMin and RestartMax bound the wait before journalctl is
	// started again after it exited (doubling from min to max).
	RestartMin, RestartMax time.Duration
	// Log receives restarts and errors (nil: none).
	Log *zap.Logger
}

// Journal follows the systemd journal through journalctl and delivers
// its entries formatted as fail2ban's systemd backend formats them.
type Journal struct {
	o       JournalOptions
	enc     Encoding
	log     *zap.Logger
	running atomic.Bool
	pid     atomic.Int64 // journalctl's pid while it runs
	stats   counters
}

// NewJournal checks o and returns a follower; Run starts it.
func NewJournal(o JournalOptions) (*Journal, error) {
	if err := checkMatches(o.Matches); err != nil {
		return nil, err
	}
	enc, err := ParseEncoding(o.Encoding)
	if err != nil {
		return nil, err
	}
	j := &Journal{o: o, enc: enc, log: o.Log}
	if j.o.Journalctl == "" {
		j.o.Journalctl = "journalctl"
	}
	if p, err := exec.LookPath(j.o.Journalctl); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoJournalctl, err)
	} else {
		j.o.Journalctl = p
	}
	if j.o.Directory != "" && len(j.o.Files) > 0 {
		return nil, errorf("%w: journal directory and files are exclusive", ErrBackend)
	}
	switch {
	case o.MaxLine == 0:
		j.o.MaxLine = DefaultMaxLine
	case o.MaxLine < 0 || o.MaxLine > maxMaxLine:
		return nil, errorf("max line %d out of range (1 to %d)", o.MaxLine, maxMaxLine)
	}
	if j.o.Positions == nil {
		j.o.Positions = noPositions{}
	}
	if j.o.Name == "" {
		j.o.Name = DefaultJournalName
	}
	if j.o.RestartMin <= 0 {
		j.o.RestartMin = DefaultRestartMin
	}
	if j.o.RestartMax < j.o.RestartMin {
		j.o.RestartMax = max(DefaultRestartMax, j.o.RestartMin)
	}
	if j.log == nil {
		j.log = zap.NewNop()
	}
	return j, nil
}

// Stats returns the counters: Lines, Bytes (of journalctl's JSON), Cut,
// Restarts, Skipped.
func (j *Journal) Stats() Stats { return j.stats.snapshot() }

// Run follows the journal until ctx ends, then returns nil. It starts
// after the stored cursor (unless its entry is older than Since), else at
// Since, else after the last entry the journal has when Run starts (saved
// as the position). deliver is called from Run's goroutine, one entry at
// a time; the cursor of an entry is saved only after deliver returned nil
// for it (after each 64 KiB of journalctl output, and before Run waits for
// more). When journalctl exits it is started again, after a backoff, from
// the last delivered entry. An error from deliver stops Run, which returns
// it.
func (j *Journal) Run(ctx context.Context, deliver func(Line) error) error {
	if !j.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer j.running.Store(false)
	st := j.startState()
	if st.cursor == "" && j.o.Since.IsZero() {
		// Start at the end: the cursor of the last entry now, so that a
		// restart of journalctl before the first new entry loses nothing.
		if err := j.probe(ctx, st); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			j.log.Warn("source: journal end", zap.Error(err))
		}
	}
	wait := j.o.RestartMin
	for {
		started := time.Now()
		n, err := j.runOnce(ctx, st, deliver)
		if ctx.Err() != nil {
			return nil
		}
		var de *deliverError
		if errors.As(err, &de) {
			return errorf("deliver journal entry: %w", de.err)
		}
		if n > 0 || time.Since(started) > j.o.RestartMax {
			wait = j.o.RestartMin
		}
		j.stats.restarts.Add(1)
		j.log.Warn("source: journalctl exited, restarting", zap.Error(err), zap.Duration("after", wait))
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, j.o.RestartMax)
	}
}

// journalState is where the next journalctl starts.
type journalState struct {
	cursor string    // of the last delivered entry
	last   time.Time // its time: the fallback when the cursor is refused
	since  bool      // the cursor was refused: start at last
}

// probe sets st to the last entry of the journal (none: st unchanged,
// journalctl then starts at the end).
func (j *Journal) probe(ctx context.Context, st *journalState) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	args := append([]string{"--lines=1", "--output=json", "--no-pager", "--quiet", "--output-fields=MESSAGE"}, j.sourceArgs()...)
	cmd := exec.CommandContext(ctx, j.o.Journalctl, append(args, j.o.Matches...)...)
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	out, err := cmd.Output()
	if err != nil {
		return errorf("journalctl: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return nil
	}
	l, err := formatEntry(out, j.enc)
	if err != nil {
		return err
	}
	st.cursor, st.last = l.Cursor, l.Time
	j.o.Positions.Save(j.o.Name, Position{Cursor: l.Cursor, Time: l.Time})
	return nil
}

// sourceArgs are the arguments that say which journal to read. --merge
// because --follow otherwise implies --boot: entries of an earlier boot
// after the cursor would be skipped, and a journal without the current
// boot refused. It reads the journals of every machine id, as fail2ban's
// default (the active files of /var/log/journal/* and /run/log/journal/*).
func (j *Journal) sourceArgs() []string {
	a := []string{"--merge"}
	if j.o.Directory != "" {
		a = append(a, "--directory="+j.o.Directory)
	}
	for _, f := range j.o.Files {
		a = append(a, "--file="+f)
	}
	if j.o.Namespace != "" {
		a = append(a, "--namespace="+j.o.Namespace)
	}
	return a
}

// startState is where Run starts: after the stored cursor, unless its
// entry is older than Since (fail2ban starts at max(stored time, now -
// findtime): older entries are not worth reading).
func (j *Journal) startState() *journalState {
	st := &journalState{}
	if p, ok := j.o.Positions.Load(j.o.Name); ok {
		st.cursor, st.last = p.Cursor, p.Time
		if !j.o.Since.IsZero() && !p.Time.IsZero() && p.Time.Before(j.o.Since) {
			st.cursor = ""
		}
	}
	return st
}

// args returns journalctl's arguments.
func (j *Journal) args(st *journalState) []string {
	a := []string{"--follow", "--output=json", "--all", "--no-pager", "--quiet",
		"--output-fields=" + strings.Join(journalFields, ",")}
	a = append(a, j.sourceArgs()...)
	switch {
	case st.cursor != "" && !st.since:
		a = append(a, "--after-cursor="+st.cursor)
	case st.since && !st.last.IsZero():
		a = append(a, "--since="+sinceArg(st.last.Add(time.Microsecond)))
	case !j.o.Since.IsZero():
		a = append(a, "--since="+sinceArg(j.o.Since))
	default:
		a = append(a, "--lines=0") // from the end (an empty journal)
	}
	return append(a, j.o.Matches...)
}

func sinceArg(t time.Time) string {
	us := t.UnixMicro()
	return fmt.Sprintf("@%d.%06d", us/1e6, us%1e6)
}

// runOnce runs one journalctl until it exits or ctx ends, and returns how
// many entries it delivered.
func (j *Journal) runOnce(ctx context.Context, st *journalState, deliver func(Line) error) (int, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := exec.CommandContext(ctx, j.o.Journalctl, j.args(st)...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	// journalctl must not outlive a daemon killed with SIGKILL.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr := &tailBuffer{max: 4096}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, errorf("journalctl: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return 0, errorf("journalctl: %w", err)
	}
	j.pid.Store(int64(cmd.Process.Pid))
	defer j.pid.Store(0)

	n, rerr := j.read(ctx, out, st, deliver)
	if rerr != nil {
		cancel()
	}
	werr := cmd.Wait()
	if rerr != nil {
		return n, rerr
	}
	msg := strings.TrimSpace(stderr.String())
	if n == 0 && st.cursor != "" && !st.since && strings.Contains(msg, "cursor") {
		// The cursor is refused (a journal from another machine, a
		// vacuumed one): go on from the time of the last entry.
		j.log.Warn("source: journal cursor refused, starting from its time",
			zap.String("cursor", st.cursor), zap.Time("time", st.last), zap.String("journalctl", msg))
		st.since = true
	}
	if werr == nil {
		werr = errors.New("exited")
	}
	if msg != "" {
		return n, errorf("journalctl: %w: %s", werr, msg)
	}
	return n, errorf("journalctl: %w", werr)
}

// read delivers the entries journalctl writes.
func (j *Journal) read(ctx context.Context, out io.Reader, st *journalState, deliver func(Line) error) (int, error) {
	br := bufio.NewReaderSize(out, readChunk)
	limit := 16*j.o.MaxLine + readChunk // a JSON entry longer than this is skipped
	var line []byte
	n, unsaved := 0, 0
	save := func() {
		if unsaved > 0 && st.cursor != "" {
			j.o.Positions.Save(j.o.Name, Position{Cursor: st.cursor, Time: st.last})
			unsaved = 0
		}
	}
	defer save()
	for {
		chunk, err := br.ReadSlice('\n')
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			if len(line) <= limit {
				line = append(line, chunk...)
			}
			continue
		case err != nil:
			return n, nil // journalctl ended: Wait tells how
		}
		if len(line) > 0 {
			line = append(line, chunk...)
			chunk = line
		}
		j.stats.bytes.Add(uint64(len(chunk)))
		unsaved += len(chunk)
		if len(chunk) > limit {
			j.stats.skipped.Add(1)
			j.log.Warn("source: journal entry too long, skipped", zap.Int("bytes", len(chunk)))
		} else if l, ferr := formatEntry(chunk, j.enc); ferr != nil {
			j.log.Warn("source: journal entry", zap.Error(ferr))
		} else {
			if len(l.Text) > j.o.MaxLine {
				l.Text = string(trimPartialRune([]byte(l.Text[:j.o.MaxLine])))
				j.stats.cut.Add(1)
			}
			if ctx.Err() != nil { // stopping: the rest is for the next Run
				return n, ctx.Err()
			}
			if err := deliver(l); err != nil {
				return n, &deliverError{err}
			}
			n++
			j.stats.lines.Add(1)
			st.cursor, st.last, st.since = l.Cursor, l.Time, false
		}
		line = line[:0]
		if br.Buffered() == 0 || unsaved >= readChunk {
			save()
		}
	}
}

// tailBuffer keeps the last max bytes written to it (journalctl's
// stderr).
type tailBuffer struct {
	max int
	mu  sync.Mutex // guards b
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = bytes.Clone(t.b[len(t.b)-t.max:])
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
