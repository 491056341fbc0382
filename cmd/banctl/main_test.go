package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/protocol"
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

func TestReplyJSON(t *testing.T) {
	tests := []struct {
		name string
		code int
		v    any
		want string
	}{
		{name: "pong", code: 0, v: "pong", want: `{"code":0,"result":"pong"}`},
		{name: "escapes", code: 0, v: "a<b>&\"\\\n\x01\u00e9\xff", want: `{"code":0,"result":"a<b>&\"\\\n\u0001é\ufffd"}`},
		{name: "none", code: 0, v: nil, want: `{"code":0,"result":null}`},
		{name: "scalars", code: 0, v: []any{true, int64(-3), 1.5, []byte("b\xff")}, want: `{"code":0,"result":[true,-3,1.5,"b\ufffd"]}`},
		{name: "status tuples", code: 0,
			v:    []any{protocol.Tuple{"Number of jail", int64(1)}, protocol.Tuple{"Jail list", "api"}},
			want: `{"code":0,"result":[["Number of jail",1],["Jail list","api"]]}`},
		{name: "dict in order", code: 0,
			v:    []any{protocol.Dict{{Key: "z", Value: []any{"192.0.2.1"}}, {Key: "a", Value: []any{}}}},
			want: `{"code":0,"result":[{"z":["192.0.2.1"],"a":[]}]}`},
		{name: "dict with int keys", code: 0,
			v:    protocol.Dict{{Key: int64(1), Value: "a"}},
			want: `{"code":0,"result":[[1,"a"]]}`},
		{name: "not finite", code: 0, v: []any{nan(), inf(1), inf(-1)}, want: `{"code":0,"result":["NaN","Infinity","-Infinity"]}`},
		{name: "unknown jail", code: 1, v: exc("fail2ban.exceptions.UnknownJailException", "nojail"),
			want: `{"code":1,"error":{"class":"fail2ban.exceptions.UnknownJailException","message":"nojail"}}`},
		{name: "value error", code: 1, v: exc("builtins.ValueError", "not banned: ['203.0.113.99']"),
			want: `{"code":1,"error":{"class":"builtins.ValueError","message":"not banned: ['203.0.113.99']"}}`},
		{name: "two args", code: 1, v: exc("builtins.Exception", "a", int64(2)),
			want: `{"code":1,"error":{"class":"builtins.Exception","message":"('a', 2)"}}`},
		{name: "bare error string", code: -1, v: "ERROR: bad",
			want: `{"code":-1,"error":{"class":"","message":"ERROR: bad"}}`},
		{name: "exception in a result", code: 0, v: []any{exc("builtins.KeyError", "k")},
			want: `{"code":0,"result":[{"class":"builtins.KeyError","message":"k"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := replyJSON(tc.code, tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.want {
				t.Errorf("replyJSON = %s\n          want %s", got, tc.want)
			}
			if !json.Valid(got) {
				t.Errorf("replyJSON is not valid JSON: %s", got)
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
		name       string
		opts       []string
		words      []string
		reply      string // Python expression
		wantOut    string
		wantErrSub string // substring of stderr; "" wants stderr empty
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
			wantOut: "Sorry but the jail 'nojail' does not exist\n", wantErrSub: "ERROR   NOK: ('nojail',)", wantCode: exitFail,
			wantReq: "['status', 'nojail']"},
		{name: "duplicate jail", words: []string{"add", "api"}, reply: `(1, DuplicateJailException('api'))`,
			wantOut: "The jail 'api' already exists\n", wantErrSub: "NOK: ('api',)", wantCode: exitFail, wantReq: "['add', 'api']"},
		{name: "quiet still logs errors", opts: []string{"-q"}, words: []string{"foo"}, reply: `(1, Exception('Invalid command'))`,
			wantOut: "Invalid command\n", wantErrSub: "NOK: ('Invalid command',)", wantCode: exitFail, wantReq: "['foo']"},
		{name: "json", opts: []string{"-o", "json"}, words: []string{"banned"}, reply: `(0, [{'api': ['192.0.2.1']}])`,
			wantOut: `{"code":0,"result":[{"api":["192.0.2.1"]}]}` + "\n", wantReq: "['banned']"},
		{name: "json error", opts: []string{"-o", "json"}, words: []string{"status", "x"}, reply: `(1, UnknownJailException('x'))`,
			wantOut: `{"code":1,"error":{"class":"fail2ban.exceptions.UnknownJailException","message":"x"}}` + "\n", wantCode: exitFail,
			wantReq: "['status', 'x']"},
		{name: "bare error string", words: []string{"ping"}, reply: `'ERROR: could not load'`,
			wantErrSub: "ERROR   ERROR: could not load", wantCode: exitFail, wantReq: "['ping']"},
		{name: "beautifier fallback", words: []string{"ping"}, reply: `(0, 1)`,
			wantOut: "11\n", wantErrSub: "WARNING Beautifier error. Please report the error", wantReq: "['ping']"},
		{name: "hang up", words: []string{"status"}, reply: `CLOSE`,
			wantErrSub: "[[Errno 104] Connection reset by peer] Unable to contact server. Is it running?", wantCode: exitFail,
			wantReq: "['status']"},
		{name: "verbose shows the command", opts: []string{"-vv"}, words: []string{"ping"}, reply: `(0, 'pong')`,
			wantOut: "Server replied: pong\n", wantErrSub: "DEBUG   CMD: ['ping']", wantReq: "['ping']"},
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
			if tc.wantErrSub == "" && stderr.Len() > 0 || !strings.Contains(stderr.String(), tc.wantErrSub) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tc.wantErrSub)
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

func TestRunWithoutServer(t *testing.T) {
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
	tests := []struct {
		name       string
		argv       []string
		wantOut    string
		wantErrSub string
		wantCode   int
	}{
		{name: "no socket", argv: []string{"-s", filepath.Join(dir, "none.sock"), "status"},
			wantErrSub: "ERROR   Failed to access socket path: " + filepath.Join(dir, "none.sock") + ". Is fail2ban running?", wantCode: exitFail},
		{name: "socket from config", argv: []string{"-c", cfg, "status"},
			wantErrSub: "Failed to access socket path: " + missing + ".", wantCode: exitFail},
		{name: "-s beats config", argv: []string{"-c", cfg, "-s", notSock, "status"},
			wantErrSub: "ERROR   [[Errno 111] Connection refused] Unable to contact server. Is it running?", wantCode: exitFail},
		{name: "ping logs only the error", argv: []string{"-s", notSock, "ping"},
			wantErrSub: "ERROR   [Errno 111] Connection refused\n", wantCode: exitFail},
		{name: "bad config", argv: []string{"-c", filepath.Join(dir, "none.yaml"), "status"},
			wantErrSub: "banctl: reading the socket path from the config", wantCode: exitFail},
		{name: "ping timeout not a number", argv: []string{"-s", notSock, "ping", "soon"},
			wantErrSub: "could not convert string to float: 'soon'", wantCode: exitFail},
		{name: "start refused", argv: []string{"start"}, wantErrSub: "banctl: command not supported: 'start'", wantCode: exitFail},
		{name: "restart refused", argv: []string{"restart", "api"}, wantErrSub: "command not supported: 'restart'", wantCode: exitFail},
		{name: "reload refused", argv: []string{"reload"}, wantErrSub: "command not supported: 'reload'", wantCode: exitFail},
		{name: "usage without command", argv: nil, wantOut: "Usage: banctl", wantCode: exitFail},
		{name: "help", argv: []string{"-h"}, wantOut: "Usage: banctl", wantCode: exitOK},
		{name: "version", argv: []string{"--version"}, wantOut: "banctl " + version.Version + "\n", wantCode: exitOK},
		{name: "short version", argv: []string{"-V"}, wantOut: version.Version + "\n", wantCode: exitOK},
		{name: "bad option", argv: []string{"-Z"}, wantErrSub: "unknown option -Z", wantCode: exitFail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.argv, &stdout, &stderr)
			if code != tc.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.wantCode, stderr.String())
			}
			if !strings.HasPrefix(stdout.String(), tc.wantOut) || (tc.wantOut == "" && stdout.Len() > 0) {
				t.Errorf("stdout %q, want it to start with %q", stdout.String(), tc.wantOut)
			}
			if !strings.Contains(stderr.String(), tc.wantErrSub) || (tc.wantErrSub == "" && stderr.Len() > 0) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tc.wantErrSub)
			}
		})
	}
}

func nan() float64         { return math.NaN() }
func inf(sign int) float64 { return math.Inf(sign) }
