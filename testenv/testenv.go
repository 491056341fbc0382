// Package testenv decides what a test does when the machine lacks what it
// needs (a tool, root, a Debian package): outside CI it skips with the
// reason; with CI=true it fails, because CI must never pass by skipping a
// check. Every test package uses it instead of its own copy of that rule.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// InCI reports whether the tests run in CI (CI=true), where nothing may be
// skipped for want of a tool or privilege.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips t with the reason (fmt.Sprint of args), or fails it in CI.
func Missing(t testing.TB, args ...any) {
	t.Helper()
	reason := fmt.Sprint(args...)
	if InCI() {
		t.Fatalf("CI=true and the test cannot run: %s", reason)
		return // Fatalf does not return; a recording TB's does
	}
	t.Skip(reason)
}

// Missingf is Missing with a format.
func Missingf(t testing.TB, format string, args ...any) {
	t.Helper()
	Missing(t, fmt.Sprintf(format, args...))
}

// Tool returns the path of the named program, or skips (fails in CI).
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missingf(t, "%s not installed: %v", name, err)
	}
	return p
}

// Root skips (fails in CI) unless the test runs as root; why says what
// needs it.
func Root(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missingf(t, "not root: %s", why)
	}
}
