package source

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"
)

// waitLimit bounds every wait for a delivery: generous, never a timing
// assertion.
const waitLimit = 30 * time.Second

// testBackends are the file backends every behaviour is checked with.
var testBackends = []string{BackendPolling, BackendInotify}

// collector records delivered lines.
type collector struct {
	mu    sync.Mutex // guards lines
	lines []Line
}

func (c *collector) deliver(l Line) error {
	c.mu.Lock()
	c.lines = append(c.lines, l)
	c.mu.Unlock()
	return nil
}

func (c *collector) all() []Line {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.lines)
}

func (c *collector) texts() []string {
	var s []string
	for _, l := range c.all() {
		s = append(s, l.Text)
	}
	return s
}

// waitFor waits until a delivered line has text want and returns all the
// lines delivered so far.
func (c *collector) waitFor(t testing.TB, want string) []Line {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		ls := c.all()
		for _, l := range ls {
			if l.Text == want {
				return ls
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("line %q not delivered within %v; got %q", want, waitLimit, c.texts())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitUntil polls cond until it holds.
func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, waitLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testOptions are FileOptions with short periods for tests.
func testOptions(t testing.TB, backend string, patterns ...string) FileOptions {
	return FileOptions{
		Patterns:   patterns,
		Backend:    backend,
		Positions:  &MemoryPositions{},
		Interval:   20 * time.Millisecond,
		Rescan:     100 * time.Millisecond,
		RotateWait: 200 * time.Millisecond,
		Log:        testLogger(t),
	}
}

func testLogger(t testing.TB) *zap.Logger {
	if testing.Verbose() {
		return zaptest.NewLogger(t)
	}
	return zap.NewNop()
}

// startFiles runs a follower until the test ends (or stop is called) and
// returns its collector.
func startFiles(t testing.TB, o FileOptions) (*Files, *collector, func()) {
	t.Helper()
	f, err := NewFiles(o)
	if err != nil {
		t.Fatal(err)
	}
	c := &collector{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	scans := f.scans.Load()
	go func() { done <- f.Run(ctx, c.deliver) }()
	// The first scan decides which files were there at start (Tail).
	waitUntil(t, "first scan", func() bool { return f.scans.Load() > scans || len(done) > 0 })
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
	return f, c, stop
}

// appendTo appends s to path (creating it), in one write.
func appendTo(t testing.TB, path, s string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fh.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := fh.Close(); err != nil {
		t.Fatal(err)
	}
}

func numbered(from, to int, prefix string) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%s%d\n", prefix, i)
	}
	return b.String()
}

func forBackends(t *testing.T, f func(t *testing.T, backend string)) {
	for _, b := range testBackends {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}
