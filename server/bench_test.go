package server_test

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/server"
)

// BenchmarkAttempt8 drives the in-process server with 8 persistent clients
// sending attempts from a pool of addresses, as PHP workers holding their
// connection open would. b.N is the total across clients.
func BenchmarkAttempt8(b *testing.B) {
	benchAttempt(b, 8)
}

// BenchmarkAttempt1 is one client, one request at a time: latency bound.
func BenchmarkAttempt1(b *testing.B) { benchAttempt(b, 1) }

func benchAttempt(b *testing.B, clients int) {
	d := startB(b, jail.Config{Name: "api", MaxRetry: jail.MaxRetryLimit, FindTime: 1800e9, BanTime: 3600e9})
	const pool = 4096
	reqs := make([][]byte, pool)
	for i := range reqs {
		reqs[i], _ = protocol.AppendRequest(nil, 4, []any{"set", "api", "attempt", fmt.Sprintf("2001:db8::%x", i), "Incorrect token used."})
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for c := 0; c < clients; c++ {
		conn, err := net.Dial("unix", d)
		if err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.Close()
			r := protocol.NewReader(conn, 1<<16)
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if _, err := conn.Write(reqs[i%pool]); err != nil {
					b.Error(err)
					return
				}
				if _, err := r.ReadMessage(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// startB is start for benchmarks: it returns the socket path. The idle
// timeout is the daemon's default, so that the read and write deadlines
// cost what they cost in the daemon.
func startB(b *testing.B, jails ...jail.Config) string {
	return startTB(b, server.Options{IdleTimeout: 5 * time.Minute}, jails...).sock
}
