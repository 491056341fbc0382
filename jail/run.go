package jail

import (
	"context"
	"time"
)

// sweepEvery is how often Run drops stale failure entries when no ban
// wakes it sooner; the cap bounds memory anyway, this keeps Status honest.
const sweepEvery = time.Minute

// Expire lifts every ban whose end is at or before now (from Options.Now),
// drops failure entries older than their jail's findtime, and returns the
// number of bans lifted.
func (m *Manager) Expire() int {
	now := m.now()
	n := 0
	for _, e := range m.heap.popDue(now.UnixNano()) {
		j := e.j
		j.mu.Lock()
		// The ban may have been lifted, or the address banned anew, since
		// it left the heap; only the same entry is expired.
		if j.bans[e.ban.Prefix] == e {
			switch {
			case e.ban.BanTime == Forever:
				// Prolonged to forever meanwhile: stays, out of the heap.
			case e.end > now.UnixNano():
				m.heap.add(e) // prolonged meanwhile
			default:
				delete(j.bans, e.ban.Prefix)
				j.unbanTotal++
				m.releaseMatches(e)
				m.queue(j, EventUnban, e.ban, CauseExpired, nil)
				n++
			}
		}
		j.mu.Unlock()
		m.deliver(j)
	}
	m.sweepFailures(now)
	return n
}

// sweepFailures drops failure entries at least findtime old.
func (m *Manager) sweepFailures(now time.Time) {
	js := m.snapshot()
	if len(js) == 0 {
		return
	}
	minFind := js[0].findTime.Load()
	for _, j := range js[1:] {
		minFind = min(minFind, j.findTime.Load())
	}
	m.fails.sweep(now.UnixNano(), minFind)
}

// Run expires bans on time until ctx ends, and returns nil then. One timer
// serves all bans: it is set to the earliest end in the heap (or the next
// failure sweep) and reset whenever a new ban ends sooner.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTimer(sweepEvery)
	defer t.Stop()
	for {
		m.Expire()
		wait := sweepEvery
		if end, ok := m.heap.next(); ok {
			wait = min(wait, time.Duration(end-m.now().UnixNano()))
		}
		// Go 1.23 timers: Reset discards any stale tick, so no drain.
		t.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-m.heap.kick:
		}
	}
}
