package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/banserver/banserver/version"
)

func TestParseArgs(t *testing.T) {
	def := options{output: "text", verbose: 1, timeout: defaultTimeout}
	with := func(f func(o *options)) options { o := def; f(&o); return o }
	tests := []struct {
		name    string
		argv    []string
		want    options
		words   []string
		wantErr bool
	}{
		{name: "no args", argv: nil, want: def, words: []string{}},
		{name: "words only", argv: []string{"status", "api"}, want: def, words: []string{"status", "api"}},
		{name: "socket separate", argv: []string{"-s", "/x.sock", "ping"}, want: with(func(o *options) { o.socket = "/x.sock" }), words: []string{"ping"}},
		{name: "socket attached", argv: []string{"-s/x.sock", "ping"}, want: with(func(o *options) { o.socket = "/x.sock" }), words: []string{"ping"}},
		{name: "socket long =", argv: []string{"--socket=/x.sock", "ping"}, want: with(func(o *options) { o.socket = "/x.sock" }), words: []string{"ping"}},
		{name: "config long", argv: []string{"--config", "/c.yaml", "ping"}, want: with(func(o *options) { o.config = "/c.yaml" }), words: []string{"ping"}},
		{name: "config short", argv: []string{"-c", "/c.yaml", "ping"}, want: with(func(o *options) { o.config = "/c.yaml" }), words: []string{"ping"}},
		{name: "json", argv: []string{"-o", "json", "banned"}, want: with(func(o *options) { o.output = "json" }), words: []string{"banned"}},
		{name: "bad output", argv: []string{"-o", "yaml", "banned"}, wantErr: true},
		{name: "verbosity cluster", argv: []string{"-vvq", "ping"}, want: with(func(o *options) { o.verbose = 2 }), words: []string{"ping"}},
		{name: "cluster with value", argv: []string{"-qs", "/x.sock", "ping"}, want: with(func(o *options) { o.verbose = 0; o.socket = "/x.sock" }), words: []string{"ping"}},
		{name: "timeout", argv: []string{"--timeout", "2.5", "ping"}, want: with(func(o *options) { o.timeout = 2500 * time.Millisecond }), words: []string{"ping"}},
		{name: "timeout zero", argv: []string{"--timeout=0", "ping"}, want: with(func(o *options) { o.timeout = 0 }), words: []string{"ping"}},
		{name: "timeout bad", argv: []string{"--timeout", "soon", "ping"}, wantErr: true},
		{name: "timeout negative", argv: []string{"--timeout", "-1", "ping"}, wantErr: true},
		{name: "help", argv: []string{"-h"}, want: with(func(o *options) { o.help = true }), words: []string{}},
		{name: "help long", argv: []string{"--help"}, want: with(func(o *options) { o.help = true }), words: []string{}},
		{name: "version short", argv: []string{"-V"}, want: with(func(o *options) { o.versionShort = true }), words: []string{}},
		{name: "version long", argv: []string{"--version"}, want: with(func(o *options) { o.version = true }), words: []string{}},
		{name: "options stop at the first word", argv: []string{"unban", "--all"}, want: def, words: []string{"unban", "--all"}},
		{name: "double dash", argv: []string{"--", "-weird"}, want: def, words: []string{"-weird"}},
		{name: "separator word kept", argv: []string{"get", "api", "banip", ", "}, want: def, words: []string{"get", "api", "banip", ", "}},
		{name: "missing value", argv: []string{"-s"}, wantErr: true},
		{name: "missing long value", argv: []string{"--socket"}, wantErr: true},
		{name: "unknown short", argv: []string{"-Z", "ping"}, wantErr: true},
		{name: "unknown long", argv: []string{"--pidfile", "x", "ping"}, wantErr: true},
		{name: "interactive refused", argv: []string{"-i"}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, words, err := parseArgs(tc.argv)
			if tc.wantErr {
				if !errors.Is(err, errUsage) {
					t.Fatalf("parseArgs(%q) error = %v, want errUsage", tc.argv, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseArgs(%q): %v", tc.argv, err)
			}
			if got != tc.want {
				t.Errorf("parseArgs(%q) options = %+v, want %+v", tc.argv, got, tc.want)
			}
			if !reflect.DeepEqual(words, tc.words) && !(len(words) == 0 && len(tc.words) == 0) {
				t.Errorf("parseArgs(%q) words = %q, want %q", tc.argv, words, tc.words)
			}
		})
	}
}

// peerScript is a one-shot fail2ban-like server written with Python's own
// socket and pickle: it prints the request it received (repr of the
// unpickled list) and answers with the Python expression in argv[2]; a
// bytes value is sent raw, "CLOSE" hangs up without answering.
const peerScript = `
import pickle, socket, sys
from fail2ban.exceptions import UnknownJailException, DuplicateJailException
path, expr = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
buf = b""
while b"<F2B_END_COMMAND>" not in buf:
    d = c.recv(4096)
    if not d:
        break
    buf += d
print(repr(pickle.loads(buf[:buf.index(b"<F2B_END_COMMAND>")])), flush=True)
if expr == "CLOSE":
    c.close()
    sys.exit(0)
reply = eval(expr)
c.sendall((reply if isinstance(reply, bytes) else pickle.dumps(reply, pickle.HIGHEST_PROTOCOL)) + b"<F2B_END_COMMAND>")
rest = b""
try:
    while True:
        d = c.recv(4096)
        if not d:
            break
        rest += d
except OSError:
    pass
print(repr(rest), flush=True)
`

// peer starts peerScript on a fresh socket and returns the socket path and
// a function that returns what the peer printed after the client is done.
func peer(t *testing.T, reply string) (string, func() []string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "peer.sock")
	cmd := exec.Command(fail2banPython, "-c", peerScript, sock, reply)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "ready" {
		t.Fatalf("peer did not start: %s", stderr.String())
	}
	return sock, func() []string {
		var lines []string
		for sc.Scan() {
			lines = append(lines, sc.Text())
		}
		cmd.Wait()
		return lines
	}
}

func TestRunAgainstPythonPeer(t *testing.T) {
	requireFail2banPython(t)
	tests := []struct {
		name    string
		opts    []string
		words   []string
		reply   string // Python expression
		wantOut string
		// wantErr is stderr exactly; with -v, whose lines carry a time
		// and a pid, wantErrSub lists substrings instead.
		wantErr    string
		wantErrSub []string
		wantCode   int
		wantReq    string // repr of what the server received
	}{
		{name: "ping", words: []string{"ping"}, reply: `(0, 'pong')`,
			wantOut: "Server replied: pong\n", wantReq: "['ping']"},
		{name: "ping timeout sent as a string", words: []string{"ping", "2"}, reply: `(0, 'pong')`,
			wantOut: "Server replied: pong\n", wantReq: "['ping', '2']"},
		{name: "words unchanged", words: []string{"get", "api", "banip", ", "}, reply: `(0, ['192.0.2.1', '198.51.100.1'])`,
			wantOut: "192.0.2.1, 198.51.100.1\n", wantReq: "['get', 'api', 'banip', ', ']"},
		{name: "unknown jail", words: []string{"status", "nojail"}, reply: `(1, UnknownJailException('nojail'))`,
			wantErr: "banctl: the jail 'nojail' does not exist\n", wantCode: exitFail, wantReq: "['status', 'nojail']"},
		{name: "duplicate jail", words: []string{"add", "api"}, reply: `(1, DuplicateJailException('api'))`,
			wantErr: "banctl: the jail 'api' already exists\n", wantCode: exitFail, wantReq: "['add', 'api']"},
		{name: "invalid command", words: []string{"foo"}, reply: `(1, Exception('Invalid command'))`,
			wantErr: "banctl: Invalid command (see 'banctl help')\n", wantCode: exitFail, wantReq: "['foo']"},
		{name: "invalid command quiet", opts: []string{"-q"}, words: []string{"foo"}, reply: `(1, Exception('Invalid command'))`,
			wantErr: "banctl: Invalid command (see 'banctl help')\n", wantCode: exitFail, wantReq: "['foo']"},
		{name: "invalid command with reason", words: []string{"get", "api", "idle"},
			reply:   `(1, Exception('Invalid command (no get action or not yet implemented)'))`,
			wantErr: "banctl: Invalid command (no get action or not yet implemented); see 'banctl help'\n", wantCode: exitFail,
			wantReq: "['get', 'api', 'idle']"},
		{name: "help not known to the server", words: []string{"help"}, reply: `(1, Exception('Invalid command'))`,
			wantErr: "banctl: Invalid command (see 'banctl --help')\n", wantCode: exitFail, wantReq: "['help']"},
		{name: "permission error", words: []string{"set", "api", "banip", "192.0.2.1"},
			reply:   `(1, PermissionError("permission denied: uid 1000 (php) may not use ban commands on jail 'api' (set)"))`,
			wantErr: "banctl: permission denied: uid 1000 (php) may not use ban commands on jail 'api' (set)\n", wantCode: exitFail,
			wantReq: "['set', 'api', 'banip', '192.0.2.1']"},
		{name: "value error", words: []string{"set", "api", "unbanip", "--report-absent", "203.0.113.99"},
			reply:   `(1, ValueError("not banned: ['203.0.113.99']"))`,
			wantErr: "banctl: not banned: ['203.0.113.99']\n", wantCode: exitFail,
			wantReq: "['set', 'api', 'unbanip', '--report-absent', '203.0.113.99']"},
		{name: "unexpected exception class", words: []string{"add", "api"}, reply: `(1, NameError("name 'noduplicates' is not defined"))`,
			wantErr: "banctl: NameError: name 'noduplicates' is not defined\n", wantCode: exitFail, wantReq: "['add', 'api']"},
		{name: "verbose adds fail2ban's log line", opts: []string{"-v"}, words: []string{"status", "nojail"},
			reply: `(1, UnknownJailException('nojail'))`, wantCode: exitFail, wantReq: "['status', 'nojail']",
			wantErrSub: []string{"INFO    Using socket file ", "ERROR   NOK: ('nojail',)\n", "\nbanctl: the jail 'nojail' does not exist\n"}},
		{name: "help one line each", words: []string{"help"}, reply: `(0, ['ping    tests if the server is alive', 'version    the version'])`,
			wantOut: "ping    tests if the server is alive\nversion    the version\n", wantReq: "['help']"},
		{name: "reload", words: []string{"reload"}, reply: `(0, 'OK')`, wantOut: "OK\n", wantReq: "['reload']"},
		{name: "reload jail", words: []string{"reload", "api"}, reply: `(0, 'OK')`, wantOut: "OK\n", wantReq: "['reload', 'api']"},
		{name: "json", opts: []string{"-o", "json"}, words: []string{"banned"}, reply: `(0, [{'api': ['192.0.2.1']}, {'ssh': []}])`,
			wantOut: `{"api":["192.0.2.1"],"ssh":[]}` + "\n", wantReq: "['banned']"},
		{name: "json status", opts: []string{"-o", "json"}, words: []string{"status"}, reply: `(0, [('Number of jail', 2), ('Jail list', 'api, ssh')])`,
			wantOut: `{"jails":["api","ssh"],"count":2}` + "\n", wantReq: "['status']"},
		{name: "json error", opts: []string{"-o", "json"}, words: []string{"status", "x"}, reply: `(1, UnknownJailException('x'))`,
			wantOut:  `{"error":{"type":"UnknownJailException","message":"the jail 'x' does not exist","args":["x"]}}` + "\n",
			wantCode: exitFail, wantReq: "['status', 'x']"},
		{name: "bare error string", words: []string{"ping"}, reply: `'ERROR: could not load'`,
			wantErr: "banctl: the server could not read the command: could not load\n", wantCode: exitFail, wantReq: "['ping']"},
		{name: "beautifier fallback", words: []string{"ping"}, reply: `(0, 1)`,
			wantOut: "11\n", wantErr: "banctl: warning: the reply to 'ping' has an unexpected shape; printed as received\n", wantReq: "['ping']"},
		{name: "hang up", words: []string{"status"}, reply: `CLOSE`,
			wantErr:  "banctl: the server at SOCK closed the connection without answering (see its log: journalctl -u banserver)\n",
			wantCode: exitFail, wantReq: "['status']"},
		{name: "very verbose shows the command and reply", opts: []string{"-vv"}, words: []string{"ping"}, reply: `(0, 'pong')`,
			wantOut: "Server replied: pong\n", wantErrSub: []string{"DEBUG   CMD: ['ping']\n", "DEBUG   OK : 'pong'\n"}, wantReq: "['ping']"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sock, done := peer(t, tc.reply)
			var stdout, stderr bytes.Buffer
			argv := append(append([]string{"-s", sock}, tc.opts...), tc.words...)
			code := run(argv, &stdout, &stderr)
			lines := done()
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, stderr.String())
			}
			if stdout.String() != tc.wantOut {
				t.Errorf("stdout %q, want %q", stdout.String(), tc.wantOut)
			}
			gotErr := strings.ReplaceAll(stderr.String(), sock, "SOCK")
			if tc.wantErrSub == nil && gotErr != tc.wantErr {
				t.Errorf("stderr %q, want %q", gotErr, tc.wantErr)
			}
			for _, sub := range tc.wantErrSub {
				if !strings.Contains(gotErr, sub) {
					t.Errorf("stderr %q, want it to contain %q", gotErr, sub)
				}
			}
			if len(lines) == 0 || lines[0] != tc.wantReq {
				t.Errorf("server received %q, want %s", lines, tc.wantReq)
			}
			// After a reply the client says goodbye, as fail2ban's CSocket does.
			if tc.reply != "CLOSE" && (len(lines) < 2 || lines[1] != `b'<F2B_CLOSE_COMMAND><F2B_END_COMMAND>'`) {
				t.Errorf("after the reply the server got %q, want the close command", lines[1:])
			}
		})
	}
}

// TestRunErrors checks banctl's own error lines: one line on stderr
// (DIR stands for the test's directory), or a JSON error object on stdout.
func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	notSock := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(notSock, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "banserver.yaml")
	missing := filepath.Join(dir, "from-config.sock")
	if err := os.WriteFile(cfg, []byte("socket:\n  path: "+missing+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A socket file nobody listens on any more, as a crashed server leaves.
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	ln.SetUnlinkOnClose(false)
	ln.Close()
	// A server that accepts and never answers.
	silent := filepath.Join(dir, "silent.sock")
	listen(t, silent, func(c net.Conn) { io.Copy(io.Discard, c) })

	const start = "(is banserver running? start it with 'systemctl start banserver', or give the socket with -s PATH)"
	tests := []struct {
		name     string
		argv     []string
		wantOut  string // a prefix of stdout
		wantErr  string // stderr, exactly
		wantCode int
	}{
		{name: "no socket", argv: []string{"-s", filepath.Join(dir, "none.sock"), "status"},
			wantErr: "banctl: cannot connect to DIR/none.sock: no such file " + start + "\n", wantCode: exitFail},
		{name: "no directory", argv: []string{"-s", filepath.Join(notSock, "x.sock"), "status"},
			wantErr: "banctl: cannot connect to DIR/plain-file/x.sock: no such file " + start + "\n", wantCode: exitFail},
		{name: "socket from config", argv: []string{"-c", cfg, "status"},
			wantErr: "banctl: cannot connect to DIR/from-config.sock: no such file " + start + "\n", wantCode: exitFail},
		{name: "-s beats config, not a socket", argv: []string{"-c", cfg, "-s", notSock, "status"},
			wantErr: "banctl: cannot connect to DIR/plain-file: not a socket (give banserver's socket with -s PATH)\n", wantCode: exitFail},
		{name: "stale socket", argv: []string{"-s", stale, "ping"},
			wantErr: "banctl: cannot connect to DIR/stale.sock: connection refused, nothing is listening " + start + "\n", wantCode: exitFail},
		{name: "timeout", argv: []string{"-s", silent, "--timeout", "0.2", "status"},
			wantErr: "banctl: the server at DIR/silent.sock did not answer within 0.2 s (is it overloaded? wait longer with --timeout SECONDS)\n", wantCode: exitFail},
		{name: "ping timeout", argv: []string{"-s", silent, "ping", "0.1"},
			wantErr: "banctl: the server at DIR/silent.sock did not answer within 0.1 s (is it overloaded? give ping more seconds)\n", wantCode: exitFail},
		{name: "json error on stdout", argv: []string{"-o", "json", "-s", filepath.Join(dir, "none.sock"), "status"},
			wantOut: `{"error":{"type":"FileNotFoundError","message":"cannot connect to DIR/none.sock: no such file ` + start + `"}}` + "\n", wantCode: exitFail},
		{name: "quiet still says it", argv: []string{"-q", "-s", filepath.Join(dir, "none.sock"), "status"},
			wantErr: "banctl: cannot connect to DIR/none.sock: no such file " + start + "\n", wantCode: exitFail},
		{name: "verbose adds the socket", argv: []string{"-vv", "-s", stale, "status"},
			wantErr: "banctl: cannot connect to DIR/stale.sock: connection refused, nothing is listening " + start + "\n", wantCode: exitFail},
		{name: "bad config", argv: []string{"-c", filepath.Join(dir, "none.yaml"), "status"},
			wantErr: "banctl: reading the socket path from the config: ", wantCode: exitFail},
		{name: "ping timeout not a number", argv: []string{"-s", notSock, "ping", "soon"},
			wantErr: "banctl: ping: 'soon' is not a number of seconds to wait\n", wantCode: exitFail},
		{name: "start refused", argv: []string{"start"},
			wantErr: "banctl: command not supported: 'start' starts a server; banserver is started by its service manager: systemctl start banserver\n", wantCode: exitFail},
		{name: "restart refused", argv: []string{"restart", "api"},
			wantErr: "banctl: command not supported: 'restart' restarts a server; use 'systemctl restart banserver', or 'banctl reload' to reread its config\n", wantCode: exitFail},
		{name: "reload is sent", argv: []string{"-s", filepath.Join(dir, "none.sock"), "reload"},
			wantErr: "banctl: cannot connect to DIR/none.sock: no such file " + start + "\n", wantCode: exitFail},
		{name: "usage without command", argv: nil, wantOut: "Usage: banctl", wantCode: exitFail},
		{name: "help", argv: []string{"-h"}, wantOut: "Usage: banctl", wantCode: exitOK},
		{name: "version", argv: []string{"--version"}, wantOut: "banctl " + version.Version + "\n", wantCode: exitOK},
		{name: "short version", argv: []string{"-V"}, wantOut: version.Version + "\n", wantCode: exitOK},
		{name: "bad option", argv: []string{"-Z"}, wantErr: "banctl: bad usage: unknown option -Z (see 'banctl --help')\n", wantCode: exitFail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.argv, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, stderr.String())
			}
			gotOut := strings.ReplaceAll(stdout.String(), dir, "DIR")
			if !strings.HasPrefix(gotOut, tc.wantOut) || (tc.wantOut == "" && gotOut != "") {
				t.Errorf("stdout %q, want it to start with %q", gotOut, tc.wantOut)
			}
			gotErr := strings.ReplaceAll(stderr.String(), dir, "DIR")
			if strings.HasPrefix(tc.name, "verbose") {
				// The log lines come first; the error is the last line.
				if !strings.Contains(gotErr, "INFO    Using socket file DIR/stale.sock\n") {
					t.Errorf("stderr %q lacks the INFO line", gotErr)
				}
				gotErr = gotErr[strings.LastIndex(strings.TrimSuffix(gotErr, "\n"), "\n")+1:]
			}
			if !strings.HasPrefix(gotErr, tc.wantErr) || (tc.wantErr == "" && gotErr != "") ||
				(strings.HasSuffix(tc.wantErr, "\n") && gotErr != tc.wantErr) {
				t.Errorf("stderr %q\nwant      %q", gotErr, tc.wantErr)
			}
			if strings.Count(gotErr, "\n") > 1 {
				t.Errorf("stderr has more than one line: %q", gotErr)
			}
		})
	}
}

// listen serves a Unix socket at path with handle, one goroutine per
// connection, until the test ends.
func listen(t *testing.T, path string, handle func(net.Conn)) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
}

// TestUsage keeps --help honest about what changed: reload is a command,
// the JSON shapes are there, and fail2ban's local-only commands are named
// as not here.
func TestUsage(t *testing.T) {
	var b bytes.Buffer
	usage(&b)
	text := b.String()
	tests := []struct {
		name, want string
	}{
		{name: "reload", want: "\n  reload [JAIL] "},
		{name: "help command", want: "\n  help "},
		{name: "json status", want: `{"jails": [...], "count": N}`},
		{name: "json error", want: `{"error": {"type": "UnknownJailException",`},
		{name: "json doc", want: "cmd/banctl/JSON.md"},
		{name: "not here", want: `Not here: fail2ban-client's "start" (of the server) and "restart"`},
		{name: "exit status", want: "Exit status: 0 on success; 255"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(text, tc.want) {
				t.Errorf("--help lacks %q", tc.want)
			}
		})
	}
	for i, l := range strings.Split(text, "\n") {
		if utf8.RuneCountInString(l) > 80 {
			t.Errorf("--help line %d is %d columns: %q", i+1, len(l), l)
		}
	}
}

func nan() float64         { return math.NaN() }
func inf(sign int) float64 { return math.Inf(sign) }
