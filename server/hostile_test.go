package server_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/banserver/banserver/protocol"
)

// hwmBound is the most memory (VmHWM, the resident peak) the daemon may
// ever have used while answering the hostile cases. Idle it is about
// 10 MiB; the largest legitimate case, 200,000 addresses in one banip
// (about 3.4 MB of pickle, a 16 MiB read buffer, 200,000 bans with their
// strings and map entries), needs some tens of MiB more. 200 MiB leaves
// room for the garbage collector's slack (GOGC=100 lets the heap double
// before collecting) while still catching any allocation a header claims
// rather than the bytes present: the smallest such claim in the table is
// 4 GiB.
const hwmBound = 200 << 20

// smallBound is the peak allowed for every case that is not a legitimate
// large request: idle the daemon is about 10 MiB, the 1 MiB message cap's
// buffer and the decoder's refusal of 200,000 nestings add a few MiB.
const smallBound = 64 << 20

// defaultHostileMax is the message cap of the daemons of the hostile
// cases: above the 200,000-deep nestings and 500,000 MARKs so that they
// reach the decoder rather than the cap.
const defaultHostileMax = 1 << 20

// replyShape is what a hostile case must get back.
type replyShape int

const (
	loadError  replyShape = iota // the bare pickled "ERROR: ..." string
	exception                    // (1, exception) with class wantClass
	okOrExcept                   // (0, anything) or (1, exception)
	noReply                      // the case checks its own connection
)

type hostileServerCase struct {
	name       string
	msg        []byte // sent followed by the terminator, unless raw
	raw        bool   // msg is sent as is, then the write side is closed
	maxMessage int    // limits.max_message; 0: defaultHostileMax
	want       replyShape
	wantClass  string
	wantText   string // a substring of the error, when set
	wantCount  int64  // for okOrExcept: the count a (0, n) reply must carry
	hwm        int64  // the VmHWM bound; 0: smallBound
	// run, when set, replaces the send-and-check for cases that need a
	// connection of their own shape.
	run func(t *testing.T, sock string)
}

func le64b(n uint64) []byte { return binary.LittleEndian.AppendUint64(nil, n) }
func le32b(n uint32) []byte { return binary.LittleEndian.AppendUint32(nil, n) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// pythonPickles runs python3 with a script that prints one hex pickle per
// line and returns them decoded.
func pythonPickles(t *testing.T, py, script string, args ...string) [][]byte {
	t.Helper()
	out, err := exec.Command(py, append([]string{"-c", script}, args...)...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("python3: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("python3: %v", err)
	}
	var res [][]byte
	for _, line := range strings.Fields(string(out)) {
		b, err := hex.DecodeString(line)
		if err != nil {
			t.Fatalf("python3 output %q: %v", line, err)
		}
		res = append(res, b)
	}
	return res
}

// reduceScript pickles a class whose __reduce__ names os.system, both bare
// and inside a command list as fail2ban-client would send it.
const reduceScript = `
import os, pickle, sys
class E:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[1],))
for proto in (2, 5):
    print(pickle.dumps(E(), proto).hex())
    print(pickle.dumps(["set", "api", "banip", E()], proto).hex())
`

// clientScript pickles a real fail2ban-client request, as CSocket does.
const clientScript = `
import pickle
from fail2ban.client.csocket import CSocket
args = ["set", "api", "attempt", "192.0.2.7", "Incorrect token used."]
print(pickle.dumps(list(map(CSocket.convert, args)), pickle.HIGHEST_PROTOCOL).hex())
`

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// buildDaemon builds ./cmd/banserver once per test binary.
func buildDaemon(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "banserver-hostile-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "banserver")
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		out, err := exec.Command(gobin, "build", "-o", buildPath, "github.com/banserver/banserver/cmd/banserver").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// child is a banserver running as a child process.
type child struct {
	cmd    *exec.Cmd
	sock   string
	stderr *bytes.Buffer
	exited chan struct{}
}

// startChild runs the built daemon on a temporary config with an `api`
// jail whose only action logs, no ban store, and the given message cap;
// extraLimits are more lines of the limits section ("idle_timeout: 2s").
func startChild(t *testing.T, bin string, maxMessage int, extraLimits ...string) *child {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, "ban.sock")
	cfg := fmt.Sprintf(`socket:
  path: %s
  mode: "0600"
log:
  format: console
  level: error
limits:
  max_message: %d
  max_failures: 1000000
%sjails:
  - name: api
    maxretry: 3
    findtime: 30m
    bantime: 1h
    actions: [log]
`, sock, maxMessage, limitLines(extraLimits))
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &child{sock: sock, stderr: new(bytes.Buffer), exited: make(chan struct{})}
	c.cmd = exec.Command(bin, "--config", cfgPath, "--socket", sock, "--db", "none")
	c.cmd.Stderr = &lockedWriter{w: c.stderr}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.cmd.Wait(); close(c.exited) }()
	t.Cleanup(func() {
		c.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-c.exited:
		case <-time.After(10 * time.Second):
			c.cmd.Process.Kill()
			<-c.exited
			t.Error("daemon did not stop within 10s of SIGTERM")
		}
	})
	// Wait until it answers; generous, this is not a timing assertion.
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-c.exited:
			t.Fatalf("daemon exited at start: %v\n%s", c.cmd.ProcessState, c.stderrText())
		default:
		}
		if conn, err := net.Dial("unix", sock); err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon did not listen on %s within 30s\n%s", sock, c.stderrText())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

// limitLines indents lines into the config's limits section.
func limitLines(lines []string) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func (c *child) stderrText() string {
	lw := c.cmd.Stderr.(*lockedWriter)
	lw.mu.Lock()
	defer lw.mu.Unlock()
	s := lw.w.String()
	if len(s) > 4000 {
		s = "..." + s[len(s)-4000:]
	}
	return s
}

// memory reads the daemon's resident size and its peak from /proc.
func (c *child) memory(t *testing.T) (rss, hwm int64) {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		t.Fatalf("daemon status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, found := strings.Cut(sc.Text(), ":")
		if !found || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", k, v, err)
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
	}
	if hwm == 0 {
		t.Fatal("no VmHWM in /proc status")
	}
	return rss, hwm
}

// alive fails when the daemon has exited.
func (c *child) alive(t *testing.T) {
	t.Helper()
	select {
	case <-c.exited:
		t.Fatalf("daemon died: %v\n%s", c.cmd.ProcessState, c.stderrText())
	default:
	}
}

// rawDial connects with a reader that can take the biggest reply.
func rawDial(t *testing.T, sock string) *client {
	t.Helper()
	cl := dial(t, sock)
	cl.r = protocol.NewReader(cl.c, 64<<20)
	return cl
}

func hostileServerCases(t *testing.T, py, dpy, marker string) []hostileServerCase {
	reduce := pythonPickles(t, py, reduceScript, marker)
	realMsg := pythonPickles(t, dpy, clientScript)[0]
	// 200,000 distinct documentation addresses: 2001:db8::/32 has room.
	addrs := make([]any, 0, 200001)
	addrs = append(addrs, "set", "api", "banip")
	for i := 0; i < 200000; i++ {
		addrs = append(addrs, fmt.Sprintf("2001:db8::%x:%x", i>>16, i&0xffff))
	}
	bigBan, err := protocol.AppendRequest(nil, 4, addrs)
	if err != nil {
		t.Fatal(err)
	}
	bigBan = bytes.TrimSuffix(bigBan, []byte(protocol.EndCommand))
	newline, err := protocol.AppendRequest(nil, 4, []any{"set", "api", "banip", "192.0.2.1\n"})
	if err != nil {
		t.Fatal(err)
	}
	newline = bytes.TrimSuffix(newline, []byte(protocol.EndCommand))

	cases := []hostileServerCase{
		{name: "os.system by REDUCE, protocol 2", msg: reduce[0], want: loadError},
		{name: "os.system by REDUCE in a command, protocol 2", msg: reduce[1], want: loadError},
		{name: "os.system by REDUCE, protocol 5", msg: reduce[2], want: loadError},
		{name: "os.system by REDUCE in a command, protocol 5", msg: reduce[3], want: loadError},
		{name: "opcode 0xff", msg: []byte("\x80\x04]\xff."), want: loadError},
		{name: "BINUNICODE8 of 2^40", msg: cat([]byte("\x80\x04\x8d"), le64b(1<<40), []byte("x.")), want: loadError},
		{name: "BINUNICODE8 of 2^64-1", msg: cat([]byte("\x80\x04\x8d"), le64b(^uint64(0)), []byte("x.")), want: loadError},
		{name: "FRAME of 2^40", msg: cat([]byte("\x80\x04\x95"), le64b(1<<40), []byte("].")), want: loadError},
		{name: "FRAME of 2^63", msg: cat([]byte("\x80\x04\x95"), le64b(1<<63), []byte("].")), want: loadError},
		{name: "BINBYTES8 of 2^40", msg: cat([]byte("\x80\x04\x8e"), le64b(1<<40), []byte("x.")), want: loadError},
		{name: "BINBYTES8 of 2^63", msg: cat([]byte("\x80\x04\x8e"), le64b(1<<63), []byte("x.")), want: loadError},
		{name: "BINUNICODE of 4 GiB", msg: cat([]byte("\x80\x02X"), le32b(0xffffffff), []byte("x.")), want: loadError},
		{name: "huge LONG4", msg: cat([]byte("\x80\x02\x8b"), le32b(0x7fffffff), []byte("\x01.")), want: loadError},
		{name: "200000 nested lists", msg: cat([]byte("\x80\x02"), bytes.Repeat([]byte("]"), 200000), bytes.Repeat([]byte("a"), 199999), []byte(".")), want: loadError},
		{name: "500000 MARKs", msg: cat([]byte("\x80\x02"), bytes.Repeat([]byte("("), 500000), []byte(".")), want: loadError},
		{name: "memo get of a missing key", msg: []byte("\x80\x02]h\x07."), want: loadError},
		{name: "HTTP text", msg: []byte("GET / HTTP/1.1\r\nHost: ban\r\n\r\n"), want: loadError},
		{name: "empty message", msg: []byte{}, want: loadError},
		{name: "dict where a list belongs", msg: []byte("\x80\x02}q\x00X\x01\x00\x00\x00aK\x01s."), want: loadError},
		{name: "int where a list belongs", msg: []byte("\x80\x02K\x05."), want: loadError},
		{name: "address with a newline", msg: newline, want: exception, wantClass: "builtins.ValueError", wantText: "invalid address"},
		{name: "200000 addresses in one banip", msg: bigBan, maxMessage: 16 << 20, want: okOrExcept, wantCount: 200000, hwm: hwmBound},
		{name: "64 MiB with no terminator", msg: bytes.Repeat([]byte("A"), 64<<20), raw: true, want: exception, wantClass: "builtins.ValueError", wantText: "message larger than"},
		{name: "half a message then a wait", run: func(t *testing.T, sock string) { halfMessage(t, sock, realMsg) }},
	}
	// Truncated realMsg fail2ban-client messages: a PROTO alone, into the
	// FRAME header, half way, and all but the STOP.
	for _, n := range []int{1, 2, 5, 11, len(realMsg) / 2, len(realMsg) - 1} {
		cases = append(cases, hostileServerCase{name: fmt.Sprintf("fail2ban-client message cut at %d of %d", n, len(realMsg)), msg: realMsg[:n], want: loadError})
	}
	return cases
}

// halfMessage sends half a realMsg request, checks that another connection
// is served meanwhile, then sends the rest and expects the realMsg answer:
// the daemon held the partial message without blocking anyone.
func halfMessage(t *testing.T, sock string, realMsg []byte) {
	half := dial(t, sock)
	if _, err := half.c.Write(realMsg[:len(realMsg)/2]); err != nil {
		t.Fatal(err)
	}
	if code, v := dial(t, sock).cmd("ping"); code != 0 || v != "pong" {
		t.Fatalf("ping beside a half message: (%d, %#v)", code, v)
	}
	code, v := half.send(append(bytes.Clone(realMsg[len(realMsg)/2:]), protocol.EndCommand...))
	if code != 0 || v != int64(1) {
		t.Fatalf("the completed message: (%d, %#v), want (0, 1)", code, v)
	}
}

// TestHostileDaemon sends each hostile input to a realMsg daemon process, on
// its own connection, and checks after each that the process lives,
// answers ping, ran no code, and stayed under hwmBound.
func TestHostileDaemon(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/status")
	}
	py := needTool(t, "python3")
	dpy := debianPython(t)
	bin := buildDaemon(t)
	marker := filepath.Join(t.TempDir(), "pwned")
	var peaks []string
	for _, tc := range hostileServerCases(t, py, dpy, marker) {
		t.Run(tc.name, func(t *testing.T) {
			max := tc.maxMessage
			if max == 0 {
				max = defaultHostileMax
			}
			d := startChild(t, bin, max)
			_, before := d.memory(t)
			if tc.run != nil {
				tc.run(t, d.sock)
			} else {
				checkHostileReply(t, tc, d)
			}
			d.alive(t)
			if code, v := dial(t, d.sock).cmd("ping"); code != 0 || v != "pong" {
				t.Fatalf("ping after: (%d, %#v)", code, v)
			}
			if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("the daemon ran code: %s exists (%v)", marker, err)
			}
			rss, hwm := d.memory(t)
			t.Logf("VmRSS %.1f MiB, VmHWM %.1f MiB (%.1f MiB at start)", mib(rss), mib(hwm), mib(before))
			peaks = append(peaks, fmt.Sprintf("%-50s VmHWM %6.1f MiB", tc.name, mib(hwm)))
			bound := tc.hwm
			if bound == 0 {
				bound = smallBound
			}
			if hwm > bound {
				t.Errorf("VmHWM %.1f MiB over the %.0f MiB bound", mib(hwm), mib(bound))
			}
		})
	}
	t.Logf("peaks:\n%s", strings.Join(peaks, "\n"))
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// checkHostileReply sends tc.msg on a connection of its own and checks the
// reply's shape.
func checkHostileReply(t *testing.T, tc hostileServerCase, d *child) {
	t.Helper()
	cl := rawDial(t, d.sock)
	var code int
	var v any
	if tc.raw {
		if _, err := cl.c.Write(tc.msg); err != nil {
			t.Fatalf("write: %v", err)
		}
		// The cap answers when the stream ends, having discarded the rest.
		if err := cl.c.(*net.UnixConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		msg, err := cl.r.ReadMessage()
		if err != nil {
			t.Fatalf("read reply: %v", err)
		}
		if code, v, err = protocol.DecodeReply(msg); err != nil {
			t.Fatalf("decode reply %q: %v", msg, err)
		}
	} else {
		code, v = cl.send(append(bytes.Clone(tc.msg), protocol.EndCommand...))
	}
	t.Logf("reply (%d, %s)", code, shortReply(v))
	switch tc.want {
	case loadError:
		s, isStr := v.(string)
		if code != -1 || !isStr || !strings.HasPrefix(s, "ERROR: ") {
			t.Errorf("reply (%d, %#v), want the pickled string \"ERROR: ...\"", code, v)
		}
	case exception:
		e, isExc := v.(*protocol.Exception)
		if code != 1 || !isExc || e.Class != tc.wantClass || !strings.Contains(fmt.Sprint(e.Args...), tc.wantText) {
			t.Errorf("reply (%d, %#v), want (1, %s(...%s...))", code, v, tc.wantClass, tc.wantText)
		}
	case okOrExcept:
		_, isExc := v.(*protocol.Exception)
		if !(code == 0 || code == 1 && isExc) {
			t.Errorf("reply (%d, %#v), want (0, ...) or (1, exception)", code, v)
		}
		if code == 0 && tc.wantCount != 0 && v != tc.wantCount {
			t.Errorf("reply (0, %#v), want (0, %d)", v, tc.wantCount)
		}
	}
}

// shortReply prints a reply value without flooding the log.
func shortReply(v any) string {
	s := fmt.Sprintf("%#v", v)
	if e, ok := v.(*protocol.Exception); ok {
		s = fmt.Sprintf("%s%q", e.Class, e.Args)
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
