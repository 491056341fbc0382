package load_test

import (
	"os"
	"os/exec"
	"testing"
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
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required under CI: %v", name, err)
	}
	t.Skipf("%s not installed: %v", name, err)
	return ""
}
