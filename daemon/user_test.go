package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banserver/banserver/testenv"
)

// TestRunAsUser: the daemon started by a user other than root, on the
// embedded default (make run), keeps its store in the user's state
// directory and serves; a store the user cannot write is refused with what
// to do. Before, the default store's permission error stopped it with no
// advice.
func TestRunAsUser(t *testing.T) {
	testenv.Root(t, "running the daemon as nobody")
	// A directory nobody can enter, holding the binary, a home and sockets.
	top, err := os.MkdirTemp("", "banserver-user-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	os.Chmod(top, 0o755)
	bin := filepath.Join(top, "banserver")
	src, err := os.ReadFile(banserverBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, src, 0o755); err != nil {
		t.Fatal(err)
	}
	home := filepath.Join(top, "home")
	os.Mkdir(home, 0o755)
	os.Chown(home, 65534, 65534)
	run := func(args ...string) *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
		cmd.Dir = home
		return cmd
	}

	sock := filepath.Join(home, "run", "ban.sock")
	cmd := run("--socket", sock)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			if code, v := ask(t, sock, "ping"); code == 0 && v == "pong" {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon as nobody did not answer within 30s:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, v := ask(t, sock, "set", "api", "banip", "198.51.100.9"); code != 0 || v != int64(1) {
		t.Fatalf("banip as nobody's daemon: (%d, %v)", code, v)
	}
	if _, err := os.Stat(filepath.Join(home, ".local", "state", "banserver", "bans.db")); err != nil {
		t.Fatalf("the store is not in nobody's state directory: %v\n%s", err, out.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()

	// A store nobody cannot write: refused, with what to do.
	root := filepath.Join(top, "rootonly")
	os.Mkdir(root, 0o700)
	bad := run("--socket", filepath.Join(home, "run2", "ban.sock"), "--db", filepath.Join(root, "bans.db"))
	b, err := bad.CombinedOutput()
	if err == nil {
		t.Fatalf("a store nobody cannot write was accepted:\n%s", b)
	}
	if !strings.Contains(string(b), "permission denied") || !strings.Contains(string(b), "--db PATH") || !strings.Contains(string(b), "--db none") {
		t.Fatalf("the refusal does not say what to do:\n%s", b)
	}
}
