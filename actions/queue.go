package actions

import (
	"context"
	"errors"
	"fmt"
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
	order   []key   // first-come order of pending keys
	calls   []*call // Do's functions, run by the worker between batches
	failed  uint64
	applied uint64
	lastErr string
	byJail  map[string]uint64 // failed calls per jail of their targets
	wake    chan struct{}
	idle    *sync.Cond // signalled when pending drains
	busy    bool

	// byAction counts targets applied and calls failed per action and
	// op, for metrics (stats.go); guarded by mu.
	byAction map[actionOp]*actionCounts
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

// call is one Do: its function and where its result goes.
type call struct {
	f    func(context.Context) error
	done chan error
}

// Do runs f on the queue's worker, after the jobs pending when Do is
// called (so f sees the actions as those jobs leave them), and returns its
// error. Actions are called from one goroutine at a time, so f (a
// Reconcile, say) never interleaves with a job's ban or unban. Do waits
// for Run to pick f up, or for ctx to end.
func (q *Queue) Do(ctx context.Context, f func(context.Context) error) error {
	c := &call{f: f, done: make(chan error, 1)}
	q.mu.Lock()
	q.calls = append(q.calls, c)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	select {
	case err := <-c.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
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
	for len(q.order) > 0 || len(q.calls) > 0 || q.busy {
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
		// The calls made so far run after this batch, which holds every
		// job queued before them (or those were applied already).
		calls := q.calls
		q.calls = nil
		batch := q.order
		q.order = nil
		if len(batch) == 0 && len(calls) == 0 {
			q.busy = false
			q.idle.Broadcast()
			q.mu.Unlock()
			return
		}
		jobs := make([]Job, 0, len(batch))
		for _, k := range batch {
			jobs = append(jobs, q.pending[k])
			delete(q.pending, k)
		}
		q.busy = true
		q.mu.Unlock()
		if len(jobs) > 0 {
			q.applyAll(ctx, jobs)
		}
		for _, c := range calls {
			c.done <- c.f(ctx)
		}
	}
}

// applyAll groups jobs by action and applies each action's unbans, then its
// bans: a batch per kernel call for a BatchAction, one call per target
// otherwise. Unbans go first so that, with one jail unbanning an address
// while another bans it, the action's own per-jail bookkeeping ends with
// the ban.
func (q *Queue) applyAll(ctx context.Context, jobs []Job) {
	type work struct {
		bans, unbans []Target
	}
	// By action, not by spec: two specs may share one action (see
	// Registry.Lookup), whose unbans must all go before its bans.
	byAction := map[Action]*work{}
	var acts []Action
	for _, j := range jobs {
		for _, name := range j.Actions {
			a, err := q.reg.Lookup(name)
			if err != nil {
				q.countFailure(err)
				q.countAction(name, j.Op, 0, 1)
				q.log.Error("action", zap.Error(err))
				continue
			}
			w := byAction[a]
			if w == nil {
				w = &work{}
				byAction[a] = w
				acts = append(acts, a)
			}
			if j.Op == OpBan {
				w.bans = append(w.bans, j.Target)
			} else {
				w.unbans = append(w.unbans, j.Target)
			}
		}
	}
	for _, a := range acts {
		w := byAction[a]
		if len(w.unbans) > 0 {
			q.apply(ctx, a, OpUnban, w.unbans)
		}
		if len(w.bans) > 0 {
			q.apply(ctx, a, OpBan, w.bans)
		}
	}
	q.mu.Lock()
	q.applied += uint64(len(jobs))
	q.mu.Unlock()
}

// apply runs op for ts through a, retrying a failing call with backoff a
// few times before logging it as failed. Actions are idempotent, so a
// retried batch re-applies what already went through harmlessly.
func (q *Queue) apply(ctx context.Context, a Action, op Op, ts []Target) {
	call := func(ts []Target) error {
		if ba, ok := a.(BatchAction); ok {
			if op == OpBan {
				return ba.BanBatch(ctx, ts)
			}
			return ba.UnbanBatch(ctx, ts)
		}
		var errs []error
		for _, t := range ts {
			var err error
			if op == OpBan {
				err = a.Ban(ctx, t)
			} else {
				err = a.Unban(ctx, t)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", t.Prefix, err))
			}
		}
		return errors.Join(errs...)
	}
	backoff := 10 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := call(ts)
		if err == nil {
			q.countAction(a.Name(), op, uint64(len(ts)), 0)
			return
		}
		q.countFailure(err, ts...)
		q.countAction(a.Name(), op, 0, 1)
		q.log.Warn("action failed", zap.String("action", a.Name()), zap.String("op", op.String()),
			zap.Int("targets", len(ts)), zap.Int("attempt", attempt), zap.Error(err))
		if attempt == 5 || ctx.Err() != nil {
			q.log.Error("action gave up", zap.String("action", a.Name()), zap.String("op", op.String()),
				zap.Int("targets", len(ts)), zap.Error(err))
			return
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

func (q *Queue) countFailure(err error, ts ...Target) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.failed++
	q.lastErr = err.Error()
	if q.byJail == nil {
		q.byJail = make(map[string]uint64)
	}
	seen := map[string]bool{}
	for _, t := range ts {
		if !seen[t.Jail] {
			seen[t.Jail] = true
			q.byJail[t.Jail]++
		}
	}
}

// JailFailures returns how many action calls failed for targets of jail.
func (q *Queue) JailFailures(jail string) uint64 {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.byJail[jail]
}

// LastError returns the text of the latest action failure, or "".
func (q *Queue) LastError() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.lastErr
}
