// Package store makes bans durable: it keeps the live bans of every jail and
// the history of past bans (for bantime.increment) in a bbolt file, so they
// survive a restart or a kill -9.
//
// Writers never wait for the disk: Put queues a change and returns its
// sequence number, one committer goroutine writes everything queued so far in
// one transaction (group commit), and WaitFor tells a caller when its change
// is durable. The committer waits briefly for the callers its last commit
// released to queue again, so that concurrent callers share one commit (see
// gather). The package knows addresses and time, nothing of sockets or of
// the jails' internals.
package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
	"go.uber.org/zap"
)

var (
	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("store: closed")
	// ErrLocked is returned by Open when another process holds the file:
	// bbolt's flock did not come within Options.LockTimeout.
	ErrLocked = errors.New("store: database in use by another process")
	// ErrCorrupt is returned when the file or one of its records is not what
	// this package wrote: not a bbolt file, a damaged page, a bad record.
	ErrCorrupt = errors.New("store: corrupt database")
	// ErrNotQueued is returned by WaitFor for a sequence number Put never
	// issued: 0 (Put refused the change) or one beyond Queued.
	ErrNotQueued = errors.New("store: change not queued")
	// ErrInvalid is returned for an argument the store cannot key on: an
	// empty or overlong jail name, an invalid prefix.
	ErrInvalid = errors.New("store: invalid argument")
)

// Ban is one ban as stored.
type Ban struct {
	Jail    string
	Prefix  netip.Prefix  // host prefix (/32, /128) or an IPv6 prefix; stored masked
	Start   time.Time     // read back in the local zone, without monotonic reading
	BanTime time.Duration // negative: forever
	Count   int           // 1 for a first ban, n for the nth (bantime.increment)
	Matches []string      // failure messages that led to it, at most Options.MaxMatches (the last ones)
}

// End returns when the ban ends, or the zero time for a ban that never does.
func (b Ban) End() time.Time {
	if b.BanTime < 0 {
		return time.Time{}
	}
	return b.Start.Add(b.BanTime)
}

// History is what the store remembers of past bans of one prefix.
type History struct {
	Count       int // bans so far (live one included)
	LastStart   time.Time
	LastBanTime time.Duration
}

// Op is the kind of a Change.
type Op int

// The changes a caller can queue.
const (
	// OpBan stores Ban, replacing a live ban of its (jail, prefix), and
	// counts it in the history.
	OpBan Op = iota + 1
	// OpUnban deletes the live ban of (Ban.Jail, Ban.Prefix); the history
	// stays (an expiry, a stopped jail).
	OpUnban
	// OpProlong stores Ban, replacing the live ban of its (jail, prefix),
	// as a new end of the same ban: the history keeps its count and takes
	// the new end.
	OpProlong
	// OpForgive deletes the live ban and the history of (Ban.Jail,
	// Ban.Prefix): a manual unban forgives, as fail2ban's delBan does, so
	// the next ban of the prefix is a first one again.
	OpForgive
	// OpForget deletes everything of Ban.Jail, bans and history
	// (fail2ban's `unban --all` forgets the jail's history).
	OpForget
	// OpKernelUse records State, the spec of kernel state the daemon is
	// about to use (a route table, an nftables table), so that a later
	// start can clean it even when no configured action names it any more.
	OpKernelUse
	// OpKernelDrop forgets State: nothing of it is left in the kernel.
	OpKernelDrop
	// OpPosition records Data as the read position of the log source
	// named State (a file's identity and offset, a journal cursor), so a
	// restart neither counts old lines again nor skips new ones; an empty
	// Data forgets it.
	OpPosition
)

// opPurge shares the queue so it applies in order with the changes around
// it, and so every write transaction is the committer's (History relies on
// that to know which queued changes a snapshot already holds).
const opPurge Op = 100 // Ban.Start: delete what ended before it

var opNames = map[Op]string{
	OpBan: "ban", OpUnban: "unban", OpProlong: "prolong", OpForgive: "forgive", OpForget: "forget",
	OpKernelUse: "kernel use", OpKernelDrop: "kernel drop", OpPosition: "position", opPurge: "purge",
}

// String returns the name of the operation.
func (o Op) String() string {
	if n, ok := opNames[o]; ok {
		return n
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Change is one queued write. For OpUnban and OpForgive only Ban.Jail and
// Ban.Prefix matter, for OpForget only Ban.Jail, for the kernel ops only
// State, for OpPosition State and Data.
type Change struct {
	Op    Op
	Ban   Ban
	State string
	Data  []byte
}

// Options tune Open. The zero value is ready to use.
type Options struct {
	MaxMatches  int           // matches kept per ban, the last ones (fail2ban's dbmaxmatches); 0: DefaultMaxMatches, negative: none
	MaxMatchLen int           // bytes kept of each match, longer ones cut; 0: no cap
	LockTimeout time.Duration // how long Open waits for another process's lock; 0: 1s
	NoSync      bool          // skip fsync: tests and bulk loads only, a crash may lose everything
	Log         *zap.Logger   // may be nil
}

// DefaultMaxMatches is the default of Options.MaxMatches, fail2ban's
// dbmaxmatches.
const DefaultMaxMatches = 10

// maxSpare bounds the queue array the committer keeps for reuse.
const maxSpare = 1 << 14

// maxJailLen bounds jail names, which are bucket names in the file.
const maxJailLen = 255

// maxKeyLen bounds a position's key (a jail and a path) and its value.
const maxKeyLen = 4096

// maxFailures bounds the failed commits WaitFor remembers; a waiter that
// far behind is told its change's outcome is unknown.
const maxFailures = 256

// Bucket names at the root of the file.
var (
	bucketBans   = []byte("bans")   // jail -> prefix key -> ban value
	bucketHist   = []byte("hist")   // jail -> prefix key -> history value
	bucketKernel = []byte("kernel") // state spec -> unix-ns time first recorded
	bucketPos    = []byte("pos")    // log source -> its position, as the daemon encodes it
	bucketMeta   = []byte("meta")   // "format" -> formatVersion
	keyFormat    = []byte("format")
)

// formatVersion is the layout described in codec.go.
const formatVersion = "banserver-store-1"

// entry is one change in the queue, numbered.
type entry struct {
	seq uint64
	c   Change
	n   *int // opPurge: records deleted, set before the entry becomes durable
}

// failure is a commit that failed: the changes lo..hi were not stored.
type failure struct {
	lo, hi uint64
	err    error
}

// Health is the store's state for status: whether commits fail.
type Health struct {
	// Failing: the latest commit failed; Since is when the failures began,
	// Failed how many commits failed since, Err the latest error.
	Failing bool
	Since   time.Time
	Failed  int
	Err     error
}

// DB is an open store. Its methods are safe for concurrent use.
type DB struct {
	path        string
	bolt        *bolt.DB
	maxMatches  int
	maxMatchLen int
	log         *zap.Logger

	kick   chan struct{} // wakes the committer after a Put; capacity 1
	window time.Duration // gatherWindow; tests set it before the first Put
	stop   chan struct{} // closed by Close: the committer drains and exits
	done   chan struct{} // closed by the committer on exit

	// mu guards the fields below. Never held across disk I/O, so Put does
	// not wait for a commit.
	mu        sync.Mutex
	queued    uint64    // sequence of the latest change queued
	settled   uint64    // every change up to this one is committed, or failed
	failures  []failure // the latest failed commits, oldest first (at most maxFailures)
	forgotten uint64    // failures of changes up to this one are no longer remembered
	health    Health
	pending   []entry // queued, not yet taken by the committer
	// groups counts the Put, PutAll and internal calls in pending: the
	// callers waiting on the next commit. want is how many the committer
	// waits for (gather); a Put that reaches it wakes the committer.
	groups     int
	want       int
	inflight   []entry // taken by the committer, being committed
	inflightTx int     // bbolt txid inflight goes into
	// unsettled counts the OpBan entries in pending and inflight per
	// prefix, unsettledOps the Purge and Forget entries: History skips
	// scanning the queue when neither concerns it, so an import that asks
	// before each of 100k queued bans does not go quadratic.
	unsettled    map[netip.Prefix]int
	unsettledOps int
	committedTx  int           // txid of the latest committed transaction
	notify       chan struct{} // closed and replaced when done or closed change
	closing      bool          // Close began: Put refuses changes
	closed       bool          // Close finished

	commits commitStats // for metrics (stats.go); atomics, not guarded by mu
}

// Open opens the store at path, creating the file (0600) and its directory
// (0700) if needed. It returns an error wrapping ErrLocked if another process
// holds the file, ErrCorrupt if the file is not a store.
func Open(path string, o Options) (*DB, error) {
	if o.MaxMatches == 0 {
		o.MaxMatches = DefaultMaxMatches
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	// New directories and a new file exist after a power cut only once
	// their parents are synced; bbolt syncs the file's contents, not them.
	var newDirs []string // parents to sync, outermost first
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(dir); err == nil || dir == filepath.Dir(dir) {
			break
		}
		newDirs = append([]string{filepath.Dir(dir)}, newDirs...)
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		newDirs = append(newDirs, filepath.Dir(path))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	bdb, err := openBolt(path, o)
	if err != nil {
		return nil, err
	}
	if !o.NoSync {
		for _, dir := range newDirs {
			if err := syncDir(dir); err != nil {
				bdb.Close()
				return nil, fmt.Errorf("store: open %s: %w", path, err)
			}
		}
	}
	d := &DB{
		path:        path,
		bolt:        bdb,
		maxMatches:  o.MaxMatches,
		maxMatchLen: o.MaxMatchLen,
		log:         o.Log.With(zap.String("store", path)),
		kick:        make(chan struct{}, 1),
		window:      gatherWindow,
		stop:        make(chan struct{}),
		done:        make(chan struct{}),
		notify:      make(chan struct{}),
		unsettled:   map[netip.Prefix]int{},
	}
	if err := guard(func() error { return bdb.Update(initBuckets) }); err != nil {
		bdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := bdb.View(func(tx *bolt.Tx) error { d.committedTx = tx.ID(); return nil }); err != nil {
		bdb.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	go d.run()
	return d, nil
}

// syncDir fsyncs a directory, making the entries created in it durable.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// openBolt opens the bbolt file and sorts its errors into the sentinels.
func openBolt(path string, o Options) (*bolt.DB, error) {
	var (
		bdb  *bolt.DB
		file *os.File
	)
	err := guard(func() error {
		var err error
		bdb, err = bolt.Open(path, 0o600, &bolt.Options{
			Timeout: o.LockTimeout,
			NoSync:  o.NoSync,
			// Keep the file: if bbolt panics on a damaged file half-way
			// through Open, closing it is the only way to release the lock.
			OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
				f, err := os.OpenFile(name, flag, perm)
				file = f
				return f, err
			},
		})
		return err
	})
	switch {
	case err == nil:
		return bdb, nil
	case errors.Is(err, ErrCorrupt): // a panic in bbolt, turned into an error
		if file != nil {
			file.Close()
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%w: %s (waited %v)", ErrLocked, path, o.LockTimeout)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum),
		errors.Is(err, berrors.ErrVersionMismatch):
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	// bbolt reports some damage (a file shorter than its header says) with
	// unexported errors: a regular, non-empty file that bbolt refuses for a
	// reason other than the OS's is damaged.
	var pe *os.PathError
	if fi, serr := os.Stat(path); serr == nil && fi.Mode().IsRegular() && fi.Size() > 0 && !errors.As(err, &pe) {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	return nil, fmt.Errorf("store: open %s: %w", path, err)
}

// initBuckets creates the root buckets of a new file and checks the format
// of an existing one.
func initBuckets(tx *bolt.Tx) error {
	if m := tx.Bucket(bucketMeta); m != nil {
		if v := string(m.Get(keyFormat)); v != formatVersion {
			return fmt.Errorf("%w: format %q, want %q", ErrCorrupt, v, formatVersion)
		}
	} else {
		// A new file has no buckets at all; anything else is another
		// program's bbolt file, which we must not write into.
		if err := tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			return fmt.Errorf("%w: bucket %q: not a banserver store", ErrCorrupt, name)
		}); err != nil {
			return err
		}
		m, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if err := m.Put(keyFormat, []byte(formatVersion)); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketBans, bucketHist, bucketKernel, bucketPos} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

// guard runs f, turning a panic, including a fault on the memory-mapped file,
// into an error wrapping ErrCorrupt: bbolt trusts its pages, and a damaged
// file must fail the call, not the daemon.
func guard(f func() error) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrCorrupt, r)
		}
	}()
	return f()
}

// Path returns the file's path.
func (d *DB) Path() string { return d.path }

// Put queues a change and returns its sequence number at once, without
// waiting for the disk. A ban replaces any live ban of the same (jail,
// prefix) and updates the history of (jail, prefix). Changes apply in queue
// order.
//
// Put returns 0, queuing nothing, for an invalid change (logged) and after
// Close; WaitFor(0) then reports why.
func (d *DB) Put(c Change) uint64 {
	return d.PutAll([]Change{c})
}

// PutAll queues cs, in order, to be stored together or not at all: they go
// in one transaction. It returns the sequence number of the last one (0,
// queuing nothing, if any change is invalid or after Close); WaitFor of it
// reports the outcome of all. The slice is not kept.
func (d *DB) PutAll(cs []Change) uint64 {
	if len(cs) == 0 {
		return 0
	}
	norm := make([]Change, len(cs))
	for i, c := range cs {
		if err := d.normalize(&c); err != nil {
			d.log.Warn("refused change", zap.Error(err))
			return 0
		}
		norm[i] = c
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closing {
		return 0
	}
	var seq uint64
	for _, c := range norm {
		seq = d.appendLocked(c, nil)
	}
	d.groupQueuedLocked()
	return seq
}

// enqueueLocked numbers c, queues it as one caller's group of changes and
// wakes the committer. d.mu must be held.
func (d *DB) enqueueLocked(c Change, n *int) uint64 {
	seq := d.appendLocked(c, n)
	d.groupQueuedLocked()
	return seq
}

// appendLocked numbers c and queues it. The committer takes everything
// queued at once, so changes queued under one hold of d.mu share a
// transaction. d.mu must be held; the caller ends its group of changes
// with groupQueuedLocked.
func (d *DB) appendLocked(c Change, n *int) uint64 {
	d.queued++
	d.pending = append(d.pending, entry{seq: d.queued, c: c, n: n})
	d.unsettle(&c, 1)
	return d.queued
}

// groupQueuedLocked counts one caller's changes, just queued, and wakes the
// committer when it is idle or has what it waits for. d.mu must be held.
func (d *DB) groupQueuedLocked() {
	d.groups++
	if d.groups == 1 || d.groups >= d.want {
		select {
		case d.kick <- struct{}{}:
		default:
		}
	}
}

// unsettle adds delta to the counts of unsettled entries for c. d.mu must
// be held.
func (d *DB) unsettle(c *Change, delta int) {
	switch c.Op {
	case OpBan, OpProlong:
		if n := d.unsettled[c.Ban.Prefix] + delta; n > 0 {
			d.unsettled[c.Ban.Prefix] = n
		} else {
			delete(d.unsettled, c.Ban.Prefix)
		}
	case opPurge, OpForget, OpForgive:
		// Counted with the ops rather than by prefix: rare, and a scan
		// of the queue is all it costs History.
		d.unsettledOps += delta
	}
}

// normalize checks c and puts it in the form the committer stores: prefix
// masked, matches capped and copied (the caller may reuse its slice).
func (d *DB) normalize(c *Change) error {
	switch c.Op {
	case OpBan, OpUnban, OpProlong, OpForgive:
	case OpForget:
		if c.Ban.Jail == "" || len(c.Ban.Jail) > maxJailLen {
			return fmt.Errorf("%w: jail name of %d bytes", ErrInvalid, len(c.Ban.Jail))
		}
		c.Ban = Ban{Jail: c.Ban.Jail}
		return nil
	case OpKernelUse, OpKernelDrop:
		if c.State == "" || len(c.State) > maxJailLen {
			return fmt.Errorf("%w: kernel state of %d bytes", ErrInvalid, len(c.State))
		}
		c.Ban = Ban{}
		return nil
	case OpPosition:
		if c.State == "" || len(c.State) > maxKeyLen || len(c.Data) > maxKeyLen {
			return fmt.Errorf("%w: position key of %d bytes, value of %d", ErrInvalid, len(c.State), len(c.Data))
		}
		c.Ban = Ban{}
		c.Data = bytes.Clone(c.Data) // the caller may reuse its buffer
		return nil
	default:
		return fmt.Errorf("%w: op %v", ErrInvalid, c.Op)
	}
	p, err := checkKey(c.Ban.Jail, c.Ban.Prefix)
	if err != nil {
		return err
	}
	c.Ban.Prefix = p
	if c.Op == OpUnban || c.Op == OpForgive {
		c.Ban = Ban{Jail: c.Ban.Jail, Prefix: p}
		return nil
	}
	m := c.Ban.Matches
	if d.maxMatches < 0 {
		m = nil
	} else if len(m) > d.maxMatches {
		m = m[len(m)-d.maxMatches:]
	}
	c.Ban.Matches = nil
	if len(m) > 0 {
		c.Ban.Matches = make([]string, len(m))
		for i, s := range m {
			if d.maxMatchLen > 0 && len(s) > d.maxMatchLen {
				s = s[:d.maxMatchLen]
			}
			// A copy: the caller's string may share a large buffer.
			c.Ban.Matches[i] = strings.Clone(s)
		}
	}
	c.Ban.Count = min(max(c.Ban.Count, 0), maxCount)
	return nil
}

// checkKey validates a (jail, prefix) pair and returns the prefix masked.
func checkKey(jail string, p netip.Prefix) (netip.Prefix, error) {
	if jail == "" || len(jail) > maxJailLen {
		return netip.Prefix{}, fmt.Errorf("%w: jail name of %d bytes", ErrInvalid, len(jail))
	}
	if !p.IsValid() || p.Addr().Zone() != "" {
		return netip.Prefix{}, fmt.Errorf("%w: prefix %v", ErrInvalid, p)
	}
	return p.Masked(), nil
}

// Queued returns the sequence number of the latest change queued.
func (d *DB) Queued() uint64 {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.queued
}

// WaitFor blocks until the change numbered seq, and every change before
// it, has been committed (with fsync) or has failed, or ctx ends. It
// returns nil when seq is durable and the commit's error when it is not: a
// change that could not be written must not be acknowledged. A failed
// commit does not stop the store: later changes are written when they can
// be. A change Close committed stays acknowledged after Close; a sequence
// never issued returns ErrClosed after Close, ErrNotQueued before.
func (d *DB) WaitFor(ctx context.Context, seq uint64) error {
	for {
		d.mu.Lock()
		switch {
		case seq == 0 || seq > d.queued:
			closing := d.closing
			d.mu.Unlock()
			if closing {
				return ErrClosed
			}
			return fmt.Errorf("%w: sequence %d", ErrNotQueued, seq)
		case seq <= d.settled:
			err := d.outcomeLocked(seq)
			d.mu.Unlock()
			return err
		case d.closed:
			d.mu.Unlock()
			return ErrClosed
		}
		ch := d.notify
		d.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// outcomeLocked is the outcome of change seq, already done. d.mu is held.
func (d *DB) outcomeLocked(seq uint64) error {
	for i := len(d.failures) - 1; i >= 0; i-- {
		f := &d.failures[i]
		if seq > f.hi {
			return nil
		}
		if seq >= f.lo {
			return f.err
		}
	}
	if seq <= d.forgotten {
		return fmt.Errorf("store: the outcome of change %d is no longer known (over %d failed commits since)", seq, maxFailures)
	}
	return nil
}

// Health reports whether commits are failing, for status.
func (d *DB) Health() Health {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.health
}

// wakeLocked wakes every WaitFor. d.mu must be held.
func (d *DB) wakeLocked() {
	close(d.notify)
	d.notify = make(chan struct{})
}

// gatherWindow bounds how long after a commit the committer waits for the
// callers it released to queue their next changes (gather). It is paid in
// full only when fewer callers come back than the last commit carried, and
// then once: the next commit expects only as many as came.
const gatherWindow = time.Millisecond

// run is the committer: it writes whatever is queued, in one transaction,
// until Close. While a commit is in flight, new changes pile up and go in
// the next one; gather lets the callers just released join them.
func (d *DB) run() {
	defer close(d.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var (
		carried  int       // callers (groups) the last commit carried
		released time.Time // when the last commit released them
	)
	for {
		d.mu.Lock()
		n := len(d.pending)
		d.mu.Unlock()
		if n > 0 {
			d.gather(timer, carried, released)
			carried = d.commit()
			released = time.Now()
			continue
		}
		select {
		case <-d.kick:
		case <-d.stop:
			// Changes queued before Close set closing are in pending;
			// none can arrive after.
			d.mu.Lock()
			n := len(d.pending)
			d.mu.Unlock()
			if n == 0 {
				return
			}
		}
	}
}

// gather waits, before a commit, until as many callers have queued changes
// as the last commit carried, or gatherWindow has passed since it released
// them, or Close began. Each caller (a daemon client) waits for its change
// to be durable before it sends its next one, so the callers a commit
// releases come back a round trip later; starting the next commit with
// only those already queued would split them into groups that take turns,
// each paying for its own commit (two fsyncs and a dozen page writes)
// while the others wait: measured here, 64 clients filled a commit with 25
// changes on average. A commit that carried one caller, or one whose
// callers have had the whole window to come back, waits for nothing: a
// lone caller, or the first change after a quiet spell, is never delayed.
func (d *DB) gather(timer *time.Timer, carried int, released time.Time) {
	wait := d.window - time.Since(released)
	d.mu.Lock()
	if carried <= 1 || wait <= 0 || d.groups >= carried || d.closing {
		d.mu.Unlock()
		// Not a delay: a yield, so that callers the last commit just
		// woke can queue their next change and ride this one. It raised
		// 8-caller throughput from ~4k to ~8k bans/s here and costs
		// nothing when no one else is runnable.
		runtime.Gosched()
		return
	}
	d.want = carried
	d.mu.Unlock()
	timer.Reset(wait)
	defer func() {
		timer.Stop()
		d.mu.Lock()
		d.want = 0
		d.mu.Unlock()
	}()
	for {
		select {
		case <-d.kick:
		case <-d.stop:
			return
		case <-timer.C:
			return
		}
		d.mu.Lock()
		enough := d.groups >= carried
		d.mu.Unlock()
		if enough {
			return
		}
	}
}

// commit writes everything pending in one transaction. A failure fails
// that transaction's changes only: the next commit tries again with what
// is queued then, so the store recovers by itself once writes succeed
// (space freed, a file system remounted). The first failure is logged as
// an error and the recovery as info; failures in between only at debug.
// It returns how many callers' groups of changes the commit carried.
func (d *DB) commit() (groups int) {
	var batch []entry
	start := time.Now()
	err := guard(func() error {
		return d.bolt.Update(func(tx *bolt.Tx) error {
			// Take the batch inside the transaction, so that its txid is
			// known together with its contents: History compares it with
			// the txid of its own snapshot.
			d.mu.Lock()
			batch, d.pending = d.pending, d.inflight[:0]
			groups, d.groups = d.groups, 0
			d.inflight, d.inflightTx = batch, tx.ID()
			d.mu.Unlock()
			return d.apply(tx, batch)
		})
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	if batch == nil {
		// Update failed before taking anything: fail what is pending.
		batch, d.pending = d.pending, d.inflight[:0]
		groups, d.groups = d.groups, 0
	}
	for i := range batch {
		d.unsettle(&batch[i].c, -1)
	}
	if len(batch) > 0 {
		if err != nil {
			d.commits.failed.Add(1)
			d.failLocked(batch[0].seq, batch[len(batch)-1].seq, err)
		} else {
			d.committedTx = d.inflightTx
			if d.health.Failing {
				d.log.Info("commits succeed again", zap.Int("failed_commits", d.health.Failed),
					zap.Duration("failing_for", time.Since(d.health.Since)))
				d.health = Health{}
			}
		}
		d.settled = batch[len(batch)-1].seq
	}
	// Counted before the waiters wake: a caller that saw its change
	// stored finds its commit counted.
	d.commits.done(time.Since(start), len(batch))
	clear(batch) // drop references to matches before the slice is reused
	d.inflight = batch[:0]
	if cap(batch) > maxSpare {
		d.inflight = nil // a bulk load's batch: let it go
	}
	d.wakeLocked()
	return groups
}

// failLocked records that changes lo..hi were not stored. d.mu is held.
func (d *DB) failLocked(lo, hi uint64, err error) {
	err = fmt.Errorf("store: commit of %d changes: %w", hi-lo+1, err)
	if !d.health.Failing {
		d.log.Error("commit failed: the changes are refused; the store retries with the next ones", zap.Error(err))
		d.health = Health{Failing: true, Since: time.Now()}
	} else {
		d.log.Debug("commit failed again", zap.Error(err))
	}
	d.health.Failed++
	d.health.Err = err
	if len(d.failures) == maxFailures {
		d.forgotten = d.failures[0].hi
		d.failures = append(d.failures[:0], d.failures[1:]...)
	}
	d.failures = append(d.failures, failure{lo: lo, hi: hi, err: err})
}

// jailBuckets caches one transaction's per-jail sub-buckets.
type jailBuckets struct {
	root *bolt.Bucket
	m    map[string]*bolt.Bucket
}

func (j *jailBuckets) get(jail string, create bool) (*bolt.Bucket, error) {
	if b := j.m[jail]; b != nil {
		return b, nil
	}
	var b *bolt.Bucket
	if create {
		var err error
		if b, err = j.root.CreateBucketIfNotExists([]byte(jail)); err != nil {
			return nil, err
		}
	} else if b = j.root.Bucket([]byte(jail)); b == nil {
		return nil, nil
	}
	j.m[jail] = b
	return b, nil
}

// apply writes batch in tx, in order.
func (d *DB) apply(tx *bolt.Tx, batch []entry) error {
	bans := &jailBuckets{root: tx.Bucket(bucketBans), m: map[string]*bolt.Bucket{}}
	hist := &jailBuckets{root: tx.Bucket(bucketHist), m: map[string]*bolt.Bucket{}}
	if bans.root == nil || hist.root == nil || tx.Bucket(bucketKernel) == nil || tx.Bucket(bucketPos) == nil {
		return fmt.Errorf("%w: root buckets missing", ErrCorrupt)
	}
	var kb [18]byte
	for i := range batch {
		e := &batch[i]
		b := &e.c.Ban
		switch e.c.Op {
		case OpBan, OpProlong:
			k := prefixKey(kb[:0], b.Prefix)
			bb, err := bans.get(b.Jail, true)
			if err != nil {
				return err
			}
			// bbolt keeps a reference to the value until commit: a fresh
			// slice per Put.
			if err := bb.Put(k, appendBan(nil, b)); err != nil {
				return err
			}
			hb, err := hist.get(b.Jail, true)
			if err != nil {
				return err
			}
			var h History
			if v := hb.Get(k); v != nil {
				if h, err = decodeHistory(v); err != nil {
					// A damaged history must not stop bans from being
					// stored: start it again.
					d.log.Warn("damaged history record replaced", zap.String("jail", b.Jail),
						zap.Stringer("prefix", b.Prefix), zap.Error(err))
					h = History{}
				}
			}
			next := nextHistory(h, b)
			if e.c.Op == OpProlong {
				next = prolongHistory(h, b)
			}
			if err := hb.Put(k, appendHistory(nil, next)); err != nil {
				return err
			}
		case OpUnban, OpForgive:
			k := prefixKey(kb[:0], b.Prefix)
			roots := []*jailBuckets{bans}
			if e.c.Op == OpForgive {
				roots = append(roots, hist)
			}
			for _, root := range roots {
				bb, err := root.get(b.Jail, false)
				if err != nil {
					return err
				}
				if bb == nil {
					continue // nothing ever banned in this jail
				}
				if err := bb.Delete(k); err != nil {
					return err
				}
			}
		case OpKernelUse:
			kb := tx.Bucket(bucketKernel)
			if kb.Get([]byte(e.c.State)) == nil {
				v := binary.BigEndian.AppendUint64(nil, uint64(time.Now().UnixNano()))
				if err := kb.Put([]byte(e.c.State), v); err != nil {
					return err
				}
			}
		case OpKernelDrop:
			if err := tx.Bucket(bucketKernel).Delete([]byte(e.c.State)); err != nil {
				return err
			}
		case OpPosition:
			pb := tx.Bucket(bucketPos)
			var err error
			if len(e.c.Data) == 0 {
				err = pb.Delete([]byte(e.c.State))
			} else {
				err = pb.Put([]byte(e.c.State), e.c.Data)
			}
			if err != nil {
				return err
			}
		case OpForget:
			for _, j := range []*jailBuckets{bans, hist} {
				delete(j.m, b.Jail)
				if err := j.root.DeleteBucket([]byte(b.Jail)); err != nil && !errors.Is(err, berrors.ErrBucketNotFound) {
					return err
				}
			}
		case opPurge:
			n, err := purge(bans.root, hist.root, timeToNanos(b.Start), &scanPages{d: d})
			if err != nil {
				return err
			}
			*e.n = n
		}
	}
	return nil
}

// nextHistory is the history of (jail, prefix) after ban b. The count is
// one more than before, or b.Count if that is higher (a ban imported with
// its count, a history purged while the jail remembered more).
func nextHistory(h History, b *Ban) History {
	return History{
		Count:       min(max(h.Count+1, b.Count), maxCount),
		LastStart:   b.Start,
		LastBanTime: b.BanTime,
	}
}

// prolongHistory is the history of (jail, prefix) after its live ban b got
// a new end: the same ban, so the count stays (at least b's own), and the
// latest ban ends when b now does.
func prolongHistory(h History, b *Ban) History {
	return History{
		Count:       min(max(h.Count, b.Count, 1), maxCount),
		LastStart:   b.Start,
		LastBanTime: b.BanTime,
	}
}

// endedBefore reports whether the latest ban of h ended before the unix-ns
// time before.
func (h History) endedBefore(before int64) bool {
	end, ends := endNanos(timeToNanos(h.LastStart), int64(h.LastBanTime))
	return ends && end < before
}

// purge deletes the bans and history entries that ended before the unix-ns
// time before, and returns how many went. pages counts the records it reads.
func purge(bans, hist *bolt.Bucket, before int64, pages *scanPages) (int, error) {
	var victims [][]byte // keys to delete, collected first: deleting under a cursor skips entries
	n := 0
	sweep := func(root *bolt.Bucket, ended func(v []byte) bool) error {
		return root.ForEachBucket(func(jail []byte) error {
			b := root.Bucket(jail)
			victims = victims[:0]
			err := b.ForEach(func(k, v []byte) error {
				pages.read()
				if v != nil && ended(v) {
					victims = append(victims, k)
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, k := range victims {
				pages.read() // the delete reads the key's leaf again
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			n += len(victims)
			return nil
		})
	}
	err := sweep(bans, func(v []byte) bool {
		start, bt, err := banTimes(v)
		if err != nil {
			return true // undecodable and unusable: purge it
		}
		end, ends := endNanos(start, bt)
		return ends && end < before
	})
	if err != nil {
		return 0, err
	}
	err = sweep(hist, func(v []byte) bool {
		h, err := decodeHistory(v)
		return err != nil || h.endedBefore(before)
	})
	return n, err
}

// queueOp queues an internal operation and waits for it, for Purge and
// Forget.
func (d *DB) queueOp(ctx context.Context, c Change, n *int) error {
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		return ErrClosed
	}
	seq := d.enqueueLocked(c, n)
	d.mu.Unlock()
	return d.WaitFor(ctx, seq)
}

// Purge deletes history entries whose last ban ended before `before`, and
// stored bans that ended before it (fail2ban's dbpurgeage: the daemon calls
// it hourly with now - purgeage). Forever bans stay. It returns how many
// records went, once that is durable. It leaves little of the map
// resident: its scan drops the pages as it reads (scanPages), and the
// whole map is dropped after its commit, which reads the header of every
// page it frees.
func (d *DB) Purge(before time.Time) (int, error) {
	n := new(int)
	if err := d.queueOp(context.Background(), Change{Op: opPurge, Ban: Ban{Start: before}}, n); err != nil {
		return 0, err
	}
	if err := d.ReleaseMemory(); err != nil {
		d.log.Warn("purge: dropping the map's pages", zap.Error(err))
	}
	return *n, nil
}

// Forget deletes everything of a jail, bans and history, once that is
// durable. Not for a jail's stop, since bans must survive that; for tests
// and imports.
func (d *DB) Forget(jail string) error {
	if jail == "" || len(jail) > maxJailLen {
		return fmt.Errorf("%w: jail name of %d bytes", ErrInvalid, len(jail))
	}
	return d.queueOp(context.Background(), Change{Op: OpForget, Ban: Ban{Jail: jail}}, nil)
}

// Close commits what is queued, then closes the file. It returns the
// last commit's failure if the store is failing, ErrClosed if called twice.
func (d *DB) Close() error {
	d.mu.Lock()
	if d.closing {
		d.mu.Unlock()
		return ErrClosed
	}
	d.closing = true
	d.mu.Unlock()
	close(d.stop)
	<-d.done
	cerr := d.bolt.Close()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	d.wakeLocked()
	if cerr != nil {
		cerr = fmt.Errorf("store: close %s: %w", d.path, cerr)
	}
	var ferr error
	if d.health.Failing {
		ferr = d.health.Err
	}
	return errors.Join(ferr, cerr)
}
