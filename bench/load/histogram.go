package load

import (
	"math/bits"
	"time"
)

// subBits sets the histogram's precision: 2^subBits buckets per power of
// two, so a recorded value is off by at most 1/2^subBits (about 3%) — as
// HDR histograms do, and enough to tell p99 apart without keeping samples.
const (
	subBits  = 5
	subCount = 1 << subBits
	// Values up to 2^63 ns fit: bits.Len64 is at most 64.
	bucketCount = (64 - subBits + 1) * subCount
)

// Histogram records durations in log-linear buckets: constant memory and
// no allocation per sample, whatever the request count. The zero value is
// ready to use; it is not safe for concurrent use (give each client its own
// and Merge them).
type Histogram struct {
	counts [bucketCount]uint64
	n      uint64
	min    time.Duration
	max    time.Duration
}

// bucketOf maps a value to its bucket: values below subCount get a bucket
// each; above, the top subBits+1 significant bits pick the bucket.
func bucketOf(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return (shift+1)*subCount + int(v>>uint(shift)) - subCount
}

// bucketHigh is the largest value that falls in bucket i.
func bucketHigh(i int) uint64 {
	if i < subCount {
		return uint64(i)
	}
	shift := i/subCount - 1
	mant := uint64(i%subCount + subCount)
	return (mant+1)<<uint(shift) - 1
}

// Record adds one sample; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	if d < 0 {
		d = 0
	}
	h.counts[bucketOf(uint64(d))]++
	if h.n == 0 || d < h.min {
		h.min = d
	}
	if d > h.max {
		h.max = d
	}
	h.n++
}

// Merge adds every sample of o to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
}

// Count is the number of samples recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Max is the largest sample, exact.
func (h *Histogram) Max() time.Duration { return h.max }

// Min is the smallest sample, exact.
func (h *Histogram) Min() time.Duration { return h.min }

// Percentile returns a value at or just above the p-th percentile (0..100):
// the upper edge of the bucket holding the sample of that rank, clamped to
// the exact min and max. It is 0 when nothing was recorded.
func (h *Histogram) Percentile(p float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	// rank is 1-based: the smallest sample is rank 1.
	rank := uint64(p / 100 * float64(h.n))
	if float64(rank) < p/100*float64(h.n) {
		rank++ // ceil
	}
	if rank < 1 {
		rank = 1
	}
	if rank > h.n {
		rank = h.n
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			v := time.Duration(bucketHigh(i))
			if v > h.max {
				v = h.max
			}
			if v < h.min {
				v = h.min
			}
			return v
		}
	}
	return h.max
}
