package server_test

import (
	"bytes"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/jail"
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
	if ev.Kind == jail.EventUnban {
		c.unbans++
		c.perJailBanned[ev.Jail]--
	} else {
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
	} {
		f.Add([]byte(string(bytes.Join(toBytes(words), []byte{0}))))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		srv, m, ev := fuzzServer(t)
		items := fuzzWords(data)
		for range 2 {
			srv.Dispatch(items)
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
