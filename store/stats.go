package store

import (
	"sync/atomic"
	"time"

	"github.com/banserver/banserver/metrics/latency"
)

// commitStats count the committer's transactions, for metrics.
type commitStats struct {
	latency latency.Histogram // every commit, failed ones included
	failed  atomic.Uint64     // commits that failed
	changes atomic.Uint64     // changes in commits that succeeded or failed
}

// done records one commit of n changes that took d.
func (c *commitStats) done(d time.Duration, n int) {
	c.latency.Observe(d)
	c.changes.Add(uint64(n))
}

// CommitStats are the committer's counters since Open.
type CommitStats struct {
	// Latency times each commit (a bbolt transaction with its fsync); its
	// Count is the commits made.
	Latency latency.Snapshot
	// Failed counts the commits that failed (their changes refused).
	Failed uint64
	// Changes counts the changes the commits carried.
	Changes uint64
}

// CommitStats returns the committer's counters.
func (d *DB) CommitStats() CommitStats {
	return CommitStats{Latency: d.commits.latency.Snapshot(), Failed: d.commits.failed.Load(), Changes: d.commits.changes.Load()}
}
