package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPutLive(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name    string
		changes []Change
		jail    string // Live's argument
		want    []string
	}{
		{
			name:    "one ban",
			changes: []Change{ban("php", "192.0.2.1", t0, h, 1, "bad token")},
			want:    []string{`php 192.0.2.1/32 start=2026-01-02T03:04:05Z bantime=1h0m0s count=1 matches=["bad token"]`},
		},
		{
			name: "a ban replaces the live ban of its jail and prefix",
			changes: []Change{
				ban("php", "192.0.2.1", t0.Add(-time.Minute), h, 1, "a"),
				ban("php", "192.0.2.1", t0, 2*h, 2, "b"),
			},
			want: []string{`php 192.0.2.1/32 start=2026-01-02T03:04:05Z bantime=2h0m0s count=2 matches=["b"]`},
		},
		{
			name:    "unban removes it",
			changes: []Change{ban("php", "192.0.2.1", t0, h, 1), unban("php", "192.0.2.1")},
			want:    nil,
		},
		{
			name: "ban after unban applies in queue order",
			changes: []Change{
				ban("php", "192.0.2.1", t0, h, 1), unban("php", "192.0.2.1"), ban("php", "192.0.2.1", t0, h, 2),
			},
			want: []string{`php 192.0.2.1/32 start=2026-01-02T03:04:05Z bantime=1h0m0s count=2 matches=[]`},
		},
		{
			name:    "unban of an unknown ban is a no-op",
			changes: []Change{unban("nojail", "192.0.2.1"), ban("php", "192.0.2.2", t0, h, 1), unban("php", "192.0.2.1")},
			want:    []string{`php 192.0.2.2/32 start=2026-01-02T03:04:05Z bantime=1h0m0s count=1 matches=[]`},
		},
		{
			name:    "forever ban, started long ago",
			changes: []Change{ban("php", "192.0.2.1", t0.AddDate(-5, 0, 0), -1, 1)},
			want:    []string{`php 192.0.2.1/32 start=2021-01-02T03:04:05Z bantime=-1ns count=1 matches=[]`},
		},
		{
			name: "ended bans are skipped, one ending exactly now included",
			changes: []Change{
				ban("php", "192.0.2.1", t0.Add(-2*h), h, 1),
				ban("php", "192.0.2.2", t0.Add(-h), h, 1),
				ban("php", "192.0.2.3", t0.Add(-h), h+time.Nanosecond, 1),
			},
			want: []string{`php 192.0.2.3/32 start=2026-01-02T02:04:05Z bantime=1h0m0.000000001s count=1 matches=[]`},
		},
		{
			name: "other jails untouched by an unban; all jails in jail order",
			changes: []Change{
				ban("ssh", "192.0.2.1", t0, h, 1), ban("php", "192.0.2.1", t0, h, 1), unban("php", "192.0.2.1"),
				ban("apache", "2001:db8::1", t0, h, 3),
			},
			want: []string{
				`apache 2001:db8::1/128 start=2026-01-02T03:04:05Z bantime=1h0m0s count=3 matches=[]`,
				`ssh 192.0.2.1/32 start=2026-01-02T03:04:05Z bantime=1h0m0s count=1 matches=[]`,
			},
		},
		{
			name:    "one jail only",
			changes: []Change{ban("ssh", "192.0.2.1", t0, h, 1), ban("php", "192.0.2.2", t0, h, 1)},
			jail:    "php",
			want:    []string{`php 192.0.2.2/32 start=2026-01-02T03:04:05Z bantime=1h0m0s count=1 matches=[]`},
		},
		{
			name:    "unknown jail",
			changes: []Change{ban("ssh", "192.0.2.1", t0, h, 1)},
			jail:    "php",
			want:    nil,
		},
		{
			name: "IPv6 prefixes are masked; IPv4 before IPv6, then address, then length",
			changes: []Change{
				ban("php", "2001:db8:1::77/64", t0, h, 1),
				ban("php", "2001:db8:1::/48", t0, h, 1),
				ban("php", "203.0.113.9", t0, h, 1),
				ban("php", "198.51.100.7", t0, h, 1),
				ban("php", "2001:db8::1", t0, h, 1),
			},
			want: []string{
				`php 198.51.100.7/32 start=2026-01-02T03:04:05Z bantime=1h0m0s count=1 matches=[]`,
				`php 203.0.113.9/32 start=2026-01-02T03:04:05Z bantime=1h0m0s count=1 matches=[]`,
				`php 2001:db8::1/128 start=2026-01-02T03:04:05Z bantime=1h0m0s count=1 matches=[]`,
				`php 2001:db8:1::/48 start=2026-01-02T03:04:05Z bantime=1h0m0s count=1 matches=[]`,
				`php 2001:db8:1::/64 start=2026-01-02T03:04:05Z bantime=1h0m0s count=1 matches=[]`,
			},
		},
		{
			name:    "unban by an unmasked prefix",
			changes: []Change{ban("php", "2001:db8:1::/64", t0, h, 1), unban("php", "2001:db8:1::5/64")},
			want:    nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openTest(t, Options{})
			putWait(t, d, tt.changes...)
			got, err := d.Live(tt.jail, t0)
			if err != nil {
				t.Fatal(err)
			}
			if g := banStrings(got); !slices.Equal(g, tt.want) {
				t.Errorf("Live:\n got %q\nwant %q", g, tt.want)
			}
		})
	}
}

func TestHistory(t *testing.T) {
	h := time.Hour
	tests := []struct {
		name    string
		changes []Change
		jail    string
		prefix  string
		want    string
	}{
		{name: "never banned", jail: "php", prefix: "192.0.2.1", want: "none"},
		{
			name:    "counts every ban, unbans do not reset it",
			changes: []Change{ban("php", "192.0.2.1", t0, h, 1), unban("php", "192.0.2.1"), ban("php", "192.0.2.1", t0.Add(h), 2*h, 0)},
			jail:    "php", prefix: "192.0.2.1",
			want: "count=2 last=2026-01-02T04:04:05Z bantime=2h0m0s",
		},
		{
			name:    "a higher count from the caller wins",
			changes: []Change{ban("php", "192.0.2.1", t0, h, 7)},
			jail:    "php", prefix: "192.0.2.1",
			want: "count=7 last=2026-01-02T03:04:05Z bantime=1h0m0s",
		},
		{
			name:    "per jail",
			changes: []Change{ban("php", "192.0.2.1", t0, h, 1), ban("ssh", "192.0.2.1", t0.Add(h), h, 1), ban("ssh", "192.0.2.1", t0.Add(2*h), h, 2)},
			jail:    "php", prefix: "192.0.2.1",
			want: "count=1 last=2026-01-02T03:04:05Z bantime=1h0m0s",
		},
		{
			name: "over all jails: the sum, and the latest ban",
			changes: []Change{
				ban("ssh", "192.0.2.1", t0.Add(h), -1, 1), ban("ssh", "192.0.2.1", t0.Add(2*h), -1, 2),
				ban("php", "192.0.2.1", t0, h, 1), ban("php", "192.0.2.2", t0.Add(5*h), h, 1),
			},
			prefix: "192.0.2.1",
			want:   "count=3 last=2026-01-02T05:04:05Z bantime=-1ns",
		},
		{
			name:    "a prefix is its masked network",
			changes: []Change{ban("php", "2001:db8::1/64", t0, h, 1)},
			jail:    "php", prefix: "2001:db8::ffff/64",
			want: "count=1 last=2026-01-02T03:04:05Z bantime=1h0m0s",
		},
		{
			name:    "another prefix length is another prefix",
			changes: []Change{ban("php", "2001:db8::/64", t0, h, 1)},
			jail:    "php", prefix: "2001:db8::/56",
			want: "none",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openTest(t, Options{})
			// History must see queued changes: ask before and after they
			// are durable, and expect the same.
			var seq uint64
			for _, c := range tt.changes {
				seq = d.Put(c)
			}
			got, err := d.History(tt.jail, mustPrefix(tt.prefix))
			if err != nil {
				t.Fatal(err)
			}
			if g := histString(got); g != tt.want {
				t.Errorf("History before WaitFor = %s, want %s", g, tt.want)
			}
			if seq > 0 {
				if err := d.WaitFor(context.Background(), seq); err != nil {
					t.Fatal(err)
				}
			}
			if got, err = d.History(tt.jail, mustPrefix(tt.prefix)); err != nil {
				t.Fatal(err)
			}
			if g := histString(got); g != tt.want {
				t.Errorf("History after WaitFor = %s, want %s", g, tt.want)
			}
		})
	}
}

// TestHistoryQueued checks History against the committer in every state
// (idle, committing, just committed): after the nth Put of a prefix, with
// nothing waited for, the count is exactly n, never a change missed and
// never one counted twice.
func TestHistoryQueued(t *testing.T) {
	for _, sync := range []bool{false, true} {
		name := "nosync"
		if sync {
			name = "fsync"
		}
		t.Run(name, func(t *testing.T) {
			d, err := Open(filepath.Join(t.TempDir(), "bans.db"), Options{NoSync: !sync})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			p := mustPrefix("192.0.2.1")
			n := 2000
			if sync {
				n = 300
			}
			for i := 1; i <= n; i++ {
				d.Put(ban("php", "192.0.2.1", t0.Add(time.Duration(i)), time.Hour, 0))
				if i%7 == 0 {
					d.Put(ban("ssh", "192.0.2.1", t0, time.Hour, 0)) // another jail, for the overall count
				}
				h, err := d.History("php", p)
				if err != nil {
					t.Fatal(err)
				}
				if h.Count != i {
					t.Fatalf("after %d bans: History.Count = %d", i, h.Count)
				}
				all, err := d.History("", p)
				if err != nil {
					t.Fatal(err)
				}
				if want := i + i/7; all.Count != want {
					t.Fatalf("after %d bans: overall History.Count = %d, want %d", i, all.Count, want)
				}
			}
		})
	}
}

func TestPurge(t *testing.T) {
	d := openTest(t, Options{})
	h := time.Hour
	putWait(t, d,
		ban("php", "192.0.2.1", t0.Add(-3*h), h, 1),                // ended 2h ago: ban and history go
		ban("php", "192.0.2.2", t0.Add(-3*h), h, 1),                // ended, but banned again below: stays
		ban("php", "192.0.2.2", t0, h, 2),                          //
		ban("php", "192.0.2.3", t0.Add(-30*24*h), -1, 1),           // forever: stays
		ban("ssh", "192.0.2.4", t0.Add(-3*h), 3*h, 1),              // ends now, after the cut: stays
		ban("ssh", "192.0.2.5", t0.Add(-3*h), h, 1),                // ended; its ban was lifted but history remains: history goes
		unban("ssh", "192.0.2.5"),                                  //
		ban("ssh", "2001:db8::/64", t0.Add(-90*time.Minute), h, 1), // ended exactly at the cut: stays
	)
	n, err := d.Purge(t0.Add(-30 * time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("Purge removed %d records, want 3 (two histories and one ban)", n)
	}
	live, err := d.Live("", t0.Add(-4*h))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range live {
		got = append(got, b.Jail+" "+b.Prefix.String())
	}
	want := []string{"php 192.0.2.2/32", "php 192.0.2.3/32", "ssh 192.0.2.4/32", "ssh 2001:db8::/64"}
	if !slices.Equal(got, want) {
		t.Errorf("bans left: %q, want %q", got, want)
	}
	for _, tt := range []struct {
		name, jail, prefix string
		want               int
	}{
		{"purged", "php", "192.0.2.1", 0},
		{"banned again", "php", "192.0.2.2", 2},
		{"forever", "php", "192.0.2.3", 1},
		{"unbanned and ended", "ssh", "192.0.2.5", 0},
		{"at the cut", "ssh", "2001:db8::/64", 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, err := d.History(tt.jail, mustPrefix(tt.prefix))
			if err != nil {
				t.Fatal(err)
			}
			if h.Count != tt.want {
				t.Errorf("History.Count = %d, want %d", h.Count, tt.want)
			}
		})
	}
	if n, err := d.Purge(t0.Add(-30 * time.Minute)); err != nil || n != 0 {
		t.Errorf("second Purge = %d, %v; want 0, nil", n, err)
	}
}

func TestForget(t *testing.T) {
	d := openTest(t, Options{})
	putWait(t, d, ban("php", "192.0.2.1", t0, time.Hour, 1), ban("ssh", "192.0.2.1", t0, time.Hour, 1))
	if err := d.Forget("php"); err != nil {
		t.Fatal(err)
	}
	if err := d.Forget("never-existed"); err != nil {
		t.Fatal(err)
	}
	live, err := d.Live("", t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(live) != 1 || live[0].Jail != "ssh" {
		t.Errorf("Live after Forget(php) = %q", banStrings(live))
	}
	if h, _ := d.History("", mustPrefix("192.0.2.1")); h.Count != 1 {
		t.Errorf("History.Count after Forget(php) = %d, want 1", h.Count)
	}
	// A ban queued after Forget starts the jail again.
	putWait(t, d, ban("php", "192.0.2.1", t0, time.Hour, 0))
	if h, _ := d.History("php", mustPrefix("192.0.2.1")); h.Count != 1 {
		t.Errorf("History.Count of a forgotten jail banned again = %d, want 1", h.Count)
	}
}

func TestMaxMatches(t *testing.T) {
	many := make([]string, 25)
	for i := range many {
		many[i] = strings.Repeat("m", i)
	}
	tests := []struct {
		name    string
		max     int
		matches []string
		want    []string
	}{
		{name: "default keeps the last 10", max: 0, matches: many, want: many[15:]},
		{name: "fewer than the cap", max: 0, matches: many[:3], want: many[:3]},
		{name: "cap of 3", max: 3, matches: many, want: many[22:]},
		{name: "negative keeps none", max: -1, matches: many, want: nil},
		{name: "none given", max: 5, matches: nil, want: nil},
		{name: "empty strings kept", max: 5, matches: []string{"", "x", ""}, want: []string{"", "x", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openTest(t, Options{MaxMatches: tt.max})
			in := slices.Clone(tt.matches)
			c := ban("php", "192.0.2.1", t0, time.Hour, 1, in...)
			seq := d.Put(c)
			for i := range in {
				in[i] = "overwritten" // the caller may reuse its slice at once
			}
			if err := d.WaitFor(context.Background(), seq); err != nil {
				t.Fatal(err)
			}
			live, err := d.Live("php", t0)
			if err != nil {
				t.Fatal(err)
			}
			if len(live) != 1 || !slices.Equal(live[0].Matches, tt.want) {
				t.Errorf("Matches = %q, want %q", live[0].Matches, tt.want)
			}
		})
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "bans.db")
	d, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d.Path() != path {
		t.Errorf("Path() = %q, want %q", d.Path(), path)
	}
	h := time.Hour
	// Close commits what is queued: no WaitFor before it.
	d.Put(ban("php", "192.0.2.1", t0, h, 1, "one", "two"))
	d.Put(ban("php", "2001:db8::/64", t0, -1, 4))
	d.Put(ban("ssh", "192.0.2.1", t0.Add(-2*h), h, 1)) // ended: history only
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		path string
		perm os.FileMode
	}{{"file", path, 0o600}, {"directory", filepath.Dir(path), 0o700}} {
		fi, err := os.Stat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != tt.perm {
			t.Errorf("%s mode %v, want %v", tt.name, fi.Mode().Perm(), tt.perm)
		}
	}

	d, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	live, err := d.Live("", t0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`php 192.0.2.1/32 start=2026-01-02T03:04:05Z bantime=1h0m0s count=1 matches=["one" "two"]`,
		`php 2001:db8::/64 start=2026-01-02T03:04:05Z bantime=-1ns count=4 matches=[]`,
	}
	if g := banStrings(live); !slices.Equal(g, want) {
		t.Errorf("Live after reopen:\n got %q\nwant %q", g, want)
	}
	hist, err := d.History("", mustPrefix("192.0.2.1"))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := histString(hist), "count=2 last=2026-01-02T03:04:05Z bantime=1h0m0s"; g != w {
		t.Errorf("History after reopen = %s, want %s", g, w)
	}
	// Sequence numbers restart with the process; a new change still works.
	putWait(t, d, ban("php", "192.0.2.1", t0.Add(h), h, 2))
	if hist, _ = d.History("php", mustPrefix("192.0.2.1")); hist.Count != 2 {
		t.Errorf("History.Count after a ban following reopen = %d, want 2", hist.Count)
	}
}

func TestClosed(t *testing.T) {
	d := openTest(t, Options{})
	before := d.Put(ban("php", "192.0.2.1", t0, time.Hour, 1))
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := d.WaitFor(ctx, before); err != nil {
		t.Errorf("WaitFor of a change Close committed = %v, want nil", err)
	}
	after := d.Put(ban("php", "192.0.2.2", t0, time.Hour, 1)) // must not panic
	if after != 0 {
		t.Errorf("Put after Close = %d, want 0", after)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"WaitFor of a Put after Close", func() error { return d.WaitFor(ctx, after) }},
		{"WaitFor beyond Queued", func() error { return d.WaitFor(ctx, before+1) }},
		{"Live", func() error { _, err := d.Live("", t0); return err }},
		{"History", func() error { _, err := d.History("php", mustPrefix("192.0.2.1")); return err }},
		{"Purge", func() error { _, err := d.Purge(t0); return err }},
		{"Forget", func() error { return d.Forget("php") }},
		{"Close again", d.Close},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, ErrClosed) {
				t.Errorf("err = %v, want ErrClosed", err)
			}
		})
	}
}

// TestCloseWhileWaiting: waiters blocked when Close comes are answered by its
// final commit, and Puts racing Close either commit or are refused.
func TestCloseWhileWaiting(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "bans.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8*50)
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				seq := d.Put(ban("php", "192.0.2."+string(rune('0'+g)), t0, time.Hour, i))
				err := d.WaitFor(context.Background(), seq)
				if seq == 0 && !errors.Is(err, ErrClosed) || seq != 0 && err != nil {
					errs <- err
				}
			}
		})
	}
	if err := d.Close(); err != nil {
		t.Error(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("WaitFor racing Close: %v", err)
	}
}

func TestInvalid(t *testing.T) {
	d := openTest(t, Options{})
	tests := []struct {
		name string
		c    Change
	}{
		{"no op", Change{Ban: Ban{Jail: "php", Prefix: mustPrefix("192.0.2.1")}}},
		{"internal op", Change{Op: opPurge, Ban: Ban{Jail: "php", Prefix: mustPrefix("192.0.2.1")}}},
		{"empty jail", Change{Op: OpBan, Ban: Ban{Prefix: mustPrefix("192.0.2.1")}}},
		{"long jail", Change{Op: OpBan, Ban: Ban{Jail: strings.Repeat("j", 256), Prefix: mustPrefix("192.0.2.1")}}},
		{"no prefix", Change{Op: OpUnban, Ban: Ban{Jail: "php"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			seq := d.Put(tt.c)
			if seq != 0 {
				t.Fatalf("Put = %d, want 0", seq)
			}
			if err := d.WaitFor(context.Background(), seq); !errors.Is(err, ErrNotQueued) {
				t.Errorf("WaitFor(0) = %v, want ErrNotQueued", err)
			}
		})
	}
	if _, err := d.History("php", netip.PrefixFrom(mustPrefix("192.0.2.1").Addr(), 40)); !errors.Is(err, ErrInvalid) {
		t.Errorf("History of an invalid prefix: %v, want ErrInvalid", err)
	}
	if err := d.Forget(""); !errors.Is(err, ErrInvalid) {
		t.Errorf("Forget(\"\"): %v, want ErrInvalid", err)
	}
	if d.Queued() != 0 {
		t.Errorf("Queued() = %d after refused changes, want 0", d.Queued())
	}
}

func TestWaitForContext(t *testing.T) {
	d := openTest(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	seq := d.Put(ban("php", "192.0.2.1", t0, time.Hour, 1))
	// Either the commit already happened or the cancelled context ends the
	// wait; nothing else.
	if err := d.WaitFor(ctx, seq); err != nil && !errors.Is(err, context.Canceled) {
		t.Errorf("WaitFor with a cancelled context = %v", err)
	}
	if err := d.WaitFor(context.Background(), seq); err != nil {
		t.Error(err)
	}
}

func TestConcurrentPutsRace(t *testing.T) {
	d := openTest(t, Options{})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				p := fmt.Sprintf("2001:db8::%x:%x", g, i%20)
				seq := d.Put(ban("php", p+"/128", t0, time.Hour, 0, "m"))
				if i%3 == 0 {
					seq = d.Put(unban("php", p+"/128"))
				}
				if _, err := d.History("", mustPrefix(p)); err != nil {
					t.Error(err)
					return
				}
				if err := d.WaitFor(context.Background(), seq); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			if _, err := d.Live("", t0); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	if d.Queued() != 4*(200+67) {
		t.Errorf("Queued() = %d, want %d", d.Queued(), 4*(200+67))
	}
	checkSettled(t, d)
}

// TestHistoryDuringPurgeForget: while a Purge or a Forget is queued or being
// committed, History answers either the state before it or the state after,
// never a mix or a double count.
func TestHistoryDuringPurgeForget(t *testing.T) {
	d := openTest(t, Options{})
	p := mustPrefix("192.0.2.1")
	for round := range 50 {
		// php's ban has ended (Purge takes its history), ssh's is forever.
		putWait(t, d, ban("php", "192.0.2.1", t0.Add(-2*time.Hour), time.Hour, 0), ban("ssh", "192.0.2.1", t0, -1, 0))
		all, err := d.History("", p)
		if err != nil {
			t.Fatal(err)
		}
		php, err := d.History("php", p)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		op := "Purge"
		if round%2 == 0 {
			go func() { _, err := d.Purge(t0); done <- err }()
		} else {
			op = "Forget"
			go func() { done <- d.Forget("php") }()
		}
		for waiting := true; waiting; {
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
				waiting = false
			default:
			}
			if h, err := d.History("", p); err != nil {
				t.Fatal(err)
			} else if h.Count != all.Count && h.Count != all.Count-php.Count {
				t.Fatalf("round %d, during %s: overall count %d, want %d or %d", round, op, h.Count, all.Count, all.Count-php.Count)
			}
			if h, err := d.History("php", p); err != nil {
				t.Fatal(err)
			} else if h.Count != php.Count && h.Count != 0 {
				t.Fatalf("round %d, during %s: php count %d, want %d or 0", round, op, h.Count, php.Count)
			}
		}
		if h, _ := d.History("php", p); h.Count != 0 {
			t.Fatalf("round %d: php history after %s: %d", round, op, h.Count)
		}
	}
}

// TestHistoryQueuedPurgeForget: a Purge or Forget that is queued counts for
// History at once, like a queued ban. The operations are queued directly,
// without the wait Purge and Forget do, to look at that moment.
func TestHistoryQueuedPurgeForget(t *testing.T) {
	tests := []struct {
		name     string
		op       Change
		php, all int // History counts once op is queued
	}{
		{"purge", Change{Op: opPurge, Ban: Ban{Start: t0}}, 0, 1},
		{"purge before anything ended", Change{Op: opPurge, Ban: Ban{Start: t0.Add(-24 * time.Hour)}}, 2, 3},
		{"forget php", Change{Op: OpForget, Ban: Ban{Jail: "php"}}, 0, 1},
		{"forget another jail", Change{Op: OpForget, Ban: Ban{Jail: "ssh"}}, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := openTest(t, Options{})
			p := mustPrefix("192.0.2.1")
			putWait(t, d, ban("php", "192.0.2.1", t0.Add(-3*time.Hour), time.Hour, 0),
				ban("php", "192.0.2.1", t0.Add(-2*time.Hour), time.Hour, 0), ban("ssh", "192.0.2.1", t0, -1, 0))
			var n int
			d.mu.Lock()
			seq := d.enqueueLocked(tt.op, &n)
			d.mu.Unlock()
			for _, when := range []string{"queued", "durable"} {
				if when == "durable" {
					if err := d.WaitFor(context.Background(), seq); err != nil {
						t.Fatal(err)
					}
				}
				php, err := d.History("php", p)
				if err != nil {
					t.Fatal(err)
				}
				all, err := d.History("", p)
				if err != nil {
					t.Fatal(err)
				}
				if php.Count != tt.php || all.Count != tt.all {
					t.Errorf("%s: History counts php %d, all %d; want %d, %d", when, php.Count, all.Count, tt.php, tt.all)
				}
			}
			checkSettled(t, d)
		})
	}
}

// checkSettled checks that once everything is durable, nothing counts as
// queued for History.
func checkSettled(t *testing.T, d *DB) {
	t.Helper()
	if err := d.WaitFor(context.Background(), d.Queued()); err != nil {
		t.Fatal(err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.unsettled) != 0 || d.unsettledOps != 0 {
		t.Errorf("all durable, but %d prefixes and %d operations unsettled", len(d.unsettled), d.unsettledOps)
	}
}
