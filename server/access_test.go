package server_test

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/server"
	"github.com/banserver/banserver/testenv"
)

// nobody is the unprivileged peer the access tests run clients as.
const nobody = 65534

// needRoot skips a test that must switch users, except in CI, where a
// skipped check would pass by not checking.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(t, "not root: cannot run clients as another user")
	}
}

// openDaemon runs a server on a socket any local user may open, as a
// deployment with socket.mode 0666 would, and records its log.
func openDaemon(t *testing.T, o server.Options, jails ...jail.Config) (sock string, logs *observer.ObservedLogs) {
	t.Helper()
	dir, err := os.MkdirTemp("", "banserver-access-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sock = filepath.Join(dir, "ban.sock")
	core, logs := observer.New(zap.InfoLevel)
	reg := actions.NewRegistry(actions.Log{L: zap.NewNop()})
	m := jail.NewManager(jail.Options{SelfAddrs: func() []netip.Addr { return nil }})
	for _, c := range jails {
		if err := m.Add(c); err != nil {
			t.Fatal(err)
		}
		if err := m.Start(c.Name); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := server.Listen(server.SocketOptions{Path: sock, Mode: 0o666, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o.Jails, o.Actions, o.Log, o.Stop = m, reg, zap.New(core), cancel
	done := make(chan error, 1)
	go m.Run(ctx)
	go func() { done <- server.New(o).Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop within 10s of cancellation")
		}
		server.Unlink(sock)
	})
	return sock, logs
}

// asNobody runs name with args as uid/gid 65534 and returns its output.
func asNobody(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// asRoot runs name with args as the test's own user (root).
func asRoot(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	return string(out), err
}

// TestAccessFail2banClient drives the daemon with Debian's fail2ban-client,
// as root and as nobody, to show what a real user sees.
func TestAccessFail2banClient(t *testing.T) {
	needRoot(t)
	client := needTool(t, "fail2ban-client")
	rules := []server.Rule{{UID: nobody, GID: -1, Classes: []protocol.Class{protocol.ClassReport}, Jails: []string{"api"}}}
	sock, logs := openDaemon(t, server.Options{Access: rules}, apiJail(100), jail.Config{Name: "other", MaxRetry: 5, FindTime: time.Hour, BanTime: time.Hour})
	tests := []struct {
		name    string
		root    bool
		args    []string
		wantErr bool
		want    string // part of the output
	}{
		{name: "ping is open to all", args: []string{"ping"}, want: "pong"},
		{name: "attempt on its jail", args: []string{"set", "api", "attempt", "192.0.2.10"}, want: "1"},
		{name: "attempt on another jail", args: []string{"set", "other", "attempt", "192.0.2.10"}, wantErr: true,
			want: "permission denied: uid 65534 (nobody) may not use report commands on jail 'other'"},
		{name: "banip", args: []string{"set", "api", "banip", "192.0.2.11"}, wantErr: true,
			want: "permission denied: uid 65534 (nobody) may not use ban commands on jail 'api'"},
		{name: "unban --all", args: []string{"unban", "--all"}, wantErr: true,
			want: "may not use unban commands that name no jail"},
		{name: "status", args: []string{"status"}, wantErr: true, want: "may not use read commands"},
		{name: "addaction", args: []string{"set", "api", "addaction", "blackhole"}, wantErr: true,
			want: "may not use admin commands on jail 'api'"},
		{name: "stop", args: []string{"stop"}, wantErr: true, want: "may not use admin commands that name no jail (stop)"},
		{name: "root banip", root: true, args: []string{"set", "api", "banip", "192.0.2.11"}, want: "1"},
		{name: "root attempt on another jail", root: true, args: []string{"set", "other", "attempt", "192.0.2.10"}, want: "1"},
		{name: "root unban --all", root: true, args: []string{"unban", "--all"}, want: "1"},
		{name: "root addaction", root: true, args: []string{"set", "other", "addaction", "log"}, want: "log"},
		{name: "root status", root: true, args: []string{"status"}, want: "Number of jail"},
		{name: "root stop", root: true, args: []string{"stop"}, want: "Shutdown successful"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := asNobody
			if tt.root {
				run = asRoot
			}
			out, err := run(t, client, append([]string{"-s", sock}, tt.args...)...)
			if (err != nil) != tt.wantErr || !strings.Contains(out, tt.want) {
				t.Fatalf("fail2ban-client %v: err %v, output:\n%s\nwant error %v and %q", tt.args, err, out, tt.wantErr, tt.want)
			}
		})
	}
	var refused int
	for _, e := range logs.FilterMessage("refused command").All() {
		if uid, ok := e.ContextMap()["uid"]; ok && uid == uint32(nobody) && e.ContextMap()["user"] == "nobody" {
			refused++
		}
	}
	if refused != 6 {
		t.Errorf("%d refusals of uid %d logged with the uid, want 6; log: %v", refused, nobody, logs.All())
	}
}
