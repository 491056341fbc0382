package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor polls cond until it holds, for at most 20 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// reloadedSettings are the settings outside the jails that the reload
// tests' second file changes: the log level and a client limit.
const reloadedSettings = "log:\n  level: debug\nlimits:\n  max_addresses: 1\n"

// reloadSetup makes a test network namespace and a directory holding the
// configuration file cfgPath, which write (re)writes with text after the
// kernel section that puts the daemon's kernel actions in that namespace.
func reloadSetup(t *testing.T) (ns *netNS, dir, cfgPath string, write func(text string)) {
	t.Helper()
	needRoot(t, "ip")
	ns = newNetNS(t)
	dir = t.TempDir()
	cfgPath = filepath.Join(dir, "banserver.yaml")
	write = func(text string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(ns.kernelSection()+text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ns, dir, cfgPath, write
}

// TestReloadSIGHUP: SIGHUP re-reads the configuration file and applies it
// to the running daemon: a jail added, one changed (its bans and counted
// failures kept, its new actions reconciled into the kernel), one removed;
// a file that fails to load is refused and the running configuration
// stays. Before, a change of a jail needed a restart.
func TestReloadSIGHUP(t *testing.T) {
	ns, dir, cfgPath, write := reloadSetup(t)
	write(`
jails:
  - name: api
    maxretry: 3
    actions: [log]
  - name: old
    actions: [blackhole]
`)
	sock := filepath.Join(dir, "ban.sock")
	p := startProc(t, cfgPath, sock, filepath.Join(dir, "bans.db"))
	for _, c := range [][]any{
		{"set", "api", "banip", "198.51.100.1"},
		{"set", "api", "attempt", "198.51.100.2"},
		{"set", "api", "attempt", "198.51.100.2"},
		{"set", "old", "banip", "198.51.100.3"},
		{"add", "dyn"}, // over the socket: a reload leaves it alone
	} {
		if code, v := ask(t, sock, c...); code != 0 {
			t.Fatalf("%v: (%d, %v)", c, code, v)
		}
	}
	ns.waitRoutes(t, "blackhole 198.51.100.3")

	if code, v := ask(t, sock, "set", "api", "banip", "198.51.100.11", "198.51.100.12"); code != 0 || v != int64(2) {
		t.Fatalf("banip of 2 before the reload: (%d, %v)", code, v)
	}
	write(reloadedSettings + `
jails:
  - name: api
    maxretry: 4
    bantime: 2h
    actions: [blackhole, log]
  - name: new
    maxretry: 7
    actions: [log]
`)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool {
		code, v := ask(t, sock, "status")
		return code == 0 && fmt.Sprint(v) == "[[Number of jail 3] [Jail list api, dyn, new]]"
	})
	if code, v := ask(t, sock, "get", "api", "maxretry"); code != 0 || v != int64(4) {
		t.Fatalf("api maxretry after reload: (%d, %v)", code, v)
	}
	// The log level and the limits are the file's too.
	if code, v := ask(t, sock, "get", "loglevel"); code != 0 || v != "DEBUG" {
		t.Fatalf("get loglevel after reload: (%d, %v)", code, v)
	}
	if code, v := ask(t, sock, "set", "api", "banip", "198.51.100.13", "198.51.100.14"); code != 1 || !strings.Contains(fmt.Sprint(v), "max_addresses") {
		t.Fatalf("banip of 2 with max_addresses 1 after reload: (%d, %v)", code, v)
	}
	for _, a := range []string{"198.51.100.11", "198.51.100.12"} {
		if code, v := ask(t, sock, "set", "api", "unbanip", a); code != 0 || v != int64(1) {
			t.Fatalf("unbanip %s: (%d, %v)", a, code, v)
		}
	}
	if code, v := ask(t, sock, "get", "new", "maxretry"); code != 0 || v != int64(7) {
		t.Fatalf("new maxretry: (%d, %v)", code, v)
	}
	if got := banList(t, sock, "api"); !equal(got, []string{"198.51.100.1"}) {
		t.Fatalf("api bans after reload: %v", got)
	}
	// api now blackholes: its live ban is routed; old's route is gone.
	ns.waitRoutes(t, "blackhole 198.51.100.1")
	// Two failures were counted before: two more ban under maxretry 4.
	ask(t, sock, "set", "api", "attempt", "198.51.100.2")
	if code, v := ask(t, sock, "get", "api", "banned", "198.51.100.2"); code != 0 || v != int64(0) {
		t.Fatalf("banned after 3 of 4: (%d, %v)", code, v)
	}
	ask(t, sock, "set", "api", "attempt", "198.51.100.2")
	if code, v := ask(t, sock, "get", "api", "banned", "198.51.100.2"); code != 0 || v != int64(1) {
		t.Fatalf("failures counted before the reload were lost: banned = (%d, %v)", code, v)
	}

	// A file that fails to load: refused, the running configuration stays.
	write("jails:\n  - name: api\n    maxrety: 9\n")
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the refusal in the log", func() bool {
		b, _ := os.ReadFile(p.log)
		return strings.Contains(string(b), "reload refused") && strings.Contains(string(b), "maxrety")
	})
	if code, v := ask(t, sock, "status"); code != 0 || fmt.Sprint(v) != "[[Number of jail 3] [Jail list api, dyn, new]]" {
		t.Fatalf("status after a refused reload: (%d, %v)", code, v)
	}
}

// TestReloadCommand: reload and reload JAIL over the socket (banctl reload)
// reload the file; a jail the file does not name, fail2ban-client's own
// reload (a stream of jail.conf commands) and a file that fails to load
// are refused, saying why.
func TestReloadCommand(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "banserver.yaml")
	write := func(text string) {
		t.Helper()
		if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("jails:\n  - name: api\n    maxretry: 3\n    actions: [log]\n")
	sock := filepath.Join(dir, "ban.sock")
	startProc(t, cfgPath, sock, "none")
	write("jails:\n  - name: api\n    maxretry: 5\n    actions: [log]\n  - name: web\n    actions: [log]\n")
	if code, v := ask(t, sock, "reload", "api"); code != 0 || v != "OK" {
		t.Fatalf("reload api: (%d, %v)", code, v)
	}
	if code, v := ask(t, sock, "get", "api", "maxretry"); code != 0 || v != int64(5) {
		t.Fatalf("api maxretry after reload api: (%d, %v)", code, v)
	}
	if code, v := ask(t, sock, "status"); code != 0 || fmt.Sprint(v) != "[[Number of jail 1] [Jail list api]]" {
		t.Fatalf("reload api added other jails: (%d, %v)", code, v)
	}
	if code, v := ask(t, sock, "reload"); code != 0 || v != "OK" {
		t.Fatalf("reload: (%d, %v)", code, v)
	}
	if code, v := ask(t, sock, "status"); code != 0 || fmt.Sprint(v) != "[[Number of jail 2] [Jail list api, web]]" {
		t.Fatalf("after reload: (%d, %v)", code, v)
	}
	for _, tc := range []struct {
		args []any
		want string
	}{
		{[]any{"reload", "nope"}, "not in the configuration file"},
		{[]any{"reload", "--all", []any{}, []any{[]any{"add", "sshd", "auto"}}}, "own configuration file"},
	} {
		if code, v := ask(t, sock, tc.args...); code != 1 || !strings.Contains(fmt.Sprint(v), tc.want) {
			t.Errorf("%v: (%d, %v), want an error with %q", tc.args, code, v, tc.want)
		}
	}
	write("jails:\n  - name: api\n    maxrety: 9\n")
	if code, v := ask(t, sock, "reload"); code != 1 || !strings.Contains(fmt.Sprint(v), "maxrety") {
		t.Fatalf("reload of a bad file: (%d, %v), want the refusal naming the key", code, v)
	}
	if code, v := ask(t, sock, "get", "api", "maxretry"); code != 0 || v != int64(5) {
		t.Fatalf("after a refused reload: (%d, %v)", code, v)
	}
}

// TestReloadSettingsBeforeJails: a client that sees a reload's jails sees
// its log level and limits too. The settings outside the jails were
// applied last, after the kernel's reconcile, so a client that saw the new
// jail list could still be answered with the old log level: CI saw "get
// loglevel after reload: (0, INFO)" in TestReloadSIGHUP. Here the reload
// routes 30,000 live bans, which widens that window so that nearly every
// run falls in it (before the fix, 10 runs of 10 failed here).
func TestReloadSettingsBeforeJails(t *testing.T) {
	_, dir, cfgPath, write := reloadSetup(t)
	write("jails:\n  - name: api\n    actions: []\n")
	sock := filepath.Join(dir, "ban.sock")
	p := startProc(t, cfgPath, sock, filepath.Join(dir, "bans.db"))
	const bans = 30_000
	const batch = 2_000 // within limits.max_message
	for start := 0; start < bans; start += batch {
		args := []any{"set", "api", "banip"}
		for i := start; i < start+batch; i++ {
			args = append(args, fmt.Sprintf("2001:db8:5::%x", i))
		}
		if code, v := ask(t, sock, args...); code != 0 || v != int64(batch) {
			t.Fatalf("banip of %d: (%d, %v)", batch, code, v)
		}
	}
	write(reloadedSettings + `
jails:
  - name: api
    actions: [blackhole]
  - name: new
    actions: []
`)
	p.cmd.Process.Signal(syscall.SIGHUP)
	// No sleep between asks: the first answer that shows the new jail is
	// checked, however short the window in which the settings lag.
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, v := ask(t, sock, "status")
		if code == 0 && fmt.Sprint(v) == "[[Number of jail 2] [Jail list api, new]]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status not the reload's within 20s: (%d, %v)", code, v)
		}
	}
	if code, v := ask(t, sock, "get", "loglevel"); code != 0 || v != "DEBUG" {
		t.Errorf("get loglevel once the reload's jails show: (%d, %v), want DEBUG", code, v)
	}
	if code, v := ask(t, sock, "set", "api", "banip", "198.51.100.1", "198.51.100.2"); code != 1 || !strings.Contains(fmt.Sprint(v), "max_addresses") {
		t.Errorf("banip of 2 with max_addresses 1 once the reload's jails show: (%d, %v)", code, v)
	}
}
