package compat

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestFail2banClientLogJail: fail2ban-client sets up a jail that reads a
// log, over the socket, on fail2ban-server and on banserver: both read the
// same file, ban the same address, and fail2ban-client prints the same
// for every command (addlogpath, datepattern, addfailregex,
// addignoreregex, status JAIL with its File list, the gets, dellogpath).
func TestFail2banClientLogJail(t *testing.T) {
	requireRoot(t)
	client := requireTool(t, "fail2ban-client")
	logFile := filepath.Join(t.TempDir(), "api.log")
	now := time.Now().Format("2006-01-02T15:04:05")
	var text strings.Builder
	for i := range 3 {
		fmt.Fprintf(&text, "%s 192.0.2.1 - Incorrect token used. (request %d)\n", now, i)
		fmt.Fprintf(&text, "%s 192.0.2.2 - Token accepted. (request %d)\n", now, i)
	}
	fmt.Fprintf(&text, "%s 198.51.100.7 - Incorrect token used. (request 9)\n", now)
	if err := os.WriteFile(logFile, []byte(text.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	steps := []step{
		{name: "add web polling", args: words("add", "web", "polling")},
		{name: "addlogpath", args: words("set", "web", "addlogpath", logFile, "head")},
		{name: "datepattern", args: words("set", "web", "datepattern", "^{DATE}")},
		{name: "addfailregex", args: words("set", "web", "addfailregex", `^\s*<ADDR>\s+\S+\s+Incorrect token used\.`)},
		{name: "maxretry", args: words("set", "web", "maxretry", "3")},
		{name: "findtime", args: words("set", "web", "findtime", "3600")},
		{name: "start web", args: words("start", "web")},
		{name: "wait for the ban", args: words("get", "web", "banned", "192.0.2.1"), until: "1\n"},
		{name: "status web", args: words("status", "web")},
		{name: "get logpath", args: words("get", "web", "logpath")},
		{name: "get failregex", args: words("get", "web", "failregex")},
		{name: "get datepattern", args: words("get", "web", "datepattern")},
		{name: "addignoreregex", args: words("set", "web", "addignoreregex", "health check")},
		{name: "get ignoreregex", args: words("get", "web", "ignoreregex")},
		{name: "delignoreregex", args: words("set", "web", "delignoreregex", "0")},
		{name: "get maxlines", args: words("get", "web", "maxlines")},
		{name: "get usedns", args: words("get", "web", "usedns")},
		{name: "dellogpath", args: words("set", "web", "dellogpath", logFile)},
		{name: "status web without its log", args: words("status", "web")},
		{name: "addlogpath of a missing file", args: words("set", "web", "addlogpath", logFile+".missing")},
		{name: "stop web", args: words("stop", "web")},
		{name: "stop", args: words("stop")},
	}
	ref := startFail2ban(t)
	other := startAgainst(t)
	run := func(s *server) []result {
		return runSequence(t, steps, s.sock, func(args []string) result {
			return runClient(t, append([]string{client, "-s", s.sock}, args...)...)
		})
	}
	refRes := run(ref)
	otherRes := run(other)
	ref.waitExit(t)
	other.waitExit(t)
	compareSteps(t, steps, ref, other, refRes, otherRes)
	// The ban came from the log on both sides.
	for i, st := range steps {
		if st.name == "wait for the ban" {
			for _, r := range []result{refRes[i], otherRes[i]} {
				if r.Stdout != "1\n" {
					t.Errorf("192.0.2.1 not banned from the log: %s", r)
				}
			}
		}
	}
}
