package load_test

import (
	"os/exec"
	"testing"

	"github.com/banserver/banserver/testenv"
)

// needTool returns the path of a tool the test needs. Missing, it skips
// with the reason outside CI and fails under CI=true, where every tool is
// expected to be installed.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	testenv.Missingf(t, "%s not installed: %v", name, err)
	return ""
}
