package load

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"
)

func TestBucketEdges(t *testing.T) {
	// Every value must fall in a bucket whose upper edge is >= the value
	// and within the promised relative error.
	for _, v := range []uint64{0, 1, 31, 32, 33, 63, 64, 65, 1000, 123456789, 1 << 40, 1<<63 - 1} {
		i := bucketOf(v)
		hi := bucketHigh(i)
		if hi < v {
			t.Errorf("bucketHigh(bucketOf(%d)) = %d, below the value", v, hi)
		}
		if v >= subCount && float64(hi-v) > float64(v)/subCount {
			t.Errorf("value %d: bucket edge %d off by more than 1/%d", v, hi, subCount)
		}
		if i > 0 && bucketHigh(i-1) >= v {
			t.Errorf("value %d: previous bucket edge %d should be below it", v, bucketHigh(i-1))
		}
	}
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{name: "empty", samples: nil, p: 50, want: 0},
		{name: "one sample", samples: []time.Duration{7 * time.Microsecond}, p: 99, want: 7 * time.Microsecond},
		{name: "small exact values", samples: []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, p: 50, want: 5},
		{name: "p100 is max", samples: []time.Duration{10, 20, 3000}, p: 100, want: 3000},
		{name: "p0 is min", samples: []time.Duration{500, 20, 3000}, p: 0, want: 20},
		{name: "outlier only at p99", samples: append(repeat(100*time.Microsecond, 99), time.Second), p: 99, want: 100 * time.Microsecond},
		{name: "outlier at p99.5", samples: append(repeat(100*time.Microsecond, 99), time.Second), p: 99.5, want: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, s := range tt.samples {
				h.Record(s)
			}
			got := h.Percentile(tt.p)
			// Bucket edges round up by at most 1/subCount.
			if got < tt.want || float64(got-tt.want) > float64(tt.want)/subCount {
				t.Errorf("Percentile(%v) = %v, want %v (within 1/%d above)", tt.p, got, tt.want, subCount)
			}
		})
	}
}

func repeat(d time.Duration, n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = d
	}
	return s
}

// TestPercentileAgainstSort checks the histogram against exact order
// statistics on random data, and that Merge equals recording into one.
func TestPercentileAgainstSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var a, b, all Histogram
	samples := make([]time.Duration, 100000)
	for i := range samples {
		// Log-uniform from 1µs to ~1s, like latencies with a tail.
		d := time.Duration(float64(int64(1000)<<r.IntN(20)) * (1 + r.Float64()))
		samples[i] = d
		all.Record(d)
		if i%2 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	for _, p := range []float64{1, 50, 90, 99, 99.9} {
		exact := samples[int(p/100*float64(len(samples)))-1]
		got := all.Percentile(p)
		if got < exact || float64(got-exact) > float64(exact)/subCount {
			t.Errorf("p%v = %v, exact %v", p, got, exact)
		}
		if m := a.Percentile(p); m != got {
			t.Errorf("merged p%v = %v, single histogram %v", p, m, got)
		}
	}
	if a.Count() != all.Count() || a.Max() != all.Max() || a.Min() != all.Min() {
		t.Errorf("merged count/min/max %d/%v/%v, want %d/%v/%v", a.Count(), a.Min(), a.Max(), all.Count(), all.Min(), all.Max())
	}
}

func BenchmarkHistogramRecord(b *testing.B) {
	var h Histogram
	d := 37 * time.Microsecond
	for i := 0; b.Loop(); i++ {
		h.Record(d + time.Duration(i&1023))
	}
}
