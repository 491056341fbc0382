package jail

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// TestEachBan: EachBan hands over the same bans as BanList, every field
// but the order, after size has been told how many.
func TestEachBan(t *testing.T) {
	tests := []struct {
		name  string
		bans  int
		ended int // of them, bans whose end has passed without the expiry running
	}{
		{name: "no bans", bans: 0},
		{name: "one ban", bans: 1},
		{name: "several", bans: 300},
		{name: "some ended, not yet expired", bans: 50, ended: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, Options{})
			f.add(t, Config{Name: "j", MaxRetry: 3, BanTime: time.Hour})
			f.add(t, Config{Name: "other", MaxRetry: 3, BanTime: time.Hour})
			for i := range tt.bans {
				if i == tt.ended && tt.ended > 0 {
					f.clk.Advance(2 * time.Hour) // the first ones' hour is over
				}
				f.clk.Advance(time.Second)
				if _, err := f.m.BanIP("j", []netip.Addr{mustAddr(fmt.Sprintf("2001:db8::%x", i+1))}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.m.BanIP("other", []netip.Addr{mustAddr("198.51.100.7")}); err != nil {
				t.Fatal(err)
			}
			want, err := f.m.BanList("j")
			if err != nil {
				t.Fatal(err)
			}
			sized := -1
			var got []Ban
			err = f.m.EachBan("j", func(n int) { sized = n }, func(b Ban) { got = append(got, b) })
			if err != nil {
				t.Fatalf("EachBan: %v", err)
			}
			if sized != len(want) || len(got) != len(want) {
				t.Fatalf("size told %d, f called %d times; BanList has %d", sized, len(got), len(want))
			}
			byAddr := func(a, b Ban) int { return a.Addr.Compare(b.Addr) }
			slices.SortFunc(got, byAddr)
			slices.SortFunc(want, byAddr)
			for i := range want {
				g, w := got[i], want[i]
				if g.Addr != w.Addr || g.Prefix != w.Prefix || !g.Start.Equal(w.Start) || g.BanTime != w.BanTime || g.Count != w.Count {
					t.Fatalf("ban %d: EachBan %+v, BanList %+v", i, g, w)
				}
			}
		})
	}
	t.Run("unknown jail", func(t *testing.T) {
		f := newFixture(t, Options{})
		called := false
		err := f.m.EachBan("nope", func(int) { called = true }, func(Ban) { called = true })
		if !errors.Is(err, ErrUnknownJail) || called {
			t.Fatalf("EachBan of an unknown jail: %v, callbacks called %v; want ErrUnknownJail and none", err, called)
		}
	})
	t.Run("size may be nil", func(t *testing.T) {
		f := newFixture(t, Options{})
		f.add(t, Config{Name: "j", MaxRetry: 3, BanTime: time.Hour})
		if _, err := f.m.BanIP("j", []netip.Addr{mustAddr("192.0.2.9")}); err != nil {
			t.Fatal(err)
		}
		n := 0
		if err := f.m.EachBan("j", nil, func(Ban) { n++ }); err != nil || n != 1 {
			t.Fatalf("EachBan with nil size: %v, %d bans", err, n)
		}
	})
}
