package pyre

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/banserver/banserver/testenv"
)

// The oracle is Python itself: testdata/oracle.py, run by the Python that
// has fail2ban installed (Debian's /usr/bin/python3; a python3 on PATH
// may be another one, without fail2ban).

var pythonOnce struct {
	sync.Once
	path string
	err  string
}

// python returns a python3 that can import fail2ban, or skips (fails in
// CI).
func python(t testing.TB) string {
	t.Helper()
	pythonOnce.Do(func() {
		var candidates []string
		if _, err := os.Stat("/usr/bin/python3"); err == nil {
			candidates = append(candidates, "/usr/bin/python3")
		}
		if p, err := exec.LookPath("python3"); err == nil {
			candidates = append(candidates, p)
		}
		if len(candidates) == 0 {
			pythonOnce.err = "python3 not installed"
			return
		}
		for _, p := range candidates {
			if exec.Command(p, "-c", "import fail2ban.server.failregex").Run() == nil {
				pythonOnce.path = p
				return
			}
		}
		pythonOnce.err = "no python3 here can import fail2ban (Debian: apt-get install fail2ban)"
	})
	if pythonOnce.path == "" {
		testenv.Missing(t, pythonOnce.err)
	}
	return pythonOnce.path
}

// oracle runs testdata/oracle.py in the given mode with in as JSON on its
// stdin and decodes its stdout into out.
func oracle(t testing.TB, mode string, in, out any) {
	t.Helper()
	py := python(t)
	script, err := filepath.Abs(filepath.Join("testdata", "oracle.py"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, script, mode)
	cmd.Dir = t.TempDir()
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stdin = bytes.NewReader(b)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("oracle.py %s: %v\n%s", mode, err, stderr.Bytes())
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("oracle.py %s: decoding its answer: %v", mode, err)
	}
}

// oracleBudget is the match budget in comparisons with Python: long
// enough that a loaded CI machine never turns a slow match into an error.
const oracleBudget = 10 * time.Second

// pyMatch is oracle.py's answer for one match query.
type pyMatch struct {
	Error  string         `json:"error"`
	Spans  []int          `json:"spans"`
	Names  map[string]int `json:"names"`
	Groups int            `json:"groups"`
}

type matchQuery struct {
	Pattern   string `json:"pattern"`
	Multiline bool   `json:"multiline,omitempty"`
	Subject   string `json:"subject"`
	Op        string `json:"op,omitempty"`
}

// pythonMatches asks Python for each query's answer.
func pythonMatches(t testing.TB, qs []matchQuery) []pyMatch {
	t.Helper()
	var out []pyMatch
	oracle(t, "match", qs, &out)
	if len(out) != len(qs) {
		t.Fatalf("oracle.py match: %d answers for %d queries", len(out), len(qs))
	}
	return out
}

// spansOf is a Go match in the oracle's form: every group's byte span,
// nil for no match.
func spansOf(m *Match) []int {
	if m == nil {
		return nil
	}
	return append([]int(nil), m.loc...)
}
