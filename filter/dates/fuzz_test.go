package dates

import (
	"math/rand"
	"os"
	"strings"
	"testing"
)

// Fuzz targets: every parser of the package (datepatterns, log lines,
// logtimezone values, TZ values, zone files, Python regular expressions)
// must survive any input.

func FuzzPattern(f *testing.F) {
	for _, p := range append(append([]string{}, genPatterns...), defaultPatterns...) {
		f.Add(p, "2005-01-23 21:59:59 Jan 23 21:59:59 [1106513999] x")
	}
	f.Add(`^(?:=[^=]+={3,} )?(%ExY(?P<_sep>[-/.])%m(?P=_sep)%d[T ]%H:%M:%S(?:[.,]%f)?(?:\s*%z)?)`, "== x === 2005-01-23 21:59:59")
	f.Add(`(?x) %H : %M # comment`, "12:30")
	f.Add(`(?(1)a|b)(x)%S`, "bx12")
	f.Add(`[\d-z%%]{,3}\Z`, "1-z%")
	f.Fuzz(func(t *testing.T, pattern, line string) {
		if len(pattern) > 300 || len(line) > 300 {
			return
		}
		local := fuzzZone(t)
		d, err := New(Options{Pattern: pattern, Local: local, Now: fixedNow(testNow)})
		if err != nil {
			return
		}
		for _, l := range strings.Split(line, "\n") {
			checkFound(t, d, l)
		}
	})
}

func FuzzFind(f *testing.F) {
	r := newGenRand(1)
	for i := 0; i < 40; i++ {
		f.Add(genLine(r) + "\n" + genLine(r))
	}
	f.Add("")
	f.Add("\xff\xfe 2005-01-23 21:59:59")
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 1000 {
			return
		}
		local := fuzzZone(t)
		for _, p := range []string{"", "{^LN-BEG}", "^{DATE}", "{NONE}", "{UNB}%H:%M:%S", "LEpoch", "%b %d, %ExY %l:%M:%S(?: %p)?"} {
			d, err := New(Options{Pattern: p, Local: local, Now: fixedNow(testNow)})
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(text, "\n") {
				checkFound(t, d, l)
			}
		}
	})
}

// checkFound runs Find and checks the invariants of its result.
func checkFound(t *testing.T, d *Detector, line string) {
	t.Helper()
	f, ok := d.Find(line)
	if !ok {
		return
	}
	if f.Start > f.End || f.End > len(line) || (f.Start < 0 && f.Start != -1) {
		t.Fatalf("Find(%q): bad span %d..%d", line, f.Start, f.End)
	}
	if f.Template == "" {
		t.Fatalf("Find(%q): no template name", line)
	}
	if f.Err == nil && !f.Empty() && f.Time.IsZero() {
		t.Fatalf("Find(%q): a date without time: %+v", line, f)
	}
}

var fuzzLocal *Zone

func fuzzZone(t testing.TB) *Zone {
	if fuzzLocal == nil {
		fuzzLocal = testZone(t)
	}
	return fuzzLocal
}

func FuzzParseZone(f *testing.F) {
	for _, s := range []string{"UTC", "UTC+0400", "+01:30", "CEST-01", "GMT+12", "", "Z", "ChST", "+1٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		z, err := ParseZone(s)
		if err == nil {
			if off, fixed := z.Fixed(); !fixed || off%60 != 0 || off < -(24*3600) || off > 24*3600 {
				t.Fatalf("ParseZone(%q) = %v", s, z)
			}
		}
	})
}

func FuzzZoneFromTZ(f *testing.F) {
	for _, s := range libcZones {
		f.Add(s, int64(1124013600))
	}
	f.Fuzz(func(t *testing.T, tz string, at int64) {
		if strings.ContainsAny(tz, "/.") {
			return // no file names: they read the disk
		}
		z, _ := zoneFromTZ(tz, true)
		at %= 1 << 40
		z.Lookup(fixedNow(at)())
		var guess int64
		z.mktime(naiveFromSeconds(at), &guess)
	})
}

func FuzzTZif(f *testing.F) {
	for _, name := range []string{"Europe/Berlin", "America/New_York", "UTC", "Asia/Kolkata"} {
		if data, err := readFileForFuzz(name); err == nil {
			f.Add(data, int64(1124013600))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, at int64) {
		zf, err := parseTZif(data)
		if err != nil {
			return
		}
		at %= 1 << 40
		zf.lookup(at)
		if g := zf.withRules("AAA", "BBB", 3600, 7200); g != nil {
			g.lookup(at)
		}
	})
}

func FuzzTranslate(f *testing.F) {
	for _, p := range []string{`(?P<a>x)(?P=a)\b\w+\s*\Z`, `[]a\-z\d]{,2}`, `(?(1)a|b)(c)`, `(?x) a # b`, `\x41\u0042\U00000043\101\0`, `(?<=\[)\d`, `a{`, `(?i:a)(?-i:b)`} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		translatePy(p)
	})
}

func readFileForFuzz(name string) ([]byte, error) { return os.ReadFile(defaultTZDir + "/" + name) }

func newGenRand(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }
