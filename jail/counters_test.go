package jail

import (
	"net/netip"
	"testing"
	"time"
)

// TestCounters follows one jail's counters through failures, a ban by
// maxretry, banip, unbanip, an expiry, and an unban the journal refused
// (undone: not counted).
func TestCounters(t *testing.T) {
	clk := newClock()
	jn := &journal{}
	m := NewManager(Options{Now: clk.Now, Journal: jn, SelfAddrs: func() []netip.Addr { return nil }})
	if err := m.Add(Config{Name: "api", MaxRetry: 3, FindTime: time.Hour, BanTime: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := m.Add(Config{Name: "idle", MaxRetry: 3}); err != nil {
		t.Fatal(err)
	}
	a := netip.MustParseAddr("192.0.2.1")
	b := netip.MustParseAddr("192.0.2.2")
	c := netip.MustParseAddr("198.51.100.3")
	steps := []struct {
		name string
		do   func() error
		want Counters
	}{
		{name: "two failures of one address, one of another", do: func() error {
			for _, x := range []netip.Addr{a, a, b} {
				if _, err := m.Attempt("api", x, nil); err != nil {
					return err
				}
			}
			return nil
		}, want: Counters{Name: "api", Failures: 3, Failed: 2}},
		{name: "the third failure bans", do: func() error { _, err := m.Attempt("api", a, nil); return err },
			want: Counters{Name: "api", Failures: 4, Bans: 1, Failed: 1, Banned: 1}},
		{name: "banip", do: func() error { _, err := m.BanIP("api", []netip.Addr{c}); return err },
			want: Counters{Name: "api", Failures: 4, Bans: 2, Failed: 1, Banned: 2}},
		{name: "unbanip", do: func() error { _, err := m.UnbanIP("api", []netip.Addr{c}, false); return err },
			want: Counters{Name: "api", Failures: 4, Bans: 2, Unbans: 1, Failed: 1, Banned: 1}},
		{name: "an unban the journal refuses is undone", do: func() error {
			jn.setFailing(true)
			defer jn.setFailing(false)
			if _, err := m.UnbanIP("api", []netip.Addr{a}, false); err == nil {
				t.Error("unbanip with a failing journal succeeded")
			}
			return nil
		}, want: Counters{Name: "api", Failures: 4, Bans: 2, Unbans: 1, Failed: 1, Banned: 1}},
		{name: "expiry", do: func() error {
			clk.Advance(2 * time.Minute)
			m.Expire()
			return nil
		}, want: Counters{Name: "api", Failures: 4, Bans: 2, Unbans: 2, Failed: 1}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		got := m.Counters()
		if len(got) != 2 || got[1].Name != "idle" || got[1] != (Counters{Name: "idle"}) {
			t.Fatalf("%s: counters %+v, want api and an untouched idle", s.name, got)
		}
		if got[0] != s.want {
			t.Errorf("%s: %+v, want %+v", s.name, got[0], s.want)
		}
	}
}
