package actions

import (
	"context"
	"slices"
	"testing"

	"go.uber.org/zap"
)

// TestActionStats counts per action and op: targets applied, calls that
// failed (each retry), and an unknown action's lookup; Depth counts the
// jobs waiting for the worker.
func TestActionStats(t *testing.T) {
	rec := &recorder{name: "rec", fail: 1}
	q := NewQueue(NewRegistry(rec), zap.NewNop())
	for _, j := range []Job{
		{Op: OpBan, Target: Target{Jail: "api", Prefix: host("192.0.2.1")}, Actions: []string{"rec"}},
		{Op: OpBan, Target: Target{Jail: "api", Prefix: host("192.0.2.2")}, Actions: []string{"rec", "nope"}},
		{Op: OpUnban, Target: Target{Jail: "api", Prefix: host("198.51.100.1")}, Actions: []string{"rec"}},
		// Replaces the first job: the depth counts addresses, not jobs.
		{Op: OpBan, Target: Target{Jail: "api", Prefix: host("192.0.2.1")}, Actions: []string{"rec"}},
	} {
		q.Submit(j)
	}
	if d := q.Depth(); d != 3 {
		t.Fatalf("depth before the worker runs: %d, want 3", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	q.Wait()
	cancel()
	<-done
	if d := q.Depth(); d != 0 {
		t.Errorf("depth after: %d, want 0", d)
	}
	want := []ActionStats{
		{Action: "nope", Op: OpBan, Failed: 1},
		// The unban goes first and fails once: retried, then applied.
		{Action: "rec", Op: OpBan, Applied: 2},
		{Action: "rec", Op: OpUnban, Applied: 1, Failed: 1},
	}
	if got := q.ActionStats(); !slices.Equal(got, want) {
		t.Errorf("ActionStats = %+v, want %+v", got, want)
	}
}
