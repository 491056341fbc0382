package conf

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/banserver/banserver/testenv"
)

// fail2ban as Debian installs it: its Python package (run by
// /usr/bin/python3), its stock configuration and its test corpus.
const (
	f2bPython  = "/usr/bin/python3"
	f2bPackage = "/usr/lib/python3/dist-packages/fail2ban"
	f2bStock   = "/etc/fail2ban"
)

var (
	f2bTests  = filepath.Join(f2bPackage, "tests", "config")
	f2bLogDir = filepath.Join(f2bPackage, "tests", "files", "logs")
)

// needFail2ban skips the test (fails it in CI) without fail2ban, and
// returns the python that runs it.
func needFail2ban(t *testing.T) string {
	t.Helper()
	py := testenv.Tool(t, f2bPython)
	for _, p := range []string{f2bPackage, filepath.Join(f2bStock, "filter.d"), f2bLogDir} {
		if _, err := os.Stat(p); err != nil {
			testenv.Missingf(t, "fail2ban 1.0.2 (Debian package fail2ban) is needed: %v", err)
		}
	}
	return py
}

// oracleCase is one question for testdata/oracle.py.
type oracleCase struct {
	Basedir string            `json:"basedir,omitempty"`
	Name    string            `json:"name,omitempty"`
	Opts    map[string]string `json:"opts,omitempty"`
	Flow    string            `json:"flow,omitempty"`
	Jail    map[string]string `json:"jail,omitempty"`
	Backend string            `json:"backend,omitempty"`
	Spec    *string           `json:"spec,omitempty"`
	Shlex   *string           `json:"shlex,omitempty"`
}

// oracleResult is fail2ban's answer to one oracleCase.
type oracleResult struct {
	Error  string `json:"error"`
	Stream *struct {
		PrefRegex    *string           `json:"prefregex"`
		FailRegex    []string          `json:"failregex"`
		IgnoreRegex  []string          `json:"ignoreregex"`
		MaxLines     *int              `json:"maxlines"`
		DatePattern  *string           `json:"datepattern"`
		JournalMatch [][]string        `json:"journalmatch"`
		UseDNS       *string           `json:"usedns"`
		Other        map[string]string `json:"other"`
	} `json:"stream"`
	Values map[string]string `json:"values"`
	// spec and shlex cases
	Name  string            `json:"name"`
	Opts  map[string]string `json:"opts"`
	Words []string          `json:"words"`
}

// askOracle runs testdata/oracle.py once over all cases.
func askOracle(t *testing.T, py string, cases []oracleCase) []oracleResult {
	t.Helper()
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "testdata/oracle.py")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("testdata/oracle.py: %v\n%s", err, stderr.String())
	}
	var res []oracleResult
	if err := json.Unmarshal(out, &res); err != nil || len(res) != len(cases) {
		t.Fatalf("testdata/oracle.py: %d results for %d cases: %v", len(res), len(cases), err)
	}
	return res
}

// resolved is what both readers are compared on.
type resolved struct {
	PrefRegex      string
	FailRegex      []string
	IgnoreRegex    []string
	MaxLines       int
	DatePattern    string
	JournalMatches [][]string
	UseDNS         string
}

func fromFilter(f *Filter) resolved {
	return resolved{f.PrefRegex, f.FailRegex, f.IgnoreRegex, f.MaxLines, f.DatePattern, f.JournalMatches, f.UseDNS}
}

func fromOracle(r oracleResult) resolved {
	s := r.Stream
	var v resolved
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	v.PrefRegex, v.DatePattern, v.UseDNS = deref(s.PrefRegex), deref(s.DatePattern), deref(s.UseDNS)
	v.FailRegex, v.IgnoreRegex, v.JournalMatches = s.FailRegex, s.IgnoreRegex, s.JournalMatch
	if s.MaxLines != nil {
		v.MaxLines = *s.MaxLines
	}
	return v
}

// diff lists the fields where a and b differ; nil and empty lists are equal.
func (a resolved) diff(b resolved) []string {
	var out []string
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for i := range va.NumField() {
		fa, fb := va.Field(i), vb.Field(i)
		if fa.Kind() == reflect.Slice && fa.Len() == 0 && fb.Len() == 0 {
			continue
		}
		if !reflect.DeepEqual(fa.Interface(), fb.Interface()) {
			out = append(out, fmt.Sprintf("%s: got %q, fail2ban %q", va.Type().Field(i).Name, fa.Interface(), fb.Interface()))
		}
	}
	return out
}

// corpusLine is samplestestcase.py's marker of JSON lines in a sample log.
var corpusLine = regexp.MustCompile(`^#+ ?(failJSON|(?:file|filter)Options|addFILE):(.+)$`)

// corpusOptionSets returns the filter option sets fail2ban's sample test
// reads the filter with: {} and each "# filterOptions:" entry (merged over
// "# fileOptions:", "test." keys dropped), following "# addFILE:" as
// samplestestcase.py does. Every set is returned once; test.condition is
// not evaluated (a set read that the test skips is compared all the same).
func corpusOptionSets(t *testing.T, name string) []map[string]string {
	sets := []map[string]string{{}}
	seen := map[string]bool{"{}": true}
	files := []string{name}
	common := map[string]any{}
	for i := 0; i < len(files) && i < 20; i++ {
		f, err := os.Open(filepath.Join(f2bLogDir, files[i]))
		if err != nil {
			continue // no sample log: the filter is still read with {}
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			m := corpusLine.FindStringSubmatch(strings.TrimRight(sc.Text(), "\r\n"))
			if m == nil || m[1] == "failJSON" {
				continue
			}
			var data any
			if err := json.Unmarshal([]byte(m[2]), &data); err != nil {
				t.Errorf("%s: %q: %v", files[i], m[0], err)
				continue
			}
			switch m[1] {
			case "addFILE":
				if s, ok := data.(string); ok {
					files = append(files, s)
				}
			case "fileOptions":
				common, _ = data.(map[string]any)
			case "filterOptions":
				list, ok := data.([]any)
				if !ok {
					list = []any{data}
				}
				for _, d := range list {
					dm, _ := d.(map[string]any)
					opts := map[string]string{}
					ok := true
					for _, src := range []map[string]any{common, dm} {
						for k, v := range src {
							s, isStr := v.(string)
							if strings.HasPrefix(k, "test.") {
								continue
							}
							if !isStr {
								ok = false
							}
							opts[k] = s
						}
					}
					key, _ := json.Marshal(opts) // sorted keys
					if !ok || seen[string(key)] {
						continue
					}
					seen[string(key)] = true
					sets = append(sets, opts)
				}
			}
		}
		f.Close()
	}
	return sets
}

// confNames lists the *.conf files of dir without extension, sorted;
// prefix, when set, keeps only names that start with it.
func confNames(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		n, ok := strings.CutSuffix(e.Name(), ".conf")
		if st, err := os.Stat(filepath.Join(dir, e.Name())); ok && err == nil && st.Mode().IsRegular() {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// readerCase is one filter × option set × flow, asked of both readers.
type readerCase struct {
	oracleCase
	logType string
	// deviation, when set, says why Read answers differently on purpose.
	deviation string
	// generated cases may hit any deliberate deviation (see deliberate).
	generated bool
}

func (c readerCase) String() string {
	o, _ := json.Marshal(c.Opts)
	s := fmt.Sprintf("%s/filter.d/%s %s flow=%s", c.Basedir, c.Name, o, c.Flow)
	if len(c.Jail) > 0 {
		j, _ := json.Marshal(c.Jail)
		s += fmt.Sprintf(" jail=%s", j)
	}
	if c.Backend != "" {
		s += " backend=" + c.Backend
	}
	return s
}

// filterCases builds, for each filter of basedir/filter.d and each option
// set of the corpus, the cases of the three ways fail2ban reads a filter:
// its sample test's way, its jail reader's, and the jail reader's for a
// systemd backend (logtype journal unless set).
func filterCases(t *testing.T, basedir string, names []string) []readerCase {
	var cases []readerCase
	for _, n := range names {
		for _, opts := range corpusOptionSets(t, n) {
			base := oracleCase{Basedir: basedir, Name: n, Opts: opts}
			test, jail, journal := base, base, base
			test.Flow, jail.Flow, journal.Flow, journal.Backend = "test", "jail", "jail", "systemd"
			cases = append(cases, readerCase{oracleCase: test}, readerCase{oracleCase: jail}, readerCase{oracleCase: journal, logType: "journal"})
		}
	}
	return cases
}

// tally counts how cases compared.
type tally struct {
	total, equal int
	// split are test-flow cases where fail2ban's sample test reader and its
	// jail reader disagree and Read agrees with the jail reader.
	split int
	// deviations are cases that differ as their deviation says.
	deviations int
	// refused are equal cases where both readers refuse the filter.
	refused int
}

// compareReaders asks fail2ban and Read every case and reports each
// difference.
func compareReaders(t *testing.T, py string, cases []readerCase) tally {
	t.Helper()
	qs := make([]oracleCase, len(cases))
	index := map[string]int{}
	for i, c := range cases {
		qs[i] = c.oracleCase
		index[c.String()] = i
	}
	answers := askOracle(t, py, qs)
	var n tally
	for i, want := range answers {
		c := cases[i]
		f, err := Read(c.Name, Options{Dirs: []string{filepath.Join(c.Basedir, "filter.d")}, Vars: c.Opts, Jail: c.Jail, LogType: c.logType})
		var problems []string
		switch {
		case want.Error != "" && err != nil:
			n.refused++
			t.Logf("%v: both refuse: fail2ban %s; Read %v", c, want.Error, err)
			// (Read reads as the jail reader does: its first error is the one to match)
			if s := sentinelOf(want.Error); c.Flow == "jail" && s != nil && !errors.Is(err, s) && deliberate(err) == "" {
				problems = append(problems, fmt.Sprintf("both refuse, but fail2ban's error (%s) is %v and Read's (%v) is not", want.Error, s, err))
			}
		case want.Error != "":
			problems = append(problems, "fail2ban refuses ("+want.Error+"), Read accepts")
		case err != nil:
			problems = append(problems, fmt.Sprintf("Read refuses (%v), fail2ban accepts", err))
		default:
			problems = fromFilter(f).diff(fromOracle(want))
			if c.Flow == "jail" {
				problems = append(problems, diffValues(f.Values, want.Values)...)
			}
			if len(want.Stream.Other) > 0 && !c.generated {
				t.Logf("%v: fail2ban's convert also sends %q", c, want.Stream.Other)
			}
		}
		n.total++
		if c.generated && want.Error == "" && err != nil {
			c.deviation = deliberate(err)
		}
		if c.deviation != "" {
			if len(problems) == 0 {
				t.Errorf("%v: no longer differs from fail2ban, though %s", c, c.deviation)
				continue
			}
			n.deviations++
			t.Logf("%v: differs on purpose (%s):\n\t%s", c, c.deviation, strings.Join(problems, "\n\t"))
			continue
		}
		if len(problems) == 0 {
			n.equal++
			continue
		}
		if c.Flow == "test" && want.Error == "" {
			// Read reads as fail2ban's jail reader does; where fail2ban's
			// sample-test reader answers otherwise, ask the jail reader.
			jc := c
			jc.Flow = "jail"
			if j, ok := index[jc.String()]; ok {
				jw := answers[j]
				agree := false
				switch {
				case err != nil:
					agree = jw.Error != ""
				case jw.Error == "":
					jail := fromOracle(jw)
					agree = len(jail.diff(fromOracle(want))) > 0 && len(fromFilter(f).diff(jail)) == 0
				}
				if agree {
					n.split++
					t.Logf("%v: fail2ban's sample-test reader and its jail reader disagree; Read follows the jail reader:\n\t%s",
						c, strings.Join(problems, "\n\t"))
					continue
				}
			}
		}
		t.Errorf("%v:\n\t%s", c, strings.Join(problems, "\n\t"))
	}
	return n
}

// sentinelOf is the sentinel Read's error must match where fail2ban
// fails with the error text e (from testdata/oracle.py), nil when there is
// no single one.
func sentinelOf(e string) error {
	kind, msg, _ := strings.Cut(e, ": ")
	switch kind {
	case "not read":
		return ErrNotFound
	case "ParsingError", "MissingSectionHeaderError", "DuplicateSectionError", "DuplicateOptionError", "InterpolationSyntaxError", "NoOptionError":
		return ErrSyntax
	case "InterpolationMissingOptionError", "InterpolationDepthError", "MemoryError":
		return ErrInterpolation
	case "ValueError":
		if strings.HasPrefix(msg, "No closing quotation") || strings.HasPrefix(msg, "No escaped character") {
			return ErrSyntax
		}
		if strings.HasPrefix(msg, "properties contain self referencing definitions") {
			return ErrInterpolation
		}
	}
	return nil
}

// deliberate says which of the package's deliberate differences from
// fail2ban err is (see the package comment), or "".
func deliberate(err error) string {
	var e *Error
	if !errors.As(err, &e) {
		return ""
	}
	switch {
	case errors.Is(err, ErrNotFound) && strings.HasPrefix(e.Msg, "included file "):
		return "an include that does not exist is an error"
	case errors.Is(err, ErrSyntax) && e.Option == "maxlines":
		return "a maxlines that is not a positive integer is an error"
	case strings.Contains(e.Msg, "MaxValueSize"):
		return "values are bounded"
	}
	return ""
}

// diffValues compares Filter.Values with fail2ban's combined options.
func diffValues(got, want map[string]string) []string {
	var out []string
	for k, w := range want {
		g, ok := got[k]
		if k == "maxlines" && ok {
			if n, isInt := pyInt(g); isInt {
				g = fmt.Sprint(n)
			}
		}
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("Values[%q] missing, fail2ban %q", k, w))
		case g != w:
			out = append(out, fmt.Sprintf("Values[%q] = %q, fail2ban %q", k, g, w))
		}
	}
	for k, g := range got {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("Values[%q] = %q, fail2ban has none", k, g))
		}
	}
	slices.Sort(out)
	return out
}

// TestOracleFilters reads every stock filter and every test filter of
// fail2ban, with every option set its sample corpus uses, with Read and
// with fail2ban's own FilterReader, and requires the same result.
func TestOracleFilters(t *testing.T) {
	py := needFail2ban(t)
	for _, set := range []struct {
		name    string
		basedir string
	}{
		{"stock", f2bStock},
		{"tests", testConfigTree(t)},
	} {
		t.Run(set.name, func(t *testing.T) {
			names := confNames(t, filepath.Join(set.basedir, "filter.d"))
			cases := filterCases(t, set.basedir, names)
			opts := 0
			for _, c := range cases {
				if c.Flow == "test" {
					opts++
				}
			}
			n := compareReaders(t, py, cases)
			t.Logf("%s: %d filters, %d filter × option sets, %d cases (3 ways of reading each): %d equal (%d of them refused by both), %d where fail2ban's two readers disagree and Read agrees with its jail reader",
				set.name, len(names), opts, n.total, n.equal, n.refused, n.split)
		})
	}
}

// testConfigTree returns a basedir whose filter.d holds (links to)
// fail2ban's test filters, placed so that the paths by which they include
// the stock common.conf (../../../../config/filter.d/common.conf and
// seven levels up: paths of fail2ban's source tree, which Debian's
// installation does not have) reach it.
func testConfigTree(t *testing.T) string {
	tmp := t.TempDir()
	base := filepath.Join(tmp, "x1", "x2", "x3", "x4", "x5", "x6")
	link := func(target, name string) {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	ents, err := os.ReadDir(filepath.Join(f2bTests, "filter.d"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		link(filepath.Join(f2bTests, "filter.d", e.Name()), filepath.Join(base, "filter.d", e.Name()))
	}
	for _, up := range []string{tmp, filepath.Join(tmp, "x1", "x2", "x3")} {
		link(filepath.Join(f2bStock, "filter.d", "common.conf"), filepath.Join(up, "config", "filter.d", "common.conf"))
	}
	return base
}

// TestOracleActions reads fail2ban's action files through the same
// reader: they use more of the dialect than filters do ([Init?family=...]
// conditional sections, <known/...>, long tag chains).
func TestOracleActions(t *testing.T) {
	py := needFail2ban(t)
	names := confNames(t, filepath.Join(f2bStock, "action.d"))
	var cases []readerCase
	for _, n := range names {
		for _, flow := range []string{"test", "jail"} {
			cases = append(cases, readerCase{oracleCase: oracleCase{Basedir: f2bStock, Name: "../action.d/" + n, Flow: flow}})
		}
	}
	n := compareReaders(t, py, cases)
	t.Logf("%d action files, %d cases: %d equal (%d of them refused by both), %d where fail2ban's two readers disagree and Read agrees with its jail reader",
		len(names), n.total, n.equal, n.refused, n.split)
}
