package route

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/banserver/banserver/actions"
)

func TestBanUnban(t *testing.T) {
	tests := []struct {
		name string
		typ  Type
		ban  string // what is banned
		get  string // an address `ip route get` must find behind the ban
	}{
		{name: "blackhole v4", typ: Blackhole, ban: "198.51.100.7", get: "198.51.100.7"},
		{name: "blackhole v6", typ: Blackhole, ban: "2001:db8:1::7", get: "2001:db8:1::7"},
		{name: "unreachable v4", typ: Unreachable, ban: "198.51.100.7", get: "198.51.100.7"},
		{name: "unreachable v6", typ: Unreachable, ban: "2001:db8:1::7", get: "2001:db8:1::7"},
		{name: "prohibit v4", typ: Prohibit, ban: "198.51.100.7", get: "198.51.100.7"},
		{name: "prohibit v6", typ: Prohibit, ban: "2001:db8:1::7", get: "2001:db8:1::7"},
		{name: "blackhole v6 /64", typ: Blackhole, ban: "2001:db8:1::/64", get: "2001:db8:1::abcd"},
		{name: "prohibit v6 /64", typ: Prohibit, ban: "2001:db8:1::/64", get: "2001:db8:1::abcd"},
		{name: "blackhole v4 /24", typ: Blackhole, ban: "203.0.113.0/24", get: "203.0.113.77"},
	}
	ctx := context.Background()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := newNS(t)
			h := n.handle(t)
			a := newAction(t, n, Options{Type: tc.typ})
			if got := n.routeGet(tc.get); !strings.Contains(got, getAnswer[0]) {
				t.Fatalf("before the ban, ip route get %s = %q, want %q", tc.get, got, getAnswer[0])
			}
			tg := target("sshd", tc.ban)
			if err := a.Ban(ctx, tg); err != nil {
				t.Fatal(err)
			}
			if got, want := n.routes(t, h, 254), ours(tc.typ, tc.ban); !slices.Equal(got, want) {
				t.Fatalf("routes after ban = %v, want %v", got, want)
			}
			if got := n.routeGet(tc.get); !strings.Contains(got, getAnswer[tc.typ]) {
				t.Errorf("ip route get %s = %q, want %q (a %s route)", tc.get, got, getAnswer[tc.typ], tc.typ)
			}
			show := n.ip(t, "route", "show", "table", "main", "proto", fmt.Sprint(DefaultProtocol))
			if tg.Prefix.Addr().Is6() {
				show = n.ip(t, "-6", "route", "show", "table", "main", "proto", fmt.Sprint(DefaultProtocol))
			}
			if !strings.HasPrefix(show, tc.typ.String()+" ") {
				t.Errorf("ip route show proto %d = %q, want a %s route", DefaultProtocol, show, tc.typ)
			}
			owned, err := a.Owned(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := []netip.Prefix{pfx(tc.ban)}; !slices.Equal(owned, want) {
				t.Errorf("Owned = %v, want %v", owned, want)
			}
			// A repeated ban is harmless.
			if err := a.Ban(ctx, tg); err != nil {
				t.Fatalf("second ban: %v", err)
			}
			if err := a.Unban(ctx, tg); err != nil {
				t.Fatal(err)
			}
			if got := n.routes(t, h, 254); len(got) != 0 {
				t.Fatalf("routes after unban = %v, want none", got)
			}
			if got := n.routeGet(tc.get); !strings.Contains(got, getAnswer[0]) {
				t.Errorf("after the unban, ip route get %s = %q, want %q", tc.get, got, getAnswer[0])
			}
			// So is a repeated unban: the route is already gone.
			if err := a.Unban(ctx, tg); err != nil {
				t.Fatalf("second unban: %v", err)
			}
		})
	}
}

// TestRepeatBanAfterRestart: a second action (a restarted daemon that has
// not reconciled) meets its predecessor's route with EEXIST and takes it as
// its own.
func TestRepeatBanAfterRestart(t *testing.T) {
	ctx := context.Background()
	n := newNS(t)
	h := n.handle(t)
	first := newAction(t, n, Options{})
	tg := target("sshd", "198.51.100.9")
	if err := first.Ban(ctx, tg); err != nil {
		t.Fatal(err)
	}
	second := newAction(t, n, Options{})
	if err := second.BanBatch(ctx, []actions.Target{tg, target("sshd", "2001:db8::9")}); err != nil {
		t.Fatalf("ban of an address the previous run banned: %v", err)
	}
	if got := second.Jails(tg.Prefix); !slices.Equal(got, []string{"sshd"}) {
		t.Errorf("jails = %v, want [sshd]", got)
	}
	if got, want := n.routes(t, h, 254), ours(Blackhole, "198.51.100.9", "2001:db8::9"); !slices.Equal(got, want) {
		t.Errorf("routes = %v, want %v", got, want)
	}
}

// TestForeignRoutes: routes someone else added survive every call.
func TestForeignRoutes(t *testing.T) {
	ctx := context.Background()
	n := newNS(t)
	h := n.handle(t)
	n.ip(t, "route", "add", "blackhole", "203.0.113.9", "proto", "static")
	n.ip(t, "-6", "route", "add", "blackhole", "2001:db8::9", "proto", "static")
	// Same protocol, other type: also not this action's.
	n.ip(t, "route", "add", "unreachable", "203.0.113.10", "proto", fmt.Sprint(DefaultProtocol))
	foreign := []kernelRoute{
		{pfx("2001:db8::9"), Blackhole, 4},
		{pfx("203.0.113.10"), Unreachable, DefaultProtocol},
		{pfx("203.0.113.9"), Blackhole, 4},
	}
	check := func(step string) {
		t.Helper()
		if got := n.routes(t, h, 254); !slices.Equal(got, foreign) {
			t.Fatalf("after %s: routes = %v, want only the foreign ones %v", step, got, foreign)
		}
	}
	check("setup")
	a := newAction(t, n, Options{Type: Blackhole})
	ts := []actions.Target{target("sshd", "203.0.113.9"), target("sshd", "2001:db8::9"), target("sshd", "203.0.113.10")}

	for _, tg := range ts {
		err := a.Ban(ctx, tg)
		if !errors.Is(err, ErrForeignRoute) {
			t.Errorf("Ban(%s) = %v, want ErrForeignRoute", tg.Prefix, err)
		}
	}
	check("Ban")
	err := a.BanBatch(ctx, append(ts, target("sshd", "198.51.100.1")))
	if !errors.Is(err, ErrForeignRoute) {
		t.Errorf("BanBatch = %v, want ErrForeignRoute", err)
	}
	for _, tg := range ts {
		if !strings.Contains(err.Error(), tg.Prefix.String()) {
			t.Errorf("BanBatch error %q does not name %s", err, tg.Prefix)
		}
	}
	if strings.Contains(err.Error(), "198.51.100.1") {
		t.Errorf("BanBatch error %q names a target that was banned", err)
	}
	if err := a.Unban(ctx, target("sshd", "198.51.100.1")); err != nil {
		t.Fatal(err)
	}
	check("BanBatch and the unban of its good target")
	for _, tg := range ts {
		if err := a.Unban(ctx, tg); err != nil {
			t.Errorf("Unban(%s) = %v, want nil (nothing of ours to delete)", tg.Prefix, err)
		}
	}
	if err := a.UnbanBatch(ctx, ts); err != nil {
		t.Errorf("UnbanBatch = %v", err)
	}
	check("Unban")
	added, removed, err := a.Reconcile(ctx, nil)
	if err != nil || added != 0 || removed != 0 {
		t.Errorf("Reconcile(nil) = %d, %d, %v; want 0, 0, nil", added, removed, err)
	}
	check("Reconcile with no live bans")
	added, removed, err = a.Reconcile(ctx, ts)
	if !errors.Is(err, ErrForeignRoute) || added != 0 || removed != 0 {
		t.Errorf("Reconcile(foreign) = %d, %d, %v; want 0, 0, ErrForeignRoute", added, removed, err)
	}
	check("Reconcile with live bans on them")
	if err := a.Close(ctx, true); err != nil {
		t.Fatal(err)
	}
	check("Close(flush)")
}

func TestReconcile(t *testing.T) {
	ctx := context.Background()
	n := newNS(t)
	h := n.handle(t)
	// Left over from a previous run: ours, but no live ban needs it.
	n.ip(t, "route", "add", "blackhole", "198.51.100.50", "proto", fmt.Sprint(DefaultProtocol))
	n.ip(t, "-6", "route", "add", "blackhole", "2001:db8:50::/64", "proto", fmt.Sprint(DefaultProtocol))
	// Ours and still needed.
	n.ip(t, "route", "add", "blackhole", "198.51.100.1", "proto", fmt.Sprint(DefaultProtocol))
	// Someone else's: untouched.
	n.ip(t, "route", "add", "blackhole", "198.51.100.60", "proto", "static")

	a := newAction(t, n, Options{})
	live := []actions.Target{
		target("sshd", "198.51.100.1"), // already routed
		target("nginx", "198.51.100.1"),
		target("recidive", "198.51.100.1"),
		target("sshd", "198.51.100.2"), // missing
		target("nginx", "2001:db8:2::/64"),
		target("sshd", "2001:db8:2::1234/64"), // the same /64 once masked
		target("recidive", "2001:db8:2::/64"),
		target("recidive", "2001:db8:2::/64"),  // a duplicate is harmless
		target("nginx", "::ffff:198.51.100.3"), // IPv4-mapped: routed as IPv4
		target("sshd", "198.51.100.3"),
		target("recidive", "::ffff:198.51.100.0/120"), // 198.51.100.0/24
		target("recidive", "203.0.113.0/24"),
		target("sshd", "192.0.2.254"),          // own address: refused, not added
		{Jail: "sshd", Prefix: netip.Prefix{}}, // invalid: refused
	}
	added, removed, err := a.Reconcile(ctx, live)
	if !errors.Is(err, ErrRefused) {
		t.Errorf("Reconcile error = %v, want ErrRefused for the own address and the invalid prefix", err)
	}
	if added != 5 || removed != 2 {
		t.Errorf("Reconcile = added %d, removed %d; want 5, 2", added, removed)
	}
	want := append(ours(Blackhole, "198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.0/24",
		"2001:db8:2::/64", "203.0.113.0/24"), kernelRoute{pfx("198.51.100.60"), Blackhole, 4})
	slices.SortFunc(want, func(a, b kernelRoute) int { return strings.Compare(a.Prefix.String(), b.Prefix.String()) })
	if got := n.routes(t, h, 254); !slices.Equal(got, want) {
		t.Fatalf("routes after Reconcile = %v\nwant %v", got, want)
	}
	for _, tc := range []struct {
		prefix string
		jails  []string
	}{
		{"198.51.100.1", []string{"sshd", "nginx", "recidive"}},
		{"198.51.100.2", []string{"sshd"}},
		{"198.51.100.3", []string{"nginx", "sshd"}},
		{"198.51.100.0/24", []string{"recidive"}},
		{"2001:db8:2::/64", []string{"nginx", "sshd", "recidive"}},
		{"192.0.2.254", nil},
		{"198.51.100.50", nil},
	} {
		if got := a.Jails(pfx(tc.prefix)); !slices.Equal(got, tc.jails) {
			t.Errorf("Jails(%s) = %v, want %v", tc.prefix, got, tc.jails)
		}
	}
	// The rebuilt refcount holds: the route stays until its last jail unbans.
	for _, j := range []string{"sshd", "nginx"} {
		if err := a.Unban(ctx, target(j, "198.51.100.1")); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Contains(n.routes(t, h, 254), kernelRoute{pfx("198.51.100.1"), Blackhole, DefaultProtocol}) {
		t.Fatal("198.51.100.1 unrouted while recidive still bans it")
	}
	if err := a.Unban(ctx, target("recidive", "198.51.100.1")); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(n.routes(t, h, 254), kernelRoute{pfx("198.51.100.1"), Blackhole, DefaultProtocol}) {
		t.Fatal("198.51.100.1 still routed after its last jail unbanned it")
	}
	// A second Reconcile with the same live set changes nothing but .1.
	added, removed, _ = a.Reconcile(ctx, live)
	if added != 1 || removed != 0 {
		t.Errorf("second Reconcile = added %d, removed %d; want 1, 0", added, removed)
	}
}

func TestRefusals(t *testing.T) {
	ctx := context.Background()
	n := newNS(t)
	h := n.handle(t)
	a := newAction(t, n, Options{})
	tests := []struct {
		name   string
		prefix netip.Prefix
	}{
		{name: "loopback v4", prefix: pfx("127.0.0.1")},
		{name: "loopback v4 net", prefix: pfx("127.0.0.0/16")},
		{name: "loopback v6", prefix: pfx("::1")},
		{name: "mapped loopback", prefix: pfx("::ffff:127.0.0.1")},
		{name: "own v4", prefix: pfx("192.0.2.254")},
		{name: "net with own v4", prefix: pfx("192.0.2.0/24")},
		{name: "own v6", prefix: pfx("2001:db8:ffff::1")},
		{name: "/64 with own v6", prefix: pfx("2001:db8:ffff::/64")},
		{name: "/48 with own v6", prefix: pfx("2001:db8:ffff::/48")},
		{name: "unspecified v4", prefix: pfx("0.0.0.0")},
		{name: "unspecified v6", prefix: pfx("::")},
		{name: "link-local v4", prefix: pfx("169.254.1.1")},
		{name: "link-local v6", prefix: pfx("fe80::1")},
		{name: "multicast v4", prefix: pfx("224.0.0.1")},
		{name: "multicast v6", prefix: pfx("ff02::1")},
		{name: "broadcast", prefix: pfx("255.255.255.255")},
		{name: "wide v4", prefix: pfx("198.0.0.0/8")},
		{name: "wide v6", prefix: pfx("2001:db0::/28")},
		{name: "default v4", prefix: pfx("0.0.0.0/0")},
		{name: "default v6", prefix: pfx("::/0")},
		{name: "invalid", prefix: netip.Prefix{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := a.Ban(ctx, actions.Target{Jail: "sshd", Prefix: tc.prefix})
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("Ban(%s) = %v, want ErrRefused", tc.prefix, err)
			}
			if got := n.routes(t, h, 254); len(got) != 0 {
				t.Fatalf("routes = %v, want none", got)
			}
			if owned, err := a.Owned(ctx); err != nil || len(owned) != 0 {
				t.Fatalf("Owned = %v, %v; want none", owned, err)
			}
		})
	}
	// In a batch, the refused are named and the rest applied.
	err := a.BanBatch(ctx, []actions.Target{target("sshd", "127.0.0.1"), target("sshd", "198.51.100.4"), target("sshd", "192.0.2.254")})
	if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "127.0.0.1") || !strings.Contains(err.Error(), "192.0.2.254") {
		t.Errorf("BanBatch = %v, want ErrRefused naming 127.0.0.1 and 192.0.2.254", err)
	}
	if got, want := n.routes(t, h, 254), ours(Blackhole, "198.51.100.4"); !slices.Equal(got, want) {
		t.Errorf("routes = %v, want %v", got, want)
	}
}

// TestOwnAddressAddedLater: an address added to the namespace after the
// action started is protected from batches at once (they read the
// addresses afresh).
func TestOwnAddressAddedLater(t *testing.T) {
	ctx := context.Background()
	n := newNS(t)
	a := newAction(t, n, Options{})
	if err := a.Ban(ctx, target("sshd", "198.51.100.20")); err != nil {
		t.Fatal(err)
	}
	n.ip(t, "addr", "add", "198.51.100.21/32", "dev", "d0")
	err := a.BanBatch(ctx, []actions.Target{target("sshd", "198.51.100.21"), target("sshd", "198.51.100.22")})
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("BanBatch = %v, want ErrRefused for the new own address", err)
	}
}

func TestSharedJails(t *testing.T) {
	ctx := context.Background()
	n := newNS(t)
	h := n.handle(t)
	a := newAction(t, n, Options{})
	for _, p := range []string{"198.51.100.30", "2001:db8:3::/64"} {
		t.Run(p, func(t *testing.T) {
			if err := a.BanBatch(ctx, []actions.Target{target("sshd", p), target("nginx", p)}); err != nil {
				t.Fatal(err)
			}
			if got := a.Jails(pfx(p)); !slices.Equal(got, []string{"sshd", "nginx"}) {
				t.Fatalf("jails = %v", got)
			}
			// An unban by a jail that never banned it changes nothing.
			if err := a.Unban(ctx, target("recidive", p)); err != nil {
				t.Fatal(err)
			}
			if err := a.Unban(ctx, target("sshd", p)); err != nil {
				t.Fatal(err)
			}
			if got, want := n.routes(t, h, 254), ours(Blackhole, p); !slices.Equal(got, want) {
				t.Fatalf("after one of two jails unbanned: routes = %v, want %v", got, want)
			}
			if err := a.Unban(ctx, target("sshd", p)); err != nil {
				t.Fatal(err)
			}
			if got, want := n.routes(t, h, 254), ours(Blackhole, p); !slices.Equal(got, want) {
				t.Fatalf("after a repeated unban by the same jail: routes = %v, want %v", got, want)
			}
			if err := a.UnbanBatch(ctx, []actions.Target{target("nginx", p)}); err != nil {
				t.Fatal(err)
			}
			if got := n.routes(t, h, 254); len(got) != 0 {
				t.Fatalf("after the last jail unbanned: routes = %v, want none", got)
			}
			if got := a.Jails(pfx(p)); got != nil {
				t.Fatalf("jails = %v, want none", got)
			}
		})
	}
}

func TestTableAndProtocol(t *testing.T) {
	ctx := context.Background()
	n := newNS(t)
	h := n.handle(t)
	a := newAction(t, n, Options{Table: 1000, Protocol: 241})
	b := newAction(t, n, Options{Table: 100})
	if err := a.Ban(ctx, target("sshd", "198.51.100.40")); err != nil {
		t.Fatal(err)
	}
	if err := b.Ban(ctx, target("sshd", "2001:db8:4::1")); err != nil {
		t.Fatal(err)
	}
	if got, want := n.routes(t, h, 1000), []kernelRoute{{pfx("198.51.100.40"), Blackhole, 241}}; !slices.Equal(got, want) {
		t.Errorf("table 1000 = %v, want %v", got, want)
	}
	if got, want := n.routes(t, h, 100), ours(Blackhole, "2001:db8:4::1"); !slices.Equal(got, want) {
		t.Errorf("table 100 = %v, want %v", got, want)
	}
	if got := n.routes(t, h, 254); len(got) != 0 {
		t.Errorf("main = %v, want none", got)
	}
	if owned, _ := a.Owned(ctx); !slices.Equal(owned, []netip.Prefix{pfx("198.51.100.40")}) {
		t.Errorf("a.Owned = %v", owned)
	}
	if owned, _ := b.Owned(ctx); !slices.Equal(owned, []netip.Prefix{pfx("2001:db8:4::1")}) {
		t.Errorf("b.Owned = %v", owned)
	}
}

func TestClose(t *testing.T) {
	ctx := context.Background()
	for _, flush := range []bool{false, true} {
		t.Run(fmt.Sprintf("flush=%v", flush), func(t *testing.T) {
			n := newNS(t)
			h := n.handle(t)
			n.ip(t, "route", "add", "blackhole", "203.0.113.9", "proto", "static")
			a := newAction(t, n, Options{})
			ts := []actions.Target{target("sshd", "198.51.100.5"), target("sshd", "2001:db8:5::/64")}
			if err := a.BanBatch(ctx, ts); err != nil {
				t.Fatal(err)
			}
			if err := a.Close(ctx, flush); err != nil {
				t.Fatal(err)
			}
			want := []kernelRoute{{pfx("203.0.113.9"), Blackhole, 4}}
			if !flush {
				want = append(ours(Blackhole, "198.51.100.5", "2001:db8:5::/64"), want...)
			}
			if got := n.routes(t, h, 254); !slices.Equal(got, want) {
				t.Errorf("routes after Close(%v) = %v, want %v", flush, got, want)
			}
			if err := a.Close(ctx, flush); err != nil {
				t.Errorf("second Close = %v", err)
			}
			if err := a.Ban(ctx, ts[0]); !errors.Is(err, ErrClosed) {
				t.Errorf("Ban after Close = %v, want ErrClosed", err)
			}
		})
	}
}

func TestFactoryBuilds(t *testing.T) {
	ctx := context.Background()
	n := newNS(t)
	h := n.handle(t)
	reg := actions.NewRegistry()
	for name := range typeNames {
		reg.Register(name, Factory(name, nil))
	}
	act, err := reg.Lookup("prohibit[netns=" + n.name + ", table=main, protocol=242]")
	if err != nil {
		t.Fatal(err)
	}
	a := act.(*Action)
	t.Cleanup(func() { a.Close(ctx, true) })
	if got, want := a.Name(), "prohibit[netns="+n.name+", protocol=242, table=main]"; got != want {
		t.Errorf("Name = %q, want %q", got, want)
	}
	if err := a.Ban(ctx, target("sshd", "198.51.100.6")); err != nil {
		t.Fatal(err)
	}
	if got, want := n.routes(t, h, 254), []kernelRoute{{pfx("198.51.100.6"), Prohibit, 242}}; !slices.Equal(got, want) {
		t.Errorf("routes = %v, want %v", got, want)
	}
	if _, err := reg.Lookup("blackhole[netns=/run/netns/banserver-test-no-such-ns]"); err == nil {
		t.Error("Lookup with a missing netns succeeded")
	}
}

// TestLargeBatch: answers are matched to their requests across pipeline
// windows; the foreign routes in it are named, everything else applied.
func TestLargeBatch(t *testing.T) {
	ctx := context.Background()
	n := newNS(t)
	h := n.handle(t)
	ts := benchTargets(3*window+10, false)
	foreignAt := []int{0, window - 1, window, 2*window + 5, len(ts) - 1}
	for _, i := range foreignAt {
		n.ip(t, "-6", "route", "add", "blackhole", ts[i].Prefix.String(), "proto", "static")
	}
	a := newAction(t, n, Options{})
	err := a.BanBatch(ctx, ts)
	if !errors.Is(err, ErrForeignRoute) {
		t.Fatalf("BanBatch = %v, want ErrForeignRoute", err)
	}
	if got := strings.Count(err.Error(), "\n") + 1; got != len(foreignAt) {
		t.Errorf("BanBatch reported %d failures, want %d:\n%v", got, len(foreignAt), err)
	}
	for _, i := range foreignAt {
		if !strings.Contains(err.Error(), ts[i].Prefix.String()+" ") {
			t.Errorf("error does not name %s", ts[i].Prefix)
		}
	}
	owned, err := a.Owned(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(owned), len(ts)-len(foreignAt); got != want {
		t.Fatalf("Owned has %d routes, want %d", got, want)
	}
	if err := a.UnbanBatch(ctx, ts); err != nil {
		t.Fatal(err)
	}
	if got := n.routes(t, h, 254); len(got) != len(foreignAt) {
		t.Fatalf("after UnbanBatch %d routes left, want the %d foreign ones", len(got), len(foreignAt))
	}
	for _, r := range n.routes(t, h, 254) {
		if r.Proto != 4 {
			t.Errorf("left %v, want only protocol 4 (static)", r)
		}
	}
}

func TestCanceled(t *testing.T) {
	n := newNS(t)
	h := n.handle(t)
	a := newAction(t, n, Options{})
	tg := target("sshd", "198.51.100.8")
	if err := a.Ban(context.Background(), tg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := a.Ban(ctx, target("sshd", "198.51.100.9")); !errors.Is(err, context.Canceled) {
		t.Errorf("Ban with a canceled context = %v", err)
	}
	if err := a.Unban(ctx, tg); !errors.Is(err, context.Canceled) {
		t.Errorf("Unban with a canceled context = %v", err)
	}
	if got, want := n.routes(t, h, 254), ours(Blackhole, "198.51.100.8"); !slices.Equal(got, want) {
		t.Fatalf("routes = %v, want %v", got, want)
	}
	if got := a.Jails(tg.Prefix); !slices.Equal(got, []string{"sshd"}) {
		t.Fatalf("jails after a canceled unban = %v, want [sshd]", got)
	}
	// A canceled unban of a prefix never banned leaves nothing recorded, so
	// a later ban still adds the route.
	other := target("sshd", "198.51.100.10")
	a.Unban(ctx, other)
	if err := a.Ban(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	if got, want := n.routes(t, h, 254), ours(Blackhole, "198.51.100.10", "198.51.100.8"); !slices.Equal(got, want) {
		t.Fatalf("routes = %v, want %v", got, want)
	}
}

// TestConcurrent: calls from several goroutines are serialized (run with
// -race).
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	n := newNS(t)
	a := newAction(t, n, Options{})
	ts := benchTargets(400, false)
	jails := []string{"sshd", "nginx", "recidive", "postfix"}
	done := make(chan error, len(jails)+1)
	for _, j := range jails {
		go func() {
			var errs []error
			for i, tg := range ts {
				tg.Jail = j
				errs = append(errs, a.Ban(ctx, tg))
				if i%3 == 0 {
					errs = append(errs, a.Unban(ctx, tg))
				}
			}
			done <- errors.Join(errs...)
		}()
	}
	go func() {
		var errs []error
		for range 20 {
			_, err := a.Owned(ctx)
			errs = append(errs, err)
			_ = a.Jails(ts[0].Prefix)
		}
		done <- errors.Join(errs...)
	}()
	for range len(jails) + 1 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	owned, err := a.Owned(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(ts) - (len(ts)+2)/3; len(owned) != want {
		t.Errorf("Owned has %d routes, want %d (every third unbanned by every jail)", len(owned), want)
	}
	for i, tg := range ts {
		got := a.Jails(tg.Prefix)
		if i%3 == 0 && got != nil || i%3 != 0 && len(got) != len(jails) {
			t.Errorf("Jails(%s) = %v", tg.Prefix, got)
		}
	}
}
