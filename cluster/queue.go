package cluster

import (
	"net/netip"
	"sync"
	"time"

	"github.com/banserver/banserver/jail"
)

// failQueue holds failures not yet sent: a ring, so that Failure, on the
// attempt's path with the jail's lock held, neither allocates nor waits.
// Each failure has a sequence number (its place since the queue began):
// the sender copies a run of them, sends it and only then removes it, so
// an outage loses nothing unless the ring overflows, which drops the
// oldest and counts it.
type failQueue struct {
	mu         sync.Mutex // guards the fields below
	buf        []jail.Failure
	head, tail uint64 // sequence numbers of the oldest failure held and of the next one
	dropped    uint64
}

func (q *failQueue) init(size int) { q.buf = make([]jail.Failure, size) }

// push adds f, dropping the oldest when full, and reports whether the
// queue was empty: only then does the sender need waking, since it sends
// until the queue is empty before it sleeps.
func (q *failQueue) push(f jail.Failure) (wasEmpty bool) {
	q.mu.Lock()
	wasEmpty = q.tail == q.head
	if q.tail-q.head == uint64(len(q.buf)) {
		q.head++
		q.dropped++
	}
	q.buf[q.tail%uint64(len(q.buf))] = f
	q.tail++
	q.mu.Unlock()
	return wasEmpty
}

// queuedFailure is a failure and its sequence number.
type queuedFailure struct {
	jail.Failure
	seq uint64
}

// peek appends up to n of the oldest failures to dst, leaving them queued.
func (q *failQueue) peek(dst []queuedFailure, n int) []queuedFailure {
	q.mu.Lock()
	defer q.mu.Unlock()
	for s := q.head; s < q.tail && n > 0; s++ {
		dst = append(dst, queuedFailure{q.buf[s%uint64(len(q.buf))], s})
		n--
	}
	return dst
}

// commit removes the failures before sequence number end (sent).
func (q *failQueue) commit(end uint64) {
	q.mu.Lock()
	for ; q.head < end; q.head++ {
		q.buf[q.head%uint64(len(q.buf))] = jail.Failure{} // let go of what it held
	}
	q.mu.Unlock()
}

// stats returns how many failures wait and how many were dropped.
func (q *failQueue) stats() (pending int, dropped uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return int(q.tail - q.head), q.dropped
}

// change is a ban, prolongation or unban this node made, to publish.
type change struct {
	unban   bool
	jail    string
	prefix  netip.Prefix
	start   time.Time // of the ban (lifted, for an unban)
	banTime time.Duration
	count   int
	at      time.Time // of the unban
}

// eventQueue holds this node's changes not yet published, in order. It is
// capped: past the cap the oldest goes, is counted, and lost is set, so
// that the next connection republishes every live ban instead.
type eventQueue struct {
	mu      sync.Mutex // guards the fields below
	items   []change
	head    uint64 // sequence number of items[0]
	max     int
	dropped uint64
	lost    bool
}

func (q *eventQueue) push(c change) {
	q.mu.Lock()
	if len(q.items) >= q.max {
		q.items[0] = change{}
		q.items = q.items[1:]
		q.head++
		q.dropped++
		q.lost = true
	}
	q.items = append(q.items, c)
	q.mu.Unlock()
}

// peek appends up to n of the oldest changes to dst and returns the
// sequence number after the last.
func (q *eventQueue) peek(dst []change, n int) ([]change, uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := min(n, len(q.items))
	return append(dst, q.items[:k]...), q.head + uint64(k)
}

// commit removes the changes before sequence number end.
func (q *eventQueue) commit(end uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if end <= q.head {
		return
	}
	k := min(int(end-q.head), len(q.items))
	clear(q.items[:k])
	q.items = q.items[k:]
	q.head = end
	if len(q.items) == 0 {
		q.items = nil // give the array back after a burst
	}
}

// takeLost reports whether changes were dropped since the last call.
func (q *eventQueue) takeLost() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	l := q.lost
	q.lost = false
	return l
}

func (q *eventQueue) stats() (pending int, dropped uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items), q.dropped
}
