package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/banserver/banserver/protocol"
)

// command is one row of the command table: everything parsing, access
// control, limits, help and dispatch know of one fail2ban command. A new
// command is a new row.
type command struct {
	// name selects the row (see rowName): the command's literal words,
	// with <JAIL> where a jail's name goes ("set <JAIL> banip") and a
	// trailing "*" for a family ("set <JAIL> bantime.*").
	name string
	// args is the rest of the usage, as help shows it ("<IP> ...").
	args string
	// min is the fewest words the command takes, its name's included; with
	// fewer, short is the reply (fail2ban's IndexError unless set).
	min   int
	short error
	// class is what access rules grant for the command.
	class protocol.Class
	// self limits the command to root and the daemon's own user, whatever
	// the rules grant: it makes the daemon open a file or socket of the
	// client's choosing with the daemon's rights (the log target).
	self bool
	// addrs is the index of the first address word, for
	// limits.max_addresses; 0 when the command carries none.
	addrs int
	// help is the help line's description.
	help string
	// run executes the command.
	run func(s *Server, c *call) (result, error)
	// index is the row's position in commands (its counters in stats).
	index int
	// jailed: the name has <JAIL>, the second word names a jail.
	jailed bool
}

// call is one command as its handler sees it.
type call struct {
	// args are the words, Python's str() of each item (protocol.Command).
	args []string
	// items are the decoded items, for echo; nested the list items by index.
	items  []any
	nested map[int][]any
	// jail is the jail the command names, or "".
	jail string
	// ctx ends when the server shuts down: a command that waits (sleep)
	// stops waiting then.
	ctx context.Context
	// now is when the server took the message (time.Now), or the zero
	// time: an attempt counts at it rather than read the clock again.
	now time.Time
}

// arg returns word i, or fail2ban's IndexError when the command is short.
func (c *call) arg(i int) (string, error) {
	if i < len(c.args) {
		return c.args[i], nil
	}
	return "", errIndex
}

// rest returns the words from i on (none when the command is shorter).
func (c *call) rest(i int) []string {
	if i < len(c.args) {
		return c.args[i:]
	}
	return nil
}

// commands is the table; byName indexes it. Filled by init, not by a
// variable initializer: help reads the table it belongs to.
var (
	commands []command
	byName   map[string]*command
	// serverKeys are the words after set or get that name a server
	// setting rather than a jail ("loglevel" in "set loglevel DEBUG").
	serverKeys map[string]bool
)

func init() {
	const (
		read   = protocol.ClassRead
		report = protocol.ClassReport
		ban    = protocol.ClassBan
		unban  = protocol.ClassUnban
		admin  = protocol.ClassAdmin
	)
	commands = []command{
		// The server.
		{name: "ping", args: "[TIMEOUT]", min: 1, class: read, help: "tests if the server is alive", run: (*Server).cmdPing},
		{name: "version", min: 1, class: read, help: "the server's version", run: (*Server).cmdVersion},
		{name: "server-status", min: 1, class: read, help: "'Server ready' while serving", run: (*Server).cmdServerStatus},
		{name: "echo", args: "<ARGS>", min: 1, class: read, help: "returns ARGS", run: (*Server).cmdEcho},
		{name: "help", min: 1, class: read, help: "this list", run: (*Server).cmdHelp},
		{name: "status", min: 1, class: read, help: "jails and their count", run: (*Server).cmdStatus},
		{name: "status --all", args: "[FLAVOR]", min: 2, class: read, help: "status, then every jail's status (fail2ban 1.1)", run: (*Server).cmdStatusAll},
		{name: "cluster", min: 1, class: read, help: "the cluster's state: node, Redis, connected, lag, last error (banserver)", run: (*Server).cmdCluster},
		{name: "stats", min: 1, class: read, help: "each jail's backend, failures and bans (fail2ban 1.1)", run: (*Server).cmdStats},
		{name: "statistics", min: 1, class: read, run: (*Server).cmdStats},
		{name: "statistic", min: 1, class: read, run: (*Server).cmdStats},
		{name: "stop", min: 1, class: admin, help: "stops the daemon", run: (*Server).cmdStopServer},
		{name: "reload", args: "[--all|<JAIL>]", min: 1, class: admin, help: "rereads banserver's configuration file (as SIGHUP)", run: (*Server).cmdReload},
		{name: "sleep", args: "<SECONDS>", min: 2, class: read, help: "waits, at most 60 seconds", run: (*Server).cmdSleep},
		{name: "flushlogs", min: 1, class: admin, help: "reopens a log file (after logrotate moved it)", run: (*Server).cmdFlushLogs},
		{name: "set loglevel", args: "<LEVEL>", min: 3, class: admin, help: "CRITICAL ERROR WARNING NOTICE INFO DEBUG, or a number", run: (*Server).cmdSetLogLevel},
		{name: "get loglevel", min: 2, class: read, help: "the log level", run: (*Server).cmdGetLogLevel},
		{name: "set logtarget", args: "<TARGET>", min: 3, class: admin, self: true, help: "STDERR, STDOUT, SYSLOG, SYSTEMD-JOURNAL or a file (root only)", run: (*Server).cmdSetLogTarget},
		{name: "get logtarget", min: 2, class: read, help: "", run: (*Server).cmdGetLogTarget},
		{name: "set syslogsocket", args: "auto|<SOCKET>", min: 3, class: admin, self: true, help: "the socket SYSLOG logs to (auto: /dev/log; root only)", run: (*Server).cmdSetSyslogSocket},
		{name: "get syslogsocket", min: 2, class: read, help: "", run: (*Server).cmdGetSyslogSocket},
		{name: "set allowipv6", args: "yes|no|auto", min: 3, class: admin, help: "accepted and answered (banserver makes no DNS lookups)", run: (*Server).cmdSetAllowIPv6},
		{name: "set dbfile", args: "<FILE>", min: 3, class: admin, help: "the ban store (chosen at start: only confirms it)", run: (*Server).cmdSetDBFile},
		{name: "get dbfile", min: 2, class: read, help: "the ban store's file, None without one", run: (*Server).cmdGetDB},
		{name: "set dbpurgeage", args: "<TIME>", min: 3, class: admin, help: "how long ended bans and history are kept", run: (*Server).cmdSetDBPurgeAge},
		{name: "get dbpurgeage", min: 2, class: read, help: "", run: (*Server).cmdGetDB},
		{name: "set dbmaxmatches", args: "<N>", min: 3, class: admin, help: "failure messages kept with a stored ban", run: (*Server).cmdSetDBMaxMatches},
		{name: "get dbmaxmatches", min: 2, class: read, help: "", run: (*Server).cmdGetDB},

		// Jails.
		{name: "add <JAIL>", args: "[BACKEND]", min: 2, class: admin, help: "creates a jail (BACKEND: auto, polling, pyinotify, gamin, systemd)", run: (*Server).cmdAdd},
		{name: "start <JAIL>", min: 2, class: admin, help: "starts a jail (and restores its stored bans)", run: (*Server).cmdStart},
		{name: "stop <JAIL>", min: 2, class: admin, help: "stops and removes a jail (its stored bans stay)", run: (*Server).cmdStopJail},
		{name: "stop --all", min: 2, class: admin, help: "stops every jail", run: (*Server).cmdStopAll},
		{name: "status <JAIL>", args: "[FLAVOR]", min: 2, class: read, help: "the jail's failures and bans (FLAVOR: basic, short, cymru)", run: (*Server).cmdStatusJail},
		{name: "set <JAIL> maxretry", args: "<N>", min: 4, class: admin, help: "failures that ban (1..1000)", run: (*Server).cmdSetMaxRetry},
		{name: "get <JAIL> maxretry", min: 3, class: read, run: (*Server).cmdGetJail},
		{name: "set <JAIL> findtime", args: "<TIME>", min: 4, class: admin, help: "the window failures are counted in (600, 30m, 1h, -1)", run: (*Server).cmdSetTime},
		{name: "get <JAIL> findtime", min: 3, class: read, run: (*Server).cmdGetJail},
		{name: "set <JAIL> bantime", args: "<TIME>", min: 4, class: admin, help: "how long a ban lasts (-1: forever)", run: (*Server).cmdSetTime},
		{name: "get <JAIL> bantime", min: 3, class: read, run: (*Server).cmdGetJail},
		{name: "set <JAIL> addignoreip", args: "<IP|CIDR> ...", min: 3, class: admin, help: "never count nor ban these", run: (*Server).cmdAddIgnoreIP},
		{name: "set <JAIL> delignoreip", args: "<IP|CIDR>", min: 4, class: admin, help: "", run: (*Server).cmdDelIgnoreIP},
		{name: "get <JAIL> ignoreip", min: 3, class: read, run: (*Server).cmdGetJail},
		{name: "set <JAIL> ignoreself", args: "true|false", min: 4, class: admin, help: "ignore this host's own addresses", run: (*Server).cmdSetIgnoreSelf},
		{name: "get <JAIL> ignoreself", min: 3, class: read, run: (*Server).cmdGetJail},
		{name: "set <JAIL> idle", args: "on|off", min: 4, class: admin, help: "an idle jail counts nothing", run: (*Server).cmdSetIdle},
		{name: "get <JAIL> idle", min: 3, class: read, run: (*Server).cmdGetIdle},
		{name: "set <JAIL> ipv6prefix", args: "<LEN>", min: 4, class: admin, help: "ban IPv6 attackers by prefix (64); 0: per address", run: (*Server).cmdSetIPv6Prefix},
		{name: "get <JAIL> ipv6prefix", min: 3, class: read, run: (*Server).cmdGetJail},
		{name: "set <JAIL> addaction", args: "<NAME>", min: 4, class: admin, help: "built-in actions only (blackhole, nftables, log, ...)", run: (*Server).cmdAddAction},
		{name: "set <JAIL> delaction", args: "<NAME>", min: 4, class: admin, help: "", run: (*Server).cmdDelAction},
		{name: "get <JAIL> actions", min: 3, class: read, run: (*Server).cmdGetJail},
		{name: "set <JAIL> bantime.*", args: "<VALUE>", min: 4, class: admin, help: "bantime.increment|factor|formula|multipliers|maxtime|rndtime|overalljails", run: (*Server).cmdSetBanTimeExtra},
		{name: "get <JAIL> bantime.*", min: 3, class: read, run: (*Server).cmdGetBanTimeExtra},

		// Log jails: what they read and how (cmd_logs.go, cmd_regex.go,
		// cmd_journal.go).
		{name: "set <JAIL> addlogpath", args: "<FILE> [head|tail]", min: 4, class: admin, self: true, help: "reads FILE (an existing file) from its start, or its end (root only)", run: (*Server).cmdAddLogPath},
		{name: "set <JAIL> dellogpath", args: "<FILE>", min: 4, class: admin, help: "", run: (*Server).cmdDelLogPath},
		{name: "get <JAIL> logpath", min: 3, class: read, run: (*Server).cmdGetLogPath},
		{name: "set <JAIL> addfailregex", args: "<REGEX>", min: 4, class: admin, help: "a failure's regex, with fail2ban's tags (<HOST>, <F-ID>...)", run: (*Server).cmdAddRegex},
		{name: "multi-set <JAIL> addfailregex", args: "[<REGEX>, ...]", min: 4, class: admin, help: "adds each regex of a list (fail2ban-client's form)", run: (*Server).cmdMultiAddRegex},
		{name: "set <JAIL> delfailregex", args: "<INDEX>", min: 4, class: admin, help: "", run: (*Server).cmdDelRegex},
		{name: "get <JAIL> failregex", min: 3, class: read, help: "the regexes, their tags resolved", run: (*Server).cmdGetRegex},
		{name: "set <JAIL> addignoreregex", args: "<REGEX>", min: 4, class: admin, help: "a failure it matches is no failure", run: (*Server).cmdAddRegex},
		{name: "multi-set <JAIL> addignoreregex", args: "[<REGEX>, ...]", min: 4, class: admin, help: "", run: (*Server).cmdMultiAddRegex},
		{name: "set <JAIL> delignoreregex", args: "<INDEX>", min: 4, class: admin, help: "", run: (*Server).cmdDelRegex},
		{name: "get <JAIL> ignoreregex", min: 3, class: read, run: (*Server).cmdGetRegex},
		{name: "set <JAIL> prefregex", args: "<REGEX>", min: 4, class: admin, help: "a line must match it first ('' for none)", run: (*Server).cmdSetPrefRegex},
		{name: "get <JAIL> prefregex", min: 3, class: read, run: (*Server).cmdGetPrefRegex},
		{name: "set <JAIL> datepattern", args: "<PATTERN>", min: 4, class: admin, help: "where a line's date is (%Y-%m-%d %H:%M:%S, Epoch, {^LN-BEG}, {NONE})", run: (*Server).cmdSetDatePattern},
		{name: "get <JAIL> datepattern", min: 3, class: read, run: (*Server).cmdGetDatePattern},
		{name: "set <JAIL> logtimezone", args: "<TZ>", min: 4, class: admin, help: "the zone of dates without one (UTC+0200, CET; '' local)", run: (*Server).cmdSetLogTimeZone},
		{name: "get <JAIL> logtimezone", min: 3, class: read, run: (*Server).cmdGetLogTimeZone},
		{name: "set <JAIL> maxlines", args: "<N>", min: 4, class: admin, help: "lines a failregex sees at once (1..1000)", run: (*Server).cmdSetMaxLines},
		{name: "get <JAIL> maxlines", min: 3, class: read, run: (*Server).cmdGetMaxLines},
		{name: "set <JAIL> maxmatches", args: "<N>", min: 4, class: admin, help: "accepted and answered; jails keep the last 10 messages of a failure", run: (*Server).cmdSetMaxMatches},
		{name: "get <JAIL> maxmatches", min: 3, class: read, run: (*Server).cmdGetMaxMatches},
		{name: "set <JAIL> logencoding", args: "auto|utf-8|latin-1|ascii", min: 4, class: admin, help: "the logs' encoding (auto: the locale's)", run: (*Server).cmdSetLogEncoding},
		{name: "get <JAIL> logencoding", min: 3, class: read, run: (*Server).cmdGetLogEncoding},
		{name: "set <JAIL> usedns", args: "yes|warn|no|raw", min: 4, class: admin, help: "no: <HOST> matches addresses only (names are never resolved)", run: (*Server).cmdSetUseDNS},
		{name: "get <JAIL> usedns", min: 3, class: read, run: (*Server).cmdGetUseDNS},
		{name: "set <JAIL> addjournalmatch", args: "<FIELD=VALUE> ... [+ ...]", min: 4, class: admin, help: "journal entries the systemd backend reads (+ between ORed groups)", run: (*Server).cmdAddJournalMatch},
		{name: "set <JAIL> deljournalmatch", args: "<FIELD=VALUE> ...", min: 3, class: admin, help: "", run: (*Server).cmdDelJournalMatch},
		{name: "get <JAIL> journalmatch", min: 3, class: read, run: (*Server).cmdGetJournalMatch},
		{name: "set <JAIL> ignorecommand", args: "''", min: 4, class: admin, help: "only empty: banserver never runs commands", run: (*Server).cmdSetIgnoreCommand},
		{name: "get <JAIL> ignorecommand", min: 3, class: read, run: (*Server).cmdGetIgnoreCommand},

		// Failures and bans.
		{name: "set <JAIL> attempt", args: "<IP> [<MSG> ...]", min: 4, class: report, help: "reports failures of IP", run: (*Server).cmdAttempt},
		{name: "set <JAIL> banip", args: "<IP> ...", min: 4, class: ban, addrs: 3, help: "bans IP", run: (*Server).cmdBanIP},
		{name: "set <JAIL> unbanip", args: "[--report-absent] <IP> ...", min: 4, class: unban, addrs: 3, help: "lifts the bans of IP", run: (*Server).cmdUnbanIP},
		{name: "unban", args: "--all | <IP> ...", min: 2, short: errInvalid, class: unban, addrs: 1, help: "lifts bans in every jail", run: (*Server).cmdUnban},
		{name: "banned", args: "[<IP> ...]", min: 1, class: read, addrs: 1, help: "banned addresses by jail, or the jails banning IP", run: (*Server).cmdBanned},
		{name: "get <JAIL> banned", args: "[<IP> ...]", min: 3, class: read, addrs: 3, help: "the jail's bans in ban order, or 1/0 for each IP", run: (*Server).cmdGetBanned},
		{name: "get <JAIL> banip", args: "[<SEP>|--with-time]", min: 3, class: read, help: "the jail's bans by end of ban", run: (*Server).cmdGetBanIP},
	}
	byName = make(map[string]*command, len(commands))
	serverKeys = map[string]bool{}
	for i := range commands {
		c := &commands[i]
		c.index = i
		c.jailed = strings.Contains(c.name, "<JAIL>")
		if _, dup := byName[c.name]; dup {
			panic("server: command " + c.name + " twice in the table")
		}
		byName[c.name] = c
		if verb, key, ok := strings.Cut(c.name, " "); ok && (verb == "set" || verb == "get") && !strings.HasPrefix(key, "<") {
			serverKeys[key] = true
		}
	}
}

// rowName returns the name of the row that words a select, whether the
// table has it or not.
func rowName(a []string) string { return string(appendRowName(nil, a)) }

// lookupRow returns the row that words a select, or nil. It builds the
// row's name in a buffer on the stack: a command costs no allocation to
// find its row.
func lookupRow(a []string) *command {
	var buf [64]byte
	return byName[string(appendRowName(buf[:0], a))]
}

// appendRowName appends rowName(a) to dst.
func appendRowName(dst []byte, a []string) []byte {
	switch a[0] {
	case "set", "get":
		switch {
		case len(a) < 2:
			return append(dst, a[0]...)
		case serverKeys[a[1]]:
			return append(append(append(dst, a[0]...), ' '), a[1]...)
		case len(a) < 3:
			return append(append(dst, a[0]...), " <JAIL>"...)
		}
		sub := a[2]
		if strings.HasPrefix(sub, "bantime.") {
			sub = "bantime.*"
		}
		return append(append(append(dst, a[0]...), " <JAIL> "...), sub...)
	case "multi-set":
		// fail2ban-client's set of a list (addfailregex, addignoreregex);
		// any other multi-set is the set, as in fail2ban.
		if len(a) < 3 {
			return append(dst, a[0]...)
		}
		n := len(dst)
		dst = append(append(append(dst, a[0]...), " <JAIL> "...), a[2]...)
		if byName[string(dst[n:])] != nil {
			return dst
		}
		return appendRowName(dst[:n], append([]string{"set"}, a[1:]...))
	case "status", "stop":
		switch {
		case len(a) < 2:
			return append(dst, a[0]...)
		case a[1] == "--all":
			return append(append(dst, a[0]...), " --all"...)
		}
		return append(append(dst, a[0]...), " <JAIL>"...)
	case "add", "start":
		return append(append(dst, a[0]...), " <JAIL>"...)
	}
	return append(dst, a[0]...)
}

// request is a parsed command: its words, its row (nil for a command the
// table lacks), and what access control needs: its class and jail.
type request struct {
	protocol.Command
	row   *command
	class protocol.Class
	jail  string
}

// parseRequest parses items into a request, with fail2ban's exceptions for
// items that are no command at all.
func parseRequest(items []any) (request, error) {
	cmd, err := parseCommand(items)
	if err != nil {
		return request{}, err
	}
	return requestOf(cmd), nil
}

// parseWords is parseRequest for a command of strings only, as
// protocol.DecodeWords returns it.
func parseWords(words []string) request {
	return requestOf(protocol.Command{Args: words})
}

// requestOf finds cmd's row, class and jail.
func requestOf(cmd protocol.Command) request {
	r := request{Command: cmd, row: lookupRow(cmd.Args)}
	if r.row != nil {
		r.class = r.row.class
		if r.row.jailed && len(cmd.Args) > 1 {
			r.jail = cmd.Args[1]
		}
		return r
	}
	// Not in the table: refused as an admin command to those who may not
	// administer (a get is a read), answered with fail2ban's error to
	// those who may. A set or get on a jail still names it, so that a
	// grant per jail decides as it would for a known setting.
	a := cmd.Args
	r.class = protocol.ClassAdmin
	if a[0] == "get" {
		r.class = protocol.ClassRead
	}
	if (a[0] == "set" || a[0] == "get") && len(a) > 2 && !serverKeys[a[1]] || a[0] == "multi-set" && len(a) > 2 {
		r.jail = a[1]
	}
	return r
}

// parseCommand parses items, with fail2ban's exceptions for bad ones.
func parseCommand(items []any) (protocol.Command, error) {
	cmd, err := protocol.ParseCommand(items)
	if err != nil {
		if err == protocol.ErrEmptyCommand {
			return cmd, errIndex
		}
		return cmd, &protocol.Exception{Class: protocol.ClassValueError, Args: []any{err.Error()}}
	}
	return cmd, nil
}

// addressCount returns how many addresses r carries, for
// limits.max_addresses.
func (r *request) addressCount() int {
	if r.row == nil || r.row.addrs == 0 || len(r.Args) <= r.row.addrs {
		return 0
	}
	return len(r.Args) - r.row.addrs
}

// run executes a parsed request; c is where its call is built (the
// connection's own, so that a command costs no allocation for it).
func (s *Server) run(ctx context.Context, r *request, items []any, c *call) (result, error) {
	return s.runAt(ctx, r, items, c, time.Time{})
}

// runAt is run for a command taken at now (see call.now).
func (s *Server) runAt(ctx context.Context, r *request, items []any, c *call, now time.Time) (result, error) {
	row := r.row
	if row == nil {
		return result{}, unknownCommand(r.Args)
	}
	if len(r.Args) < row.min {
		if row.short != nil {
			return result{}, row.short
		}
		return result{}, errIndex
	}
	*c = call{args: r.Args, items: items, nested: r.Nested, jail: r.jail, ctx: ctx, now: now}
	res, err := row.run(s, c)
	*c = call{} // keeps nothing of the command alive
	return res, err
}

// unknownCommand is fail2ban's reply to words the table lacks.
func unknownCommand(a []string) error {
	switch a[0] {
	case "set", "multi-set":
		if len(a) < 3 {
			return errIndex
		}
		return errInvalidSet(a[2])
	case "get":
		if len(a) < 3 {
			return errIndex
		}
		return errInvalidGet
	case "status":
		// `status JAIL FLAVOR EXTRA...`.
		return &protocol.Exception{Class: protocol.ClassException, Args: []any{"Invalid command (no status)"}}
	}
	return errInvalid
}

// Dispatch runs one decoded command against the jails, with no access
// check: the server checks before it runs a command. A command that waits
// (sleep) stops waiting when ctx ends.
func (s *Server) Dispatch(ctx context.Context, items []any) (result, error) {
	r, err := parseRequest(items)
	if err != nil {
		return result{}, err
	}
	return s.run(ctx, &r, items, new(call))
}

// helpLines lists every row: its usage and what it does.
func helpLines() []any {
	out := make([]any, 0, len(commands))
	for _, c := range commands {
		usage := c.name
		if c.args != "" {
			usage += " " + c.args
		}
		usage = strings.ReplaceAll(usage, ".*", ".<OPT>")
		if c.help == "" {
			out = append(out, usage)
			continue
		}
		out = append(out, fmt.Sprintf("%-40s %s", usage, c.help))
	}
	return out
}
