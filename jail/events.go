package jail

// pendingEvent is an event waiting in its jail's queue, and the
// transaction holding it until its change is stored (nil: not held).
type pendingEvent struct {
	ev Event
	t  *txn
}

// queue appends an event for delivery once j.mu is released; j.mu is held,
// so queue order is the order of the changes. A command's events under a
// journal (t not nil) also go to its transaction, and wait in the queue
// until the journal has stored them.
func (m *Manager) queue(j *jail, kind EventKind, b Ban, cause Cause, t *txn) {
	ev := Event{Kind: kind, Jail: j.name, Ban: b, Actions: j.cfg.Actions, Cause: cause}
	if t != nil {
		// With a journal: stored with the command's other events, and
		// held in the queue until they are.
		t.touch(j)
		t.evs = append(t.evs, ev)
	}
	if m.onEvent == nil || kind == EventForget {
		return
	}
	j.evMu.Lock()
	j.pending = append(j.pending, pendingEvent{ev: ev, t: t})
	j.evMu.Unlock()
}

// deliver hands j's queued events to OnEvent; it is called with no lock
// held. Whoever holds deliverMu delivers everything queued so far up to the
// first event still held by its transaction, so events leave in queue
// order; without a journal nothing is held and a caller's own events are
// out before it returns. Events of a transaction that failed are dropped.
func (m *Manager) deliver(j *jail) {
	if m.onEvent == nil {
		return
	}
	j.evMu.Lock()
	empty := len(j.pending) == 0
	j.evMu.Unlock()
	if empty {
		return
	}
	j.deliverMu.Lock()
	defer j.deliverMu.Unlock()
	j.evMu.Lock()
	n := 0
	for n < len(j.pending) {
		if t := j.pending[n].t; t != nil && t.state.Load() == txnHeld {
			break
		}
		n++
	}
	batch := j.pending[:n:n]
	if n == len(j.pending) {
		j.pending = nil
	} else {
		j.pending = j.pending[n:]
	}
	j.evMu.Unlock()
	for _, pe := range batch {
		if pe.t == nil || pe.t.state.Load() == txnReleased {
			m.onEvent(pe.ev)
		}
	}
}
