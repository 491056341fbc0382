package route

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/testenv"
)

// skipOrFail skips outside CI and fails in CI (CI=true), where a missing
// tool or privilege means the test environment is broken.
func skipOrFail(tb testing.TB, reason string) {
	tb.Helper()
	testenv.Missing(tb, reason)
}

// testNS is a network namespace a test created with `ip netns add`: lo up,
// and an interface d0 holding 192.0.2.254/24 and 2001:db8:ffff::1/64 so the
// own-address checks have something to find.
type testNS struct {
	name, path string
}

// newNS creates the namespace and removes it with t.Cleanup. Tests never
// touch the host's own namespace.
func newNS(tb testing.TB) *testNS {
	tb.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(tb, "needs root to create a network namespace")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		skipOrFail(tb, "needs iproute2's ip: "+err.Error())
	}
	n := &testNS{name: fmt.Sprintf("banserver-test-%d", rand.Uint32())}
	n.path = "/run/netns/" + n.name
	if out, err := exec.Command("ip", "netns", "add", n.name).CombinedOutput(); err != nil {
		skipOrFail(tb, fmt.Sprintf("ip netns add: %v: %s", err, out))
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", n.name).CombinedOutput(); err != nil {
			tb.Errorf("ip netns del %s: %v: %s", n.name, err, out)
		}
	})
	n.ip(tb, "link", "set", "lo", "up")
	// A dummy interface is the natural holder for the addresses; kernels
	// built without it (this one) get a veth pair with both ends inside.
	if _, err := n.try("link", "add", "d0", "type", "dummy"); err != nil {
		n.ip(tb, "link", "add", "d0", "type", "veth", "peer", "name", "d0p")
		n.ip(tb, "link", "set", "d0p", "up")
	}
	n.ip(tb, "addr", "add", "192.0.2.254/24", "dev", "d0")
	n.ip(tb, "-6", "addr", "add", "2001:db8:ffff::1/64", "dev", "d0", "nodad")
	n.ip(tb, "link", "set", "d0", "up")
	return n
}

// ip runs `ip ARGS` in the namespace and fails the test on error.
func (n *testNS) ip(tb testing.TB, args ...string) string {
	tb.Helper()
	out, err := n.try(args...)
	if err != nil {
		tb.Fatalf("ip %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// try runs `ip ARGS` in the namespace; the error carries ip's output.
func (n *testNS) try(args ...string) (string, error) {
	out, err := exec.Command("ip", append([]string{"-n", n.name}, args...)...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// routeGet returns what `ip route get ADDR` says. The kernel answers a
// lookup that lands on a blackhole, unreachable or prohibit route with that
// type's error (EINVAL, EHOSTUNREACH, EACCES) rather than a route, so the
// answer is ip's error text then.
func (n *testNS) routeGet(addr string) string {
	out, err := n.try("route", "get", addr)
	if err != nil {
		return err.Error()
	}
	return out
}

// getAnswer is what `ip route get` reports for an address behind a route of
// type t, and for one behind no route (the namespace has no default route).
var getAnswer = map[Type]string{
	Blackhole:   "Invalid argument",
	Unreachable: "No route to host",
	Prohibit:    "Permission denied",
	0:           "Network is unreachable",
}

// handle opens a netlink handle in the namespace for the test's own checks.
func (n *testNS) handle(tb testing.TB) *netlink.Handle {
	tb.Helper()
	ns, err := netns.GetFromPath(n.path)
	if err != nil {
		tb.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(h.Close)
	return h
}

// kernelRoute is one route as the test sees it in the namespace.
type kernelRoute struct {
	Prefix netip.Prefix
	Type   Type
	Proto  int
}

// routes lists table's routes in the namespace with a destination among
// the documentation ranges, sorted.
func (n *testNS) routes(tb testing.TB, h *netlink.Handle, table int) []kernelRoute {
	tb.Helper()
	rs, err := h.RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
	if err != nil {
		tb.Fatal(err)
	}
	var out []kernelRoute
	for _, r := range rs {
		p, ok := prefixOf(r.Dst)
		if !ok || !isDoc(p) || r.Protocol == unix.RTPROT_KERNEL {
			continue
		}
		out = append(out, kernelRoute{p, Type(r.Type), int(r.Protocol)})
	}
	slices.SortFunc(out, func(a, b kernelRoute) int { return strings.Compare(a.Prefix.String(), b.Prefix.String()) })
	return out
}

var docRanges = []netip.Prefix{
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("2001:db8::/32"),
}

func isDoc(p netip.Prefix) bool {
	for _, d := range docRanges {
		if d.Overlaps(p) {
			return true
		}
	}
	return false
}

// newAction builds an action in the namespace and closes it (without
// flush) at cleanup.
func newAction(tb testing.TB, n *testNS, o Options) *Action {
	tb.Helper()
	o.NetNS = n.path
	a, err := New("", o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { a.Close(context.Background(), false) })
	return a
}

func target(jail, prefix string) actions.Target {
	return actions.Target{Jail: jail, Prefix: pfx(prefix), Start: time.Unix(1_700_000_000, 0), BanTime: time.Hour}
}

// pfx parses a prefix, or an address as its host prefix.
func pfx(s string) netip.Prefix {
	if strings.Contains(s, "/") {
		return netip.MustParsePrefix(s)
	}
	a := netip.MustParseAddr(s)
	return netip.PrefixFrom(a, a.BitLen())
}

func ours(typ Type, prefixes ...string) []kernelRoute {
	var out []kernelRoute
	for _, p := range prefixes {
		out = append(out, kernelRoute{pfx(p).Masked(), typ, DefaultProtocol})
	}
	slices.SortFunc(out, func(a, b kernelRoute) int { return strings.Compare(a.Prefix.String(), b.Prefix.String()) })
	return out
}
