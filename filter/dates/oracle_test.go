package dates

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/testenv"
)

// The oracle tests run fail2ban's own DateDetector (the installed Debian
// package, through testdata/oracle.py) and compare its findings with ours,
// line by line. The time zone and reference clock are those of fail2ban's
// test suite (tests/utils.py): TZ=CET-01CEST-02,M3.5.0,M10.5.0 and
// 2005-08-14 12:00:00 CEST.

const (
	oraclePython = "/usr/bin/python3"
	fail2banDir  = "/usr/lib/python3/dist-packages/fail2ban"
	testTZ       = "CET-01CEST-02,M3.5.0,M10.5.0"
	testNow      = 1124013600
)

func needOracle(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(oraclePython); err != nil {
		testenv.Missing(t, "python3 not installed: ", err)
	}
	if _, err := os.Stat(fail2banDir + "/server/datedetector.py"); err != nil {
		testenv.Missing(t, "fail2ban (Debian package) not installed: ", err)
	}
}

type oracleResult struct {
	Found    bool     `json:"found"`
	Template string   `json:"template"`
	Start    *int     `json:"start"`
	End      *int     `json:"end"`
	Time     *float64 `json:"time"`
	Err      string   `json:"err"`
	Exc      string   `json:"exc"`
}

type oracleJob struct {
	File    string         `json:"file"`
	Kind    string         `json:"kind"`
	Pattern *string        `json:"pattern"`
	Error   string         `json:"error"`
	Results []oracleResult `json:"results"`
}

func runOracle(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(oraclePython, append([]string{"testdata/oracle.py"}, args...)...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle: %v\n%s", err, stderr.String())
	}
	return out
}

func testZone(t testing.TB) *Zone {
	t.Helper()
	z, err := ZoneFromTZ(testTZ)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func fixedNow(sec int64) func() time.Time {
	return func() time.Time { return time.Unix(sec, 0) }
}

// exNames: fail2ban names %Exk and %Exl "Ex%k" and "Ex%l" or "%Exk" and
// "%Exl" depending on Python's (randomised) set order; we use the latter.
var exNames = strings.NewReplacer("Ex%k", "%Exk", "Ex%l", "%Exl")

// compareResult describes how our result differs from fail2ban's, or "".
func compareResult(want oracleResult, f Found, ok bool) string {
	if want.Found != ok {
		return fmt.Sprintf("found: fail2ban %v (%s), we %v (%s)", want.Found, want.Template, ok, f.Template)
	}
	if !ok {
		return ""
	}
	switch want.Err {
	case "fail":
		if !errors.Is(f.Err, ErrLineFailed) {
			return fmt.Sprintf("fail2ban raises %s, we: %+v", want.Exc, f)
		}
		return ""
	case "bad":
		if !errors.Is(f.Err, ErrBadDate) {
			return fmt.Sprintf("fail2ban cannot convert the date, we: %+v", f)
		}
	default:
		if f.Err != nil {
			return fmt.Sprintf("we fail: %v", f.Err)
		}
	}
	if exNames.Replace(want.Template) != f.Template {
		return fmt.Sprintf("template: fail2ban %q, we %q", want.Template, f.Template)
	}
	if want.Start != nil && (*want.Start != f.Start || *want.End != f.End) {
		return fmt.Sprintf("span: fail2ban %d..%d, we %d..%d", *want.Start, *want.End, f.Start, f.End)
	}
	if want.Time != nil {
		// To the microsecond, or to the float's own precision for
		// values too large to carry microseconds.
		w := *want.Time
		g := float64(f.Time.Unix()) + float64(f.Time.Nanosecond())/1e9
		tol := math.Max(5e-7, 4*(math.Nextafter(w, math.Inf(1))-w))
		if math.Abs(w-g) > tol || f.Time.IsZero() {
			return fmt.Sprintf("time: fail2ban %.6f, we %.6f (%v)", w, g, f.Time.UTC())
		}
	} else if !f.Time.IsZero() && want.Err == "" {
		return fmt.Sprintf("time: fail2ban none, we %v", f.Time)
	}
	return ""
}

func TestOracleCorpus(t *testing.T) {
	needOracle(t)
	t.Parallel()
	logs := fail2banDir + "/tests/files"
	out := runOracle(t, nil, "corpus", testTZ, fmt.Sprint(testNow), logs+"/logs", logs)
	var data struct {
		Logs map[string][]string `json:"logs"`
		Jobs []oracleJob         `json:"jobs"`
	}
	if err := json.Unmarshal(out, &data); err != nil {
		t.Fatal(err)
	}
	zone := testZone(t)
	lines, diffs, jobs := 0, 0, 0
	kinds := map[string]int{}
	for _, job := range data.Jobs {
		pattern := ""
		if job.Pattern != nil {
			pattern = *job.Pattern
		}
		d, err := New(Options{Pattern: pattern, Local: zone, Now: fixedNow(testNow)})
		if (err != nil) != (job.Error != "") {
			t.Errorf("%s %q: fail2ban error %q, ours %v", job.File, pattern, job.Error, err)
			continue
		}
		if err != nil {
			continue
		}
		jobs++
		for i, line := range data.Logs[job.File] {
			f, ok := d.Find(line)
			lines++
			kinds[job.Kind]++
			if msg := compareResult(job.Results[i], f, ok); msg != "" {
				diffs++
				if diffs <= 50 {
					t.Errorf("%s line %d, pattern %q: %s\n\tline: %q", job.File, i+1, pattern, msg, line)
				}
			}
		}
	}
	t.Logf("oracle corpus: %d files, %d jobs, %d line checks (%v), %d differences", len(data.Logs), jobs, lines, kinds, diffs)
	if diffs > 0 {
		t.Errorf("%d differences", diffs)
	}
}

// oracleLines runs jobs through fail2ban and through us and reports the
// differences.
type linesJob struct {
	Pattern     *string  `json:"pattern"`
	LogTimeZone *string  `json:"logtimezone"`
	Lines       []string `json:"lines"`
}

func compareLines(t *testing.T, tz string, now int64, jobs []linesJob) (checked int) {
	return compareLinesTally(t, tz, now, jobs, nil)
}

// outcome names a fail2ban result, for tallies.
func outcome(r oracleResult) string {
	switch {
	case !r.Found:
		return "none"
	case r.Err != "":
		return r.Err
	case r.Time == nil:
		return "empty"
	}
	return "date"
}

func compareLinesTally(t *testing.T, tz string, now int64, jobs []linesJob, tally map[string]int) (checked int) {
	t.Helper()
	in, _ := json.Marshal(jobs)
	out := runOracle(t, in, "lines", tz, fmt.Sprint(now))
	var res []oracleJob
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatal(err)
	}
	local, err := ZoneFromTZ(tz)
	if err != nil {
		t.Fatal(err)
	}
	for k, job := range jobs {
		o := Options{Local: local, Now: fixedNow(now)}
		if job.Pattern != nil {
			o.Pattern = *job.Pattern
		}
		if job.LogTimeZone != nil {
			if o.Zone, err = ParseZone(*job.LogTimeZone); err != nil {
				if res[k].Error == "" {
					t.Errorf("logtimezone %q: fail2ban accepts it, we: %v", *job.LogTimeZone, err)
				}
				continue
			}
		}
		d, err := New(o)
		if err != nil && res[k].Error == "" && lazyCompileError(res[k].Results) {
			// fail2ban compiles templates when it first uses them, and
			// then fails on every line; we refuse the pattern.
			if tally != nil {
				tally["refused"] += len(job.Lines)
			}
			continue
		}
		if (err != nil) != (res[k].Error != "") {
			t.Errorf("pattern %q: fail2ban error %q, ours %v", o.Pattern, res[k].Error, err)
			continue
		}
		if err != nil {
			continue
		}
		for i, line := range job.Lines {
			f, ok := d.Find(line)
			checked++
			if tally != nil {
				tally[outcome(res[k].Results[i])]++
			}
			if msg := compareResult(res[k].Results[i], f, ok); msg != "" {
				t.Errorf("pattern %q, zone %v, line %q: %s", o.Pattern, o.Zone, line, msg)
			}
		}
	}
	return checked
}

func strp(s string) *string { return &s }

// lazyCompileError: fail2ban fails on every line with a regular
// expression error (re.error), which it raises when it first compiles a
// template.
func lazyCompileError(res []oracleResult) bool {
	for _, r := range res {
		if r.Err != "fail" || !strings.HasPrefix(r.Exc, "error: ") {
			return false
		}
	}
	return len(res) > 0
}
