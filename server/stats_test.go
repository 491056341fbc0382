package server_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/server"
)

// TestStats: the server counts each command answered by its row and
// class (errors apart), each refusal by its reason (rate, malformed,
// limits, connections; access is TestMetrics' in package daemon) and its
// connections.
func TestStats(t *testing.T) {
	needRoot(t)
	py := debianPython(t)
	dir, err := os.MkdirTemp("", "banserver-stats-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	sock := filepath.Join(dir, "ban.sock")
	m := jail.NewManager(jail.Options{SelfAddrs: func() []netip.Addr { return nil }})
	m.Add(apiJail(10))
	m.Start("api")
	srv := server.New(server.Options{Jails: m, Log: zap.NewNop(), MaxMessage: 1024,
		Access: []server.Rule{{UID: nobody, GID: -1, Classes: []protocol.Class{protocol.ClassRead}, Jails: []string{"*"}}},
		Limits: server.Limits{RatePerUID: 0.001, RateBurst: 1, MaxConns: 2}})
	ln, err := server.Listen(server.SocketOptions{Path: sock, Mode: 0o666, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() { cancel(); <-done; server.Unlink(sock) })

	// nobody: one ping within its burst, two over its rate.
	cmds, _ := json.Marshal([][]string{{"ping"}, {"ping"}, {"ping"}})
	if out, err := asNobody(t, py, "-c", pyClient, sock, "cmds", string(cmds)); err != nil || strings.Count(out, "rate_per_uid") != 2 {
		t.Fatalf("nobody's pings: %v\n%s", err, out)
	}
	waitClosed := func() {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); srv.Stats().Open != 0; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("connections still open after 30s")
			}
		}
	}
	waitClosed()

	// root: commands, a malformed message, one over max_message.
	cl := dial(t, sock)
	cl.cmd("set", "api", "attempt", "192.0.2.1")
	cl.cmd("set", "api", "attempt", "192.0.2.2")
	cl.cmd("status", "nojail") // an error
	cl.cmd("frobnicate")       // not in the table
	cl.cmd("get", "api", "nosuchsetting")
	cl.send([]byte("not a pickle" + protocol.EndCommand))
	big, _ := protocol.AppendRequest(nil, 4, []any{"echo", strings.Repeat("x", 4096)})
	cl.send(big)
	// A second connection fills limits.max_conns: the third is refused.
	dial(t, sock).cmd("ping")
	if c := dial(t, sock); c != nil {
		req, _ := protocol.AppendRequest(nil, 4, []any{"ping"})
		c.c.Write(req)
		if msg, err := c.r.ReadMessage(); err != nil || !strings.Contains(string(msg), "too many connections") {
			t.Fatalf("third connection: %q, %v", msg, err)
		}
	}

	st := srv.Stats()
	type row struct {
		name       string
		class      protocol.Class
		count, err uint64
	}
	var got []row
	for _, c := range st.Commands {
		if c.Latency.Cumulative[len(c.Latency.Cumulative)-1] > c.Latency.Count {
			t.Errorf("%s: buckets over the count", c.Name)
		}
		got = append(got, row{c.Name, c.Class, c.Latency.Count, c.Errors})
	}
	want := []row{
		{"ping", protocol.ClassRead, 2, 0}, // nobody's first, and root's second connection's
		{"status <JAIL>", protocol.ClassRead, 1, 1},
		{"set <JAIL> attempt", protocol.ClassReport, 2, 0},
		{"unknown", protocol.ClassRead, 1, 1}, // get api nosuchsetting
		{"unknown", protocol.ClassAdmin, 1, 1},
	}
	if len(got) != len(want) {
		t.Fatalf("commands %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("commands[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	wantRefused := map[string]uint64{"access": 0, "rate": 2, "limits": 1, "connections": 1, "malformed": 1}
	for _, r := range st.Refusals {
		if r.Count != wantRefused[r.Reason.String()] {
			t.Errorf("refused for %s: %d, want %d", r.Reason, r.Count, wantRefused[r.Reason.String()])
		}
		delete(wantRefused, r.Reason.String())
	}
	if len(wantRefused) > 0 {
		t.Errorf("reasons missing: %v", wantRefused)
	}
	if st.Accepted != 4 {
		t.Errorf("accepted %d connections, want 4", st.Accepted)
	}
}
