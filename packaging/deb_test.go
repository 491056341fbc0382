package packaging

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banserver/banserver/testenv"
)

// Where the package puts things.
const (
	stateDir    = "/var/lib/banserver"
	confDir     = "/etc/banserver"
	conf        = confDir + "/banserver.yaml"
	serverBin   = "/usr/sbin/banserver"
	ctlBin      = "/usr/bin/banctl"
	serviceFile = "/lib/systemd/system/banserver.service"
)

// TestDeb installs the package on this machine, runs the installed daemon
// as its unit would (in a network namespace of its own, with a socket
// path of the test's), checks who may report over the socket, upgrades,
// removes and purges it, and checks what each leaves. It needs root and
// dpkg; it refuses to run where banserver is installed, or its files
// exist, rather than touch them, and purges the package even when it
// fails. BANSERVER_DEB names the package to test (make test sets it);
// without it, the test runs make deb.
func TestDeb(t *testing.T) {
	testenv.Root(t, "dpkg -i installs the package system-wide")
	dpkg := testenv.Tool(t, "dpkg")
	deb := debFile(t)
	checkNothingInstalled(t)

	_, groupErr := user.LookupGroup("banserver")
	groupBefore := groupErr == nil
	t.Cleanup(func() {
		// Whatever happened: no package, no test users, the state as found.
		if installed(t) {
			if out, err := exec.Command(dpkg, "--purge", "banserver").CombinedOutput(); err != nil {
				t.Errorf("cleanup: dpkg --purge: %v\n%s", err, out)
			}
		}
		if !groupBefore {
			exec.Command("groupdel", "banserver").Run()
		}
	})
	restoreState := moveAside(t, stateDir)
	t.Cleanup(restoreState)

	run(t, dpkg, "--install", deb)
	t.Log("installed", filepath.Base(deb))

	g, err := user.LookupGroup("banserver")
	if err != nil {
		t.Fatalf("postinst made no banserver group: %v", err)
	}
	gid, _ := strconv.Atoi(g.Gid)
	for _, f := range []string{serverBin, ctlBin, conf, serviceFile, "/lib/systemd/system/banserver.socket",
		"/usr/share/man/man8/banserver.8.gz", "/usr/share/man/man8/banctl.8.gz", "/usr/share/man/man5/banserver.yaml.5.gz",
		"/usr/share/bash-completion/completions/banctl", stateDir} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("after install: %v", err)
		}
	}
	if got := run(t, "dpkg-query", "-W", "-f=${Conffiles}", "banserver"); !strings.Contains(got, conf) {
		t.Errorf("%s is not a conffile: %q", conf, got)
	}

	t.Run("man pages match --help", func(t *testing.T) { checkInstalledManPages(t) })
	t.Run("units", func(t *testing.T) { checkInstalledUnits(t) })

	// The daemon as the unit starts it: ExecStartPre, then ExecStart with
	// the installed config; only the socket's path is the test's.
	pre := execLine(t, "ExecStartPre")
	run(t, pre[0], pre[1:]...)
	sockDir, err := os.MkdirTemp("", "banserver-deb-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	if err := os.Chmod(sockDir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(sockDir, "ban.sock")
	stop := startDaemon(t, append(execLine(t, "ExecStart"), "--socket", sock))

	fi, err := os.Stat(sock)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if int(st.Gid) != gid || fi.Mode().Perm() != 0o660 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket %s: gid %d mode %v, want gid %d (banserver) mode 0660", sock, st.Gid, fi.Mode(), gid)
	}

	member := throwawayUser(t, "bsdeb-in", "banserver")
	outsider := throwawayUser(t, "bsdeb-out", "")
	t.Run("member reports", func(t *testing.T) {
		out, err := banctlAs(member, sock, "set", "api", "attempt", "192.0.2.7", "deb test")
		if err != nil {
			t.Errorf("member of banserver: banctl set api attempt: %v\n%s", err, out)
		}
	})
	t.Run("member may only report", func(t *testing.T) {
		out, err := banctlAs(member, sock, "set", "api", "banip", "192.0.2.8")
		if err == nil || !strings.Contains(out, "permission denied") {
			t.Errorf("member of banserver: banip: %v, %q; want permission denied", err, out)
		}
	})
	t.Run("outsider cannot", func(t *testing.T) {
		out, err := banctlAs(outsider, sock, "set", "api", "attempt", "192.0.2.9", "deb test")
		if err == nil {
			t.Errorf("user outside banserver reported an attempt: %s", out)
		}
	})
	stop()
	if _, err := os.Stat(stateDir + "/bans.db"); err != nil {
		t.Errorf("the daemon kept no store: %v", err)
	}

	// An upgrade (the same version again) keeps an edited config and the store.
	edited := appendLine(t, conf, "# edited by TestDeb")
	run(t, dpkg, "--install", deb)
	if b, _ := os.ReadFile(conf); string(b) != edited {
		t.Errorf("upgrade replaced the edited %s", conf)
	}
	if _, err := os.Stat(stateDir + "/bans.db"); err != nil {
		t.Errorf("upgrade lost the store: %v", err)
	}

	// Remove: the programs go, the configuration and the store stay.
	run(t, dpkg, "--remove", "banserver")
	for _, f := range []string{serverBin, ctlBin, serviceFile, "/usr/share/man/man8/banserver.8.gz"} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after dpkg -r: %s is still there (%v)", f, err)
		}
	}
	for _, f := range []string{conf, stateDir + "/bans.db"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("after dpkg -r: %v", err)
		}
	}
	if got := run(t, "dpkg-query", "-W", "-f=${Status}", "banserver"); got != "deinstall ok config-files" {
		t.Errorf("after dpkg -r: status %q, want config-files", got)
	}

	// Purge: the configuration and the store go; the group stays, as
	// Debian leaves system groups (files may still carry it).
	run(t, dpkg, "--purge", "banserver")
	for _, f := range []string{confDir, stateDir} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after dpkg -P: %s is still there (%v)", f, err)
		}
	}
	if installed(t) {
		t.Errorf("after dpkg -P: dpkg still knows banserver")
	}
	if _, err := user.LookupGroup("banserver"); err != nil {
		t.Errorf("after dpkg -P: the banserver group is gone: %v", err)
	}
}

// debFile returns the package to test: BANSERVER_DEB, else make deb's.
func debFile(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BANSERVER_DEB"); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("BANSERVER_DEB: %v", err)
		}
		return p
	}
	mk := testenv.Tool(t, "make")
	out, err := exec.Command(mk, "-C", "..", "deb").CombinedOutput()
	if err != nil {
		t.Fatalf("make deb: %v\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if p, ok := strings.CutPrefix(l, "built "); ok {
			return filepath.Join("..", p)
		}
	}
	t.Fatalf("make deb said not what it built:\n%s", out)
	return ""
}

// checkNothingInstalled refuses a machine where banserver is installed or
// its files exist: the test would remove them.
func checkNothingInstalled(t *testing.T) {
	t.Helper()
	if installed(t) {
		t.Fatal("banserver is installed on this machine: the test would remove it")
	}
	for _, f := range []string{confDir, serverBin, ctlBin, serviceFile} {
		if _, err := os.Lstat(f); err == nil {
			t.Fatalf("%s exists (a banserver installed by hand?): the test would replace it", f)
		}
	}
}

// installed reports whether dpkg knows banserver (installed or its
// config files left).
func installed(t *testing.T) bool {
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "banserver").Output()
	return err == nil && strings.TrimSpace(string(out)) != "" && !strings.Contains(string(out), "not-installed")
}

// moveAside renames dir (a store of `make run` as root, say) out of the
// package's way, and returns what puts it back. A store a process has
// open is refused.
func moveAside(t *testing.T, dir string) func() {
	t.Helper()
	if _, err := os.Stat(dir); err != nil {
		return func() {}
	}
	if pid := openerOf(dir); pid != "" {
		t.Fatalf("%s is in use by process %s: the package test would purge it", dir, pid)
	}
	aside := fmt.Sprintf("%s.debtest-%d", dir, os.Getpid())
	if err := os.Rename(dir, aside); err != nil {
		t.Fatal(err)
	}
	t.Logf("moved %s to %s for the test", dir, aside)
	return func() {
		os.RemoveAll(dir) // the package's, if purge failed
		if err := os.Rename(aside, dir); err != nil {
			t.Errorf("restoring %s: %v", dir, err)
		}
	}
}

// openerOf returns the pid of a process with a file under dir open, or "".
func openerOf(dir string) string {
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if l, err := os.Readlink(fd); err == nil && strings.HasPrefix(l, dir+"/") {
			return strings.Split(fd, "/")[2]
		}
	}
	return ""
}

// run runs a command, fails the test if it fails, and returns its stdout.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return strings.TrimSpace(stdout.String())
}

// execLine returns the installed service's setting key (ExecStart,
// ExecStartPre) split into words, without systemd's prefixes.
func execLine(t *testing.T, key string) []string {
	t.Helper()
	f, err := os.Open(serviceFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key+"="); ok {
			words := strings.Fields(strings.TrimLeft(v, "-@:+!"))
			if len(words) == 0 {
				break
			}
			return words
		}
	}
	t.Fatalf("%s has no %s=", serviceFile, key)
	return nil
}

// startDaemon starts argv in a network namespace of its own (its kernel
// actions must not touch the host's routes), waits until its socket
// answers, and returns what stops it with SIGTERM, as systemctl stop
// does; the test's cleanup stops it too.
func startDaemon(t *testing.T, argv []string) (stop func()) {
	t.Helper()
	sock := argv[len(argv)-1]
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", strings.Join(argv, " "), err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		if err := <-done; err != nil {
			t.Errorf("daemon stopped with %v; its log:\n%s", err, log.String())
		}
	}
	t.Cleanup(stop)
	// Not a timing assertion: a bound on waiting for a daemon that died.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return stop
		}
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("%s exited: %v; its log:\n%s", strings.Join(argv, " "), err, log.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon's socket %s never answered; its log:\n%s", sock, log.String())
		}
	}
}

// account is a throwaway system user.
type account struct {
	name          string
	uid, gid      uint32
	supplementary []uint32
}

// throwawayUser creates a system user (name plus the test's pid), in
// group when it is not empty, and deletes it at the end of the test.
func throwawayUser(t *testing.T, prefix, group string) account {
	t.Helper()
	name := fmt.Sprintf("%s%d", prefix, os.Getpid())
	args := []string{"--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", "--user-group"}
	if group != "" {
		args = append(args, "--groups", group)
	}
	run(t, "useradd", append(args, name)...)
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v\n%s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	a := account{name: name}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	a.uid, a.gid = uint32(uid), uint32(gid)
	gids, err := u.GroupIds()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gids {
		n, _ := strconv.Atoi(g)
		a.supplementary = append(a.supplementary, uint32(n))
	}
	return a
}

// banctlAs runs the installed banctl as a, with a's groups, as a login
// would give them.
func banctlAs(a account, sock string, words ...string) (string, error) {
	cmd := exec.Command(ctlBin, append([]string{"-s", sock}, words...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: a.supplementary}}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// appendLine appends line to the file at path and returns its new text.
func appendLine(t *testing.T, path, line string) string {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(f, line+"\n"); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkInstalledManPages regenerates the man pages from the installed
// programs' --help and the installed conffile and compares them with the
// installed pages: the package ships pages that say what its programs say.
// The date line may differ.
func checkInstalledManPages(t *testing.T) {
	bin := t.TempDir()
	for _, p := range []string{serverBin, ctlBin} {
		if err := os.Symlink(p, filepath.Join(bin, filepath.Base(p))); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	gen := exec.Command("go", "run", "./mangen", "-bin", bin, "-conf", conf, "-o", out)
	if b, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("mangen: %v\n%s", err, b)
	}
	for _, page := range []string{"man8/banserver.8", "man8/banctl.8", "man5/banserver.yaml.5"} {
		installedPage := gunzip(t, "/usr/share/man/"+page+".gz")
		fresh, err := os.ReadFile(filepath.Join(out, filepath.Base(page)))
		if err != nil {
			t.Fatal(err)
		}
		if dropTH(installedPage) != dropTH(string(fresh)) {
			t.Errorf("/usr/share/man/%s.gz is not what the installed programs' --help make", page)
		}
		if groff, err := exec.LookPath("groff"); err == nil {
			cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", "-z")
			cmd.Stdin = strings.NewReader(installedPage)
			if b, err := cmd.CombinedOutput(); err != nil || len(b) > 0 {
				t.Errorf("groff on %s: %v\n%s", page, err, b)
			}
		} else {
			testenv.Missing(t, "groff (Debian package groff-base) to check the man pages")
		}
	}
}

// dropTH removes the .TH line, which carries the build's date.
func dropTH(page string) string {
	_, rest, _ := strings.Cut(page, "\n")
	return rest
}

func gunzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkInstalledUnits verifies the installed units and scores the
// service, and runs lintian on the package when it is installed.
func checkInstalledUnits(t *testing.T) {
	analyze := testenv.Tool(t, "systemd-analyze")
	out, err := exec.Command(analyze, "verify", "--man=no", "/lib/systemd/system/banserver.socket", serviceFile).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	score := exposure(t, analyze, serviceFile)
	t.Logf("systemd-analyze security banserver.service: %.1f", score)
	if score > maxExposure {
		t.Errorf("exposure %.1f, want at most %.1f", score, maxExposure)
	}
}

// TestLintian runs lintian on the package: no errors and no warnings but
// the overridden (packaging/lintian/banserver says why).
func TestLintian(t *testing.T) {
	lintian := testenv.Tool(t, "lintian")
	deb := debFile(t)
	out, err := exec.Command(lintian, "--display-info", "--pedantic", "--show-overrides", deb).CombinedOutput()
	t.Logf("lintian %s:\n%s", filepath.Base(deb), out)
	if err != nil {
		t.Errorf("lintian: %v", err)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "E: ") || strings.HasPrefix(l, "W: ") {
			t.Errorf("lintian: %s", l)
		}
	}
}
