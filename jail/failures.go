package jail

import (
	"net/netip"
	"sync"
)

// maxMatches is how many failure messages an entry (and so a Ban) keeps.
const maxMatches = 10

// inlineTimes is how many failure times an entry stores without a second
// allocation; maxretry rarely exceeds it.
const inlineTimes = 8

// failKey names one tracked (jail, address) pair.
type failKey struct {
	j    *jail
	addr netip.Addr
}

// failEntry is the failure record of one address in one jail. It is linked
// into failTable's LRU list, so eviction needs no search.
type failEntry struct {
	key        failKey
	prev, next *failEntry // LRU neighbours; root.next is the most recent

	last  int64   // unix nanoseconds of the last failure
	times []int64 // ring holding the times of the last maxretry failures
	head  int     // index of the oldest time once the ring is full
	n     int     // how many times are stored (<= len(times))
	buf   [inlineTimes]int64

	matches [maxMatches]string // ring of the last failure messages
	mhead   int
	mn      int
	mbytes  int64 // bytes of matches, counted in the match budget
}

// failTable holds the failure entries of all jails, so one cap and one LRU
// order bound memory however the addresses spread over jails.
type failTable struct {
	mu     sync.Mutex // guards the fields below and every jail's nfailed
	m      map[failKey]*failEntry
	root   failEntry // sentinel of the circular LRU list
	max    int
	budget *matchBudget // the Manager's; safe for concurrent use
	// last is the message kept last: clients send the same few messages
	// ("Incorrect token used.") over and over, and sharing its copy saves
	// an allocation per attempt.
	last string
}

func (t *failTable) init(max int, budget *matchBudget) {
	t.m = make(map[failKey]*failEntry)
	t.root.next = &t.root
	t.root.prev = &t.root
	t.max = max
	t.budget = budget
}

func (t *failTable) unlink(e *failEntry) {
	e.prev.next = e.next
	e.next.prev = e.prev
	e.prev, e.next = nil, nil
}

func (t *failTable) pushFront(e *failEntry) {
	e.prev = &t.root
	e.next = t.root.next
	t.root.next.prev = e
	t.root.next = e
}

// remove drops e from the table and gives its messages back to the
// budget; t.mu must be held.
func (t *failTable) remove(e *failEntry) {
	delete(t.m, e.key)
	t.unlink(e)
	e.key.j.nfailed--
	t.budget.free(e.mbytes)
	e.mbytes = 0
}

// record notes count failures (with their messages) of addr in j at now and
// reports whether the last maxRetry failures all lie within findTime. When
// they do, the entry is dropped (the address is about to be banned, as
// fail2ban's FailManager.toBan does) and its messages are returned with
// their bytes, still counted in the budget: the ban holds them now. The
// caller holds j.mu, which keeps maxRetry and findTime stable.
func (t *failTable) record(j *jail, addr netip.Addr, now int64, count int, msgs []string, maxRetry int, findTime int64) (bool, []string, int64) {
	key := failKey{j, addr}
	t.mu.Lock()
	e := t.m[key]
	switch {
	case e != nil:
		if t.root.next != e {
			t.unlink(e)
			t.pushFront(e)
		}
	case len(t.m) >= t.max && t.root.prev != &t.root:
		// Full: recycle the least recently seen entry, whatever its jail.
		e = t.root.prev
		t.remove(e)
		*e = failEntry{}
		fallthrough
	default:
		if e == nil {
			e = new(failEntry)
		}
		e.key = key
		t.m[key] = e
		t.pushFront(e)
		j.nfailed++
	}
	e.last = now
	// The ring starts in the entry's inline buffer and grows with the
	// failures actually seen, up to maxRetry: with a large maxretry, most
	// addresses fail a few times, and a ring sized to maxretry up front
	// would cost 8 bytes per maxretry for every one of them.
	switch {
	case len(e.times) == 0:
		e.resize(min(maxRetry, inlineTimes))
	case len(e.times) > maxRetry:
		e.resize(maxRetry)
	}
	for range min(count, maxRetry) {
		e.push(now, maxRetry)
	}
	// Only the last maxMatches messages can stay: skip the others before
	// copying any of them.
	if len(msgs) > maxMatches {
		msgs = msgs[len(msgs)-maxMatches:]
	}
	for _, m := range msgs {
		if e.mn == maxMatches && t.budget.same(m, e.matches[e.mhead]) {
			// The oldest message is this one's text: it becomes the
			// newest as it is, its bytes still counted.
			t.last = e.matches[e.mhead]
			e.mhead = (e.mhead + 1) % maxMatches
			continue
		}
		kept, ok := t.budget.keep(m, t.last)
		if !ok {
			continue // the budget is spent: counted, not kept
		}
		t.last = kept
		if e.mn < maxMatches {
			e.matches[(e.mhead+e.mn)%maxMatches] = kept
			e.mn++
		} else {
			old := e.matches[e.mhead]
			t.budget.free(int64(len(old)))
			e.mbytes -= int64(len(old))
			e.matches[e.mhead] = kept
			e.mhead = (e.mhead + 1) % maxMatches
		}
		e.mbytes += int64(len(kept))
	}
	if e.n < maxRetry || now-e.times[e.head] >= findTime {
		t.mu.Unlock()
		return false, nil, 0
	}
	var matches []string
	if e.mn > 0 {
		matches = make([]string, e.mn)
		for i := range matches {
			matches[i] = e.matches[(e.mhead+i)%maxMatches]
		}
	}
	held := e.mbytes
	e.mbytes = 0 // moved to the ban, not freed
	t.remove(e)
	t.mu.Unlock()
	return true, matches, held
}

// push appends a failure time, growing the ring (doubling, up to limit)
// when it is full, and overwriting the oldest once it holds limit times.
func (e *failEntry) push(t int64, limit int) {
	if e.n == len(e.times) && len(e.times) < limit {
		e.resize(min(limit, 2*len(e.times)))
	}
	if e.n < len(e.times) {
		e.times[(e.head+e.n)%len(e.times)] = t
		e.n++
		return
	}
	e.times[e.head] = t
	e.head = (e.head + 1) % len(e.times)
}

// resize makes the ring hold size times, keeping the most recent ones; it
// runs when an entry is new or the jail's maxretry changed.
func (e *failEntry) resize(size int) {
	var keep [inlineTimes]int64
	var kept []int64
	k := min(e.n, size)
	if k <= inlineTimes {
		kept = keep[:k]
	} else {
		kept = make([]int64, k)
	}
	for i := range k {
		kept[i] = e.times[(e.head+e.n-k+i)%len(e.times)]
	}
	if size <= inlineTimes {
		e.times = e.buf[:size]
	} else {
		e.times = make([]int64, size)
	}
	copy(e.times, kept)
	e.head, e.n = 0, k
}

// dropJail removes every entry of j (the jail is being stopped).
func (t *failTable) dropJail(j *jail) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for e := t.root.next; e != &t.root; {
		next := e.next
		if e.key.j == j {
			t.remove(e)
		}
		e = next
	}
}

// sweep drops entries whose last failure is at least their jail's findtime
// old. The list is ordered by last failure, so the walk from the oldest end
// stops at the first entry younger than minFind, the shortest findtime.
func (t *failTable) sweep(now, minFind int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for e := t.root.prev; e != &t.root; {
		prev := e.prev
		age := now - e.last
		if age < minFind {
			break
		}
		if age >= e.key.j.findTime.Load() {
			t.remove(e)
		}
		e = prev
	}
}

// len returns the number of entries.
func (t *failTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
