package logjail

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/banserver/banserver/jail"
)

// BenchmarkAppendToAttempt measures, per line, the time from its append
// to the log (one write by this process, as an application's logger
// does) to its failure being counted by the jail, with the inotify and
// the polling backend; it reports p50 and p99 in microseconds. One line
// at a time: the figure is the latency of a quiet log, not a burst.
func BenchmarkAppendToAttempt(b *testing.B) {
	for _, backend := range []string{"inotify", "polling"} {
		b.Run(backend, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "api.log")
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			counted := make(chan time.Time, 1)
			jails := jail.NewManager(jail.Options{SelfAddrs: func() []netip.Addr { return nil }})
			if err := jails.Add(jail.Config{Name: "api", MaxRetry: 1000, FindTime: time.Hour, BanTime: time.Hour}); err != nil {
				b.Fatal(err)
			}
			if err := jails.Start("api"); err != nil {
				b.Fatal(err)
			}
			m := New(Options{Attempt: func(j string, a netip.Addr, at time.Time, msgs []string) (int, error) {
				n, err := jails.AttemptAt(j, a, at, msgs)
				counted <- time.Now()
				return n, err
			}})
			s := seedSettings(path)
			s.Backend = backend
			if err := m.Configure("api", s); err != nil {
				b.Fatal(err)
			}
			m.Start("api")
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- m.Run(ctx) }()
			defer func() { cancel(); <-done }()
			// The follower is up once a first line is counted.
			line := func(i int) string {
				return fmt.Sprintf("%s 192.0.2.%d - Incorrect token used. (request %d)\n",
					time.Now().Format("2006-01-02T15:04:05"), 1+i%250, i)
			}
			f.WriteString(line(0))
			select {
			case <-counted:
			case <-time.After(30 * time.Second):
				b.Fatal("the first line was not counted within 30 s")
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				l := line(i + 1)
				t0 := time.Now()
				if _, err := f.WriteString(l); err != nil {
					b.Fatal(err)
				}
				select {
				case t1 := <-counted:
					lat = append(lat, t1.Sub(t0))
				case <-time.After(30 * time.Second):
					b.Fatalf("line %d not counted within 30 s", i+1)
				}
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
