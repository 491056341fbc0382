package server_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/server"
)

// This file: commands whose replies match fail2ban-server's, measured
// against fail2ban-server 1.0.2 (1.1.1 for status --all and stats) with
// the same commands over its socket: each want below is its reply's repr
// (banserver's own texts where it refuses on purpose, said so).

// exchange is one command and the repr of the (code, value) reply.
type exchange struct {
	args []any
	want string
}

// replyRepr sends args and returns the reply as "(code, repr(value))".
func (cl *client) replyRepr(args ...any) string {
	cl.t.Helper()
	code, v := cl.cmd(args...)
	return protocol.Repr(protocol.Tuple{int64(code), v})
}

func runExchanges(t *testing.T, cl *client, xs []exchange) {
	t.Helper()
	for _, x := range xs {
		if got := cl.replyRepr(x.args...); got != x.want {
			t.Errorf("%s\n got %s\nwant %s", protocol.Repr(x.args), got, x.want)
		}
	}
}

const mustBeAmong = "Must be among ['pyinotify', 'gamin', 'polling', 'systemd'] or 'auto'"

// TestAddBackend: fail2ban 1.0.2's backends, any case, with or without
// options; anything else is its ValueError, and no jail is made.
func TestAddBackend(t *testing.T) {
	d := start(t, server.Options{}, apiJail(3))
	cl := dial(t, d.sock)
	runExchanges(t, cl, []exchange{
		{[]any{"add", "J1", "polling"}, "(0, 'J1')"},
		{[]any{"add", "J2", "bogus[x=1]"}, `(1, ValueError("Unknown backend bogus. ` + mustBeAmong + `"))`},
		{[]any{"add", "J3", "inotify"}, `(1, ValueError("Unknown backend inotify. ` + mustBeAmong + `"))`},
		{[]any{"add", "J4", "invalid backend"}, `(1, ValueError("Unknown backend invalid backend. ` + mustBeAmong + `"))`},
		{[]any{"add", "J5", "polling "}, `(1, ValueError("Unknown backend polling . ` + mustBeAmong + `"))`},
		{[]any{"add", "J6", "polling[x]"}, "(1, ValueError('expected option, wrong syntax at 0: x'))"},
		{[]any{"add", "J7", "[x]"}, "(1, ValueError('unexpected option syntax'))"},
		{[]any{"add", "J8", ""}, "(1, ValueError('unexpected option syntax'))"},
		{[]any{"add", "J9", "polling[a=1, b=\"x\"] x"}, "(1, ValueError('unexpected option syntax'))"},
		{[]any{"add", "J10", "polling[a=\"1\" x]"}, "(1, ValueError(\"unexpected syntax at 5 after option 'a':  x\"))"},
		{[]any{"add", "api", "bogus"}, "(1, DuplicateJailException('api'))"},
		{[]any{"add", "--all", "polling"}, "(1, Exception(\"Reserved name '--all'\"))"},
		// Accepted: the names, any case, options or not (fail2ban passes
		// options to its filter; banserver has none to pass them to).
		{[]any{"add", "J11", "Auto"}, "(0, 'J11')"},
		{[]any{"add", "J12", "PYINOTIFY"}, "(0, 'J12')"},
		{[]any{"add", "J13", "gamin"}, "(0, 'J13')"},
		{[]any{"add", "J14", "systemd[journalflags=2]"}, "(0, 'J14')"},
		{[]any{"add", "J15", "polling[a=1, b=\"x,y\"][c='z']"}, "(0, 'J15')"},
		{[]any{"add", "J16"}, "(0, 'J16')"},
		{[]any{"status"}, "(0, [('Number of jail', 8), ('Jail list', 'J1, J11, J12, J13, J14, J15, J16, api')])"},
		// stats shows each jail's backend; auto as fail2ban 1.1 shows it
		// without pyinotify.
		{[]any{"stats"}, "(0, {'J1': ['polling', (0, 0), (0, 0)], 'J11': ['polling', (0, 0), (0, 0)], 'J12': ['pyinotify', (0, 0), (0, 0)], " +
			"'J13': ['gamin', (0, 0), (0, 0)], 'J14': ['systemd', (0, 0), (0, 0)], 'J15': ['polling', (0, 0), (0, 0)], 'J16': ['polling', (0, 0), (0, 0)], 'api': ['polling', (0, 0), (0, 0)]})"},
		// A jail stopped and added again has the backend of its new add.
		{[]any{"stop", "J14"}, "(0, None)"},
		{[]any{"add", "J14"}, "(0, 'J14')"},
		{[]any{"stop", "--all"}, "(0, None)"},
		{[]any{"add", "J12", "systemd"}, "(0, 'J12')"},
		{[]any{"stats"}, "(0, {'J12': ['systemd', (0, 0), (0, 0)]})"},
	})
}

// TestStatusFlavors: status JAIL cymru has fail2ban's lists (['error'],
// what fail2ban answers without dnspython: banserver makes no lookups);
// fail2ban 1.1's status --all [FLAVOR] and stats.
func TestStatusFlavors(t *testing.T) {
	d := start(t, server.Options{})
	cl := dial(t, d.sock)
	const (
		j1Basic = "[('Filter', [('Currently failed', 1), ('Total failed', 1), ('File list', [])]), ('Actions', [('Currently banned', 0), ('Total banned', 0), ('Banned IP list', [])])]"
		j2Basic = "[('Filter', [('Currently failed', 0), ('Total failed', 0), ('File list', [])]), ('Actions', [('Currently banned', 1), ('Total banned', 1), ('Banned IP list', ['192.0.2.1'])])]"
		j1Short = "[('Filter', [('Currently failed', 1), ('Total failed', 1), ('File list', [])]), ('Actions', [('Currently banned', 0), ('Total banned', 0)])]"
		j2Short = "[('Filter', [('Currently failed', 0), ('Total failed', 0), ('File list', [])]), ('Actions', [('Currently banned', 1), ('Total banned', 1)])]"
		cymru   = "('Banned ASN list', ['error']), ('Banned Country list', ['error']), ('Banned RIR list', ['error'])"
		j1Cymru = "[('Filter', [('Currently failed', 1), ('Total failed', 1), ('File list', [])]), ('Actions', [('Currently banned', 0), ('Total banned', 0), ('Banned IP list', []), " + cymru + "])]"
		j2Cymru = "[('Filter', [('Currently failed', 0), ('Total failed', 0), ('File list', [])]), ('Actions', [('Currently banned', 1), ('Total banned', 1), ('Banned IP list', ['192.0.2.1']), " + cymru + "])]"
		head    = "('Number of jail', 2), ('Jail list', 'J1, J2')"
		stats   = "{'J1': ['polling', (1, 1), (0, 0)], 'J2': ['polling', (0, 0), (1, 1)]}"
	)
	runExchanges(t, cl, []exchange{
		{[]any{"stats"}, "(0, {})"},
		{[]any{"status", "--all"}, "(0, [('Number of jail', 0), ('Jail list', ''), {}])"},
		{[]any{"add", "J1", "auto"}, "(0, 'J1')"},
		{[]any{"add", "J2", "polling"}, "(0, 'J2')"},
		{[]any{"set", "J2", "banip", "192.0.2.1"}, "(0, 1)"},
		{[]any{"set", "J1", "attempt", "192.0.2.9"}, "(0, 1)"},
		{[]any{"status", "J1"}, "(0, " + j1Basic + ")"},
		{[]any{"status", "J1", "INVALID"}, "(0, " + j1Basic + ")"},
		{[]any{"status", "J1", "stats"}, "(0, " + j1Basic + ")"}, // 1.0.2: a flavor it does not know
		{[]any{"status", "J2", "short"}, "(0, " + j2Short + ")"},
		{[]any{"status", "J2", "cymru"}, "(0, " + j2Cymru + ")"},
		{[]any{"status", "J1", "a", "b"}, "(1, Exception('Invalid command (no status)'))"},
		{[]any{"status", "--all"}, "(0, [" + head + ", {'J1': " + j1Basic + ", 'J2': " + j2Basic + "}])"},
		{[]any{"status", "--all", "INVALID"}, "(0, [" + head + ", {'J1': " + j1Basic + ", 'J2': " + j2Basic + "}])"},
		{[]any{"status", "--all", "short"}, "(0, [" + head + ", {'J1': " + j1Short + ", 'J2': " + j2Short + "}])"},
		{[]any{"status", "--all", "cymru"}, "(0, [" + head + ", {'J1': " + j1Cymru + ", 'J2': " + j2Cymru + "}])"},
		{[]any{"status", "--all", "stats"}, "(0, " + stats + ")"},
		{[]any{"status", "--all", "a", "b"}, "(1, Exception('Invalid command (no status)'))"},
		{[]any{"stats"}, "(0, " + stats + ")"},
		{[]any{"stats", "x"}, "(0, " + stats + ")"},
		{[]any{"statistics"}, "(0, " + stats + ")"},
	})
}

// TestOverallJails: bantime.overalljails answers what was sent, as
// fail2ban keeps it ('true' stays 'true', False stays False, an empty
// string is None), while the jail acts on the bool.
func TestOverallJails(t *testing.T) {
	d := start(t, server.Options{}, apiJail(3))
	cl := dial(t, d.sock)
	runExchanges(t, cl, []exchange{
		{[]any{"get", "api", "bantime.overalljails"}, "(0, False)"},
		{[]any{"set", "api", "bantime.overalljails", "true"}, "(0, 'true')"},
		{[]any{"get", "api", "bantime.overalljails"}, "(0, 'true')"},
		{[]any{"set", "api", "bantime.overalljails", "yes"}, "(0, 'yes')"},
		{[]any{"get", "api", "bantime.overalljails"}, "(0, 'yes')"},
		{[]any{"set", "api", "bantime.overalljails", false}, "(0, False)"},
		{[]any{"get", "api", "bantime.overalljails"}, "(0, False)"},
		{[]any{"set", "api", "bantime.overalljails", int64(1)}, "(0, 1)"},
		{[]any{"get", "api", "bantime.overalljails"}, "(0, 1)"},
		{[]any{"set", "api", "bantime.overalljails", ""}, "(0, None)"},
		{[]any{"get", "api", "bantime.overalljails"}, "(0, None)"},
		{[]any{"set", "api", "bantime.increment", "true"}, "(0, True)"},
		{[]any{"set", "nojail", "bantime.overalljails", "true"}, "(1, UnknownJailException('nojail'))"},
	})
	if v, err := d.jails.BanTimeExtra("api", "overalljails"); err != nil || v != false {
		t.Errorf("the jail's overalljails after '' = %v, %v; want false", v, err)
	}
	cl.cmd("set", "api", "bantime.overalljails", "yes")
	if v, err := d.jails.BanTimeExtra("api", "overalljails"); err != nil || v != true {
		t.Errorf("the jail's overalljails after 'yes' = %v, %v; want true", v, err)
	}
	// When the jail's setting changes behind the server's back (a reload
	// of the configuration), the jail's bool is the answer.
	if _, err := d.jails.SetBanTimeExtra("api", "overalljails", "false"); err != nil {
		t.Fatal(err)
	}
	runExchanges(t, cl, []exchange{{[]any{"get", "api", "bantime.overalljails"}, "(0, False)"}})
}

// TestSleep: fail2ban's sleep, with Python's errors, bounded.
func TestSleep(t *testing.T) {
	d := start(t, server.Options{}, apiJail(3))
	cl := dial(t, d.sock)
	runExchanges(t, cl, []exchange{
		{[]any{"sleep"}, "(1, IndexError('list index out of range'))"},
		{[]any{"sleep", "x"}, "(1, ValueError(\"could not convert string to float: 'x'\"))"},
		{[]any{"sleep", "0x1p-2"}, "(1, ValueError(\"could not convert string to float: '0x1p-2'\"))"},
		{[]any{"sleep", "-1"}, "(1, ValueError('sleep length must be non-negative'))"},
		{[]any{"sleep", "nan"}, "(1, ValueError('Invalid value NaN (not a number)'))"},
		{[]any{"sleep", "61"}, "(1, ValueError('sleep 61: banserver sleeps at most 60 seconds'))"},
		{[]any{"sleep", "inf"}, "(1, ValueError('sleep inf: banserver sleeps at most 60 seconds'))"},
		{[]any{"sleep", " 0.01 "}, "(0, None)"},
		{[]any{"sleep", "1_0e-3"}, "(0, None)"},
		{[]any{"sleep", 0.01}, "(0, None)"},
		{[]any{"sleep", int64(0)}, "(0, None)"},
	})
	t0 := time.Now()
	if got := cl.replyRepr("sleep", "0.2"); got != "(0, None)" {
		t.Fatalf("sleep 0.2: %s", got)
	}
	if dt := time.Since(t0); dt < 200*time.Millisecond || dt > 5*time.Second {
		t.Errorf("sleep 0.2 took %v", dt)
	}
}

// TestSleepEndsOnShutdown: a sleeping command does not hold the daemon's
// shutdown.
func TestSleepEndsOnShutdown(t *testing.T) {
	d := start(t, server.Options{}, apiJail(3))
	cl := dial(t, d.sock)
	req, err := protocol.AppendRequest(nil, 4, []any{"sleep", "50"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.c.Write(req); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the server is asleep in it
	d.stop()
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		d.done <- nil // for the cleanup
	case <-time.After(5 * time.Second):
		t.Fatal("the server still serves 5s after shutdown, asleep in a client's sleep")
	}
}

// TestServerSettings: the settings fail2ban-client sends a server it
// configures, and fail2ban's NOKs.
func TestServerSettings(t *testing.T) {
	d := start(t, server.Options{}, apiJail(3))
	cl := dial(t, d.sock)
	runExchanges(t, cl, []exchange{
		{[]any{"set", "allowipv6", "auto"}, "(0, 'auto')"},
		{[]any{"set", "allowipv6", "maybe"}, "(0, 'maybe')"},
		{[]any{"set", "allowipv6", []any{"a"}}, "(0, ['a'])"},
		{[]any{"get", "allowipv6"}, "(1, IndexError('list index out of range'))"},
		{[]any{"set", "bogus", "x"}, "(1, Exception(\"Invalid command 'x' (no set action or not yet implemented)\"))"},
		{[]any{"get", "INVALID", "COMMAND"}, "(1, Exception('Invalid command (no get action or not yet implemented)'))"},
		{[]any{"set", "loglevel", "Bird"}, "(1, ValueError(\"Invalid log level 'BIRD'\"))"},
		// Without a log control (the daemon gives one): no targets.
		{[]any{"get", "logtarget"}, "(1, Exception('log targets are not available'))"},
		{[]any{"set", "logtarget", "STDERR"}, "(1, Exception('log targets are not available'))"},
		{[]any{"set", "logtarget", "[x]"}, "(1, ValueError('unexpected option syntax'))"},
		{[]any{"get", "syslogsocket"}, "(1, Exception('log targets are not available'))"},
		{[]any{"flushlogs"}, "(0, 'flushed')"},
	})
}

// TestTimeErrorsSayWhatWasTyped: a refused findtime or bantime names the
// seconds, and what the client typed when that was something else.
func TestTimeErrorsSayWhatWasTyped(t *testing.T) {
	d := start(t, server.Options{}, apiJail(3))
	cl := dial(t, d.sock)
	runExchanges(t, cl, []exchange{
		{[]any{"set", "api", "findtime", "-60"}, "(1, ValueError('jail: invalid value: findtime -60: want whole seconds from 1 up, or -1 for never forgetting failures'))"},
		{[]any{"set", "api", "findtime", "-1m"}, "(1, ValueError(\"jail: invalid value: findtime -60: want whole seconds from 1 up, or -1 for never forgetting failures (given as '-1m')\"))"},
		{[]any{"set", "api", "bantime", "-50"}, "(1, ValueError('jail: invalid value: bantime -50: want whole seconds from 1 up, or -1 for a ban that never ends'))"},
		{[]any{"set", "api", "bantime", "0.5"}, "(1, ValueError('jail: invalid value: bantime 0.5: want whole seconds from 1 up, or -1 for a ban that never ends'))"},
		{[]any{"set", "api", "findtime", "Dog"}, "(1, ValueError('jail: invalid value: duration \"Dog\"'))"},
		{[]any{"get", "api", "findtime"}, "(0, 1800)"},
	})
}

// TestDBFile: the store is chosen at start. set dbfile confirms it, and
// otherwise answers fail2ban's RuntimeError while jails exist, or how to
// change the store.
func TestDBFile(t *testing.T) {
	const jailsPresent = "(1, RuntimeError('Cannot change database when there are jails present'))"
	t.Run("store", func(t *testing.T) {
		d := start(t, server.Options{DB: server.NewDBSettings("/var/lib/banserver/bans.db", time.Hour, 10)}, apiJail(3))
		cl := dial(t, d.sock)
		runExchanges(t, cl, []exchange{
			{[]any{"set", "dbfile", "/var/lib/banserver/bans.db"}, "(0, '/var/lib/banserver/bans.db')"},
			{[]any{"set", "dbfile", "/tmp/other.db"}, jailsPresent},
			{[]any{"set", "dbfile", "None"}, jailsPresent},
			{[]any{"stop", "--all"}, "(0, None)"},
			{[]any{"set", "dbfile", "/var/lib/banserver/bans.db"}, "(0, '/var/lib/banserver/bans.db')"},
			{[]any{"set", "dbfile", "/tmp/other.db"}, "(1, Exception(\"banserver's ban store is chosen at start (--db /var/lib/banserver/bans.db): restart banserver with --db /tmp/other.db to change it\"))"},
			{[]any{"set", "dbfile", "None"}, "(1, Exception(\"banserver's ban store is chosen at start (--db /var/lib/banserver/bans.db): restart banserver with --db none to change it\"))"},
			{[]any{"get", "dbfile"}, "(0, '/var/lib/banserver/bans.db')"},
		})
	})
	t.Run("none", func(t *testing.T) {
		d := start(t, server.Options{}, apiJail(3))
		cl := dial(t, d.sock)
		runExchanges(t, cl, []exchange{
			{[]any{"set", "dbfile", "None"}, "(0, None)"},
			{[]any{"set", "dbfile", "none"}, "(0, None)"},
			{[]any{"set", "dbfile", "/tmp/x.db"}, jailsPresent},
			{[]any{"stop", "api"}, "(0, None)"},
			{[]any{"set", "dbfile", "None"}, "(0, None)"},
			{[]any{"set", "dbfile", "/tmp/x.db"}, "(1, Exception(\"banserver's ban store is chosen at start (--db none): restart banserver with --db /tmp/x.db to change it\"))"},
			{[]any{"get", "dbfile"}, "(0, None)"},
		})
	})
}

// TestReload: reload, reload --all and reload JAIL call the daemon's hook
// and answer 'OK'; fail2ban-client's own reload, which carries its
// configuration, is refused with what to send instead.
func TestReload(t *testing.T) {
	var (
		mu    sync.Mutex
		calls []string
	)
	hook := func(name string) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, name)
		if name == "bad" {
			return errors.New("daemon: reload: config: bad.yaml:3: jails[0].maxretry: 0 is out of range")
		}
		if name == "nojail" {
			return &jail.UnknownJailError{Name: name}
		}
		return nil
	}
	const stream = "(1, Exception(\"banserver reloads from its own configuration file, not from fail2ban's jail.conf: send a bare 'reload' (banctl reload, or SIGHUP)\"))"
	d := start(t, server.Options{Reload: hook}, apiJail(3))
	cl := dial(t, d.sock)
	runExchanges(t, cl, []exchange{
		{[]any{"reload"}, "(0, 'OK')"},
		{[]any{"reload", "--all"}, "(0, 'OK')"},
		{[]any{"reload", "api"}, "(0, 'OK')"},
		{[]any{"reload", "bad"}, "(1, Exception('daemon: reload: config: bad.yaml:3: jails[0].maxretry: 0 is out of range'))"},
		{[]any{"reload", "nojail"}, "(1, UnknownJailException('nojail'))"},
		{[]any{"reload", "--all", []any{}, []any{[]any{"start", "api"}}}, stream},
		{[]any{"reload", "api", []any{"--unban"}, []any{}}, stream},
		{[]any{"reload", []any{}}, stream},
		{[]any{"reload", "--restart", "api"}, stream},
	})
	mu.Lock()
	got := strings.Join(calls, ",")
	mu.Unlock()
	if got != ",,api,bad,nojail" {
		t.Errorf("hook called with %q, want \",,api,bad,nojail\"", got)
	}

	d2 := start(t, server.Options{}, apiJail(3))
	runExchanges(t, dial(t, d2.sock), []exchange{{[]any{"reload"}, "(1, Exception('reload is not available'))"}})
}

// fakeLogs is a LogControl that records what it is told.
type fakeLogs struct {
	mu     sync.Mutex
	target string
	socket string
	set    []string
	fail   error
}

func (f *fakeLogs) Target() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.target
}

func (f *fakeLogs) SetTarget(t string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set = append(f.set, t)
	if f.fail != nil {
		return f.fail
	}
	f.target = t
	return nil
}

func (f *fakeLogs) SyslogSocket() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.socket
}

func (f *fakeLogs) SetSyslogSocket(p string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.socket = p
	return nil
}

func (f *fakeLogs) Flush() (string, error) { return "rolled over", nil }

// TestLogTargetCommands: the server strips fail2ban's [options] and words
// the replies; the daemon's control (faked here) moves the output.
func TestLogTargetCommands(t *testing.T) {
	logs := &fakeLogs{target: "STDERR", socket: "auto"}
	d := start(t, server.Options{Logs: logs}, apiJail(3))
	cl := dial(t, d.sock)
	runExchanges(t, cl, []exchange{
		{[]any{"get", "logtarget"}, "(0, 'STDERR')"},
		{[]any{"set", "logtarget", `STDOUT[format="%(message)s"]`}, "(0, 'STDOUT')"},
		{[]any{"get", "logtarget"}, "(0, 'STDOUT')"},
		{[]any{"set", "logtarget", "STDERR[datetime=off, padding=off]"}, "(0, 'STDERR')"},
		{[]any{"set", "logtarget", "STDOUT[x]"}, "(1, ValueError('expected option, wrong syntax at 0: x'))"},
		{[]any{"set", "logtarget", "/var/log/a[b].log"}, "(1, ValueError('unexpected option syntax'))"},
		{[]any{"get", "syslogsocket"}, "(0, 'auto')"},
		{[]any{"set", "syslogsocket", "/dev/log/NEW/PATH"}, "(0, '/dev/log/NEW/PATH')"},
		{[]any{"get", "syslogsocket"}, "(0, '/dev/log/NEW/PATH')"},
		{[]any{"flushlogs"}, "(0, 'rolled over')"},
	})
	logs.mu.Lock()
	logs.fail = errors.New("daemon: log file: open /this/path/should/not/exist: no such file or directory")
	logs.mu.Unlock()
	runExchanges(t, cl, []exchange{
		{[]any{"set", "logtarget", "/this/path/should/not/exist"}, "(1, Exception('Failed to change log target'))"},
		{[]any{"get", "logtarget"}, "(0, 'STDERR')"},
	})
	logs.mu.Lock()
	logs.fail = &protocol.Exception{Class: protocol.ClassException, Args: []any{"the journal is not available: /run/systemd/journal/socket is missing"}}
	logs.mu.Unlock()
	runExchanges(t, cl, []exchange{
		{[]any{"set", "logtarget", "SYSTEMD-JOURNAL"}, "(1, Exception('the journal is not available: /run/systemd/journal/socket is missing'))"},
	})
	logs.mu.Lock()
	defer logs.mu.Unlock()
	if got := strings.Join(logs.set, "|"); got != "STDOUT|STDERR|/this/path/should/not/exist|SYSTEMD-JOURNAL" {
		t.Errorf("the control was asked for %q", got)
	}
}

// TestDispatchSleepHonoursContext: Dispatch's sleep stops with its context.
func TestDispatchSleepHonoursContext(t *testing.T) {
	srv := server.New(server.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	if _, err := srv.Dispatch(ctx, []any{"sleep", "30"}); err != nil {
		t.Fatal(err)
	}
	if dt := time.Since(t0); dt > 5*time.Second {
		t.Errorf("sleep 30 with a 50ms context took %v", dt)
	}
}
