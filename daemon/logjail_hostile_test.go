package daemon

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestLogJailHostile: logs written by attackers, read with Debian's stock
// filters. The daemon keeps answering while it reads them and bans only
// whom it should:
//   - domino-smtp's second failregex backtracks catastrophically in
//     Python on a line of many words (fail2ban's ReDoS); a run of such
//     lines must not stall the jail: the real failures after them ban;
//   - a 100 MB line without a newline's worth of sense is cut and
//     skipped, and the lines after it are read;
//   - an address in ignoreip, a loopback address and one of this host's
//     own addresses (ignoreself) fail maxretry times and are not banned;
//   - a user name that imitates a failure of another address ("x from
//     198.51.100.66 port 22 ssh2") bans the address that sent it, as
//     fail2ban's sshd filter anchors it, never the one it names.
func TestLogJailHostile(t *testing.T) {
	filters := needFail2banFilters(t)
	dir := t.TempDir()
	domino, auth := filepath.Join(dir, "domino.log"), filepath.Join(dir, "auth.log")
	cfg := writeConfig(t, fmt.Sprintf(`
filter_dirs: [%s]
jails:
  - name: domino
    maxretry: 3
    findtime: 10m
    bantime: 1h
    actions: []
    logpath: [%s]
    filter: domino-smtp
  - name: sshd
    maxretry: 3
    findtime: 10m
    bantime: 1h
    actions: []
    ignoreip: [192.0.2.50]
    logpath: [%s]
    filter: sshd
`, filters, domino, auth))
	sock, _, _ := runDaemon(t, Options{ConfigPath: cfg, Socket: filepath.Join(dir, "ban.sock"), DB: "none"})
	stamp := func() string { return time.Now().Format("Jan _2 15:04:05") }
	dominoStamp := func() string { return time.Now().Format("2006-01-02 15:04:05") }

	var d strings.Builder
	for i := range 20 {
		fmt.Fprintf(&d, "%s   smtp: %s! authentication failure using internet password\n",
			dominoStamp(), strings.Repeat("a ", 400+i))
	}
	for range 3 {
		fmt.Fprintf(&d, "%s   smtp: Someone Somewhere [192.0.2.4] authentication failure using internet password\n", dominoStamp())
	}
	appendFile(t, domino, d.String())

	f, err := os.OpenFile(auth, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "%s web1 sshd[7]: ", stamp())
	chunk := strings.Repeat("A", 1<<20)
	for range 100 {
		w.WriteString(chunk)
	}
	w.WriteString("\n")
	own := ownAddr(t)
	for i := range 3 {
		if own != "" {
			fmt.Fprintf(w, "%s web1 sshd[%d]: Failed password for root from %s port 22 ssh2\n", stamp(), 400+i, own)
		}
		fmt.Fprintf(w, "%s web1 sshd[%d]: Failed password for root from 192.0.2.50 port 22 ssh2\n", stamp(), 100+i)
		fmt.Fprintf(w, "%s web1 sshd[%d]: Failed password for root from 127.0.0.1 port 22 ssh2\n", stamp(), 200+i)
		fmt.Fprintf(w, "%s web1 sshd[%d]: Failed password for invalid user x from 198.51.100.66 port 22 ssh2 from 192.0.2.9 port %d ssh2\n",
			stamp(), 300+i, 40000+i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	// The daemon answers while it reads.
	if code, v := ask(t, sock, "ping"); code != 0 || v != "pong" {
		t.Fatalf("ping: (%d, %v)", code, v)
	}
	waitBanned(t, sock, "domino", []string{"192.0.2.4"})
	waitBanned(t, sock, "sshd", []string{"192.0.2.9"})
	// Nothing else comes later: the ignored and loopback failures were
	// read (status counts them as lines, not bans).
	time.Sleep(200 * time.Millisecond)
	waitBanned(t, sock, "sshd", []string{"192.0.2.9"})
}

// appendFile appends text to the file at path.
func appendFile(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}

// ownAddr returns a global unicast address of this host, or "" (with a
// note) when it has none besides loopback.
func ownAddr(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().IsGlobalUnicast() {
			return p.Addr().Unmap().String()
		}
	}
	t.Log("this host has no global unicast address: the own-address lines are left out")
	return ""
}
