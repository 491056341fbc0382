package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/cluster"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/logjail"
	"github.com/banserver/banserver/metrics"
	"github.com/banserver/banserver/metrics/metricstest"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/server"
	"github.com/banserver/banserver/store"
	"github.com/banserver/banserver/testenv"
)

// get fetches url and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestServe gives every source real parts (a jail manager, a server
// answering on a socket, an actions queue, a store, a log jail reading a
// file; the cluster's state as its node reports it), serves them over TCP
// and checks a scrape: each section's values, promtool's verdict on the
// whole, nothing but /metrics served, and a clean stop.
func TestServe(t *testing.T) {
	promtool := testenv.Tool(t, "promtool")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()

	queue := actions.NewQueue(actions.NewRegistry(actions.Log{L: zap.NewNop()}), zap.NewNop())
	qdone := make(chan error, 1)
	go func() { qdone <- queue.Run(ctx) }()
	defer func() { cancel(); <-qdone }()
	jails := jail.NewManager(jail.Options{
		SelfAddrs: func() []netip.Addr { return nil },
		OnEvent: func(ev jail.Event) {
			op := actions.OpBan
			if ev.Kind == jail.EventUnban {
				op = actions.OpUnban
			}
			queue.Submit(actions.Job{Op: op, Actions: ev.Actions, Target: actions.Target{Jail: ev.Jail, Prefix: ev.Ban.Prefix}})
		},
	})
	if err := jails.Add(jail.Config{Name: "api", MaxRetry: 5, Actions: []string{"log"}}); err != nil {
		t.Fatal(err)
	}
	jails.Start("api")
	db, err := store.Open(filepath.Join(dir, "bans.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.WaitFor(ctx, db.Put(store.Change{Op: store.OpBan, Ban: store.Ban{Jail: "api",
		Prefix: netip.MustParsePrefix("192.0.2.9/32"), Start: time.Now(), BanTime: time.Hour, Count: 1}})); err != nil {
		t.Fatal(err)
	}

	// The server on a socket of its own: one ping, one attempt.
	srv := server.New(server.Options{Jails: jails, Queue: queue})
	sock := filepath.Join(dir, "ban.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ctx, ln)
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	r := protocol.NewReader(c, 1<<16)
	for _, cmd := range [][]any{{"ping"}, {"set", "api", "attempt", "198.51.100.1"}} {
		req, _ := protocol.AppendRequest(nil, 4, cmd)
		c.Write(req)
		if _, err := r.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	if _, err := jails.BanIP("api", []netip.Addr{netip.MustParseAddr("203.0.113.1")}); err != nil {
		t.Fatal(err)
	}
	queue.Wait()

	// A log jail reading one file: a failure, an ignored one, a line
	// that matches nothing.
	logf := filepath.Join(dir, "api.log")
	now := time.Now().Format("2006-01-02T15:04:05")
	os.WriteFile(logf, []byte(now+" 192.0.2.1 - Incorrect token used.\n"+now+" 127.0.0.1 - Incorrect token used.\n"+now+" 192.0.2.1 - ok\n"), 0o600)
	logs := logjail.New(logjail.Options{Attempt: jails.AttemptAt})
	if err := logs.Configure("api", logjail.Settings{LogPaths: []logjail.LogPath{{Path: logf}}, Backend: "polling",
		FailRegex: []string{`^\s*<ADDR>\s+\S+\s+Incorrect token used\.`}, DatePattern: `^{DATE}`}); err != nil {
		t.Fatal(err)
	}
	logs.Start("api")
	ldone := make(chan error, 1)
	lctx, lcancel := context.WithCancel(ctx)
	go func() { ldone <- logs.Run(lctx) }()
	defer func() { lcancel(); <-ldone }()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if fs := logs.FileStats(); len(fs) == 1 && fs[0].Read == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log jail did not read its 3 lines within 20s: %+v", logs.FileStats())
		}
	}

	src := metrics.Sources{
		Jails: jails, Server: srv, Queue: queue, Store: db, LogJails: logs,
		Restores: func() []metrics.Restore {
			return []metrics.Restore{{Jail: "api", Took: 1500 * time.Millisecond, Bans: 1}}
		},
		Cluster: func() cluster.Status {
			return cluster.Status{Node: "web1", Connected: true, Lag: 250 * time.Millisecond, Pending: 2, DroppedFailures: 3, Resyncs: 1}
		},
	}
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithCancel(ctx)
	sdone := make(chan error, 1)
	go func() { sdone <- metrics.Serve(sctx, mln, metrics.Handler(metrics.NewRegistry(src))) }()
	base := "http://" + mln.Addr().String()

	code, text := get(t, base+metrics.Path)
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, text)
	}
	m := metricstest.Samples(t, text)
	want := map[string]float64{
		`banserver_jail_failures_total{jail="api"}`: 2, // the socket's attempt and the log's
		`banserver_jail_bans_total{jail="api"}`:     1,
		`banserver_jail_banned{jail="api"}`:         1,
		`banserver_jail_failed{jail="api"}`:         2,

		`banserver_commands_total{class="read",command="ping",result="ok"}`:                     1,
		`banserver_commands_total{class="report",command="set <JAIL> attempt",result="ok"}`:     1,
		`banserver_command_duration_seconds_count{class="report",command="set <JAIL> attempt"}`: 1,
		`banserver_connections_total`: 1,

		`banserver_action_queue_depth`:                           0,
		`banserver_action_changes_total{action="log",op="ban"}`:  1,
		`banserver_action_failures_total{action="log",op="ban"}`: 0,

		`banserver_store_changes_total`:                        1,
		`banserver_store_commit_duration_seconds_count`:        1,
		`banserver_store_commit_failures_total`:                0,
		`banserver_store_restore_duration_seconds{jail="api"}`: 1.5,
		`banserver_store_restored_bans{jail="api"}`:            1,

		fmt.Sprintf(`banserver_log_lines_read_total{file=%q,jail="api"}`, logf):    3,
		fmt.Sprintf(`banserver_log_lines_matched_total{file=%q,jail="api"}`, logf): 1,
		fmt.Sprintf(`banserver_log_lines_ignored_total{file=%q,jail="api"}`, logf): 1, // loopback
		fmt.Sprintf(`banserver_log_line_errors_total{file=%q,jail="api"}`, logf):   0,

		`banserver_cluster_connected`:                      1,
		`banserver_cluster_lag_seconds`:                    0.25,
		`banserver_cluster_queued`:                         2,
		`banserver_cluster_dropped_total{kind="failures"}`: 3,
		`banserver_cluster_dropped_total{kind="changes"}`:  0,
		`banserver_cluster_resyncs_total`:                  1,
	}
	for k, v := range want {
		if got, ok := m[k]; !ok {
			t.Errorf("%s: missing", k)
		} else if got != v {
			t.Errorf("%s = %v, want %v", k, got, v)
		}
	}
	check := exec.Command(promtool, "check", "metrics")
	check.Stdin = strings.NewReader(text)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}

	if code, _ := get(t, base+"/"); code != http.StatusNotFound {
		t.Errorf("GET /: %d, want 404", code)
	}
	scancel()
	if err := <-sdone; err != nil {
		t.Fatalf("Serve after cancellation: %v", err)
	}
	if _, err := net.Dial("tcp", mln.Addr().String()); err == nil {
		t.Error("the listener still accepts after Serve returned")
	}
}

// TestNoSources: a collector without sources shows only the build info
// (and the registry the Go runtime's and the process's metrics).
func TestNoSources(t *testing.T) {
	mfs, err := metrics.NewRegistry(metrics.Sources{}).Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		name := mf.GetName()
		if strings.HasPrefix(name, "banserver_") && name != "banserver_build_info" {
			t.Errorf("%s without its source", name)
		}
	}
}
