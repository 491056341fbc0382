package store

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// carry makes the committer's last commit carry n callers' changes: n
// groups queued under one hold of the lock go in one commit.
func carry(t *testing.T, d *DB, n int) {
	t.Helper()
	var seq uint64
	d.mu.Lock()
	for i := range n {
		seq = d.enqueueLocked(ban("php", fmt.Sprintf("198.51.100.%d", 100+i), t0, time.Hour, 0), nil)
	}
	d.mu.Unlock()
	if err := d.WaitFor(context.Background(), seq); err != nil {
		t.Fatal(err)
	}
}

// awaitWant returns once the committer waits for n callers (gather).
func awaitWant(t *testing.T, d *DB, n int) {
	t.Helper()
	ctx := waitCtx(t)
	for {
		d.mu.Lock()
		want := d.want
		d.mu.Unlock()
		if want == n {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("the committer waits for %d callers, want %d", want, n)
		}
		runtime.Gosched()
	}
}

// waitCtx bounds a wait that must end by itself: a caller held back for
// callers that never come fails the test instead of hanging it. Not a
// timing assertion: the gather window is an hour in these tests.
func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// TestGather checks the committer's batching: callers released by a commit
// share the next one, a lone caller never waits for company, and Close
// ends a wait, committing what is queued. The gather window is an hour, so
// only the count of queued callers can end a wait.
func TestGather(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, d *DB)
	}{
		{"callers released together share the next commit", func(t *testing.T, d *DB) {
			carry(t, d, 3)
			before := d.CommitStats().Latency.Count
			// One Put each, as three clients would: three groups. The
			// first finds the committer waiting for the other two.
			seq := d.Put(ban("php", "192.0.2.1", t0, time.Hour, 0))
			awaitWant(t, d, 3)
			for i := range 2 {
				seq = d.Put(ban("php", fmt.Sprintf("192.0.2.%d", i+2), t0, time.Hour, 0))
			}
			if err := d.WaitFor(waitCtx(t), seq); err != nil {
				t.Fatal(err)
			}
			if n := d.CommitStats().Latency.Count - before; n != 1 {
				t.Errorf("3 callers back from one commit went in %d commits, want 1", n)
			}
		}},
		{"a lone caller does not wait", func(t *testing.T, d *DB) {
			carry(t, d, 1)
			for i := range 3 {
				seq := d.Put(ban("php", fmt.Sprintf("192.0.2.%d", i+1), t0, time.Hour, 0))
				if err := d.WaitFor(waitCtx(t), seq); err != nil {
					t.Fatalf("ban %d: %v", i+1, err)
				}
			}
		}},
		{"a group of changes counts once", func(t *testing.T, d *DB) {
			carry(t, d, 1)
			// One caller's three changes: the committer expects one caller.
			seq := d.PutAll([]Change{ban("php", "192.0.2.1", t0, time.Hour, 0),
				ban("php", "192.0.2.2", t0, time.Hour, 0), ban("ssh", "192.0.2.1", t0, time.Hour, 0)})
			if err := d.WaitFor(waitCtx(t), seq); err != nil {
				t.Fatal(err)
			}
			seq = d.Put(ban("php", "192.0.2.3", t0, time.Hour, 0))
			if err := d.WaitFor(waitCtx(t), seq); err != nil {
				t.Fatal(err)
			}
		}},
		{"close ends the wait and commits", func(t *testing.T, d *DB) {
			carry(t, d, 3)
			seq := d.Put(ban("php", "192.0.2.1", t0, time.Hour, 0))
			if err := d.Close(); err != nil {
				t.Fatal(err)
			}
			if err := d.WaitFor(waitCtx(t), seq); err != nil {
				t.Fatalf("change queued before Close: %v", err)
			}
			d2, err := Open(d.Path(), Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			defer d2.Close()
			live, err := d2.Live("php", t0)
			if err != nil {
				t.Fatal(err)
			}
			if len(live) != 4 {
				t.Errorf("after Close and reopen: %d live bans, want 4", len(live))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openTest(t, Options{})
			d.window = time.Hour // before the first Put: the committer reads it under d.mu's order
			tt.run(t, d)
			checkSettled(t, d)
		})
	}
}
