package daemon

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// nftExpires returns the seconds left on addr's element in the
// namespace's banserver table, or -1 when it is not there.
func nftExpires(t *testing.T, ns *netNS, addr string) time.Duration {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", ns.name, "nft", "list", "set", "inet", "banserver", "ban4").CombinedOutput()
	if err != nil {
		t.Fatalf("nft list set: %v\n%s", err, out)
	}
	m := regexp.MustCompile(regexp.QuoteMeta(addr) + ` timeout \S+ expires (\S+?)[,\s}]`).FindSubmatch(out)
	if m == nil {
		return -1
	}
	// nft writes 59m58s960ms, 1h, 5s...
	d, err := time.ParseDuration(string(m[1]))
	if err != nil {
		t.Fatalf("nft expiry %q: %v", m[1], err)
	}
	return d
}

// TestProlongStoredAndEnforced: a banip of a banned address with a longer
// bantime prolongs the ban; the new end is stored before the reply (it
// survives kill -9) and reaches the kernel (the nftables element's
// timeout). Before, only the jail's list knew: the element expired at the
// old end, and a restart brought back the old end.
func TestProlongStoredAndEnforced(t *testing.T) {
	needRoot(t, "ip", "nft")
	ns := newNetNS(t)
	cfg := ns.config(t, `
jails:
  - name: p
    bantime: 6
    actions: [nftables]
`)
	dir := t.TempDir()
	db := filepath.Join(dir, "bans.db")
	sock := filepath.Join(dir, "ban.sock")
	p := startProc(t, cfg, sock, db)
	const x = "198.51.100.5"
	for _, c := range [][]any{{"set", "p", "banip", x}, {"set", "p", "bantime", "1h"}, {"set", "p", "banip", x}} {
		if code, v := ask(t, sock, c...); code != 0 {
			t.Fatalf("%v: (%d, %v)", c, code, v)
		}
	}
	_, v := ask(t, sock, "get", "p", "banip", "--with-time")
	if !strings.Contains(fmt.Sprint(v), "+ 3600 =") && !strings.Contains(fmt.Sprint(v), "+ 3599 =") {
		t.Fatalf("--with-time after the prolonging banip: %v, want a ban of about 3600 s", v)
	}
	// The kernel's element takes the new end, within the actions' delay.
	deadline := time.Now().Add(20 * time.Second)
	for nftExpires(t, ns, x) < 10*time.Minute {
		if time.Now().After(deadline) {
			t.Fatalf("the nftables element of %s expires in %v, want the prolonged hour", x, nftExpires(t, ns, x))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Stored before the reply: kill -9 and restart keep the new end.
	p.stop(t, syscall.SIGKILL)
	sock = filepath.Join(dir, "ban2.sock")
	startProc(t, cfg, sock, db)
	_, v = ask(t, sock, "get", "p", "banip", "--with-time")
	if !strings.Contains(fmt.Sprint(v), x) || (!strings.Contains(fmt.Sprint(v), "+ 3600 =") && !strings.Contains(fmt.Sprint(v), "+ 3599 =")) {
		t.Fatalf("after kill -9 and restart: %v, want %s with its prolonged end", v, x)
	}
	if d := nftExpires(t, ns, x); d < 10*time.Minute {
		t.Fatalf("after restart the element expires in %v, want the prolonged hour", d)
	}
}
