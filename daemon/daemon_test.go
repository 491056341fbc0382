package daemon

import (
	"context"
	"slices"
	"strings"

	"errors"
	"go.uber.org/zap"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/server"
)

// runDaemon starts Run with o and waits until it listens.
func runDaemon(t *testing.T, o Options) (sock string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ready := make(chan string, 1)
	o.Ready = func(s string) { ready <- s }
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Run(ctx, o) }()
	select {
	case sock = <-ready:
	case err := <-errc:
		cancel()
		t.Fatalf("Run: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("daemon not ready after 30s")
	}
	t.Cleanup(cancel)
	return sock, cancel, errc
}

func ask(t *testing.T, sock string, args ...any) (int, any) {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := protocol.AppendRequest(nil, 4, args)
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	msg, err := protocol.NewReader(c, 1<<20).ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	code, v, err := protocol.DecodeReply(msg)
	if err != nil {
		t.Fatal(err)
	}
	return code, v
}

func TestRunDefaultConfigAndShutdown(t *testing.T) {
	// The default api jail enforces bans with blackhole routes when it may;
	// as root, those go to a namespace of the test's own, never the host's.
	if can, _ := canChangeRoutes(); can {
		t.Setenv("BANSERVER_KERNEL_NETNS", newNetNS(t).path())
	}
	dir := t.TempDir()
	// The socket's directory does not exist yet: the daemon creates it.
	sock, cancel, done := runDaemon(t, Options{Socket: filepath.Join(dir, "run", "ban.sock"), DB: "none"})
	if code, v := ask(t, sock, "status"); code != 0 {
		t.Fatalf("status: (%d, %v)", code, v)
	}
	if code, v := ask(t, sock, "get", "api", "maxretry"); code != 0 || v != int64(10) {
		t.Fatalf("the default api jail's maxretry: (%d, %v), want 10", code, v)
	}
	if code, v := ask(t, sock, "get", "api", "findtime"); code != 0 || v != int64(1800) {
		t.Fatalf("findtime: (%d, %v), want 1800", code, v)
	}
	if code, v := ask(t, sock, "get", "api", "bantime"); code != 0 || v != int64(3600) {
		t.Fatalf("bantime: (%d, %v), want 3600", code, v)
	}
	// A second daemon on the same socket refuses to start.
	err := Run(context.Background(), Options{Socket: sock, DB: "none"})
	if !errors.Is(err, server.ErrInUse) {
		t.Fatalf("second daemon: %v, want ErrInUse", err)
	}
	cancel() // as SIGTERM does
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancellation: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return 30s after cancellation")
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind after shutdown: %v", err)
	}
}

func TestRunStopCommand(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "empty.yaml")
	os.WriteFile(cfg, nil, 0o600)
	sock, _, done := runDaemon(t, Options{ConfigPath: cfg, Socket: filepath.Join(t.TempDir(), "ban.sock"), DB: "none"})
	if code, v := ask(t, sock, "status"); code != 0 {
		t.Fatalf("status: (%d, %v)", code, v)
	}
	if code, v := ask(t, sock, "stop"); code != 0 || v != nil {
		t.Fatalf("stop: (%d, %v)", code, v)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after stop: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return 30s after stop")
	}
}

func TestRunRefuses(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("jails:\n  - name: api\n    bantime: soon\n"), 0o600)
	unknownAction := filepath.Join(t.TempDir(), "act.yaml")
	os.WriteFile(unknownAction, []byte("jails:\n  - name: api\n    actions: [\"iptables -I INPUT\"]\n"), 0o600)
	tests := []struct {
		name    string
		o       Options
		wantErr error
	}{
		{name: "an unparsable bantime", o: Options{ConfigPath: bad}},
		{name: "an action that is not built in", o: Options{ConfigPath: unknownAction}},
		{name: "a missing config file", o: Options{ConfigPath: "/nonexistent/banserver.yaml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Socket = filepath.Join(t.TempDir(), "ban.sock")
			if tt.o.DB == "" {
				tt.o.DB = "none"
			}
			err := Run(context.Background(), tt.o)
			if err == nil {
				t.Fatal("Run succeeded")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if _, serr := os.Lstat(tt.o.Socket); serr == nil {
				t.Fatal("a refused start left a socket behind")
			}
		})
	}
}

func TestZapLevel(t *testing.T) {
	for _, name := range []string{"CRITICAL", "error", "WARNING", "notice", "INFO", "debug"} {
		if _, _, err := zapLevel(name); err != nil {
			t.Errorf("zapLevel(%q): %v", name, err)
		}
	}
	if _, _, err := zapLevel("loud"); !errors.Is(err, config.ErrInvalid) {
		t.Errorf("zapLevel(loud) = %v, want config.ErrInvalid", err)
	}
}

func TestCheckKernelActions(t *testing.T) {
	defer func(f func() (bool, string)) { canChangeRoutes = f }(canChangeRoutes)
	jails := func() []config.Jail {
		return []config.Jail{{Name: "api", Actions: []string{"blackhole", "log"}}, {Name: "x", Actions: []string{"nftables[table=t]"}}}
	}
	tests := []struct {
		name      string
		can       bool
		isDefault bool
		wantErr   bool
		want      [][]string
	}{
		{name: "capable: kept", can: true, want: [][]string{{"blackhole", "log"}, {"nftables[table=t]"}}},
		{name: "default config without the capability falls back to log", isDefault: true, want: [][]string{{"log"}, {"log"}}},
		{name: "a config file without the capability refuses to start", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			canChangeRoutes = func() (bool, string) { return tt.can, "CAP_NET_ADMIN not in the effective set" }
			js := jails()
			err := checkKernelActions(js, tt.isDefault, zap.NewNop())
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "CAP_NET_ADMIN") {
					t.Fatalf("err = %v, want one naming CAP_NET_ADMIN", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, j := range js {
				if !slices.Equal(j.Actions, tt.want[i]) {
					t.Errorf("jail %s actions %v, want %v", j.Name, j.Actions, tt.want[i])
				}
			}
		})
	}
}
