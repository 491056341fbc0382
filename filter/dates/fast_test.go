package dates

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// The fast matchers must give what regexp2 gives on the same expression:
// the same match or none, with the same groups, for any line and any
// search window; and a Detector using them must find what one without them
// finds, line after line (same dates, errors, templates and template
// order). The oracle tests then compare the whole with fail2ban.

// fastPatterns are datepatterns whose templates include fast ones.
var fastPatterns = []string{"", "^{DATE}", "{^LN-BEG}", "{DATE}", "^{DATE}\n{^LN-BEG}"}

// fastTemplates are the templates with a fast matcher, one entry each.
func fastTemplates(t testing.TB) []*entry {
	t.Helper()
	var out []*entry
	seen := map[*template]bool{}
	for _, p := range fastPatterns {
		d, err := New(Options{Pattern: p, Local: UTC, Now: fixedNow(testNow)})
		if err != nil {
			t.Fatal(err)
		}
		d.ensureTemplates()
		for _, e := range d.entries {
			if e.t.fast != nil && !seen[e.t] {
				seen[e.t] = true
				out = append(out, e)
			}
		}
	}
	return out
}

func TestFastAttached(t *testing.T) {
	if err := initDefaults(); err != nil {
		t.Fatal(err)
	}
	if len(fastMatchers) != len(fastShapes)*len(fastPrefixes) {
		t.Fatalf("%d fast matchers", len(fastMatchers))
	}
	want := map[string]bool{
		// ^{DATE}
		`^ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  ?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\s*Zone offset)?`: true,
		`^(?:DAY )?MON Day %k:Minute:Second(?:\.Microseconds)?(?: ExYear)?`:                                            true,
		// {^LN-BEG} and the defaults' line-start copies
		`{^LN-BEG}ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  ?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\s*Zone offset)?`: true,
		`{^LN-BEG}(?:DAY )?MON Day %k:Minute:Second(?:\.Microseconds)?(?: ExYear)?`:                                            true,
		// the defaults
		`ExYear(?P<_sep>[-/.])Month(?P=_sep)Day(?:T|  ?)24hour:Minute:Second(?:[.,]Microseconds)?(?:\s*Zone offset)?`: true,
		`(?:DAY )?MON Day %k:Minute:Second(?:\.Microseconds)?(?: ExYear)?`:                                            true,
	}
	for _, e := range fastTemplates(t) {
		if !want[e.t.name] {
			t.Errorf("unexpected fast template %s", e.t.name)
		}
		delete(want, e.t.name)
		// The parts set the groups regexp2 numbers.
		names := map[string]int{}
		for _, n := range e.t.re.GetGroupNames() {
			names[n] = e.t.re.GroupNumberFromName(n)
		}
		set := map[int]bool{0: true, 1: true}
		for _, pt := range e.t.fast.parts {
			if pt.group > 0 {
				set[pt.group] = true
			}
		}
		for n, g := range names {
			if !set[g] {
				t.Errorf("%s: group %s (%d) set by no part", e.t.name, n, g)
			}
		}
	}
	for n := range want {
		t.Errorf("no fast matcher for %s", n)
	}
}

// fastAlphabet are characters that matter to the templates, and some that
// only a Unicode-aware matcher knows.
var fastAlphabet = []rune("0123456789012345678920202021 ::--/..,TZ+UTCGMT_aAjJnNuUfFsSpPeEbBmMrRyYlLoOcCvVdDgGtThHwWiI\t\n\x1c\u00a0\u2028é٣ſKİı")

// Pieces of dates for fastLine: what the templates take and near misses.
var (
	fastPre  = []string{"", "", "", "#", "##", "###", "é", "x", " ", "[", "a1 ", "host sshd[1]: ", "_", "1"}
	fastTail = []string{"", "", " rest", "x", "1", "_", " ", "é", ".", "٣", ":", "\x1c", "\u00a0", "Z", " 2021"}
	isoYear  = []string{"2021", "2021", "2029", "2030", "2000", "1999", "202", "20211", "٢٠٢١", "202٣"}
	isoSep   = []string{"-", "-", "/", ".", ":", " ", ""}
	isoMonth = []string{"6", "06", "10", "12", "13", "00", "0", "001", "1", "٦"}
	isoDay   = []string{"1", "01", " 1", "11", "29", "31", "32", "0", "1٣", "  1"}
	isoT     = []string{"T", "T", " ", "  ", "   ", "", "t", "\t"}
	isoHour  = []string{"0", "00", "9", "17", "19", "23", "24", "29", "2", "٣", "003"}
	isoMin   = []string{"0", "00", "59", "60", "5", "٣", "000"}
	isoSec   = []string{"0", "03", "59", "60", "61", "62", "6", "٣", "003"}
	isoFrac  = []string{"", "", ".1", ",123456", ".1234567", ".", ",", ".٣"}
	isoSpace = []string{"", "", " ", "  ", "\t", "\x1c", "\u00a0", "\n"}
	isoZone  = []string{"", "", "Z", "UTC", "GMT", "+01", "+0100", "+01:00", "-1", "+01:0", "+011", "+2", "utc", "z", "+0٣", "-05:00"}
	sysWday  = []string{"", "", "Mon ", "mon ", "MON ", "Sun ", "ſun ", "Mo ", "Monday ", "Fri  "}
	sysMonth = []string{"Jun", "Jun", "jun", "JUN", "Jan", "ſep", "Sep", "Ju", "June", "Kov", "DEC"}
	sysDay   = []string{"1", " 1", "01", "11", "31", "32", "0", "1٣", "  1"}
	sysSpace = []string{" ", " ", "  ", "   ", ""}
	sysFrac  = []string{"", "", ".5", ".123456", ".1234567", ",5", "."}
	sysYear  = []string{"", "", " 2021", " 2030", " 1999", " 20211", "  2021", " 202٣"}
)

// pick takes the first (valid) piece two times in three, else any.
func pick(r *rand.Rand, s []string) string {
	if r.Intn(3) != 0 {
		return s[0]
	}
	return s[r.Intn(len(s))]
}

// fastLine makes a line for the differential tests: a date in a form the
// fast templates read, more or less, or a random one, mutated at random
// places.
func fastLine(r *rand.Rand) string {
	var s string
	switch r.Intn(6) {
	case 0:
		s = genLine(r)
	case 1, 2:
		sep := pick(r, isoSep)
		sep2 := sep
		if r.Intn(5) == 0 {
			sep2 = pick(r, isoSep)
		}
		s = pick(r, isoYear) + sep + pick(r, isoMonth) + sep2 + pick(r, isoDay) + pick(r, isoT) +
			pick(r, isoHour) + ":" + pick(r, isoMin) + ":" + pick(r, isoSec) + pick(r, isoFrac)
		if r.Intn(2) == 0 {
			s += pick(r, isoSpace) + pick(r, isoZone)
		}
	case 3, 4:
		s = pick(r, sysWday) + pick(r, sysMonth) + " " + pick(r, sysDay) + pick(r, sysSpace) +
			pick(r, isoHour) + ":" + pick(r, isoMin) + ":" + pick(r, isoSec) + pick(r, sysFrac) + pick(r, sysYear)
	default:
		var b strings.Builder
		for n := r.Intn(30); n > 0; n-- {
			b.WriteRune(fastAlphabet[r.Intn(len(fastAlphabet))])
		}
		s = b.String()
	}
	s = pick(r, fastPre) + s + pick(r, fastTail)
	if r.Intn(4) == 0 {
		s += " " + fastLine(r)
	}
	rs := []rune(s)
	for n := r.Intn(6) - 3; n > 0 && len(rs) > 0; n-- {
		i := r.Intn(len(rs))
		switch r.Intn(3) {
		case 0:
			rs[i] = fastAlphabet[r.Intn(len(fastAlphabet))]
		case 1:
			rs = append(rs[:i], rs[i+1:]...)
		default:
			rs = append(rs[:i], append([]rune{fastAlphabet[r.Intn(len(fastAlphabet))]}, rs[i:]...)...)
		}
	}
	return string(rs)
}

// fastStats counts what the fast matchers answered.
type fastStats struct{ yes, no, unsure int }

// checkFastSearch compares the fast matcher of e with regexp2 on
// line[pos:endpos] (rune offsets), trying the first path alone first (as
// Find does) and all paths at once.
func checkFastSearch(t testing.TB, d *Detector, e *entry, line string, pos, endpos int, st *fastStats) {
	t.Helper()
	r := []rune(line)
	if endpos > len(r) {
		endpos = len(r)
	}
	if pos < 0 || pos > endpos {
		return
	}
	d.noFast, d.nMatches = true, 0
	m := d.search(e, r, pos, endpos)
	if d.searchErr != nil {
		t.Fatalf("%s: %q: %v", e.t.name, line, d.searchErr)
	}
	ascii := true
	for _, c := range r {
		ascii = ascii && c < 0x80
	}
	for mode, how := range []string{"shape's first path, then all", "first path, then all", "all paths"} {
		g := make([]span, e.t.groups+1)
		res := e.t.fast.searchPaths(r, pos, endpos, g, ascii, mode)
		switch res {
		case fastUnsure:
			st.unsure++
			continue
		case fastNo:
			st.no++
			if m != nil {
				t.Fatalf("%s on %q [%d:%d]: fast (%s): no match, regexp2: %v", e.t.name, line, pos, endpos, how, m.groups)
			}
			continue
		}
		st.yes++
		if m == nil {
			t.Fatalf("%s on %q [%d:%d]: fast (%s): %v, regexp2: no match", e.t.name, line, pos, endpos, how, g)
		}
		for i := range g {
			if g[i] != m.group(i) {
				t.Fatalf("%s on %q [%d:%d]: group %d: fast (%s) %v, regexp2 %v (fast %v, regexp2 %v)", e.t.name, line, pos, endpos, i, how, g[i], m.group(i), g, m.groups)
			}
		}
	}
}

func TestFastSearchSame(t *testing.T) {
	entries := fastTemplates(t)
	d, err := New(Options{Local: UTC, Now: fixedNow(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewSource(7))
	var st fastStats
	n := 20000
	if testing.Short() {
		n = 2000
	}
	for i := 0; i < n; i++ {
		line := fastLine(r)
		l := len([]rune(line))
		for _, e := range entries {
			checkFastSearch(t, d, e, line, 0, l, &st)
			if l > 0 {
				a := r.Intn(l + 1)
				checkFastSearch(t, d, e, line, a, a+r.Intn(l+1-a), &st)
			}
		}
	}
	t.Logf("fast answers: %d matches, %d no match, %d left to regexp2", st.yes, st.no, st.unsure)
	if st.yes < n || st.no < 3*n || st.unsure > 3*n/2 { // three modes
		t.Fatalf("too few cases decided: %+v", st)
	}
}

// checkFastFind runs the lines through two detectors, with and without
// the fast matchers, and compares every finding and the template order.
func checkFastFind(t testing.TB, pattern string, lines []string) {
	t.Helper()
	local := fuzzZone(t)
	var dets [2]*Detector
	for i := range dets {
		d, err := New(Options{Pattern: pattern, Local: local, Now: fixedNow(testNow)})
		if err != nil {
			t.Fatal(err)
		}
		clock := 1e9
		d.clock = func() float64 { clock += 7; return clock }
		dets[i] = d
	}
	dets[1].noFast = true
	for _, l := range lines {
		f0, ok0 := dets[0].Find(l)
		f1, ok1 := dets[1].Find(l)
		if ok0 != ok1 || f0.Start != f1.Start || f0.End != f1.End || f0.Template != f1.Template ||
			!f0.Time.Equal(f1.Time) || fmt.Sprint(f0.Err) != fmt.Sprint(f1.Err) {
			t.Fatalf("pattern %q, line %q:\nfast:    %v %+v\nregexp2: %v %+v", pattern, l, ok0, f0, ok1, f1)
		}
		h0, h1 := dets[0].Hits(), dets[1].Hits()
		if fmt.Sprint(h0) != fmt.Sprint(h1) {
			t.Fatalf("pattern %q, after %q: templates\nfast:    %v\nregexp2: %v", pattern, l, h0, h1)
		}
		if dets[0].lastIdx != dets[1].lastIdx || dets[0].lastPos != dets[1].lastPos || dets[0].lastEnd != dets[1].lastEnd ||
			dets[0].firstUnused != dets[1].firstUnused || dets[0].guess != dets[1].guess {
			t.Fatalf("pattern %q, after %q: detector state differs", pattern, l)
		}
		for i, e := range dets[0].entries {
			o := dets[1].entries[i]
			if e.matches != o.matches || e.distance != o.distance || e.lastUsed != o.lastUsed {
				t.Fatalf("pattern %q, after %q: template %s: fast %+v, regexp2 %+v", pattern, l, e.t.name, *e, *o)
			}
		}
	}
}

func TestFastFindSame(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	rounds := 300
	if testing.Short() {
		rounds = 30
	}
	for i := 0; i < rounds; i++ {
		lines := make([]string, 30)
		for j := range lines {
			lines[j] = fastLine(r)
		}
		for _, p := range fastPatterns {
			checkFastFind(t, p, lines)
		}
	}
}

func FuzzFastSearch(f *testing.F) {
	r := rand.New(rand.NewSource(3))
	for i := 0; i < 50; i++ {
		f.Add(fastLine(r), 0, 1000)
	}
	for _, s := range []string{
		"2021-06-11T17:00:03 192.0.2.7 - Incorrect token used.",
		"2021-1-5 1:2:3", "2021-10-05  17:00:03.123456 +01:00", "2021/10/05 17:00:03,5Z", "2021.10.05 17:00:031",
		"Jun 11 17:00:03 host sshd[1234]: x", "Mon Jun  1 7:00:03.5 2024", "sun jun 1 24:00:60 2021x",
		"ſep 11 17:00:03", "Jun 11 17:00:03é", "2021-06-11T17:00:0٣", "#é2021-06-11 17:00:03", "x Jun 11 17:00:03 \u00a0+0100",
	} {
		f.Add(s, 0, 1000)
		f.Add(s, 2, 12)
	}
	entries := fastTemplates(f)
	d, err := New(Options{Local: UTC, Now: fixedNow(testNow)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line string, pos, endpos int) {
		if len(line) > 300 {
			return
		}
		var st fastStats
		for _, e := range entries {
			checkFastSearch(t, d, e, line, pos, endpos, &st)
		}
	})
}

func FuzzFastFind(f *testing.F) {
	r := rand.New(rand.NewSource(5))
	for i := 0; i < 30; i++ {
		f.Add(fastLine(r) + "\n" + fastLine(r) + "\n" + fastLine(r))
	}
	f.Fuzz(func(t *testing.T, text string) {
		if len(text) > 1000 {
			return
		}
		lines := strings.Split(text, "\n")
		for _, p := range fastPatterns {
			checkFastFind(t, p, lines)
		}
	})
}

// The shapes' own first paths must take the usual dates without handing
// them to the generic matcher (which would be right, only slower).
func TestFastFirstCovers(t *testing.T) {
	entries := fastTemplates(t)
	lines := []string{
		"2021-06-11T17:00:03 192.0.2.7 - Incorrect token used.",
		"2021-12-31 23:59:59,123 x", "2021/10/05 20:00:03.123456Z", "2021.01.30 09:05:07 +0100 x",
		"2021-09-09  00:00:00 -05:00 x", "2021-11-01T21:13:45.5 UTC", "2021-03-31 22:10:60",
		"2021-1-9 1:2:3 x", "2021-06-11 17:00:03 GMT+x",
		"Jun 11 17:00:03 host sshd[1234]: x", "Mon Dec  1 07:00:03.5 2024 x", "sun oct 31 23:59:59 x",
		"Feb 28 20:00:00 2021 x", "JAN  9 9:05:06 x",
	}
	for _, l := range lines {
		r := []rune(l)
		covered := false
		for _, e := range entries {
			m := e.t.fast
			if m.prefix != prefixCaret {
				continue
			}
			st := fastState{in: r, g: make([]span, m.groups+1), ascii: true}
			if _, ok := m.first(&st, 0); ok {
				covered = true
			}
		}
		if !covered {
			t.Errorf("%q: no shape's first path takes it", l)
		}
	}
}
