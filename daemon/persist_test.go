package daemon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/store"
)

// buildDaemon builds cmd/banserver once per test binary run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func banserverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "banserver-bin-")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "banserver")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, "github.com/banserver/banserver/cmd/banserver").CombinedOutput()
		if err != nil {
			buildOnce.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildOnce.err != nil {
		t.Fatal(buildOnce.err)
	}
	return buildOnce.path
}

// proc is a banserver process started by a test.
type proc struct {
	cmd  *exec.Cmd
	sock string
	log  string
}

func startProc(t *testing.T, cfg, sock, db string) *proc {
	t.Helper()
	return startProcWith(t, nil, cfg, sock, db)
}

// startProcWith starts banserver under the command wrap (ip netns exec
// NAME, for one), which must exec it in its own process.
func startProcWith(t *testing.T, wrap []string, cfg, sock, db string) *proc {
	t.Helper()
	logf := filepath.Join(t.TempDir(), "banserver.log")
	f, err := os.Create(logf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	argv := append(append([]string{}, wrap...), banserverBinary(t), "--config", cfg, "--socket", sock, "--db", db)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, sock: sock, log: logf}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			if code, v := ask(t, sock, "ping"); code == 0 && v == "pong" {
				return p
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf)
			t.Fatalf("banserver did not answer within 60s:\n%s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *proc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	p.cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		p.cmd.Process.Kill()
		t.Fatalf("banserver did not exit within 30s of %v", sig)
	}
}

// banList returns `get JAIL banip` as a sorted list.
func banList(t *testing.T, sock, jailName string) []string {
	t.Helper()
	code, v := ask(t, sock, "get", jailName, "banip")
	if code != 0 {
		t.Fatalf("get %s banip: (%d, %v)", jailName, code, v)
	}
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	sort.Strings(out)
	return out
}

const persistConfig = `
jails:
  - name: api
    maxretry: 3
    findtime: 30m
    bantime: 1h
    actions: []
  - name: short
    maxretry: 3
    bantime: 2s
    actions: []
`

// TestBansSurviveRestart: bans come back after a clean stop with their
// times; bans that ended while the daemon was down do not.
func TestBansSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, persistConfig)
	sock, db := filepath.Join(dir, "ban.sock"), filepath.Join(dir, "bans.db")
	p := startProc(t, cfg, sock, db)
	if code, v := ask(t, sock, "set", "api", "banip", "198.51.100.1", "2001:db8::1"); code != 0 || v != int64(2) {
		t.Fatalf("banip: (%d, %v)", code, v)
	}
	for range 3 {
		ask(t, sock, "set", "api", "attempt", "203.0.113.7", "Incorrect token used.")
	}
	if code, v := ask(t, sock, "set", "short", "banip", "198.51.100.9"); code != 0 || v != int64(1) {
		t.Fatalf("banip short: (%d, %v)", code, v)
	}
	_, withTime := ask(t, sock, "get", "api", "banip", "--with-time")
	p.stop(t, syscall.SIGTERM)
	time.Sleep(2500 * time.Millisecond) // the short jail's 2s ban ends while down

	p = startProc(t, cfg, sock, db)
	want := []string{"198.51.100.1", "2001:db8::1", "203.0.113.7"}
	if got := banList(t, sock, "api"); !equal(got, want) {
		t.Fatalf("api bans after restart: %v, want %v", got, want)
	}
	if got := banList(t, sock, "short"); len(got) != 0 {
		t.Fatalf("a ban that ended while down came back: %v", got)
	}
	// Start and end are the real ones, not the restart's.
	_, again := ask(t, sock, "get", "api", "banip", "--with-time")
	if fmt.Sprint(again) != fmt.Sprint(withTime) {
		t.Fatalf("--with-time after restart:\n%v\nbefore:\n%v", again, withTime)
	}
	// Unbans are durable too.
	if code, v := ask(t, sock, "set", "api", "unbanip", "198.51.100.1"); code != 0 || v != int64(1) {
		t.Fatalf("unbanip: (%d, %v)", code, v)
	}
	p.stop(t, syscall.SIGKILL)
	startProc(t, cfg, sock, db) // stopped by the test's cleanup
	if got := banList(t, sock, "api"); !equal(got, []string{"2001:db8::1", "203.0.113.7"}) {
		t.Fatalf("after unbanip and kill -9: %v", got)
	}
	// A jail stopped and started again over the socket gets its bans back,
	// as fail2ban's do.
	for _, c := range [][]any{{"stop", "api"}, {"add", "api"}, {"start", "api"}} {
		if code, v := ask(t, sock, c...); code != 0 {
			t.Fatalf("%v: (%d, %v)", c, code, v)
		}
	}
	if got := banList(t, sock, "api"); !equal(got, []string{"2001:db8::1", "203.0.113.7"}) {
		t.Fatalf("after stop, add, start: %v", got)
	}
	code, v := ask(t, sock, "get", "dbfile")
	if code != 0 || v != db {
		t.Fatalf("get dbfile: (%d, %v), want %s", code, v, db)
	}
}

// TestKill9DuringBurst: clients ban as fast as they can; the daemon is
// killed with SIGKILL at a random moment; every ban it acknowledged is
// there after the restart, once.
func TestKill9DuringBurst(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, persistConfig)
	db := filepath.Join(dir, "bans.db")
	for round := range 3 {
		sock := filepath.Join(dir, fmt.Sprintf("ban%d.sock", round))
		p := startProc(t, cfg, sock, db)
		var mu sync.Mutex
		acked := map[string]bool{}
		ctx, stopClients := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for c := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := net.Dial("unix", sock)
				if err != nil {
					return
				}
				defer conn.Close()
				r := protocol.NewReader(conn, 1<<16)
				for i := 0; ctx.Err() == nil; i++ {
					// Canonical text, as the daemon lists it.
					ip := netip.MustParseAddr(fmt.Sprintf("2001:db8:%x:%x::%x", round, c, i+1)).String()
					req, _ := protocol.AppendRequest(nil, 4, []any{"set", "api", "banip", ip})
					if _, err := conn.Write(req); err != nil {
						return
					}
					msg, err := r.ReadMessage()
					if err != nil {
						return // killed: this one was not acknowledged
					}
					if code, v, err := protocol.DecodeReply(msg); err == nil && code == 0 && v == int64(1) {
						mu.Lock()
						acked[ip] = true
						mu.Unlock()
					}
				}
			}()
		}
		time.Sleep(time.Duration(200+rand.IntN(600)) * time.Millisecond)
		p.stop(t, syscall.SIGKILL)
		stopClients()
		wg.Wait()
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n == 0 {
			t.Fatalf("round %d: no ban was acknowledged before the kill", round)
		}

		p = startProc(t, cfg, sock, db)
		got := banList(t, sock, "api")
		seen := map[string]bool{}
		for _, ip := range got {
			if seen[ip] {
				t.Fatalf("round %d: %s restored twice", round, ip)
			}
			seen[ip] = true
		}
		var lost []string
		for ip := range acked {
			if !seen[ip] {
				lost = append(lost, ip)
			}
		}
		if len(lost) > 0 {
			t.Fatalf("round %d: %d of %d acknowledged bans lost after kill -9, e.g. %v", round, len(lost), n, lost[:min(5, len(lost))])
		}
		t.Logf("round %d: %d acknowledged bans, %d restored", round, n, len(got))
		p.stop(t, syscall.SIGTERM)
	}
}

// TestStoreLocked: a second daemon on the same store refuses to start.
func TestStoreLocked(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, persistConfig)
	db := filepath.Join(dir, "bans.db")
	startProc(t, cfg, filepath.Join(dir, "a.sock"), db)
	err := Run(context.Background(), Options{ConfigPath: cfg, Socket: filepath.Join(dir, "b.sock"), DB: db})
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second daemon on the same store: %v, want store.ErrLocked", err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
