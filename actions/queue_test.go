package actions

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"testing"

	"go.uber.org/zap"
)

// recorder is a test action that records what it was asked to do and can
// fail a set number of times first.
type recorder struct {
	name  string
	mu    sync.Mutex
	calls []string
	fail  int
}

func (r *recorder) Name() string { return r.name }
func (r *recorder) Ban(_ context.Context, t Target) error {
	return r.record("ban " + t.Prefix.String())
}
func (r *recorder) Unban(_ context.Context, t Target) error {
	return r.record("unban " + t.Prefix.String())
}
func (r *recorder) record(s string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("injected failure")
	}
	r.calls = append(r.calls, s)
	return nil
}

func host(s string) netip.Prefix {
	a := netip.MustParseAddr(s)
	return netip.PrefixFrom(a, a.BitLen())
}

func TestQueue(t *testing.T) {
	tests := []struct {
		name       string
		jobs       []Job
		fail       int
		want       []string
		wantFailed uint64
	}{
		{
			name: "bans in order",
			jobs: []Job{
				{Op: OpBan, Target: Target{Jail: "api", Prefix: host("192.0.2.1")}, Actions: []string{"rec"}},
				{Op: OpBan, Target: Target{Jail: "api", Prefix: host("2001:db8::1")}, Actions: []string{"rec"}},
			},
			want: []string{"ban 192.0.2.1/32", "ban 2001:db8::1/128"},
		},
		{
			name: "ban then unban of one address collapses into the unban",
			jobs: []Job{
				{Op: OpBan, Target: Target{Jail: "api", Prefix: host("192.0.2.1")}, Actions: []string{"rec"}},
				{Op: OpUnban, Target: Target{Jail: "api", Prefix: host("192.0.2.1")}, Actions: []string{"rec"}},
			},
			want: []string{"unban 192.0.2.1/32"},
		},
		{
			name: "a failing action is retried, counted, and not lost",
			jobs: []Job{
				{Op: OpBan, Target: Target{Jail: "api", Prefix: host("198.51.100.7")}, Actions: []string{"rec"}},
			},
			fail:       2,
			want:       []string{"ban 198.51.100.7/32"},
			wantFailed: 2,
		},
		{
			name: "an unknown action is counted as a failure",
			jobs: []Job{
				{Op: OpBan, Target: Target{Jail: "api", Prefix: host("203.0.113.1")}, Actions: []string{"nope", "rec"}},
			},
			want:       []string{"ban 203.0.113.1/32"},
			wantFailed: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{name: "rec", fail: tt.fail}
			q := NewQueue(NewRegistry(rec, Log{L: zap.NewNop()}), zap.NewNop())
			// Submit before the worker starts so coalescing is deterministic.
			for _, j := range tt.jobs {
				q.Submit(j)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- q.Run(ctx) }()
			q.Wait()
			cancel()
			if err := <-done; err != nil {
				t.Fatalf("Run: %v", err)
			}
			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.calls) != len(tt.want) {
				t.Fatalf("calls = %q, want %q", rec.calls, tt.want)
			}
			for i := range tt.want {
				if rec.calls[i] != tt.want[i] {
					t.Fatalf("calls = %q, want %q", rec.calls, tt.want)
				}
			}
			if _, failed := q.Stats(); failed != tt.wantFailed {
				t.Errorf("failed = %d, want %d", failed, tt.wantFailed)
			}
		})
	}
}

func TestRegistryLookup(t *testing.T) {
	r := NewRegistry(Log{L: zap.NewNop()})
	if _, err := r.Lookup("log"); err != nil {
		t.Fatalf("Lookup(log): %v", err)
	}
	if _, err := r.Lookup("/bin/sh -c reboot"); !errors.Is(err, ErrUnknownAction) {
		t.Fatalf("Lookup(shell command) error = %v, want ErrUnknownAction", err)
	}
}
