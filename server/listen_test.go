package server_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/banserver/banserver/server"
	"github.com/banserver/banserver/testenv"
)

// racerUID is the unprivileged user the racer runs as (nobody).
const racerUID = 65534

// racerEnv, when set, turns this test binary into the racer process: see
// init and race. The other settings travel in racerEnv+"_DIR", "_TARGET"
// and "_DECOY".
const racerEnv = "BANSERVER_TEST_LISTEN_RACER"

func init() {
	if os.Getenv(racerEnv) == "" {
		return
	}
	swaps, err := race(os.Getenv(racerEnv+"_DIR"), os.Getenv(racerEnv+"_TARGET"), os.Getenv(racerEnv+"_DECOY"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "racer:", err)
		os.Exit(2)
	}
	fmt.Printf("swaps %d\n", swaps)
	os.Exit(0)
}

// race is the attacker: a user who may write the socket's directory. Until
// its stdin closes it lists dir over and over and replaces every entry it
// does not own (the daemon's temporary socket, private directory, final
// socket) after renaming it away: by a symlink to target (a root-owned 0600
// file), by a symlink to decoy (a directory it owns holding symlinks to
// target named like the daemon's entries), or by a directory of its own
// holding such a symlink. It returns how many entries it replaced.
func race(dir, target, decoy string) (swaps int, err error) {
	if os.Getuid() != racerUID {
		return 0, fmt.Errorf("running as uid %d, want %d", os.Getuid(), racerUID)
	}
	dfd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	if err := os.Symlink(target, filepath.Join(decoy, "s")); err != nil {
		return 0, err
	}
	var stop atomic.Bool
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop.Store(true)
	}()
	fmt.Println("ready")
	buf := make([]byte, 16<<10)
	var names []string
	for n := 0; !stop.Load(); {
		if _, err := unix.Seek(dfd, 0, io.SeekStart); err != nil {
			return swaps, err
		}
		names = names[:0]
		for {
			k, err := unix.Getdents(dfd, buf)
			if err != nil || k <= 0 {
				break
			}
			_, _, names = unix.ParseDirent(buf[:k], -1, names)
		}
		for _, name := range names {
			if strings.HasPrefix(name, "zz-") {
				continue // renamed away by us
			}
			var st unix.Stat_t
			if unix.Fstatat(dfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || st.Uid == racerUID {
				continue
			}
			n++
			if unix.Renameat(dfd, name, dfd, fmt.Sprintf("zz-%d", n)) != nil {
				continue
			}
			swaps++
			switch {
			case st.Mode&unix.S_IFMT != unix.S_IFDIR || n%3 == 0:
				unix.Symlinkat(target, dfd, name)
			case n%3 == 1:
				os.Symlink(target, filepath.Join(decoy, name))
				unix.Symlinkat(decoy, dfd, name)
			default:
				if unix.Mkdirat(dfd, name, 0o777) == nil {
					unix.Symlinkat(target, dfd, name+"/s")
				}
			}
		}
	}
	return swaps, nil
}

// startRacer runs race as uid 65534 in a copy of the test binary and
// returns a function that stops it and reports its swap count.
func startRacer(t *testing.T, top, dir, target, decoy string) (stop func() int) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The go build directory is root's 0700: nobody cannot run the binary
	// from there.
	bin := filepath.Join(top, "racer")
	copyFile(t, self, bin, 0o755)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), racerEnv+"=1", racerEnv+"_DIR="+dir, racerEnv+"_TARGET="+target, racerEnv+"_DECOY="+decoy)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: racerUID, Gid: racerUID}}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 2)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	stopped := false
	stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		stdin.Close()
		swaps := -1
		select {
		case l := <-lines:
			fmt.Sscanf(l, "swaps %d", &swaps)
		case <-time.After(10 * time.Second):
			t.Error("racer did not stop within 10s")
			cmd.Process.Kill()
		}
		cmd.Wait()
		return swaps
	}
	t.Cleanup(func() { stop() })
	select {
	case l := <-lines:
		if l != "ready" {
			t.Fatalf("racer said %q, want ready", l)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("racer not ready within 10s")
	}
	return stop
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestListenRace runs Listen over and over in a directory an unprivileged
// racer may write, the racer replacing every entry the daemon makes there
// by symlinks to a root-owned 0600 file. Listen may fail under attack, but
// it must never change that file, and every socket of root's that the
// racer can reach must have its final mode and group.
func TestListenRace(t *testing.T) {
	testenv.Root(t, "the racer runs as uid 65534 against files of root's")
	server.SkipDirCheck(t) // the directory is nobody's: refused, else
	top, err := os.MkdirTemp("", "banserver-listen-race-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	if err := os.Chmod(top, 0o711); err != nil { // nobody may pass through
		t.Fatal(err)
	}
	target := filepath.Join(top, "target")
	if err := os.WriteFile(target, []byte("root's secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(top, "run")   // nobody's: the racer's playground
	decoy := filepath.Join(top, "own") // nobody's: where its symlinks point
	for _, d := range []string{dir, decoy} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(d, racerUID, racerUID); err != nil {
			t.Fatal(err)
		}
	}
	stop := startRacer(t, top, dir, target, decoy)

	const (
		rounds = 1000
		budget = 30 * time.Second
		mode   = 0o666
		gid    = racerUID // a group the socket is handed to, not root's
	)
	path := filepath.Join(dir, "ban.sock")
	ok := 0
	refused := map[string]int{}
	start := time.Now()
	round := 0
	for ; round < rounds && time.Since(start) < budget; round++ {
		clearDir(t, dir)
		ln, err := server.Listen(server.SocketOptions{Path: path, Mode: mode, UID: -1, GID: gid})
		checkTarget(t, round, target)
		checkSockets(t, round, mode, gid, dir, decoy)
		if err != nil {
			refused[errClass(err)]++
			continue
		}
		ok++
		ln.Close()
		server.Unlink(path)
	}
	swaps := stop()
	clearDir(t, dir)
	t.Logf("%d rounds in %v: %d listened, racer replaced %d entries; refused: %v",
		round, time.Since(start).Round(time.Millisecond), ok, swaps, refused)
	if swaps <= 0 {
		t.Errorf("the racer replaced %d entries: it did not race", swaps)
	}
	if ok == 0 {
		t.Error("no Listen succeeded: the test shows nothing about the sockets' modes")
	}
}

// checkTarget fails the test at once if the root-owned 0600 file changed.
func checkTarget(t *testing.T, round int, target string) {
	t.Helper()
	fi, err := os.Lstat(target)
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if fi.Mode() != 0o600 || st.Uid != 0 || st.Gid != 0 {
		t.Fatalf("round %d: target is now %v owned by %d:%d, want -rw------- owned by 0:0: Listen changed a file that is not its socket",
			round, fi.Mode(), st.Uid, st.Gid)
	}
}

// checkSockets fails the test if a socket of root's under dirs does not have
// the final mode and group: no socket is reachable before it has them.
func checkSockets(t *testing.T, round int, mode os.FileMode, gid int, dirs ...string) {
	t.Helper()
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.Type()&fs.ModeSocket == 0 {
				return nil // the racer moves things under our feet
			}
			fi, err := os.Lstat(p)
			if err != nil {
				return nil
			}
			st := fi.Sys().(*syscall.Stat_t)
			if st.Uid == 0 && (fi.Mode().Perm() != mode || int(st.Gid) != gid) {
				t.Errorf("round %d: socket %s is %v group %d, want %v group %d", round, p, fi.Mode().Perm(), st.Gid, mode, gid)
			}
			return nil
		})
	}
}

// clearDir removes everything in dir, the racer's leftovers included.
func clearDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
}

// errClass shortens an error for the summary: its text without the
// variable names and numbers.
func errClass(err error) string {
	s := err.Error()
	var b strings.Builder
	for _, f := range strings.Fields(s) {
		if strings.ContainsAny(f, "/0123456789") {
			f = "…"
		}
		b.WriteString(f + " ")
	}
	return strings.TrimSpace(b.String())
}

// TestListenDir: Listen refuses a socket directory another user could
// replace entries in, naming it and what to do, and leaves it untouched;
// it accepts one only root and the daemon's user can write, or a sticky one.
func TestListenDir(t *testing.T) {
	tests := []struct {
		name    string
		uid     int // owner; -1 keeps the test's own
		mode    os.FileMode
		wantErr error
	}{
		{name: "owned by another user", uid: racerUID, mode: 0o755, wantErr: server.ErrUnsafeDir},
		{name: "owned by another user, sticky", uid: racerUID, mode: 0o777 | os.ModeSticky, wantErr: server.ErrUnsafeDir},
		{name: "world-writable, not sticky", uid: -1, mode: 0o777, wantErr: server.ErrUnsafeDir},
		{name: "group-writable, not sticky", uid: -1, mode: 0o775, wantErr: server.ErrUnsafeDir},
		{name: "world-writable, sticky", uid: -1, mode: 0o777 | os.ModeSticky},
		{name: "ours, 0755", uid: -1, mode: 0o755},
		{name: "ours, 0700", uid: -1, mode: 0o700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.uid >= 0 {
				testenv.Root(t, "the directory is handed to uid 65534")
			}
			dir := filepath.Join(t.TempDir(), "run")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.mode); err != nil { // umask-free
				t.Fatal(err)
			}
			if err := os.Chown(dir, tt.uid, -1); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "ban.sock")
			ln, err := server.Listen(server.SocketOptions{Path: path, Mode: 0o660, UID: -1, GID: -1})
			if tt.wantErr != nil {
				if ln != nil {
					ln.Close()
					server.Unlink(path)
				}
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Listen: %v, want %v", err, tt.wantErr)
				}
				t.Log(err)
				mode := uint32(tt.mode.Perm())
				if tt.mode&os.ModeSticky != 0 {
					mode |= unix.S_ISVTX
				}
				for _, want := range []string{dir, fmt.Sprintf("mode %04o", mode), "/run/banserver"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not say %q", err, want)
					}
				}
				if names := dirNames(t, dir); len(names) != 0 {
					t.Errorf("a refused Listen left %v in %s", names, dir)
				}
				return
			}
			if err != nil {
				t.Fatalf("Listen: %v", err)
			}
			defer server.Unlink(path)
			defer ln.Close()
			fi, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o660 {
				t.Errorf("socket is %v, want a socket of mode 0660", fi.Mode())
			}
			if names := dirNames(t, dir); len(names) != 1 || names[0] != "ban.sock" {
				t.Errorf("after Listen %s holds %v, want only ban.sock", dir, names)
			}
		})
	}
}

// TestListenPath: what is at the socket path, and the path itself.
func TestListenPath(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, path string) // puts something at path
		wantErr bool
		leaves  []string // what the directory holds afterwards
	}{
		{name: "nothing there", leaves: []string{"ban.sock"}},
		{name: "a stale socket", prepare: staleSocket, leaves: []string{"ban.sock"}},
		{
			name: "a symlink to a stale socket",
			prepare: func(t *testing.T, path string) {
				staleSocket(t, path+".real")
				if err := os.Symlink(path+".real", path); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: true, leaves: []string{"ban.sock", "ban.sock.real"},
		},
		{
			name: "a regular file",
			prepare: func(t *testing.T, path string) {
				if err := os.WriteFile(path, []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: true, leaves: []string{"ban.sock"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "ban.sock")
			if tt.prepare != nil {
				tt.prepare(t, path)
			}
			ln, err := server.Listen(server.SocketOptions{Path: path, Mode: 0o600, UID: -1, GID: -1})
			if ln != nil {
				defer server.Unlink(path)
				defer ln.Close()
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("Listen: %v, want an error: %v", err, tt.wantErr)
			}
			if got := dirNames(t, dir); strings.Join(got, " ") != strings.Join(tt.leaves, " ") {
				t.Errorf("%s holds %v, want %v", dir, got, tt.leaves)
			}
		})
	}
	long := filepath.Join(t.TempDir(), strings.Repeat("x", 120))
	if _, err := server.Listen(server.SocketOptions{Path: long, Mode: 0o600, UID: -1, GID: -1}); err == nil {
		t.Errorf("Listen took a %d-byte path", len(long))
	}
}

func staleSocket(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
}

// dirNames lists dir, sorted.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
