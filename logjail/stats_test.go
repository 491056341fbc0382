package logjail

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/banserver/banserver/jail"
)

// TestFileStats counts each file's lines: read, matched (a failure the jail
// counted), ignored (failures it did not count: too old, an ignored
// address) and errors; a line no regex matches is only read. The counts
// outlive a change of the jail's settings, which restarts its reader.
func TestFileStats(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	now := time.Now().Format("2006-01-02T15:04:05")
	old := time.Now().Add(-24 * time.Hour).Format("2006-01-02T15:04:05")
	lines := func(ls ...string) []byte {
		var s string
		for _, l := range ls {
			s += l + "\n"
		}
		return []byte(s)
	}
	os.WriteFile(a, lines(
		now+" 192.0.2.1 - Incorrect token used.",
		now+" 192.0.2.2 - Incorrect token used.",
		old+" 192.0.2.3 - Incorrect token used.", // older than findtime
		now+" 192.0.2.4 - Token accepted.",       // no failure
	), 0o600)
	os.WriteFile(b, lines(
		now+" 198.51.100.1 - Incorrect token used.",
		now+" 203.0.113.9 - Incorrect token used.", // ignoreip
	), 0o600)
	jails := jail.NewManager(jail.Options{SelfAddrs: func() []netip.Addr { return nil }})
	if err := jails.Add(jail.Config{Name: "api", MaxRetry: 10, FindTime: 30 * time.Minute, BanTime: time.Hour,
		IgnoreIP: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}}); err != nil {
		t.Fatal(err)
	}
	jails.Start("api")
	lm := New(Options{Attempt: jails.AttemptAt})
	s := seedSettings(a)
	s.LogPaths = append(s.LogPaths, LogPath{Path: b})
	if err := lm.Configure("api", s); err != nil {
		t.Fatal(err)
	}
	lm.Start("api")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- lm.Run(ctx) }()
	defer func() { cancel(); <-done }()

	waitRead := func(n uint64) []FileStats {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			fs := lm.FileStats()
			var read uint64
			for _, f := range fs {
				read += f.Read
			}
			if read >= n {
				return fs
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d lines read within 20s, want %d: %+v", read, n, fs)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	want := []FileStats{
		{Jail: "api", File: a, Read: 4, Matched: 2, Ignored: 1},
		{Jail: "api", File: b, Read: 2, Matched: 1, Ignored: 1},
	}
	if got := waitRead(6); !slices.Equal(got, want) {
		t.Fatalf("FileStats = %+v\nwant %+v", got, want)
	}

	// A new failregex restarts the reader (from the start: no positions
	// kept); the counts go on from where they were.
	s.FailRegex = append(s.FailRegex, `^\s*<ADDR>\s+\S+\s+Token accepted\.`)
	if err := lm.Configure("api", s); err != nil {
		t.Fatal(err)
	}
	got := waitRead(12)
	want[0] = FileStats{Jail: "api", File: a, Read: 8, Matched: 5, Ignored: 2}
	want[1] = FileStats{Jail: "api", File: b, Read: 4, Matched: 2, Ignored: 2}
	if !slices.Equal(got, want) {
		t.Fatalf("after a restart, FileStats = %+v\nwant %+v", got, want)
	}
}
