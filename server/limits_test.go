package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/server"
)

// pyClient is a fail2ban protocol client in Python run as nobody: "cmds"
// sends each command of a JSON list on one connection; "conns K" opens K
// connections first, then pings on each. It prints one reply per line.
const pyClient = `
import json, pickle, socket, sys
END = b"<F2B_END_COMMAND>"
def ask(s, cmd):
    s.sendall(pickle.dumps(cmd, 4) + END)
    buf = b""
    while not buf.endswith(END):
        d = s.recv(65536)
        if not d:
            return "EOF"
        buf += d
    return pickle.loads(buf[:-len(END)])
def dial():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    return s
if sys.argv[2] == "cmds":
    s = dial()
    for c in json.loads(sys.argv[3]):
        print(repr(ask(s, c)))
else:
    socks = [dial() for _ in range(int(sys.argv[3]))]
    for s in socks:
        print(repr(ask(s, ["ping"])))
`

// pingFresh shows the daemon carries on: a new connection gets pong.
func pingFresh(t *testing.T, sock string) {
	t.Helper()
	if code, v := dial(t, sock).cmd("ping"); code != 0 || v != "pong" {
		t.Fatalf("ping on a fresh connection: (%d, %v)", code, v)
	}
}

func TestLimits(t *testing.T) {
	needRoot(t)
	py := debianPython(t)
	ban := []server.Rule{{UID: nobody, GID: -1, Classes: []protocol.Class{protocol.ClassBan, protocol.ClassReport, protocol.ClassRead}, Jails: []string{"*"}}}
	addrs := func(n int) []any {
		out := []any{}
		for i := 0; i < n; i++ {
			out = append(out, "192.0.2."+string(rune('1'+i)))
		}
		return out
	}
	tests := []struct {
		name   string
		limits server.Limits
		idle   time.Duration
		run    func(t *testing.T, sock string)
		// selfPinged: run ends with its own fresh ping (a connection
		// limit makes a plain one race with the daemon seeing closes).
		selfPinged bool
	}{
		{name: "rate per uid", limits: server.Limits{RatePerUID: 0.001, RateBurst: 3}, run: func(t *testing.T, sock string) {
			cmds, _ := json.Marshal([][]string{{"ping"}, {"ping"}, {"ping"}, {"ping"}, {"ping"}})
			out, err := asNobody(t, py, "-c", pyClient, sock, "cmds", string(cmds))
			if err != nil {
				t.Fatalf("python: %v\n%s", err, out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 5 || strings.Count(out, "(0, 'pong')") != 3 || strings.Count(out, "over limits.rate_per_uid") != 2 {
				t.Fatalf("5 pings at a burst of 3:\n%s", out)
			}
			// Root is exempt.
			cl := dial(t, sock)
			for i := 0; i < 10; i++ {
				if code, _ := cl.cmd("ping"); code != 0 {
					t.Fatal("root was rate limited")
				}
			}
		}},
		{name: "connections per uid", limits: server.Limits{MaxConnsPerUID: 2}, run: func(t *testing.T, sock string) {
			out, err := asNobody(t, py, "-c", pyClient, sock, "conns", "3")
			if err != nil {
				t.Fatalf("python: %v\n%s", err, out)
			}
			if strings.Count(out, "(0, 'pong')") != 2 || strings.Count(out, "'ERROR: too many connections'") != 1 {
				t.Fatalf("3 connections at a limit of 2:\n%s", out)
			}
		}},
		{name: "connections in all", limits: server.Limits{MaxConns: 2}, run: func(t *testing.T, sock string) {
			a, b := dial(t, sock), dial(t, sock)
			a.cmd("ping") // both admitted before the third dials
			b.cmd("ping")
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			req, _ := protocol.AppendRequest(nil, 4, []any{"ping"})
			c.Write(req)
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			got, _ := io.ReadAll(c)
			if !bytes.Contains(got, []byte("ERROR: too many connections")) {
				t.Fatalf("third connection at a limit of 2 got %q", got)
			}
			a.c.Close()
			// The slot frees once the daemon sees the close: retry until
			// then. This is the fresh ping that shows the daemon carries on.
			deadline := time.Now().Add(30 * time.Second)
			for {
				c, err := net.Dial("unix", sock)
				if err != nil {
					t.Fatal(err)
				}
				c.Write(req)
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				msg, err := protocol.NewReader(c, 1<<16).ReadMessage()
				c.Close()
				if err == nil && bytes.Contains(msg, []byte("pong")) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("no connection admitted after one closed: %q %v", msg, err)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}, selfPinged: true},
		{name: "addresses per command", limits: server.Limits{MaxAddresses: 3}, run: func(t *testing.T, sock string) {
			cl := dial(t, sock)
			for _, args := range [][]any{
				append([]any{"set", "api", "banip"}, addrs(4)...),
				append([]any{"set", "api", "unbanip"}, addrs(4)...),
				append([]any{"unban"}, addrs(4)...),
				append([]any{"banned"}, addrs(4)...),
			} {
				code, v := cl.cmd(args...)
				e, ok := v.(*protocol.Exception)
				if code != 1 || !ok || e.Class != "builtins.ValueError" || !strings.Contains(e.Args[0].(string), "max_addresses") {
					t.Fatalf("%v: (%d, %v)", args[:3], code, v)
				}
			}
			if code, v := cl.cmd(append([]any{"set", "api", "banip"}, addrs(3)...)...); code != 0 || v != int64(3) {
				t.Fatalf("banip of 3 at a limit of 3: (%d, %v)", code, v)
			}
		}},
		{name: "read timeout", limits: server.Limits{ReadTimeout: 100 * time.Millisecond}, idle: time.Hour, run: func(t *testing.T, sock string) {
			silent := dial(t, sock)
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("\x80\x04\x95")) // half a message, then silence
			c.SetReadDeadline(time.Now().Add(30 * time.Second))
			if _, err := c.Read(make([]byte, 16)); !errors.Is(err, io.EOF) {
				t.Fatalf("read after half a message: %v, want EOF (closed by the daemon)", err)
			}
			// A connection silent between messages is the idle timeout's,
			// not the read timeout's: it is still served.
			if code, v := silent.cmd("ping"); code != 0 || v != "pong" {
				t.Fatalf("ping on a connection silent for longer than the read timeout: (%d, %v)", code, v)
			}
		}},
		{name: "jails", limits: server.Limits{MaxJails: 2}, run: func(t *testing.T, sock string) {
			cl := dial(t, sock)
			if code, v := cl.cmd("add", "second"); code != 0 {
				t.Fatalf("add under the limit: (%d, %v)", code, v)
			}
			code, v := cl.cmd("add", "third")
			if e, ok := v.(*protocol.Exception); code != 1 || !ok || !strings.Contains(e.Args[0].(string), "max_jails") {
				t.Fatalf("add over the limit: (%d, %v)", code, v)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sock, _ := openDaemon(t, server.Options{Access: ban, Limits: tt.limits, IdleTimeout: tt.idle}, apiJail(100))
			tt.run(t, sock)
			if !tt.selfPinged {
				pingFresh(t, sock)
			}
		})
	}
}
