package actions

import (
	"context"
	"slices"
	"testing"
	"time"

	"go.uber.org/zap"
)

// stateful is a test action owning kernel state named by its table.
type stateful struct {
	recorder
	state  string
	closed bool
}

func (s *stateful) State() string { return s.state }
func (s *stateful) Close(context.Context, bool) error {
	s.closed = true
	return nil
}

// TestRegistryOneActionPerState: specs whose actions would own the same
// kernel state share one action, so two actions never reconcile the same
// routes apart; Canonical still answers each spec's own form.
func TestRegistryOneActionPerState(t *testing.T) {
	var built []*stateful
	reg := NewRegistry()
	reg.Register("route", func(spec string, opts map[string]string) (Action, error) {
		table := opts["table"]
		if table == "" || table == "main" {
			table = "254"
		}
		a := &stateful{recorder: recorder{name: spec}, state: "route[table=" + table + "]"}
		built = append(built, a)
		return a, nil
	})
	a1, err := reg.Lookup("route")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := reg.Lookup("route[table=main]")
	a3, _ := reg.Lookup("route[table=254]")
	a4, _ := reg.Lookup("route[table=100]")
	if a1 != a2 || a1 != a3 || a1 == a4 {
		t.Fatalf("route, route[table=main], route[table=254] share an action: %v %v %v; route[table=100] apart: %v", a1 == a2, a1 == a3, a1 != a4, a4)
	}
	if !built[1].closed || !built[2].closed || built[0].closed {
		t.Fatal("the duplicates were not closed, or the kept action was")
	}
	if c, _ := reg.Canonical("route[ table = main ]"); c != "route[table=main]" {
		t.Fatalf("Canonical = %q, want the spec's own form", c)
	}
	if n := len(reg.Built()); n != 2 {
		t.Fatalf("Built lists %d actions, want 2", n)
	}
	reg.Forget(a4)
	if n := len(reg.Built()); n != 1 {
		t.Fatalf("after Forget, Built lists %d actions, want 1", n)
	}
	if a5, _ := reg.Lookup("route[table=100]"); a5 == a4 {
		t.Fatal("Lookup after Forget returned the forgotten action")
	}
}

// TestQueueDo: a function given to Do runs on the worker after the jobs
// submitted before it, and its error comes back.
func TestQueueDo(t *testing.T) {
	rec := &recorder{name: "rec"}
	q := NewQueue(NewRegistry(rec), zap.NewNop())
	for _, a := range []string{"192.0.2.1", "192.0.2.2"} {
		q.Submit(Job{Op: OpBan, Target: Target{Jail: "api", Prefix: host(a)}, Actions: []string{"rec"}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go q.Run(ctx)
	var seen []string
	err := q.Do(ctx, func(context.Context) error {
		rec.mu.Lock()
		seen = slices.Clone(rec.calls)
		rec.mu.Unlock()
		return context.Canceled
	})
	if err != context.Canceled {
		t.Fatalf("Do = %v, want f's error", err)
	}
	if !slices.Equal(seen, []string{"ban 192.0.2.1/32", "ban 192.0.2.2/32"}) {
		t.Fatalf("f saw %q: the jobs before it were not applied first", seen)
	}
}
