package cluster_test

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/testenv"
)

var (
	addrX = netip.MustParseAddr("203.0.113.5")
	addrY = netip.MustParseAddr("198.51.100.7")
	addrZ = netip.MustParseAddr("2001:db8::9")
)

// Failures counted on several nodes add up to one window per attacker:
// neither node reaches maxretry 10 alone, the cluster does, and every node
// bans with the same end.
func TestFailuresAddUpAcrossNodes(t *testing.T) {
	r := testenv.StartRedis(t)
	a, b, c := startNode(t, r, "a", 0, webJail()), startNode(t, r, "b", 0, webJail()), startNode(t, r, "c", 0, webJail())
	waitConnected(t, a, b, c)
	tests := []struct {
		name  string
		addr  netip.Addr
		split [3]int
	}{
		{name: "4+3+3", addr: addrX, split: [3]int{4, 3, 3}},
		{name: "1+1+8", addr: addrY, split: [3]int{1, 1, 8}},
		{name: "IPv6 3+3+4", addr: addrZ, split: [3]int{3, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, nd := range []*node{a, b, c} {
				nd.attempts(t, "web", tt.addr, tt.split[i])
				// Each node alone is under maxretry; wait until its
				// failures reached Redis so the test counts them all.
				waitFor(t, nd.name+" to send its failures", func() bool { return nd.n.Status().Pending == 0 })
			}
			bans := waitBanned(t, "web", tt.addr, a, b, c)
			waitEnd(t, "web", tt.addr, bans[0], a, b, c)
			key := fmt.Sprintf("{banserver}:fail:web|%s", netip.PrefixFrom(tt.addr, tt.addr.BitLen()))
			if v, err := r.Do("EXISTS", key); err != nil || v != "0" {
				t.Errorf("EXISTS %s = %q, %v; want the failures gone once banned", key, v, err)
			}
		})
	}
}

// Fewer failures than maxretry over the cluster ban nobody.
func TestFailuresUnderMaxRetry(t *testing.T) {
	r := testenv.StartRedis(t)
	a, b := startNode(t, r, "a", 0, webJail()), startNode(t, r, "b", 0, webJail())
	waitConnected(t, a, b)
	a.attempts(t, "web", addrX, 5)
	b.attempts(t, "web", addrX, 4)
	waitFor(t, "failures sent", func() bool { return a.n.Status().Pending == 0 && b.n.Status().Pending == 0 })
	key := "{banserver}:fail:web|203.0.113.5/32"
	if v, err := r.Do("ZCARD", key); err != nil || v != "9" {
		t.Fatalf("ZCARD %s = %q, %v; want 9", key, v, err)
	}
	if a.banned(t, "web", addrX) || b.banned(t, "web", addrX) {
		t.Fatal("banned with 9 failures of maxretry 10")
	}
}

// banip on one node bans on all with the same end; unbanip on another
// lifts it everywhere; a prolongation moves every end.
func TestBanUnbanProlong(t *testing.T) {
	r := testenv.StartRedis(t)
	a, b, c := startNode(t, r, "a", 0, webJail()), startNode(t, r, "b", 0, webJail()), startNode(t, r, "c", 0, webJail())
	waitConnected(t, a, b, c)

	a.banIP(t, "web", addrX)
	want, _ := a.banOf(t, "web", addrX)
	waitBanned(t, "web", addrX, b, c)
	waitEnd(t, "web", addrX, want, b, c)

	if _, err := b.m.UnbanIP("web", []netip.Addr{addrX}, false); err != nil {
		t.Fatal(err)
	}
	waitUnbanned(t, "web", addrX, a, c)
	if v, _ := r.Do("HEXISTS", "{banserver}:bans", "web|203.0.113.5/32"); v != "0" {
		t.Errorf("the cluster still holds the ban after unbanip")
	}

	// Prolong: banip of a banned address with a longer bantime.
	a.banIP(t, "web", addrY)
	waitBanned(t, "web", addrY, b, c)
	if err := a.m.SetBanTime("web", 3600*time.Second); err != nil {
		t.Fatal(err)
	}
	a.banIP(t, "web", addrY)
	longer, _ := a.banOf(t, "web", addrY)
	if longer.BanTime < 3500*time.Second {
		t.Fatalf("a's ban was not prolonged: %v", longer.BanTime)
	}
	waitEnd(t, "web", addrY, longer, b, c)

	// Forever.
	if err := c.m.SetBanTime("web", jail.Forever); err != nil {
		t.Fatal(err)
	}
	c.banIP(t, "web", addrZ)
	forever, _ := c.banOf(t, "web", addrZ)
	waitBanned(t, "web", addrZ, a, b)
	waitEnd(t, "web", addrZ, forever, a, b)
}

// Redis killed: nodes keep banning locally and say so; restarted with its
// data, what was done meanwhile reaches the others. Restarted empty: the
// nodes republish, and a node started while Redis was down gets every
// live ban once it connects.
func TestOutage(t *testing.T) {
	r := testenv.StartRedis(t)
	a, b := startNode(t, r, "a", 0, webJail()), startNode(t, r, "b", 0, webJail())
	waitConnected(t, a, b)
	a.banIP(t, "web", addrX)
	waitBanned(t, "web", addrX, b)

	r.Kill()
	waitFor(t, "a to notice the outage", func() bool { st := a.n.Status(); return !st.Connected && st.LastError != "" })
	if st := b.n.Status(); st.Connected && st.LastError == "" {
		// b notices on its own read; just wait.
		waitFor(t, "b to notice the outage", func() bool { return !b.n.Status().Connected })
	}
	// Local work goes on: a ban by banip and one by attempts.
	a.banIP(t, "web", addrY)
	a.attempts(t, "web", addrZ, 10)
	if !a.banned(t, "web", addrY) || !a.banned(t, "web", addrZ) {
		t.Fatal("a did not ban locally while redis was down")
	}
	if st := a.n.Status(); st.Pending == 0 {
		t.Fatalf("a's status shows nothing pending during the outage: %+v", st)
	}
	// Let a retry several times before the server comes back.
	waitFor(t, "a to retry", func() bool { return a.logged("still unreachable") >= 3 })

	r.Start()
	waitConnected(t, a, b)
	wantY, _ := a.banOf(t, "web", addrY)
	wantZ, _ := a.banOf(t, "web", addrZ)
	waitEnd(t, "web", addrY, wantY, b)
	waitEnd(t, "web", addrZ, wantZ, b)
	if k := a.logged("redis unreachable"); k != 1 {
		t.Errorf("a logged the outage %d times, want once", k)
	}
	if k := a.logged("connected again after"); k != 1 {
		t.Errorf("a logged its return %d times, want once", k)
	}

	// Now Redis loses everything; a node c starts while it is down.
	r.Kill()
	waitFor(t, "a to notice the second outage", func() bool { return !a.n.Status().Connected })
	c := startNode(t, r, "c", 0, webJail())
	waitFor(t, "c to fail to connect", func() bool { return c.n.Status().LastError != "" })
	w := netip.MustParseAddr("198.51.100.99")
	b.banIP(t, "web", w) // made while down, on b
	r.Wipe()
	r.Start()
	waitConnected(t, a, b, c)
	wantW, _ := b.banOf(t, "web", w)
	wantX, _ := a.banOf(t, "web", addrX)
	for _, tt := range []struct {
		addr netip.Addr
		want jail.Ban
	}{{addrX, wantX}, {addrY, wantY}, {addrZ, wantZ}, {w, wantW}} {
		waitEnd(t, "web", tt.addr, tt.want, a, b, c)
	}
	if k := a.logged("without its data"); k != 1 {
		t.Errorf("a logged the empty restart %d times, want once", k)
	}
}

// A node cut off while the stream was trimmed past its last entry
// catches up by a full resync, unbans included.
func TestTrimmedStreamResyncs(t *testing.T) {
	r := testenv.StartRedis(t)
	a, b := startNode(t, r, "a", 10, webJail()), startNode(t, r, "b", 10, webJail())
	waitConnected(t, a, b)
	a.banIP(t, "web", addrX)
	waitBanned(t, "web", addrX, b)
	before := b.n.Status().Resyncs

	b.stop()
	var many []netip.Addr
	for i := range 250 {
		many = append(many, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}))
	}
	a.banIP(t, "web", many...)
	if _, err := a.m.UnbanIP("web", []netip.Addr{addrX}, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a to publish", func() bool { return a.n.Status().Pending == 0 })
	if v, err := r.Do("XLEN", "{banserver}:events"); err != nil || v == "252" {
		t.Fatalf("XLEN = %q, %v: the stream was not trimmed", v, err)
	}

	b.run(t)
	waitFor(t, "b to resync", func() bool { return b.n.Status().Resyncs > before })
	waitUnbanned(t, "web", addrX, b)
	for _, x := range many {
		want, _ := a.banOf(t, "web", x)
		waitEnd(t, "web", x, want, b)
	}
}

// bantime.increment counts bans over the cluster: a ban made on a, lifted
// on b, made again on c is c's second, twice as long, everywhere.
func TestIncrementCountsAcrossNodes(t *testing.T) {
	r := testenv.StartRedis(t)
	cfg := webJail()
	cfg.Increment = jail.Increment{Enabled: true}
	a, b, c := startNode(t, r, "a", 0, cfg), startNode(t, r, "b", 0, cfg), startNode(t, r, "c", 0, cfg)
	waitConnected(t, a, b, c)

	a.banIP(t, "web", addrX)
	waitBanned(t, "web", addrX, b, c)
	if _, err := b.m.UnbanIP("web", []netip.Addr{addrX}, false); err != nil {
		t.Fatal(err)
	}
	waitUnbanned(t, "web", addrX, a, c)
	p := netip.PrefixFrom(addrX, 32)
	waitFor(t, "c's count", func() bool { return c.n.Count("web", p, false) == 1 })

	c.banIP(t, "web", addrX)
	second, _ := c.banOf(t, "web", addrX)
	if second.Count != 2 || second.BanTime != 1200*time.Second {
		t.Fatalf("c's second ban: count %d, bantime %v; want 2, 20m", second.Count, second.BanTime)
	}
	waitEnd(t, "web", addrX, second, a, b)
	for _, nd := range []*node{a, b} {
		if got, _ := nd.banOf(t, "web", addrX); got.Count != 2 {
			t.Errorf("%s: count %d, want 2", nd.name, got.Count)
		}
		waitFor(t, nd.name+"'s count", func() bool { return nd.n.Count("web", p, false) == 2 && nd.n.Count("web", p, true) == 2 })
	}
}

// A ban of an address a node never bans (its ignoreip) is not enforced
// there, and logged once however often it comes.
func TestRefusedBanLoggedOnce(t *testing.T) {
	r := testenv.StartRedis(t)
	ign := webJail()
	ign.IgnoreIP = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	a, c := startNode(t, r, "a", 0, webJail()), startNode(t, r, "c", 0, ign)
	waitConnected(t, a, c)

	a.banIP(t, "web", addrX)
	waitFor(t, "c to see the ban", func() bool { return c.n.Applied() >= 1 })
	if err := a.m.SetBanTime("web", 3600*time.Second); err != nil {
		t.Fatal(err)
	}
	a.banIP(t, "web", addrX) // a prolongation: c sees it again
	waitFor(t, "c to see the prolongation", func() bool { return c.n.Applied() >= 2 })
	if c.banned(t, "web", addrX) {
		t.Fatal("c enforces a ban of an address in its ignoreip")
	}
	if k := c.logged("not enforcing the ban of 203.0.113.5/32"); k != 1 {
		t.Fatalf("refusal logged %d times, want once", k)
	}
	for _, e := range c.logs.All() {
		if strings.Contains(e.Message, "not enforcing") && !strings.Contains(e.Message, "from node a") {
			t.Errorf("refusal does not name the node: %q", e.Message)
		}
	}
}

// A jail that is not shared keeps its bans to itself.
func TestUnsharedJailStaysLocal(t *testing.T) {
	r := testenv.StartRedis(t)
	local := webJail()
	local.Name, local.Shared = "ssh", false
	a, b := startNode(t, r, "a", 0, webJail(), local), startNode(t, r, "b", 0, webJail(), local)
	waitConnected(t, a, b)
	a.banIP(t, "ssh", addrY)
	a.banIP(t, "web", addrX) // a marker: once b has it, b has seen whatever came before
	waitBanned(t, "web", addrX, b)
	if b.banned(t, "ssh", addrY) {
		t.Fatal("a ban of an unshared jail reached another node")
	}
}
