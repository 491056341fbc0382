package compat

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestRestoreAndForgiveSameOnBoth runs, through Debian's fail2ban-client,
// against fail2ban-server 1.0.2 and banserver, each with a ban database:
//   - with bantime.increment on, a ban, an unbanip and the same ban again:
//     fail2ban forgets the address's history on unbanip (its delBan), so
//     the second ban is a first ban again (+ 300, not + 600);
//   - a restart with the database: the jail's restored bans show in
//     status, and count in Total banned, as fail2ban counts them.
//
// Before, banserver kept the history (+ 600) and showed a restored jail
// with Currently banned 2 and Total banned 0.
func TestRestoreAndForgiveSameOnBoth(t *testing.T) {
	requireRoot(t)
	client := requireTool(t, "fail2ban-client")
	banserver := buildGo(t, "./cmd/banserver")

	jailSetup := []step{
		{name: "add J", args: words("add", "J")},
		{name: "bantime.increment", args: words("set", "J", "bantime.increment", "true")},
		{name: "bantime 300", args: words("set", "J", "bantime", "300")},
		{name: "start J", args: words("start", "J")},
	}
	before := append(append([]step{}, jailSetup...), []step{
		{name: "banip X", args: words("set", "J", "banip", "198.51.100.31")},
		{name: "unbanip X", args: words("set", "J", "unbanip", "198.51.100.31")},
		{name: "banip X again: forgiven, a first ban", args: words("set", "J", "banip", "198.51.100.31")},
		{name: "get banip --with-time", args: words("get", "J", "banip", "--with-time")},
		{name: "banip Y", args: words("set", "J", "banip", "198.51.100.32")},
		{name: "stop", args: words("stop")},
	}...)
	after := append(append([]step{}, jailSetup...), []step{
		// fail2ban restores in a thread after start: wait for it.
		{name: "status J after restart", args: words("status", "J", "short"),
			until: "Status for the jail: J\n|- Filter\n|  |- Currently failed:\t0\n|  `- Total failed:\t0\n`- Actions\n   |- Currently banned:\t2\n   `- Total banned:\t2\n"},
		{name: "get banned after restart", args: words("get", "J", "banned")},
		{name: "stop", args: words("stop")},
	}...)

	type side struct {
		name  string
		start func(t *testing.T) *server
		sock  string
	}
	f2bDB := filepath.Join(t.TempDir(), "f2b.sqlite3")
	banDB := filepath.Join(t.TempDir(), "bans.db")
	banDir := t.TempDir()
	cfg := filepath.Join(banDir, "empty.yaml")
	if err := os.WriteFile(cfg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	startF2B := func(t *testing.T) *server {
		s := startFail2ban(t)
		// fail2ban-server -x reads no configuration: give it the database.
		if r := runClient(t, client, "-s", s.sock, "set", "dbfile", f2bDB); r.Code != 0 {
			t.Fatalf("set dbfile: %s", r)
		}
		return s
	}
	round := 0
	startBan := func(t *testing.T) *server {
		round++
		sock := filepath.Join(banDir, "ban"+string(rune('0'+round))+".sock")
		return startProcess(t, "banserver", sock, exec.Command(banserver, "--config", cfg, "--socket", sock, "--db", banDB))
	}
	run := func(start func(*testing.T) *server, steps []step) []result {
		s := start(t)
		res := runSequence(t, steps, s.sock, func(args []string) result {
			return runClient(t, append([]string{client, "-s", s.sock}, args...)...)
		})
		s.waitExit(t)
		for i := range res {
			res[i].Stdout, res[i].Stderr = normalise(res[i].Stdout, s.sock), normalise(res[i].Stderr, s.sock)
		}
		return res
	}
	for _, phase := range []struct {
		name  string
		steps []step
	}{{"before the restart", before}, {"after the restart", after}} {
		ref := run(startF2B, phase.steps)
		got := run(startBan, phase.steps)
		for i, st := range phase.steps {
			if ref[i] != got[i] {
				t.Errorf("%s, %s: fail2ban-client %s:\nbanserver printed:\n%s\nfail2ban-server printed:\n%s",
					phase.name, st.name, shellWords(st.args), got[i], ref[i])
			}
		}
	}
}
