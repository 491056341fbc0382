// Package latency is a lock-free latency histogram with fixed buckets. The
// packages that time something on a hot path (a command, a store commit)
// keep one: Observe is a few atomic adds and allocates nothing. Package
// metrics reads it at scrape time. It imports only the standard library,
// so the packages keeping one do not depend on Prometheus.
package latency

import (
	"sync/atomic"
	"time"
)

// Bounds are the buckets' upper bounds in seconds, from 10µs (an attempt
// answered from memory) to 10s (a commit on a struggling disk); slower
// observations fall in the +Inf bucket only.
var Bounds = [...]float64{
	0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5, 10,
}

// bounds are Bounds as durations, for Observe's comparisons.
var bounds = func() (b [len(Bounds)]time.Duration) {
	for i, s := range Bounds {
		b[i] = time.Duration(s * float64(time.Second))
	}
	return b
}()

// Histogram counts observations by bucket. The zero value is ready; it
// must not be copied after first use.
type Histogram struct {
	counts [len(Bounds) + 1]atomic.Uint64 // per bucket, not cumulative; the last is +Inf
	sum    atomic.Int64                   // nanoseconds
}

// Observe records one duration.
func (h *Histogram) Observe(d time.Duration) {
	i := 0
	for i < len(bounds) && d > bounds[i] {
		i++
	}
	h.counts[i].Add(1)
	h.sum.Add(int64(d))
}

// Snapshot is a histogram's state at one moment, in Prometheus' shape.
type Snapshot struct {
	Count uint64
	Sum   float64 // seconds
	// Cumulative[i] counts the observations up to Bounds[i].
	Cumulative [len(Bounds)]uint64
}

// Snapshot reads the histogram. Observations made meanwhile may show in
// the counts and not yet in Sum (or the other way round); Count is always
// the sum of the buckets, so the buckets never exceed it.
func (h *Histogram) Snapshot() Snapshot {
	var s Snapshot
	var n uint64
	for i := range Bounds {
		n += h.counts[i].Load()
		s.Cumulative[i] = n
	}
	s.Count = n + h.counts[len(Bounds)].Load()
	s.Sum = time.Duration(h.sum.Load()).Seconds()
	return s
}

// Buckets returns the cumulative counts by upper bound, as
// prometheus.NewConstHistogram takes them.
func (s Snapshot) Buckets() map[float64]uint64 {
	m := make(map[float64]uint64, len(Bounds))
	for i, b := range Bounds {
		m[b] = s.Cumulative[i]
	}
	return m
}
