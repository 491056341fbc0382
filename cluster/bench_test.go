package cluster_test

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/banserver/banserver/cluster"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/testenv"
)

// quietNode is a Node that never runs: Failure only queues.
func quietNode(tb testing.TB) *cluster.Node {
	n, err := cluster.New(cluster.Options{URL: "redis://127.0.0.1:1", Node: "bench"}, jail.NewManager(jail.Options{}))
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

var benchFailure = jail.Failure{Jail: "web", Key: netip.MustParsePrefix("203.0.113.5/32"), At: time.Unix(1700000000, 0), Count: 1, MaxRetry: 10, FindTime: 600 * time.Second}

// Failure runs on the attempt's path with the jail's lock held: it must
// not allocate, full queue or not.
func TestFailureDoesNotAllocate(t *testing.T) {
	n := quietNode(t)
	for range cluster.DefaultMaxFailures + 10 { // fill the ring: drops too
		n.Failure(benchFailure)
	}
	if allocs := testing.AllocsPerRun(1000, func() { n.Failure(benchFailure) }); allocs != 0 {
		t.Fatalf("Failure allocates %v times per call", allocs)
	}
	if st := n.Status(); st.Pending != cluster.DefaultMaxFailures || st.DroppedFailures == 0 {
		t.Fatalf("status %+v: want a full queue that counted drops", st)
	}
}

// BenchmarkFailure is the cost Node.Failure adds to an attempt.
func BenchmarkFailure(b *testing.B) {
	n := quietNode(b)
	b.ReportAllocs()
	for b.Loop() {
		n.Failure(benchFailure)
	}
}

// BenchmarkPublishFailures is the batched throughput of failures to a real
// redis-server: each op is one failure of a distinct address, queued then
// counted by the cluster script.
func BenchmarkPublishFailures(b *testing.B) {
	r := testenv.StartRedis(b)
	m := jail.NewManager(jail.Options{})
	n, err := cluster.New(cluster.Options{URL: r.URL(), Node: "bench", MaxFailures: 1 << 20}, m)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(20 * time.Second)
	for !n.Status().Connected {
		if time.Now().After(deadline) {
			b.Fatal("not connected")
		}
		time.Sleep(5 * time.Millisecond)
	}
	f := benchFailure
	b.ResetTimer()
	for i := range b.N {
		f.Key = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
		n.Failure(f)
	}
	for n.Status().Pending > 0 {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "failures/s")
}
