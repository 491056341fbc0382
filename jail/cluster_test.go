package jail

import (
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// clusterManager is a Manager with a jail "api" (maxretry 3, bantime 1h,
// ignoreip 198.51.100.0/28, this host 192.0.2.254), recording the
// failures it hands the cluster and the events it delivers.
type clusterManager struct {
	*Manager
	clk *clock

	mu    sync.Mutex
	fails []Failure
	evs   []Event
}

func newClusterManager(t *testing.T, shared bool) *clusterManager {
	t.Helper()
	cm := &clusterManager{clk: newClock()}
	cm.Manager = NewManager(Options{
		Now:       cm.clk.Now,
		SelfAddrs: func() []netip.Addr { return []netip.Addr{netip.MustParseAddr("192.0.2.254")} },
		OnFailure: func(f Failure) { cm.mu.Lock(); cm.fails = append(cm.fails, f); cm.mu.Unlock() },
		OnEvent:   func(ev Event) { cm.mu.Lock(); cm.evs = append(cm.evs, ev); cm.mu.Unlock() },
	})
	cfg := DefaultConfig("api")
	cfg.MaxRetry, cfg.BanTime, cfg.Shared = 3, time.Hour, shared
	cfg.IgnoreIP = []netip.Prefix{netip.MustParsePrefix("198.51.100.0/28")}
	if err := cm.Add(cfg); err != nil {
		t.Fatal(err)
	}
	if err := cm.Start("api"); err != nil {
		t.Fatal(err)
	}
	return cm
}

func (cm *clusterManager) events() []string {
	cm.mu.Lock()
	defer cm.mu.Unlock()
	var out []string
	for _, ev := range cm.evs {
		out = append(out, ev.Kind.String()+" "+ev.Ban.Prefix.String()+" "+ev.Cause.String())
	}
	return out
}

// TestOnFailureSharedOnly: a shared jail hands every counted failure to
// OnFailure, with the jail's numbers; an unshared one, and failures not
// counted (ignored, already banned), hand nothing.
func TestOnFailureSharedOnly(t *testing.T) {
	for _, shared := range []bool{true, false} {
		cm := newClusterManager(t, shared)
		a := netip.MustParseAddr("192.0.2.9")
		cm.Attempt("api", a, []string{"m1", "m2"})
		cm.Attempt("api", netip.MustParseAddr("198.51.100.1"), nil) // ignoreip
		cm.Attempt("api", a, nil)                                   // 3rd: banned
		cm.Attempt("api", a, nil)                                   // already banned
		want := 0
		if shared {
			want = 2
		}
		if len(cm.fails) != want {
			t.Fatalf("shared %v: %d failures handed on, want %d: %+v", shared, len(cm.fails), want, cm.fails)
		}
		if shared {
			f := cm.fails[0]
			if f.Jail != "api" || f.Key != netip.MustParsePrefix("192.0.2.9/32") || f.Count != 2 ||
				f.MaxRetry != 3 || f.FindTime != DefaultFindTime || !f.At.Equal(epoch) {
				t.Errorf("failure %+v", f)
			}
		}
	}
}

// TestClusterBan: another node's ban keeps its start, time and count; a
// later end prolongs, an earlier one changes nothing; this node's own
// address and its ignoreip are refused with a reason; the events say
// CauseCluster.
func TestClusterBan(t *testing.T) {
	cm := newClusterManager(t, true)
	start := epoch.Add(-10 * time.Minute)
	p := netip.MustParsePrefix("203.0.113.5/32")
	for _, c := range []struct {
		name    string
		ban     Ban
		changed bool
		refused string
	}{
		{name: "new", ban: Ban{Prefix: p, Start: start, BanTime: time.Hour, Count: 2}, changed: true},
		{name: "same again", ban: Ban{Prefix: p, Start: start, BanTime: time.Hour, Count: 2}},
		{name: "ends sooner", ban: Ban{Prefix: p, Start: start, BanTime: 30 * time.Minute}},
		{name: "ends later", ban: Ban{Prefix: p, Start: start, BanTime: 2 * time.Hour, Count: 3}, changed: true},
		{name: "ended already", ban: Ban{Prefix: netip.MustParsePrefix("203.0.113.6/32"), Start: start, BanTime: time.Minute}},
		{name: "own address", ban: Ban{Prefix: netip.MustParsePrefix("192.0.2.254/32"), Start: start, BanTime: time.Hour}, refused: "this host's address"},
		{name: "prefix over own address", ban: Ban{Prefix: netip.MustParsePrefix("192.0.2.0/24"), Start: start, BanTime: time.Hour}, refused: "this host's address"},
		{name: "ignoreip", ban: Ban{Prefix: netip.MustParsePrefix("198.51.100.3/32"), Start: start, BanTime: time.Hour}, refused: "ignoreip"},
		{name: "loopback", ban: Ban{Prefix: netip.MustParsePrefix("127.0.0.1/32"), Start: start, BanTime: time.Hour}, refused: "loopback"},
	} {
		changed, err := cm.ClusterBan("api", c.ban)
		var re *ClusterRefusedError
		switch {
		case c.refused != "":
			if !errors.As(err, &re) || !errors.Is(err, ErrInvalidAddress) || !strings.Contains(re.Reason, c.refused) {
				t.Errorf("%s: err %v, want a refusal naming %q", c.name, err, c.refused)
			}
		case err != nil:
			t.Errorf("%s: %v", c.name, err)
		case changed != c.changed:
			t.Errorf("%s: changed %v, want %v", c.name, changed, c.changed)
		}
	}
	bans, _ := cm.BanList("api")
	if len(bans) != 1 || bans[0].Prefix != p || !bans[0].Start.Equal(start) || bans[0].BanTime != 2*time.Hour || bans[0].Count != 3 {
		t.Fatalf("bans %+v", bans)
	}
	want := []string{"ban 203.0.113.5/32 cluster", "prolong 203.0.113.5/32 cluster"}
	if got := cm.events(); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if _, err := cm.ClusterBan("nosuch", Ban{Prefix: p, Start: start, BanTime: time.Hour}); !errors.Is(err, ErrUnknownJail) {
		t.Errorf("unknown jail: %v", err)
	}
}

// TestClusterUnbanAndReached: the cluster's unban lifts a ban as
// CauseCluster; the cluster's count reaching maxretry bans as this node's
// own command, once, and never an address this node does not ban.
func TestClusterUnbanAndReached(t *testing.T) {
	cm := newClusterManager(t, true)
	p := netip.MustParsePrefix("203.0.113.7/32")
	at := epoch.Add(-time.Minute)
	if ok, err := cm.ClusterReached("api", p, at); !ok || err != nil {
		t.Fatalf("reached: %v, %v", ok, err)
	}
	if ok, _ := cm.ClusterReached("api", p, at); ok {
		t.Error("reached twice banned twice")
	}
	if ok, _ := cm.ClusterReached("api", netip.MustParsePrefix("192.0.2.254/32"), at); ok {
		t.Error("reached banned this host's address")
	}
	bans, _ := cm.BanList("api")
	if len(bans) != 1 || !bans[0].Start.Equal(at) {
		t.Fatalf("bans %+v", bans)
	}
	if ok, _ := cm.ClusterUnban("api", p, at.Add(-time.Microsecond)); ok {
		t.Fatal("an unban from before the ban began lifted it")
	}
	if ok, err := cm.ClusterUnban("api", p, at); !ok || err != nil {
		t.Fatalf("unban: %v, %v", ok, err)
	}
	if ok, _ := cm.ClusterUnban("api", p, time.Time{}); ok {
		t.Error("unbanned twice")
	}
	want := []string{"ban 203.0.113.7/32 command", "unban 203.0.113.7/32 cluster"}
	if got := cm.events(); !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
	if got := cm.Shared(); !slices.Equal(got, []string{"api"}) {
		t.Errorf("Shared() = %q", got)
	}
}
