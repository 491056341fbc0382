package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/banserver/banserver/jail"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Jails is what a node needs from the jail manager; *jail.Manager
// satisfies it.
type Jails interface {
	ClusterReached(name string, key netip.Prefix, at time.Time) (bool, error)
	ClusterBan(name string, b jail.Ban) (bool, error)
	ClusterUnban(name string, prefix netip.Prefix, startedBy time.Time) (bool, error)
	BanList(name string) ([]jail.Ban, error)
	Shared() []string
}

// Defaults of Options.
const (
	DefaultPrefix       = "banserver"
	DefaultStreamMaxLen = 100_000
	DefaultMaxFailures  = 65_536
	DefaultMaxChanges   = 1_000_000
)

// Options configures a Node.
type Options struct {
	URL  string // cluster.redis: see PasswordEnv for the forms it takes
	Node string // this node's name (cluster.node; the caller defaults it to the hostname)
	// Prefix names the keys: "banserver" puts them all under
	// "{banserver}:", one hash tag, so a Redis Cluster keeps them in one
	// slot and the scripts may touch them together. A prefix holding a
	// hash tag of its own is used as it is.
	Prefix string
	// StreamMaxLen is the approximate length the event stream is trimmed
	// to (default DefaultStreamMaxLen); a node cut off for longer than
	// that many events catches up by a full resync.
	StreamMaxLen int64
	// MaxFailures caps failures waiting to be sent (default
	// DefaultMaxFailures); past it the oldest are dropped and counted.
	MaxFailures int
	// MaxChanges caps this node's bans and unbans waiting to be published
	// (default DefaultMaxChanges); past it the oldest are dropped and
	// counted, and the node republishes its live bans when it reconnects.
	MaxChanges int
	Log        *zap.Logger      // default: none
	Now        func() time.Time // default time.Now
}

// Node shares a node's failures and bans of shared jails with the other
// nodes through Redis. Its methods are safe for concurrent use.
type Node struct {
	opts  Options
	jails Jails
	log   *zap.Logger
	now   func() time.Time
	ropts *redis.UniversalOptions
	shown string // URL without the password
	run   string // this run's id, random: tells this run's stream entries from others'
	k     keys

	fails failQueue
	evs   eventQueue
	wake  chan struct{} // a failure or change is queued

	counts counts

	sharedMu sync.Mutex // guards the fields below
	shared   map[string]bool
	sharedAt time.Time

	liveMu sync.Mutex       // guards live
	live   map[string]int64 // field -> start (ms) of this node's live bans in shared jails, from its events

	mu        sync.Mutex // guards the fields below
	running   bool
	connected bool
	everUp    bool
	since     time.Time
	lastErr   string
	lag       time.Duration // how late the last remote event applied arrived: this node's clock against its stream id
	lastID    string        // last stream entry applied; "" before the first sync
	epoch     string
	refused   map[string]bool // (jail, prefix) whose refusal was logged

	minBackoff, maxBackoff time.Duration
	resyncs, applied       atomic.Int64 // for tests and status
}

// keys are the Redis keys, all under one hash tag.
type keys struct {
	prefix, bans, tombs, stream, epoch, counts string
}

func (k keys) fail(fld string) string        { return k.prefix + "fail:" + fld }
func (k keys) jailCounts(name string) string { return k.prefix + "count:" + name }

// New checks the options and returns a node; nothing connects until Run.
// The URL's errors name what is wrong, never the password.
func New(o Options, jails Jails) (*Node, error) {
	if jails == nil {
		return nil, errors.New("cluster: no jails")
	}
	ropts, shown, err := parseURL(o.URL, os.Getenv)
	if err != nil {
		return nil, err
	}
	if o.Node == "" {
		return nil, errors.New("cluster: node name empty")
	}
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if o.StreamMaxLen <= 0 {
		o.StreamMaxLen = DefaultStreamMaxLen
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = DefaultMaxFailures
	}
	if o.MaxChanges <= 0 {
		o.MaxChanges = DefaultMaxChanges
	}
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	var rb [8]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return nil, fmt.Errorf("cluster: run id: %w", err)
	}
	ropts.ClientName = "banserver-" + o.Node
	ropts.MaxRetries = -1 // Run retries, with backoff, and tells the log
	ropts.DialTimeout = 2 * time.Second
	ropts.ReadTimeout = 3 * time.Second
	ropts.WriteTimeout = 3 * time.Second
	ropts.ContextTimeoutEnabled = true
	n := &Node{
		opts:       o,
		jails:      jails,
		log:        o.Log.With(zap.String("node", o.Node)),
		now:        o.Now,
		ropts:      ropts,
		shown:      shown,
		run:        hex.EncodeToString(rb[:]),
		k:          newKeys(o.Prefix),
		wake:       make(chan struct{}, 1),
		live:       make(map[string]int64),
		refused:    make(map[string]bool),
		minBackoff: 100 * time.Millisecond,
		maxBackoff: 5 * time.Second,
	}
	redisLogOnce.Do(func() { redis.SetLogger(redisLog{o.Log}) })
	n.fails.init(o.MaxFailures)
	n.evs.max = o.MaxChanges
	n.counts.init()
	return n, nil
}

func newKeys(prefix string) keys {
	p := prefix
	if i := strings.IndexByte(p, '{'); i < 0 || !strings.Contains(p[i:], "}") {
		p = "{" + p + "}:"
	}
	return keys{prefix: p, bans: p + "bans", tombs: p + "tombs", stream: p + "events", epoch: p + "epoch", counts: p + "counts"}
}

// Failure queues a failure of a shared jail (jail.Options.OnFailure): it
// never blocks and does not allocate; when the queue is full the oldest
// failure is dropped and counted.
func (n *Node) Failure(f jail.Failure) {
	if n.fails.push(f) {
		n.kick()
	}
}

func (n *Node) kick() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Event takes every event of the jails (jail.Options.OnEvent) and queues
// for the cluster the bans, prolongations and unbans this node made
// (CauseCommand) in shared jails; what it applied from the cluster, bans
// that expired or were restored, and stopped jails are not sent.
func (n *Node) Event(ev jail.Event) {
	if ev.Kind != jail.EventBan && ev.Kind != jail.EventProlong && ev.Kind != jail.EventUnban {
		return
	}
	if !n.isShared(ev.Jail) {
		return
	}
	fld := field(ev.Jail, ev.Ban.Prefix)
	n.liveMu.Lock()
	if ev.Kind == jail.EventUnban {
		delete(n.live, fld)
	} else {
		n.live[fld] = ev.Ban.Start.UnixMilli()
	}
	n.liveMu.Unlock()
	if ev.Cause != jail.CauseCommand {
		return
	}
	c := change{
		unban:   ev.Kind == jail.EventUnban,
		jail:    ev.Jail,
		prefix:  ev.Ban.Prefix,
		start:   ev.Ban.Start,
		banTime: ev.Ban.BanTime,
		count:   ev.Ban.Count,
		at:      n.now(),
	}
	n.evs.push(c)
	n.kick()
}

// isShared reports whether the jail is shared; the list is read from the
// jails at most once a second.
func (n *Node) isShared(name string) bool {
	n.sharedMu.Lock()
	defer n.sharedMu.Unlock()
	if n.shared == nil || time.Since(n.sharedAt) > time.Second {
		n.refreshSharedLocked()
	}
	return n.shared[name]
}

func (n *Node) refreshSharedLocked() {
	m := make(map[string]bool)
	for _, name := range n.jails.Shared() {
		m[name] = true
	}
	n.shared, n.sharedAt = m, time.Now()
}

// sharedJails returns the shared jails, read now.
func (n *Node) sharedJails() []string {
	names := n.jails.Shared()
	n.sharedMu.Lock()
	m := make(map[string]bool, len(names))
	for _, name := range names {
		m[name] = true
	}
	n.shared, n.sharedAt = m, time.Now()
	n.sharedMu.Unlock()
	return names
}

// liveStart returns the start (ms) of this node's live ban of fld.
func (n *Node) liveStart(fld string) (int64, bool) {
	n.liveMu.Lock()
	defer n.liveMu.Unlock()
	s, ok := n.live[fld]
	return s, ok
}

// Status is the node's view of the cluster, for `status` and metrics.
type Status struct {
	Node      string
	URL       string // without the password
	Connected bool
	Since     time.Time     // when Connected last changed (zero: never connected nor failed)
	Lag       time.Duration // how late the last event from another node arrived: its Redis stream time to its application here (0: none yet)
	LastError string        // the last error talking to Redis
	Pending   int           // failures and changes queued, not yet sent
	// DroppedFailures and DroppedChanges count what the queues dropped
	// when full (a long outage).
	DroppedFailures uint64
	DroppedChanges  uint64
	Resyncs         int64 // full resyncs done
}

// Status returns the node's state.
func (n *Node) Status() Status {
	fp, fd := n.fails.stats()
	ep, ed := n.evs.stats()
	n.mu.Lock()
	defer n.mu.Unlock()
	s := Status{
		Node:            n.opts.Node,
		URL:             n.shown,
		Connected:       n.connected,
		Since:           n.since,
		LastError:       n.lastErr,
		Pending:         fp + ep,
		DroppedFailures: fd,
		DroppedChanges:  ed,
		Resyncs:         n.resyncs.Load(),
	}
	s.Lag = n.lag
	return s
}

// Count returns how many times the cluster banned p in the jail (overall:
// in every jail), for bantime.increment (jail.Options.History). It reads
// a local copy, kept from the last sync and the events since: never Redis.
func (n *Node) Count(jailName string, p netip.Prefix, overall bool) int {
	return n.counts.get(jailName, p, overall)
}

// counts is the local copy of the cluster's ban counts.
type counts struct {
	mu   sync.RWMutex // guards the maps
	jail map[string]map[netip.Prefix]int
	all  map[netip.Prefix]int
}

func (c *counts) init() {
	c.jail = make(map[string]map[netip.Prefix]int)
	c.all = make(map[netip.Prefix]int)
}

func (c *counts) get(name string, p netip.Prefix, overall bool) int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if overall {
		return c.all[p]
	}
	return c.jail[name][p]
}

// note raises the counts of p to jc (in the jail) and oc (overall).
func (c *counts) note(name string, p netip.Prefix, jc, oc int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.jail[name]
	if m == nil {
		m = make(map[netip.Prefix]int)
		c.jail[name] = m
	}
	m[p] = max(m[p], jc)
	c.all[p] = max(c.all[p], oc)
}

// replace takes the counts of a snapshot.
func (c *counts) replace(jails map[string]map[netip.Prefix]int, all map[netip.Prefix]int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.jail, c.all = jails, all
}

// redisLog sends go-redis's own messages (a dial that failed, ...) to the
// debug log: the node already reports the outage once, at warn.
type redisLog struct{ log *zap.Logger }

func (l redisLog) Printf(_ context.Context, format string, v ...any) {
	l.log.Debug("cluster: go-redis: " + fmt.Sprintf(format, v...))
}

// redisLogOnce installs redisLog: go-redis has one logger per process.
var redisLogOnce sync.Once
