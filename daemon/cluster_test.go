package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/testenv"
)

// Cluster tests: Debian's redis-server started by the test on a Unix
// socket, and three banserver processes, each run inside a network
// namespace of its own (ip netns exec), with its own address there, its
// own socket, store and kernel routes. Redis is reached over its Unix
// socket, which network namespaces do not separate.

// clusterNode is one banserver of a test cluster.
type clusterNode struct {
	name string
	addr string // its own address, in its namespace
	ns   *netNS
	cfg  string
	dir  string
	sock string
	db   string
	p    *proc
}

// clusterJail is the shared jail every node has: the seed's numbers
// (10 failures in 30 minutes, an hour's ban), blackhole routes.
const clusterJail = `
  - name: api
    maxretry: 10
    findtime: 30m
    bantime: 1h
    shared: true
    actions: [blackhole]
`

// startClusterNodeConfig makes node name's namespace (with addr on an interface
// of its own) and configuration; extra is appended to the api jail's
// settings. It does not start the process.
func startClusterNodeConfig(t *testing.T, r *testenv.Redis, name, addr, extra string) *clusterNode {
	t.Helper()
	n := &clusterNode{name: name, addr: addr, ns: newNetNS(t), dir: t.TempDir()}
	n.ns.ip(t, "addr", "add", addr+"/32", "dev", "d0")
	n.sock = filepath.Join(n.dir, "ban.sock")
	n.db = filepath.Join(n.dir, "bans.db")
	n.cfg = writeConfig(t, fmt.Sprintf("cluster:\n  redis: %s\n  node: %s\njails:%s%s", r.URL(), name, clusterJail, extra))
	return n
}

// start runs the node's banserver inside its namespace.
func (n *clusterNode) start(t *testing.T) {
	t.Helper()
	n.p = startProcWith(t, []string{"ip", "netns", "exec", n.ns.name}, n.cfg, n.sock, n.db)
}

// attempts reports count failures of addr to the node's api jail.
func (n *clusterNode) attempts(t *testing.T, addr string, count int) {
	t.Helper()
	for range count {
		if code, v := ask(t, n.sock, "set", "api", "attempt", addr, "Incorrect token used."); code != 0 {
			t.Fatalf("%s: attempt %s: (%d, %v)", n.name, addr, code, v)
		}
	}
}

// do sends a command that must succeed, and returns its answer.
func (n *clusterNode) do(t *testing.T, args ...any) any {
	t.Helper()
	code, v := ask(t, n.sock, args...)
	if code != 0 {
		t.Fatalf("%s: %v: (%d, %v)", n.name, args, code, v)
	}
	return v
}

// logText is what the node has logged so far.
func (n *clusterNode) logText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(n.p.log)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// waitLog polls the node's log until it contains every one of want.
func (n *clusterNode) waitLog(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		text := n.logText(t)
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(text, w)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: log lacks %q:\n%s", n.name, want, text)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// status is the node's `status` reply as name -> value.
func (n *clusterNode) status(t *testing.T) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, it := range n.do(t, "status").([]any) {
		kv := it.(protocol.Tuple)
		out[kv[0].(string)] = kv[1]
	}
	return out
}

// waitStatus polls until the Cluster line of `status` starts with prefix.
func (n *clusterNode) waitStatus(t *testing.T, prefix string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, _ := n.status(t)["Cluster"].(string)
		if strings.HasPrefix(s, prefix) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: cluster status %q, want it to start with %q", n.name, s, prefix)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startCluster starts redis-server and nodes a, b, c (192.0.2.201-203).
func startCluster(t *testing.T, extra map[string]string) (*testenv.Redis, []*clusterNode) {
	t.Helper()
	needRoot(t, "ip")
	r := testenv.StartRedis(t)
	var nodes []*clusterNode
	for i, name := range []string{"a", "b", "c"} {
		n := startClusterNodeConfig(t, r, name, fmt.Sprintf("192.0.2.%d", 201+i), extra[name])
		n.start(t)
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		n.waitStatus(t, "connected")
	}
	return r, nodes
}

func waitAllRoutes(t *testing.T, nodes []*clusterNode, want ...string) {
	t.Helper()
	for _, n := range nodes {
		n.ns.waitRoutes(t, want...)
	}
}

// TestClusterSharedFailures: 4 + 3 + 3 failures of one address on three
// nodes (maxretry 10) ban it on all three, with a route in each
// namespace, and the same end everywhere.
func TestClusterSharedFailures(t *testing.T) {
	_, nodes := startCluster(t, nil)
	for i, count := range []int{4, 3, 3} {
		nodes[i].attempts(t, "192.0.2.9", count)
	}
	waitAllRoutes(t, nodes, "blackhole 192.0.2.9")
	var ends []string
	for _, n := range nodes {
		v := n.do(t, "get", "api", "banip", "--with-time")
		ends = append(ends, fmt.Sprint(v))
	}
	if ends[0] != ends[1] || ends[1] != ends[2] {
		t.Errorf("the ban's times differ between nodes:\n%s", strings.Join(ends, "\n"))
	}
	// Fewer than maxretry over the cluster bans nobody.
	nodes[0].attempts(t, "198.51.100.7", 3)
	nodes[1].attempts(t, "198.51.100.7", 3)
	nodes[2].attempts(t, "198.51.100.7", 3)
	time.Sleep(300 * time.Millisecond)
	for _, n := range nodes {
		if got := banList(t, n.sock, "api"); slices.Contains(got, "198.51.100.7") {
			t.Errorf("%s: 9 failures over the cluster banned 198.51.100.7", n.name)
		}
	}
}

// TestClusterBanUnban: a banip on one node, an unbanip on another: the
// route appears, then goes, everywhere; a prolongation reaches all.
func TestClusterBanUnban(t *testing.T) {
	_, nodes := startCluster(t, nil)
	nodes[0].do(t, "set", "api", "banip", "203.0.113.5")
	waitAllRoutes(t, nodes, "blackhole 203.0.113.5")
	nodes[1].do(t, "set", "api", "unbanip", "203.0.113.5")
	waitAllRoutes(t, nodes)
	for _, n := range nodes {
		if got := banList(t, n.sock, "api"); len(got) != 0 {
			t.Errorf("%s: bans %v after the unban", n.name, got)
		}
	}
	// And the address can be banned again afterwards, from a third node.
	nodes[2].do(t, "set", "api", "banip", "203.0.113.5")
	waitAllRoutes(t, nodes, "blackhole 203.0.113.5")
}

// TestClusterRedisDown: with redis-server killed, attempts still ban
// locally and status says so; bans made during the outage reach the
// other nodes when Redis is back, with its data and empty; a node
// restarted while Redis was down gets every live ban once both are back.
func TestClusterRedisDown(t *testing.T) {
	r, nodes := startCluster(t, nil)
	a, b, c := nodes[0], nodes[1], nodes[2]
	a.do(t, "set", "api", "banip", "203.0.113.1") // before the outage
	waitAllRoutes(t, nodes, "blackhole 203.0.113.1")

	for _, step := range []struct {
		name string
		wipe bool
		addr string
	}{
		{name: "restarted with its data", addr: "192.0.2.31"},
		{name: "restarted empty", wipe: true, addr: "192.0.2.32"},
	} {
		r.Kill()
		a.attempts(t, step.addr, 10)
		got := banList(t, a.sock, "api")
		if !slices.Contains(got, step.addr) {
			t.Fatalf("%s: with Redis down, 10 attempts did not ban %s on a: %v", step.name, step.addr, got)
		}
		a.ns.waitRoutes(t, routesOf(got)...)
		a.waitStatus(t, "disconnected")
		// c restarts while Redis is down: it comes back from its store.
		c.p.stop(t, syscall.SIGTERM)
		c.start(t)
		if step.wipe {
			r.Wipe()
		}
		r.Start()
		want := banList(t, a.sock, "api")
		for _, n := range nodes {
			n.waitStatus(t, "connected")
		}
		waitAllRoutes(t, nodes, routesOf(want)...)
		for _, n := range []*clusterNode{b, c} {
			if got := banList(t, n.sock, "api"); !slices.Equal(got, want) {
				t.Errorf("%s: %s has %v, a has %v", step.name, n.name, got, want)
			}
		}
	}
	// Each outage is said once when it starts, once when it ends.
	text := a.logText(t)
	if n := strings.Count(text, "redis unreachable"); n != 2 {
		t.Errorf("a logged the outage %d times over 2 outages:\n%s", n, text)
	}
	if n := strings.Count(text, "connected again"); n != 2 {
		t.Errorf("a logged the return %d times over 2 outages:\n%s", n, text)
	}
}

// routesOf is the blackhole routes of addrs.
func routesOf(addrs []string) []string {
	out := make([]string, len(addrs))
	for i, a := range addrs {
		out[i] = "blackhole " + a
	}
	return out
}

// TestClusterNodeKeepsItsOwnRules: a ban from the cluster of a node's own
// address, or of one in its ignoreip, is not enforced there, and the node
// says so; the other nodes enforce it.
func TestClusterNodeKeepsItsOwnRules(t *testing.T) {
	_, nodes := startCluster(t, map[string]string{"c": "    ignoreip: [198.51.100.77]\n"})
	a, b, c := nodes[0], nodes[1], nodes[2]
	a.do(t, "set", "api", "banip", c.addr, "198.51.100.77")
	a.ns.waitRoutes(t, "blackhole "+c.addr, "blackhole 198.51.100.77")
	b.ns.waitRoutes(t, "blackhole "+c.addr, "blackhole 198.51.100.77")
	c.waitLog(t, "not enforcing", c.addr, "198.51.100.77")
	c.ns.waitRoutes(t)
	if got := banList(t, c.sock, "api"); len(got) != 0 {
		t.Errorf("c holds %v, want nothing", got)
	}
}

// TestClusterKill9MidBurst: a node killed with kill -9 in the middle of a
// burst of bans made on the others holds, after its restart, every ban
// the cluster holds.
func TestClusterKill9MidBurst(t *testing.T) {
	_, nodes := startCluster(t, nil)
	a, b, c := nodes[0], nodes[1], nodes[2]
	ban := func(n *clusterNode, block, i int) {
		n.do(t, "set", "api", "banip", fmt.Sprintf("198.51.%d.%d", 100+block, i+1))
	}
	// b bans 100 addresses one after the other; c, applying them as they
	// come, is killed after the 40th and restarted after the last.
	for i := range 100 {
		ban(b, 0, i)
		if i == 39 {
			c.p.stop(t, syscall.SIGKILL)
		}
	}
	ban(a, 13, 0) // and a ban from another node meanwhile
	c.start(t)
	c.waitStatus(t, "connected")
	want := banList(t, a.sock, "api")
	if len(want) != 101 {
		t.Fatalf("a holds %d bans, want 101", len(want))
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := banList(t, c.sock, "api")
		if slices.Equal(got, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("c holds %d bans after restart, the cluster %d", len(got), len(want))
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.ns.waitRoutes(t, routesOf(want)...)
}
