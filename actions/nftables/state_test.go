package nftables

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	gnft "github.com/google/nftables"
)

// These tests need no kernel: they check the plan the action sends.

var t0 = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

type hold struct {
	jail, prefix string
	end          time.Duration // from t0; never: forever
}

// never marks a hold without an end.
const never = time.Duration(math.MinInt64)

func (h hold) endTime() time.Time {
	if h.end == never {
		return forever
	}
	return t0.Add(h.end)
}

// fmtOps writes a plan as "del P; add P@end; refresh P@end".
func fmtOps(ops []op) string {
	var parts []string
	for _, o := range ops {
		end := "forever"
		if !o.end.IsZero() {
			end = o.end.Sub(t0).String()
		}
		switch {
		case o.kind == opDel && !o.p.IsValid():
			parts = append(parts, fmt.Sprintf("del %s-%s", o.r.start, o.r.end))
		case o.kind == opDel:
			parts = append(parts, "del "+o.p.String())
		case o.kind == opAdd:
			parts = append(parts, fmt.Sprintf("add %s@%s", o.p, end))
		case o.kind == opRefresh:
			parts = append(parts, fmt.Sprintf("refresh %s@%s", o.p, end))
		}
	}
	return strings.Join(parts, "; ")
}

func TestPlanTouched(t *testing.T) {
	tests := []struct {
		name    string
		held    []hold
		kern    map[string]time.Duration
		touched map[string]bool // prefix -> touched by a ban
		want    string
	}{
		{
			name:    "new host",
			held:    []hold{{"a", "192.0.2.1/32", time.Hour}},
			touched: map[string]bool{"192.0.2.1/32": true},
			want:    "add 192.0.2.1/32@1h0m0s",
		},
		{
			name:    "repeated ban refreshes",
			held:    []hold{{"a", "192.0.2.1/32", time.Hour}},
			kern:    map[string]time.Duration{"192.0.2.1/32": time.Hour},
			touched: map[string]bool{"192.0.2.1/32": true},
			want:    "refresh 192.0.2.1/32@1h0m0s",
		},
		{
			name:    "longest holder wins, forever longest",
			held:    []hold{{"a", "2001:db8::1/128", time.Hour}, {"b", "2001:db8::1/128", never}},
			touched: map[string]bool{"2001:db8::1/128": true},
			want:    "add 2001:db8::1/128@forever",
		},
		{
			name:    "unban of the last holder deletes, even if unknown",
			touched: map[string]bool{"192.0.2.1/32": false},
			want:    "del 192.0.2.1/32",
		},
		{
			name:    "unban with another holder left shortens",
			held:    []hold{{"b", "192.0.2.1/32", time.Minute}},
			kern:    map[string]time.Duration{"192.0.2.1/32": time.Hour},
			touched: map[string]bool{"192.0.2.1/32": false},
			want:    "refresh 192.0.2.1/32@1m0s",
		},
		{
			name:    "unban with another holder left, same end: nothing",
			held:    []hold{{"b", "192.0.2.1/32", time.Hour}},
			kern:    map[string]time.Duration{"192.0.2.1/32": time.Hour},
			touched: map[string]bool{"192.0.2.1/32": false},
			want:    "",
		},
		{
			name:    "ban already over deletes",
			held:    []hold{{"a", "192.0.2.1/32", -time.Second}},
			kern:    map[string]time.Duration{"192.0.2.1/32": time.Hour},
			touched: map[string]bool{"192.0.2.1/32": true},
			want:    "del 192.0.2.1/32",
		},
		{
			name:    "wider prefix replaces the nested one, deletes first",
			held:    []hold{{"a", "2001:db8:1:1::/64", 2 * time.Hour}, {"b", "2001:db8:1::/48", time.Hour}},
			kern:    map[string]time.Duration{"2001:db8:1:1::/64": 2 * time.Hour},
			touched: map[string]bool{"2001:db8:1::/48": true},
			want:    "del 2001:db8:1:1::/64; add 2001:db8:1::/48@2h0m0s",
		},
		{
			name:    "unban of the wider prefix brings the nested one back",
			held:    []hold{{"a", "2001:db8:1:1::/64", 2 * time.Hour}},
			kern:    map[string]time.Duration{"2001:db8:1::/48": 2 * time.Hour},
			touched: map[string]bool{"2001:db8:1::/48": false},
			want:    "del 2001:db8:1::/48; add 2001:db8:1:1::/64@2h0m0s",
		},
		{
			name:    "nested ban under a present wide one changes nothing",
			held:    []hold{{"a", "2001:db8:1::/48", 2 * time.Hour}, {"b", "2001:db8:1:1::/64", time.Hour}},
			kern:    map[string]time.Duration{"2001:db8:1::/48": 2 * time.Hour},
			touched: map[string]bool{"2001:db8:1:1::/64": true},
			want:    "",
		},
		{
			name:    "hosts and nets do not interact",
			held:    []hold{{"a", "198.51.100.0/24", time.Hour}, {"a", "198.51.100.7/32", time.Hour}},
			touched: map[string]bool{"198.51.100.0/24": true, "198.51.100.7/32": true},
			want:    "add 198.51.100.0/24@1h0m0s; add 198.51.100.7/32@1h0m0s",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newState()
			for _, h := range tt.held {
				s.hold(netip.MustParsePrefix(h.prefix), h.jail, h.endTime())
			}
			for p, d := range tt.kern {
				s.kern[netip.MustParsePrefix(p)] = t0.Add(d)
			}
			touched := map[netip.Prefix]bool{}
			for p, b := range tt.touched {
				touched[netip.MustParsePrefix(p)] = b
			}
			if got := fmtOps(s.planTouched(touched, t0)); got != tt.want {
				t.Errorf("plan:\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestPlanReconcile(t *testing.T) {
	p := netip.MustParsePrefix
	have := []kelem{
		{p: p("192.0.2.1/32"), timeout: time.Hour, expires: time.Hour},                    // wanted, right time
		{p: p("192.0.2.2/32"), timeout: time.Hour, expires: time.Minute},                  // wanted longer
		{p: p("192.0.2.3/32"), timeout: time.Hour, expires: time.Hour},                    // stale
		{r: span{netip.MustParseAddr("2001:db8::5"), netip.MustParseAddr("2001:db8::9")}}, // not a prefix
	}
	want := map[netip.Prefix]time.Time{
		p("192.0.2.1/32"):    t0.Add(time.Hour + time.Second),
		p("192.0.2.2/32"):    t0.Add(time.Hour),
		p("2001:db8::/64"):   forever,
		p("198.51.100.1/32"): t0.Add(time.Minute),
	}
	ops, added, removed := planReconcile(have, want, t0)
	if added != 2 || removed != 2 {
		t.Errorf("added %d, removed %d; want 2, 2", added, removed)
	}
	const wantPlan = "del 2001:db8::5-2001:db8::9; del 192.0.2.3/32; refresh 192.0.2.2/32@1h0m0s; add 198.51.100.1/32@1m0s; add 2001:db8::/64@forever"
	if got := fmtOps(ops); got != wantPlan {
		t.Errorf("plan:\n got %s\nwant %s", got, wantPlan)
	}
}

func TestSpanPrefix(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
	}{
		{name: "v4 host", prefix: "192.0.2.1/32"},
		{name: "v4 net", prefix: "198.51.100.0/24"},
		{name: "v6 /64", prefix: "2001:db8:1:2::/64"},
		{name: "v6 odd length", prefix: "2001:db8:8000::/33"},
		{name: "to the last address", prefix: "ff00::/8"},
		{name: "all", prefix: "::/0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := netip.MustParsePrefix(tt.prefix)
			got, ok := spanOf(p).prefix()
			if !ok || got != p {
				t.Errorf("spanOf(%s).prefix() = %s, %v", p, got, ok)
			}
		})
	}
	r := span{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.3")}
	if p, ok := r.prefix(); ok {
		t.Errorf("%v is not a prefix, got %s", r, p)
	}
}

func TestDecodeIntervals(t *testing.T) {
	a := func(s string) []byte { return netip.MustParseAddr(s).AsSlice() }
	// As the kernel dumps an rbtree: descending, ends flagged, nft's zero
	// end marker, one interval running to the last address.
	els := []gnft.SetElement{
		{Key: a("ff00::"), Timeout: time.Hour, Expires: time.Minute},
		{Key: a("2001:db8:0:2::"), IntervalEnd: true},
		{Key: a("2001:db8:0:1::"), Timeout: time.Hour, Expires: 30 * time.Minute},
		{Key: a("2001:db8:0:1::"), IntervalEnd: true},
		{Key: a("2001:db8::")},
		{Key: a("::"), IntervalEnd: true},
	}
	got := decode(net6, els)
	want := []string{"2001:db8::/64", "2001:db8:0:1::/64", "ff00::/8"}
	if len(got) != len(want) {
		t.Fatalf("decode = %+v", got)
	}
	for i, e := range got {
		if e.p.String() != want[i] {
			t.Errorf("element %d = %s, want %s", i, e.p, want[i])
		}
	}
	if got[1].expires != 30*time.Minute || got[0].timeout != 0 {
		t.Errorf("timeouts are the start element's: %+v", got)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string
		err            error
	}{
		{name: "mapped host", in: "::ffff:192.0.2.1/128", want: "192.0.2.1/32"},
		{name: "mapped net", in: "::ffff:192.0.2.0/120", want: "192.0.2.0/24"},
		{name: "too wide mapped", in: "::ffff:0.0.0.0/80", err: ErrInvalidPrefix},
		{name: "unmasked", in: "2001:db8::1/64", want: "2001:db8::/64"},
		{name: "invalid", err: ErrInvalidPrefix},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in netip.Prefix
			if tt.in != "" {
				in = netip.MustParsePrefix(tt.in)
			}
			got, err := normalize(in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err == nil && got.String() != tt.want {
				t.Errorf("normalize(%s) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestChunkCost(t *testing.T) {
	// The worst case per element must keep a chunk's biggest netlink
	// attribute under 64 KiB: an IPv6 element with a timeout is 40 bytes.
	if maxElems*40 >= 1<<16 {
		t.Fatalf("maxElems %d can overflow the 16-bit attribute length", maxElems)
	}
}
