package daemon

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestSystemdSocketActivation execs the built daemon as systemd would:
// the listening socket on descriptor 3, LISTEN_FDS=1 and LISTEN_PID set
// to the daemon's own pid (a shell sets it to $$, then execs, keeping the
// pid). The daemon must serve on that socket and leave its configured
// path alone.
func TestSystemdSocketActivation(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skipf("no sh: %v", err)
	}
	dir := t.TempDir()
	sock := filepath.Join(dir, "activated.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	f, err := ln.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	configured := filepath.Join(dir, "configured.sock")
	cfg := filepath.Join(dir, "banserver.yaml")
	os.WriteFile(cfg, []byte("socket:\n  path: "+configured+"\ndb: none\njails:\n  - name: api\n    actions: [log]\n"), 0o600)
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command(sh, "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" --config "$1"`, banserverBinary(t), cfg)
	cmd.ExtraFiles = []*os.File{f}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		// The socket accepts at once (it is ours); the reply comes once
		// the daemon serves it.
		if code, v := ask(t, sock, "ping"); code == 0 && v == "pong" {
			break
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("no pong on the activated socket within 60s:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Lstat(configured); !os.IsNotExist(err) {
		t.Errorf("socket-activated daemon created its configured socket: %v", err)
	}
	if code, v := ask(t, sock, "stop"); code != 0 || v != nil {
		t.Fatalf("stop: (%d, %v)", code, v)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("daemon exit: %v\n%s", err, b)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("daemon still running 30s after stop")
	}
	// systemd's socket file stays: it is systemd's to remove.
	if _, err := os.Lstat(sock); err != nil {
		t.Errorf("activated socket file removed by the daemon: %v", err)
	}
}
