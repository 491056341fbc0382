package daemon

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// tmpfs mounts a small tmpfs for the test's ban store and unmounts it after.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file until the file system is full and returns its path.
func fill(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "fill")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill: %v", err)
			}
			return p
		}
	}
}

// addrs returns n documentation addresses 203.0.113.x / 2001:db8:N::x.
func addrs(block, n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = fmt.Sprintf("2001:db8:%x::%x", block, i+1)
	}
	return out
}

// TestStoreFullDisk: on a full file system a command that could not store
// its change is answered with an error and changes nothing (not listed,
// not routed, not stored), the failure shows in status, and once space is
// back the store takes changes again without a restart.
func TestStoreFullDisk(t *testing.T) {
	needRoot(t, "ip", "mount")
	ns := newNetNS(t)
	cfg := ns.config(t, `
jails:
  - name: api
    bantime: 1h
    actions: [blackhole]
`)
	disk := tmpfs(t, "512k")
	db := filepath.Join(disk, "bans.db")
	sock := filepath.Join(t.TempDir(), "ban.sock")
	p := startProc(t, cfg, sock, db)

	// Before the disk fills: a ban, stored and routed.
	if code, v := ask(t, sock, "set", "api", "banip", "198.51.100.1"); code != 0 || v != int64(1) {
		t.Fatalf("banip before the disk fills: (%d, %v)", code, v)
	}
	ns.waitRoutes(t, "blackhole 198.51.100.1")
	filler := fill(t, disk)

	// A ban that cannot be stored: an error, and no trace of it.
	many := addrs(1, 400)
	code, v := ask(t, sock, append([]any{"set", "api", "banip"}, many...)...)
	if code != 1 {
		t.Fatalf("banip of %d addresses on a full disk: (%d, %v), want an error", len(many), code, v)
	}
	if got := banList(t, sock, "api"); !equal(got, []string{"198.51.100.1"}) {
		t.Fatalf("after a failed banip the jail lists %d bans (%v...), want only 198.51.100.1", len(got), got[:min(3, len(got))])
	}
	// An unban that cannot be stored: an error, and the ban stays, routed.
	code, v = ask(t, sock, "set", "api", "unbanip", "198.51.100.1")
	if code != 1 {
		t.Fatalf("unbanip on a full disk: (%d, %v), want an error", code, v)
	}
	if got := banList(t, sock, "api"); !equal(got, []string{"198.51.100.1"}) {
		t.Fatalf("after a failed unbanip: %v, want 198.51.100.1 still banned", got)
	}
	// status says the store is failing.
	code, v = ask(t, sock, "status")
	if code != 0 || !strings.Contains(fmt.Sprint(v), "Ban store") {
		t.Fatalf("status while the store fails: (%d, %v), want a Ban store line", code, v)
	}
	ns.waitRoutes(t, "blackhole 198.51.100.1")

	// Space comes back: the store takes changes again, no restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if code, v := ask(t, sock, "set", "api", "banip", "198.51.100.3"); code != 0 || v != int64(1) {
		t.Fatalf("banip once space is back: (%d, %v)", code, v)
	}
	code, v = ask(t, sock, "status")
	if code != 0 || strings.Contains(fmt.Sprint(v), "Ban store") {
		t.Fatalf("status after recovery: (%d, %v), want no Ban store line", code, v)
	}
	ns.waitRoutes(t, "blackhole 198.51.100.1", "blackhole 198.51.100.3")

	// What was acknowledged is what comes back.
	p.stop(t, syscall.SIGKILL)
	sock = filepath.Join(t.TempDir(), "ban.sock")
	startProc(t, cfg, sock, db)
	if got := banList(t, sock, "api"); !equal(got, []string{"198.51.100.1", "198.51.100.3"}) {
		t.Fatalf("after kill -9 and restart: %v, want 198.51.100.1 and 198.51.100.3", got)
	}
	ns.waitRoutes(t, "blackhole 198.51.100.1", "blackhole 198.51.100.3")
}
