package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/server"
	"github.com/banserver/banserver/testenv"
)

// needTool skips a test that needs a missing tool, except in CI, where a
// skipped check would pass by not checking.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Missingf(t, "%s not installed: %v", name, err)
	}
	return p
}

// debianPython returns Debian's python3, which can import the fail2ban
// package (fail2ban-client's exceptions) that the replies name.
func debianPython(t *testing.T) string {
	t.Helper()
	const py = "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import fail2ban.exceptions").Run(); err != nil {
		testenv.Missingf(t, "Debian's python3 with the fail2ban package is not installed: %v", err)
	}
	return py
}

type daemon struct {
	sock  string
	jails *jail.Manager
	queue *actions.Queue
	done  chan error
	stop  context.CancelFunc
}

// start runs a server on a fresh socket with the given jails.
func start(t *testing.T, o server.Options, jails ...jail.Config) *daemon {
	t.Helper()
	return startTB(t, o, jails...)
}

func startTB(t testing.TB, o server.Options, jails ...jail.Config) *daemon {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "ban.sock")
	reg := actions.NewRegistry(actions.Log{L: zap.NewNop()})
	q := actions.NewQueue(reg, zap.NewNop())
	m := jail.NewManager(jail.Options{
		SelfAddrs: func() []netip.Addr { return nil },
		OnEvent: func(ev jail.Event) {
			op := actions.OpBan
			if ev.Kind == jail.EventUnban {
				op = actions.OpUnban
			}
			q.Submit(actions.Job{Op: op, Actions: ev.Actions, Target: actions.Target{Jail: ev.Jail, Prefix: ev.Ban.Prefix}})
		},
	})
	for _, c := range jails {
		if err := m.Add(c); err != nil {
			t.Fatal(err)
		}
		if err := m.Start(c.Name); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := server.Listen(server.SocketOptions{Path: sock, Mode: 0o600, UID: -1, GID: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o.Jails, o.Actions, o.Queue = m, reg, q
	o.Stop = cancel
	srv := server.New(o)
	d := &daemon{sock: sock, jails: m, queue: q, done: make(chan error, 1), stop: cancel}
	go q.Run(ctx)
	go m.Run(ctx)
	go func() { d.done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			t.Error("server did not stop within 10s of cancellation")
		}
		server.Unlink(sock)
	})
	return d
}

func apiJail(maxRetry int) jail.Config {
	return jail.Config{Name: "api", MaxRetry: maxRetry, FindTime: 30 * time.Minute, BanTime: time.Hour, Actions: []string{"log"}}
}

// client is a minimal fail2ban protocol client.
type client struct {
	t *testing.T
	c net.Conn
	r *protocol.Reader
}

func dial(t *testing.T, sock string) *client {
	t.Helper()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, r: protocol.NewReader(c, 1<<20)}
}

func (cl *client) send(raw []byte) (int, any) {
	cl.t.Helper()
	if _, err := cl.c.Write(raw); err != nil {
		cl.t.Fatal(err)
	}
	msg, err := cl.r.ReadMessage()
	if err != nil {
		cl.t.Fatalf("read reply: %v", err)
	}
	code, v, err := protocol.DecodeReply(msg)
	if err != nil {
		cl.t.Fatalf("decode reply %q: %v", msg, err)
	}
	return code, v
}

func (cl *client) cmd(args ...any) (int, any) {
	cl.t.Helper()
	req, err := protocol.AppendRequest(nil, 4, args)
	if err != nil {
		cl.t.Fatal(err)
	}
	return cl.send(req)
}

func TestCommands(t *testing.T) {
	d := start(t, server.Options{}, apiJail(3))
	cl := dial(t, d.sock)
	tests := []struct {
		name     string
		args     []any
		wantCode int
		want     string // fmt %v of the reply value, or the exception's class and args
	}{
		{name: "ping", args: []any{"ping", 0.1}, want: "pong"},
		{name: "status", args: []any{"status"}, want: "[[Number of jail 1] [Jail list api]]"},
		{name: "attempt 1", args: []any{"set", "api", "attempt", "192.0.2.1", "Incorrect token used."}, want: "1"},
		{name: "attempt from loopback is not counted", args: []any{"set", "api", "attempt", "127.0.0.1"}, want: "0"},
		{name: "attempt mapped ipv6", args: []any{"set", "api", "attempt", "::ffff:192.0.2.1"}, want: "1"},
		{name: "attempt 3 bans", args: []any{"set", "api", "attempt", "192.0.2.1"}, want: "1"},
		{name: "banned", args: []any{"get", "api", "banned", "192.0.2.1"}, want: "1"},
		{name: "invalid address", args: []any{"set", "api", "attempt", "not-an-ip"}, wantCode: 1, want: `builtins.ValueError [jail: invalid address: "not-an-ip"]`},
		{name: "address with a newline", args: []any{"set", "api", "banip", "192.0.2.9\n"}, wantCode: 1, want: `builtins.ValueError [jail: invalid address: "192.0.2.9\n"]`},
		{name: "banip", args: []any{"set", "api", "banip", "198.51.100.1", "2001:db8::1"}, want: "2"},
		{name: "banip loopback refused", args: []any{"set", "api", "banip", "127.0.0.1"}, wantCode: 1, want: "builtins.ValueError"},
		{name: "unbanip absent is not an error", args: []any{"set", "api", "unbanip", "203.0.113.99"}, want: "0"},
		{name: "unbanip --report-absent", args: []any{"set", "api", "unbanip", "--report-absent", "203.0.113.99"}, wantCode: 1, want: "builtins.ValueError [not banned: ['203.0.113.99']]"},
		{name: "unknown jail", args: []any{"status", "nojail"}, wantCode: 1, want: "fail2ban.exceptions.UnknownJailException [nojail]"},
		{name: "duplicate jail", args: []any{"add", "api"}, wantCode: 1, want: "fail2ban.exceptions.DuplicateJailException [api]"},
		{name: "invalid command", args: []any{"foo"}, wantCode: 1, want: "builtins.Exception [Invalid command]"},
		{name: "empty command", args: []any{}, wantCode: 1, want: "builtins.IndexError [list index out of range]"},
		{name: "set bantime 1h30m", args: []any{"set", "api", "bantime", "1h30m"}, want: "5400"},
		{name: "set findtime -1", args: []any{"set", "api", "findtime", "-1"}, want: "-1"},
		{name: "set maxretry", args: []any{"set", "api", "maxretry", "10"}, want: "10"},
		{name: "addignoreip", args: []any{"set", "api", "addignoreip", "203.0.113.0/24", "192.0.2.77"}, want: "[203.0.113.0/24 192.0.2.77]"},
		{name: "attempt from ignored is not counted", args: []any{"set", "api", "attempt", "203.0.113.5"}, want: "0"},
		{name: "delignoreip", args: []any{"set", "api", "delignoreip", "203.0.113.0/24"}, want: "[192.0.2.77]"},
		{name: "addaction a shell command is refused", args: []any{"set", "api", "addaction", "/bin/sh"}, wantCode: 1, want: "builtins.ValueError"},
		{name: "get actions", args: []any{"get", "api", "actions"}, want: "[log]"},
		{name: "idle on", args: []any{"set", "api", "idle", "on"}, want: "true"},
		{name: "get idle", args: []any{"get", "api", "idle"}, want: "true"},
		{name: "idle bad", args: []any{"set", "api", "idle", "maybe"}, wantCode: 1, want: "builtins.Exception [Invalid idle option, must be 'on' or 'off']"},
		{name: "loglevel", args: []any{"set", "loglevel", "debug"}, want: "DEBUG"},
		{name: "echo", args: []any{"echo", "hello", "world"}, want: "[hello world]"},
		{name: "unban --all", args: []any{"unban", "--all"}, want: "3"},
		{name: "banip of an ignored address is refused", args: []any{"set", "api", "banip", "192.0.2.77"}, wantCode: 1, want: "builtins.ValueError [jail: invalid address: in the ignore list"},
		{name: "ipv6prefix", args: []any{"set", "api", "ipv6prefix", "64"}, want: "64"},
		{name: "banip bans the /64", args: []any{"set", "api", "banip", "2001:db8:1::5"}, want: "1"},
		{name: "another address of the /64 is banned", args: []any{"get", "api", "banned", "2001:db8:1::ffff"}, want: "1"},
		{name: "the list shows the prefix", args: []any{"get", "api", "banip"}, want: "[2001:db8:1::/64]"},
		{name: "ipv6prefix too short", args: []any{"set", "api", "ipv6prefix", "8"}, wantCode: 1, want: "builtins.ValueError"},
		{name: "unknown set", args: []any{"set", "api", "logpath", "/x"}, wantCode: 1, want: "builtins.Exception [Invalid command 'logpath' (no set action or not yet implemented)]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, v := cl.cmd(tt.args...)
			got := fmt.Sprintf("%v", v)
			if e, ok := v.(*protocol.Exception); ok {
				got = fmt.Sprintf("%s %v", e.Class, e.Args)
			}
			if code != tt.wantCode || !strings.HasPrefix(got, tt.want) {
				t.Errorf("%v -> (%d, %s), want (%d, %s...)", tt.args, code, got, tt.wantCode, tt.want)
			}
		})
	}
}

// TestPythonClients sends requests pickled by Python's own pickle in every
// protocol and loads the replies with pickle.loads.
func TestPythonClients(t *testing.T) {
	py := debianPython(t)
	d := start(t, server.Options{}, apiJail(10))
	script := `
import pickle, socket, sys
END = b"<F2B_END_COMMAND>"
sock = sys.argv[1]
cmds = [["ping"], ["set", "api", "attempt", "192.0.2.44", "Incorrect token used."], ["status"],
        ["status", "api"], ["get", "api", "banip", "--with-time"], ["nope"], ["status", "nojail"],
        ["banned"], ["get", "api", "maxretry"], ["echo", 1, 2.5, True, None, ["a", "b"]]]
for proto in (0, 1, 2, 3, 4, 5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sock)
    for c in cmds:
        s.sendall(pickle.dumps(c, proto) + END)
        buf = b""
        while not buf.endswith(END):
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit("connection closed")
            buf += chunk
        reply = pickle.loads(buf[:-len(END)])
        if isinstance(reply[1], BaseException):
            reply = (reply[0], type(reply[1]).__module__ + "." + type(reply[1]).__name__, reply[1].args)
        print(proto, repr(c), "->", repr(reply))
    s.sendall(b"<F2B_CLOSE_COMMAND>" + END)
    s.close()
`
	out, err := exec.Command(py, "-c", script, d.sock).CombinedOutput()
	if err != nil {
		t.Fatalf("python client: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 6*10 {
		t.Fatalf("got %d replies, want 60:\n%s", len(lines), out)
	}
	for proto := 0; proto <= 5; proto++ {
		want := []string{
			"['ping'] -> (0, 'pong')",
			"['set', 'api', 'attempt', '192.0.2.44', 'Incorrect token used.'] -> (0, 1)",
			"['status'] -> (0, [('Number of jail', 1), ('Jail list', 'api')])",
			fmt.Sprintf("['status', 'api'] -> (0, [('Filter', [('Currently failed', 1), ('Total failed', %d), ('File list', [])]), ('Actions', [('Currently banned', 0), ('Total banned', 0), ('Banned IP list', [])])])", proto+1),
			"['get', 'api', 'banip', '--with-time'] -> (0, [])",
			"['nope'] -> (1, 'builtins.Exception', ('Invalid command',))",
			"['status', 'nojail'] -> (1, 'fail2ban.exceptions.UnknownJailException', ('nojail',))",
			"['banned'] -> (0, [{'api': []}])",
			"['get', 'api', 'maxretry'] -> (0, 10)",
			"['echo', 1, 2.5, True, None, ['a', 'b']] -> (0, [1, 2.5, True, None, ['a', 'b']])",
		}
		for i, w := range want {
			got := lines[proto*10+i]
			if got != fmt.Sprintf("%d %s", proto, w) {
				t.Errorf("protocol %d:\n got %s\nwant %d %s", proto, got, proto, w)
			}
		}
	}
}

// TestConnectPerRequest is PHP-FPM's pattern: 64 workers each connect, send
// one attempt and close, 20,000 times in all. None may be refused and every
// attempt must be counted.
func TestConnectPerRequest(t *testing.T) {
	const workers, total = 64, 20000
	d := start(t, server.Options{}, apiJail(jail.MaxRetryLimit))
	var next, refused, failed atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 256)
			for {
				i := next.Add(1)
				if i > total {
					return
				}
				ip := fmt.Sprintf("2001:db8::%x", i)
				req, _ := protocol.AppendRequest(nil, 4, []any{"set", "api", "attempt", ip, "Incorrect token used."})
				c, err := net.Dial("unix", d.sock)
				if err != nil {
					refused.Add(1)
					firstErr.CompareAndSwap(nil, err)
					continue
				}
				if _, err := c.Write(append(req, protocol.CloseCommand+protocol.EndCommand...)); err != nil {
					failed.Add(1)
					c.Close()
					continue
				}
				r := protocol.NewReader(c, 1<<16)
				msg, err := r.ReadMessage()
				if err == nil {
					var code int
					var v any
					code, v, err = protocol.DecodeReply(msg)
					if err == nil && (code != 0 || v != int64(1)) {
						err = fmt.Errorf("reply (%d, %v)", code, v)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
				_, _ = c.Read(buf) // the server closes after the close command
				c.Close()
			}
		}()
	}
	wg.Wait()
	if refused.Load() != 0 || failed.Load() != 0 {
		t.Fatalf("refused %d, failed %d of %d (first error: %v)", refused.Load(), failed.Load(), total, firstErr.Load())
	}
	st, err := d.jails.Status("api")
	if err != nil {
		t.Fatal(err)
	}
	if st.TotalFailed != total {
		t.Fatalf("counted %d attempts, want %d", st.TotalFailed, total)
	}
}

// TestHostileMessages sends each message on its own connection and checks
// that it gets fail2ban's load-error reply and that the daemon still answers.
func TestHostileMessages(t *testing.T) {
	d := start(t, server.Options{MaxMessage: 1 << 20}, apiJail(10))
	tests := []struct {
		name string
		msg  []byte
	}{
		{name: "empty", msg: nil},
		{name: "http", msg: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")},
		{name: "opcode 0xff", msg: []byte{0x80, 0x04, 0xff}},
		{name: "BINUNICODE8 of 2^40", msg: []byte{0x80, 0x04, 0x8d, 0, 0, 0, 0, 0, 1, 0, 0, 'x', '.'}},
		{name: "FRAME of 2^40", msg: []byte{0x80, 0x04, 0x95, 0, 0, 0, 0, 0, 1, 0, 0, ']', '.'}},
		{name: "BINUNICODE of 4GiB", msg: []byte{0x80, 0x02, 'X', 0xff, 0xff, 0xff, 0xff, 'x', '.'}},
		{name: "os.system via REDUCE", msg: []byte("cos\nsystem\n(S'touch /tmp/banserver-pwned'\ntR.")},
		{name: "int where a list belongs", msg: []byte{0x80, 0x02, 'K', 0x05, '.'}},
		{name: "dict where a list belongs", msg: []byte{0x80, 0x02, '}', '.'}},
		{name: "memo get of a missing key", msg: []byte{0x80, 0x02, 'h', 0x07, '.'}},
		{name: "truncated", msg: []byte{0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0, ']'}},
		{name: "deep nesting", msg: append(append([]byte{0x80, 0x02}, bytes.Repeat([]byte{']'}, 200000)...), '.')},
		{name: "many marks", msg: append(append([]byte{0x80, 0x02}, bytes.Repeat([]byte{'('}, 500000)...), '.')},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := dial(t, d.sock)
			code, v := cl.send(append(bytes.Clone(tt.msg), protocol.EndCommand...))
			s, isStr := v.(string)
			if code != -1 || !isStr || !strings.HasPrefix(s, "ERROR: ") {
				t.Errorf("reply (%d, %#v), want (-1, \"ERROR: ...\")", code, v)
			}
			// The same connection and another one still work.
			if code, v := cl.cmd("ping"); code != 0 || v != "pong" {
				t.Errorf("ping on the same connection: (%d, %v)", code, v)
			}
			if code, v := dial(t, d.sock).cmd("ping"); code != 0 || v != "pong" {
				t.Errorf("ping on a new connection: (%d, %v)", code, v)
			}
		})
	}
	if _, err := os.Stat("/tmp/banserver-pwned"); err == nil {
		t.Fatal("a pickle ran code: /tmp/banserver-pwned exists")
	}
}

// TestTooLarge: a message over the cap gets an error and the connection
// carries on.
func TestTooLarge(t *testing.T) {
	d := start(t, server.Options{MaxMessage: 1024}, apiJail(10))
	cl := dial(t, d.sock)
	big, _ := protocol.AppendRequest(nil, 4, []any{"echo", strings.Repeat("x", 4096)})
	code, v := cl.send(big)
	e, ok := v.(*protocol.Exception)
	if code != 1 || !ok || e.Class != "builtins.ValueError" {
		t.Fatalf("reply to an oversized message: (%d, %#v)", code, v)
	}
	if code, v := cl.cmd("ping"); code != 0 || v != "pong" {
		t.Fatalf("ping after an oversized message: (%d, %v)", code, v)
	}
}

func TestIdleTimeout(t *testing.T) {
	d := start(t, server.Options{IdleTimeout: 50 * time.Millisecond}, apiJail(10))
	c, err := net.Dial("unix", d.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Half a message, then silence: the daemon must let go of the connection.
	c.Write([]byte("\x80\x04\x95"))
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err = c.Read(make([]byte, 16))
	if !errors.Is(err, io.EOF) {
		t.Fatalf("read from an idle connection: %v, want EOF (closed by the daemon)", err)
	}
}

func TestStopCommand(t *testing.T) {
	d := start(t, server.Options{}, apiJail(10))
	if code, v := dial(t, d.sock).cmd("stop"); code != 0 || v != nil {
		t.Fatalf("stop: (%d, %v)", code, v)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("Serve after stop: %v", err)
		}
		d.done <- nil // for the cleanup
	case <-time.After(10 * time.Second):
		t.Fatal("daemon still serving 10s after stop")
	}
}

func TestListen(t *testing.T) {
	d := start(t, server.Options{}, apiJail(10))
	if _, err := server.Listen(server.SocketOptions{Path: d.sock, Mode: 0o600, UID: -1, GID: -1}); !errors.Is(err, server.ErrInUse) {
		t.Fatalf("second Listen on a live socket: %v, want ErrInUse", err)
	}
	// A stale socket file (nobody listening) is replaced.
	stale := filepath.Join(t.TempDir(), "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	ln2, err := server.Listen(server.SocketOptions{Path: stale, Mode: 0o660, UID: -1, GID: -1})
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	defer ln2.Close()
	fi, err := os.Stat(stale)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o660 {
		t.Errorf("socket mode %v, want 0660", fi.Mode().Perm())
	}
	// A regular file at the path is not ours to delete.
	reg := filepath.Join(t.TempDir(), "file")
	os.WriteFile(reg, []byte("x"), 0o600)
	if _, err := server.Listen(server.SocketOptions{Path: reg, Mode: 0o600, UID: -1, GID: -1}); err == nil {
		t.Fatal("Listen replaced a regular file")
	}
}
