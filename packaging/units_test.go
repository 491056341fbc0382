package packaging

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/banserver/banserver/testenv"
)

// maxExposure is the highest `systemd-analyze security` exposure the
// service may score (0 is best, 10 worst). It scores 1.9: what is left is
// what the daemon is for (root for its access rules, CAP_NET_ADMIN and
// the host's network for routes, netlink, inet for Redis and metrics,
// chown for the socket's group).
const maxExposure = 2.0

// TestUnitsVerify runs systemd-analyze verify on both units, the
// daemon's path pointed at a build of it (the units name /usr/sbin).
func TestUnitsVerify(t *testing.T) {
	analyze := testenv.Tool(t, "systemd-analyze")
	dir := unitsWithBinary(t)
	out, err := exec.Command(analyze, "verify", "--man=no",
		filepath.Join(dir, "banserver.socket"), filepath.Join(dir, "banserver.service")).CombinedOutput()
	if err != nil || len(strings.TrimSpace(string(out))) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestServiceSecurity scores the service offline (there need not be a
// running systemd) and keeps the score at maxExposure or better.
func TestServiceSecurity(t *testing.T) {
	analyze := testenv.Tool(t, "systemd-analyze")
	dir := unitsWithBinary(t)
	score := exposure(t, analyze, filepath.Join(dir, "banserver.service"))
	t.Logf("systemd-analyze security: overall exposure %.1f", score)
	if score > maxExposure {
		t.Errorf("exposure %.1f, want at most %.1f", score, maxExposure)
	}
}

// exposure runs systemd-analyze security --offline on unit and returns
// its overall exposure level.
func exposure(t *testing.T, analyze, unit string) float64 {
	t.Helper()
	out, err := exec.Command(analyze, "security", "--offline=true", "--no-pager", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("systemd-analyze security: no overall exposure in\n%s", out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return score
}

// unitsWithBinary copies the units into a directory of their own, their
// /usr/sbin/banserver replaced by a fresh build (verify checks that the
// commands exist).
func unitsWithBinary(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "banserver")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/banserver").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, u := range []string{"banserver.socket", "banserver.service"} {
		b, err := os.ReadFile(filepath.Join("systemd", u))
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.ReplaceAll(string(b), "/usr/sbin/banserver", bin))
		if err := os.WriteFile(filepath.Join(dir, u), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
