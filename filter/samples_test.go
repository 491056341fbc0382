package filter

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/filter/dates"
	"github.com/banserver/banserver/testenv"
)

// fail2ban 1.0.2 as Debian installs it: the stock filters, its test
// filters and its sample corpus. The test reads them where they are; none
// of them is copied into this repository.
const (
	f2bPackage    = "/usr/lib/python3/dist-packages/fail2ban"
	f2bFilterDir  = "/etc/fail2ban/filter.d"
	f2bTestFilter = f2bPackage + "/tests/config/filter.d"
	f2bSamples    = f2bPackage + "/tests/files/logs"
	// testNow is tests/utils.py's TEST_NOW (Sun Aug 14 12:00:00 CEST
	// 2005), the fixed clock of setUpMyTime; testTZ the TZ it sets.
	testNow = 1124013600
	testTZ  = "CET-01CEST-02,M3.5.0,M10.5.0"
)

// sampleKey names one annotated line under one option set.
type sampleKey struct {
	filter string // the filter under test
	file   string // the sample file
	line   int    // the line's number in the file
}

// knownDiffs are the lines where the engine and fail2ban still disagree,
// each with the reason. It must shrink to zero: a listed line that agrees
// fails the test too, so the entry is removed.
var knownDiffs = map[sampleKey]string{}

// sampleResult is what the corpus run found for one filter.
type sampleResult struct {
	compared, equal int
	diffs           []string // "file:line [option set]: what differs"
	keys            []sampleKey
	slowest         time.Duration // the longest Process call
	slowestAt       string
}

// corpusFilters lists the filters samplestestcase.py tests: every stock
// filter but common.conf and the other *common.conf includes, and the
// zzz- test filters, each with its directory.
func corpusFilters(t *testing.T) [][2]string {
	var out [][2]string
	for _, d := range []struct {
		dir  string
		keep func(string) bool
	}{
		{f2bFilterDir, func(n string) bool { return !strings.HasSuffix(n, "common.conf") && strings.HasSuffix(n, ".conf") }},
		{stageTestFilters(t), func(n string) bool { return strings.HasPrefix(n, "zzz-") && strings.HasSuffix(n, ".conf") }},
	} {
		ents, err := os.ReadDir(d.dir)
		if err != nil {
			t.Fatalf("fail2ban's filters: %v", err)
		}
		for _, e := range ents {
			n := e.Name()
			if !d.keep(n) || strings.HasPrefix(n, ".") {
				continue
			}
			out = append(out, [2]string{strings.TrimSuffix(n, ".conf"), d.dir})
		}
	}
	return out
}

// stageTestFilters copies fail2ban's zzz- test filters into a temporary
// tree where their include, ../../../../../../../config/filter.d/common.conf
// (fail2ban's source tree), finds the stock common.conf: Debian installs
// the test filters where that path leads nowhere, so fail2ban's own sample
// test errors on them there.
func stageTestFilters(t *testing.T) string {
	root := t.TempDir()
	dir := filepath.Join(root, "a", "b", "c", "d", "e", "f", "filter.d")
	common := filepath.Join(root, "config", "filter.d")
	for _, d := range []string{dir, common} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cp := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatalf("fail2ban's filters: %v", err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cp(filepath.Join(f2bFilterDir, "common.conf"), filepath.Join(common, "common.conf"))
	ents, err := os.ReadDir(f2bTestFilter)
	if err != nil {
		t.Fatalf("fail2ban's test filters: %v", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "zzz-") {
			cp(filepath.Join(f2bTestFilter, e.Name()), filepath.Join(dir, e.Name()))
		}
	}
	return dir
}

// TestSamples runs fail2ban's own acceptance corpus through the engine, as
// tests/samplestestcase.py runs it through fail2ban: every annotated line
// of every filter's sample files under every option set, comparing match,
// host, time and the annotated fields.
func TestSamples(t *testing.T) {
	if _, err := os.Stat(f2bSamples); err != nil {
		testenv.Missingf(t, "fail2ban 1.0.2 (Debian package fail2ban) is needed for its sample corpus: %v", err)
	}
	zone, err := dates.ZoneFromTZ(testTZ)
	if err != nil {
		t.Fatalf("ZoneFromTZ(%q): %v", testTZ, err)
	}
	total := &sampleResult{}
	seenKnown := map[sampleKey]bool{}
	for _, fd := range corpusFilters(t) {
		name, dir := fd[0], fd[1]
		res := runSamples(name, dir, zone)
		total.compared += res.compared
		total.equal += res.equal
		for i, d := range res.diffs {
			k := res.keys[i]
			if reason, ok := knownDiffs[k]; ok {
				seenKnown[k] = true
				t.Logf("known difference (%s): %s: %s", reason, name, d)
				continue
			}
			t.Errorf("%s: %s", name, d)
		}
		t.Logf("%-28s %4d compared, %4d equal (slowest line %v at %s)", name, res.compared, res.equal, res.slowest.Round(time.Microsecond), res.slowestAt)
	}
	for k, reason := range knownDiffs {
		if !seenKnown[k] {
			t.Errorf("knownDiffs %v (%s) no longer differs: remove it", k, reason)
		}
	}
	t.Logf("fail2ban sample corpus: %d annotated lines × option sets, %d equal, %d different",
		total.compared, total.equal, total.compared-total.equal)
}

// optSet is one option set of a sample file: the filter built for it and
// its options (test.* included).
type optSet struct {
	name string
	flt  *sampleFilter
	opts *object
}

// sampleFilter is a filter of the run with the failregexes its samples used.
type sampleFilter struct {
	f    *Filter
	err  error
	used map[int]bool
}

// runSamples is samplestestcase.py's testSampleRegexs for one filter.
func runSamples(name, dir string, zone *dates.Zone) *sampleResult {
	res := &sampleResult{}
	now := time.Unix(testNow, 0)
	filters := map[string]*sampleFilter{}
	usedRe := map[string]bool{}
	readFilter := func(fltName string, opts *object) *sampleFilter {
		if f := filters[fltName]; f != nil {
			return f
		}
		vars := map[string]string{}
		if opts != nil {
			for _, k := range opts.keys {
				vars[k] = fmt.Sprint(opts.vals[k])
			}
		}
		f, err := New(Settings{
			Name:          name,
			Dirs:          []string{dir},
			Vars:          vars,
			UseDNS:        "raw", // the test's returnRawHost
			Local:         zone,
			Now:           func() time.Time { return now },
			CheckAllRegex: true,
			// The budget guards the daemon against runaway regexes; here a
			// loaded machine must not turn slowness into differences.
			Budget: time.Minute,
		})
		sf := &sampleFilter{f: f, err: err, used: map[int]bool{}}
		filters[fltName] = sf
		return sf
	}
	fail := func(file string, line int, set string, format string, args ...any) {
		res.diffs = append(res.diffs, fmt.Sprintf("%s:%d %s: %s", file, line, set, fmt.Sprintf(format, args...)))
		res.keys = append(res.keys, sampleKey{name, file, line})
	}

	filenames := []string{name}
	var commonOpts *object
	var tests []optSet
	testsSet := false
	for i := 0; i < len(filenames); i++ {
		file := filenames[i]
		lines, err := readSampleLines(filepath.Join(f2bSamples, file))
		if err != nil {
			fail(file, 0, "", "no sample file: %v", err)
			continue
		}
		ignoreBlock := false
		for ln := 0; ln < len(lines); ln++ {
			line := lines[ln].text
			var faildata *object
			if m := annotationRE.FindStringSubmatch(line); m != nil {
				v, err := parseJSON(m[2])
				if err != nil {
					fail(file, lines[ln].num, "", "annotation: %v", err)
					continue
				}
				switch m[1] {
				case "fileOptions":
					commonOpts, _ = v.(*object)
					continue
				case "filterOptions":
					tests, testsSet = nil, true
					ignoreBlock = false
					list, ok := v.([]any)
					if !ok {
						list = []any{v}
					}
					for _, item := range list {
						o, _ := item.(*object)
						opts := commonOpts.merged(o)
						if c := opts.str("test.condition"); c != "" {
							ok, err := evalCondition(c, name, opts)
							if err != nil {
								fail(file, lines[ln].num, "", "%v", err)
							}
							ignoreBlock = !ok
						}
						if ignoreBlock {
							continue
						}
						fltOpts := &object{vals: map[string]any{}}
						for _, k := range opts.keys {
							if !strings.HasPrefix(k, "test.") {
								fltOpts.set(k, opts.vals[k])
							}
						}
						fltName := opts.str("test.filter-name")
						if fltName == "" && len(fltOpts.keys) > 0 {
							fltName = fltOpts.pyStr()
						}
						fltName = name + fltName
						tests = append(tests, optSet{fltName, readFilter(fltName, fltOpts), opts})
					}
					continue
				case "addFILE":
					if s, ok := v.(string); ok {
						filenames = append(filenames, s)
					}
					continue
				}
				faildata, _ = v.(*object)
				if faildata == nil {
					faildata = &object{vals: map[string]any{}}
				}
				ln++
				if ln >= len(lines) {
					break
				}
				line = lines[ln].text
			} else if ignoreBlock || strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
				continue
			} else {
				faildata = &object{vals: map[string]any{}}
			}
			if ignoreBlock {
				continue
			}
			if !testsSet || len(tests) == 0 {
				tests, testsSet = []optSet{{name, readFilter(name, nil), &object{vals: map[string]any{}}}}, true
			}
			lnum := lines[ln].num
			for _, ot := range tests {
				if c := faildata.str("constraint"); c != "" {
					ok, err := evalCondition(c, name, ot.opts)
					if err != nil {
						fail(file, lnum, ot.name, "%v", err)
						continue
					}
					if !ok {
						continue
					}
				}
				res.compared++
				if ot.flt.err != nil {
					fail(file, lnum, ot.name, "New: %v", ot.flt.err)
					continue
				}
				var got []Failure
				start := time.Now()
				if ot.opts.str("logtype") != "journal" {
					got, err = ot.flt.f.Process(line, time.Time{})
				} else {
					if p := ot.opts.str("test.prefix-line"); p != "" {
						line = p + line
					}
					got, err = ot.flt.f.Process(line, now)
				}
				if d := time.Since(start); d > res.slowest {
					res.slowest, res.slowestAt = d, fmt.Sprintf("%s:%d", file, lnum)
				}
				if err != nil {
					fail(file, lnum, ot.name, "Process: %v", err)
					continue
				}
				regexes := ot.flt.f.FailRegex()
				var found []Failure
				for _, g := range got {
					if g.Pending || g.NoFail {
						ot.flt.used[g.Regex] = true
						usedRe[regexes[g.Regex]] = true
						continue
					}
					found = append(found, g)
				}
				if d := compareSample(faildata, found, zone); d != "" {
					fail(file, lnum, ot.name, "%s; line %q", d, line)
					continue
				}
				for _, g := range found {
					ot.flt.used[g.Regex] = true
					usedRe[regexes[g.Regex]] = true
				}
				res.equal++
			}
		}
	}
	// Every failregex of every option set must have a sample.
	names := make([]string, 0, len(filters))
	for n := range filters {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		sf := filters[n]
		if sf.f == nil {
			continue
		}
		for i, r := range sf.f.FailRegex() {
			if !sf.used[i] && !usedRe[r] {
				fail(name, 0, n, "regex has no samples: %d: %q", i, r)
			}
		}
	}
	return res
}

// compareSample compares the failures of a line with its annotation as
// samplestestcase.py does, returning "" when they agree.
func compareSample(want *object, got []Failure, zone *dates.Zone) string {
	wantMatch, _ := want.get("match")
	if len(got) == 0 {
		if wantMatch == true {
			return "line not matched when should have"
		}
		return ""
	}
	if wantMatch != true {
		return fmt.Sprintf("line matched when shouldn't have (regex %d, host %q)", got[0].Regex, got[0].Host)
	}
	if len(got) != 1 {
		var idx []int
		for _, g := range got {
			idx = append(idx, g.Regex)
		}
		return fmt.Sprintf("multiple regexs matched %v", idx)
	}
	g := got[0]
	for _, k := range want.keys {
		switch k {
		case "time", "match", "desc", "constraint":
			continue
		}
		if d := compareField(k, want.vals[k], g); d != "" {
			return d
		}
	}
	if wt, ok := want.get("time"); ok && wt != nil {
		s, _ := wt.(string)
		exp, err := parseLocal(s, zone)
		if err != nil {
			return fmt.Sprintf("time %q: %v", s, err)
		}
		if g.Time.IsZero() {
			return fmt.Sprintf("time: got none, want %s", s)
		}
		if !g.Time.Truncate(time.Microsecond).Equal(exp) {
			return fmt.Sprintf("time: got %s, want %s (%s), diff %v", g.Time.UTC().Format(time.RFC3339Nano), exp.UTC().Format(time.RFC3339Nano), s, g.Time.Sub(exp))
		}
	}
	return ""
}

// compareField compares one annotated field: fail.get(k), else the id for
// host and the number of matches for attempts; lists compared sorted.
func compareField(k string, want any, g Failure) string {
	got, ok := g.Fields[k]
	if !ok {
		switch k {
		case "host":
			if hostEqual(g, want) {
				return ""
			}
			return fmt.Sprintf("host: got %q, want %v", g.Host, want)
		case "attempts":
			n, _ := want.(json.Number)
			if n.String() == strconv.Itoa(len(g.Matches)) {
				return ""
			}
			return fmt.Sprintf("attempts: got %d, want %v", len(g.Matches), want)
		}
		if want == nil {
			return ""
		}
		return fmt.Sprintf("%s: got none, want %v", k, want)
	}
	switch w := want.(type) {
	case []any:
		gl, ok := got.([]string)
		if !ok {
			return fmt.Sprintf("%s: got %v, want list %v", k, got, w)
		}
		ws := make([]string, 0, len(w))
		for _, x := range w {
			ws = append(ws, fmt.Sprint(x))
		}
		gs := append([]string(nil), gl...)
		sort.Strings(ws)
		sort.Strings(gs)
		if !reflect.DeepEqual(ws, gs) && !(len(ws) == 0 && len(gs) == 0) {
			return fmt.Sprintf("%s: got %q, want %q", k, gs, ws)
		}
		return ""
	case string:
		if s, ok := got.(string); ok && s == w {
			return ""
		}
	}
	return fmt.Sprintf("%s: got %#v, want %#v", k, got, want)
}

// hostEqual is fail2ban's IPAddr equality of the failure id with the
// annotated host text: raw ids compare as text, others as addresses.
func hostEqual(g Failure, want any) bool {
	w, ok := want.(string)
	if !ok {
		return false
	}
	if g.rawID || g.Host == w {
		return g.Host == w
	}
	a, b := makeHostID(g.Host, cidrUnspec), makeHostID(w, cidrUnspec)
	if !a.prefix.IsValid() || !b.prefix.IsValid() {
		return a.prefix.IsValid() == b.prefix.IsValid() && a.raw == b.raw
	}
	return a.prefix == b.prefix
}

// annotTimeRE is what Python's strptime accepts for "%Y-%m-%dT%H:%M:%S"
// and "%Y-%m-%dT%H:%M:%S.%f": one or two digits for each field but the
// year, one to six for the fraction.
var annotTimeRE = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,6}))?$`)

// parseLocal reads an annotation's time ("2005-08-14T12:00:00" with an
// optional fraction) as local time in zone, as the test's time.mktime does.
func parseLocal(s string, zone *dates.Zone) (time.Time, error) {
	m := annotTimeRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("not %%Y-%%m-%%dT%%H:%%M:%%S[.%%f]")
	}
	n := make([]int, 6)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	us := 0
	if m[7] != "" {
		us, _ = strconv.Atoi((m[7] + "00000")[:6])
	}
	wall := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], us*1000, time.UTC)
	if wall.Month() != time.Month(n[1]) || wall.Day() != n[2] || n[3] > 23 || n[4] > 59 || n[5] > 61 {
		return time.Time{}, fmt.Errorf("not a valid date")
	}
	// The offset in force at that wall time: try the offsets around it.
	for _, probe := range []time.Duration{-12 * time.Hour, 12 * time.Hour} {
		_, off, _ := zone.Lookup(wall.Add(probe))
		u := wall.Add(-time.Duration(off) * time.Second)
		if _, o2, _ := zone.Lookup(u); o2 == off {
			return u, nil
		}
	}
	_, off, _ := zone.Lookup(wall)
	return wall.Add(-time.Duration(off) * time.Second), nil
}
