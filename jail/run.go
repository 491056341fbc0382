package jail

import (
	"context"
	"time"
)

// sweepEvery is how often Run drops stale failure entries when no ban
// wakes it sooner; the cap bounds memory anyway, this keeps Status honest.
const sweepEvery = time.Minute

// expireBatch is how many bans Expire lifts under one hold of a jail's lock.
const expireBatch = 256

// Expire lifts every ban whose end is at or before now (from Options.Now),
// drops failure entries older than their jail's findtime, and returns the
// number of bans lifted.
func (m *Manager) Expire() int {
	now := m.now()
	ns := now.UnixNano()
	n := 0
	for _, j := range m.snapshot() {
		for more := true; more; {
			// A few hundred at a time: attempts wait for the jail's lock
			// no longer than that while a million bans end together, and
			// their events are delivered as they go.
			j.mu.Lock()
			k := 0
			for ; k < expireBatch && !j.removed; k++ {
				i, ok := j.bans.due(ns)
				if !ok {
					break
				}
				b := j.bans.ban(i)
				e, _ := j.bans.remove(i)
				j.unbanTotal++
				m.matches.free(int64(e.held))
				m.queue(j, EventUnban, b, CauseExpired, nil)
			}
			more = k == expireBatch
			n += k
			j.mu.Unlock()
			m.deliver(j)
		}
	}
	m.sweepFailures(now)
	return n
}

// next returns the earliest end of a ban in any jail, if any.
func (m *Manager) next() (int64, bool) {
	var end int64
	found := false
	for _, j := range m.snapshot() {
		j.mu.Lock()
		if e, ok := j.bans.next(); ok && (!found || e < end) {
			end, found = e, true
		}
		j.mu.Unlock()
	}
	return end, found
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
// serves all bans: it is set to the earliest end in the jails' heaps (or the next
// failure sweep) and reset whenever a new ban ends sooner.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTimer(sweepEvery)
	defer t.Stop()
	for {
		m.Expire()
		wait := sweepEvery
		if end, ok := m.next(); ok {
			wait = min(wait, time.Duration(end-m.now().UnixNano()))
		}
		// Go 1.23 timers: Reset discards any stale tick, so no drain.
		t.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-m.kick:
		}
	}
}
