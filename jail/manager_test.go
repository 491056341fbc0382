package jail

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

func TestFindTimeWindow(t *testing.T) {
	// spread returns n failure offsets evenly from 0 to span.
	spread := func(n int, span time.Duration) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = span * time.Duration(i) / time.Duration(n-1)
		}
		return out
	}
	tests := []struct {
		name     string
		maxRetry int
		findTime time.Duration
		at       []time.Duration // offsets of the failures from the start
		wantBan  int             // index of the failure that bans, -1 for none
	}{
		{name: "9 in 30m do not ban", maxRetry: 10, findTime: 30 * time.Minute,
			at: spread(9, 29*time.Minute), wantBan: -1},
		{name: "10 in 30m ban", maxRetry: 10, findTime: 30 * time.Minute,
			at: spread(10, 29*time.Minute+59*time.Second), wantBan: 9},
		{name: "10 over 31m do not ban", maxRetry: 10, findTime: 30 * time.Minute,
			at: spread(10, 31*time.Minute), wantBan: -1},
		{name: "10 over exactly findtime do not ban", maxRetry: 10, findTime: 30 * time.Minute,
			at: spread(10, 30*time.Minute), wantBan: -1},
		{name: "11 over 31m: first ten span 30m, last ten 29m", maxRetry: 10, findTime: 30 * time.Minute,
			at: append([]time.Duration{0, 2 * time.Minute}, shift(spread(9, time.Minute), 30*time.Minute)...), wantBan: 10},
		{name: "old failures slide out, later ten ban", maxRetry: 10, findTime: 30 * time.Minute,
			at: append(spread(9, 5*time.Minute), shift(spread(10, 9*time.Minute), 40*time.Minute)...), wantBan: 18},
		{name: "maxretry 1 bans at once", maxRetry: 1, findTime: time.Minute,
			at: []time.Duration{0}, wantBan: 0},
		{name: "all at one instant", maxRetry: 3, findTime: time.Second,
			at: []time.Duration{0, 0, 0}, wantBan: 2},
		{name: "slow trickle never bans", maxRetry: 3, findTime: 10 * time.Minute,
			at: spread(30, 300*time.Minute), wantBan: -1},
		{name: "more than inline ring", maxRetry: 20, findTime: time.Hour,
			at: spread(20, 59*time.Minute), wantBan: 19},
		{name: "more than inline ring, too slow", maxRetry: 20, findTime: time.Hour,
			at: spread(25, 2*time.Hour), wantBan: -1},
		{name: "findtime forever: 5 failures over a year ban", maxRetry: 5, findTime: Forever,
			at: spread(5, 365*24*time.Hour), wantBan: 4},
		{name: "findtime forever: 4 failures never ban", maxRetry: 5, findTime: Forever,
			at: spread(4, 365*24*time.Hour), wantBan: -1},
		{name: "maxretry 1000: the ring grows to it, the 1000th bans", maxRetry: MaxRetryLimit, findTime: time.Hour,
			at: spread(MaxRetryLimit, 59*time.Minute), wantBan: MaxRetryLimit - 1},
		{name: "maxretry 1000: 1000 over more than findtime do not ban", maxRetry: MaxRetryLimit, findTime: time.Hour,
			at: spread(MaxRetryLimit, 61*time.Minute), wantBan: -1},
		{name: "maxretry 20 in an hour", maxRetry: 20, findTime: time.Hour,
			at: append(spread(5, 3*time.Hour), shift(spread(20, 59*time.Minute), 4*time.Hour)...), wantBan: 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.add(t, Config{Name: "j", MaxRetry: tt.maxRetry, FindTime: tt.findTime, BanTime: time.Hour})
			addr := mustAddr("192.0.2.10")
			start := f.clk.Now()
			banAt := -1
			for i, off := range tt.at {
				f.clk.Advance(start.Add(off).Sub(f.clk.Now()))
				n, err := f.m.Attempt("j", addr, nil)
				if err != nil || n != 1 {
					t.Fatalf("Attempt %d = %d, %v", i, n, err)
				}
				if banned, _ := f.m.IsBanned("j", addr); banned && banAt < 0 {
					banAt = i
				}
			}
			if banAt != tt.wantBan {
				t.Fatalf("banned at failure %d, want %d", banAt, tt.wantBan)
			}
			if want := min(tt.wantBan+1, 1); f.rec.count(EventBan) != want {
				t.Fatalf("%d ban events, want %d", f.rec.count(EventBan), want)
			}
		})
	}
}

func shift(ds []time.Duration, by time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d + by
	}
	return out
}

func TestMessagesCount(t *testing.T) {
	tests := []struct {
		name    string
		msgs    [][]string // one Attempt per element
		wantBan bool
		wantN   int // len(Ban.Matches)
	}{
		{name: "three messages in one attempt", msgs: [][]string{{"a", "b", "c"}}, wantBan: true, wantN: 3},
		{name: "no message counts one", msgs: [][]string{nil, nil}, wantBan: false},
		{name: "nil then two", msgs: [][]string{nil, {"a", "b"}}, wantBan: true, wantN: 2},
		{name: "matches keep the last ten", msgs: [][]string{{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"}}, wantBan: true, wantN: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.add(t, Config{Name: "j", MaxRetry: 3})
			a := mustAddr("2001:db8::5")
			for _, ms := range tt.msgs {
				if n, err := f.m.Attempt("j", a, ms); n != 1 || err != nil {
					t.Fatalf("Attempt = %d, %v", n, err)
				}
			}
			bans, _ := f.m.BanList("j")
			if got := len(bans) == 1; got != tt.wantBan {
				t.Fatalf("banned %v, want %v", got, tt.wantBan)
			}
			if !tt.wantBan {
				return
			}
			var all []string
			for _, ms := range tt.msgs {
				all = append(all, ms...)
			}
			want := all[len(all)-tt.wantN:]
			if !slices.Equal(bans[0].Matches, want) {
				t.Fatalf("Matches = %q, want %q", bans[0].Matches, want)
			}
		})
	}
}

func TestIgnore(t *testing.T) {
	self := mustAddr("198.51.100.77")
	tests := []struct {
		name       string
		ignore     []string
		ignoreSelf bool
		addr       string
		want       int // Attempt's result
	}{
		{name: "ipv4 address", ignore: []string{"192.0.2.1"}, addr: "192.0.2.1", want: 0},
		{name: "ipv4 neighbour counted", ignore: []string{"192.0.2.1"}, addr: "192.0.2.2", want: 1},
		{name: "ipv4 cidr", ignore: []string{"192.0.2.0/24"}, addr: "192.0.2.200", want: 0},
		{name: "ipv4 outside cidr", ignore: []string{"192.0.2.0/24"}, addr: "192.0.3.1", want: 1},
		{name: "ipv6 address", ignore: []string{"2001:db8::1"}, addr: "2001:db8::1", want: 0},
		{name: "ipv6 cidr", ignore: []string{"2001:db8:aa::/48"}, addr: "2001:db8:aa:1::9", want: 0},
		{name: "ipv6 outside cidr", ignore: []string{"2001:db8:aa::/48"}, addr: "2001:db8:ab::9", want: 1},
		{name: "mapped address hits ipv4 entry", ignore: []string{"192.0.2.0/24"}, addr: "::ffff:192.0.2.9", want: 0},
		{name: "mapped entry hits ipv4 address", ignore: []string{"::ffff:192.0.2.9"}, addr: "192.0.2.9", want: 0},
		{name: "ignoreself on", ignoreSelf: true, addr: self.String(), want: 0},
		{name: "ignoreself off", addr: self.String(), want: 1},
		{name: "ignoreself other address", ignoreSelf: true, addr: "198.51.100.78", want: 1},
		{name: "loopback v4", addr: "127.0.0.1", want: 0},
		{name: "loopback v4 range", addr: "127.8.9.10", want: 0},
		{name: "loopback v6", addr: "::1", want: 0},
		{name: "loopback mapped", addr: "::ffff:127.0.0.1", want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{SelfAddrs: func() []netip.Addr { return []netip.Addr{self} }})
			cfg := Config{Name: "j", MaxRetry: 1, IgnoreSelf: tt.ignoreSelf}
			for _, s := range tt.ignore {
				cfg.IgnoreIP = append(cfg.IgnoreIP, mustPrefix(s))
			}
			f.add(t, cfg)
			a := mustAddr(tt.addr)
			n, err := f.m.Attempt("j", a, nil)
			if err != nil || n != tt.want {
				t.Fatalf("Attempt(%s) = %d, %v; want %d", a, n, err, tt.want)
			}
			ign, err := f.m.Ignored("j", a)
			if err != nil || ign != (tt.want == 0) {
				t.Fatalf("Ignored(%s) = %v, %v", a, ign, err)
			}
			if banned, _ := f.m.IsBanned("j", a); banned != (tt.want == 1) {
				t.Fatalf("banned = %v with maxretry 1", banned)
			}
		})
	}
}

func TestIgnoreListEdits(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j", MaxRetry: 1})
	p := mustPrefix("192.0.2.0/24")
	for range 2 { // the duplicate is ignored
		if err := f.m.AddIgnore("j", p); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.m.AddIgnore("j", netip.MustParsePrefix("2001:db8::1/128")); err != nil {
		t.Fatal(err)
	}
	cfg, _ := f.m.Config("j")
	if want := []netip.Prefix{p, netip.MustParsePrefix("2001:db8::1/128")}; !slices.Equal(cfg.IgnoreIP, want) {
		t.Fatalf("IgnoreIP = %v, want %v", cfg.IgnoreIP, want)
	}
	cfg.IgnoreIP[0] = netip.MustParsePrefix("0.0.0.0/0") // a copy: must not leak in
	if ign, _ := f.m.Ignored("j", mustAddr("203.0.113.1")); ign {
		t.Fatal("Config returned the jail's own slice")
	}
	if err := f.m.DelIgnore("j", netip.MustParsePrefix("192.0.2.99/24")); err != nil {
		t.Fatalf("DelIgnore of an unmasked spelling: %v", err)
	}
	if ign, _ := f.m.Ignored("j", mustAddr("192.0.2.5")); ign {
		t.Fatal("still ignored after DelIgnore")
	}
	if err := f.m.DelIgnore("j", p); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("DelIgnore of a missing entry = %v, want ErrInvalidValue", err)
	}
}

func TestMappedIsIPv4(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j", MaxRetry: 2})
	v4, mapped := mustAddr("192.0.2.33"), mustAddr("::ffff:192.0.2.33")
	f.m.Attempt("j", mapped, nil)
	f.m.Attempt("j", v4, nil)
	for _, a := range []netip.Addr{v4, mapped} {
		if banned, err := f.m.IsBanned("j", a); !banned || err != nil {
			t.Fatalf("IsBanned(%s) = %v, %v", a, banned, err)
		}
	}
	ev := f.rec.events()
	if len(ev) != 1 || ev[0].Ban.Addr != v4 {
		t.Fatalf("events %+v, want one ban of %s", ev, v4)
	}
	if n, err := f.m.UnbanIP("j", []netip.Addr{mapped}, false); n != 1 || err != nil {
		t.Fatalf("UnbanIP(mapped) = %d, %v", n, err)
	}
}

func TestInvalidAddressToManager(t *testing.T) {
	tests := []struct {
		name string
		addr netip.Addr
	}{
		{name: "zero", addr: netip.Addr{}},
		{name: "zone", addr: netip.MustParseAddr("fe80::1%eth0")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.add(t, Config{Name: "j"})
			if _, err := f.m.Attempt("j", tt.addr, nil); !errors.Is(err, ErrInvalidAddress) {
				t.Errorf("Attempt: %v", err)
			}
			if _, err := f.m.BanIP("j", []netip.Addr{tt.addr}); !errors.Is(err, ErrInvalidAddress) {
				t.Errorf("BanIP: %v", err)
			}
			if _, err := f.m.IsBanned("j", tt.addr); !errors.Is(err, ErrInvalidAddress) {
				t.Errorf("IsBanned: %v", err)
			}
		})
	}
}

func TestBanIP(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j", BanTime: 10 * time.Minute, IgnoreIP: []netip.Prefix{mustPrefix("198.51.100.0/24")}})
	a, b := mustAddr("192.0.2.1"), mustAddr("2001:db8::1")
	if n, err := f.m.BanIP("j", []netip.Addr{a, b, a}); n != 2 || err != nil {
		t.Fatalf("BanIP = %d, %v; want 2 (counts a once)", n, err)
	}
	// Unlike fail2ban's banip, an ignored address is refused, and with it
	// the whole command: a ban of what the operator keeps reachable would
	// lock it out once the kernel enforces bans.
	if n, err := f.m.BanIP("j", []netip.Addr{mustAddr("203.0.113.9"), mustAddr("198.51.100.5")}); n != 0 || !errors.Is(err, ErrInvalidAddress) ||
		!strings.Contains(err.Error(), "ignore list") {
		t.Fatalf("BanIP of an ignored address = %d, %v; want ErrInvalidAddress naming the ignore list", n, err)
	}
	for _, lo := range []string{"127.0.0.1", "::1", "::ffff:127.0.0.2"} {
		n, err := f.m.BanIP("j", []netip.Addr{mustAddr("203.0.113.9"), mustAddr(lo)})
		if n != 0 || !errors.Is(err, ErrInvalidAddress) {
			t.Fatalf("BanIP(%s) = %d, %v; want ErrInvalidAddress", lo, n, err)
		}
	}
	if banned, _ := f.m.IsBanned("j", mustAddr("203.0.113.9")); banned {
		t.Fatal("a refused BanIP banned part of its list")
	}

	// Prolong: banning again 5m later ends at start+15m, not counted anew.
	f.clk.Advance(5 * time.Minute)
	if n, err := f.m.BanIP("j", []netip.Addr{a}); n != 0 || err != nil {
		t.Fatalf("BanIP again = %d, %v", n, err)
	}
	bans, _ := f.m.BanList("j")
	if bans[len(bans)-1].Addr != a || !bans[len(bans)-1].End().Equal(epoch.Add(15*time.Minute)) {
		t.Fatalf("BanList %+v: want %s last, ending at +15m", bans, a)
	}
	f.clk.Advance(5 * time.Minute)
	if n := f.m.Expire(); n != 1 {
		t.Fatalf("Expire at +10m = %d, want 1 (%s only)", n, b)
	}
	f.clk.Advance(5 * time.Minute)
	if n := f.m.Expire(); n != 1 {
		t.Fatalf("Expire at +15m = %d, want 1", n)
	}
	if got := f.rec.count(EventBan); got != 2 {
		t.Fatalf("%d ban events, want 2", got)
	}
	st, _ := f.m.Status("j")
	if st.TotalBanned != 2 || st.CurrentlyBanned != 0 {
		t.Fatalf("Status %+v", st)
	}
}

func TestProlongToForever(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j", BanTime: time.Minute})
	a := mustAddr("198.51.100.1")
	f.m.BanIP("j", []netip.Addr{a})
	f.m.SetBanTime("j", Forever)
	f.m.BanIP("j", []netip.Addr{a})
	f.clk.Advance(24 * time.Hour)
	if n := f.m.Expire(); n != 0 {
		t.Fatalf("Expire = %d: a ban prolonged to forever expired", n)
	}
	bans, _ := f.m.BanList("j")
	if len(bans) != 1 || bans[0].BanTime != Forever || !bans[0].End().IsZero() {
		t.Fatalf("BanList = %+v", bans)
	}
}

func TestExpire(t *testing.T) {
	tests := []struct {
		name    string
		banTime time.Duration
		after   time.Duration
		want    int
	}{
		{name: "before end", banTime: 10 * time.Minute, after: 10*time.Minute - time.Nanosecond, want: 0},
		{name: "at end", banTime: 10 * time.Minute, after: 10 * time.Minute, want: 1},
		{name: "after end", banTime: 10 * time.Minute, after: time.Hour, want: 1},
		{name: "forever", banTime: Forever, after: 100 * 365 * 24 * time.Hour, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.add(t, Config{Name: "j", MaxRetry: 1, BanTime: tt.banTime})
			a := mustAddr("203.0.113.4")
			f.m.Attempt("j", a, []string{"bad token"})
			f.clk.Advance(tt.after)
			if n := f.m.Expire(); n != tt.want {
				t.Fatalf("Expire = %d, want %d", n, tt.want)
			}
			if n := f.m.Expire(); n != 0 {
				t.Fatalf("second Expire = %d", n)
			}
			banned, _ := f.m.IsBanned("j", a)
			if banned != (tt.want == 0) {
				t.Fatalf("banned = %v", banned)
			}
			if tt.want == 1 {
				ev := f.rec.events()
				if len(ev) != 2 || ev[1].Kind != EventUnban || ev[1].Ban.Addr != a || ev[1].Ban.Matches[0] != "bad token" {
					t.Fatalf("events %+v", ev)
				}
			}
		})
	}
}

func TestBanTimeAppliesToNewBans(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j", BanTime: time.Hour})
	a, b := mustAddr("192.0.2.1"), mustAddr("192.0.2.2")
	f.m.BanIP("j", []netip.Addr{a})
	if err := f.m.SetBanTime("j", time.Minute); err != nil {
		t.Fatal(err)
	}
	f.m.BanIP("j", []netip.Addr{b})
	bans, _ := f.m.BanList("j")
	if len(bans) != 2 || bans[0].Addr != b || bans[0].BanTime != time.Minute || bans[1].BanTime != time.Hour {
		t.Fatalf("BanList %+v", bans)
	}
}

func TestBanListOrder(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j"})
	ban := func(d time.Duration, addrs ...string) {
		f.m.SetBanTime("j", d)
		for _, s := range addrs {
			f.m.BanIP("j", []netip.Addr{mustAddr(s)})
		}
	}
	ban(Forever, "192.0.2.9", "2001:db8::9")
	ban(time.Hour, "192.0.2.5")
	ban(time.Minute, "192.0.2.7", "192.0.2.6")
	ban(2*time.Hour, "192.0.2.1")
	// A ban prolonged past the others moves in BanList (by end), not in
	// the order of banning (fail2ban's get banip against get banned).
	ban(3*time.Hour, "192.0.2.7")
	wantByEnd := []string{"192.0.2.6", "192.0.2.5", "192.0.2.1", "192.0.2.7", "192.0.2.9", "2001:db8::9"}
	wantInOrder := []string{"192.0.2.9", "2001:db8::9", "192.0.2.5", "192.0.2.7", "192.0.2.6", "192.0.2.1"}
	bans, _ := f.m.BanList("j")
	st, _ := f.m.Status("j")
	inOrder, _ := f.m.Banned("j")
	var got, gotSt, gotOrder []string
	for i, b := range bans {
		got = append(got, b.Addr.String())
		gotSt = append(gotSt, st.Banned[i].Addr().String())
		gotOrder = append(gotOrder, inOrder[i].Addr().String())
	}
	if !slices.Equal(got, wantByEnd) {
		t.Errorf("BanList %v, want by end %v", got, wantByEnd)
	}
	if !slices.Equal(gotSt, wantInOrder) || !slices.Equal(gotOrder, wantInOrder) {
		t.Errorf("Status.Banned %v, Banned %v; want in ban order %v", gotSt, gotOrder, wantInOrder)
	}
}

func TestUnban(t *testing.T) {
	a, b, c := mustAddr("192.0.2.1"), mustAddr("192.0.2.2"), mustAddr("2001:db8::3")
	tests := []struct {
		name      string
		unban     []netip.Addr
		ifExists  bool
		wantN     int
		wantMiss  []netip.Addr
		wantAfter []netip.Addr // still banned
	}{
		{name: "one banned", unban: []netip.Addr{a}, wantN: 1, wantAfter: []netip.Addr{b}},
		{name: "absent reported", unban: []netip.Addr{a, c}, wantN: 1, wantMiss: []netip.Addr{c}, wantAfter: []netip.Addr{b}},
		{name: "absent ignored with ifExists", unban: []netip.Addr{c, b}, ifExists: true, wantN: 1, wantAfter: []netip.Addr{a}},
		{name: "none", unban: nil, wantN: 0, wantAfter: []netip.Addr{a, b}},
		{name: "all absent", unban: []netip.Addr{c}, wantN: 0, wantMiss: []netip.Addr{c}, wantAfter: []netip.Addr{a, b}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.add(t, Config{Name: "j"})
			f.m.BanIP("j", []netip.Addr{a, b})
			n, err := f.m.UnbanIP("j", tt.unban, tt.ifExists)
			if n != tt.wantN {
				t.Fatalf("UnbanIP = %d, want %d", n, tt.wantN)
			}
			var nb *NotBannedError
			if tt.wantMiss == nil {
				if err != nil {
					t.Fatalf("UnbanIP error %v", err)
				}
			} else if !errors.Is(err, ErrNotBanned) || !errors.As(err, &nb) || !slices.Equal(nb.Addrs, tt.wantMiss) {
				t.Fatalf("UnbanIP error %v, want NotBannedError%v", err, tt.wantMiss)
			} else if !strings.Contains(err.Error(), tt.wantMiss[0].String()) {
				t.Fatalf("error %q does not name %s", err, tt.wantMiss[0])
			}
			st, _ := f.m.Status("j")
			var after []netip.Addr
			for _, p := range st.Banned {
				after = append(after, p.Addr())
			}
			if !slices.Equal(after, tt.wantAfter) {
				t.Fatalf("banned after: %v, want %v", st.Banned, tt.wantAfter)
			}
			if f.rec.count(EventUnban) != tt.wantN {
				t.Fatalf("%d unban events, want %d", f.rec.count(EventUnban), tt.wantN)
			}
		})
	}
}

func TestUnbanEverywhere(t *testing.T) {
	a, b := mustAddr("192.0.2.1"), mustAddr("192.0.2.2")
	setup := func(t *testing.T) *fixture {
		f := newFixture(t, Options{})
		f.add(t, Config{Name: "web"})
		f.add(t, Config{Name: "ssh"})
		f.m.BanIP("web", []netip.Addr{a, b})
		f.m.BanIP("ssh", []netip.Addr{a})
		return f
	}
	tests := []struct {
		name  string
		addrs []netip.Addr
		want  int
		left  int
	}{
		{name: "one address in two jails", addrs: []netip.Addr{a}, want: 2, left: 1},
		{name: "absent address ignored", addrs: []netip.Addr{mustAddr("203.0.113.1"), b}, want: 1, left: 2},
		{name: "empty list unbans nothing", addrs: []netip.Addr{}, want: 0, left: 3},
		{name: "nil is --all", addrs: nil, want: 3, left: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := setup(t)
			if got := f.m.BannedIn(a); !slices.Equal(got, []string{"ssh", "web"}) {
				t.Fatalf("BannedIn = %v", got)
			}
			if n, err := f.m.UnbanEverywhere(tt.addrs); n != tt.want || err != nil {
				t.Fatalf("UnbanEverywhere = %d, %v, want %d", n, err, tt.want)
			}
			w, _ := f.m.Status("web")
			s, _ := f.m.Status("ssh")
			if left := w.CurrentlyBanned + s.CurrentlyBanned; left != tt.left {
				t.Fatalf("%d bans left, want %d", left, tt.left)
			}
		})
	}
}

func TestUnbanAllAndStop(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j", MaxRetry: 3})
	f.add(t, Config{Name: "k"})
	f.m.BanIP("j", []netip.Addr{mustAddr("192.0.2.1"), mustAddr("192.0.2.2")})
	if n, err := f.m.UnbanAll("j"); n != 2 || err != nil {
		t.Fatalf("UnbanAll = %d, %v", n, err)
	}
	f.m.BanIP("j", []netip.Addr{mustAddr("192.0.2.3")})
	f.m.Attempt("j", mustAddr("192.0.2.4"), nil)
	f.m.Attempt("k", mustAddr("192.0.2.4"), nil)
	if err := f.m.Stop("j"); err != nil {
		t.Fatal(err)
	}
	if f.m.Has("j") || !slices.Equal(f.m.Jails(), []string{"k"}) {
		t.Fatalf("jails after Stop: %v", f.m.Jails())
	}
	if got := f.rec.count(EventUnban); got != 3 {
		t.Fatalf("%d unban events, want 3", got)
	}
	if got := f.m.fails.len(); got != 1 {
		t.Fatalf("%d failure entries after Stop, want 1 (k's)", got)
	}
	if _, err := f.m.Attempt("j", mustAddr("192.0.2.4"), nil); !errors.Is(err, ErrUnknownJail) {
		t.Fatalf("Attempt on stopped jail: %v", err)
	}
	if err := f.m.Stop("j"); !errors.Is(err, ErrUnknownJail) {
		t.Fatalf("second Stop: %v", err)
	}
	f.m.BanIP("k", []netip.Addr{mustAddr("192.0.2.8")})
	f.m.StopAll()
	if len(f.m.Jails()) != 0 || f.rec.count(EventUnban) != 4 {
		t.Fatalf("after StopAll: jails %v, %d unbans", f.m.Jails(), f.rec.count(EventUnban))
	}
}

func TestIdleAndStart(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j", MaxRetry: 1})
	a := mustAddr("192.0.2.1")
	f.m.SetIdle("j", true)
	if idle, _ := f.m.Idle("j"); !idle {
		t.Fatal("not idle")
	}
	if n, err := f.m.Attempt("j", a, nil); n != 0 || err != nil {
		t.Fatalf("Attempt while idle = %d, %v", n, err)
	}
	if err := f.m.Start("j"); err != nil {
		t.Fatal(err)
	}
	idle, _ := f.m.Idle("j")
	started, _ := f.m.Started("j")
	if idle || !started {
		t.Fatalf("after Start: idle %v, started %v", idle, started)
	}
	if n, _ := f.m.Attempt("j", a, nil); n != 1 {
		t.Fatalf("Attempt after Start = %d", n)
	}
	if n, _ := f.m.Attempt("j", a, nil); n != 1 {
		t.Fatalf("Attempt on a banned address = %d, want 1", n)
	}
	st, _ := f.m.Status("j")
	if st.TotalFailed != 1 || st.TotalBanned != 1 {
		t.Fatalf("Status %+v: an attempt on a banned address changed counters", st)
	}
}

func TestErrors(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j"})
	tests := []struct {
		name string
		err  error
		want error
	}{
		{name: "duplicate", err: f.m.Add(Config{Name: "j"}), want: ErrDuplicateJail},
		{name: "empty name", err: f.m.Add(Config{}), want: ErrInvalidValue},
		{name: "--all", err: f.m.Add(Config{Name: "--all"}), want: ErrInvalidValue},
		{name: "negative maxretry", err: f.m.Add(Config{Name: "x", MaxRetry: -1}), want: ErrInvalidValue},
		{name: "maxretry over limit", err: f.m.SetMaxRetry("j", MaxRetryLimit+1), want: ErrInvalidValue},
		{name: "maxretry zero", err: f.m.SetMaxRetry("j", 0), want: ErrInvalidValue},
		{name: "findtime zero", err: f.m.SetFindTime("j", 0), want: ErrInvalidValue},
		{name: "bantime zero", err: f.m.SetBanTime("j", 0), want: ErrInvalidValue},
		{name: "bantime -2s", err: f.m.SetBanTime("j", -2*time.Second), want: ErrInvalidValue},
		{name: "unknown start", err: f.m.Start("nope"), want: ErrUnknownJail},
		{name: "unknown stop", err: f.m.Stop("nope"), want: ErrUnknownJail},
		{name: "unknown set", err: f.m.SetIdle("nope", true), want: ErrUnknownJail},
		{name: "invalid prefix", err: f.m.AddIgnore("j", netip.Prefix{}), want: ErrInvalidAddress},
		{name: "invalid prefix in Add", err: f.m.Add(Config{Name: "y", IgnoreIP: []netip.Prefix{{}}}), want: ErrInvalidAddress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("got %v, want %v", tt.err, tt.want)
			}
		})
	}
	// The jail is looked up before the address is checked, as in fail2ban.
	for _, err := range []error{
		second(f.m.Attempt("nope", netip.Addr{}, nil)),
		second(f.m.BanIP("nope", []netip.Addr{mustAddr("127.0.0.1")})),
		second(f.m.UnbanIP("nope", []netip.Addr{{}}, false)),
		second(f.m.IsBanned("nope", netip.Addr{})),
		second(f.m.Ignored("nope", netip.Addr{})),
	} {
		if !errors.Is(err, ErrUnknownJail) {
			t.Errorf("unknown jail with a bad address: %v", err)
		}
	}
	_, err := f.m.Attempt("nope", mustAddr("192.0.2.1"), nil)
	if name, ok := UnknownJailName(err); !ok || name != "nope" || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("UnknownJailName(%v) = %q, %v", err, name, ok)
	}
	if f.m.Has("x") {
		t.Fatal("a refused Add created the jail")
	}
}

func TestDefaults(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "bare"})
	f.add(t, DefaultConfig("dflt"))
	for _, name := range []string{"bare", "dflt"} {
		c, _ := f.m.Config(name)
		if c.MaxRetry != 3 || c.FindTime != 600*time.Second || c.BanTime != 600*time.Second {
			t.Fatalf("%s: %+v", name, c)
		}
	}
	if c, _ := f.m.Config("dflt"); !c.IgnoreSelf {
		t.Fatal("DefaultConfig without ignoreself")
	}
}

func TestMaxRetryChange(t *testing.T) {
	tests := []struct {
		name   string
		before int // failures under maxretry 5
		set    int
		after  int // failures after the change
		banAt  int // failure (1-based, after the change) that bans; 0 for none
	}{
		{name: "lower keeps recent failures", before: 3, set: 2, after: 1, banAt: 1},
		{name: "raise keeps counting", before: 4, set: 8, after: 4, banAt: 4},
		{name: "raise beyond inline ring", before: 4, set: 12, after: 8, banAt: 8},
		{name: "raise no ban yet", before: 4, set: 12, after: 7, banAt: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.add(t, Config{Name: "j", MaxRetry: 5})
			a := mustAddr("192.0.2.50")
			for range tt.before {
				f.m.Attempt("j", a, nil)
				f.clk.Advance(time.Second)
			}
			f.m.SetMaxRetry("j", tt.set)
			banAt := 0
			for i := range tt.after {
				f.m.Attempt("j", a, nil)
				f.clk.Advance(time.Second)
				if b, _ := f.m.IsBanned("j", a); b && banAt == 0 {
					banAt = i + 1
				}
			}
			if banAt != tt.banAt {
				t.Fatalf("banned at %d, want %d", banAt, tt.banAt)
			}
		})
	}
}

func TestStatusFailures(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j", MaxRetry: 5, FindTime: 10 * time.Minute})
	f.add(t, Config{Name: "k", MaxRetry: 5, FindTime: time.Hour})
	for i := range 3 {
		f.m.Attempt("j", nthAddr(i), nil)
		f.m.Attempt("k", nthAddr(i), nil)
	}
	f.m.Attempt("j", nthAddr(0), nil)
	st, _ := f.m.Status("j")
	if st.CurrentlyFailed != 3 || st.TotalFailed != 4 {
		t.Fatalf("Status %+v", st)
	}
	f.clk.Advance(10 * time.Minute)
	st, _ = f.m.Status("j")
	sk, _ := f.m.Status("k")
	if st.CurrentlyFailed != 0 || st.TotalFailed != 4 || sk.CurrentlyFailed != 3 {
		t.Fatalf("after findtime: j %+v, k %+v", st, sk)
	}
	f.clk.Advance(time.Hour)
	f.m.Expire()
	if n := f.m.fails.len(); n != 0 {
		t.Fatalf("%d entries after both findtimes", n)
	}
}

func TestEvictionUnderFlood(t *testing.T) {
	const max = 1000
	f := newFixture(t, Options{MaxFailures: max})
	f.add(t, Config{Name: "j", MaxRetry: 10, FindTime: time.Hour})
	f.add(t, Config{Name: "k", MaxRetry: 10, FindTime: time.Hour})
	keep, lose := mustAddr("192.0.2.1"), mustAddr("192.0.2.2")
	attempt := func(a netip.Addr, n int) {
		for range n {
			f.m.Attempt("j", a, nil)
		}
	}
	attempt(keep, 4)
	attempt(lose, 4)
	attempt(keep, 1) // lose is now the least recently seen
	for i := range max - 2 {
		f.m.Attempt("k", nthAddr(i), nil)
	}
	if n := f.m.fails.len(); n != max {
		t.Fatalf("%d entries, want the cap %d", n, max)
	}
	f.m.Attempt("k", nthAddr(max), nil) // evicts lose, and only lose
	if n := f.m.fails.len(); n != max {
		t.Fatalf("%d entries after eviction, want %d", n, max)
	}
	attempt(keep, 5)
	if b, _ := f.m.IsBanned("j", keep); !b {
		t.Fatal("keep lost its failures: the wrong entry was evicted")
	}
	attempt(lose, 6)
	if b, _ := f.m.IsBanned("j", lose); b {
		t.Fatal("lose kept its failures through eviction")
	}
	// A flood of 10x the cap over two jails stays at the cap.
	for i := range 10 * max {
		f.m.Attempt([]string{"j", "k"}[i%2], nthAddr(100_000+i), nil)
		if i%997 == 0 {
			if n := f.m.fails.len(); n > max {
				t.Fatalf("%d entries during flood", n)
			}
		}
	}
	sj, _ := f.m.Status("j")
	sk, _ := f.m.Status("k")
	if n := f.m.fails.len(); n != max || sj.CurrentlyFailed+sk.CurrentlyFailed != max {
		t.Fatalf("%d entries (j %d + k %d), want %d", n, sj.CurrentlyFailed, sk.CurrentlyFailed, max)
	}
}

func TestConcurrentAttemptBansOnce(t *testing.T) {
	f := newFixture(t, Options{Now: time.Now})
	f.add(t, Config{Name: "j", MaxRetry: 5, FindTime: time.Hour, BanTime: time.Hour})
	a := mustAddr("203.0.113.77")
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if _, err := f.m.Attempt("j", a, nil); err != nil {
					t.Error(err)
					return
				}
				// Other addresses and jails keep the locks busy too.
				f.m.Attempt("j", nthAddr(g*1000+i), nil)
				f.m.IsBanned("j", a)
			}
		}()
	}
	wg.Wait()
	if n := f.rec.count(EventBan); n != 1 {
		t.Fatalf("%d ban events, want exactly 1", n)
	}
}

func TestConcurrentBanUnbanOrder(t *testing.T) {
	// Per address, events must alternate ban, unban, ban... whatever the
	// interleaving of BanIP and UnbanIP calls.
	f := newFixture(t, Options{Now: time.Now})
	f.add(t, Config{Name: "j"})
	addrs := []netip.Addr{mustAddr("192.0.2.1"), mustAddr("192.0.2.2")}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 300 {
				if g%2 == 0 {
					f.m.BanIP("j", addrs)
				} else {
					f.m.UnbanIP("j", addrs, true)
				}
			}
		}()
	}
	wg.Wait()
	last := map[netip.Addr]EventKind{}
	for i, e := range f.rec.events() {
		want := EventBan
		if last[e.Ban.Addr] == EventBan {
			want = EventUnban
		}
		if e.Kind == EventProlong && last[e.Ban.Addr] == EventBan {
			continue // a banned address banned again: still banned
		}
		if e.Kind != want {
			t.Fatalf("event %d: %v %s after %v", i, e.Kind, e.Ban.Addr, last[e.Ban.Addr])
		}
		last[e.Ban.Addr] = e.Kind
	}
}

func TestRunExpiresOnTime(t *testing.T) {
	// Real clock and tiny ban times; no timing assertion, only a generous
	// timeout in case Run never wakes. The long ban first arms the timer
	// far out, so the short one must kick it.
	rec := &recorder{ch: make(chan Event, 16)}
	m := NewManager(Options{OnEvent: rec.on, SelfAddrs: func() []netip.Addr { return nil }})
	if err := m.Add(Config{Name: "j", BanTime: time.Hour}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(ctx) }()
	long, short := mustAddr("192.0.2.1"), mustAddr("192.0.2.2")
	m.BanIP("j", []netip.Addr{long})
	waitEvent(t, rec.ch, EventBan, long)
	if err := m.SetBanTime("j", time.Second); err != nil {
		t.Fatal(err)
	}
	m.BanIP("j", []netip.Addr{short})
	waitEvent(t, rec.ch, EventBan, short)
	waitEvent(t, rec.ch, EventUnban, short)
	if b, _ := m.IsBanned("j", long); !b {
		t.Fatal("the hour-long ban expired")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v, want nil on cancellation", err)
	}
}

func TestRunFakeClock(t *testing.T) {
	clk := newClock()
	rec := &recorder{ch: make(chan Event, 16)}
	m := NewManager(Options{Now: clk.Now, OnEvent: rec.on, SelfAddrs: func() []netip.Addr { return nil }})
	m.Add(Config{Name: "j", BanTime: 10 * time.Minute})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go m.Run(ctx)
	a := mustAddr("198.51.100.3")
	m.BanIP("j", []netip.Addr{a})
	waitEvent(t, rec.ch, EventBan, a)
	clk.Advance(11 * time.Minute)
	m.kick <- struct{}{} // the real timer is still ten minutes out
	waitEvent(t, rec.ch, EventUnban, a)
}

func waitEvent(t *testing.T, ch <-chan Event, kind EventKind, a netip.Addr) {
	t.Helper()
	select {
	case e := <-ch:
		if e.Kind != kind || e.Ban.Addr != a {
			t.Fatalf("got %v %s, want %v %s", e.Kind, e.Ban.Addr, kind, a)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no %v %s within 10s", kind, a)
	}
}

// TestEventsGolden runs a scripted scenario and compares its event log with
// testdata/events.golden (refresh with go test -run EventsGolden -update).
func TestEventsGolden(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "php", MaxRetry: 3, FindTime: 10 * time.Minute, BanTime: 5 * time.Minute, Actions: []string{"route", "log"}})
	f.add(t, Config{Name: "ssh", MaxRetry: 2, BanTime: Forever})
	a, b := mustAddr("192.0.2.10"), mustAddr("2001:db8::10")
	step := func(d time.Duration) { f.clk.Advance(d) }
	f.m.Attempt("php", a, []string{"bad token 1"})
	step(time.Minute)
	f.m.Attempt("php", a, []string{"bad token 2", "bad token 3"})
	step(time.Minute)
	f.m.Attempt("ssh", b, nil)
	f.m.Attempt("ssh", b, []string{"auth failure"})
	f.m.SetActions("php", []string{"nft"})
	f.m.BanIP("php", []netip.Addr{b})
	step(5 * time.Minute)
	f.m.Expire()
	f.m.UnbanIP("ssh", []netip.Addr{b}, false)
	f.m.BanIP("ssh", []netip.Addr{a})
	f.m.Stop("ssh")

	var sb strings.Builder
	for _, e := range f.rec.events() {
		end := "forever"
		if !e.Ban.End().IsZero() {
			end = "+" + e.Ban.End().Sub(epoch).String()
		}
		fmt.Fprintf(&sb, "%-5s %s %s start=+%s end=%s actions=%q matches=%q\n",
			e.Kind, e.Jail, e.Ban.Addr, e.Ban.Start.Sub(epoch), end, e.Actions, e.Ban.Matches)
	}
	golden := filepath.Join("testdata", "events.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if sb.String() != string(want) {
		t.Fatalf("events differ from %s:\ngot:\n%swant:\n%s", golden, sb.String(), want)
	}
}

func TestSelfAddrsCache(t *testing.T) {
	var calls int
	self := []netip.Addr{mustAddr("::ffff:198.51.100.5")} // mapped: must still match
	f := newFixture(t, Options{SelfAddrs: func() []netip.Addr { calls++; return self }})
	f.add(t, Config{Name: "j", IgnoreSelf: true})
	a := mustAddr("198.51.100.5")
	tests := []struct {
		name      string
		advance   time.Duration
		refresh   bool
		wantCalls int
	}{
		{name: "first use reads", wantCalls: 1},
		{name: "cached within five minutes", advance: 5*time.Minute - time.Second, wantCalls: 1},
		{name: "reread after five minutes", advance: time.Second, wantCalls: 2},
		{name: "RefreshSelf rereads now", refresh: true, wantCalls: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.clk.Advance(tt.advance)
			if tt.refresh {
				f.m.RefreshSelf()
			}
			if n, _ := f.m.Attempt("j", a, nil); n != 0 {
				t.Fatal("own address counted")
			}
			if calls != tt.wantCalls {
				t.Fatalf("SelfAddrs called %d times, want %d", calls, tt.wantCalls)
			}
		})
	}
}

func TestDefaultSelfAddrs(t *testing.T) {
	// The default reads the interfaces; whatever they hold, nothing may
	// come back mapped or zoned, or ignoreself would never match.
	for _, a := range interfaceAddrs() {
		if a.Is4In6() || a.Zone() != "" {
			t.Fatalf("interface address %v not normalised", a)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestBanIPMapped(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j"})
	in := []netip.Addr{mustAddr("192.0.2.1"), mustAddr("::ffff:192.0.2.2")}
	if n, err := f.m.BanIP("j", in); n != 2 || err != nil {
		t.Fatalf("BanIP = %d, %v", n, err)
	}
	if in[1] != mustAddr("::ffff:192.0.2.2") {
		t.Fatal("BanIP modified the caller's slice")
	}
	if got := f.m.BannedIn(mustAddr("192.0.2.2")); !slices.Equal(got, []string{"j"}) {
		t.Fatalf("BannedIn = %v", got)
	}
}

// TestRingGrowsWithFailures: an address that failed a few times costs its
// inline buffer only, whatever maxretry is; the ring grows as failures come.
func TestRingGrowsWithFailures(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j", MaxRetry: MaxRetryLimit, FindTime: time.Hour, BanTime: time.Hour})
	addr := mustAddr("198.51.100.20")
	ringLen := func() int {
		f.m.fails.mu.Lock()
		defer f.m.fails.mu.Unlock()
		for k, e := range f.m.fails.m {
			if k.addr == addr {
				return len(e.times)
			}
		}
		t.Fatal("no failure entry")
		return 0
	}
	steps := []struct{ failures, wantLen int }{{3, inlineTimes}, {9, 16}, {100, 128}, {999, MaxRetryLimit}}
	done := 0
	for _, s := range steps {
		for ; done < s.failures; done++ {
			if _, err := f.m.Attempt("j", addr, nil); err != nil {
				t.Fatal(err)
			}
		}
		if got := ringLen(); got != s.wantLen {
			t.Fatalf("after %d failures the ring holds %d, want %d", s.failures, got, s.wantLen)
		}
	}
	if banned, _ := f.m.IsBanned("j", addr); banned {
		t.Fatal("banned after 999 of 1000 failures")
	}
}

func TestIPv6Prefix(t *testing.T) {
	self := mustAddr("2001:db8:ffff::1")
	f := newFixture(t, Options{SelfAddrs: func() []netip.Addr { return []netip.Addr{self} }})
	f.add(t, Config{Name: "j", MaxRetry: 3, FindTime: time.Hour, BanTime: time.Hour, IPv6Prefix: 64,
		IgnoreIP: []netip.Prefix{mustPrefix("2001:db8:2::7/128")}})
	// Three attackers in one /64 share one count.
	for _, a := range []string{"2001:db8:1::1", "2001:db8:1::2", "2001:db8:1:0:ffff::3"} {
		if n, err := f.m.Attempt("j", mustAddr(a), nil); n != 1 || err != nil {
			t.Fatalf("Attempt(%s) = %d, %v", a, n, err)
		}
	}
	bans, _ := f.m.BanList("j")
	if len(bans) != 1 || bans[0].Prefix != mustPrefix("2001:db8:1::/64") {
		t.Fatalf("bans %+v, want one of 2001:db8:1::/64", bans)
	}
	for _, a := range []string{"2001:db8:1::abcd", "2001:db8:1::1"} {
		if banned, _ := f.m.IsBanned("j", mustAddr(a)); !banned {
			t.Errorf("%s in the banned /64 is not banned", a)
		}
		if got := f.m.BannedIn(mustAddr(a)); !slices.Equal(got, []string{"j"}) {
			t.Errorf("BannedIn(%s) = %v", a, got)
		}
	}
	if banned, _ := f.m.IsBanned("j", mustAddr("2001:db8:1:1::1")); banned {
		t.Error("the next /64 is banned too")
	}
	// IPv4 is per address whatever the prefix.
	for range 3 {
		f.m.Attempt("j", mustAddr("192.0.2.1"), nil)
	}
	if banned, _ := f.m.IsBanned("j", mustAddr("192.0.2.2")); banned {
		t.Error("IPv6Prefix banned an IPv4 neighbour")
	}
	// A /64 holding an ignored address or this host's: by address only.
	n, err := f.m.BanIP("j", []netip.Addr{mustAddr("2001:db8:2::8"), mustAddr("2001:db8:ffff::2")})
	if n != 2 || err != nil {
		t.Fatalf("BanIP = %d, %v", n, err)
	}
	bans, _ = f.m.BanList("j")
	var got []string
	for _, b := range bans {
		got = append(got, b.Prefix.String())
	}
	slices.Sort(got)
	want := []string{"192.0.2.1/32", "2001:db8:1::/64", "2001:db8:2::8/128", "2001:db8:ffff::2/128"}
	if !slices.Equal(got, want) {
		t.Fatalf("bans %v, want %v", got, want)
	}
	// Unban by any address in the prefix lifts it.
	if n, err := f.m.UnbanIP("j", []netip.Addr{mustAddr("2001:db8:1::9999")}, false); n != 1 || err != nil {
		t.Fatalf("UnbanIP inside the /64 = %d, %v", n, err)
	}
	if err := f.m.SetIPv6Prefix("j", 8); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("SetIPv6Prefix(8) = %v, want ErrInvalidValue", err)
	}
}

func TestBanIPRefusesOwnAddress(t *testing.T) {
	self := mustAddr("192.0.2.254")
	f := newFixture(t, Options{SelfAddrs: func() []netip.Addr { return []netip.Addr{self} }})
	// Even with ignoreself off, this host's address is never banned.
	f.add(t, Config{Name: "j", IgnoreSelf: false})
	n, err := f.m.BanIP("j", []netip.Addr{mustAddr("198.51.100.1"), self})
	if n != 0 || !errors.Is(err, ErrInvalidAddress) || !strings.Contains(err.Error(), "this host") {
		t.Fatalf("BanIP(own address) = %d, %v; want ErrInvalidAddress naming this host", n, err)
	}
	if banned, _ := f.m.IsBanned("j", mustAddr("198.51.100.1")); banned {
		t.Fatal("a refused BanIP banned part of its list")
	}
}

func TestRestore(t *testing.T) {
	self := mustAddr("192.0.2.254")
	f := newFixture(t, Options{SelfAddrs: func() []netip.Addr { return []netip.Addr{self} }})
	f.add(t, Config{Name: "j", BanTime: time.Hour, IgnoreIP: []netip.Prefix{mustPrefix("203.0.113.0/24")}})
	host := func(s string) netip.Prefix { a := mustAddr(s); return netip.PrefixFrom(a, a.BitLen()) }
	now := f.clk.Now()
	stored := []Ban{
		{Prefix: host("198.51.100.1"), Start: now.Add(-30 * time.Minute), BanTime: time.Hour, Count: 2, Matches: []string{"m"}},
		{Prefix: mustPrefix("2001:db8:1::/64"), Start: now.Add(-time.Hour), BanTime: Forever, Count: 1},
		{Prefix: host("198.51.100.2"), Start: now.Add(-2 * time.Hour), BanTime: time.Hour, Count: 1}, // ended while down
		{Prefix: host("203.0.113.5"), Start: now, BanTime: time.Hour, Count: 1},                      // now ignored
		{Prefix: host("192.0.2.254"), Start: now, BanTime: time.Hour, Count: 1},                      // this host
		{Prefix: host("127.0.0.1"), Start: now, BanTime: time.Hour, Count: 1},                        // loopback
	}
	n, err := f.m.Restore("j", stored)
	if err != nil || n != 2 {
		t.Fatalf("Restore = %d, %v; want 2", n, err)
	}
	bans, _ := f.m.BanList("j")
	if len(bans) != 2 || bans[0].Prefix != host("198.51.100.1") || !bans[0].End().Equal(now.Add(30*time.Minute)) ||
		bans[0].Count != 2 || bans[1].Prefix != mustPrefix("2001:db8:1::/64") {
		t.Fatalf("restored %+v", bans)
	}
	for _, e := range f.rec.events() {
		if e.Kind != EventBan || e.Cause != CauseRestored {
			t.Fatalf("event %+v, want EventBan with CauseRestored", e)
		}
	}
	// Restoring again changes nothing; the restored ban expires on time.
	if n, _ := f.m.Restore("j", stored); n != 0 {
		t.Fatalf("second Restore = %d", n)
	}
	f.clk.Advance(31 * time.Minute)
	if n := f.m.Expire(); n != 1 {
		t.Fatalf("Expire = %d, want 1", n)
	}
	ev := f.rec.events()
	if last := ev[len(ev)-1]; last.Kind != EventUnban || last.Cause != CauseExpired {
		t.Fatalf("last event %+v, want an expiry", last)
	}
	if _, err := f.m.Restore("nojail", stored); !errors.Is(err, ErrUnknownJail) {
		t.Fatalf("Restore into an unknown jail: %v", err)
	}
}

func TestIncrementUsesHistory(t *testing.T) {
	history := map[string]int{"198.51.100.1": 3}
	var overallAsked bool
	f := newFixture(t, Options{History: func(jail string, p netip.Prefix, overall bool) int {
		overallAsked = overall
		return history[p.Addr().String()]
	}})
	f.add(t, Config{Name: "j", BanTime: 10 * time.Minute, Increment: Increment{Enabled: true, Factor: 1}})
	f.m.BanIP("j", []netip.Addr{mustAddr("198.51.100.1"), mustAddr("198.51.100.2")})
	bans, _ := f.m.BanList("j")
	got := map[string]Ban{}
	for _, b := range bans {
		got[b.Addr.String()] = b
	}
	// Three earlier bans: 10m * 2^3; none: the base.
	if b := got["198.51.100.1"]; b.BanTime != 80*time.Minute || b.Count != 4 {
		t.Fatalf("repeat offender: %v, count %d; want 80m, 4", b.BanTime, b.Count)
	}
	if b := got["198.51.100.2"]; b.BanTime != 10*time.Minute || b.Count != 1 {
		t.Fatalf("first offender: %v, count %d; want 10m, 1", b.BanTime, b.Count)
	}
	if _, err := f.m.SetBanTimeExtra("j", "overalljails", "true"); err != nil {
		t.Fatal(err)
	}
	f.m.BanIP("j", []netip.Addr{mustAddr("198.51.100.3")})
	if !overallAsked {
		t.Fatal("bantime.overalljails did not ask the history over all jails")
	}
	if v, err := f.m.BanTimeExtra("j", "overalljails"); err != nil || v != true {
		t.Fatalf("get bantime.overalljails = %v, %v", v, err)
	}
	// Stopping the jail unbans with CauseJailStopped.
	f.m.Stop("j")
	for _, e := range f.rec.events() {
		if e.Kind == EventUnban && e.Cause != CauseJailStopped {
			t.Fatalf("unban on stop with cause %v", e.Cause)
		}
	}
}

// TestReconfigure: a reload's new settings apply to a running jail, which
// keeps its bans and the failures it counted.
func TestReconfigure(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "j", MaxRetry: 5, BanTime: time.Hour, Actions: []string{"log"}})
	banned, failing := mustAddr("192.0.2.1"), mustAddr("192.0.2.2")
	f.m.BanIP("j", []netip.Addr{banned})
	for range 3 {
		f.m.Attempt("j", failing, nil)
	}
	err := f.m.Reconfigure(Config{Name: "j", MaxRetry: 4, BanTime: 2 * time.Hour, IgnoreIP: []netip.Prefix{mustPrefix("203.0.113.0/24")}, Actions: []string{"blackhole"}})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := f.m.Config("j")
	if cfg.MaxRetry != 4 || cfg.BanTime != 2*time.Hour || cfg.FindTime != DefaultFindTime || !slices.Equal(cfg.Actions, []string{"blackhole"}) || len(cfg.IgnoreIP) != 1 {
		t.Fatalf("config after Reconfigure: %+v", cfg)
	}
	if b, _ := f.m.IsBanned("j", banned); !b {
		t.Fatal("the ban was lost")
	}
	// The fourth failure bans under the new maxretry: the three before
	// were kept.
	f.m.Attempt("j", failing, nil)
	if b, _ := f.m.IsBanned("j", failing); !b {
		t.Fatal("failures counted before Reconfigure were lost")
	}
	if ign, _ := f.m.Ignored("j", mustAddr("203.0.113.5")); !ign {
		t.Fatal("the new ignoreip does not apply")
	}
	if err := f.m.Reconfigure(Config{Name: "j", MaxRetry: 5000}); !errors.Is(err, ErrInvalidValue) {
		t.Fatalf("Reconfigure with maxretry 5000: %v", err)
	}
	if err := f.m.Reconfigure(Config{Name: "nojail"}); !errors.Is(err, ErrUnknownJail) {
		t.Fatalf("Reconfigure of an unknown jail: %v", err)
	}
}

// TestAttemptAt: failures at a log line's own time: older than findtime
// they count for nothing, within it they ban, and the ban starts at the
// last failure's time and ends bantime after it.
func TestAttemptAt(t *testing.T) {
	f := newFixture(t, Options{})
	f.add(t, Config{Name: "logs", MaxRetry: 3, FindTime: 10 * time.Minute, BanTime: time.Hour})
	now := f.clk.Now()
	a := mustAddr("192.0.2.1")
	tests := []struct {
		name string
		at   time.Time
		want int
	}{
		{name: "older than findtime", at: now.Add(-11 * time.Minute), want: 0},
		{name: "within findtime", at: now.Add(-9 * time.Minute), want: 1},
		{name: "in the future is now", at: now.Add(time.Hour), want: 1},
		{name: "zero is now", want: 1},
	}
	for _, tt := range tests {
		if n, err := f.m.AttemptAt("logs", a, tt.at, []string{tt.name}); n != tt.want || err != nil {
			t.Fatalf("%s: AttemptAt = %d, %v, want %d", tt.name, n, err, tt.want)
		}
	}
	// The third counted failure (at now) banned.
	bans, _ := f.m.BanList("logs")
	if len(bans) != 1 || !bans[0].Start.Equal(now) || bans[0].BanTime != time.Hour {
		t.Fatalf("bans %+v", bans)
	}
	// A ban made from old lines starts at the last line's time.
	b := mustAddr("192.0.2.2")
	for i := 3; i >= 1; i-- {
		f.m.AttemptAt("logs", b, now.Add(-time.Duration(i)*time.Minute), nil)
	}
	bans, _ = f.m.BanList("logs")
	if len(bans) != 2 || !bans[0].Start.Equal(now.Add(-time.Minute)) {
		t.Fatalf("the ban from old lines: %+v, want it to start a minute ago", bans)
	}
}
