package daemon

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/testenv"
)

// needRoot skips a kernel test outside CI when not root, and fails it in
// CI, where a skipped check would pass by not checking.
func needRoot(t *testing.T, tools ...string) {
	t.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root to create a network namespace"
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil && why == "" {
			why = tool + " not installed"
		}
	}
	if why == "" {
		return
	}
	testenv.Missing(t, why)
}

// netNS is a network namespace made for one test, removed after it. The
// daemon's kernel actions work in it, never in the host's tables.
type netNS struct {
	name string
}

func newNetNS(t *testing.T) *netNS {
	t.Helper()
	n := &netNS{name: fmt.Sprintf("banserver-daemon-%d", rand.Uint32())}
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", n.name).Run() })
	n.ip(t, "link", "set", "lo", "up")
	// An interface with an address of its own, so the own-address refusal
	// has something to refuse (this kernel has no dummy driver: a veth pair
	// with both ends inside).
	n.ip(t, "link", "add", "d0", "type", "veth", "peer", "name", "d0p")
	n.ip(t, "addr", "add", "192.0.2.254/24", "dev", "d0")
	n.ip(t, "-6", "addr", "add", "2001:db8:ffff::1/64", "dev", "d0", "nodad")
	n.ip(t, "link", "set", "d0", "up")
	n.ip(t, "link", "set", "d0p", "up")
	return n
}

func (n *netNS) path() string { return "/run/netns/" + n.name }

// kernelSection is the configuration's kernel section that puts the
// daemon's kernel actions in n.
func (n *netNS) kernelSection() string { return fmt.Sprintf("kernel:\n  netns: %s\n", n.path()) }

// config writes a configuration file of n's kernel section and then text
// (the jails, usually), and returns its path.
func (n *netNS) config(t *testing.T, text string) string {
	t.Helper()
	return writeConfig(t, n.kernelSection()+text)
}

func (n *netNS) ip(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", n.name}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip -n %s %s: %v\n%s", n.name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// routes lists the namespace's routes with banserver's protocol number,
// IPv4 and IPv6, as "TYPE DST" lines.
func (n *netNS) routes(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, fam := range []string{"-4", "-6"} {
		for _, l := range strings.Split(strings.TrimSpace(n.ip(t, fam, "route", "show", "proto", "244")), "\n") {
			if f := strings.Fields(l); len(f) >= 2 {
				out = append(out, f[0]+" "+f[1])
			}
		}
	}
	return out
}

// waitRoutes polls until the protocol-244 routes are exactly want (order
// free); actions run off the request path, within milliseconds.
func (n *netNS) waitRoutes(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := n.routes(t)
		if sameSet(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("routes %q, want %q", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, v := range m {
		if v != 0 {
			return false
		}
	}
	return true
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "banserver.yaml")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestKernelRoutes drives the whole daemon over its socket and watches the
// routes come and go in a namespace of the test's own.
func TestKernelRoutes(t *testing.T) {
	needRoot(t, "ip")
	ns := newNetNS(t)
	// Routes the operator added by hand, one with another protocol on an
	// address the test will ban: banserver must never touch them.
	ns.ip(t, "route", "add", "blackhole", "203.0.113.9", "proto", "static")
	ns.ip(t, "-6", "route", "add", "blackhole", "2001:db8:9::9", "proto", "static")
	// A stale route of banserver's own, as a crash would leave behind.
	ns.ip(t, "route", "add", "blackhole", "198.51.100.99", "proto", "244")

	cfg := ns.config(t, `
jails:
  - name: api
    maxretry: 3
    findtime: 30m
    bantime: 1h
    ignoreip: [192.0.2.10]
    actions: [blackhole]
  - name: v6
    maxretry: 2
    bantime: 2s
    ipv6prefix: 64
    actions: [blackhole]
`)
	sock, cancel, done := runDaemon(t, Options{ConfigPath: cfg, Socket: filepath.Join(t.TempDir(), "ban.sock"), DB: "none"})

	// Start-up reconciled: the stale route is gone, the hand-made ones stay.
	ns.waitRoutes(t)
	if !strings.Contains(ns.ip(t, "route", "show", "203.0.113.9"), "proto static") {
		t.Fatal("the hand-made route is gone")
	}

	steps := []struct {
		name     string
		args     []any
		wantCode int
		want     any
		routes   []string
	}{
		{name: "banip v4 and v6", args: []any{"set", "api", "banip", "198.51.100.1", "2001:db8::1"}, want: int64(2),
			routes: []string{"blackhole 198.51.100.1", "blackhole 2001:db8::1"}},
		{name: "attempts ban at maxretry", args: []any{"set", "api", "attempt", "198.51.100.2"}, want: int64(1),
			routes: []string{"blackhole 198.51.100.1", "blackhole 2001:db8::1"}},
		{name: "attempt 2", args: []any{"set", "api", "attempt", "198.51.100.2"}, want: int64(1),
			routes: []string{"blackhole 198.51.100.1", "blackhole 2001:db8::1"}},
		{name: "attempt 3 bans", args: []any{"set", "api", "attempt", "198.51.100.2"}, want: int64(1),
			routes: []string{"blackhole 198.51.100.1", "blackhole 2001:db8::1", "blackhole 198.51.100.2"}},
		{name: "unbanip", args: []any{"set", "api", "unbanip", "198.51.100.1"}, want: int64(1),
			routes: []string{"blackhole 2001:db8::1", "blackhole 198.51.100.2"}},
		{name: "an ignored address is refused", args: []any{"set", "api", "banip", "192.0.2.10"}, wantCode: 1,
			routes: []string{"blackhole 2001:db8::1", "blackhole 198.51.100.2"}},
		{name: "the host's own address is refused", args: []any{"set", "api", "banip", "192.0.2.254"}, wantCode: 1,
			routes: []string{"blackhole 2001:db8::1", "blackhole 198.51.100.2"}},
		{name: "loopback is refused", args: []any{"set", "api", "banip", "127.0.0.1"}, wantCode: 1,
			routes: []string{"blackhole 2001:db8::1", "blackhole 198.51.100.2"}},
		{name: "a banned address with a foreign route: the foreign route stays", args: []any{"set", "api", "banip", "203.0.113.9"}, want: int64(1),
			routes: []string{"blackhole 2001:db8::1", "blackhole 198.51.100.2"}},
		{name: "unban --all", args: []any{"unban", "--all"}, want: int64(3), routes: nil},
		{name: "v6 attempts ban the /64", args: []any{"set", "v6", "attempt", "2001:db8:5::1"}, want: int64(1), routes: nil},
		{name: "a second address of the /64", args: []any{"set", "v6", "attempt", "2001:db8:5::2"}, want: int64(1),
			routes: []string{"blackhole 2001:db8:5::/64"}},
	}
	for _, st := range steps {
		code, v := ask(t, sock, st.args...)
		if code != st.wantCode || (st.wantCode == 0 && v != st.want) {
			t.Fatalf("%s: %v -> (%d, %v), want (%d, %v)", st.name, st.args, code, v, st.wantCode, st.want)
		}
		ns.waitRoutes(t, st.routes...)
	}
	// The kernel drops traffic to another address of the banned /64: a
	// lookup lands on the blackhole, which ip reports as EINVAL.
	if out, err := exec.Command("ip", "-n", ns.name, "route", "get", "2001:db8:5::abcd").CombinedOutput(); err == nil ||
		!strings.Contains(string(out), "Invalid argument") {
		t.Fatalf("ip route get inside the banned /64: %v %s, want the blackhole's Invalid argument", err, out)
	}
	if !strings.HasPrefix(ns.ip(t, "-6", "route", "show", "2001:db8:5::/64"), "blackhole 2001:db8:5::/64") {
		t.Fatal("ip route show does not list the /64 as blackhole")
	}
	// Expiry (bantime 2s) takes the route away by itself.
	ns.waitRoutes(t)

	// A ban made now stays in the kernel when the daemon stops (bans must
	// outlive a restart); the next start reconciles it away, as no live ban
	// needs it without a ban store.
	if code, v := ask(t, sock, "set", "api", "banip", "198.51.100.50"); code != 0 || v != int64(1) {
		t.Fatalf("banip: (%d, %v)", code, v)
	}
	ns.waitRoutes(t, "blackhole 198.51.100.50")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	ns.waitRoutes(t, "blackhole 198.51.100.50")
	_, cancel2, done2 := runDaemon(t, Options{ConfigPath: cfg, Socket: filepath.Join(t.TempDir(), "ban.sock"), DB: "none"})
	ns.waitRoutes(t)
	cancel2()
	if err := <-done2; err != nil {
		t.Fatalf("Run: %v", err)
	}
	for _, r := range []string{"203.0.113.9", "2001:db8:9::9"} {
		if !strings.Contains(ns.ip(t, "route", "show", r), "proto static") && !strings.Contains(ns.ip(t, "-6", "route", "show", r), "proto static") {
			t.Fatalf("the hand-made route to %s did not survive", r)
		}
	}
}

// TestKernelFlushOnStop: with kernel.flush_on_stop the routes go with the
// daemon.
func TestKernelFlushOnStop(t *testing.T) {
	needRoot(t, "ip")
	ns := newNetNS(t)
	cfg := ns.config(t, `
  flush_on_stop: true
jails:
  - name: api
    actions: [blackhole]
`)
	sock, cancel, done := runDaemon(t, Options{ConfigPath: cfg, Socket: filepath.Join(t.TempDir(), "ban.sock"), DB: "none"})
	if code, v := ask(t, sock, "set", "api", "banip", "198.51.100.1"); code != 0 || v != int64(1) {
		t.Fatalf("banip: (%d, %v)", code, v)
	}
	ns.waitRoutes(t, "blackhole 198.51.100.1")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := ns.routes(t); len(got) != 0 {
		t.Fatalf("routes after a flushing stop: %q", got)
	}
}

// TestKernelNftables: the nftables action through the daemon.
func TestKernelNftables(t *testing.T) {
	needRoot(t, "ip", "nft")
	ns := newNetNS(t)
	cfg := ns.config(t, `
jails:
  - name: api
    actions: [nftables]
`)
	sock, _, _ := runDaemon(t, Options{ConfigPath: cfg, Socket: filepath.Join(t.TempDir(), "ban.sock"), DB: "none"})
	elements := func() string {
		out, err := exec.Command("ip", "netns", "exec", ns.name, "nft", "list", "table", "inet", "banserver").CombinedOutput()
		if err != nil {
			t.Fatalf("nft list: %v\n%s", err, out)
		}
		return string(out)
	}
	waitFor := func(what string, cond func(string) bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			s := elements()
			if cond(s) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: table is\n%s", what, s)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if code, v := ask(t, sock, "set", "api", "banip", "198.51.100.1", "2001:db8::1"); code != 0 || v != int64(2) {
		t.Fatalf("banip: (%d, %v)", code, v)
	}
	waitFor("elements after banip", func(s string) bool {
		return strings.Contains(s, "198.51.100.1") && strings.Contains(s, "2001:db8::1")
	})
	if code, v := ask(t, sock, "unban", "--all"); code != 0 || v != int64(2) {
		t.Fatalf("unban --all: (%d, %v)", code, v)
	}
	waitFor("no elements after unban --all", func(s string) bool {
		return !strings.Contains(s, "198.51.100.1") && !strings.Contains(s, "2001:db8::1")
	})
}

// TestKernelRestartWithStore: across a restart with the ban store, a live
// ban whose route went missing gets it back, and a ban that ended while
// the daemon was down loses its route.
func TestKernelRestartWithStore(t *testing.T) {
	needRoot(t, "ip")
	ns := newNetNS(t)
	cfg := ns.config(t, `
jails:
  - name: api
    bantime: 1h
    actions: [blackhole]
  - name: short
    bantime: 2s
    actions: [blackhole]
`)
	dir := t.TempDir()
	db := filepath.Join(dir, "bans.db")
	sock, cancel, done := runDaemon(t, Options{ConfigPath: cfg, Socket: filepath.Join(dir, "ban.sock"), DB: db})
	ask(t, sock, "set", "api", "banip", "198.51.100.1", "2001:db8::1")
	ask(t, sock, "set", "short", "banip", "198.51.100.2")
	ns.waitRoutes(t, "blackhole 198.51.100.1", "blackhole 2001:db8::1", "blackhole 198.51.100.2")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// While down: a route vanishes, and the short ban ends.
	ns.ip(t, "route", "del", "blackhole", "198.51.100.1", "proto", "244")
	time.Sleep(2500 * time.Millisecond)

	sock, _, _ = runDaemon(t, Options{ConfigPath: cfg, Socket: filepath.Join(dir, "ban2.sock"), DB: db})
	ns.waitRoutes(t, "blackhole 198.51.100.1", "blackhole 2001:db8::1")
	if got := banList(t, sock, "api"); !equal(got, []string{"198.51.100.1", "2001:db8::1"}) {
		t.Fatalf("api bans after restart: %v", got)
	}
	if got := banList(t, sock, "short"); len(got) != 0 {
		t.Fatalf("short bans after restart: %v", got)
	}
}
