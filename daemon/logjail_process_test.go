package daemon

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// This file: a banserver process follows a log that another process
// appends to, rotates both ways and truncates, across a kill -9.

// logJailConfig has two jails on the same log. Every line names an
// address of its own, so:
//   - once (maxretry 1) must ban every address: a line lost is an
//     address never banned;
//   - twice (maxretry 2) must ban none: a line counted twice bans its
//     address.
const logJailConfig = `
jails:
  - name: once
    maxretry: 1
    findtime: 1h
    bantime: 1h
    actions: []
    logpath: [%[1]s]
    datepattern: '^{DATE}'
    failregex: ['^\s*<ADDR>\s+\S+\s+Incorrect token used\.']
  - name: twice
    maxretry: 2
    findtime: 1h
    bantime: 1h
    actions: []
    logpath: [%[1]s]
    datepattern: '^{DATE}'
    failregex: ['^\s*<ADDR>\s+\S+\s+Incorrect token used\.']
`

// writerOp is one instruction to the writer process.
type writerOp struct {
	// Op is append (Lines, one write per line, a pause of PauseMS every
	// 10 lines), rename (the log moves to To; Lines are then written to
	// the moved file through the descriptor still open, as a program
	// does until it reopens; then a new log is created), copytruncate
	// (the log is copied to To and truncated in place), truncate.
	Op      string
	Lines   []string
	To      string
	PauseMS int
}

// TestLogWriterProcess is the writer process of TestLogJailFollowsRotation
// (it runs only when that test starts it): it reads one JSON writerOp per
// line on stdin, carries it out on the log named by BANSERVER_TEST_LOG and
// answers "ok" on stdout.
func TestLogWriterProcess(t *testing.T) {
	path := os.Getenv("BANSERVER_TEST_LOG")
	if path == "" {
		t.Skip("the writer process of TestLogJailFollowsRotation")
	}
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := open()
	write := func(f *os.File, op writerOp) {
		for i, l := range op.Lines {
			if _, err := f.WriteString(l + "\n"); err != nil {
				t.Fatal(err)
			}
			if op.PauseMS > 0 && i%10 == 9 {
				time.Sleep(time.Duration(op.PauseMS) * time.Millisecond)
			}
		}
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var op writerOp
		if err := json.Unmarshal(sc.Bytes(), &op); err != nil {
			t.Fatal(err)
		}
		switch op.Op {
		case "append":
			write(f, op)
		case "rename":
			if err := os.Rename(path, op.To); err != nil {
				t.Fatal(err)
			}
			write(f, op) // still the old file
			f.Close()
			f = open()
		case "copytruncate":
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(op.To, b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		case "truncate":
			if err := os.Truncate(path, 0); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unknown op %q", op.Op)
		}
		fmt.Println("ok")
	}
}

// logWriter drives a writer process.
type logWriter struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startLogWriter(t *testing.T, path string) *logWriter {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLogWriterProcess$", "-test.v")
	cmd.Env = append(os.Environ(), "BANSERVER_TEST_LOG="+path)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		in.Close()
		cmd.Wait()
	})
	return &logWriter{cmd: cmd, in: in, out: bufio.NewScanner(out)}
}

// send starts op; wait waits for it to be done.
func (w *logWriter) send(t *testing.T, op writerOp) {
	t.Helper()
	b, _ := json.Marshal(op)
	if _, err := w.in.Write(append(b, '\n')); err != nil {
		t.Fatal(err)
	}
}

func (w *logWriter) wait(t *testing.T) {
	t.Helper()
	for w.out.Scan() {
		if w.out.Text() == "ok" {
			return
		}
	}
	t.Fatalf("writer process ended: %v", w.out.Err())
}

func (w *logWriter) do(t *testing.T, op writerOp) {
	t.Helper()
	w.send(t, op)
	w.wait(t)
}

// lineSet makes n log lines, each with an address of its own, dated now.
type lineSet struct{ next int }

func (s *lineSet) make(n int) ([]string, []string) {
	lines, addrs := make([]string, n), make([]string, n)
	for i := range lines {
		s.next++
		a := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, byte(s.next >> 8), byte(s.next), 15: 1})
		addrs[i] = a.String()
		lines[i] = fmt.Sprintf("%s %s - Incorrect token used. (request %d)",
			time.Now().Format("2006-01-02T15:04:05"), a, s.next)
	}
	return lines, addrs
}

// waitBans waits until the jail bans every address of want, and fails the
// test after a minute with what is missing.
func waitBans(t *testing.T, p *proc, jailName string, want []string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		got := banList(t, p.sock, jailName)
		missing := 0
		for _, a := range want {
			if _, ok := slices.BinarySearch(got, a); !ok {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(p.log)
			t.Fatalf("%s: %d of %d addresses not banned after a minute\n%s", jailName, missing, len(want), b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLogJailFollowsRotation: banserver follows a log another process
// appends to, renames and recreates, copies and truncates, and truncates,
// while banserver itself is killed with SIGKILL in the middle of a burst
// and restarted: every line is counted (each address banned by once) and
// none twice (no address banned by twice); after a clean restart, nothing
// already read is read again.
func TestLogJailFollowsRotation(t *testing.T) {
	dir := t.TempDir()
	logPath := filepath.Join(dir, "app.log")
	cfg := writeConfig(t, fmt.Sprintf(logJailConfig, logPath))
	sock, db := filepath.Join(dir, "ban.sock"), filepath.Join(dir, "bans.db")
	w := startLogWriter(t, logPath)
	var set lineSet
	var all []string
	appendLines := func(n, pauseMS int) {
		lines, addrs := set.make(n)
		all = append(all, addrs...)
		w.do(t, writerOp{Op: "append", Lines: lines, PauseMS: pauseMS})
	}

	// Lines written before the daemon starts are read from the start.
	appendLines(50, 0)
	p := startProc(t, cfg, sock, db)
	waitBans(t, p, "once", all)
	appendLines(100, 1)
	waitBans(t, p, "once", all)

	// Rename and create, with lines written to the renamed file before
	// the writer reopens: both are read.
	lines, addrs := set.make(40)
	all = append(all, addrs...)
	w.do(t, writerOp{Op: "rename", To: logPath + ".1", Lines: lines})
	appendLines(60, 1)
	waitBans(t, p, "once", all)

	// copytruncate: lines written before the copy must have been read
	// (what copytruncate loses otherwise is inherent to it).
	w.do(t, writerOp{Op: "copytruncate", To: logPath + ".2"})
	appendLines(60, 1)
	waitBans(t, p, "once", all)

	// Truncated and written again: a shorter file than before.
	w.do(t, writerOp{Op: "truncate"})
	appendLines(30, 1)
	waitBans(t, p, "once", all)

	// kill -9 in the middle of a burst; the writer goes on while the
	// daemon is down, and the restarted daemon reads the rest.
	// The burst lasts about 3 s (600 lines, 50 ms every 10).
	lines, addrs = set.make(600)
	all = append(all, addrs...)
	w.send(t, writerOp{Op: "append", Lines: lines, PauseMS: 50})
	deadline := time.Now().Add(time.Minute)
	for len(banList(t, sock, "once")) < len(all)-500 {
		if time.Now().After(deadline) {
			t.Fatal("the daemon did not read the burst's first lines within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	read := len(banList(t, sock, "once")) - (len(all) - 600)
	p.stop(t, syscall.SIGKILL)
	t.Logf("killed -9 with about %d of the burst's 600 lines read", read)
	time.Sleep(100 * time.Millisecond)
	p = startProc(t, cfg, sock, db)
	w.wait(t)
	appendLines(20, 0)
	waitBans(t, p, "once", all)
	if got := banList(t, sock, "twice"); len(got) != 0 {
		t.Fatalf("twice banned %d addresses: lines counted twice, first %v", len(got), got[:min(len(got), 5)])
	}

	// A clean restart reads nothing again: no failure is counted.
	p.stop(t, syscall.SIGTERM)
	p = startProc(t, cfg, sock, db)
	appendLines(10, 0)
	waitBans(t, p, "once", all)
	if failed := totalFailed(t, sock, "twice"); failed != 10 {
		t.Fatalf("twice counted %d failures after a clean restart and 10 new lines, want 10", failed)
	}
	if got := banList(t, sock, "twice"); len(got) != 0 {
		t.Fatalf("twice banned %v", got)
	}
	if got := banList(t, sock, "once"); len(got) != len(all) {
		t.Fatalf("once bans %d addresses, want %d", len(got), len(all))
	}
	// status shows the file read.
	code, v := ask(t, sock, "status", "once")
	if code != 0 || !strings.Contains(fmt.Sprint(v), logPath) {
		t.Fatalf("status once: (%d, %v), want its File list to name %s", code, v, logPath)
	}
}
