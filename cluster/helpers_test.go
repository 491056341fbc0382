package cluster_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/cluster"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/testenv"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// webJail is the shared jail the tests use: maxretry 10 over ten minutes.
func webJail() jail.Config {
	return jail.Config{Name: "web", MaxRetry: 10, FindTime: 600 * time.Second, BanTime: 600 * time.Second, Shared: true}
}

// node is one simulated banserver: a real jail.Manager wired to its
// cluster.Node, like the daemon wires them.
type node struct {
	name string
	m    *jail.Manager
	n    *cluster.Node
	logs *observer.ObservedLogs
	stop func()
}

// startNode starts a node on r with the jails cfgs; it stops with t.
func startNode(t *testing.T, r *testenv.Redis, name string, maxLen int64, cfgs ...jail.Config) *node {
	t.Helper()
	nd := newNode(t, r, name, maxLen, cfgs...)
	nd.run(t)
	return nd
}

func newNode(t *testing.T, r *testenv.Redis, name string, maxLen int64, cfgs ...jail.Config) *node {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	nd := &node{name: name, logs: logs}
	nd.m = jail.NewManager(jail.Options{
		OnFailure: func(f jail.Failure) { nd.n.Failure(f) },
		OnEvent:   func(ev jail.Event) { nd.n.Event(ev) },
		History:   func(j string, p netip.Prefix, overall bool) int { return nd.n.Count(j, p, overall) },
		SelfAddrs: func() []netip.Addr { return nil },
	})
	for _, c := range cfgs {
		if err := nd.m.Add(c); err != nil {
			t.Fatal(err)
		}
		if err := nd.m.Start(c.Name); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	nd.n, err = cluster.New(cluster.Options{URL: r.URL(), Node: name, StreamMaxLen: maxLen, Log: zap.New(core)}, nd.m)
	if err != nil {
		t.Fatal(err)
	}
	nd.n.SetBackoff(20*time.Millisecond, 200*time.Millisecond)
	return nd
}

// run starts the node's Run; stop ends it and waits.
func (nd *node) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- nd.n.Run(ctx) }()
	stopped := false
	nd.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("%s: Run: %v", nd.name, err)
		}
	}
	t.Cleanup(nd.stop)
}

// waitFor polls cond until it holds, failing the test after a deadline
// (not a timing assertion: only a bound on a hang).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func waitConnected(t *testing.T, nodes ...*node) {
	t.Helper()
	for _, nd := range nodes {
		waitFor(t, nd.name+" connected", func() bool { return nd.n.Status().Connected })
	}
}

// banOf returns the node's ban of a in the jail.
func (nd *node) banOf(t *testing.T, jailName string, a netip.Addr) (jail.Ban, bool) {
	t.Helper()
	bans, err := nd.m.BanList(jailName)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bans {
		if b.Prefix.Contains(a) {
			return b, true
		}
	}
	return jail.Ban{}, false
}

func (nd *node) banned(t *testing.T, jailName string, a netip.Addr) bool {
	_, ok := nd.banOf(t, jailName, a)
	return ok
}

// waitBanned waits until every node bans a, and returns their bans.
func waitBanned(t *testing.T, jailName string, a netip.Addr, nodes ...*node) []jail.Ban {
	t.Helper()
	out := make([]jail.Ban, len(nodes))
	for i, nd := range nodes {
		waitFor(t, nd.name+" to ban "+a.String(), func() bool {
			b, ok := nd.banOf(t, jailName, a)
			out[i] = b
			return ok
		})
	}
	return out
}

// waitEnd waits until every node's ban of a ends at want (microseconds).
func waitEnd(t *testing.T, jailName string, a netip.Addr, want jail.Ban, nodes ...*node) {
	t.Helper()
	for _, nd := range nodes {
		waitFor(t, nd.name+" to end the ban of "+a.String()+" with the cluster", func() bool {
			b, ok := nd.banOf(t, jailName, a)
			return ok && sameEnd(b, want)
		})
	}
}

func waitUnbanned(t *testing.T, jailName string, a netip.Addr, nodes ...*node) {
	t.Helper()
	for _, nd := range nodes {
		waitFor(t, nd.name+" to lift the ban of "+a.String(), func() bool { return !nd.banned(t, jailName, a) })
	}
}

// sameEnd compares ends to the microsecond, the cluster's unit.
func sameEnd(a, b jail.Ban) bool {
	if a.BanTime == jail.Forever || b.BanTime == jail.Forever {
		return a.BanTime == b.BanTime
	}
	return a.End().UnixMicro() == b.End().UnixMicro()
}

func (nd *node) attempts(t *testing.T, jailName string, a netip.Addr, k int) {
	t.Helper()
	for range k {
		if _, err := nd.m.Attempt(jailName, a, nil); err != nil {
			t.Fatal(err)
		}
	}
}

func (nd *node) banIP(t *testing.T, jailName string, as ...netip.Addr) {
	t.Helper()
	if _, err := nd.m.BanIP(jailName, as); err != nil {
		t.Fatal(err)
	}
}

// logged counts the node's log entries whose message contains s.
func (nd *node) logged(s string) int {
	k := 0
	for _, e := range nd.logs.All() {
		if strings.Contains(e.Message, s) {
			k++
		}
	}
	return k
}
