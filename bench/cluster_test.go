package bench

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/banserver/banserver/bench/load"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/testenv"
)

// Cluster benchmarks: one redis-server (Debian's, on a Unix socket) and
// banserver nodes, each run inside a network namespace of its own with
// blackhole routes there, as the cluster tests run them. They need root
// (namespaces) and redis-server; bench/run.sh runs them with fixed counts.

// clusterBenchConfig is a node's configuration: the seed's jail, shared
// when the node is in a cluster; failures tracked for the whole pool, so
// throughput runs measure the attempt path, not eviction.
func clusterBenchConfig(redisURL, node string, shared bool) string {
	var b strings.Builder
	b.WriteString("socket:\n  mode: \"0600\"\nlog:\n  level: warning\nlimits:\n  max_failures: 1000000\n")
	if redisURL != "" {
		fmt.Fprintf(&b, "cluster:\n  redis: %s\n  node: %s\n", redisURL, node)
	}
	fmt.Fprintf(&b, "jails:\n  - name: api\n    maxretry: 10\n    findtime: 30m\n    bantime: 1h\n    shared: %v\n    actions: [blackhole]\n", shared)
	return b.String()
}

// benchNode is one banserver of a benchmark cluster.
type benchNode struct {
	ns    string
	sock  string
	pid   int
	redis int // redis-server's pid, 0 without a cluster
}

// cpuTime is the user and system CPU time a process has used so far.
func cpuTime(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	var ticks int64
	for _, s := range f[11:13] { // utime, stime
		var n int64
		fmt.Sscan(s, &n)
		ticks += n
	}
	return time.Duration(ticks) * time.Second / 100 // USER_HZ
}

// startNodes starts redis-server (unless n is 0 nodes sharing: redisOff)
// and n banserver nodes in namespaces of their own; node 0 is where load
// goes. With shared false there is no cluster: one plain node.
func startNodes(b *testing.B, n int, shared bool) []benchNode {
	b.Helper()
	if os.Geteuid() != 0 {
		testenv.Missing(b, "not root: cluster benchmarks run nodes in network namespaces")
	}
	testenv.Tool(b, "ip")
	url, redisPID := "", 0
	if shared {
		// As Debian's redis-server runs by default: no append-only file.
		r := testenv.StartRedis(b, "appendonly no")
		url, redisPID = r.URL(), r.PID()
	}
	var nodes []benchNode
	for i := range n {
		name := fmt.Sprintf("banbench-%d-%d", os.Getpid(), i)
		ip := func(args ...string) {
			if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
				b.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		ip("netns", "add", name)
		b.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
		ip("-n", name, "link", "set", "lo", "up")
		sock, pid := runBanserver(b, []string{"ip", "netns", "exec", name},
			clusterBenchConfig(url, fmt.Sprintf("n%d", i), shared), func(sock string) bool {
				code, v, err := ask(sock, "status")
				return err == nil && code == 0 && (!shared || strings.Contains(fmt.Sprint(v), "connected to"))
			})
		nodes = append(nodes, benchNode{ns: name, sock: sock, pid: pid, redis: redisPID})
	}
	return nodes
}

// ask sends one command on a fresh connection.
func ask(sock string, args ...any) (int, any, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return 0, nil, err
	}
	defer c.Close()
	req, _ := protocol.AppendRequest(nil, 4, args)
	if _, err := c.Write(req); err != nil {
		return 0, nil, err
	}
	msg, err := protocol.NewReader(c, 1<<20).ReadMessage()
	if err != nil {
		return 0, nil, err
	}
	return protocol.DecodeReply(msg)
}

// conn is one persistent client connection.
type conn struct {
	c net.Conn
	r *protocol.Reader
}

func dialConn(b *testing.B, sock string) *conn {
	c, err := net.Dial("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	return &conn{c: c, r: protocol.NewReader(c, 1<<20)}
}

func (c *conn) do(b *testing.B, args ...any) {
	req, _ := protocol.AppendRequest(nil, 4, args)
	if _, err := c.c.Write(req); err != nil {
		b.Fatal(err)
	}
	msg, err := c.r.ReadMessage()
	if err != nil {
		b.Fatal(err)
	}
	if code, v, err := protocol.DecodeReply(msg); err != nil || code != 0 {
		b.Fatalf("%v: (%d, %v, %v)", args, code, v, err)
	}
}

// routeWatch receives the routes added in a namespace, as the kernel
// announces them.
type routeWatch struct {
	ch   chan netlink.RouteUpdate
	done chan struct{}
}

func watchRoutes(b *testing.B, nsName string) *routeWatch {
	h, err := netns.GetFromName(nsName)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { h.Close() })
	w := &routeWatch{ch: make(chan netlink.RouteUpdate, 4096), done: make(chan struct{})}
	if err := netlink.RouteSubscribeWithOptions(w.ch, w.done, netlink.RouteSubscribeOptions{Namespace: &h}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { close(w.done) })
	return w
}

// wait returns when a route to p is added, or fails after 10 s.
func (w *routeWatch) wait(b *testing.B, p netip.Prefix) {
	timeout := time.After(10 * time.Second)
	for {
		select {
		case u := <-w.ch:
			if u.Type != unix.RTM_NEWROUTE || u.Dst == nil {
				continue
			}
			ones, _ := u.Dst.Mask.Size()
			if a, ok := netip.AddrFromSlice(u.Dst.IP); ok && netip.PrefixFrom(a.Unmap(), ones) == p {
				return
			}
		case <-timeout:
			b.Fatalf("no route to %s within 10s", p)
		}
	}
}

// benchBanReach: the time from the attempt that reaches maxretry on node
// 0 (its reply received... rather: its request sent) to the route being
// in the last node's kernel, each address failing 9 times first, spread
// over the nodes. Reports p50 and p99 in ms.
func benchBanReach(b *testing.B, n int) {
	nodes := startNodes(b, n, true)
	last := watchRoutes(b, nodes[len(nodes)-1].ns)
	conns := make([]*conn, len(nodes))
	for i, nd := range nodes {
		conns[i] = dialConn(b, nd.sock)
	}
	var h load.Histogram
	b.ResetTimer()
	for i := range b.N {
		addr := load.PoolAddr(i)
		for k := range 9 {
			conns[k%len(conns)].do(b, "set", "api", "attempt", addr.String())
		}
		// Let the 9 reach Redis, so the 10th is the one that decides.
		b.StopTimer()
		time.Sleep(5 * time.Millisecond)
		b.StartTimer()
		t0 := time.Now()
		conns[0].do(b, "set", "api", "attempt", addr.String())
		last.wait(b, netip.PrefixFrom(addr, addr.BitLen()))
		h.Record(time.Since(t0))
	}
	b.StopTimer()
	b.ReportMetric(float64(h.Percentile(50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(h.Percentile(99).Microseconds())/1000, "p99-ms")
}

func BenchmarkClusterBanReach3(b *testing.B) { benchBanReach(b, 3) }

func BenchmarkClusterBanReach6(b *testing.B) { benchBanReach(b, 6) }

// benchClusterAttempts: attempts/s on node 0 from 8 persistent clients,
// no address reaching maxretry, with n nodes sharing the jail (n 0: one
// node, no cluster).
func benchClusterAttempts(b *testing.B, n int) {
	var nodes []benchNode
	if n == 0 {
		nodes = startNodes(b, 1, false)
	} else {
		nodes = startNodes(b, n, true)
	}
	const pool = 500000
	reqs, err := load.BuildRequests(load.CmdAttempt, "api", pool)
	if err != nil {
		b.Fatal(err)
	}
	cpu0 := cpuTime(b, nodes[0].pid)
	var redis0 time.Duration
	if nodes[0].redis != 0 {
		redis0 = cpuTime(b, nodes[0].redis)
	}
	b.ResetTimer()
	res, err := load.Run(context.Background(), load.Config{
		Socket: nodes[0].sock, Clients: 8, Mode: load.Persistent, N: int64(b.N), Requests: reqs,
	})
	b.StopTimer()
	// What each attempt cost the node, and Redis, in CPU: on a 2-core
	// machine the three (load generator, node, Redis) share the cores, so
	// the rate alone mixes Redis's work into the node's.
	b.ReportMetric(float64((cpuTime(b, nodes[0].pid)-cpu0).Nanoseconds())/float64(b.N)/1000, "node-cpu-µs/op")
	if nodes[0].redis != 0 {
		b.ReportMetric(float64((cpuTime(b, nodes[0].redis)-redis0).Nanoseconds())/float64(b.N)/1000, "redis-cpu-µs/op")
	}
	if err != nil {
		b.Fatal(err)
	}
	if res.OK != int64(b.N) {
		b.Fatalf("%d of %d requests ok: %v (first error: %s)", res.OK, b.N, res, res.FirstError)
	}
	b.ReportMetric(res.Rate, "req/s")
	b.ReportMetric(float64(res.P99.Microseconds()), "p99-µs")
}

func BenchmarkClusterAttemptsOff(b *testing.B) { benchClusterAttempts(b, 0) }

func BenchmarkClusterAttempts1(b *testing.B) { benchClusterAttempts(b, 1) }

func BenchmarkClusterAttempts3(b *testing.B) { benchClusterAttempts(b, 3) }

func BenchmarkClusterAttempts6(b *testing.B) { benchClusterAttempts(b, 6) }
