package store

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// t0 is the tests' "now": time is passed in, never read from the clock.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func mustPrefix(s string) netip.Prefix {
	if !strings.Contains(s, "/") {
		return netip.PrefixFrom(netip.MustParseAddr(s), netip.MustParseAddr(s).BitLen())
	}
	return netip.MustParsePrefix(s)
}

// openTest opens a store in a fresh directory, closed at cleanup. Tests that
// are not about durability skip fsync.
func openTest(tb testing.TB, o Options) *DB {
	tb.Helper()
	if o.LockTimeout == 0 {
		o.LockTimeout = 5 * time.Second
	}
	o.NoSync = true
	d, err := Open(filepath.Join(tb.TempDir(), "sub", "bans.db"), o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	return d
}

// ban builds an OpBan change.
func ban(jail, prefix string, start time.Time, banTime time.Duration, count int, matches ...string) Change {
	return Change{Op: OpBan, Ban: Ban{Jail: jail, Prefix: mustPrefix(prefix), Start: start, BanTime: banTime, Count: count, Matches: matches}}
}

// unban builds an OpUnban change.
func unban(jail, prefix string) Change {
	return Change{Op: OpUnban, Ban: Ban{Jail: jail, Prefix: mustPrefix(prefix)}}
}

// putWait queues every change and waits until the last is durable.
func putWait(tb testing.TB, d *DB, cs ...Change) {
	tb.Helper()
	var seq uint64
	for _, c := range cs {
		if seq = d.Put(c); seq == 0 {
			tb.Fatalf("Put(%+v) refused", c)
		}
	}
	if err := d.WaitFor(context.Background(), seq); err != nil {
		tb.Fatal(err)
	}
}

// banString is a comparable, readable form of a stored ban.
func banString(b Ban) string {
	return fmt.Sprintf("%s %v start=%s bantime=%v count=%d matches=%q",
		b.Jail, b.Prefix, b.Start.UTC().Format(time.RFC3339Nano), b.BanTime, b.Count, b.Matches)
}

func banStrings(bs []Ban) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = banString(b)
	}
	return out
}

// histString is a comparable, readable form of a History.
func histString(h History) string {
	if h == (History{}) {
		return "none"
	}
	return fmt.Sprintf("count=%d last=%s bantime=%v", h.Count, h.LastStart.UTC().Format(time.RFC3339), h.LastBanTime)
}
