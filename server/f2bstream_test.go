package server_test

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/testenv"
)

// This file: what fail2ban-client -d prints for a log jail of Debian's
// /etc/fail2ban, sent to banserver. The stream is made at test time from
// the installed configuration (nothing of it is kept here).

// f2bConfigStream copies /etc/fail2ban to a temporary directory without
// its jail.d and jail.local, adds jailLocal as jail.local, and returns the
// commands fail2ban-client -d prints for it, decoded (ints as int64).
func f2bConfigStream(t *testing.T, jailLocal string) [][]any {
	t.Helper()
	client := needTool(t, "fail2ban-client")
	py := debianPython(t)
	const etc = "/etc/fail2ban"
	if _, err := os.Stat(filepath.Join(etc, "jail.conf")); err != nil {
		testenv.Missingf(t, "fail2ban's configuration is not installed: %v", err)
	}
	dir := filepath.Join(t.TempDir(), "fail2ban")
	err := filepath.WalkDir(etc, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(etc, path)
		if rel == "jail.local" || strings.HasPrefix(rel, "jail.d"+string(filepath.Separator)) {
			return nil
		}
		to := filepath.Join(dir, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "jail.local"), []byte(jailLocal), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(client, "-c", dir, "-d")
	cmd.Stderr = &stderr
	dump, err := cmd.Output()
	if err != nil {
		t.Fatalf("fail2ban-client -d: %v\n%s", err, stderr.String())
	}
	// Each command is a line of Python literals: JSON through python3.
	conv := exec.Command(py, "-c", `import ast, json, sys
print(json.dumps([ast.literal_eval(l) for l in sys.stdin if l.startswith("[")]))`)
	conv.Stdin = bytes.NewReader(dump)
	out, err := conv.Output()
	if err != nil {
		t.Fatalf("python3 reading the dump: %v\n%s", err, dump)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var raw []any
	if err := dec.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	cmds := make([][]any, len(raw))
	for i, c := range raw {
		cmds[i] = jsonItems(t, c).([]any)
	}
	return cmds
}

// jsonItems turns JSON numbers into int64 (the dump has no floats).
func jsonItems(t *testing.T, v any) any {
	switch x := v.(type) {
	case json.Number:
		n, err := x.Int64()
		if err != nil {
			t.Fatalf("number %s in the dump", x)
		}
		return n
	case []any:
		out := make([]any, len(x))
		for i, it := range x {
			out[i] = jsonItems(t, it)
		}
		return out
	}
	return v
}

// actionCommand reports whether cmd configures an action: fail2ban's
// shell actions, which banserver refuses by design (its actions are
// built-in names).
func actionCommand(cmd []any) bool {
	return len(cmd) > 2 && (cmd[2] == "addaction" || cmd[2] == "action")
}

// sendJailStream sends every command of the stream that is about jail
// (add, set, multi-set, start) and checks each is accepted, but for the
// actions, which must be refused. The stream's server settings (log
// target, database file) are the daemon's own configuration's business
// and are not sent.
func sendJailStream(t *testing.T, cl *client, cmds [][]any, name string) {
	t.Helper()
	sent := 0
	for _, cmd := range cmds {
		if len(cmd) < 2 || cmd[1] != name {
			continue
		}
		sent++
		code, v := cl.cmd(cmd...)
		switch {
		case actionCommand(cmd) && code != 1:
			t.Errorf("%.200s: accepted (%s); banserver's actions are built in", protocol.Repr(cmd), protocol.Repr(v))
		case !actionCommand(cmd) && code != 0:
			t.Errorf("%.300s\n refused: %s", protocol.Repr(cmd), protocol.Repr(v))
		}
	}
	if sent < 5 {
		t.Fatalf("the stream had %d commands for %s: %v", sent, name, cmds)
	}
}

// TestFail2banClientStream: the stream fail2ban-client -d makes of
// Debian's sshd jail reading a file is accepted whole (its shell actions
// aside), and the jail then reads the file and bans from it.
func TestFail2banClientStream(t *testing.T) {
	logFile := filepath.Join(t.TempDir(), "auth.log")
	if err := os.WriteFile(logFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cmds := f2bConfigStream(t, "[DEFAULT]\nbackend = auto\n[sshd]\nenabled = true\nlogpath = "+logFile+"\n")
	d, _ := startLogJails(t)
	cl := dial(t, d.sock)
	sendJailStream(t, cl, cmds, "sshd")
	waitStatus(t, cl, "sshd", protocol.Repr(protocol.Tuple{"File list", []any{logFile}}))

	f, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	stamp := time.Now().Format(time.Stamp)
	for i := range 5 {
		f.WriteString(stamp + " host sshd[" + strings.Repeat("1", i+1) + "]: Failed password for root from 192.0.2.51 port 22 ssh2\n")
	}
	f.Close()
	waitStatus(t, cl, "sshd", "('Banned IP list', ['192.0.2.51'])")
}

// TestFail2banClientStreamJournal: the same jail on the systemd backend;
// status shows the filter's journal matches.
func TestFail2banClientStreamJournal(t *testing.T) {
	cmds := f2bConfigStream(t, "[sshd]\nenabled = true\nbackend = systemd\n")
	d, _ := startLogJails(t)
	cl := dial(t, d.sock)
	sendJailStream(t, cl, cmds, "sshd")
	// The matches as the stream adds them: status shows them so.
	var words []string
	for _, cmd := range cmds {
		if len(cmd) > 3 && cmd[1] == "sshd" && cmd[2] == "addjournalmatch" {
			for _, w := range cmd[3:] {
				words = append(words, w.(string))
			}
		}
	}
	if len(words) == 0 {
		t.Fatal("the stream adds no journal match")
	}
	got := cl.replyRepr("get", "sshd", "journalmatch")
	if !strings.HasPrefix(got, "(0, [[") || strings.Contains(got, "[]]") {
		t.Errorf("get journalmatch: %s, want the stream's groups", got)
	}
	waitStatus(t, cl, "sshd", protocol.Repr(protocol.Tuple{"Journal matches", []any{strings.Join(words, " ")}}))
}
