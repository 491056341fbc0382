package nftables

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/banserver/banserver/testenv"
)

// need skips t with reason when ok is false, or fails it under CI=true,
// where a missing tool or privilege is a broken runner, not a choice.
func need(t testing.TB, ok bool, reason string) {
	t.Helper()
	if ok {
		return
	}
	testenv.Missing(t, reason)
}

// needKernel checks for what every kernel test needs: root, ip and nft.
func needKernel(t testing.TB) {
	t.Helper()
	need(t, os.Geteuid() == 0, "not root: network namespaces and nftables need CAP_NET_ADMIN")
	_, err := exec.LookPath("ip")
	need(t, err == nil, "ip (iproute2) is missing")
	_, err = exec.LookPath("nft")
	need(t, err == nil, "nft (Debian package nftables) is missing")
}

// run runs a command and fails t with its output if it fails.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newNS creates a network namespace that t owns and deletes at cleanup,
// and returns its name. Every kernel test works in one, never the host's.
func newNS(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("banserver-nft-%d", rand.IntN(1<<30))
	run(t, "ip", "netns", "add", name)
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v\n%s", name, err, out)
		}
	})
	run(t, "ip", "-n", name, "link", "set", "lo", "up")
	return name
}

func nsPath(name string) string { return "/run/netns/" + name }

// newAction opens an action in ns and closes it (flushing) at cleanup.
func newAction(t testing.TB, ns string) *Action {
	t.Helper()
	a, err := New("nftables", Options{NetNS: nsPath(ns)})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = a.Close(t.Context(), true) })
	return a
}

// nftElem is one element as `nft -j list set` shows it.
type nftElem struct {
	prefix  netip.Prefix
	timeout time.Duration // 0: none
	expires time.Duration
}

// nftSet lists a set of ns's banserver table with the nft CLI, the
// independent reader the tests check the action against.
func nftSet(t testing.TB, ns, set string) []nftElem {
	t.Helper()
	out := run(t, "ip", "netns", "exec", ns, "nft", "-j", "list", "set", "inet", DefaultTable, set)
	var doc struct {
		Nftables []struct {
			Set *struct {
				Elem []json.RawMessage `json:"elem"`
			} `json:"set"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("nft -j: %v\n%s", err, out)
	}
	var els []nftElem
	for _, o := range doc.Nftables {
		if o.Set == nil {
			continue
		}
		for _, raw := range o.Set.Elem {
			els = append(els, parseNftElem(t, raw))
		}
	}
	return els
}

func parseNftElem(t testing.TB, raw json.RawMessage) nftElem {
	t.Helper()
	var wrapped struct {
		Elem *struct {
			Val     json.RawMessage `json:"val"`
			Timeout int64           `json:"timeout"`
			Expires int64           `json:"expires"`
		} `json:"elem"`
	}
	var e nftElem
	val := raw
	if json.Unmarshal(raw, &wrapped) == nil && wrapped.Elem != nil {
		val = wrapped.Elem.Val
		e.timeout = time.Duration(wrapped.Elem.Timeout) * time.Second
		e.expires = time.Duration(wrapped.Elem.Expires) * time.Second
	}
	var s string
	if json.Unmarshal(val, &s) == nil {
		addr := netip.MustParseAddr(s)
		e.prefix = netip.PrefixFrom(addr, addr.BitLen())
		return e
	}
	var p struct {
		Prefix struct {
			Addr string `json:"addr"`
			Len  int    `json:"len"`
		} `json:"prefix"`
	}
	if err := json.Unmarshal(val, &p); err != nil || p.Prefix.Addr == "" {
		t.Fatalf("unexpected nft element %s", raw)
	}
	e.prefix = netip.PrefixFrom(netip.MustParseAddr(p.Prefix.Addr), p.Prefix.Len)
	return e
}

// nftPrefixes returns what nft shows in all four sets, sorted.
func nftPrefixes(t testing.TB, ns string) []netip.Prefix {
	t.Helper()
	var out []netip.Prefix
	for _, name := range setNames {
		for _, e := range nftSet(t, ns, name) {
			out = append(out, e.prefix)
		}
	}
	slices.SortFunc(out, comparePrefix)
	return out
}

// inNS runs f on a thread switched into the namespace at path, so sockets
// f creates live there.
func inNS(t testing.TB, path string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		// The thread is not unlocked: if switching back failed it must
		// die with the goroutine rather than serve others.
		orig, err := netns.Get()
		if err != nil {
			t.Errorf("netns.Get: %v", err)
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(path)
		if err != nil {
			t.Errorf("netns %s: %v", path, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			t.Errorf("setns %s: %v", path, err)
			return
		}
		f()
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread()
		}
	}()
	<-done
}

// listenIn opens a TCP listener in ns that accepts and closes connections
// until t ends.
func listenIn(t testing.TB, ns, addr string) {
	t.Helper()
	var ln net.Listener
	inNS(t, nsPath(ns), func() {
		var err error
		ln, err = net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("listen %s in %s: %v", addr, ns, err)
		}
	})
	if ln == nil {
		t.FailNow()
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

// connects reports whether a TCP connection from ns to addr succeeds. A
// dropped SYN shows as the dial's timeout; the timeout is a bound on a
// functional check, not a measurement.
func connects(t testing.TB, ns, addr string) bool {
	t.Helper()
	ok := false
	inNS(t, nsPath(ns), func() {
		c, err := net.DialTimeout("tcp", addr, 3*time.Second)
		if err == nil {
			c.Close()
			ok = true
		}
	})
	return ok
}
