package actions

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Op is a ban or an unban.
type Op int

// The operations a Queue applies.
const (
	OpBan Op = iota + 1
	OpUnban
)

func (o Op) String() string {
	if o == OpBan {
		return "ban"
	}
	return "unban"
}

// Job is one operation for one target through the named actions.
type Job struct {
	Op      Op
	Target  Target
	Actions []string
}

type key struct {
	jail   string
	prefix string
}

// Queue applies jobs off the request path. Submit never blocks on an action:
// it records the latest job per (jail, address) — a ban followed by an unban
// of the same address before the worker got to it collapses into the unban —
// and wakes the worker. A failing action is logged and retried with backoff,
// never dropped silently; Failures counts them for status.
type Queue struct {
	reg *Registry
	log *zap.Logger

	mu      sync.Mutex // guards the fields below
	pending map[key]Job
	order   []key // first-come order of pending keys
	failed  uint64
	applied uint64
	wake    chan struct{}
	idle    *sync.Cond // signalled when pending drains
	busy    bool
}

// NewQueue returns a queue applying jobs through the actions in reg.
func NewQueue(reg *Registry, log *zap.Logger) *Queue {
	q := &Queue{reg: reg, log: log, pending: make(map[key]Job), wake: make(chan struct{}, 1)}
	q.idle = sync.NewCond(&q.mu)
	return q
}

// Submit queues a job, replacing a pending one for the same jail and address.
func (q *Queue) Submit(j Job) {
	k := key{j.Target.Jail, j.Target.Prefix.String()}
	q.mu.Lock()
	if _, ok := q.pending[k]; !ok {
		q.order = append(q.order, k)
	}
	q.pending[k] = j
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Stats returns how many jobs were applied and how many action calls failed.
func (q *Queue) Stats() (applied, failed uint64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.applied, q.failed
}

// Wait blocks until nothing is pending or in progress. Tests and shutdown use it.
func (q *Queue) Wait() {
	q.mu.Lock()
	for len(q.order) > 0 || q.busy {
		q.idle.Wait()
	}
	q.mu.Unlock()
}

// Run applies jobs until ctx ends, then applies what is still pending (so
// acknowledged bans reach their actions) and returns nil.
func (q *Queue) Run(ctx context.Context) error {
	for {
		q.drain(ctx)
		select {
		case <-ctx.Done():
			q.drain(context.WithoutCancel(ctx))
			return nil
		case <-q.wake:
		}
	}
}

func (q *Queue) drain(ctx context.Context) {
	for {
		q.mu.Lock()
		if len(q.order) == 0 {
			q.busy = false
			q.idle.Broadcast()
			q.mu.Unlock()
			return
		}
		batch := q.order
		q.order = nil
		jobs := make([]Job, 0, len(batch))
		for _, k := range batch {
			jobs = append(jobs, q.pending[k])
			delete(q.pending, k)
		}
		q.busy = true
		q.mu.Unlock()
		for _, j := range jobs {
			q.apply(ctx, j)
		}
	}
}

// apply runs one job through each of its actions, retrying a failing action
// a few times with backoff before logging it as failed.
func (q *Queue) apply(ctx context.Context, j Job) {
	for _, name := range j.Actions {
		a, err := q.reg.Lookup(name)
		if err != nil {
			q.countFailure()
			q.log.Error("action", zap.String("op", j.Op.String()), zap.Error(err))
			continue
		}
		backoff := 10 * time.Millisecond
		for attempt := 1; ; attempt++ {
			if j.Op == OpBan {
				err = a.Ban(ctx, j.Target)
			} else {
				err = a.Unban(ctx, j.Target)
			}
			if err == nil {
				break
			}
			q.countFailure()
			q.log.Warn("action failed", zap.String("action", name), zap.String("op", j.Op.String()),
				zap.String("jail", j.Target.Jail), zap.Stringer("ip", j.Target.Prefix),
				zap.Int("attempt", attempt), zap.Error(err))
			if attempt == 5 || ctx.Err() != nil {
				q.log.Error("action gave up", zap.String("action", name), zap.String("op", j.Op.String()),
					zap.String("jail", j.Target.Jail), zap.Stringer("ip", j.Target.Prefix), zap.Error(err))
				break
			}
			t := time.NewTimer(backoff)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
			backoff *= 4
		}
	}
	q.mu.Lock()
	q.applied++
	q.mu.Unlock()
}

func (q *Queue) countFailure() {
	q.mu.Lock()
	q.failed++
	q.mu.Unlock()
}
