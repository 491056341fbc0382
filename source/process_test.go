package source

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The child process's side of the tests below: the test binary re-executed
// with -test.run=TestHelperProcess and SOURCE_HELPER set. A no-op otherwise.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("SOURCE_HELPER")
	if mode == "" {
		return
	}
	var err error
	switch mode {
	case "writer":
		err = rotatingWriter(os.Getenv("SOURCE_PATH"), os.Stdin, os.Stdout)
	case "follower":
		err = recordingFollower(os.Getenv("SOURCE_PATH"), os.Getenv("SOURCE_BACKEND"), os.Getenv("SOURCE_POS"), os.Getenv("SOURCE_REC"))
	default:
		err = fmt.Errorf("unknown mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(2)
	}
	os.Exit(0)
}

// helper starts the test binary as a child in the given mode.
func helper(t *testing.T, mode string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), append([]string{"SOURCE_HELPER=" + mode}, env...)...)
	cmd.Stderr = os.Stderr
	return cmd
}

// Lines the rotating writer writes: "%08d g%d pad": its number (from 1),
// the generation of the file it went to (one per rotation or truncation),
// padding so reads end inside lines.
const (
	writerSegment = 400 // lines between two rotations
	writerAfter   = 25  // lines written to the old file after its rename
)

// rotatingWriter appends numbered lines to path at a steady pace (a
// millisecond's sleep every 8 lines), rotating it three times by rename
// and create (writing to the old file after each rename, and leaving an
// unterminated line in the second), then by copytruncate, then by a plain
// truncation. Before each truncation it prints "sync N" and waits for a
// line on stdin: what is not read when a file is truncated is gone for
// any reader, so the test lets the follower catch up first. It ends with
// "done N".
func rotatingWriter(path string, in io.Reader, out io.Writer) error {
	stdin := bufio.NewReader(in)
	rng := rand.New(rand.NewPCG(1, 2))
	n, gen := 0, 0
	w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	write := func(k int) error {
		for range k {
			n++
			line := fmt.Sprintf("%08d g%d %s\n", n, gen, strings.Repeat("p", rng.IntN(120)))
			if rng.IntN(10) == 0 { // a line in two writes
				cut := rng.IntN(len(line))
				if _, err := w.WriteString(line[:cut]); err != nil {
					return err
				}
				time.Sleep(200 * time.Microsecond)
				line = line[cut:]
			}
			if _, err := w.WriteString(line); err != nil {
				return err
			}
			if n%8 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		return nil
	}
	sync := func() error {
		fmt.Fprintf(out, "sync %d\n", n)
		_, err := stdin.ReadString('\n')
		return err
	}
	if err := write(writerSegment); err != nil {
		return err
	}
	for r := 1; r <= 3; r++ {
		if err := os.Rename(path, fmt.Sprintf("%s.%d", path, r)); err != nil {
			return err
		}
		if err := write(writerAfter); err != nil { // the writer has not reopened yet
			return err
		}
		if r == 2 {
			n++
			fmt.Fprintf(w, "%08d g%d unterminated", n, gen)
		}
		w.Close()
		gen++
		if w, err = os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|os.O_EXCL, 0o644); err != nil {
			return err
		}
		if err := write(writerSegment); err != nil {
			return err
		}
	}
	// copytruncate: copy, then truncate in place; the writer keeps its
	// descriptor (O_APPEND: its next line goes to offset 0).
	if err := sync(); err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := os.WriteFile(path+".ct", data, 0o644); err != nil {
		return err
	}
	if err := os.Truncate(path, 0); err != nil {
		return err
	}
	gen++
	if err := write(2 * writerSegment); err != nil { // grows past the old size
		return err
	}
	// A plain truncation.
	if err := sync(); err != nil {
		return err
	}
	if err := w.Truncate(0); err != nil {
		return err
	}
	gen++
	if err := write(writerSegment); err != nil {
		return err
	}
	w.Close()
	fmt.Fprintf(out, "done %d\n", n)
	return nil
}

// parseNumbered reads the number and generation of a writer's line.
func parseNumbered(s string) (n, gen int, ok bool) {
	f := strings.Fields(s)
	if len(f) < 2 || !strings.HasPrefix(f[1], "g") {
		return 0, 0, false
	}
	n, err1 := strconv.Atoi(f[0])
	gen, err2 := strconv.Atoi(f[1][1:])
	return n, gen, err1 == nil && err2 == nil
}

// TestRotatingWriterProcess runs the follower while another process
// writes, rotates (rename and create, three times), copytruncates and
// truncates the file, and checks every line written was delivered exactly
// once, in order within each file generation.
func TestRotatingWriterProcess(t *testing.T) {
	forBackends(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		path := filepath.Join(dir, "x.log")
		f, c, _ := startFiles(t, testOptions(t, backend, path))

		cmd := helper(t, "writer", "SOURCE_PATH="+path)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		seen := func(n int) func() bool {
			return func() bool {
				for _, l := range c.all() {
					if k, _, ok := parseNumbered(l.Text); ok && k == n {
						return true
					}
				}
				return false
			}
		}
		total := 0
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var n int
			switch {
			case sscan(sc.Text(), "sync %d", &n):
				waitUntil(t, fmt.Sprintf("line %d before a truncation", n), seen(n))
				fmt.Fprintln(stdin, "go")
			case sscan(sc.Text(), "done %d", &n):
				total = n
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("writer: %v", err)
		}
		if total == 0 {
			t.Fatal("writer did not finish")
		}
		waitUntil(t, "every line", func() bool { return len(c.all()) >= total })
		// A last line after everything: a duplicate would come before it.
		appendTo(t, path, "final g99\n")
		c.waitFor(t, "final g99")

		count := make(map[int]int)
		last := make(map[int]int) // generation -> last number
		unterminated := false
		for _, l := range c.all() {
			if l.Text == "final g99" {
				continue
			}
			n, gen, ok := parseNumbered(l.Text)
			if !ok {
				t.Fatalf("unexpected line %q", l.Text)
			}
			count[n]++
			if n <= last[gen] {
				t.Errorf("line %d after line %d in generation %d", n, last[gen], gen)
			}
			last[gen] = n
			if strings.HasSuffix(l.Text, "unterminated") {
				unterminated = true
			}
		}
		for n := 1; n <= total; n++ {
			if count[n] != 1 {
				t.Errorf("line %d delivered %d times", n, count[n])
			}
		}
		if len(count) != total {
			t.Errorf("%d distinct lines, want %d", len(count), total)
		}
		if !unterminated {
			t.Error("the unterminated line left at a rotation was not delivered")
		}
		s := f.Stats()
		if s.Rotations != 3 || s.Truncations != 2 {
			t.Errorf("Stats = %+v, want 3 rotations and 2 truncations", s)
		}
		t.Logf("%d lines, %+v", total, s)
	})
}

func sscan(s, format string, v *int) bool {
	_, err := fmt.Sscanf(s, format, v)
	return err == nil
}

// filePositions is a Positions kept in a JSON file, written durably at
// each Save (temporary file, fsync, rename): what a store's durable copy
// is after its commit.
type filePositions struct {
	path string
	mu   sync.Mutex // guards m
	m    map[string]Position
}

func loadFilePositions(path string) (*filePositions, error) {
	fp := &filePositions{path: path, m: make(map[string]Position)}
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return fp, nil
	}
	if err != nil {
		return nil, err
	}
	return fp, json.Unmarshal(data, &fp.m)
}

func (fp *filePositions) Load(name string) (Position, bool) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	p, ok := fp.m[name]
	return p, ok
}

func (fp *filePositions) Save(name string, p Position) {
	fp.mu.Lock()
	defer fp.mu.Unlock()
	fp.m[name] = p
	data, err := json.Marshal(fp.m)
	if err != nil {
		panic(err)
	}
	tmp := fp.path + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		panic(err)
	}
	if _, err := fh.Write(data); err != nil {
		panic(err)
	}
	if err := fh.Sync(); err != nil {
		panic(err)
	}
	fh.Close()
	if err := os.Rename(tmp, fp.path); err != nil {
		panic(err)
	}
}

// recordingFollower follows path, appending "offset length text" for each
// line to rec (one write per line, so a kill leaves whole records) before
// acknowledging it, with positions in a filePositions at pos.
func recordingFollower(path, backend, pos, rec string) error {
	fp, err := loadFilePositions(pos)
	if err != nil {
		return err
	}
	out, err := os.OpenFile(rec, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	f, err := NewFiles(FileOptions{Patterns: []string{path}, Backend: backend, Positions: fp, Interval: 20 * time.Millisecond})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	return f.Run(ctx, func(l Line) error {
		_, err := fmt.Fprintf(out, "%d %d %s\n", l.Offset, len(l.Text), l.Text)
		return err
	})
}

// record is one line a follower child delivered.
type record struct {
	off, size int64 // size with the newline
	n         int
}

func readRecords(t *testing.T, path string) []record {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var rs []record
	for _, s := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if s == "" {
			continue
		}
		var r record
		var text string
		if _, err := fmt.Sscanf(s, "%d %d %s", &r.off, &r.size, &text); err != nil {
			t.Fatalf("record %q: %v", s, err)
		}
		r.size++
		if len(text) < 8 {
			t.Fatalf("record %q: short text", s)
		}
		r.n, _ = strconv.Atoi(text[:8])
		rs = append(rs, r)
	}
	return rs
}

// TestKillFollower runs the follower in a child process that records each
// line before acknowledging it and keeps positions durably in a file; the
// child is killed with SIGKILL at random moments while lines are appended
// at a steady pace, and started again. At the end every line written was
// delivered at least once, each life of the child resumed exactly at the
// durable position its predecessor left, and the only lines delivered
// twice are those delivered after that durable position: at most the
// lines of one read (64 KiB) plus the one straddling into it.
func TestKillFollower(t *testing.T) {
	if testing.Short() {
		t.Skip("kills processes for several seconds")
	}
	forBackends(t, func(t *testing.T, backend string) {
		dir := t.TempDir()
		path, pos := filepath.Join(dir, "x.log"), filepath.Join(dir, "pos.json")
		const total, kills = 6000, 10
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))

		// The writer: lines of 9 to 400 bytes, some in two writes.
		written := make(chan struct{})
		go func() {
			defer close(written)
			w, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
			if err != nil {
				t.Error(err)
				return
			}
			defer w.Close()
			wr := rand.New(rand.NewPCG(7, 8))
			for n := 1; n <= total; n++ {
				line := fmt.Sprintf("%08d\n", n)
				if k := wr.IntN(400); k > 0 {
					line = fmt.Sprintf("%08d%s\n", n, strings.Repeat("x", k))
				}
				if wr.IntN(20) == 0 {
					cut := wr.IntN(len(line))
					w.WriteString(line[:cut])
					time.Sleep(100 * time.Microsecond)
					line = line[cut:]
				}
				w.WriteString(line)
				if n%4 == 0 {
					time.Sleep(time.Millisecond)
				}
			}
		}()

		start := func(life int) *exec.Cmd {
			cmd := helper(t, "follower", "SOURCE_PATH="+path, "SOURCE_BACKEND="+backend, "SOURCE_POS="+pos,
				fmt.Sprintf("SOURCE_REC=%s/rec-%d", dir, life))
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			return cmd
		}
		durable := make([]int64, kills) // offset in pos.json after each kill
		for life := range kills {
			cmd := start(life)
			time.Sleep(time.Duration(10+rng.IntN(200)) * time.Millisecond)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			// Dead for a while: the next life starts with a backlog.
			time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
			fp, err := loadFilePositions(pos)
			if err != nil {
				t.Fatalf("positions after kill %d: %v", life, err)
			}
			durable[life] = fp.m[path].Offset
		}
		<-written
		cmd := start(kills)
		recs := make([][]record, kills+1)
		waitUntil(t, "every line delivered", func() bool {
			seen := make(map[int]bool)
			for life := range kills + 1 {
				for _, r := range readRecords(t, fmt.Sprintf("%s/rec-%d", dir, life)) {
					seen[r.n] = true
				}
			}
			return len(seen) == total
		})
		cmd.Process.Signal(syscall.SIGTERM)
		if err := cmd.Wait(); err != nil {
			t.Errorf("last follower: %v", err)
		}
		for life := range kills + 1 {
			recs[life] = readRecords(t, fmt.Sprintf("%s/rec-%d", dir, life))
		}

		count := make(map[int]int)
		dups, maxWindow := 0, int64(0)
		resume := int64(0) // where this life must start
		for life, rs := range recs {
			for i, r := range rs {
				count[r.n]++
				if i == 0 && r.off != resume {
					t.Errorf("life %d started at offset %d, want the durable %d", life, r.off, resume)
				}
				if i > 0 && r.off != rs[i-1].off+rs[i-1].size {
					t.Errorf("life %d: line at %d after line at %d+%d: a gap or a repeat", life, r.off, rs[i-1].off, rs[i-1].size)
				}
			}
			if life == kills {
				break
			}
			// Delivered by this life after the durable position: the ones
			// the next life delivers again.
			var window int64
			for _, r := range rs {
				if r.off >= durable[life] {
					window += r.size
					dups++
				}
			}
			maxWindow = max(maxWindow, window)
			if limit := int64(readChunk + DefaultMaxLine); window > limit {
				t.Errorf("life %d delivered %d bytes past its durable position, bound %d", life, window, limit)
			}
			resume = durable[life]
		}
		redelivered := 0
		for n := 1; n <= total; n++ {
			switch c := count[n]; {
			case c == 0:
				t.Errorf("line %d never delivered", n)
			case c > 1:
				redelivered += c - 1
			}
		}
		if redelivered != dups {
			t.Errorf("%d repeated deliveries, but %d lines were past a durable position at a kill", redelivered, dups)
		}
		t.Logf("%s: %d lines, %d kills, %d delivered twice (largest window %d bytes)", backend, total, kills, redelivered, maxWindow)
	})
}
