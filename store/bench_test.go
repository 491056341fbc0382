package store

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// benchPrefix is the i-th of many distinct IPv6 host prefixes.
func benchPrefix(i uint64) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 8: byte(i >> 56), byte(i >> 48), byte(i >> 40),
		byte(i >> 32), byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}), 128)
}

func benchBan(i uint64) Change {
	return Change{Op: OpBan, Ban: Ban{Jail: "php", Prefix: benchPrefix(i), Start: t0, BanTime: time.Hour, Count: 1,
		Matches: []string{"PHP auth failure: bad token from client"}}}
}

// openBench opens a store with fsync on, in b.TempDir: on this machine that
// is the same ext4 disk as /var/lib.
func openBench(b *testing.B) *DB {
	b.Helper()
	d, err := Open(filepath.Join(b.TempDir(), "bans.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// BenchmarkPutWait: one caller, Put then WaitFor: one fsynced commit per ban.
func BenchmarkPutWait(b *testing.B) {
	d := openBench(b)
	ctx := context.Background()
	var i uint64
	b.ReportAllocs()
	for b.Loop() {
		i++
		if err := d.WaitFor(ctx, d.Put(benchBan(i))); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bans/s")
}

// BenchmarkPutWaitParallel: 8 and 64 callers each Put then WaitFor; the
// committer puts whatever piled up during one fsync into the next
// transaction. It reports fsyncs (commits) per ban as well as bans/s: the
// figure contention on the machine does not move.
func BenchmarkPutWaitParallel(b *testing.B) {
	for _, callers := range []int{8, 64} {
		b.Run(fmt.Sprintf("callers=%d", callers), func(b *testing.B) {
			d := openBench(b)
			ctx := context.Background()
			var next atomic.Uint64
			before := d.CommitStats().Latency.Count
			cpu0 := cpuTime(b)
			b.ReportAllocs()
			// RunParallel starts parallelism × GOMAXPROCS goroutines.
			b.SetParallelism(max(1, callers/runtime.GOMAXPROCS(0)))
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := d.WaitFor(ctx, d.Put(benchBan(next.Add(1)))); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bans/s")
			b.ReportMetric(float64(d.CommitStats().Latency.Count-before)/float64(b.N), "commits/ban")
			b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/ban")
		})
	}
}

// cpuTime is the process's CPU time so far, user and system: per ban, a
// figure other load on the machine moves far less than bans/s.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkLive1M: load 1,000,000 live bans, as the daemon does at startup.
// The file is built once, without fsync and in large batches.
func BenchmarkLive1M(b *testing.B) {
	const n = 1_000_000
	path := filepath.Join(b.TempDir(), "bans.db")
	d, err := Open(path, Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	for i := uint64(0); i < n; i++ {
		seq := d.Put(benchBan(i))
		if (i+1)%100_000 == 0 {
			if err := d.WaitFor(context.Background(), seq); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := d.Close(); err != nil {
		b.Fatal(err)
	}
	// The daemon opens the file before loading it: report that too.
	start := time.Now()
	if d, err = Open(path, Options{}); err != nil {
		b.Fatal(err)
	}
	opened := time.Since(start)
	defer d.Close()
	b.ReportAllocs()
	for b.Loop() {
		live, err := d.Live("", t0)
		if err != nil {
			b.Fatal(err)
		}
		if len(live) != n {
			b.Fatalf("Live returned %d bans, want %d", len(live), n)
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
	// After the loop: b.Loop's start deletes metrics reported before it.
	b.ReportMetric(opened.Seconds(), "s/open")
	if fi, err := os.Stat(path); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
	}
}

// BenchmarkImport is what an import does per ban: History, then Put, with
// fsync on and one WaitFor at the end. History must not scan the growing
// queue for prefixes nothing queued touches.
func BenchmarkImport(b *testing.B) {
	d := openBench(b)
	var i, seq uint64
	b.ReportAllocs()
	for b.Loop() {
		i++
		if _, err := d.History("php", benchPrefix(i)); err != nil {
			b.Fatal(err)
		}
		seq = d.Put(benchBan(i))
	}
	if err := d.WaitFor(context.Background(), seq); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "bans/s")
}
