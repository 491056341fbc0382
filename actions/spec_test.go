package actions

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"

	"go.uber.org/zap"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		name     string
		spec     string
		wantName string
		wantOpts map[string]string
		wantErr  error
		canon    string
	}{
		{name: "bare", spec: "blackhole", wantName: "blackhole", canon: "blackhole"},
		{name: "options sorted", spec: " blackhole[ table=100 ,protocol=241] ", wantName: "blackhole",
			wantOpts: map[string]string{"table": "100", "protocol": "241"}, canon: "blackhole[protocol=241, table=100]"},
		{name: "empty options", spec: "log[]", wantName: "log", wantOpts: map[string]string{}, canon: "log"},
		{name: "shell command", spec: "/bin/sh -c reboot", wantErr: ErrUnknownAction},
		{name: "unclosed", spec: "blackhole[table=1", wantErr: ErrBadOptions},
		{name: "no value", spec: "blackhole[table]", wantErr: ErrBadOptions},
		{name: "empty", spec: "", wantErr: ErrUnknownAction},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, o, err := ParseSpec(tt.spec)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || n != tt.wantName || (len(o) > 0 || len(tt.wantOpts) > 0) && !reflect.DeepEqual(o, tt.wantOpts) {
				t.Fatalf("ParseSpec(%q) = %q, %v, %v", tt.spec, n, o, err)
			}
			if c := FormatSpec(n, o); c != tt.canon {
				t.Fatalf("FormatSpec = %q, want %q", c, tt.canon)
			}
		})
	}
}

func TestRegistryFactories(t *testing.T) {
	r := NewRegistry(Log{L: zap.NewNop()})
	builds := 0
	r.Register("rec", func(spec string, opts map[string]string) (Action, error) {
		builds++
		if opts["fail"] != "" {
			return nil, ErrBadOptions
		}
		return &recorder{name: spec}, nil
	})
	a1, err := r.Lookup("rec[x=1, y=2]")
	if err != nil {
		t.Fatal(err)
	}
	a2, err := r.Lookup("rec[y=2,x=1]")
	if err != nil || a1 != a2 || builds != 1 {
		t.Fatalf("same spec in another order built again: %v %v builds=%d", a1, a2, builds)
	}
	if a1.Name() != "rec[x=1, y=2]" {
		t.Fatalf("Name = %q", a1.Name())
	}
	if _, err := r.Lookup("rec[fail=1]"); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("bad options: %v", err)
	}
	if _, err := r.Lookup("log[level=debug]"); !errors.Is(err, ErrBadOptions) {
		t.Fatalf("options to log: %v", err)
	}
	if got := r.Names(); !reflect.DeepEqual(got, []string{"log", "rec"}) {
		t.Fatalf("Names = %v", got)
	}
}

// batcher records the batches it is handed.
type batcher struct {
	recorder
	mu      sync.Mutex
	batches [][]string
}

func (b *batcher) BanBatch(_ context.Context, ts []Target) error   { return b.batch("ban", ts) }
func (b *batcher) UnbanBatch(_ context.Context, ts []Target) error { return b.batch("unban", ts) }
func (b *batcher) batch(op string, ts []Target) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := []string{op}
	for _, t := range ts {
		s = append(s, t.Prefix.String())
	}
	b.batches = append(b.batches, s)
	return nil
}

func TestQueueBatches(t *testing.T) {
	b := &batcher{recorder: recorder{name: "batch"}}
	q := NewQueue(NewRegistry(b), zap.NewNop())
	q.Submit(Job{Op: OpBan, Target: Target{Jail: "a", Prefix: host("192.0.2.1")}, Actions: []string{"batch"}})
	q.Submit(Job{Op: OpBan, Target: Target{Jail: "a", Prefix: host("192.0.2.2")}, Actions: []string{"batch"}})
	q.Submit(Job{Op: OpUnban, Target: Target{Jail: "b", Prefix: host("192.0.2.3")}, Actions: []string{"batch"}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	q.Wait()
	cancel()
	<-done
	want := [][]string{{"unban", "192.0.2.3/32"}, {"ban", "192.0.2.1/32", "192.0.2.2/32"}}
	if !reflect.DeepEqual(b.batches, want) {
		t.Fatalf("batches = %v, want %v", b.batches, want)
	}
	if len(b.calls) != 0 {
		t.Fatalf("single calls %v made to a batch action", b.calls)
	}
}
