package jail

import (
	"flag"
	"net/netip"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/banserver/banserver/testenv"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// missing skips a test that needs an absent tool, or fails it under CI,
// where every tool is expected to be installed.
func missing(t testing.TB, reason string) {
	t.Helper()
	testenv.Missing(t, reason)
}

// fail2banPython returns a python3 that can import fail2ban (Debian's
// package lives outside pyenv's path), or skips/fails via missing.
func fail2banPython(t testing.TB) string {
	t.Helper()
	for _, c := range []string{"python3", "/usr/bin/python3"} {
		p, err := exec.LookPath(c)
		if err != nil {
			continue
		}
		if exec.Command(p, "-c", "import fail2ban.server.mytime").Run() == nil {
			return p
		}
	}
	missing(t, "no python3 that imports fail2ban (apt-get install fail2ban)")
	return ""
}

// clock is a settable time source for Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newClock() *clock { return &clock{t: epoch} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// recorder collects events.
type recorder struct {
	mu sync.Mutex
	ev []Event
	ch chan Event // receives every event when non-nil
}

func (r *recorder) on(e Event) {
	r.mu.Lock()
	r.ev = append(r.ev, e)
	r.mu.Unlock()
	if r.ch != nil {
		r.ch <- e
	}
}

func (r *recorder) events() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Event(nil), r.ev...)
}

func (r *recorder) count(k EventKind) int {
	n := 0
	for _, e := range r.events() {
		if e.Kind == k {
			n++
		}
	}
	return n
}

// fixture is a Manager on a fake clock recording its events.
type fixture struct {
	m   *Manager
	clk *clock
	rec *recorder
}

func newFixture(t testing.TB, opts Options) *fixture {
	t.Helper()
	f := &fixture{clk: newClock(), rec: &recorder{}}
	if opts.Now == nil {
		opts.Now = f.clk.Now
	}
	if opts.OnEvent == nil {
		opts.OnEvent = f.rec.on
	}
	if opts.SelfAddrs == nil {
		opts.SelfAddrs = func() []netip.Addr { return nil }
	}
	f.m = NewManager(opts)
	return f
}

// add creates a jail or fails the test.
func (f *fixture) add(t testing.TB, cfg Config) {
	t.Helper()
	if err := f.m.Add(cfg); err != nil {
		t.Fatalf("Add(%q): %v", cfg.Name, err)
	}
}

func mustAddr(s string) netip.Addr {
	a, err := netip.ParseAddr(s)
	if err != nil {
		panic(err)
	}
	return a
}

func mustPrefix(s string) netip.Prefix {
	p, err := ParseIgnore(s)
	if err != nil {
		panic(err)
	}
	return p
}

// nthAddr returns a distinct documentation-free test address for i: the
// 10.0.0.0/8 private range has room for any pool a test needs.
func nthAddr(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}
