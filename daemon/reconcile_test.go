package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// routesIn lists the namespace's protocol-244 routes of table, IPv4 and
// IPv6, as "TYPE DST" lines.
func (n *netNS) routesIn(t *testing.T, table string) []string {
	t.Helper()
	var out []string
	for _, fam := range []string{"-4", "-6"} {
		for _, l := range strings.Split(strings.TrimSpace(n.ip(t, fam, "route", "show", "table", table, "proto", "244")), "\n") {
			if f := strings.Fields(l); len(f) >= 2 {
				out = append(out, f[0]+" "+f[1])
			}
		}
	}
	return out
}

// waitRoutesIn is waitRoutes for another table.
func (n *netNS) waitRoutesIn(t *testing.T, table string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		got := n.routesIn(t, table)
		if sameSet(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("table %s: routes %q, want %q", table, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestReconcileJailAddedOverSocket: a jail made over the socket, as
// fail2ban-client makes jails, bans for 2 s; the daemon is killed, the ban
// ends while it is down. After the restart the route is gone, before the
// jail is even added again. Before, only actions built from the config
// file were reconciled, and the route stayed for ever.
func TestReconcileJailAddedOverSocket(t *testing.T) {
	needRoot(t, "ip")
	ns := newNetNS(t)
	cfg := ns.config(t, "")
	dir := t.TempDir()
	db := filepath.Join(dir, "bans.db")
	sock := filepath.Join(dir, "ban.sock")
	p := startProc(t, cfg, sock, db)
	addDyn := [][]any{{"add", "dyn"}, {"set", "dyn", "addaction", "blackhole"}, {"set", "dyn", "bantime", "2"}, {"start", "dyn"}}
	for _, c := range addDyn {
		if code, v := ask(t, sock, c...); code != 0 {
			t.Fatalf("%v: (%d, %v)", c, code, v)
		}
	}
	if code, v := ask(t, sock, "set", "dyn", "banip", "198.51.100.50"); code != 0 || v != int64(1) {
		t.Fatalf("banip: (%d, %v)", code, v)
	}
	ns.waitRoutes(t, "blackhole 198.51.100.50")
	p.stop(t, syscall.SIGKILL)
	time.Sleep(3 * time.Second)

	sock = filepath.Join(dir, "ban2.sock")
	startProc(t, cfg, sock, db)
	ns.waitRoutes(t)
	for _, c := range addDyn {
		if code, v := ask(t, sock, c...); code != 0 {
			t.Fatalf("after restart %v: (%d, %v)", c, code, v)
		}
	}
	if got := banList(t, sock, "dyn"); len(got) != 0 {
		t.Fatalf("the expired ban came back: %v", got)
	}
	ns.waitRoutes(t)
	// The jail still bans, through the action it was given again.
	if code, v := ask(t, sock, "set", "dyn", "banip", "198.51.100.51"); code != 0 || v != int64(1) {
		t.Fatalf("banip: (%d, %v)", code, v)
	}
	ns.waitRoutes(t, "blackhole 198.51.100.51")
}

// TestReconcileDroppedFromConfig: a jail removed from the config between
// restarts, with forever bans in another route table and in nftables: its
// routes and set elements go at the next start, and the route someone
// else put in that table stays. Before, they stayed for ever.
func TestReconcileDroppedFromConfig(t *testing.T) {
	needRoot(t, "ip", "nft")
	ns := newNetNS(t)
	ns.ip(t, "route", "add", "blackhole", "203.0.113.9", "table", "100", "proto", "static")
	v1 := ns.config(t, `
jails:
  - name: old
    bantime: -1
    actions: ["blackhole[table=100]", nftables]
  - name: api
    actions: [blackhole]
`)
	dir := t.TempDir()
	db := filepath.Join(dir, "bans.db")
	sock := filepath.Join(dir, "ban.sock")
	p := startProc(t, v1, sock, db)
	for _, c := range [][]any{{"set", "old", "banip", "198.51.100.7", "2001:db8::7"}, {"set", "api", "banip", "198.51.100.8"}} {
		if code, v := ask(t, sock, c...); code != 0 {
			t.Fatalf("%v: (%d, %v)", c, code, v)
		}
	}
	ns.waitRoutesIn(t, "100", "blackhole 198.51.100.7", "blackhole 2001:db8::7")
	ns.waitRoutes(t, "blackhole 198.51.100.8")
	nft := func() string {
		out, _ := exec.Command("ip", "netns", "exec", ns.name, "nft", "list", "ruleset").CombinedOutput()
		return string(out)
	}
	if !strings.Contains(nft(), "198.51.100.7") {
		t.Fatalf("no nftables element for the forever ban:\n%s", nft())
	}
	p.stop(t, syscall.SIGTERM)

	// The jail is gone from the config; api stays.
	v2 := filepath.Join(filepath.Dir(v1), "v2.yaml")
	if err := os.WriteFile(v2, []byte(ns.kernelSection()+"jails:\n  - name: api\n    actions: [blackhole]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	sock = filepath.Join(dir, "ban2.sock")
	startProc(t, v2, sock, db)
	ns.waitRoutesIn(t, "100")
	ns.waitRoutes(t, "blackhole 198.51.100.8")
	if out := nft(); strings.Contains(out, "198.51.100.7") || strings.Contains(out, "table inet banserver") {
		t.Fatalf("the dropped jail's nftables table is still there:\n%s", out)
	}
	if !strings.Contains(ns.ip(t, "route", "show", "table", "100"), "203.0.113.9") {
		t.Fatal("the hand-made route in table 100 is gone")
	}
	if code, v := ask(t, sock, "unban", "198.51.100.7"); code != 0 || v != int64(0) {
		t.Fatalf("unban of the dropped jail's address: (%d, %v)", code, v)
	}
}
