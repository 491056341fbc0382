package floor

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/banserver/banserver/testenv"
)

// needTool returns the path of a tool the test needs. Missing, it skips
// with the reason outside CI and fails under CI=true.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	testenv.Missingf(t, "%s not installed: %v", name, err)
	return ""
}

// pythonLoads returns repr(pickle.loads(data)) from python3.
func pythonLoads(py string, data []byte) (string, error) {
	cmd := exec.Command(py, "-c", "import pickle,sys; print(repr(pickle.loads(sys.stdin.buffer.read())))")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}
