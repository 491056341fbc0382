package jail

import (
	"cmp"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"
)

// Journal stores what commands change, so that a change is kept before it
// is acknowledged and before anything outside the jails acts on it (see
// the package doc, Durability). The daemon's is the ban store.
type Journal interface {
	// Record queues evs, the events one command caused in its jails, in
	// order, to be stored together or not at all, and returns a ticket for
	// Wait. It is called with the jails' locks held, so that changes to
	// one address reach the journal in the order they were made: it must
	// queue, never wait for the disk.
	Record(evs []Event) uint64
	// Wait blocks until the events of ticket are stored, or returns why
	// they could not be.
	Wait(ticket uint64) error
}

// Transaction states, for the events a command holds in its jails' queues.
const (
	txnHeld     int32 = iota // stored or not, not known yet: delivery waits
	txnReleased              // stored: deliver
	txnDropped               // not stored and undone: never deliver
)

// txn is what one command changes in its jails: the events for the
// journal, and how to undo each change if they cannot be stored.
type txn struct {
	evs    []Event
	undo   []undoStep
	jails  []*jail // the jails whose queues hold its events, for deliver
	ticket uint64
	state  atomic.Int32
}

// undoKind is what an undoStep reverses.
type undoKind int

const (
	undoBan     undoKind = iota + 1 // a new ban: lift it
	undoProlong                     // a new end: restore the old one
	undoUnban                       // an unban: put the ban back
)

// undoStep reverses one change, unless a later change to the same ban
// (a newer version, another ban of the prefix) has superseded it: that one
// stands or falls with its own command. A ban is known by its seq.
type undoStep struct {
	kind    undoKind
	j       *jail
	key     netip.Prefix
	seq     uint64
	ver     uint32        // the entry's ver right after the change
	banTime time.Duration // undoProlong: the ban time before
	e       banEntry      // undoUnban: the ban lifted
	matches []string      // undoUnban: its messages
}

// begin returns the transaction of a command about to change bans, or nil
// without a journal: nothing then needs storing or undoing, and the
// command delivers its events itself.
func (m *Manager) begin() *txn {
	if m.journal == nil {
		return nil
	}
	return &txn{}
}

// touch notes that t changed j; j.mu is held.
func (t *txn) touch(j *jail) {
	if !slices.Contains(t.jails, j) {
		t.jails = append(t.jails, j)
	}
}

// record hands t's events to the journal; the jails' locks are held, so
// the journal sees changes to one address in the order they were made.
func (m *Manager) record(t *txn) {
	if t == nil || len(t.evs) == 0 {
		return
	}
	t.ticket = m.journal.Record(t.evs)
}

// finish waits until t's changes are stored, undoes them if they could
// not be, releases (or drops) its events, and delivers what the jails'
// queues then allow; without a transaction it delivers js's events. It is
// called with no lock held and returns the journal's error.
func (m *Manager) finish(t *txn, js ...*jail) error {
	if t == nil {
		for _, j := range js {
			if j != nil {
				m.deliver(j)
			}
		}
		return nil
	}
	var err error
	if len(t.evs) > 0 {
		err = m.journal.Wait(t.ticket)
	}
	if err != nil {
		m.undo(t)
		t.state.Store(txnDropped)
	} else {
		t.state.Store(txnReleased)
	}
	for _, j := range t.jails {
		m.deliver(j)
	}
	return err
}

// undo reverses t's changes, the last first, jail by jail.
func (m *Manager) undo(t *txn) {
	byJail := map[*jail][]undoStep{}
	for _, u := range t.undo {
		byJail[u.j] = append(byJail[u.j], u)
	}
	js := make([]*jail, 0, len(byJail))
	for j := range byJail {
		js = append(js, j)
	}
	slices.SortFunc(js, func(a, b *jail) int { return cmp.Compare(a.name, b.name) })
	for _, j := range js {
		steps := byJail[j]
		j.mu.Lock()
		for i := len(steps) - 1; i >= 0; i-- {
			m.undoLocked(j, steps[i])
		}
		j.mu.Unlock()
	}
}

// undoLocked reverses one change; j.mu is held.
func (m *Manager) undoLocked(j *jail, u undoStep) {
	i, ok := j.bans.find(u.key)
	same := ok && j.bans.at(i).seq == u.seq && j.bans.at(i).ver == u.ver
	switch u.kind {
	case undoBan:
		if same {
			e, _ := j.bans.remove(i)
			m.matches.free(int64(e.held))
			j.banTotal--
		}
	case undoProlong:
		if same {
			first := j.bans.setBanTime(i, u.banTime)
			j.bans.at(i).ver--
			m.kickRun(first)
		}
	case undoUnban:
		if !ok && !j.removed {
			e := u.e
			// Ended meanwhile: Run expires it at once, as it would have.
			_, first := j.bans.insert(e, m.holdMatches(&e, u.matches))
			m.kickRun(first)
			j.unbanTotal--
		}
	}
}
