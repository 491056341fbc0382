package cluster

import (
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/banserver/banserver/jail"
)

func TestParseBanValue(t *testing.T) {
	tests := []struct {
		name, in string
		want     banValue
		ok       bool
	}{
		{name: "ban", in: "1700000000000000|600000000|1|node-a", want: banValue{1700000000000000, 600000000, 1, "node-a"}, ok: true},
		{name: "forever, node with bars", in: "5|-1|3|a|b", want: banValue{5, -1, 3, "a|b"}, ok: true},
		{name: "zero ban time", in: "5|0|1|a"},
		{name: "negative start", in: "-5|10|1|a"},
		{name: "leading zero", in: "05|10|1|a"},
		{name: "plus sign", in: "+5|10|1|a"},
		{name: "too few parts", in: "5|10|1"},
		{name: "huge", in: "99999999999999999999|10|1|a"},
		{name: "count too big", in: "5|10|1000001|a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseBanValue(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Fatalf("parseBanValue(%q) = %+v, %v", tt.in, got, err)
			}
		})
	}
}

func TestParseField(t *testing.T) {
	for _, tt := range []struct {
		in, jail string
		prefix   string
		ok       bool
	}{
		{"web|203.0.113.5/32", "web", "203.0.113.5/32", true},
		{"a|b|2001:db8::/64", "a|b", "2001:db8::/64", true},
		{"web|2001:db8::1/64", "", "", false}, // not masked
		{"|203.0.113.5/32", "", "", false},
		{"web|203.0.113.5", "", "", false},
		{"web", "", "", false},
	} {
		j, p, err := parseField(tt.in)
		if (err == nil) != tt.ok || (tt.ok && (j != tt.jail || p.String() != tt.prefix)) {
			t.Errorf("parseField(%q) = %q, %v, %v", tt.in, j, p, err)
		}
	}
}

// entryFields writes e as the scripts do.
func entryFields(e entry) map[string]string {
	f := map[string]string{"op": e.Op, "jail": e.Jail, "prefix": e.Prefix.String(), "node": e.Node, "src": e.Src}
	if e.Op == opUnban {
		f["at"] = strconv.FormatInt(e.At, 10)
	} else {
		f["start"] = strconv.FormatInt(e.Ban.Start, 10)
		f["bantime"] = strconv.FormatInt(e.Ban.BanTime, 10)
		f["count"] = strconv.Itoa(e.Ban.Count)
		f["jc"] = strconv.Itoa(e.JC)
		f["oc"] = strconv.Itoa(e.OC)
	}
	return f
}

func TestBanTimeMicros(t *testing.T) {
	start := time.Unix(1700000000, 600)         // .6 µs
	d := 3600*time.Second + 700*time.Nanosecond // ends at 1.3 µs
	bt, _ := strconv.ParseInt(banTimeMicros(start, d), 10, 64)
	v := banValue{Start: start.UnixMicro(), BanTime: bt, Count: 1}
	if got := v.ban(netip.MustParsePrefix("203.0.113.5/32")).End().UnixMicro(); got != start.Add(d).UnixMicro() {
		t.Fatalf("end %d, want %d", got, start.Add(d).UnixMicro())
	}
	if banTimeMicros(start, jail.Forever) != "-1" {
		t.Fatal("forever")
	}
}

// FuzzParseBanValue: the ban hash's values never panic the parser, and
// what it accepts writes back to the same text.
func FuzzParseBanValue(f *testing.F) {
	for _, s := range []string{"1700000000000000|600000000|1|node-a", "5|-1|3|a|b", "||||", "0|1|0|", "-1|-1|-1|-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := parseBanValue(s)
		if err != nil {
			return
		}
		if got := formatBanValue(v); got != s {
			t.Fatalf("parseBanValue(%q) writes back as %q", s, got)
		}
		b := v.ban(netip.MustParsePrefix("203.0.113.0/24"))
		if b.BanTime != jail.Forever && b.BanTime <= 0 {
			t.Fatalf("ban time %v from %q", b.BanTime, s)
		}
	})
}

// FuzzParseEntry: stream entries never panic the parser, and what it
// accepts writes back to the same fields.
func FuzzParseEntry(f *testing.F) {
	f.Add("1-0", "ban", "web", "203.0.113.5/32", "1700000000000000", "600000000", "1", "", "1", "1")
	f.Add("1700000000000-3", "prolong", "a|b", "2001:db8::/64", "5", "-1", "2", "", "2", "3")
	f.Add("2-1", "unban", "web", "198.51.100.7/32", "", "", "", "1700000000000001", "", "")
	f.Add("x", "ban", "", "::/0", "-", "0", "x", "y", "-1", "1e3")
	f.Fuzz(func(t *testing.T, id, op, jailName, prefix, start, bantime, count, at, jc, oc string) {
		fields := map[string]string{"op": op, "jail": jailName, "prefix": prefix, "start": start, "bantime": bantime,
			"count": count, "at": at, "jc": jc, "oc": oc, "node": "n", "src": "s"}
		e, err := parseEntry(id, fields)
		if err != nil {
			return
		}
		e2, err := parseEntry(id, entryFields(e))
		if err != nil || e2 != e {
			t.Fatalf("entry %+v writes back as %+v, %v", e, e2, err)
		}
		if e.Op != opUnban {
			if b := e.Ban.ban(e.Prefix); !b.Prefix.IsValid() || b.Count < 1 {
				t.Fatalf("bad ban %+v", b)
			}
		}
	})
}
