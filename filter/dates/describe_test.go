package dates

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/banserver/banserver/testenv"
)

// describePatterns are datepatterns whose description fail2ban's
// getDatePattern gives: its first template when it has one or two, else
// "Default Detectors".
var describePatterns = []string{
	"", "  ", "%%%Y%m%d%H%M%S", "Epoch", "^Epoch", "LongEpoch", "LEpoch", "TAI64N", "^TAI64N",
	"{^LN-BEG}", "{DEFAULT}", "{DATE}", "^{DATE} x", "{NONE}", "^%Y-%m-%d", "{^LN-BEG}%Y-%m-%d %H:%M:%S",
	"%Y-%m-%d\n%H:%M", "%Y-%m-%d\n%H:%M\n%d", "%ExY", "{^LN-BEG}%ExY-%Exm", "ISO8601", "%z",
	"%H:%M:%S %Z", "{UNB}%Y", "^(?P<date>\\d+)", "x{EPOCH}", "%b %d %H:%M:%S",
}

// describe is fail2ban's Filter.getDatePattern over Describe.
func describe(d *Detector) [2]any {
	ts := d.Describe()
	if len(ts) == 0 || len(ts) > 2 {
		return [2]any{nil, "Default Detectors"}
	}
	if !ts[0].HasPattern {
		return [2]any{nil, ts[0].Name}
	}
	return [2]any{ts[0].Pattern, ts[0].Name}
}

const describeScript = `
import json, sys
from fail2ban.server.filter import Filter
out = []
for p in json.load(sys.stdin):
    f = Filter(None)
    f.setDatePattern(p)
    out.append(list(f.getDatePattern()))
print(json.dumps(out))
`

// TestDescribeOracle: Describe gives what fail2ban's getDatePattern
// answers for the same datepattern.
func TestDescribeOracle(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import fail2ban.server.filter").Run(); err != nil {
		testenv.Missingf(t, "Debian's python3 with fail2ban is not installed: %v", err)
	}
	b, _ := json.Marshal(describePatterns)
	cmd := exec.Command(py, "-c", describeScript)
	cmd.Stdin = strings.NewReader(string(b))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var want [][2]any
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatalf("python3 printed %q: %v", out, err)
	}
	for i, p := range describePatterns {
		d, err := New(Options{Pattern: p})
		if err != nil {
			t.Errorf("%q: %v", p, err)
			continue
		}
		if got := describe(d); got != want[i] {
			t.Errorf("%q: got %q, fail2ban %q", p, got, want[i])
		}
	}
}

// TestDescribeNoDefaults: a detector without datepattern describes no
// template until its first line, then the defaults.
func TestDescribeNoDefaults(t *testing.T) {
	d, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Describe()); n != 0 {
		t.Fatalf("%d templates before the first line, want 0", n)
	}
	d.Find("2005-08-14 12:00:00 x")
	if n := len(d.Describe()); n < 3 {
		t.Fatalf("%d templates after the first line, want the defaults", n)
	}
}
