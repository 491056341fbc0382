package dates

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"github.com/banserver/banserver/testenv"
)

// Tests of zones against the C library (through Python's time module, which
// calls localtime_r and mktime): offsets, abbreviations and DST flags at
// instants around every switch, and mktime on wall-clock times in gaps and
// overlaps, for POSIX rule strings of both hemispheres, in all rule forms,
// and for zone files.

var libcZones = []string{
	testTZ,
	"CET-1CEST,M3.5.0,M10.5.0/3",
	"EST5EDT,M3.2.0,M11.1.0",
	"AEST-10AEDT,M10.1.0,M4.1.0/3",
	"NZST-12NZDT,M9.5.0,M4.1.0/3",
	"<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
	"IST-5:30",
	"<+0330>-3:30",
	"<+0545>-5:45<+0645>,M4.1.0/0:30:15,M9.5.6/23",
	"XXX3YYY,J60/2,J300/2",
	"XXX3YYY,59/2,299",
	"XXX-2YYY-3,0/0,365/25",
	"WART4WARST,J1/0,J365/25",
	"EST5EDT4,M3.2.0/2:30:15,M11.1.0/26",
	"XXX0YYY,M2.5.0,M10.5.6",
	"JST-9",
	"<+14>-14",
	"UTC0",
	"ABC",
	// "ABC5DEF" (a DST name without rules) is left out: see TestZoneNoRules.
	"ABC5DEF,M3.5",
	"ABC-1DEF,M3.5.0,",
	":Europe/Berlin",
	"Europe/Berlin",
	"America/New_York",
	"Australia/Sydney",
	"/usr/share/zoneinfo/Asia/Kolkata",
	"EST5EDT",
	"CET",
	"",
	":",
	"Nowhere/Nothing",
}

type libcResult struct {
	Local  map[string][3]any `json:"local"`
	Mktime []*int64          `json:"mktime"`
}

func runLibc(t *testing.T, jobs []map[string]any) []libcResult {
	t.Helper()
	in, _ := json.Marshal(jobs)
	cmd := exec.Command(oraclePython, "testdata/libc.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("libc.py: %v\n%s", err, stderr.String())
	}
	var res []libcResult
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	return res
}

var libcYears = []int64{1965, 1970, 1971, 2004, 2005, 2024, 2037, 2038, 2050}

// ourSwitches are the instants where the zone's offset, name or DST flag
// change in the years, by scanning and bisection.
func ourSwitches(z *Zone, years []int64) []int64 {
	var out []int64
	key := func(t int64) string {
		a, o, d := z.lookup(t)
		return fmt.Sprint(a, o, d)
	}
	for _, y := range years {
		t := daysFromCivil(y, 1, 1)*secondsPerDay - 2*secondsPerDay
		end := t + 367*secondsPerDay
		prev := key(t)
		for ; t < end; t += 1800 {
			cur := key(t + 1800)
			if cur != prev {
				lo, hi := t, t+1800
				for hi-lo > 1 {
					mid := (lo + hi) / 2
					if key(mid) == prev {
						lo = mid
					} else {
						hi = mid
					}
				}
				out = append(out, hi)
			}
			prev = cur
		}
	}
	return out
}

func TestZoneLibc(t *testing.T) {
	needOracle(t)
	t.Parallel()
	r := rand.New(rand.NewSource(7))
	var jobs []map[string]any
	var zones []*Zone
	var naives [][]naive
	for _, tz := range libcZones {
		z, _ := zoneFromTZ(tz, true)
		zones = append(zones, z)
		var instants []int64
		var ns []naive
		for _, c := range ourSwitches(z, libcYears) {
			instants = append(instants, c-1, c, c+1)
			_, off, _ := z.lookup(c - 1)
			for _, d := range []int64{-3600, -1800, -1, 0, 1, 1800, 3599, 3600, 5400} {
				ns = append(ns, naiveFromSeconds(c+int64(off)+d))
			}
		}
		for i := 0; i < 300; i++ {
			instants = append(instants, r.Int63n(3000000000)-500000000)
		}
		for i := 0; i < 100; i++ {
			ns = append(ns, naiveFromSeconds(r.Int63n(3000000000)-500000000))
		}
		r.Shuffle(len(ns), func(i, j int) { ns[i], ns[j] = ns[j], ns[i] })
		var tuples [][6]int64
		for _, n := range ns {
			tuples = append(tuples, [6]int64{n.year, n.month, n.day, n.hour, n.minute, n.second})
		}
		naives = append(naives, ns)
		jobs = append(jobs, map[string]any{"tz": tz, "instants": instants, "years": libcYears, "naive": tuples})
	}
	res := runLibc(t, jobs)
	checks := 0
	for i, tz := range libcZones {
		z := zones[i]
		for k, want := range res[i].Local {
			at, _ := strconv.ParseInt(k, 10, 64)
			abbr, off, dst := z.lookup(at)
			checks++
			wOff, wAbbr, wDst := int(want[0].(float64)), want[1].(string), want[2].(float64) != 0
			if off != wOff || abbr != wAbbr || dst != wDst {
				t.Errorf("TZ=%q at %d: libc %d %s dst=%v, we %d %s dst=%v", tz, at, wOff, wAbbr, wDst, off, abbr, dst)
			}
		}
		var guess int64
		for j, n := range naives[i] {
			got, ok := z.mktime(n, &guess)
			want := res[i].Mktime[j]
			checks++
			if (want == nil) != !ok || (ok && *want != got) {
				w := "fails"
				if want != nil {
					w = fmt.Sprint(*want)
				}
				t.Errorf("TZ=%q mktime(%+v) call %d: libc %s, we %d (ok=%v)", tz, n, j, w, got, ok)
				break // the offset guesses part ways from here
			}
		}
	}
	t.Logf("%d zones, %d checks against the C library", len(libcZones), checks)
}

// TestZoneDate checks a few instants with date(1), which is what an
// administrator would ask.
func TestZoneDate(t *testing.T) {
	date := testenv.Tool(t, "date")
	for _, c := range []struct {
		tz string
		at int64
	}{
		{testTZ, 1111885199}, {testTZ, 1111885200}, {testTZ, 1130630399}, {testTZ, 1130630400},
		{"AEST-10AEDT,M10.1.0,M4.1.0/3", 1112500000}, {"AEST-10AEDT,M10.1.0,M4.1.0/3", 1128787200},
		{"XXX3YYY,J60/2,J300/2", 1110000000}, {"<+0330>-3:30", 0},
	} {
		cmd := exec.Command(date, "-d", "@"+strconv.FormatInt(c.at, 10), "+%z %Z")
		cmd.Env = []string{"TZ=" + c.tz}
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		z, err := ZoneFromTZ(c.tz)
		if err != nil {
			t.Fatal(err)
		}
		abbr, off, _ := z.lookup(c.at)
		sign := '+'
		if off < 0 {
			sign, off = '-', -off
		}
		got := fmt.Sprintf("%c%02d%02d %s\n", sign, off/3600, off/60%60, abbr)
		if got != string(out) {
			t.Errorf("TZ=%q @%d: date says %q, we %q", c.tz, c.at, out, got)
		}
	}
}

// needZoneinfo skips (fails in CI) without the system's zone files.
func needZoneinfo(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(defaultTZDir + "/posixrules"); err != nil {
		testenv.Missing(t, "no zone files (tzdata): ", err)
	}
}

func TestZoneFromTZErrors(t *testing.T) {
	needZoneinfo(t)
	for _, tz := range []string{"ABC", "ABC5DEF,M3.5", "Nowhere/Nothing", "CET-1CEST,M13.1.0,M10.5.0", "A1", "<AB>1"} {
		if _, err := ZoneFromTZ(tz); !errors.Is(err, ErrBadZone) {
			t.Errorf("ZoneFromTZ(%q) = %v, want ErrBadZone", tz, err)
		}
	}
	for _, tz := range []string{testTZ, "EST5EDT", "ABC5DEF", "<+0330>-3:30", "JST-9", ":Europe/Paris", "", ":"} {
		if _, err := ZoneFromTZ(tz); err != nil {
			t.Errorf("ZoneFromTZ(%q): %v", tz, err)
		}
	}
}
