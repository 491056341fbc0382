package jail

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// TestMatchBounds: messages are cut to MaxMatchLen, at most ten are kept
// per address, and past MatchBudget bytes none are kept; failures are
// counted all the same, and the bytes come back as bans end.
func TestMatchBounds(t *testing.T) {
	f := newFixture(t, Options{MaxMatchLen: 100, MatchBudget: 10_000})
	f.add(t, Config{Name: "j", MaxRetry: 3, BanTime: time.Minute})
	long := strings.Repeat("x", 60<<10)
	// 200 addresses, two failures each with a 60 KB message: 200 × 2 × 100
	// bytes would be 40,000, the budget holds 10,000.
	for i := range 200 {
		a := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
		for range 2 {
			if n, err := f.m.Attempt("j", a, []string{long}); n != 1 || err != nil {
				t.Fatalf("Attempt = %d, %v", n, err)
			}
		}
	}
	if got := f.m.MatchBytes(); got > 10_000 || got < 9_900 {
		t.Fatalf("MatchBytes = %d, want the budget filled, no more", got)
	}
	if st, _ := f.m.Status("j"); st.TotalFailed != 400 {
		t.Fatalf("TotalFailed = %d: failures beyond the budget must still count", st.TotalFailed)
	}
	// Ban ten of them: their matches move to the ban, each cut to 100.
	for i := range 10 {
		f.m.Attempt("j", netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), []string{"third"})
	}
	bans, _ := f.m.BanList("j")
	if len(bans) != 10 {
		t.Fatalf("%d bans", len(bans))
	}
	for _, b := range bans {
		for _, m := range b.Matches {
			if len(m) > 100 {
				t.Fatalf("a match of %d bytes kept", len(m))
			}
		}
	}
	// Bans end, failures age out: every byte is given back.
	f.clk.Advance(time.Hour)
	f.m.Expire()
	if got := f.m.MatchBytes(); got != 0 {
		t.Fatalf("MatchBytes after every ban ended and failure aged out = %d", got)
	}
}

// TestRestoredCountsInTotal: restored bans count in "Total banned", as
// fail2ban's do (they go through its addBanTicket); before, a restart
// showed Currently banned 1, Total banned 0.
func TestRestoredCountsInTotal(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j", BanTime: time.Hour})
	var bans []Ban
	for i := range 3 {
		bans = append(bans, Ban{Prefix: netip.MustParsePrefix(fmt.Sprintf("192.0.2.%d/32", i+1)), Start: epoch, BanTime: time.Hour})
	}
	if n, err := f.m.Restore("j", bans); n != 3 || err != nil {
		t.Fatalf("Restore = %d, %v", n, err)
	}
	if st, _ := f.m.Status("j"); st.CurrentlyBanned != 3 || st.TotalBanned != 3 {
		t.Fatalf("status after restore: %+v, want 3 current and 3 total", st)
	}
}

// TestAttemptAllocs pins the hot path: an attempt that does not ban, with
// the message clients repeat, allocates nothing (the kept message is
// shared with the last one kept, not copied again).
func TestAttemptAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates on its own; make test runs this in the plain pass")
	}
	m := NewManager(Options{OnEvent: func(Event) {}, SelfAddrs: func() []netip.Addr { return nil }})
	if err := m.Add(Config{Name: "api", MaxRetry: MaxRetryLimit, FindTime: time.Hour, BanTime: time.Hour}); err != nil {
		t.Fatal(err)
	}
	msgs := []string{"Incorrect token used."}
	addrs := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}
	i := 0
	allocs := testing.AllocsPerRun(500, func() {
		if n, err := m.Attempt("api", addrs[i%2], msgs); n != 1 || err != nil {
			t.Fatal(n, err)
		}
		i++
	})
	if allocs != 0 {
		t.Fatalf("Attempt allocates %v times per call, want 0", allocs)
	}
}

// TestRepeatedMatch: a message repeated past the ten kept moves the oldest
// copy to the newest place without counting its bytes again; the ban then
// holds the last ten messages in order, and over the budget a repeat is
// still not kept.
func TestRepeatedMatch(t *testing.T) {
	tests := []struct {
		name   string
		budget int64
		want   []string // the ban's matches
		bytes  int64    // MatchBytes before the ban
	}{
		{"within budget", 1000, []string{"aa", "aa", "aa", "aa", "aa", "aa", "aa", "aa", "b", "c"}, 20},
		{"budget of five messages", 10, []string{"aa", "aa", "aa", "aa", "aa"}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{MatchBudget: tt.budget})
			f.add(t, Config{Name: "j", MaxRetry: 13, BanTime: time.Minute})
			a := netip.MustParseAddr("192.0.2.9")
			for range 11 {
				f.m.Attempt("j", a, []string{"aa"})
			}
			if got := f.m.MatchBytes(); got != tt.bytes {
				t.Fatalf("MatchBytes after 11 repeats = %d, want %d", got, tt.bytes)
			}
			f.m.Attempt("j", a, []string{"b"})
			f.m.Attempt("j", a, []string{"c"})
			bans, _ := f.m.BanList("j")
			if len(bans) != 1 {
				t.Fatalf("%d bans", len(bans))
			}
			if got := bans[0].Matches; fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("matches %q, want %q", got, tt.want)
			}
		})
	}
}
