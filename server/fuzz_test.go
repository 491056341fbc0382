package server_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/logjail"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/server"
)

// fuzzWords turns fuzz bytes into a command list: what protocol.Decode
// makes of them, or else the bytes split on NUL into string words, so
// that most inputs reach the command parser and the handlers rather than
// stopping at the pickle decoder (fuzzed on its own in package protocol).
func fuzzWords(data []byte) []any {
	if items, _, err := protocol.Decode(data); err == nil {
		return items
	}
	if len(data) == 0 {
		return []any{}
	}
	parts := bytes.Split(data, []byte{0})
	items := make([]any, len(parts))
	for i, p := range parts {
		items[i] = string(p)
	}
	return items
}

// eventCount tallies the ban and unban events the jail manager delivers.
type eventCount struct {
	mu            sync.Mutex // guards the fields below
	bans, unbans  int
	perJailBanned map[string]int
}

func (c *eventCount) add(ev jail.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch ev.Kind {
	case jail.EventUnban:
		c.unbans++
		c.perJailBanned[ev.Jail]--
	case jail.EventBan:
		c.bans++
		c.perJailBanned[ev.Jail]++
	}
}

// fuzzServer is a server with two started jails, one holding a ban, and
// no socket: the fuzz target calls Dispatch directly.
func fuzzServer(t *testing.T) (*server.Server, *jail.Manager, *eventCount) {
	t.Helper()
	ev := &eventCount{perJailBanned: map[string]int{}}
	m := jail.NewManager(jail.Options{
		SelfAddrs: func() []netip.Addr { return nil },
		OnEvent:   ev.add,
	})
	for _, c := range []jail.Config{apiJail(3), {Name: "sshd", MaxRetry: 5, FindTime: 10 * time.Minute, BanTime: 10 * time.Minute, Actions: []string{"log"}}} {
		if err := m.Add(c); err != nil {
			t.Fatal(err)
		}
		if err := m.Start(c.Name); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.BanIP("sshd", []netip.Addr{netip.MustParseAddr("192.0.2.200")}); err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Options{
		Jails:   m,
		Actions: actions.NewRegistry(actions.Log{L: zap.NewNop()}),
		Level:   zap.NewAtomicLevel(),
		DB:      server.NewDBSettings("/nonexistent/bans.db", 24*time.Hour, 10),
		// Settings only: without Run, no reader starts.
		LogJails: logjail.New(logjail.Options{}),
	})
	return srv, m, ev
}

// checkConsistent checks that the jail manager's views agree with each
// other and with the events it delivered.
func checkConsistent(t *testing.T, m *jail.Manager, ev *eventCount) {
	t.Helper()
	names := m.Jails()
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Fatalf("Jails() = %q: not sorted and unique", names)
	}
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for name, n := range ev.perJailBanned {
		if n != 0 && !slices.Contains(names, name) {
			t.Fatalf("jail %q is gone with %d bans never unbanned", name, n)
		}
	}
	for _, name := range names {
		if !m.Has(name) {
			t.Fatalf("Jails() lists %q, Has says no", name)
		}
		st, err := m.Status(name)
		if err != nil {
			t.Fatalf("Status(%q): %v", name, err)
		}
		bans, err := m.BanList(name)
		if err != nil {
			t.Fatalf("BanList(%q): %v", name, err)
		}
		if st.CurrentlyBanned != len(bans) || len(st.Banned) != len(bans) {
			t.Fatalf("jail %q: Status says %d banned (%d listed), BanList has %d", name, st.CurrentlyBanned, len(st.Banned), len(bans))
		}
		if st.TotalBanned < st.CurrentlyBanned || st.TotalFailed < st.CurrentlyFailed {
			t.Fatalf("jail %q: totals below current: %+v", name, st)
		}
		if got := ev.perJailBanned[name]; got != len(bans) {
			t.Fatalf("jail %q: events say %d banned, BanList has %d", name, got, len(bans))
		}
		for _, b := range bans {
			in, err := m.IsBanned(name, b.Prefix.Addr())
			if err != nil || !in {
				t.Fatalf("jail %q lists %v, IsBanned = %v, %v", name, b.Prefix, in, err)
			}
			if !slices.Contains(m.BannedIn(b.Prefix.Addr()), name) {
				t.Fatalf("jail %q lists %v, BannedIn says %q", name, b.Prefix, m.BannedIn(b.Prefix.Addr()))
			}
		}
	}
}

// FuzzDispatch runs arbitrary command lists through Dispatch: it must not
// panic, and the jail manager must stay consistent. Each input gets a
// fresh server, so a failure reproduces from its input alone; the input
// is run twice, as a client repeating a command would.
func FuzzDispatch(f *testing.F) {
	for _, words := range [][]string{
		{"ping"}, {"status"}, {"status", "api", "short"}, {"add", "x"}, {"start", "x"},
		{"stop", "sshd"}, {"stop", "--all"}, {"unban", "--all"}, {"unban", "192.0.2.200"},
		{"banned"}, {"banned", "192.0.2.200"}, {"set", "api", "banip", "192.0.2.1", "2001:db8::1"},
		{"set", "api", "unbanip", "--report-absent", "192.0.2.1"}, {"set", "api", "attempt", "192.0.2.7", "x"},
		{"set", "api", "bantime", "-1"}, {"set", "api", "ipv6prefix", "64"}, {"set", "api", "addignoreip", "192.0.2.0/24"},
		{"set", "loglevel", "DEBUG"}, {"set", "dbpurgeage", "1d"}, {"get", "sshd", "banip", "--with-time"},
		{"set", "api", "bantime.increment", "true"}, {"set", "api", "delaction", "log"}, {"echo", "a"},
		// Log jails.
		{"set", "api", "addlogpath", "/nonexistent/auth.log", "tail"}, {"set", "api", "dellogpath", "/var/log/x.log"},
		{"set", "api", "addfailregex", "fail from <HOST>"}, {"set", "api", "addignoreregex", "(?i)ok"},
		{"set", "api", "delfailregex", "-1"}, {"set", "api", "prefregex", "^<F-MLFID>x</F-MLFID><F-CONTENT>.+</F-CONTENT>$"},
		{"set", "api", "datepattern", "{^LN-BEG}%Y-%m-%d %H:%M:%S"}, {"set", "api", "logtimezone", "UTC+0200"},
		{"set", "api", "maxlines", "5"}, {"set", "api", "maxmatches", "-2"}, {"set", "api", "logencoding", "auto"},
		{"set", "api", "usedns", "no"}, {"set", "api", "ignorecommand", ""}, {"get", "api", "failregex"},
		{"add", "j", "systemd"}, {"set", "j", "addjournalmatch", "_COMM=x", "+", "_UID=0"}, {"set", "j", "deljournalmatch", "_UID=0"},
		{"multi-set", "api", "addfailregex", "x"}, {"get", "sshd", "datepattern"},
	} {
		f.Add([]byte(string(bytes.Join(toBytes(words), []byte{0}))))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		srv, m, ev := fuzzServer(t)
		items := fuzzWords(data)
		// Done already: a sleep the fuzzer finds returns at once.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		for range 2 {
			srv.Dispatch(ctx, items)
			checkConsistent(t, m, ev)
		}
	})
}

func toBytes(words []string) [][]byte {
	out := make([][]byte, len(words))
	for i, w := range words {
		out[i] = []byte(w)
	}
	return out
}

var update = flag.Bool("update", false, "regenerate the fuzz seed corpora through Debian's python3 and fail2ban")

// allCommandsScript prints, for every command of fail2ban's protocol
// table (fail2ban.protocol.protocol) with its placeholders filled in,
// "PROTO HEX" lines: the command pickled as fail2ban-client's CSocket
// pickles it, at the highest protocol, 2 and 0.
const allCommandsScript = `
import pickle, re, sys, os
from fail2ban.protocol import protocol
from fail2ban.client.csocket import CSocket
SUB = {"JAIL": "api", "IP": "192.0.2.7", "ACT": "log", "CMD": "echo ban <ip>", "FILE": "/var/log/auth.log",
       "INDEX": "0", "INT": "3", "LEVEL": "INFO", "TIME": "600", "SECONDS": "600", "VALUE": "1",
       "BACKEND": "auto", "ENCODING": "utf-8", "JSONKWARGS": '{"name": "x"}', "LINES": "10",
       "MATCH": "^fail <HOST>$", "METHOD": "ban", "PATTERN": "%Y-%m-%d", "PROPERTY": "timeout",
       "PYTHONFILE": "/etc/fail2ban/action.d/x.py", "REGEX": "^fail <HOST>$", "RETRY": "3",
       "SEP": "\n", "SOCKET": "auto", "TARGET": "STDERR", "TIMEOUT": "60"}
seen = set()
for entry in protocol:
    tmpl = entry[0]
    if not tmpl or not tmpl[0].isalpha():
        continue
    words = []
    for w in tmpl.split():
        w = w.strip("[]")
        if w in ("...", ""):
            continue
        if "|" in w:
            w = w.split("|")[0]
        m = re.fullmatch(r"<([A-Z_]+)>", w)
        if m:
            words.append(SUB.get(m.group(1), "x"))
            continue
        words.append(w)
    if "<IP>" in tmpl and "..." in tmpl:
        words.append("2001:db8::1")
    key = tuple(words)
    if key in seen:
        continue
    seen.add(key)
    for proto in (pickle.HIGHEST_PROTOCOL, 2, 0):
        print(proto, pickle.dumps(list(map(CSocket.convert, words)), proto).hex())
`

// seedFile writes one seed corpus file; values are Go literals.
func seedFile(t *testing.T, dir, name string, values ...string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	body := "go test fuzz v1\n" + strings.Join(values, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func bytesLit(b []byte) string { return "[]byte(" + strconv.Quote(string(b)) + ")" }

// TestFuzzSeeds regenerates, under -update, the seeds of FuzzDispatch and
// of package protocol's FuzzDecode and FuzzReadMessage: every command of
// fail2ban's protocol as fail2ban-client pickles it, and the small nasty
// cases of TestHostileDaemon (each seed under 64 KiB).
func TestFuzzSeeds(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate the seed corpora through python3")
	}
	dpy := debianPython(t)
	out, err := exec.Command(dpy, "-c", allCommandsScript).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	const (
		dispatchDir = "testdata/fuzz/FuzzDispatch"
		decodeDir   = "../protocol/testdata/fuzz/FuzzDecode"
		readDir     = "../protocol/testdata/fuzz/FuzzReadMessage"
	)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	for i, line := range lines {
		proto, h, found := strings.Cut(line, " ")
		msg, err := hex.DecodeString(h)
		if !found || err != nil {
			t.Fatalf("python3 line %q: %v", line, err)
		}
		name := fmt.Sprintf("f2b-cmd%03d-p%s", i/3, proto)
		seedFile(t, decodeDir, name, bytesLit(msg))
		seedFile(t, dispatchDir, name, bytesLit(msg))
		if i%3 == 0 {
			// Framing: the message, then a second one split by the cap.
			framed := append(append(bytes.Clone(msg), protocol.EndCommand...), msg...)
			seedFile(t, readDir, name, bytesLit(append(framed, protocol.EndCommand...)), "uint16(511)", "uint8(0)")
			seedFile(t, readDir, name+"-small-cap", bytesLit(framed), "uint16("+strconv.Itoa(len(msg)/2)+")", "uint8(1)")
		}
	}
	py := needTool(t, "python3")
	for _, tc := range hostileServerCases(t, py, dpy, "/nonexistent/pwned") {
		if tc.msg == nil || len(tc.msg) >= 64<<10 {
			continue
		}
		name := "daemon-" + strings.NewReplacer(" ", "-", "/", "-", ",", "").Replace(tc.name)
		seedFile(t, decodeDir, name, bytesLit(tc.msg))
		seedFile(t, dispatchDir, name, bytesLit(tc.msg))
		seedFile(t, readDir, name, bytesLit(append(bytes.Clone(tc.msg), protocol.EndCommand...)), "uint16(511)", "uint8(2)")
	}
	// Framing alone: no terminator, half a terminator, a close command.
	for name, data := range map[string]string{
		"framing-no-terminator":   strings.Repeat("A", 4096),
		"framing-half-terminator": "\x80\x04]." + protocol.EndCommand[:9],
		"framing-close-then-more": protocol.CloseCommand + protocol.EndCommand + "\x80\x04].",
		"framing-empty-messages":  strings.Repeat(protocol.EndCommand, 3),
	} {
		seedFile(t, readDir, name, bytesLit([]byte(data)), "uint16(511)", "uint8(1)")
	}
}
