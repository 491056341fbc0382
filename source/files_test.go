package source

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewFilesErrors(t *testing.T) {
	tests := []struct {
		name string
		o    FileOptions
		want error
	}{
		{name: "no patterns", o: FileOptions{}, want: ErrNoPatterns},
		{name: "empty pattern", o: FileOptions{Patterns: []string{""}}, want: ErrNoPatterns},
		{name: "bad glob", o: FileOptions{Patterns: []string{"/var/log/[x"}}, want: filepath.ErrBadPattern},
		{name: "backend", o: FileOptions{Patterns: []string{"/x"}, Backend: "gamin"}, want: ErrBackend},
		{name: "encoding", o: FileOptions{Patterns: []string{"/x"}, Encoding: "utf-16"}, want: ErrEncoding},
		{name: "max line", o: FileOptions{Patterns: []string{"/x"}, MaxLine: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewFiles(tt.o)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("NewFiles = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "source: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestRunTwice(t *testing.T) {
	dir := t.TempDir()
	f, _, _ := startFiles(t, testOptions(t, BackendPolling, filepath.Join(dir, "x.log")))
	waitUntil(t, "Run started", func() bool { return f.running.Load() })
	if err := f.Run(context.Background(), func(Line) error { return nil }); !errors.Is(err, ErrRunning) {
		t.Fatalf("second Run = %v, want ErrRunning", err)
	}
}

// TestFollow checks appends, a partial line waiting for its newline, CRLF,
// empty lines, offsets, a file created after start, and Paths.
func TestFollow(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "x.log")
		appendTo(t, p, "one\ntwo\r\n")
		f, c, _ := startFiles(t, testOptions(t, backend, p))
		c.waitFor(t, "two")
		appendTo(t, p, "thr")
		appendTo(t, p, "ee\n\nfour\n")
		ls := c.waitFor(t, "four")
		want := []Line{{Text: "one", File: p, Offset: 0}, {Text: "two", File: p, Offset: 4}, {Text: "three", File: p, Offset: 9},
			{Text: "", File: p, Offset: 15}, {Text: "four", File: p, Offset: 16}}
		if !slices.Equal(ls, want) {
			t.Fatalf("got %+v\nwant %+v", ls, want)
		}
		if got := f.Paths(); !slices.Equal(got, []string{p}) {
			t.Errorf("Paths = %q", got)
		}
		if f.Backend() != backend {
			t.Errorf("Backend = %q, want %q", f.Backend(), backend)
		}
	})
}

// TestWaitsForFile checks a plain path that does not exist at start is
// followed from its first byte once it appears.
func TestWaitsForFile(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "later.log")
		o := testOptions(t, backend, p)
		o.Tail = true // applies only to files present at start
		f, c, _ := startFiles(t, o)
		if len(f.Paths()) != 0 {
			t.Fatalf("Paths = %q before the file exists", f.Paths())
		}
		appendTo(t, p, "first\nsecond\n")
		c.waitFor(t, "second")
		if got := c.texts(); !slices.Equal(got, []string{"first", "second"}) {
			t.Fatalf("got %q", got)
		}
	})
}

// TestGlob checks a glob picks up files that appear later (from their
// start) and several patterns that name the same file deliver it once.
func TestGlob(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a.log"), filepath.Join(dir, "b.log")
		appendTo(t, a, "a1\n")
		o := testOptions(t, backend, filepath.Join(dir, "*.log"), a)
		f, c, _ := startFiles(t, o)
		c.waitFor(t, "a1")
		appendTo(t, b, "b1\nb2\n")
		appendTo(t, filepath.Join(dir, "c.txt"), "not matched\n")
		c.waitFor(t, "b2")
		appendTo(t, a, "a2\n")
		c.waitFor(t, "a2")
		got := c.texts()
		slices.Sort(got)
		if !slices.Equal(got, []string{"a1", "a2", "b1", "b2"}) {
			t.Fatalf("got %q", got)
		}
		waitUntil(t, "Paths lists both", func() bool { return slices.Equal(f.Paths(), []string{a, b}) })
	})
}

// TestSymlinkOnce checks one file reached by two paths is delivered once.
func TestSymlinkOnce(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		p, l := filepath.Join(dir, "real.log"), filepath.Join(dir, "link.log")
		appendTo(t, p, "x1\n")
		if err := os.Symlink(p, l); err != nil {
			t.Fatal(err)
		}
		_, c, _ := startFiles(t, testOptions(t, backend, p, l))
		c.waitFor(t, "x1")
		appendTo(t, p, "x2\n")
		c.waitFor(t, "x2")
		appendTo(t, p, "x3\n")
		c.waitFor(t, "x3")
		if got := c.texts(); !slices.Equal(got, []string{"x1", "x2", "x3"}) {
			t.Fatalf("got %q", got)
		}
	})
}

// TestRenameRotation checks rename-and-create: lines written to the old
// file after the rename are delivered, its unterminated last line too
// (once it is quiet), and the new file from its first line.
func TestRenameRotation(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "x.log")
		appendTo(t, p, "old1\n")
		f, c, _ := startFiles(t, testOptions(t, backend, p))
		c.waitFor(t, "old1")

		w, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(p, p+".1"); err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(w, "old2\nold3 unterminated")
		w.Close()
		appendTo(t, p, "new1\n")
		c.waitFor(t, "new1")
		c.waitFor(t, "old3 unterminated")
		appendTo(t, p, "new2\n")
		ls := c.waitFor(t, "new2")
		var got []string
		for _, l := range ls {
			got = append(got, fmt.Sprintf("%s@%d", l.Text, l.Offset))
		}
		slices.Sort(got)
		want := []string{"new1@0", "new2@5", "old1@0", "old2@5", "old3 unterminated@10"}
		if !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		if s := f.Stats(); s.Rotations != 1 {
			t.Errorf("Rotations = %d, want 1", s.Rotations)
		}
	})
}

// TestRotatedNameMatchesGlob checks a rotated file that the glob also
// matches (x.log*) is not read again from its start.
func TestRotatedNameMatchesGlob(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "x.log")
		appendTo(t, p, "a\nb\n")
		_, c, _ := startFiles(t, testOptions(t, backend, filepath.Join(dir, "x.log*")))
		c.waitFor(t, "b")
		if err := os.Rename(p, p+".1"); err != nil {
			t.Fatal(err)
		}
		appendTo(t, p+".1", "c\n")
		appendTo(t, p, "d\n")
		c.waitFor(t, "d")
		c.waitFor(t, "c")
		time.Sleep(300 * time.Millisecond) // a few rescans: any re-read would show
		appendTo(t, p, "e\n")
		c.waitFor(t, "e")
		got := c.texts()
		slices.Sort(got)
		if !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
			t.Fatalf("got %q", got)
		}
	})
}

// TestRotatedFoundLate checks a rotated file a glob matches, found only
// after it was closed as quiet, is continued where it was closed.
func TestRotatedFoundLate(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	appendTo(t, p, "a\nb\n")
	o := testOptions(t, BackendPolling, filepath.Join(dir, "x.log*"))
	o.RotateWait = time.Millisecond
	o.Rescan = time.Hour // found by the glob only when the test says
	f, c, _ := startFiles(t, o)
	c.waitFor(t, "b")
	if err := os.Rename(p, p+".1"); err != nil {
		t.Fatal(err)
	}
	appendTo(t, p+".1", "c\n")
	appendTo(t, p, "d\n")
	c.waitFor(t, "d")
	c.waitFor(t, "c")
	waitUntil(t, "rotated file closed", func() bool { return len(f.Paths()) == 1 && f.Stats().Rotations == 1 })
	time.Sleep(50 * time.Millisecond) // a few polls: closed by now
	appendTo(t, p+".1", "late\n")
	// A directory event would find it; polling finds it at the rescan.
	f.rescanReq <- struct{}{}
	c.waitFor(t, "late")
	appendTo(t, p, "e\n")
	c.waitFor(t, "e")
	got := c.texts()
	slices.Sort(got)
	if !slices.Equal(got, []string{"a", "b", "c", "d", "e", "late"}) {
		t.Fatalf("got %q", got)
	}
}

// TestTruncation checks copytruncate and plain truncation: the file is
// read again from 0, the partial line read before is delivered, and no
// line from before the truncation is delivered again.
func TestTruncation(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "x.log")
		appendTo(t, p, "one\ntwo\npart")
		f, c, _ := startFiles(t, testOptions(t, backend, p))
		c.waitFor(t, "two")
		// copytruncate: copy, then truncate in place.
		if err := os.Truncate(p, 0); err != nil {
			t.Fatal(err)
		}
		c.waitFor(t, "part")
		// Grown past the old size before the follower looks again: only
		// the first line's hash tells.
		appendTo(t, p, "a much longer first line than before\nafter1\n")
		c.waitFor(t, "after1")
		if err := os.Truncate(p, 0); err != nil {
			t.Fatal(err)
		}
		appendTo(t, p, "x\n")
		c.waitFor(t, "x")
		want := []string{"one", "two", "part", "a much longer first line than before", "after1", "x"}
		if got := c.texts(); !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		if s := f.Stats(); s.Truncations != 2 {
			t.Errorf("Truncations = %d, want 2", s.Truncations)
		}
	})
}

// TestGoneAndBack checks a file moved away and back is continued, and a
// file deleted and created again is read from its start.
func TestGoneAndBack(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "x.log")
		appendTo(t, p, "a\n")
		_, c, _ := startFiles(t, testOptions(t, backend, p))
		c.waitFor(t, "a")
		if err := os.Rename(p, p+".tmp"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond) // let it notice (or not): both must work
		appendTo(t, p+".tmp", "b\n")
		if err := os.Rename(p+".tmp", p); err != nil {
			t.Fatal(err)
		}
		appendTo(t, p, "c\n")
		c.waitFor(t, "c")
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		appendTo(t, p, "new\n")
		c.waitFor(t, "new")
		if got := c.texts(); !slices.Equal(got, []string{"a", "b", "c", "new"}) {
			t.Fatalf("got %q", got)
		}
	})
}

// TestLongLinesAndGarbage checks the line cap, NUL bytes, invalid UTF-8
// and a latin-1 log.
func TestLongLinesAndGarbage(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		p, q := filepath.Join(dir, "x.log"), filepath.Join(dir, "latin.log")
		o := testOptions(t, backend, p)
		o.MaxLine = 16
		f, c, _ := startFiles(t, o)
		long := strings.Repeat("L", 40)
		appendTo(t, p, "short\n"+long[:20])
		appendTo(t, p, long[20:]+"\n\x00\x00\x00bin\x00\nbad \xff\xe2\x82 utf\nend\n")
		c.waitFor(t, "end")
		want := []string{"short", strings.Repeat("L", 16), "\x00\x00\x00bin\x00", "bad \ufffd\ufffd utf", "end"}
		if got := c.texts(); !slices.Equal(got, want) {
			t.Fatalf("got %q, want %q", got, want)
		}
		if s := f.Stats(); s.Cut != 1 || s.Replaced != 1 || s.Lines != 5 {
			t.Errorf("Stats = %+v, want Cut 1, Replaced 1, Lines 5", s)
		}

		o = testOptions(t, backend, q)
		o.Encoding = "latin-1"
		appendTo(t, q, "caf\xe9\n")
		_, c2, _ := startFiles(t, o)
		c2.waitFor(t, "café")
	})
}

// TestCutMultibyte checks a cut inside a UTF-8 character does not add a
// replacement character.
func TestCutMultibyte(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	o := testOptions(t, BackendPolling, p)
	o.MaxLine = 5
	appendTo(t, p, "abcd€€\nok\n")
	_, c, _ := startFiles(t, o)
	c.waitFor(t, "ok")
	if got := c.texts(); !slices.Equal(got, []string{"abcd", "ok"}) {
		t.Fatalf("got %q", got)
	}
}

// TestResume checks the start position: the stored one when the file is
// the same, its start when it is another (or has no stored position), its
// end with Tail for a file with no stored position.
func TestResume(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		p := filepath.Join(dir, "x.log")
		pos := &MemoryPositions{}
		run := func(tail bool, last string) []string {
			o := testOptions(t, backend, p)
			o.Positions = pos
			o.Tail = tail
			_, c, stop := startFiles(t, o)
			c.waitFor(t, last)
			stop()
			return c.texts()
		}
		appendTo(t, p, "1\n2\n")
		if got := run(false, "2"); !slices.Equal(got, []string{"1", "2"}) {
			t.Fatalf("first run: %q", got)
		}
		appendTo(t, p, "3\n")
		if got := run(true, "3"); !slices.Equal(got, []string{"3"}) {
			t.Fatalf("resumed run: %q", got)
		}
		// Another file at the path, longer than the stored offset.
		os.Remove(p)
		appendTo(t, p, "other 1\nother 2\nother 3\n")
		if got := run(true, "other 3"); !slices.Equal(got, []string{"other 1", "other 2", "other 3"}) {
			t.Fatalf("replaced file: %q", got)
		}
		// Tail with no stored position: start after the last complete
		// line; the line being written is delivered once complete.
		pos = &MemoryPositions{}
		appendTo(t, p, "being writ")
		o := testOptions(t, backend, p)
		o.Positions = pos
		o.Tail = true
		_, c, _ := startFiles(t, o)
		appendTo(t, p, "ten\nlast\n")
		c.waitFor(t, "last")
		if got := c.texts(); !slices.Equal(got, []string{"being written", "last"}) {
			t.Fatalf("tail: %q", got)
		}
	})
}

// TestTailMidLine checks Tail on a file whose end is far from any newline
// skips the unfinished line rather than delivering its tail.
func TestTailMidLine(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	appendTo(t, p, "done\n"+strings.Repeat("z", readChunk+10))
	o := testOptions(t, BackendPolling, p)
	o.Tail = true
	_, c, _ := startFiles(t, o)
	appendTo(t, p, "zz\nnext\n")
	c.waitFor(t, "next")
	if got := c.texts(); !slices.Equal(got, []string{"next"}) {
		t.Fatalf("got %q", got)
	}
}

// TestDeliverError checks an error from the callback stops Run with it,
// and the line is not counted: the next Run delivers it again.
func TestDeliverError(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	appendTo(t, p, "a\nb\nc\n")
	pos := &MemoryPositions{}
	o := testOptions(t, BackendPolling, p)
	o.Positions = pos
	f, err := NewFiles(o)
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	var got []string
	err = f.Run(context.Background(), func(l Line) error {
		if l.Text == "b" {
			return boom
		}
		got = append(got, l.Text)
		return nil
	})
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "source: ") {
		t.Fatalf("Run = %v, want a wrapped boom", err)
	}
	if sp, _ := pos.Load(p); sp.Offset != 2 {
		t.Fatalf("saved offset %d, want 2 (after a)", sp.Offset)
	}
	_, c, _ := startFiles(t, o)
	c.waitFor(t, "c")
	if all := append(got, c.texts()...); !slices.Equal(all, []string{"a", "b", "c"}) {
		t.Fatalf("got %q", all)
	}
}

// TestContextEnds checks Run returns nil when the context ends, also while
// blocked in deliver on a backlog.
func TestContextEnds(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	appendTo(t, p, numbered(1, 10000, "l"))
	f, err := NewFiles(testOptions(t, BackendInotify, p))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = f.Run(ctx, func(Line) error {
		if n++; n == 100 {
			cancel()
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Run = %v, want nil", err)
	}
	if n != 100 {
		t.Errorf("%d lines delivered, want none after the 100th cancelled", n)
	}
}

// TestInotifyFallback checks the inotify backend polls when the kernel
// gives no inotify instance.
func TestInotifyFallback(t *testing.T) {
	failWatcher(t)
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	f, c, _ := startFiles(t, testOptions(t, BackendInotify, p))
	if f.Backend() != BackendPolling {
		t.Errorf("Backend = %q, want polling", f.Backend())
	}
	appendTo(t, p, "a\n")
	c.waitFor(t, "a")
}

// TestDirectoryAppears checks a pattern whose directory does not exist at
// start (no watch possible) is followed once it is created.
func TestDirectoryAppears(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		dir := filepath.Join(t.TempDir(), "later")
		_, c, _ := startFiles(t, testOptions(t, backend, filepath.Join(dir, "*.log"), filepath.Join(dir, "fixed")))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		appendTo(t, filepath.Join(dir, "a.log"), "a1\n")
		appendTo(t, filepath.Join(dir, "fixed"), "f1\n")
		c.waitFor(t, "a1")
		c.waitFor(t, "f1")
		appendTo(t, filepath.Join(dir, "a.log"), "a2\n")
		c.waitFor(t, "a2")
		got := c.texts()
		slices.Sort(got)
		if !slices.Equal(got, []string{"a1", "a2", "f1"}) {
			t.Fatalf("got %q", got)
		}
	})
}

// TestImportedPosition checks a position from fail2ban's database (first
// line hash and offset, no inode) resumes the file it was saved for.
func TestImportedPosition(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.log")
	appendTo(t, p, "first\nsecond\nthird\n")
	pos := &MemoryPositions{}
	pos.Save(p, Position{Hash: md5hex("another first line\n"), Offset: 6})
	o := testOptions(t, BackendPolling, p)
	o.Positions = pos
	_, c, stop := startFiles(t, o)
	c.waitFor(t, "third")
	stop()
	if got := c.texts(); !slices.Equal(got, []string{"first", "second", "third"}) {
		t.Fatalf("other hash: %q", got)
	}
	pos.Save(p, Position{Hash: md5hex("first\n"), Offset: 6})
	_, c, _ = startFiles(t, o)
	c.waitFor(t, "third")
	if got := c.texts(); !slices.Equal(got, []string{"second", "third"}) {
		t.Fatalf("fail2ban's hash: %q", got)
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
