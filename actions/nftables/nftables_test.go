package nftables

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/actions"
	"go.uber.org/zap"
)

func target(jail, p string, ban time.Duration) actions.Target {
	return actions.Target{Jail: jail, Prefix: netip.MustParsePrefix(p), Start: time.Now(), BanTime: ban}
}

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	slices.SortFunc(out, comparePrefix)
	return out
}

// checkElements compares both the action's own reading and nft's with want.
func checkElements(t *testing.T, a *Action, ns string, want []netip.Prefix) {
	t.Helper()
	got, err := a.Elements(t.Context())
	if err != nil {
		t.Fatalf("Elements: %v", err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("Elements = %v, want %v", got, want)
	}
	if got := nftPrefixes(t, ns); !slices.Equal(got, want) {
		t.Errorf("nft shows %v, want %v", got, want)
	}
}

func TestBanUnban(t *testing.T) {
	needKernel(t)
	ns := newNS(t)
	a := newAction(t, ns)
	tests := []struct {
		name   string
		prefix string
		set    string
		ban    time.Duration
	}{
		{name: "ipv4", prefix: "192.0.2.7/32", set: "ban4", ban: time.Hour},
		{name: "ipv6", prefix: "2001:db8::7/128", set: "ban6", ban: time.Hour},
		{name: "ipv6 /64", prefix: "2001:db8:1:2::/64", set: "ban6net", ban: time.Hour},
		{name: "ipv4 /24", prefix: "203.0.113.0/24", set: "ban4net", ban: time.Hour},
		{name: "ipv4-mapped", prefix: "::ffff:198.51.100.9/128", set: "ban4", ban: time.Hour},
		{name: "forever", prefix: "198.51.100.10/32", set: "ban4", ban: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := target("sshd", tt.prefix, tt.ban)
			if err := a.Ban(t.Context(), tg); err != nil {
				t.Fatalf("Ban: %v", err)
			}
			p, _ := normalize(tg.Prefix)
			checkElements(t, a, ns, []netip.Prefix{p})
			els := nftSet(t, ns, tt.set)
			if len(els) != 1 || els[0].prefix != p {
				t.Fatalf("set %s = %v, want %s", tt.set, els, p)
			}
			if tt.ban < 0 && els[0].timeout != 0 {
				t.Errorf("forever ban has timeout %v", els[0].timeout)
			}
			if tt.ban > 0 && (els[0].timeout <= 0 || els[0].timeout > tt.ban) {
				t.Errorf("timeout %v, want in (0, %v]", els[0].timeout, tt.ban)
			}
			// Idempotent: a repeated ban keeps one element.
			if err := a.Ban(t.Context(), tg); err != nil {
				t.Fatalf("second Ban: %v", err)
			}
			checkElements(t, a, ns, []netip.Prefix{p})
			if err := a.Unban(t.Context(), tg); err != nil {
				t.Fatalf("Unban: %v", err)
			}
			checkElements(t, a, ns, []netip.Prefix{})
			// Idempotent: unbanning what is gone is no error.
			if err := a.Unban(t.Context(), tg); err != nil {
				t.Fatalf("second Unban: %v", err)
			}
		})
	}
}

func TestRefreshAndRefcount(t *testing.T) {
	needKernel(t)
	ns := newNS(t)
	a := newAction(t, ns)
	ctx := t.Context()
	short := target("sshd", "192.0.2.20/32", 30*time.Second)
	long := target("sshd", "192.0.2.20/32", 10*time.Hour)
	if err := a.Ban(ctx, short); err != nil {
		t.Fatal(err)
	}
	if err := a.Ban(ctx, long); err != nil {
		t.Fatal(err)
	}
	els := nftSet(t, ns, "ban4")
	if len(els) != 1 || els[0].expires < time.Hour {
		t.Fatalf("after prolonging: %+v, want one element expiring in hours", els)
	}

	// A second jail holds the same address: the first jail's unban keeps it.
	other := target("recidive", "192.0.2.20/32", 30*time.Second)
	if err := a.Ban(ctx, other); err != nil {
		t.Fatal(err)
	}
	if els := nftSet(t, ns, "ban4"); len(els) != 1 || els[0].expires < time.Hour {
		t.Fatalf("a shorter ban from another jail cut the timeout: %+v", els)
	}
	if err := a.Unban(ctx, long); err != nil {
		t.Fatal(err)
	}
	els = nftSet(t, ns, "ban4")
	if len(els) != 1 {
		t.Fatalf("unban by one of two jails removed the element: %+v", els)
	}
	if els[0].expires > time.Minute {
		t.Errorf("remaining jail's ban is 30s, element expires in %v", els[0].expires)
	}
	if err := a.Unban(ctx, other); err != nil {
		t.Fatal(err)
	}
	checkElements(t, a, ns, []netip.Prefix{})
}

func TestNestedPrefixes(t *testing.T) {
	needKernel(t)
	ns := newNS(t)
	a := newAction(t, ns)
	ctx := t.Context()
	p64 := target("a", "2001:db8:5:1::/64", time.Hour)
	p48 := target("b", "2001:db8:5::/48", time.Minute)
	host := target("c", "2001:db8:5:1::9/128", time.Hour)
	for _, tg := range []actions.Target{p64, host, p48} {
		if err := a.Ban(ctx, tg); err != nil {
			t.Fatalf("Ban %s: %v", tg.Prefix, err)
		}
	}
	// The kernel refuses overlapping intervals: the /48 stands for the /64,
	// with the /64's longer time.
	checkElements(t, a, ns, prefixes("2001:db8:5::/48", "2001:db8:5:1::9/128"))
	if els := nftSet(t, ns, "ban6net"); len(els) != 1 || els[0].expires < 30*time.Minute {
		t.Errorf("covering /48 = %+v, want the /64's hour", els)
	}
	if err := a.Unban(ctx, p48); err != nil {
		t.Fatal(err)
	}
	checkElements(t, a, ns, prefixes("2001:db8:5:1::/64", "2001:db8:5:1::9/128"))
	if err := a.UnbanBatch(ctx, []actions.Target{p64, host}); err != nil {
		t.Fatal(err)
	}
	checkElements(t, a, ns, []netip.Prefix{})
}

func TestKernelExpiry(t *testing.T) {
	needKernel(t)
	ns := newNS(t)
	a := newAction(t, ns)
	ts := []actions.Target{
		target("sshd", "198.51.100.30/32", 2*time.Second),
		target("sshd", "2001:db8:9::/64", 2*time.Second),
		target("sshd", "198.51.100.31/32", time.Hour),
	}
	if err := a.BanBatch(t.Context(), ts); err != nil {
		t.Fatal(err)
	}
	checkElements(t, a, ns, prefixes("198.51.100.30/32", "198.51.100.31/32", "2001:db8:9::/64"))
	// Poll with a generous deadline: the test is that the kernel expires
	// the elements by itself, not how fast.
	want := prefixes("198.51.100.31/32")
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := a.Elements(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if slices.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("elements still %v a minute after a 2s timeout", got)
		}
		time.Sleep(200 * time.Millisecond)
	}
	checkElements(t, a, ns, want)
	// The action still believes they are there; unbanning what the kernel
	// expired must not fail, and banning again must add them back.
	if err := a.UnbanBatch(t.Context(), ts[:2]); err != nil {
		t.Fatalf("unban after expiry: %v", err)
	}
	if err := a.BanBatch(t.Context(), []actions.Target{target("sshd", "198.51.100.30/32", time.Hour)}); err != nil {
		t.Fatal(err)
	}
	checkElements(t, a, ns, prefixes("198.51.100.30/32", "198.51.100.31/32"))
}

// manyTargets returns n distinct targets: documentation IPv4 addresses
// first, then IPv6 ones.
func manyTargets(n int, ban time.Duration) []actions.Target {
	ts := make([]actions.Target, 0, n)
	now := time.Now()
	add := func(p netip.Prefix) {
		ts = append(ts, actions.Target{Jail: "bulk", Prefix: p, Start: now, BanTime: ban})
	}
	for _, base := range []string{"192.0.2.0", "198.51.100.0", "203.0.113.0"} {
		b := netip.MustParseAddr(base).As4()
		for i := 1; i < 255 && len(ts) < n; i++ {
			b[3] = byte(i)
			add(netip.PrefixFrom(netip.AddrFrom4(b), 32))
		}
	}
	for i := 0; len(ts) < n; i++ {
		add(netip.MustParsePrefix(fmt.Sprintf("2001:db8:%x:%x::1/128", i>>16, i&0xffff)))
	}
	return ts
}

func TestBanBatchChunks(t *testing.T) {
	needKernel(t)
	ns := newNS(t)
	a := newAction(t, ns)
	ts := manyTargets(5000, time.Hour)
	if err := a.BanBatch(t.Context(), ts); err != nil {
		t.Fatal(err)
	}
	got, err := a.Elements(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(ts) {
		t.Errorf("Elements: %d, want %d", len(got), len(ts))
	}
	n4, n6 := len(nftSet(t, ns, "ban4")), len(nftSet(t, ns, "ban6"))
	if n4+n6 != len(ts) {
		t.Errorf("nft shows %d + %d elements, want %d", n4, n6, len(ts))
	}
	// Prolonging them all goes through the refresh path, three elements
	// per target.
	if err := a.BanBatch(t.Context(), ts); err != nil {
		t.Fatal(err)
	}
	if err := a.UnbanBatch(t.Context(), ts); err != nil {
		t.Fatal(err)
	}
	checkElements(t, a, ns, []netip.Prefix{})
}

func TestReconcile(t *testing.T) {
	needKernel(t)
	ns := newNS(t)
	// A table of someone else's must survive everything below.
	x := func(args ...string) string {
		return run(t, "ip", append([]string{"netns", "exec", ns, "nft"}, args...)...)
	}
	x("add", "table", "inet", "other")
	x("add", "chain", "inet", "other", "in", "{ type filter hook input priority 0; }")
	x("add", "rule", "inet", "other", "in", "ip", "saddr", "203.0.113.99", "counter", "drop")

	ctx := t.Context()
	first, err := New("nftables", Options{NetNS: nsPath(ns)})
	if err != nil {
		t.Fatal(err)
	}
	stale := target("sshd", "192.0.2.50/32", time.Hour)
	kept := target("sshd", "2001:db8::50/128", time.Hour)
	if err := first.BanBatch(ctx, []actions.Target{stale, kept}); err != nil {
		t.Fatal(err)
	}
	// A daemon restart: the table and its elements stay.
	if err := first.Close(ctx, false); err != nil {
		t.Fatal(err)
	}
	if err := first.Ban(ctx, kept); !errors.Is(err, ErrClosed) {
		t.Errorf("Ban after Close = %v, want ErrClosed", err)
	}
	a := newAction(t, ns)
	checkElements(t, a, ns, prefixes("192.0.2.50/32", "2001:db8::50/128"))
	if out := x("list", "chain", "inet", DefaultTable, "input"); strings.Count(out, "drop") != 4 {
		t.Errorf("reopening duplicated or lost rules:\n%s", out)
	}

	missing := target("sshd", "198.51.100.50/32", time.Hour)
	net := target("web", "2001:db8:7::/64", 2*time.Hour)
	live := []actions.Target{kept, missing, net}
	added, removed, err := a.Reconcile(ctx, live)
	if err != nil {
		t.Fatal(err)
	}
	if added != 2 || removed != 1 {
		t.Errorf("Reconcile = added %d, removed %d; want 2, 1", added, removed)
	}
	checkElements(t, a, ns, prefixes("198.51.100.50/32", "2001:db8::50/128", "2001:db8:7::/64"))
	for _, e := range nftSet(t, ns, "ban6net") {
		if e.expires < time.Hour {
			t.Errorf("reconciled %s expires in %v, want its remaining 2h", e.prefix, e.expires)
		}
	}
	// Again: nothing to do.
	if added, removed, err := a.Reconcile(ctx, live); err != nil || added != 0 || removed != 0 {
		t.Errorf("second Reconcile = %d, %d, %v; want 0, 0, nil", added, removed, err)
	}
	// Reconcile rebuilt the holds: the unban of the last holder removes.
	if err := a.Unban(ctx, missing); err != nil {
		t.Fatal(err)
	}
	checkElements(t, a, ns, prefixes("2001:db8::50/128", "2001:db8:7::/64"))

	if err := a.Close(ctx, true); err != nil {
		t.Fatal(err)
	}
	if out := x("list", "tables"); strings.Contains(out, DefaultTable) || !strings.Contains(out, "other") {
		t.Errorf("after Close(true), tables:\n%s", out)
	}
	if out := x("list", "chain", "inet", "other", "in"); !strings.Contains(out, "203.0.113.99") {
		t.Errorf("someone else's rule is gone:\n%s", out)
	}
}

func TestRefused(t *testing.T) {
	needKernel(t)
	ns := newNS(t)
	// veth, since this kernel has no dummy module.
	run(t, "ip", "-n", ns, "link", "add", "dummy0", "type", "veth", "peer", "name", "dummy1")
	run(t, "ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", "dummy0")
	run(t, "ip", "-n", ns, "addr", "add", "2001:db8:aa::1/64", "dev", "dummy0")
	a := newAction(t, ns)
	tests := []struct {
		name   string
		prefix string
		want   error
	}{
		{name: "loopback v4", prefix: "127.0.0.2/32", want: ErrRefused},
		{name: "loopback v6", prefix: "::1/128", want: ErrRefused},
		{name: "mapped loopback", prefix: "::ffff:127.0.0.1/128", want: ErrRefused},
		{name: "own v4", prefix: "192.0.2.1/32", want: ErrRefused},
		{name: "net with own v4", prefix: "192.0.2.0/24", want: ErrRefused},
		{name: "net with own v6", prefix: "2001:db8:aa::/64", want: ErrRefused},
		{name: "everything", prefix: "0.0.0.0/0", want: ErrRefused},
		{name: "neighbour", prefix: "192.0.2.2/32"},
		{name: "other v6 net", prefix: "2001:db8:bb::/64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := a.Ban(t.Context(), target("sshd", tt.prefix, time.Hour))
			if tt.want == nil && err != nil || !errors.Is(err, tt.want) {
				t.Fatalf("Ban(%s) = %v, want %v", tt.prefix, err, tt.want)
			}
		})
	}
	checkElements(t, a, ns, prefixes("192.0.2.2/32", "2001:db8:bb::/64"))
	// A batch applies what it may and reports the rest.
	err := a.BanBatch(t.Context(), []actions.Target{target("sshd", "127.0.0.1/32", time.Hour), target("sshd", "192.0.2.3/32", time.Hour)})
	if !errors.Is(err, ErrRefused) {
		t.Errorf("BanBatch = %v, want ErrRefused", err)
	}
	checkElements(t, a, ns, prefixes("192.0.2.2/32", "192.0.2.3/32", "2001:db8:bb::/64"))
}

func TestTraffic(t *testing.T) {
	needKernel(t)
	ns1, ns2 := newNS(t), newNS(t)
	run(t, "ip", "link", "add", "bsv1", "netns", ns1, "type", "veth", "peer", "name", "bsv2", "netns", ns2)
	run(t, "ip", "-n", ns1, "addr", "add", "198.51.100.1/24", "dev", "bsv1")
	run(t, "ip", "-n", ns2, "addr", "add", "198.51.100.2/24", "dev", "bsv2")
	run(t, "ip", "-n", ns1, "link", "set", "bsv1", "up")
	run(t, "ip", "-n", ns2, "link", "set", "bsv2", "up")
	a := newAction(t, ns1)
	// A TCP connect from ns2 stands in for ping, which this machine lacks:
	// the rule drops any packet from a banned source.
	listenIn(t, ns1, "198.51.100.1:8765")
	const addr = "198.51.100.1:8765"
	if !connects(t, ns2, addr) {
		t.Fatal("no connection before any ban")
	}
	tg := target("sshd", "198.51.100.2/32", time.Hour)
	if err := a.Ban(t.Context(), tg); err != nil {
		t.Fatal(err)
	}
	if connects(t, ns2, addr) {
		t.Error("connected while banned")
	}
	if err := a.Unban(t.Context(), tg); err != nil {
		t.Fatal(err)
	}
	if !connects(t, ns2, addr) {
		t.Error("no connection after unban")
	}
}

func TestFactory(t *testing.T) {
	tests := []struct {
		name string
		opts map[string]string
		want error
	}{
		{name: "unknown option", opts: map[string]string{"chain": "x"}, want: actions.ErrBadOptions},
		{name: "bad table name", opts: map[string]string{"table": "a b"}, want: actions.ErrBadOptions},
		{name: "missing netns", opts: map[string]string{"netns": "/nonexistent/netns"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Factory(zap.NewNop())("nftables", tt.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("through the registry", func(t *testing.T) {
		needKernel(t)
		ns := newNS(t)
		reg := actions.NewRegistry()
		reg.Register("nftables", Factory(zap.NewNop()))
		act, err := reg.Lookup(fmt.Sprintf("nftables[table=bs2, netns=%s]", nsPath(ns)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = act.(actions.Closer).Close(t.Context(), true) })
		if want := "nftables[netns=" + nsPath(ns) + ", table=bs2]"; act.Name() != want {
			t.Errorf("Name = %q, want %q", act.Name(), want)
		}
		run(t, "ip", "netns", "exec", ns, "nft", "list", "table", "inet", "bs2")
	})
}

func BenchmarkBanBatch(b *testing.B) {
	needKernel(b)
	ns := newNS(b)
	a := newAction(b, ns)
	ts := manyTargets(10000, time.Hour)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		if err := a.BanBatch(b.Context(), ts); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := a.UnbanBatch(b.Context(), ts); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(len(ts)*n)/b.Elapsed().Seconds(), "elements/s")
}

// BenchmarkBanBatchRefresh prolongs 10,000 bans already in the sets: the
// add/delete/add path, three elements per target.
func BenchmarkBanBatchRefresh(b *testing.B) {
	needKernel(b)
	ns := newNS(b)
	a := newAction(b, ns)
	ts := manyTargets(10000, time.Hour)
	if err := a.BanBatch(b.Context(), ts); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		n++
		if err := a.BanBatch(b.Context(), ts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ts)*n)/b.Elapsed().Seconds(), "elements/s")
}
