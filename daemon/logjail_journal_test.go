package daemon

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/testenv"
)

// needFail2banFilters returns Debian's fail2ban filter directory, or skips
// (fails in CI).
func needFail2banFilters(t *testing.T) string {
	t.Helper()
	const dir = "/etc/fail2ban/filter.d"
	if _, err := os.Stat(filepath.Join(dir, "sshd.conf")); err != nil {
		testenv.Missingf(t, "fail2ban's filters are not installed (Debian package fail2ban): %v", err)
	}
	return dir
}

// TestLogJailJournal: a jail with the systemd backend and Debian's sshd
// filter reads a real journal (written by systemd-journal-remote) through
// journalctl: the filter's journalmatch keeps other units out, maxretry
// entries ban, fewer do not, and entries appended later are followed.
func TestLogJailJournal(t *testing.T) {
	testenv.Tool(t, "journalctl")
	filters := needFail2banFilters(t)
	jdir := t.TempDir()
	file := filepath.Join(jdir, "remote.journal")
	n := 0
	entry := func(unit, comm, msg string) []testenv.JournalField {
		n++
		return []testenv.JournalField{
			{"__REALTIME_TIMESTAMP", fmt.Sprint(time.Now().UnixMicro())},
			{"__MONOTONIC_TIMESTAMP", fmt.Sprint(1000000 + n*1000)},
			{"_BOOT_ID", "0123456789abcdef0123456789abcdef"},
			{"_HOSTNAME", "web1"},
			{"_PID", fmt.Sprint(1000 + n)},
			{"_SYSTEMD_UNIT", unit},
			{"_COMM", comm},
			{"SYSLOG_IDENTIFIER", comm},
			{"MESSAGE", msg},
		}
	}
	failed := func(addr string) string {
		return fmt.Sprintf("Failed password for root from %s port %d ssh2", addr, 40000+n)
	}
	var first [][]testenv.JournalField
	for range 3 {
		first = append(first,
			entry("sshd.service", "sshd", failed("192.0.2.7")),
			entry("sshd.service", "sshd", failed("198.51.100.8")),
			// The same text from another unit: outside the journalmatch.
			entry("cron.service", "cron", failed("203.0.113.9")))
	}
	first = first[:len(first)-2] // 198.51.100.8 fails twice only
	testenv.WriteJournal(t, file, first)

	cfg := writeConfig(t, fmt.Sprintf(`
filter_dirs: [%s]
jails:
  - name: sshd
    maxretry: 3
    findtime: 10m
    bantime: 1h
    actions: []
    backend: systemd
    filter: sshd
`, filters))
	sock, _, _ := runDaemon(t, Options{ConfigPath: cfg, Socket: filepath.Join(t.TempDir(), "ban.sock"),
		DB: "none", JournalDirectory: jdir})
	waitBanned(t, sock, "sshd", []string{"192.0.2.7"})

	// Appended later: one more failure bans 198.51.100.8.
	testenv.WriteJournal(t, file, [][]testenv.JournalField{entry("sshd.service", "sshd", failed("198.51.100.8"))})
	waitBanned(t, sock, "sshd", []string{"192.0.2.7", "198.51.100.8"})
	if failed := totalFailed(t, sock, "sshd"); failed != 6 {
		t.Errorf("Total failed %d, want 6 (3 + 3; cron's entries are not the jail's)", failed)
	}
	code, v := ask(t, sock, "status", "sshd")
	if code != 0 {
		t.Fatalf("status sshd: (%d, %v)", code, v)
	}
}

// waitBanned waits until the jail's bans are exactly want (sorted).
func waitBanned(t *testing.T, sock, jailName string, want []string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := banList(t, sock, jailName)
		if slices.Equal(got, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s bans %v after 30s, want %v", jailName, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// totalFailed is the jail's "Total failed" from status JAIL.
func totalFailed(t *testing.T, sock, jailName string) int64 {
	t.Helper()
	code, v := ask(t, sock, "status", jailName)
	if code != 0 {
		t.Fatalf("status %s: (%d, %v)", jailName, code, v)
	}
	for _, sec := range v.([]any) {
		for _, kv := range sec.(protocol.Tuple)[1].([]any) {
			if kv := kv.(protocol.Tuple); kv[0] == "Total failed" {
				return kv[1].(int64)
			}
		}
	}
	t.Fatalf("status %s: no Total failed in %v", jailName, v)
	return 0
}
