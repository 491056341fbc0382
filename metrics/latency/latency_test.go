package latency

import (
	"testing"
	"time"
)

func TestHistogram(t *testing.T) {
	tests := []struct {
		name string
		obs  []time.Duration
		// want are the cumulative counts at the bounds given.
		want  map[float64]uint64
		count uint64
		sum   float64
	}{
		{name: "empty", want: map[float64]uint64{0.00001: 0, 10: 0}},
		{name: "on a bound counts in it", obs: []time.Duration{10 * time.Microsecond, time.Millisecond},
			want: map[float64]uint64{0.00001: 1, 0.0005: 1, 0.001: 2, 10: 2}, count: 2, sum: 0.00101},
		{name: "beyond the last bound is +Inf only", obs: []time.Duration{time.Minute, time.Second},
			want: map[float64]uint64{0.5: 0, 1: 1, 10: 1}, count: 2, sum: 61},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, d := range tt.obs {
				h.Observe(d)
			}
			s := h.Snapshot()
			if s.Count != tt.count {
				t.Errorf("count %d, want %d", s.Count, tt.count)
			}
			if d := s.Sum - tt.sum; d > 1e-9 || d < -1e-9 {
				t.Errorf("sum %g, want %g", s.Sum, tt.sum)
			}
			b := s.Buckets()
			if len(b) != len(Bounds) {
				t.Fatalf("%d buckets, want %d", len(b), len(Bounds))
			}
			for bound, want := range tt.want {
				if b[bound] != want {
					t.Errorf("bucket %g: %d, want %d", bound, b[bound], want)
				}
			}
		})
	}
}

func TestObserveAllocatesNothing(t *testing.T) {
	var h Histogram
	if n := testing.AllocsPerRun(100, func() { h.Observe(3 * time.Millisecond) }); n != 0 {
		t.Fatalf("Observe allocates %v times", n)
	}
}
