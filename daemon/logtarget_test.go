package daemon

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/banserver/banserver/protocol"
)

// testOutput is a logOutput whose stdout and stderr are buffers.
func testOutput(t *testing.T, format string) (*zap.Logger, *logOutput, *syncBuffer, *syncBuffer) {
	t.Helper()
	l, o, err := newLogOutput(format, zap.NewAtomicLevelAt(zap.DebugLevel))
	if err != nil {
		t.Fatal(err)
	}
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	o.stdout, o.stderr = stdout, stderr
	o.sink = &streamSink{w: stderr}
	o.journalSocket = filepath.Join(t.TempDir(), "no-journal")
	return l, o, stdout, stderr
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestLogtargetStreams: STDOUT and STDERR in any case; the target is
// answered as spelled.
func TestLogtargetStreams(t *testing.T) {
	l, o, stdout, stderr := testOutput(t, "console")
	l.Info("on stderr")
	for _, tt := range []struct {
		target string
		want   *syncBuffer
	}{
		{"STDOUT", stdout}, {"stderr", stderr}, {"sysout", stdout}, {"STDERR", stderr},
	} {
		if err := o.SetTarget(tt.target); err != nil {
			t.Fatalf("SetTarget(%q): %v", tt.target, err)
		}
		if got := o.Target(); got != tt.target {
			t.Errorf("Target() = %q after SetTarget(%q)", got, tt.target)
		}
		msg := "line for " + tt.target
		l.Info(msg)
		if !strings.Contains(tt.want.String(), msg) {
			t.Errorf("%q did not go to the target's stream", msg)
		}
	}
	if !strings.Contains(stderr.String(), "on stderr") {
		t.Errorf("stderr lacks the first line:\n%s", stderr)
	}
	if got, _ := o.Flush(); got != "flushed" {
		t.Errorf("Flush() on STDERR = %q, want flushed", got)
	}
	o.SetTarget("stderr")
	if got, _ := o.Flush(); got != "rolled over" {
		t.Errorf("Flush() on 'stderr' = %q, want fail2ban's 'rolled over' (only the upper-case names are streams to it)", got)
	}
}

// TestLogtargetFile: a file target gets the lines (mode 0640, appended);
// Flush after the file was moved away (logrotate) creates it anew; a path
// whose directory is missing is refused and the target stays.
func TestLogtargetFile(t *testing.T) {
	l, o, _, stderr := testOutput(t, "console")
	dir := t.TempDir()
	path := filepath.Join(dir, "ban.log")
	if err := os.WriteFile(path, []byte("kept\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := o.SetTarget(path); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr.String(), "log target changing") {
		t.Errorf("the old target was not told of the change:\n%s", stderr)
	}
	l.Info("before rotation")
	moved := path + ".1"
	if err := os.Rename(path, moved); err != nil {
		t.Fatal(err)
	}
	l.Info("after the move")
	if got, err := o.Flush(); err != nil || got != "rolled over" {
		t.Fatalf("Flush() = %q, %v; want rolled over", got, err)
	}
	l.Info("after flushlogs")
	old := readFile(t, moved)
	if !strings.HasPrefix(old, "kept\n") || !strings.Contains(old, "before rotation") || !strings.Contains(old, "after the move") || strings.Contains(old, "after flushlogs") {
		t.Errorf("the moved file:\n%s", old)
	}
	if now := readFile(t, path); !strings.Contains(now, "after flushlogs") || strings.Contains(now, "after the move") {
		t.Errorf("the new file:\n%s", now)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("new log file mode %v, want 0640", fi.Mode().Perm())
	}

	bad := filepath.Join(dir, "missing", "ban.log")
	if err := o.SetTarget(bad); err == nil {
		t.Fatal("SetTarget to a missing directory succeeded")
	}
	if got := o.Target(); got != path {
		t.Errorf("Target() = %q after a failed change, want %q", got, path)
	}
	l.Info("still here")
	if !strings.Contains(readFile(t, path), "still here") {
		t.Error("the log left its file after a failed change")
	}
}

// listenDgram listens on a Unix datagram socket in a temporary directory.
func listenDgram(t *testing.T, name string) (string, *net.UnixConn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return path, c
}

// readUntil reads datagrams until one contains want.
func readUntil(t *testing.T, c *net.UnixConn, want string) []byte {
	t.Helper()
	buf := make([]byte, 1<<17)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("reading the socket for %q: %v", want, err)
		}
		if bytes.Contains(buf[:n], []byte(want)) {
			return bytes.Clone(buf[:n])
		}
	}
}

// TestLogtargetSyslog: SYSLOG needs a socket at the syslog socket's path
// (auto: /dev/log, resolved once tried); lines go in syslog's local
// format with the daemon facility and the line's severity.
func TestLogtargetSyslog(t *testing.T) {
	l, o, _, _ := testOutput(t, "console")
	if got := o.SyslogSocket(); got != "auto" {
		t.Errorf("SyslogSocket() = %q at start, want auto", got)
	}
	if _, err := os.Stat(defaultSyslogSocket); err != nil {
		if err := o.SetTarget("SYSLOG"); err == nil {
			t.Error("SYSLOG without /dev/log succeeded")
		}
		if got := o.SyslogSocket(); got != defaultSyslogSocket {
			t.Errorf("SyslogSocket() = %q after SYSLOG was tried, want %s", got, defaultSyslogSocket)
		}
		if got := o.Target(); got != "STDERR" {
			t.Errorf("Target() = %q after a failed change", got)
		}
	}
	o.SetSyslogSocket(filepath.Join(t.TempDir(), "nothing"))
	if err := o.SetTarget("SYSLOG"); err == nil {
		t.Error("SYSLOG with a missing socket succeeded")
	}
	notSock := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notSock, nil, 0o600)
	o.SetSyslogSocket(notSock)
	if err := o.SetTarget("SYSLOG"); err == nil {
		t.Error("SYSLOG on a regular file succeeded")
	}

	path, c := listenDgram(t, "log")
	if err := o.SetSyslogSocket(path); err != nil {
		t.Fatal(err)
	}
	if err := o.SetTarget("syslog"); err != nil {
		t.Fatal(err)
	}
	l.Warn("syslog warning", zap.String("ip", "192.0.2.1"))
	got := string(readUntil(t, c, "syslog warning"))
	wantHead := fmt.Sprintf("<%d>", 3*8+4)
	wantTag := fmt.Sprintf(" banserver[%d]: ", os.Getpid())
	if !strings.HasPrefix(got, wantHead) || !strings.Contains(got, wantTag) || !strings.Contains(got, "192.0.2.1") || strings.HasSuffix(got, "\n") {
		t.Errorf("syslog datagram %q, want %s...%s...192.0.2.1 without a newline", got, wantHead, wantTag)
	}
	if got, _ := o.Flush(); got != "rolled over" {
		t.Errorf("Flush() on 'syslog' = %q, want rolled over (fail2ban's answer for a target not spelled SYSLOG)", got)
	}

	// Moving the socket while logging to syslog follows it.
	path2, c2 := listenDgram(t, "log2")
	if err := o.SetSyslogSocket(path2); err != nil {
		t.Fatal(err)
	}
	l.Error("to the new socket")
	if got := string(readUntil(t, c2, "to the new socket")); !strings.HasPrefix(got, fmt.Sprintf("<%d>", 3*8+3)) {
		t.Errorf("error on syslog: %q", got)
	}
	// A socket that does not answer is taken, and the lines stay.
	if err := o.SetSyslogSocket("/this/path/should/not/exist"); err != nil {
		t.Fatal(err)
	}
	if got := o.SyslogSocket(); got != "/this/path/should/not/exist" {
		t.Errorf("SyslogSocket() = %q", got)
	}
	l.Info("still on the second socket")
	readUntil(t, c2, "still on the second socket")
}

// TestLogtargetJournal: SYSTEMD-JOURNAL speaks the journal's native
// protocol; without the journal's socket the answer says so.
func TestLogtargetJournal(t *testing.T) {
	l, o, _, _ := testOutput(t, "json")
	err := o.SetTarget("SYSTEMD-JOURNAL")
	var exc *protocol.Exception
	if !errors.As(err, &exc) || !strings.Contains(fmt.Sprint(exc.Args...), "the journal is not available") {
		t.Fatalf("SYSTEMD-JOURNAL without the journal: %v, want an Exception saying it is not available", err)
	}
	path, c := listenDgram(t, "journal")
	o.journalSocket = path
	if err := o.SetTarget("SYSTEMD-JOURNAL"); err != nil {
		t.Fatal(err)
	}
	l.Info("journal line", zap.String("note", "two\nlines"))
	got := readUntil(t, c, "journal line")
	fields := map[string]string{}
	for rest := got; len(rest) > 0; {
		nl := bytes.IndexByte(rest, '\n')
		if nl < 0 {
			t.Fatalf("entry %q: a field without its newline", got)
		}
		line := rest[:nl]
		if k, v, ok := bytes.Cut(line, []byte("=")); ok {
			fields[string(k)] = string(v)
			rest = rest[nl+1:]
			continue
		}
		n := binary.LittleEndian.Uint64(rest[nl+1:])
		fields[string(line)] = string(rest[nl+9 : nl+9+int(n)])
		rest = rest[nl+9+int(n)+1:]
	}
	if fields["PRIORITY"] != "6" || fields["SYSLOG_IDENTIFIER"] != "banserver" || !strings.Contains(fields["MESSAGE"], `"msg":"journal line"`) {
		t.Errorf("journal entry fields %q", fields)
	}
	if strings.Contains(fields["MESSAGE"], `"ts"`) {
		t.Errorf("the journal stamps its entries; MESSAGE has a time too: %q", fields["MESSAGE"])
	}
}

// TestLogtargetSwitchWhileLogging: lines written while the target moves
// between files all land whole in one file or the other.
func TestLogtargetSwitchWhileLogging(t *testing.T) {
	l, o, _, _ := testOutput(t, "console")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
	if err := o.SetTarget(a); err != nil {
		t.Fatal(err)
	}
	const writers, lines = 4, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range lines {
				l.Info("concurrent", zap.Int("w", w), zap.Int("i", i))
			}
		}()
	}
	for i := range 50 {
		target := a
		if i%2 == 0 {
			target = b
		}
		if err := o.SetTarget(target); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	n := 0
	for _, p := range []string{a, b} {
		for _, line := range strings.Split(strings.TrimSuffix(readFile(t, p), "\n"), "\n") {
			if strings.Contains(line, "concurrent") {
				if !strings.HasSuffix(line, "}") {
					t.Fatalf("a torn line in %s: %q", p, line)
				}
				n++
			}
		}
	}
	if n != writers*lines {
		t.Errorf("%d lines in the files, want %d", n, writers*lines)
	}
}
