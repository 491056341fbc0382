package daemon

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/banserver/banserver/jail"
)

// selfJails is a Manager with one started jail "j" with ignoreself on,
// whose own addresses are selfAddrs(netnsPath), as the daemon's; reads
// counts how often it read them.
func selfJails(t *testing.T, netnsPath string, log *zap.Logger) (jails *jail.Manager, reads *atomic.Int64) {
	t.Helper()
	reads = new(atomic.Int64)
	self := selfAddrs(netnsPath, log)
	jails = jail.NewManager(jail.Options{SelfAddrs: func() []netip.Addr {
		reads.Add(1)
		return self()
	}})
	if err := jails.Add(jail.Config{Name: "j", MaxRetry: 3, IgnoreSelf: true}); err != nil {
		t.Fatal(err)
	}
	if err := jails.Start("j"); err != nil {
		t.Fatal(err)
	}
	return jails, reads
}

// startWatchSelf runs watchSelf until the test ends (before the cleanups
// registered earlier, such as the namespace's removal) and checks it
// returns nil then.
func startWatchSelf(t *testing.T, netnsPath string, jails *jail.Manager, log *zap.Logger) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- watchSelf(ctx, netnsPath, jails, log) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("watchSelf returned %v when its context ended, want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("watchSelf did not return within 10s of its context ending")
		}
	})
}

// selfWait polls cond until it holds; the deadline is generous, not a
// timing assertion.
func selfWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 20s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func selfIgnored(t *testing.T, jails *jail.Manager, addr netip.Addr) bool {
	t.Helper()
	ign, err := jails.Ignored("j", addr)
	if err != nil {
		t.Fatal(err)
	}
	return ign
}

func selfAttempt(t *testing.T, jails *jail.Manager, addr netip.Addr) int {
	t.Helper()
	n, err := jails.Attempt("j", addr, []string{"Incorrect token used."})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestWatchSelfFollowsAddressChanges: an address added to the kernel
// namespace after the jails read their own addresses is ignored at once,
// not after the five-minute cache runs out, and one removed is no longer.
func TestWatchSelfFollowsAddressChanges(t *testing.T) {
	needRoot(t, "ip")
	ns := newNetNS(t)
	log := zap.NewNop()
	jails, reads := selfJails(t, ns.path(), log)
	// A second Manager without the watcher shows what the test catches:
	// it keeps the addresses it read first.
	unwatched, _ := selfJails(t, ns.path(), log)
	v4, v6 := netip.MustParseAddr("192.0.2.77"), netip.MustParseAddr("2001:db8:ffff::77")
	for _, a := range []netip.Addr{v4, v6} {
		if selfIgnored(t, jails, a) || selfIgnored(t, unwatched, a) {
			t.Fatalf("%v ignored before it is the host's", a)
		}
	}
	if got := reads.Load(); got != 1 {
		t.Fatalf("own addresses read %d times, want 1 (cached)", got)
	}

	startWatchSelf(t, ns.path(), jails, log)
	// Each subscription (the daemon's namespace and the kernel's) rereads
	// once when made: after that, only changes make the jails reread.
	selfWait(t, "both subscriptions made", func() bool { return reads.Load() >= 3 })

	ns.ip(t, "addr", "add", "192.0.2.77/24", "dev", "d0")
	ns.ip(t, "-6", "addr", "add", "2001:db8:ffff::77/64", "dev", "d0", "nodad")
	for _, a := range []netip.Addr{v4, v6} {
		selfWait(t, fmt.Sprintf("%v, added to the namespace, ignored", a), func() bool { return selfIgnored(t, jails, a) })
		if n := selfAttempt(t, jails, a); n != 0 {
			t.Fatalf("attempt from the host's own %v: %d, want 0 (ignored)", a, n)
		}
		if selfIgnored(t, unwatched, a) {
			t.Fatalf("%v ignored without the watcher: the test does not test it", a)
		}
	}

	ns.ip(t, "addr", "del", "192.0.2.77/24", "dev", "d0")
	selfWait(t, "192.0.2.77, removed from the namespace, no longer ignored", func() bool { return !selfIgnored(t, jails, v4) })
	if n := selfAttempt(t, jails, v4); n != 1 {
		t.Fatalf("attempt from 192.0.2.77 once no longer the host's: %d, want 1 (counted)", n)
	}
}

// TestWatchSelfResubscribes: a kernel namespace that does not exist yet is
// logged once, retried with backoff, and followed once it exists.
func TestWatchSelfResubscribes(t *testing.T) {
	needRoot(t, "ip")
	ns := &netNS{name: fmt.Sprintf("banserver-selfwatch-%d", rand.Uint32())}
	core, logs := observer.New(zapcore.DebugLevel)
	log := zap.New(core)
	jails, _ := selfJails(t, ns.path(), zap.NewNop())
	v4 := netip.MustParseAddr("192.0.2.77")
	if selfIgnored(t, jails, v4) {
		t.Fatal("192.0.2.77 ignored before it is the host's")
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns.name).Run() })
	startWatchSelf(t, ns.path(), jails, log)

	// Two failures: a warning, then quieter retries.
	failures := func() int {
		return logs.FilterMessageSnippet("follow address changes").FilterField(zap.String("netns", ns.path())).Len()
	}
	selfWait(t, "the missing namespace retried", func() bool { return failures() >= 2 })
	if n := logs.FilterLevelExact(zapcore.WarnLevel).Len(); n != 1 {
		t.Fatalf("%d warnings, want 1 however often it retries:\n%v", n, logs.All())
	}

	if out, err := exec.Command("ip", "netns", "add", ns.name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v\n%s", err, out)
	}
	ns.ip(t, "link", "add", "d0", "type", "veth", "peer", "name", "d0p")
	ns.ip(t, "addr", "add", "192.0.2.77/24", "dev", "d0")
	selfWait(t, "192.0.2.77 ignored once the namespace exists", func() bool { return selfIgnored(t, jails, v4) })
	selfWait(t, "the recovery logged", func() bool {
		return logs.FilterMessageSnippet("again").FilterField(zap.String("netns", ns.path())).Len() == 1
	})
	if n := logs.FilterLevelExact(zapcore.WarnLevel).Len(); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%v", n, logs.All())
	}
}
