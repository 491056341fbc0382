package filter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/filter/dates"
	"github.com/banserver/banserver/testenv"
)

// oracleScenario is a filter and a sequence of lines, run through both the
// engine and fail2ban's own Filter by testdata/oracle.py.
type oracleScenario struct {
	Name        string        `json:"name"`
	TZ          string        `json:"tz"`
	Now         int64         `json:"now"`
	CheckAll    bool          `json:"checkall"`
	Filter      *oracleFilter `json:"filter"`
	Pref        string        `json:"pref,omitempty"`
	Fail        []string      `json:"fail,omitempty"`
	Ignore      []string      `json:"ignore,omitempty"`
	DatePattern string        `json:"datepattern,omitempty"`
	MaxLines    int           `json:"maxlines,omitempty"`
	UseDNS      string        `json:"usedns,omitempty"`
	Lines       []oracleLine  `json:"lines"`
}

type oracleFilter struct {
	Name string            `json:"name"`
	Dir  string            `json:"dir"`
	Opts map[string]string `json:"opts"`
}

type oracleLine struct {
	Line string `json:"line"`
	T    *int64 `json:"t"`
}

// oracleFailure is one failure as both sides report it.
type oracleFailure struct {
	Regex   int      `json:"regex"`
	Host    *string  `json:"host"`
	Time    *float64 `json:"time"`
	Matches int      `json:"matches"`
	User    *string  `json:"user"`
	Users   []string `json:"users"`
	IP      *string  `json:"ip"`
	NoFail  bool     `json:"nofail"`
}

type oracleLineResult struct {
	Error    string          `json:"error,omitempty"`
	Failures []oracleFailure `json:"failures"`
}

type oracleResult struct {
	Error string             `json:"error,omitempty"`
	Lines []oracleLineResult `json:"lines"`
}

// settings are the engine's settings for the scenario.
func (sc *oracleScenario) settings(zone *dates.Zone) Settings {
	now := time.Unix(sc.Now, 0)
	s := Settings{
		PrefRegex: sc.Pref, FailRegex: sc.Fail, IgnoreRegex: sc.Ignore,
		DatePattern: sc.DatePattern, MaxLines: sc.MaxLines, UseDNS: sc.UseDNS,
		CheckAllRegex: sc.CheckAll, Local: zone, Budget: time.Minute,
		Now: func() time.Time { return now },
	}
	if s.UseDNS == "" {
		s.UseDNS = "raw"
	}
	if sc.Filter != nil {
		s.Name, s.Dirs, s.Vars = sc.Filter.Name, []string{sc.Filter.Dir}, sc.Filter.Opts
	}
	return s
}

// run runs the scenario through the engine.
func (sc *oracleScenario) run(zone *dates.Zone) oracleResult {
	f, err := New(sc.settings(zone))
	if err != nil {
		return oracleResult{Error: err.Error()}
	}
	var res oracleResult
	for _, l := range sc.Lines {
		var t time.Time
		if l.T != nil {
			t = time.Unix(*l.T, 0)
		}
		got, err := f.Process(l.Line, t)
		if err != nil {
			res.Lines = append(res.Lines, oracleLineResult{Error: err.Error()})
			continue
		}
		lr := oracleLineResult{Failures: []oracleFailure{}}
		for _, g := range got {
			of := oracleFailure{Regex: g.Regex, Matches: len(g.Matches), NoFail: g.NoFail}
			if !g.Pending {
				h := g.Host
				of.Host = &h
			}
			if !g.Time.IsZero() {
				ts := float64(g.Time.UnixMicro()) / 1e6
				of.Time = &ts
			}
			if u, ok := g.Fields["user"].(string); ok {
				of.User = &u
			}
			if u, ok := g.Fields["users"].([]string); ok {
				of.Users = u
			}
			if ip, ok := g.Fields["ip"].(string); ok {
				of.IP = &ip
			}
			lr.Failures = append(lr.Failures, of)
		}
		res.Lines = append(res.Lines, lr)
	}
	return res
}

// sameFailure compares two failures, times to the microsecond.
func sameFailure(a, b oracleFailure) bool {
	ta, tb := a.Time, b.Time
	a.Time, b.Time = nil, nil
	if (ta == nil) != (tb == nil) {
		return false
	}
	if ta != nil && math.Round(*ta*1e6) != math.Round(*tb*1e6) {
		return false
	}
	return reflect.DeepEqual(a, b)
}

// oracleScenarios are the unit tables' filters and lines, and the sample
// files of a few stock filters fed in order, in reverse order and
// shuffled, which
// exercises F-MLFID sessions, multi-line buffers and the date detector's
// template order in ways the corpus annotations do not.
func oracleScenarios(t *testing.T) []oracleScenario {
	var out []oracleScenario
	for _, pt := range processTests() {
		sc := oracleScenario{
			Name: pt.name, TZ: "UTC", Now: unitNow.Unix(), CheckAll: pt.s.CheckAllRegex,
			Pref: pt.s.PrefRegex, Fail: pt.s.FailRegex, Ignore: pt.s.IgnoreRegex,
			DatePattern: pt.s.DatePattern, MaxLines: pt.s.MaxLines, UseDNS: pt.s.UseDNS,
		}
		for _, st := range pt.steps {
			l := oracleLine{Line: st.line}
			if !st.t.IsZero() {
				u := st.t.Unix()
				l.T = &u
			}
			sc.Lines = append(sc.Lines, l)
		}
		out = append(out, sc)
	}
	testDir := stageTestFilters(t)
	for _, c := range []struct {
		name, file string
		opts       map[string]string
		checkAll   bool
	}{
		{"zzz-sshd-obsolete-multiline", "sshd", map[string]string{"mode": "aggressive"}, true},
		{"sshd", "sshd", nil, false},
		{"sshd", "sshd", map[string]string{"mode": "aggressive"}, true},
		{"postfix", "postfix", map[string]string{"mode": "aggressive"}, false},
		{"dovecot", "dovecot", nil, false},
		{"exim", "exim", nil, true},
		{"asterisk", "asterisk", nil, false},
		{"named-refused", "named-refused", nil, false},
		{"sendmail-reject", "sendmail-reject", map[string]string{"mode": "aggressive"}, false},
		{"nginx-limit-req", "nginx-limit-req", nil, false},
		{"monit", "monit", nil, false},
	} {
		lines, err := readSampleLines(filepath.Join(f2bSamples, c.file))
		if err != nil {
			t.Fatalf("sample file: %v", err)
		}
		var ls []oracleLine
		for _, l := range lines {
			if strings.HasPrefix(l.text, "#") || strings.TrimSpace(l.text) == "" {
				continue
			}
			ls = append(ls, oracleLine{Line: l.text})
		}
		dir := f2bFilterDir
		if strings.HasPrefix(c.name, "zzz-") {
			dir = testDir
		}
		rev := make([]oracleLine, len(ls))
		for i, l := range ls {
			rev[len(ls)-1-i] = l
		}
		shuffled := append([]oracleLine(nil), ls...)
		rng := rand.New(rand.NewPCG(1, uint64(len(ls))))
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for i, order := range [][]oracleLine{ls, rev, shuffled} {
			out = append(out, oracleScenario{
				Name:     fmt.Sprintf("%s (%s) %v checkall=%v order=%s", c.name, c.file, c.opts, c.checkAll, []string{"file", "reversed", "shuffled"}[i]),
				TZ:       testTZ,
				Now:      testNow,
				CheckAll: c.checkAll,
				Filter:   &oracleFilter{Name: c.name, Dir: dir, Opts: c.opts},
				Lines:    order,
			})
		}
	}
	return out
}

// TestOracle runs the same filters and lines through the engine and
// through fail2ban's own Filter (testdata/oracle.py) and compares every
// failure: regex, host, time, matched lines, user, users, ip, nofail.
func TestOracle(t *testing.T) {
	// Debian's python3, which has the fail2ban package (another python3
	// may come first on PATH).
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		testenv.Missingf(t, "%s is needed to run fail2ban: %v", py, err)
	}
	if _, err := os.Stat(f2bPackage); err != nil {
		testenv.Missingf(t, "fail2ban 1.0.2 (Debian package fail2ban) is needed: %v", err)
	}
	scs := oracleScenarios(t)
	in, err := json.Marshal(scs)
	if err != nil {
		t.Fatal(err)
	}
	// Both sides read dates in the scenarios' zones; oracle.py sets TZ
	// from the first and the unit scenarios are all in UTC: run them apart.
	var want []oracleResult
	for _, group := range [][]oracleScenario{scs[:len(processTests())], scs[len(processTests()):]} {
		in, err = json.Marshal(group)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(py, "testdata/oracle.py")
		cmd.Stdin = bytes.NewReader(in)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("oracle.py: %v\n%s", err, stderr.String())
		}
		var res []oracleResult
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("oracle.py output: %v", err)
		}
		want = append(want, res...)
	}
	if len(want) != len(scs) {
		t.Fatalf("oracle.py answered %d scenarios of %d", len(want), len(scs))
	}
	zones := map[string]*dates.Zone{}
	lines, equal := 0, 0
	for i := range scs {
		sc := &scs[i]
		z := zones[sc.TZ]
		if z == nil {
			if z, err = dates.ZoneFromTZ(sc.TZ); err != nil {
				t.Fatalf("ZoneFromTZ(%q): %v", sc.TZ, err)
			}
			zones[sc.TZ] = z
		}
		got, exp := sc.run(z), want[i]
		if (got.Error != "") != (exp.Error != "") {
			t.Errorf("%s: New: engine %q, fail2ban %q", sc.Name, got.Error, exp.Error)
			continue
		}
		for j, l := range sc.Lines {
			lines++
			g, w := got.Lines[j], exp.Lines[j]
			same := (g.Error != "") == (w.Error != "") && len(g.Failures) == len(w.Failures)
			for k := 0; same && k < len(g.Failures); k++ {
				same = sameFailure(g.Failures[k], w.Failures[k])
			}
			if same {
				equal++
				continue
			}
			gj, _ := json.Marshal(g)
			wj, _ := json.Marshal(w)
			t.Errorf("%s: line %d %q:\n engine   %s\n fail2ban %s", sc.Name, j, l.Line, gj, wj)
		}
	}
	t.Logf("oracle: %d scenarios, %d lines, %d equal", len(scs), lines, equal)
}
