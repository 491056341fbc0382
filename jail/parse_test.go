package jail

import (
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"net/netip"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means ErrInvalidAddress
	}{
		{name: "ipv4", in: "192.0.2.1", want: "192.0.2.1"},
		{name: "ipv6", in: "2001:db8::1", want: "2001:db8::1"},
		{name: "ipv6 uncanonical", in: "2001:DB8:0:0::1", want: "2001:db8::1"},
		{name: "mapped ipv4 unmapped", in: "::ffff:192.0.2.1", want: "192.0.2.1"},
		{name: "not an ip", in: "not-an-ip"},
		{name: "trailing newline", in: "192.0.2.1\n"},
		{name: "empty", in: ""},
		{name: "zone", in: "fe80::1%eth0"},
		{name: "cidr", in: "192.0.2.0/24"},
		{name: "leading space", in: " 192.0.2.1"},
		{name: "ipv4 leading zero", in: "192.0.2.01"},
		{name: "hostname", in: "example.com"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAddr(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidAddress) {
					t.Fatalf("ParseAddr(%q) = %v, %v; want ErrInvalidAddress", tt.in, got, err)
				}
				if q := `"` + strings.ReplaceAll(tt.in, "\n", `\n`) + `"`; !strings.Contains(err.Error(), q) {
					t.Errorf("error %q does not quote the input %s", err, q)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("ParseAddr(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestParseIgnore(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // "" means ErrInvalidAddress
	}{
		{name: "ipv4 address", in: "192.0.2.7", want: "192.0.2.7/32"},
		{name: "ipv6 address", in: "2001:db8::7", want: "2001:db8::7/128"},
		{name: "ipv4 cidr", in: "198.51.100.0/24", want: "198.51.100.0/24"},
		{name: "ipv4 cidr masked", in: "198.51.100.77/24", want: "198.51.100.0/24"},
		{name: "ipv4 dotted mask", in: "198.51.100.0/255.255.255.0", want: "198.51.100.0/24"},
		{name: "ipv6 cidr", in: "2001:db8:1::/48", want: "2001:db8:1::/48"},
		{name: "ipv6 cidr masked", in: "2001:db8:1::5/48", want: "2001:db8:1::/48"},
		{name: "mapped address", in: "::ffff:192.0.2.9", want: "192.0.2.9/32"},
		{name: "mapped cidr", in: "::ffff:192.0.2.0/120", want: "192.0.2.0/24"},
		{name: "non-contiguous mask", in: "192.0.2.0/255.0.255.0"},
		{name: "bits too long", in: "192.0.2.0/33"},
		{name: "negative bits", in: "192.0.2.0/-1"},
		{name: "empty bits", in: "192.0.2.0/"},
		{name: "hostname", in: "localhost"},
		{name: "empty", in: ""},
		{name: "zone", in: "fe80::1%eth0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseIgnore(tt.in)
			if tt.want == "" {
				if !errors.Is(err, ErrInvalidAddress) {
					t.Fatalf("ParseIgnore(%q) = %v, %v; want ErrInvalidAddress", tt.in, got, err)
				}
				return
			}
			if err != nil || got.String() != tt.want {
				t.Fatalf("ParseIgnore(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
			}
		})
	}
}

// durationTests are shared by the table test and the fail2ban interop test;
// every row must agree with fail2ban's own MyTime.str2seconds.
var durationTests = []struct {
	name string
	in   string
	want time.Duration
	bad  bool
}{
	{name: "seconds", in: "600", want: 600 * time.Second},
	{name: "forever", in: "-1", want: Forever},
	{name: "minutes", in: "30m", want: 30 * time.Minute},
	{name: "hour", in: "1h", want: time.Hour},
	{name: "day", in: "1d", want: 24 * time.Hour},
	{name: "week", in: "1w", want: 7 * 24 * time.Hour},
	{name: "hour and minutes", in: "1h30m", want: 90 * time.Minute},
	{name: "hour space minutes", in: "1h 30m", want: 90 * time.Minute},
	{name: "day and hours", in: "1d12h", want: 36 * time.Hour},
	{name: "seconds unit", in: "90s", want: 90 * time.Second},
	{name: "months", in: "2mo", want: 2 * 2629800 * time.Second},
	{name: "year", in: "1y", want: 31557600 * time.Second},
	{name: "long hour", in: "1hour", want: time.Hour},
	{name: "long hours", in: "2hours", want: 2 * time.Hour},
	{name: "min", in: "30min", want: 30 * time.Minute},
	{name: "days with space", in: "2 days", want: 48 * time.Hour},
	{name: "float", in: "0.5", want: 500 * time.Millisecond},
	{name: "leading dot", in: ".5", want: 500 * time.Millisecond},
	{name: "trailing dot", in: "1.", want: time.Second},
	{name: "subtraction", in: "1year-6mo", want: 15778800 * time.Second},
	{name: "explicit plus", in: "1hour+30min", want: 90 * time.Minute},
	{name: "bare seconds after group", in: "1h 30", want: 3630 * time.Second},
	{name: "spaced units", in: "1 h 30 m", want: 90 * time.Minute},
	{name: "upper case", in: "1H", want: time.Hour},
	{name: "leading space", in: " 600", want: 600 * time.Second},
	{name: "week and days", in: "1w2d", want: 9 * 24 * time.Hour},
	{name: "three groups", in: "5 min 3 s", want: 303 * time.Second},
	{name: "zero", in: "0", want: 0},
	{name: "unary plus", in: "+1h", want: time.Hour},
	{name: "bare numbers add", in: "1 2", want: 3 * time.Second},
	{name: "zeros", in: "00", want: 0},
	{name: "float leading zeros", in: "00.5", want: 500 * time.Millisecond},
	{name: "empty", in: "", bad: true},
	{name: "int leading zero", in: "0600", bad: true},
	{name: "space dot", in: "1 .5", bad: true},
	{name: "blank", in: "   ", bad: true},
	{name: "word", in: "abc", bad: true},
	{name: "unknown unit", in: "1x", bad: true},
	{name: "millis", in: "1ms", bad: true},
	{name: "unit alone", in: "h", bad: true},
	{name: "exponent", in: "1e3", bad: true},
	{name: "dangling plus", in: "1h+", bad: true},
	{name: "two dots", in: "1..5", bad: true},
	{name: "dot alone", in: ".", bad: true},
	{name: "unit after dot", in: "1.h", bad: true},
	{name: "underscore", in: "1h_", bad: true},
}

func TestParseDuration(t *testing.T) {
	for _, tt := range durationTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if tt.bad {
				if !errors.Is(err, ErrInvalidValue) {
					t.Fatalf("ParseDuration(%q) = %v, %v; want ErrInvalidValue", tt.in, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
}

// str2seconds runs fail2ban's own MyTime.str2seconds over ins in one
// python process; ok is false where it raised.
func str2seconds(t *testing.T, ins []string) (ok []bool, d []time.Duration) {
	t.Helper()
	py := fail2banPython(t)
	const script = `
import json, sys
from fail2ban.server.mytime import MyTime
out = []
for s in json.load(sys.stdin):
    try:
        out.append([True, float(MyTime.str2seconds(s))])
    except BaseException:
        out.append([False, 0])
json.dump(out, sys.stdout)
`
	in, err := json.Marshal(ins)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", script)
	cmd.Stdin = strings.NewReader(string(in))
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var rows [][2]any
	if err := json.Unmarshal(raw, &rows); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	if len(rows) != len(ins) {
		t.Fatalf("python answered %d of %d", len(rows), len(ins))
	}
	for _, r := range rows {
		good, ns := r[0].(bool), math.Round(r[1].(float64)*1e9)
		// Beyond ±292 years a time.Duration overflows: ParseDuration
		// refuses what Python's floats still hold.
		good = good && math.Abs(ns) < math.MaxInt64
		ok = append(ok, good)
		d = append(d, time.Duration(ns))
	}
	return ok, d
}

// TestParseDurationFail2ban checks the table against fail2ban's own
// str2seconds, so the table cannot drift from the real thing.
func TestParseDurationFail2ban(t *testing.T) {
	ins := make([]string, len(durationTests))
	for i, tt := range durationTests {
		ins[i] = tt.in
	}
	ok, want := str2seconds(t, ins)
	for i, tt := range durationTests {
		t.Run(tt.name, func(t *testing.T) {
			if ok[i] == tt.bad {
				t.Fatalf("%q: fail2ban ok=%v (%v), table bad=%v", tt.in, ok[i], want[i], tt.bad)
			}
			if ok[i] && want[i] != tt.want {
				t.Fatalf("%q: fail2ban says %v, table %v", tt.in, want[i], tt.want)
			}
		})
	}
}

// pythonAccident matches the inputs str2seconds accepts only by accident of
// eval, which ParseDuration refuses on purpose: a unit followed by another
// unit ("1h days" multiplies) or by a dot ("2m." is 2*60.).
var pythonAccident = regexp.MustCompile(`(?i)[a-z]\s*\.|[a-z]\s+[a-z]`)

// TestParseDurationFail2banRandom compares ParseDuration with fail2ban on
// random strings over the duration alphabet (fixed seed, so reproducible).
func TestParseDurationFail2banRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alpha := []string{"0", "1", "2", "5", " ", ".", "+", "-", "h", "m", "s", "d", "w", "mo", "y", "min", "hour", "days", "x"}
	ins := make([]string, 5000)
	for i := range ins {
		var b strings.Builder
		for range 1 + r.IntN(6) {
			b.WriteString(alpha[r.IntN(len(alpha))])
		}
		ins[i] = b.String()
	}
	ok, want := str2seconds(t, ins)
	bad := 0
	for i, in := range ins {
		got, err := ParseDuration(in)
		switch {
		case ok[i] && err != nil && pythonAccident.MatchString(in):
		case ok[i] != (err == nil), ok[i] && got != want[i]:
			if bad++; bad <= 20 {
				t.Errorf("%q: fail2ban ok=%v %v, ParseDuration %v, %v", in, ok[i], want[i], got, err)
			}
		}
	}
}

func FuzzParseDuration(f *testing.F) {
	for _, tt := range durationTests {
		f.Add(tt.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil && !errors.Is(err, ErrInvalidValue) {
			t.Fatalf("ParseDuration(%q): error %v is not ErrInvalidValue", s, err)
		}
		if err != nil && d != 0 {
			t.Fatalf("ParseDuration(%q) = %v with error", s, d)
		}
	})
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"192.0.2.1", "::ffff:192.0.2.1", "fe80::1%eth0", "2001:db8::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddr(s)
		if err != nil {
			if !errors.Is(err, ErrInvalidAddress) {
				t.Fatalf("ParseAddr(%q): %v", s, err)
			}
			return
		}
		if a.Is4In6() || a.Zone() != "" || !a.IsValid() {
			t.Fatalf("ParseAddr(%q) = %v: not normalised", s, a)
		}
		if b, err := ParseAddr(a.String()); err != nil || b != a {
			t.Fatalf("round trip %v -> %v, %v", a, b, err)
		}
		if _, err := ParseIgnore(s); err != nil {
			t.Fatalf("ParseIgnore(%q) refused an address ParseAddr took: %v", s, err)
		}
	})
}

var _ = netip.Addr{}
