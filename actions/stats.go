package actions

import (
	"cmp"
	"slices"
)

// actionOp keys the per-action counters.
type actionOp struct {
	action string
	op     Op
}

type actionCounts struct{ applied, failed uint64 }

// countAction adds to an action's counters: targets applied, calls failed.
func (q *Queue) countAction(action string, op Op, applied, failed uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.byAction == nil {
		q.byAction = make(map[actionOp]*actionCounts)
	}
	k := actionOp{action, op}
	c := q.byAction[k]
	if c == nil {
		c = &actionCounts{}
		q.byAction[k] = c
	}
	c.applied += applied
	c.failed += failed
}

// ActionStats are one action's counters for one op.
type ActionStats struct {
	// Action is the action's canonical spec (its Name), or the spec as
	// written when no action could be built for it.
	Action string
	Op     Op
	// Applied counts the targets the action applied; Failed its calls
	// that failed (each retry counts, as Stats's failed).
	Applied, Failed uint64
}

// ActionStats returns every action's counters, by action then op.
func (q *Queue) ActionStats() []ActionStats {
	q.mu.Lock()
	out := make([]ActionStats, 0, len(q.byAction))
	for k, c := range q.byAction {
		out = append(out, ActionStats{Action: k.action, Op: k.op, Applied: c.applied, Failed: c.failed})
	}
	q.mu.Unlock()
	slices.SortFunc(out, func(a, b ActionStats) int {
		return cmp.Or(cmp.Compare(a.Action, b.Action), cmp.Compare(a.Op, b.Op))
	})
	return out
}

// Depth returns how many jobs wait for the worker: one per jail and
// address, since a newer job replaces a pending one.
func (q *Queue) Depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending)
}
