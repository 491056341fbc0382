package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/banserver/banserver/testenv"
)

// field is one field of a journal entry: name, value.
type field = testenv.JournalField

// journalWriter appends entries to a journal file with
// systemd-journal-remote, numbering them from 1.
type journalWriter struct {
	t      testing.TB
	remote string
	base   time.Time
	n      int
}

// entry makes entry number n: unit and comm say which process logged it.
func (w *journalWriter) entry(unit, comm, ident, msg string, extra ...field) []field {
	w.n++
	ts := w.base.Add(time.Duration(w.n) * time.Millisecond)
	e := []field{
		{"__REALTIME_TIMESTAMP", fmt.Sprint(ts.UnixMicro())},
		{"__MONOTONIC_TIMESTAMP", fmt.Sprint(1000000 + w.n*1000)},
		{"_BOOT_ID", "0123456789abcdef0123456789abcdef"},
		{"_HOSTNAME", "web1"},
		{"_PID", fmt.Sprint(1000 + w.n)},
	}
	if unit != "" {
		e = append(e, field{"_SYSTEMD_UNIT", unit})
	}
	if comm != "" {
		e = append(e, field{"_COMM", comm})
	}
	if ident != "" {
		e = append(e, field{"SYSLOG_IDENTIFIER", ident})
	}
	e = append(e, extra...)
	return append(e, field{"MESSAGE", fmt.Sprintf("%s #%d", msg, w.n)})
}

// write appends entries to the journal file out.
func (w *journalWriter) write(out string, entries ...[]field) {
	w.t.Helper()
	cmd := exec.Command(w.remote, "--output="+out, "-")
	cmd.Stdin = bytes.NewReader(testenv.ExportJournal(entries))
	if b, err := cmd.CombinedOutput(); err != nil {
		w.t.Fatalf("systemd-journal-remote: %v: %s", err, b)
	}
}

// startJournal runs a Journal until the test ends (or stop).
func startJournal(t *testing.T, o JournalOptions) (*Journal, *collector, func()) {
	t.Helper()
	j, err := NewJournal(o)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- j.Run(ctx, c.deliver) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitLimit):
				t.Errorf("Run did not return within %v of cancel", waitLimit)
			}
		})
	}
	t.Cleanup(stop)
	return j, c, stop
}

// TestJournal follows journal files written by systemd-journal-remote:
// the jail's matches select entries, more than journalctl's default ten
// are read from Since, entries appended to the file and a file added to
// the directory are followed, a restart resumes after the stored cursor,
// a killed journalctl is restarted, a refused cursor falls back to its
// time, and a first start without Since reads only new entries.
func TestJournal(t *testing.T) {
	journalctl := testenv.Tool(t, "journalctl")
	remote := testenv.JournalRemote(t)
	dir := t.TempDir()
	x, y := filepath.Join(dir, "x.journal"), filepath.Join(dir, "y.journal")
	w := &journalWriter{t: t, remote: remote, base: time.Now().Add(-time.Hour).Truncate(time.Second)}
	match, err := ParseJournalMatch("_SYSTEMD_UNIT=sshd.service + _COMM=sshd")
	if err != nil {
		t.Fatal(err)
	}
	// want records the entries the matches select, in order.
	var want []string
	batch := func(k int) [][]field {
		var es [][]field
		for i := range k {
			switch i % 3 {
			case 0:
				es = append(es, w.entry("sshd.service", "sshd", "sshd", "Failed password"))
				want = append(want, fmt.Sprintf("web1 sshd[%d]: Failed password #%d", 1000+w.n, w.n))
			case 1:
				es = append(es, w.entry("", "sshd", "", "Invalid user"))
				want = append(want, fmt.Sprintf("web1 sshd[%d]: Invalid user #%d", 1000+w.n, w.n))
			case 2:
				es = append(es, w.entry("cron.service", "cron", "CRON", "not for this jail"))
			}
		}
		return es
	}
	pos := &MemoryPositions{}
	o := JournalOptions{Matches: match, Directory: dir, Positions: pos, Journalctl: journalctl,
		Since: time.Unix(0, 0), RestartMin: 50 * time.Millisecond, Log: testLogger(t)}
	expect := func(c *collector, from int) {
		t.Helper()
		c.waitFor(t, want[len(want)-1])
		if got := c.texts(); !slices.Equal(got, want[from:]) {
			t.Fatalf("got %d lines %q\nwant %d lines %q", len(got), got, len(want[from:]), want[from:])
		}
	}

	w.write(x, batch(45)...) // 30 for the jail: more than journalctl -f's 10
	j, c, stop := startJournal(t, o)
	expect(c, 0)
	ls := c.all()
	if ls[0].Time.UnixMicro() != w.base.Add(time.Millisecond).UnixMicro() || ls[0].Cursor == "" || ls[0].File != "" {
		t.Errorf("first line %+v: want the entry's time and a cursor", ls[0])
	}

	w.write(x, batch(6)...) // appended to the same file
	expect(c, 0)
	w.write(y, batch(6)...) // a new file in the directory
	expect(c, 0)
	stop()

	// Restart after the stored cursor: nothing delivered again.
	mark := len(want)
	w.write(x, batch(6)...)
	j, c, stop = startJournal(t, o)
	expect(c, mark)

	// Entries of another boot (journalctl --follow alone shows only the
	// last boot).
	boot := batch(6)
	for _, e := range boot {
		for i := range e {
			if e[i][0] == "_BOOT_ID" {
				e[i][1] = "fedcba9876543210fedcba9876543210"
			}
		}
	}
	w.write(x, boot...)
	expect(c, mark)

	// journalctl killed: restarted from the last entry.
	pid := j.journalctlPID()
	if pid == 0 {
		t.Fatal("no journalctl running")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	waitUntil(t, "journalctl restarted", func() bool { p := j.journalctlPID(); return p != 0 && p != pid })
	w.write(y, batch(6)...)
	expect(c, mark)
	if j.Stats().Restarts == 0 {
		t.Error("Stats.Restarts = 0 after journalctl was killed")
	}
	stop()

	// A cursor journalctl refuses: go on from the stored time.
	p, _ := pos.Load(DefaultJournalName)
	p.Cursor = "s=garbage"
	pos.Save(DefaultJournalName, p)
	mark = len(want)
	w.write(x, batch(6)...)
	_, c, stop = startJournal(t, o)
	expect(c, mark)
	stop()

	// No stored cursor and no Since: only entries written from now on.
	o.Positions, o.Since = &MemoryPositions{}, time.Time{}
	j, c, _ = startJournal(t, o)
	// The end is fixed before journalctl --follow starts.
	waitUntil(t, "journalctl started", func() bool { return j.journalctlPID() != 0 })
	mark = len(want)
	w.write(x, batch(6)...)
	expect(c, mark)
}

// TestJournalFormatFromFile checks the formatting of entries read back
// from a real journal file: binary and multi-line messages, the kernel's
// monotonic time, SYSLOG_PID over _PID, _SOURCE_REALTIME_TIMESTAMP.
func TestJournalFormatFromFile(t *testing.T) {
	journalctl := testenv.Tool(t, "journalctl")
	w := &journalWriter{t: t, remote: testenv.JournalRemote(t), base: time.Now().Add(-time.Hour).Truncate(time.Second)}
	file := filepath.Join(t.TempDir(), "k.journal")
	src := w.base.Add(-time.Minute)
	w.write(file,
		w.entry("", "sshd", "sshd", "two\nlines", field{"SYSLOG_PID", "77"}),
		w.entry("", "", "kernel", "oops", field{"_SOURCE_MONOTONIC_TIMESTAMP", "12345678"}),
		w.entry("", "x", "x", "bad \xff byte"),
		w.entry("", "y", "y", "at source", field{"_SOURCE_REALTIME_TIMESTAMP", fmt.Sprint(src.UnixMicro())}),
	)
	_, c, _ := startJournal(t, JournalOptions{Files: []string{file}, Journalctl: journalctl, Since: time.Unix(0, 0), Log: testLogger(t)})
	c.waitFor(t, "web1 y[1004]: at source #4")
	want := []string{
		`web1 sshd[77]: two\nlines #1`,
		"web1 kernel[1002]: oops #2",
		"web1 x[1003]: bad \ufffd byte #3",
		"web1 y[1004]: at source #4",
	}
	ls := c.all()
	if got := c.texts(); !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if !ls[3].Time.Equal(time.UnixMicro(src.UnixMicro())) {
		t.Errorf("time %v, want the source time %v", ls[3].Time, src)
	}

	// The kernel's own entries have no PID: then its monotonic time.
	file2 := filepath.Join(t.TempDir(), "k2.journal")
	w.write(file2, []field{
		{"__REALTIME_TIMESTAMP", fmt.Sprint(w.base.UnixMicro())}, {"__MONOTONIC_TIMESTAMP", "5000000"},
		{"_BOOT_ID", "0123456789abcdef0123456789abcdef"}, {"_HOSTNAME", "web1"},
		{"SYSLOG_IDENTIFIER", "kernel"}, {"_SOURCE_MONOTONIC_TIMESTAMP", "12345678"}, {"MESSAGE", "oops"},
	})
	_, c2, _ := startJournal(t, JournalOptions{Files: []string{file2}, Journalctl: journalctl, Since: time.Unix(0, 0), Log: testLogger(t)})
	c2.waitFor(t, "web1 kernel: [   12.345678] oops")
}

func TestNewJournalErrors(t *testing.T) {
	tests := []struct {
		name string
		o    JournalOptions
		want error
	}{
		{name: "match", o: JournalOptions{Matches: []string{"sshd"}, Journalctl: "sh"}, want: ErrMatch},
		{name: "encoding", o: JournalOptions{Encoding: "ebcdic", Journalctl: "sh"}, want: ErrEncoding},
		{name: "no journalctl", o: JournalOptions{Journalctl: "/nonexistent/journalctl"}, want: ErrNoJournalctl},
		{name: "dir and files", o: JournalOptions{Directory: "/d", Files: []string{"/f"}, Journalctl: "sh"}, want: ErrBackend},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewJournal(tt.o); !errors.Is(err, tt.want) {
				t.Fatalf("NewJournal = %v, want %v", err, tt.want)
			}
		})
	}
}
