package jail

import (
	"net/netip"
	"testing"
	"time"
)

// TestAttemptNow: the caller's reading of the clock stands in for the
// Manager's only when that is the real clock; with an injected clock (or a
// zero now) the Manager reads its own, as Attempt does. The ban an attempt
// causes starts at the time used.
func TestAttemptNow(t *testing.T) {
	given := time.Now().Add(-time.Minute).Round(0)
	tests := []struct {
		name     string
		injected bool
		now      time.Time
		want     func(f *fixture) time.Time // the ban's start
	}{
		{"real clock: the caller's now", false, given, func(*fixture) time.Time { return given }},
		{"injected clock: its own", true, given, func(f *fixture) time.Time { return f.clk.Now() }},
		{"injected clock, zero now", true, time.Time{}, func(f *fixture) time.Time { return f.clk.Now() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			if !tt.injected {
				f.m = NewManager(Options{OnEvent: f.rec.on, SelfAddrs: func() []netip.Addr { return nil }})
			}
			f.add(t, Config{Name: "j", MaxRetry: 1, FindTime: time.Hour, BanTime: time.Hour})
			if n, err := f.m.AttemptNow("j", mustAddr("192.0.2.5"), tt.now, []string{"m"}); n != 1 || err != nil {
				t.Fatalf("AttemptNow = %d, %v", n, err)
			}
			bans, _ := f.m.BanList("j")
			if len(bans) != 1 {
				t.Fatalf("%d bans, want 1", len(bans))
			}
			if want := tt.want(f); !bans[0].Start.Equal(want) {
				t.Fatalf("ban starts %v, want %v", bans[0].Start, want)
			}
		})
	}
}
