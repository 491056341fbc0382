package daemon

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banserver/banserver/metrics/metricstest"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/testenv"
	"github.com/banserver/banserver/version"
)

// metricsClientEnv, when set to a socket path, makes the test binary a
// client that sends one attempt there and prints the reply's code (see
// init below): TestMetrics runs it as nobody, whom the access rules refuse.
const metricsClientEnv = "BANSERVER_METRICS_CLIENT"

// dumpMetrics, when set, is where TestMetrics writes its last scrape.
var dumpMetrics = flag.String("metrics.dump", "", "write TestMetrics' scrape to this file")

func init() {
	sock := os.Getenv(metricsClientEnv)
	if sock == "" {
		return
	}
	code, err := metricsClient(sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, "metrics client:", err)
		os.Exit(1)
	}
	fmt.Println(code)
	os.Exit(0)
}

// metricsClient sends `set api attempt 192.0.2.99` and returns the reply's
// code and value.
func metricsClient(sock string) (string, error) {
	c, err := net.Dial("unix", sock)
	if err != nil {
		return "", err
	}
	defer c.Close()
	req, _ := protocol.AppendRequest(nil, 4, []any{"set", "api", "attempt", "192.0.2.99"})
	if _, err := c.Write(req); err != nil {
		return "", err
	}
	msg, err := protocol.NewReader(c, 1<<20).ReadMessage()
	if err != nil {
		return "", err
	}
	code, v, err := protocol.DecodeReply(msg)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d %v", code, v), nil
}

// scrape reads the metrics served on the Unix socket sock.
func scrape(t *testing.T, sock string) string {
	t.Helper()
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", sock)
	}}, Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Get("http://banserver/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, b)
	}
	return string(b)
}

// TestMetrics runs a known sequence over the socket (attempts that ban by
// maxretry, a banip and its unbanip, a command over limits.max_addresses,
// an unknown command, and an attempt from nobody, whom the access rules
// refuse), then scrapes /metrics on its Unix socket: the counters those
// caused have exactly the expected values, the sections without a source
// (log jails, cluster) are absent, and promtool check metrics passes on
// the scrape.
func TestMetrics(t *testing.T) {
	testenv.Root(t, "a client as nobody, refused by the access rules")
	promtool := testenv.Tool(t, "promtool")
	dir := memSocketDir(t) // nobody must reach the socket
	msock := filepath.Join(dir, "metrics.sock")
	cfg := filepath.Join(t.TempDir(), "banserver.yaml")
	os.WriteFile(cfg, []byte(`socket:
  mode: "0666"
limits:
  max_addresses: 2
metrics:
  listen: `+msock+`
jails:
  - name: api
    maxretry: 3
    findtime: 1h
    bantime: 1h
    actions: [log]
`), 0o600)
	sock, _, _ := runDaemon(t, Options{ConfigPath: cfg, Socket: filepath.Join(dir, "ban.sock"), DB: filepath.Join(t.TempDir(), "bans.db")})
	if fi, err := os.Stat(msock); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o660 {
		t.Fatalf("metrics socket: %v, %v; want a socket of mode 0660", fi, err)
	}
	// wait scrapes until cond holds of the samples: the actions queue and
	// closing connections are asynchronous.
	wait := func(what string, cond func(m map[string]float64) bool) map[string]float64 {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			text := scrape(t, msock)
			m := metricstest.Samples(t, text)
			if cond(m) {
				return m
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30s; scrape:\n%s", what, text)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	const (
		banChanges   = `banserver_action_changes_total{action="log",op="ban"}`
		unbanChanges = `banserver_action_changes_total{action="log",op="unban"}`
	)
	must := func(code int, v any, args ...any) {
		t.Helper()
		if c, got := ask(t, sock, args...); c != code || fmt.Sprint(got) != fmt.Sprint(v) {
			t.Fatalf("%v: (%d, %v), want (%d, %v)", args, c, got, code, v)
		}
	}
	conns := 0
	for range 3 {
		must(0, 1, "set", "api", "attempt", "192.0.2.1") // the third bans
		conns++
	}
	must(0, 1, "set", "api", "attempt", "198.51.100.7")
	must(0, 1, "set", "api", "banip", "203.0.113.5")
	conns += 2
	// The ban applied before its unban, so that the queue cannot merge them.
	wait("two bans applied", func(m map[string]float64) bool { return m[banChanges] == 2 })
	must(0, 1, "set", "api", "unbanip", "203.0.113.5")
	conns++
	if code, _ := ask(t, sock, "set", "api", "banip", "203.0.113.6", "203.0.113.7", "203.0.113.8"); code != 1 {
		t.Fatal("a banip over limits.max_addresses was not refused")
	}
	if code, _ := ask(t, sock, "frobnicate"); code != 1 {
		t.Fatal("an unknown command was answered")
	}
	conns += 2

	// nobody may only ping: its attempt is refused by the access rules.
	client := filepath.Join(dir, "client")
	memCopyBinary(t, client)
	cmd := exec.Command(client, "-test.run=^$")
	cmd.Env = []string{metricsClientEnv + "=" + sock}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "1 ") || !strings.Contains(string(out), "permission denied") {
		t.Fatalf("nobody's attempt: %v\n%s", err, out)
	}
	conns++

	m := wait("the unban applied and every connection closed", func(m map[string]float64) bool {
		return m[unbanChanges] == 1 && m["banserver_connections_open"] == 0
	})
	want := map[string]float64{
		`banserver_build_info{version="` + version.Version + `"}`: 1,
		`banserver_jail_failures_total{jail="api"}`:               4,
		`banserver_jail_bans_total{jail="api"}`:                   2,
		`banserver_jail_unbans_total{jail="api"}`:                 1,
		`banserver_jail_failed{jail="api"}`:                       1, // 198.51.100.7; 192.0.2.1's were cleared by its ban
		`banserver_jail_banned{jail="api"}`:                       1,

		`banserver_commands_total{class="report",command="set <JAIL> attempt",result="ok"}`:                4,
		`banserver_commands_total{class="report",command="set <JAIL> attempt",result="error"}`:             0,
		`banserver_commands_total{class="ban",command="set <JAIL> banip",result="ok"}`:                     1,
		`banserver_commands_total{class="unban",command="set <JAIL> unbanip",result="ok"}`:                 1,
		`banserver_commands_total{class="admin",command="unknown",result="error"}`:                         1,
		`banserver_command_duration_seconds_count{class="report",command="set <JAIL> attempt"}`:            4,
		`banserver_command_duration_seconds_bucket{class="report",command="set <JAIL> attempt",le="+Inf"}`: 4,
		`banserver_command_duration_seconds_count{class="ban",command="set <JAIL> banip"}`:                 1,

		`banserver_refusals_total{reason="access"}`:      1,
		`banserver_refusals_total{reason="limits"}`:      1,
		`banserver_refusals_total{reason="rate"}`:        0,
		`banserver_refusals_total{reason="connections"}`: 0,
		`banserver_refusals_total{reason="malformed"}`:   0,
		`banserver_connections_total`:                    float64(conns),
		`banserver_connections_open`:                     0,

		`banserver_action_queue_depth`: 0,
		banChanges:                     2,
		unbanChanges:                   1,
		`banserver_action_failures_total{action="log",op="ban"}`:   0,
		`banserver_action_failures_total{action="log",op="unban"}`: 0,

		`banserver_store_commit_failures_total`:     0,
		`banserver_store_failing`:                   0,
		`banserver_store_restored_bans{jail="api"}`: 0,
	}
	for k, v := range want {
		got, ok := m[k]
		if !ok {
			t.Errorf("%s: missing", k)
		} else if got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	// The commands answered are those above; the refused ones are not.
	var cmds float64
	for k, v := range m {
		if strings.HasPrefix(k, "banserver_commands_total{") {
			cmds += v
		}
	}
	if cmds != 7 {
		t.Errorf("commands answered: %v, want 7: 4 attempts, banip, unbanip and the unknown command; no refused one", cmds)
	}
	// The store committed the three changes at least (a purge may ride
	// along); its commits are timed.
	if m["banserver_store_changes_total"] < 3 || m["banserver_store_commit_duration_seconds_count"] < 1 {
		t.Errorf("store: %v changes in %v commits, want 3 or more in 1 or more",
			m["banserver_store_changes_total"], m["banserver_store_commit_duration_seconds_count"])
	}
	if _, ok := m[`banserver_store_restore_duration_seconds{jail="api"}`]; !ok {
		t.Error("no restore time for the api jail")
	}
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes", "process_cpu_seconds_total", "process_resident_memory_bytes"} {
		if _, ok := m[name]; !ok {
			t.Errorf("%s: missing (the Go runtime's and the process's metrics)", name)
		}
	}
	for k := range m {
		if strings.HasPrefix(k, "banserver_log_") || strings.HasPrefix(k, "banserver_cluster_") {
			t.Errorf("%s: shown without log jails or a cluster", k)
		}
	}

	// promtool, as an operator would run it on a scrape.
	text := scrape(t, msock)
	if *dumpMetrics != "" {
		os.WriteFile(*dumpMetrics, []byte(text), 0o644)
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(text)
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

// TestMetricsAddressInUse: a metrics.listen address another program holds
// refuses the start, and leaves no socket behind.
func TestMetricsAddressInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg := filepath.Join(t.TempDir(), "banserver.yaml")
	os.WriteFile(cfg, []byte("metrics:\n  listen: "+busy.Addr().String()+"\n"), 0o600)
	sock := filepath.Join(t.TempDir(), "ban.sock")
	err = Run(context.Background(), Options{ConfigPath: cfg, Socket: sock, DB: "none"})
	if err == nil || !strings.Contains(err.Error(), "metrics.listen") || !errors.Is(err, syscall.EADDRINUSE) {
		t.Fatalf("Run with metrics on a busy address: %v, want a metrics.listen error (address in use)", err)
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused start left its socket: %v", err)
	}
}

// TestMetricsTCP: metrics on a TCP address are served while the daemon
// runs, and the port is free again once it stopped.
func TestMetricsTCP(t *testing.T) {
	// A free port: taken and released (another program could take it
	// meanwhile; the test would then fail at start, not pass wrongly).
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(t.TempDir(), "banserver.yaml")
	os.WriteFile(cfg, []byte("metrics:\n  listen: "+addr+"\njails:\n  - name: api\n    actions: [log]\n"), 0o600)
	sock, cancel, done := runDaemon(t, Options{ConfigPath: cfg, Socket: filepath.Join(t.TempDir(), "ban.sock"), DB: "none"})
	if code, _ := ask(t, sock, "set", "api", "attempt", "192.0.2.1"); code != 0 {
		t.Fatal("attempt refused")
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := metricstest.Samples(t, string(b)); m[`banserver_jail_failures_total{jail="api"}`] != 1 {
		t.Fatalf("scrape over TCP: %s\n%s", resp.Status, b)
	}
	// Without a store there are no store metrics.
	if strings.Contains(string(b), "banserver_store_") {
		t.Error("store metrics without a store")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	l, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the metrics port is still held after the daemon stopped: %v", err)
	}
	l.Close()
}
