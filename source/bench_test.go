package source

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/testenv"
)

// BenchmarkLatency measures the time from a line's append (one write) to
// its delivery, with each backend at its default settings (polling: a
// stat every DefaultInterval). Writes come at random moments relative to
// the polling period. Reported: p50 and p99 in microseconds. Run polling
// with -benchtime=100x: each sample takes up to a second.
func BenchmarkLatency(b *testing.B) {
	for _, backend := range testBackends {
		b.Run(backend, func(b *testing.B) {
			p := filepath.Join(b.TempDir(), "x.log")
			appendTo(b, p, "")
			got := make(chan time.Time, 1)
			f, err := NewFiles(FileOptions{Patterns: []string{p}, Backend: backend})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go f.Run(ctx, func(Line) error { got <- time.Now(); return nil })
			waitUntil(b, "first scan", func() bool { return f.scans.Load() > 0 })
			w, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			rng := rand.New(rand.NewPCG(1, 1))
			lat := make([]time.Duration, 0, b.N)
			line := []byte("Nov 30 11:00:00 web1 sshd[4242]: Failed password for root from 192.0.2.1 port 22 ssh2\n")
			b.ResetTimer()
			for range b.N {
				if backend == BackendPolling {
					b.StopTimer()
					time.Sleep(time.Duration(rng.Int64N(int64(DefaultInterval))))
					b.StartTimer()
				}
				t0 := time.Now()
				w.Write(line)
				lat = append(lat, (<-got).Sub(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}

// BenchmarkThroughput reads a file of b.N syslog-like lines from its
// start: the cost per line of reading, splitting, decoding and
// delivering.
func BenchmarkThroughput(b *testing.B) {
	p := filepath.Join(b.TempDir(), "x.log")
	var sb strings.Builder
	for i := range b.N {
		fmt.Fprintf(&sb, "Nov 30 11:00:00 web1 sshd[%d]: Failed password for root from 192.0.2.1 port 22 ssh2\n", i)
	}
	appendTo(b, p, sb.String())
	b.SetBytes(int64(sb.Len() / max(b.N, 1)))
	f, err := NewFiles(FileOptions{Patterns: []string{p}, Backend: BackendPolling, Positions: &MemoryPositions{}})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	b.ResetTimer()
	f.Run(ctx, func(Line) error {
		if n++; n == b.N {
			cancel()
		}
		return nil
	})
}

// BenchmarkFollow100Files follows 100 files (one glob) and, per op,
// appends a line to each and waits for the 100 deliveries. Reported: the
// resident memory and heap the follower added once all files were open
// and read, and its goroutines.
func BenchmarkFollow100Files(b *testing.B) {
	for _, backend := range testBackends {
		b.Run(backend, func(b *testing.B) {
			dir := b.TempDir()
			const files = 100
			for i := range files {
				appendTo(b, filepath.Join(dir, fmt.Sprintf("f%03d.log", i)), "first line\n")
			}
			runtime.GC()
			rss0, heap0, g0 := rssKiB(), heapKiB(), runtime.NumGoroutine()
			got := make(chan struct{}, files)
			f, err := NewFiles(FileOptions{Patterns: []string{filepath.Join(dir, "*.log")}, Backend: backend,
				Interval: 100 * time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go f.Run(ctx, func(Line) error { got <- struct{}{}; return nil })
			for range files {
				<-got
			}
			runtime.GC()
			rss, heap, gs := rssKiB()-rss0, heapKiB()-heap0, runtime.NumGoroutine()-g0
			b.ResetTimer()
			for i := range b.N {
				for k := range files {
					appendTo(b, filepath.Join(dir, fmt.Sprintf("f%03d.log", k)), "line "+strconv.Itoa(i)+"\n")
				}
				for range files {
					<-got
				}
			}
			b.StopTimer()
			if n := len(f.Paths()); n != files {
				b.Fatalf("%d files followed", n)
			}
			b.ReportMetric(float64(rss), "rss-KiB")
			b.ReportMetric(float64(heap), "heap-KiB")
			b.ReportMetric(float64(gs), "goroutines")
		})
	}
}

func rssKiB() int64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	return 0
}

func heapKiB() int64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse / 1024)
}

// BenchmarkJournalLatency measures, per entry, the time from starting
// systemd-journal-remote to write it into the followed journal file to
// its delivery (so it includes that program's start, a few ms), and
// reports p50/p99 in microseconds.
func BenchmarkJournalLatency(b *testing.B) {
	journalctl := testenv.Tool(b, "journalctl")
	remote := testenv.JournalRemote(b)
	file := filepath.Join(b.TempDir(), "x.journal")
	w := &journalWriter{t: b, remote: remote, base: time.Now()}
	w.write(file, w.entry("", "sshd", "sshd", "first"))
	j, err := NewJournal(JournalOptions{Files: []string{file}, Journalctl: journalctl})
	if err != nil {
		b.Fatal(err)
	}
	got := make(chan time.Time, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go j.Run(ctx, func(Line) error { got <- time.Now(); return nil })
	waitUntil(b, "journalctl started", func() bool { return j.journalctlPID() != 0 })
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		w.write(file, w.entry("", "sshd", "sshd", "line "+strconv.Itoa(i)))
		lat = append(lat, (<-got).Sub(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
