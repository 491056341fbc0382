package daemon

import (
	"fmt"
	"path/filepath"
	"testing"
)

// TestRestartChangesDuringReconcile: with thousands of bans and their routes
// from the run before, the restarted daemon answers while it reconciles,
// and what clients change meanwhile is not undone by the reconciliation: an
// unban of a restored ban and a new ban, sent the moment the socket
// answers, end as the kernel's final state, beside the route that vanished
// while the daemon was down (back) and the stray one (gone).
func TestRestartChangesDuringReconcile(t *testing.T) {
	needRoot(t, "ip")
	ns := newNetNS(t)
	cfg := ns.config(t, `
jails:
  - name: api
    bantime: 1h
    ignoreself: false
    actions: [blackhole]
`)
	dir := t.TempDir()
	db := filepath.Join(dir, "bans.db")
	sock, cancel, done := runDaemon(t, Options{ConfigPath: cfg, Socket: filepath.Join(dir, "ban.sock"), DB: db})
	const n = 5000
	want := map[string]bool{}
	for i := 1; i <= n; i += 500 {
		args := []any{"set", "api", "banip"}
		for j := i; j < i+500; j++ {
			a := fmt.Sprintf("2001:db8:1::%x", j)
			args = append(args, a)
			want["blackhole "+a] = true
		}
		if code, v := ask(t, sock, args...); code != 0 || v != int64(500) {
			t.Fatalf("banip: (%d, %v)", code, v)
		}
	}
	ns.waitRoutes(t, keys(want)...)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	// While down: a route vanishes, a stray one of the daemon's protocol
	// appears.
	ns.ip(t, "-6", "route", "del", "blackhole", "2001:db8:1::7", "proto", "244")
	ns.ip(t, "-6", "route", "add", "blackhole", "2001:db8:2::1", "proto", "244")

	sock, _, _ = runDaemon(t, Options{ConfigPath: cfg, Socket: filepath.Join(dir, "ban2.sock"), DB: db})
	if code, v := ask(t, sock, "set", "api", "unbanip", "2001:db8:1::9"); code != 0 || v != int64(1) {
		t.Fatalf("unbanip during start: (%d, %v)", code, v)
	}
	if code, v := ask(t, sock, "set", "api", "banip", "2001:db8:3::1"); code != 0 || v != int64(1) {
		t.Fatalf("banip during start: (%d, %v)", code, v)
	}
	delete(want, "blackhole 2001:db8:1::9")
	want["blackhole 2001:db8:3::1"] = true
	ns.waitRoutes(t, keys(want)...)
	if got := banList(t, sock, "api"); len(got) != n {
		t.Fatalf("%d bans after the restart, want %d", len(got), n)
	}
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
