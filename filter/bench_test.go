package filter

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/banserver/banserver/filter/dates"
)

// benchLines returns n lines of which one in every `every` is hit, the
// others miss, with addresses varying over 192.0.2.0/24.
func benchLines(n, every int, hit, miss string) []string {
	out := make([]string, n)
	for i := range out {
		l := miss
		if i%every == 0 {
			l = hit
		}
		out[i] = fmt.Sprintf(l, i%250+1)
	}
	return out
}

// BenchmarkProcess measures lines per second through New(...).Process:
// the seed's application log (datepattern ^{DATE}) and Debian's sshd
// filter, with every line a failure and with one line in ten a failure.
// fail2ban-regex 1.0.2 on this machine: about 6,000 lines/s (seed, all
// failing), 71,000/s (seed, 10%), 18,000-20,000/s (sshd).
func BenchmarkProcess(b *testing.B) {
	seed := Settings{
		DatePattern: `^{DATE}`,
		FailRegex:   []string{`^\s*<ADDR>\s+\S+\s+Incorrect token used\.`},
	}
	sshd := Settings{Name: "sshd", Dirs: []string{f2bFilterDir}}
	const (
		seedHit  = "2021-06-11T17:00:03 192.0.2.%d - Incorrect token used. (more info here ...)"
		seedMiss = "2021-06-11T17:00:03 192.0.2.%d - Token accepted. (more info here ...)"
		sshdHit  = "Jun 11 17:00:03 host sshd[1234]: Failed password for invalid user admin from 192.0.2.%d port 22 ssh2"
		sshdMiss = "Jun 11 17:00:03 host sshd[1234]: pam_unix(sshd:session): session opened for user root(uid=%d) by (uid=0)"
	)
	for _, bc := range []struct {
		name      string
		s         Settings
		every     int
		hit, miss string
	}{
		{"seed/100%", seed, 1, seedHit, seedMiss},
		{"seed/10%", seed, 10, seedHit, seedMiss},
		{"sshd/100%", sshd, 1, sshdHit, sshdMiss},
		{"sshd/10%", sshd, 10, sshdHit, sshdMiss},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if bc.s.Name != "" {
				if _, err := os.Stat(f2bFilterDir); err != nil {
					b.Skipf("fail2ban's filters: %v", err)
				}
			}
			s := bc.s
			s.Now = func() time.Time { return unitNow }
			s.Local = dates.UTC
			f, err := New(s)
			if err != nil {
				b.Fatal(err)
			}
			lines := benchLines(1000, bc.every, bc.hit, bc.miss)
			// The lines must hit as intended.
			hits := 0
			for _, l := range lines {
				got, err := f.Process(l, time.Time{})
				if err != nil {
					b.Fatal(err)
				}
				hits += len(got)
			}
			if want := len(lines) / bc.every; hits != want {
				b.Fatalf("%d failures in %d lines, want %d", hits, len(lines), want)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := f.Process(lines[i%len(lines)], time.Time{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
