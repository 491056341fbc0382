package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/filter/dates"
	"github.com/banserver/banserver/testenv"
)

// testNow is fail2ban's TEST_NOW (tests/utils.py), the clock of its
// sample tests: Sun Aug 14 12:00:00 CEST 2005.
const testNow = 1124013600

// sampleAnnotRE finds the annotations of fail2ban's sample logs.
var sampleAnnotRE = regexp.MustCompile(`^#+ ?(failJSON|(?:file|filter)Options|addFILE):(.+)$`)

// sampleCondRE are the Python conditions the chosen sample logs use.
var sampleCondRE = regexp.MustCompile(`^\s*(name|opts\.get\('([^']*)'\))\s*(==|!=)\s*'([^']*)'\s*$`)

// optSet is one filter option set of a sample run: the lines fail2ban's
// sample test feeds the filter made with it, and what each must give.
type optSet struct {
	opts    map[string]any
	keys    []string // opts' keys in order
	lines   []string
	expects []map[string]any // the line's failJSON ({} for none)
	where   []string         // file:line of each
}

// sampleSets reads a filter's sample log (and the files it adds) as
// samplestestcase.py does and returns its option sets. Sets of the
// journal (logtype journal), which banctl regex does not read, are left
// out.
func sampleSets(t *testing.T, name string) []*optSet {
	t.Helper()
	sets := map[string]*optSet{}
	var order []string
	var current []*optSet
	var common map[string]any
	evalCond := func(c string, opts map[string]any) bool {
		m := sampleCondRE.FindStringSubmatch(c)
		if m == nil {
			t.Fatalf("%s: condition %q not understood", name, c)
		}
		v := name
		if m[1] != "name" {
			v = fmt.Sprint(opts[m[2]])
		}
		return (v == m[4]) == (m[3] == "==")
	}
	get := func(opts map[string]any, keys []string) *optSet {
		var fk []string
		for _, k := range keys {
			if !strings.HasPrefix(k, "test.") {
				fk = append(fk, k+"="+fmt.Sprint(opts[k]))
			}
		}
		key := strings.Join(fk, ",")
		s := sets[key]
		if s == nil {
			s = &optSet{opts: opts, keys: keys}
			sets[key] = s
			order = append(order, key)
		}
		return s
	}
	files := []string{name}
	for i := 0; i < len(files); i++ {
		b, err := os.ReadFile(filepath.Join(f2bSampleLogs, files[i]))
		if err != nil {
			t.Fatalf("sample log: %v", err)
		}
		lines := strings.SplitAfter(string(b), "\n")
		ignoreBlock := false
		for ln := 0; ln < len(lines); ln++ {
			line := lines[ln]
			if line == "" {
				continue
			}
			var fd map[string]any
			if m := sampleAnnotRE.FindStringSubmatch(strings.TrimRight(line, "\r\n")); m != nil {
				var v any
				d := json.NewDecoder(strings.NewReader(m[2]))
				d.UseNumber()
				if err := d.Decode(&v); err != nil {
					t.Fatalf("%s:%d: %v", files[i], ln+1, err)
				}
				switch m[1] {
				case "fileOptions":
					common, _ = v.(map[string]any)
					continue
				case "filterOptions":
					current, ignoreBlock = nil, false
					list, ok := v.([]any)
					if !ok {
						list = []any{v}
					}
					for _, item := range list {
						opts, keys := map[string]any{}, []string(nil)
						for _, src := range []map[string]any{common, item.(map[string]any)} {
							for _, k := range sortedKeys(src) {
								if _, ok := opts[k]; !ok {
									keys = append(keys, k)
								}
								opts[k] = src[k]
							}
						}
						if c, ok := opts["test.condition"].(string); ok {
							ignoreBlock = !evalCond(c, opts)
						}
						if !ignoreBlock {
							current = append(current, get(opts, keys))
						}
					}
					continue
				case "addFILE":
					files = append(files, v.(string))
					continue
				}
				fd, _ = v.(map[string]any)
				if fd == nil {
					fd = map[string]any{}
				}
				ln++
				if ln >= len(lines) {
					break
				}
				line = lines[ln]
			} else if ignoreBlock || strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
				continue
			} else {
				fd = map[string]any{}
			}
			if ignoreBlock {
				continue
			}
			if current == nil {
				current = []*optSet{get(map[string]any{}, nil)}
			}
			line = strings.TrimRight(line, "\r\n")
			for _, s := range current {
				if c, ok := fd["constraint"].(string); ok && !evalCond(c, s.opts) {
					continue
				}
				s.lines = append(s.lines, line)
				s.expects = append(s.expects, fd)
				s.where = append(s.where, fmt.Sprintf("%s:%d", files[i], ln+1))
			}
		}
	}
	var out []*optSet
	for _, k := range order {
		s := sets[k]
		if s.opts["logtype"] == "journal" || len(s.lines) == 0 {
			continue
		}
		out = append(out, s)
	}
	return out
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// spec is the filter argument for a set: name[k="v", ...].
func (s *optSet) spec(name string) string {
	var parts []string
	for _, k := range s.keys {
		if !strings.HasPrefix(k, "test.") {
			parts = append(parts, fmt.Sprintf("%s=%q", k, fmt.Sprint(s.opts[k])))
		}
	}
	if len(parts) == 0 {
		return name
	}
	return name + "[" + strings.Join(parts, ", ") + "]"
}

// TestRegexJSONCorpus checks banctl regex -o json against fail2ban's own
// sample corpus, every stock filter with a sample log: every annotated line's match, host,
// time and annotated fields (user, users, attempts...), each option set's
// lines run as fail2ban's sample test runs them (raw hosts, its clock and
// zone).
func TestRegexJSONCorpus(t *testing.T) {
	if _, err := os.Stat(f2bSampleLogs); err != nil {
		testenv.Missingf(t, "fail2ban's sample logs (Debian package fail2ban): %v", err)
	}
	t.Setenv("TZ", testTZ)
	zone, err := dates.ZoneFromTZ(testTZ)
	if err != nil {
		t.Fatal(err)
	}
	staged := stageTestFilters(t)
	compared := 0
	type filterDir struct{ name, config string }
	filters := []filterDir{{"zzz-sshd-obsolete-multiline", staged}, {"zzz-generic-example", staged}}
	ents, err := os.ReadDir(f2bFilterD)
	if err != nil {
		testenv.Missingf(t, "fail2ban's filters: %v", err)
	}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".conf")
		if _, err := os.Stat(filepath.Join(f2bSampleLogs, name)); ok && err == nil && !strings.HasSuffix(name, "common") {
			filters = append(filters, filterDir{name, "/etc/fail2ban"})
		}
	}
	for _, c := range filters {
		for _, s := range sampleSets(t, c.name) {
			spec := s.spec(c.name)
			log := filepath.Join(t.TempDir(), "log")
			writeFile(t, log, strings.Join(s.lines, "\n")+"\n")
			var out, stderr bytes.Buffer
			args := []string{"regex", "-r", "-o", "json", "--now", strconv.Itoa(testNow), "-c", c.config, log, spec}
			if code := run(args, &out, &stderr); code != exitOK {
				t.Fatalf("%q: exit %d: %s", args, code, stderr.String())
			}
			sc := bufio.NewScanner(&out)
			sc.Buffer(nil, 1<<20)
			i := 0
			for ; sc.Scan(); i++ {
				if i >= len(s.lines) {
					t.Fatalf("%s: more objects than lines", spec)
				}
				var o regexJSONLine
				if err := json.Unmarshal(sc.Bytes(), &o); err != nil {
					t.Fatalf("%s: %s: %v", spec, sc.Bytes(), err)
				}
				if o.Line != i+1 {
					t.Fatalf("%s: object %d has line %d", spec, i+1, o.Line)
				}
				if d := o.check(s.expects[i], zone); d != "" {
					t.Errorf("%s %s: %s\n  line %q\n  got %s", spec, s.where[i], d, s.lines[i], sc.Bytes())
				}
				compared++
			}
			if i != len(s.lines) {
				t.Errorf("%s: %d objects for %d lines", spec, i, len(s.lines))
			}
		}
	}
	t.Logf("%d annotated and plain sample lines compared", compared)
	if compared < 500 {
		t.Errorf("only %d lines compared", compared)
	}
}

// stageTestFilters puts fail2ban's zzz- test filters where their include
// of ../../../../../../../config/filter.d/common.conf finds the stock
// common.conf, and returns the config dir to pass with -c.
func stageTestFilters(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	cfg := filepath.Join(root, "a", "b", "c", "d", "e", "f")
	common, err := os.ReadFile(filepath.Join(f2bFilterD, "common.conf"))
	if err != nil {
		testenv.Missingf(t, "fail2ban's filters: %v", err)
	}
	writeFile(t, filepath.Join(root, "config", "filter.d", "common.conf"), string(common))
	ents, err := os.ReadDir(f2bTestFilter)
	if err != nil {
		testenv.Missingf(t, "fail2ban's test filters: %v", err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "zzz-") {
			b, err := os.ReadFile(filepath.Join(f2bTestFilter, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, filepath.Join(cfg, "filter.d", e.Name()), string(b))
		}
	}
	return cfg
}

// regexJSONLine is one object of banctl regex -o json.
type regexJSONLine struct {
	Line    int            `json:"line"`
	Match   bool           `json:"match"`
	Count   int            `json:"count"`
	Host    *string        `json:"host"`
	Address *string        `json:"address"`
	Time    *float64       `json:"time"`
	Fields  map[string]any `json:"fields"`
	Error   string         `json:"error"`
}

// check compares an object with a failJSON annotation as
// samplestestcase.py compares a failure, returning "" when they agree.
func (o *regexJSONLine) check(want map[string]any, zone *dates.Zone) string {
	if o.Error != "" {
		return "error: " + o.Error
	}
	if o.Fields == nil {
		return "no fields object"
	}
	if want["match"] != true {
		if o.Match || o.Count != 0 {
			return "matched when it should not have"
		}
		return ""
	}
	if !o.Match || o.Count != 1 || o.Host == nil {
		return fmt.Sprintf("want one failure, got match %v count %d", o.Match, o.Count)
	}
	for _, k := range sortedKeys(want) {
		switch k {
		case "time", "match", "desc", "constraint":
			continue
		}
		w := want[k]
		got, ok := o.Fields[k]
		if !ok {
			switch {
			case k == "host":
				// fail2ban compares its IPAddr id with the text: as
				// addresses when both are.
				got = *o.Host
				if a, err := netip.ParseAddr(*o.Host); err == nil {
					if b, err := netip.ParseAddr(fmt.Sprint(w)); err == nil && a == b {
						got = fmt.Sprint(w)
					}
				}
			case w == nil:
				continue
			default:
				return fmt.Sprintf("%s: missing, want %v", k, w)
			}
		}
		if wl, isList := w.([]any); isList {
			gl, _ := got.([]any)
			ws, gs := make([]string, len(wl)), make([]string, len(gl))
			for i, x := range wl {
				ws[i] = fmt.Sprint(x)
			}
			for i, x := range gl {
				gs[i] = fmt.Sprint(x)
			}
			slices.Sort(ws)
			slices.Sort(gs)
			if !slices.Equal(ws, gs) {
				return fmt.Sprintf("%s: got %q, want %q", k, gs, ws)
			}
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			return fmt.Sprintf("%s: got %v, want %v", k, got, w)
		}
	}
	if wt, ok := want["time"].(string); ok {
		exp, err := localUnix(wt, zone)
		if err != nil {
			return err.Error()
		}
		if o.Time == nil {
			return "time: null, want " + wt
		}
		if math.Abs(*o.Time-exp) > 1e-6 {
			return fmt.Sprintf("time: got %f, want %f (%s)", *o.Time, exp, wt)
		}
	}
	return ""
}

var annotTimeRE = regexp.MustCompile(`^(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,6}))?$`)

// localUnix reads an annotation's local time in zone, as the sample
// test's time.mktime does, into Unix seconds.
func localUnix(s string, zone *dates.Zone) (float64, error) {
	m := annotTimeRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("annotated time %q not understood", s)
	}
	n := make([]int, 6)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	frac := 0.0
	if m[7] != "" {
		frac, _ = strconv.ParseFloat("0."+m[7], 64)
	}
	wall := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], 0, time.UTC)
	_, off, _ := zone.Lookup(wall.Add(-2 * time.Hour))
	u := wall.Add(-time.Duration(off) * time.Second)
	if _, o2, _ := zone.Lookup(u); o2 != off {
		u = wall.Add(-time.Duration(o2) * time.Second)
	}
	return float64(u.Unix()) + frac, nil
}
