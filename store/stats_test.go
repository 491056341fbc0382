package store

import (
	"testing"
	"time"
)

// TestCommitStats: every commit is timed and its changes counted; none
// failed.
func TestCommitStats(t *testing.T) {
	d := openTest(t, Options{})
	if s := d.CommitStats(); s.Latency.Count != 0 || s.Changes != 0 || s.Failed != 0 {
		t.Fatalf("a new store's CommitStats: %+v", s)
	}
	putWait(t, d, ban("php", "192.0.2.1", t0, time.Hour, 1), ban("php", "192.0.2.2", t0, time.Hour, 1))
	putWait(t, d, unban("php", "192.0.2.1"))
	s := d.CommitStats()
	// Group commit may put the first two changes in one transaction or two.
	if s.Changes != 3 || s.Latency.Count < 2 || s.Latency.Count > 3 || s.Failed != 0 {
		t.Fatalf("CommitStats: %d changes in %d commits, %d failed; want 3 in 2 or 3, none failed", s.Changes, s.Latency.Count, s.Failed)
	}
	if b := s.Latency.Cumulative; b[len(b)-1] > s.Latency.Count {
		t.Fatalf("buckets %v exceed the count %d", b, s.Latency.Count)
	}
}
