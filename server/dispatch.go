package server

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
)

// result is a command's reply value, and whether the daemon stops after it.
type result struct {
	value any
	stop  bool
}

func ok(v any) (result, error) { return result{value: v}, nil }

// errIndex is what fail2ban raises when a command lacks a word: its client
// prints "Sorry but the command is invalid".
var errIndex = &protocol.Exception{Class: "builtins.IndexError", Args: []any{"list index out of range"}}

// Fail2ban's own wording for commands it does not know.
var (
	errInvalid    = &protocol.Exception{Class: "builtins.Exception", Args: []any{"Invalid command"}}
	errInvalidGet = &protocol.Exception{Class: "builtins.Exception", Args: []any{"Invalid command (no get action or not yet implemented)"}}
)

func errInvalidSet(sub string) error {
	return &protocol.Exception{Class: "builtins.Exception", Args: []any{
		fmt.Sprintf("Invalid command %s (no set action or not yet implemented)", pyRepr(sub))}}
}

// Defaults of a jail created over the socket with `add`, as fail2ban's.
const (
	addMaxRetry = 3
	addFindTime = 600 * time.Second
	addBanTime  = 600 * time.Second
)

// Dispatch runs one decoded command against the jails, with no access
// check: the server checks before it calls dispatch.
func (s *Server) Dispatch(items []any) (result, error) {
	cmd, err := parseCommand(items)
	if err != nil {
		return result{}, err
	}
	return s.dispatch(cmd, items)
}

// parseCommand parses items, with fail2ban's exceptions for bad ones.
func parseCommand(items []any) (protocol.Command, error) {
	cmd, err := protocol.ParseCommand(items)
	if err != nil {
		if errors.Is(err, protocol.ErrEmptyCommand) {
			return cmd, errIndex
		}
		return cmd, &protocol.Exception{Class: "builtins.ValueError", Args: []any{err.Error()}}
	}
	return cmd, nil
}

func (s *Server) dispatch(cmd protocol.Command, items []any) (result, error) {
	a := cmd.Args
	switch a[0] {
	case "ping":
		return ok("pong")
	case "version":
		return ok(Version)
	case "server-status":
		return ok("Server ready")
	case "echo":
		out := make([]any, 0, len(a)-1)
		for i := 1; i < len(a); i++ {
			if n, isList := cmd.Nested[i]; isList {
				out = append(out, n)
			} else {
				out = append(out, items[i])
			}
		}
		return ok(out)
	case "help":
		return ok(helpLines())
	case "status":
		if len(a) == 1 {
			return s.status()
		}
		flavor := "basic"
		if len(a) > 2 {
			flavor = a[2]
		}
		return s.statusJail(a[1], flavor)
	case "add":
		if len(a) < 2 {
			return result{}, errIndex
		}
		if a[1] == "--all" {
			return result{}, &protocol.Exception{Class: "builtins.Exception", Args: []any{"Reserved name " + pyRepr(a[1])}}
		}
		err := s.o.Jails.Add(jail.Config{Name: a[1], MaxRetry: addMaxRetry, FindTime: addFindTime, BanTime: addBanTime, IgnoreSelf: true})
		if errors.Is(err, jail.ErrDuplicateJail) {
			return result{}, &protocol.Exception{Class: "fail2ban.exceptions.DuplicateJailException", Args: []any{a[1]}}
		}
		if err != nil {
			return result{}, err
		}
		return ok(a[1])
	case "start":
		if len(a) < 2 {
			return result{}, errIndex
		}
		if err := s.o.Jails.Start(a[1]); err != nil {
			return result{}, err
		}
		if s.o.OnJailStart != nil {
			if err := s.o.OnJailStart(a[1]); err != nil {
				return result{}, err
			}
		}
		return ok(nil)
	case "stop":
		switch {
		case len(a) == 1:
			return result{stop: true}, nil
		case a[1] == "--all":
			s.o.Jails.StopAll()
			return ok(nil)
		default:
			return ok0(s.o.Jails.Stop(a[1]))
		}
	case "unban":
		if len(a) < 2 {
			break // fail2ban: "unban" alone is an invalid command
		}
		if len(a) == 2 && a[1] == "--all" {
			return ok(int64(s.o.Jails.UnbanEverywhere(nil)))
		}
		addrs, err := parseAddrs(a[1:])
		if err != nil {
			return result{}, err
		}
		return ok(int64(s.o.Jails.UnbanEverywhere(addrs)))
	case "banned":
		return s.banned(a[1:])
	case "set":
		if len(a) < 3 {
			return result{}, errIndex
		}
		return s.set(a[1], a[2], a[3:])
	case "get":
		if len(a) < 2 {
			return result{}, errIndex
		}
		return s.get(a[1], a[2:])
	}
	return result{}, errInvalid
}

// ok0 turns an error-only call into fail2ban's None reply.
func ok0(err error) (result, error) {
	if err != nil {
		return result{}, err
	}
	return ok(nil)
}

func (s *Server) status() (result, error) {
	names := s.o.Jails.Jails()
	return ok([]any{
		protocol.Tuple{"Number of jail", int64(len(names))},
		protocol.Tuple{"Jail list", strings.Join(names, ", ")},
	})
}

func (s *Server) statusJail(name, flavor string) (result, error) {
	st, err := s.o.Jails.Status(name)
	if err != nil {
		return result{}, err
	}
	filter := []any{
		protocol.Tuple{"Currently failed", int64(st.CurrentlyFailed)},
		protocol.Tuple{"Total failed", int64(st.TotalFailed)},
		// fail2ban's jails always have a (file) filter; clients print its
		// file list, empty here, so the output keeps fail2ban's shape.
		protocol.Tuple{"File list", []any{}},
	}
	acts := []any{
		protocol.Tuple{"Currently banned", int64(st.CurrentlyBanned)},
		protocol.Tuple{"Total banned", int64(st.TotalBanned)},
	}
	if flavor != "short" {
		acts = append(acts, protocol.Tuple{"Banned IP list", prefixList(st.Banned)})
	}
	// A failing kernel action must not go unnoticed; the line appears only
	// then, so the output keeps fail2ban's shape while all is well.
	if s.o.Queue != nil {
		if n := s.o.Queue.JailFailures(name); n > 0 {
			acts = append(acts, protocol.Tuple{"Action failures", int64(n)})
		}
	}
	return ok([]any{protocol.Tuple{"Filter", filter}, protocol.Tuple{"Actions", acts}})
}

// banned answers `banned [IP...]`: with no addresses, every jail's list as
// [{jail: [ips]}...]; with addresses, for each the jails banning it.
func (s *Server) banned(ips []string) (result, error) {
	if len(ips) == 0 {
		var out []any
		for _, name := range s.o.Jails.Jails() {
			bans, err := s.o.Jails.BanList(name)
			if err != nil {
				continue // stopped meanwhile
			}
			l := make([]any, len(bans))
			for i, b := range bans {
				l[i] = banText(b.Prefix)
			}
			out = append(out, protocol.Dict{{Key: name, Value: l}})
		}
		if out == nil {
			out = []any{}
		}
		return ok(out)
	}
	addrs, err := parseAddrs(ips)
	if err != nil {
		return result{}, err
	}
	out := make([]any, len(addrs))
	for i, ad := range addrs {
		js := s.o.Jails.BannedIn(ad)
		l := make([]any, len(js))
		for k, j := range js {
			l[k] = j
		}
		out[i] = l
	}
	return ok(out)
}

// set handles `set NAME SUB ARGS...`, NAME being a jail or a server key.
func (s *Server) set(name, sub string, args []string) (result, error) {
	arg := func(i int) (string, error) {
		if i < len(args) {
			return args[i], nil
		}
		return "", errIndex
	}
	switch name {
	case "loglevel":
		return s.setLogLevel(sub)
	case "dbfile", "dbpurgeage", "dbmaxmatches":
		return s.setDB(name, sub)
	}
	j := s.o.Jails
	switch sub {
	case "attempt":
		v, err := arg(0)
		if err != nil {
			return result{}, err
		}
		addr, err := jail.ParseAddr(v)
		if err != nil {
			return result{}, err
		}
		n, err := j.Attempt(name, addr, args[1:])
		return result{value: int64(n)}, err
	case "banip":
		if len(args) == 0 {
			return result{}, errIndex
		}
		addrs, err := parseAddrs(args)
		if err != nil {
			return result{}, err
		}
		n, err := j.BanIP(name, addrs)
		return result{value: int64(n)}, err
	case "unbanip":
		ifExists := true
		if len(args) > 0 && args[0] == "--report-absent" {
			ifExists = false
			args = args[1:]
		}
		if len(args) == 0 {
			return result{}, errIndex
		}
		addrs, err := parseAddrs(args)
		if err != nil {
			return result{}, err
		}
		n, err := j.UnbanIP(name, addrs, ifExists)
		return result{value: int64(n)}, err
	case "maxretry":
		v, err := arg(0)
		if err != nil {
			return result{}, err
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil || n < 1 {
			return result{}, fmt.Errorf("%w: maxretry %q", jail.ErrInvalidValue, v)
		}
		if err := j.SetMaxRetry(name, n); err != nil {
			return result{}, err
		}
		return s.get(name, []string{"maxretry"})
	case "findtime", "bantime":
		v, err := arg(0)
		if err != nil {
			return result{}, err
		}
		d, err := jail.ParseDuration(v)
		if err != nil {
			return result{}, err
		}
		if sub == "findtime" {
			err = j.SetFindTime(name, d)
		} else {
			err = j.SetBanTime(name, d)
		}
		if err != nil {
			return result{}, err
		}
		return s.get(name, []string{sub})
	case "addignoreip":
		for _, v := range args {
			if v == "" {
				continue
			}
			p, err := jail.ParseIgnore(v)
			if err != nil {
				return result{}, err
			}
			if err := j.AddIgnore(name, p); err != nil {
				return result{}, err
			}
		}
		return s.get(name, []string{"ignoreip"})
	case "delignoreip":
		v, err := arg(0)
		if err != nil {
			return result{}, err
		}
		p, err := jail.ParseIgnore(v)
		if err != nil {
			return result{}, err
		}
		if err := j.DelIgnore(name, p); err != nil {
			return result{}, err
		}
		return s.get(name, []string{"ignoreip"})
	case "ipv6prefix":
		v, err := arg(0)
		if err != nil {
			return result{}, err
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(v, "/")))
		if err != nil {
			return result{}, fmt.Errorf("%w: ipv6prefix %q", jail.ErrInvalidValue, v)
		}
		if err := j.SetIPv6Prefix(name, n); err != nil {
			return result{}, err
		}
		return s.get(name, []string{"ipv6prefix"})
	case "ignoreself":
		v, err := arg(0)
		if err != nil {
			return result{}, err
		}
		if err := j.SetIgnoreSelf(name, jail.ParseBool(v)); err != nil {
			return result{}, err
		}
		return s.get(name, []string{"ignoreself"})
	case "idle":
		v, err := arg(0)
		if err != nil {
			return result{}, err
		}
		var on bool
		switch v {
		case "on":
			on = true
		case "off":
		default:
			if !j.Has(name) {
				return result{}, jailErr(name)
			}
			return result{}, &protocol.Exception{Class: "builtins.Exception", Args: []any{"Invalid idle option, must be 'on' or 'off'"}}
		}
		if err := j.SetIdle(name, on); err != nil {
			return result{}, err
		}
		return ok(on)
	case "addaction":
		v, err := arg(0)
		if err != nil {
			return result{}, err
		}
		if !j.Has(name) {
			return result{}, jailErr(name)
		}
		v, err = s.o.Actions.Canonical(v)
		if err != nil {
			return result{}, err
		}
		cfg, err := j.Config(name)
		if err != nil {
			return result{}, err
		}
		for _, have := range cfg.Actions {
			if have == v {
				return result{}, &protocol.Exception{Class: "builtins.ValueError", Args: []any{"Action " + pyRepr(v) + " already exists"}}
			}
		}
		if err := j.SetActions(name, append(cfg.Actions, v)); err != nil {
			return result{}, err
		}
		return ok(v)
	case "delaction":
		v, err := arg(0)
		if err != nil {
			return result{}, err
		}
		cfg, err := j.Config(name)
		if err != nil {
			return result{}, err
		}
		if canon, err := s.o.Actions.Canonical(v); err == nil {
			v = canon
		}
		kept := cfg.Actions[:0:0]
		for _, have := range cfg.Actions {
			if have != v {
				kept = append(kept, have)
			}
		}
		if len(kept) == len(cfg.Actions) {
			return result{}, &protocol.Exception{Class: "builtins.KeyError", Args: []any{v}}
		}
		return ok0(j.SetActions(name, kept))
	}
	if opt, isExtra := strings.CutPrefix(sub, "bantime."); isExtra {
		v, err := arg(0)
		if err != nil {
			return result{}, err
		}
		out, err := j.SetBanTimeExtra(name, opt, v)
		return result{value: out}, err
	}
	if !j.Has(name) {
		return result{}, jailErr(name)
	}
	return result{}, errInvalidSet(sub)
}

// get handles `get NAME [SUB ARGS...]`.
func (s *Server) get(name string, rest []string) (result, error) {
	switch name {
	case "loglevel":
		s.mu.Lock()
		defer s.mu.Unlock()
		return ok(s.levelName)
	case "dbfile", "dbpurgeage", "dbmaxmatches":
		return s.getDB(name)
	}
	if len(rest) == 0 {
		return result{}, errIndex
	}
	j := s.o.Jails
	sub, args := rest[0], rest[1:]
	switch sub {
	case "banned":
		if len(args) == 0 {
			bans, err := j.BanList(name)
			if err != nil {
				return result{}, err
			}
			l := make([]any, len(bans))
			for i, b := range bans {
				l[i] = banText(b.Prefix)
			}
			return ok(l)
		}
		out := make([]any, 0, len(args))
		for _, v := range args {
			var hit int64
			// An unparsable address is simply not banned, as in fail2ban.
			if addr, err := jail.ParseAddr(v); err == nil {
				b, err := j.IsBanned(name, addr)
				if err != nil {
					return result{}, err
				}
				if b {
					hit = 1
				}
			} else if !j.Has(name) {
				return result{}, jailErr(name)
			}
			out = append(out, hit)
		}
		if len(out) == 1 {
			return ok(out[0])
		}
		return ok(out)
	case "banip":
		bans, err := j.BanList(name)
		if err != nil {
			return result{}, err
		}
		withTime := len(args) > 0 && args[0] == "--with-time"
		l := make([]any, len(bans))
		for i, b := range bans {
			if withTime {
				l[i] = banWithTime(b)
			} else {
				l[i] = banText(b.Prefix)
			}
		}
		return ok(l)
	}
	cfg, err := j.Config(name)
	if err != nil {
		return result{}, err
	}
	switch sub {
	case "maxretry":
		return ok(int64(cfg.MaxRetry))
	case "findtime":
		return ok(seconds(cfg.FindTime))
	case "bantime":
		return ok(seconds(cfg.BanTime))
	case "ignoreip":
		return ok(ignoreList(cfg.IgnoreIP))
	case "ignoreself":
		return ok(cfg.IgnoreSelf)
	case "ipv6prefix":
		return ok(int64(cfg.IPv6Prefix))
	case "actions":
		l := make([]any, len(cfg.Actions))
		for i, a := range cfg.Actions {
			l[i] = a
		}
		return ok(l)
	case "idle":
		idle, err := j.Idle(name)
		return result{value: idle}, err
	}
	if opt, isExtra := strings.CutPrefix(sub, "bantime."); isExtra {
		v, err := j.BanTimeExtra(name, opt)
		return result{value: v}, err
	}
	return result{}, errInvalidGet
}

// setLogLevel takes fail2ban's level names (or a number, as logging's).
func (s *Server) setLogLevel(v string) (result, error) {
	lvl, name, err := ParseLogLevel(v)
	if err != nil {
		return result{}, &protocol.Exception{Class: "builtins.ValueError", Args: []any{"Invalid log level " + pyRepr(v)}}
	}
	if s.o.Level != (zap.AtomicLevel{}) {
		s.o.Level.SetLevel(lvl)
	}
	s.mu.Lock()
	s.levelName = name
	s.mu.Unlock()
	return ok(name)
}

// ErrLogLevel reports a log level name fail2ban does not know.
var ErrLogLevel = errors.New("server: invalid log level")

// ParseLogLevel maps fail2ban's level names (CRITICAL, ERROR, WARNING,
// NOTICE, INFO, DEBUG, ...) or a logging number onto zap's levels, and
// returns the name as fail2ban reports it back (upper case). The config's
// log.level and `set loglevel` both go through it.
func ParseLogLevel(v string) (zapcore.Level, string, error) {
	name := strings.ToUpper(v)
	switch name {
	case "CRITICAL", "ERROR":
		return zapcore.ErrorLevel, name, nil
	case "WARNING", "WARN", "NOTICE":
		return zapcore.WarnLevel, name, nil
	case "INFO", "MSG":
		return zapcore.InfoLevel, name, nil
	case "DEBUG", "TRACEDEBUG", "HEAVYDEBUG":
		return zapcore.DebugLevel, name, nil
	}
	n, err := strconv.Atoi(name)
	switch {
	case err != nil:
		return 0, "", fmt.Errorf("%w: %q", ErrLogLevel, v)
	case n >= 40:
		return zapcore.ErrorLevel, name, nil
	case n >= 30:
		return zapcore.WarnLevel, name, nil
	case n >= 20:
		return zapcore.InfoLevel, name, nil
	}
	return zapcore.DebugLevel, name, nil
}

// parseAddrs parses every address or refuses the whole command, naming the
// first bad one: a partial ban would leave the caller guessing.
func parseAddrs(vals []string) ([]netip.Addr, error) {
	out := make([]netip.Addr, len(vals))
	for i, v := range vals {
		a, err := jail.ParseAddr(v)
		if err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

func prefixList(ps []netip.Prefix) []any {
	l := make([]any, len(ps))
	for i, p := range ps {
		l[i] = banText(p)
	}
	return l
}

// banText shows a ban as fail2ban shows its IPs: a single address bare, a
// network (an IPv6 prefix ban) in CIDR form.
func banText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

// ignoreList lists ignore entries as fail2ban shows them: networks first,
// then single addresses, a single address without its /32 or /128.
func ignoreList(ps []netip.Prefix) []any {
	l := make([]any, 0, len(ps))
	for _, p := range ps {
		if !p.IsSingleIP() {
			l = append(l, p.String())
		}
	}
	for _, p := range ps {
		if p.IsSingleIP() {
			l = append(l, p.Addr().String())
		}
	}
	return l
}

func seconds(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	return int64(d / time.Second)
}

// banWithTime formats one ban as fail2ban's `get JAIL banip --with-time`:
// "IP \tSTART + SECONDS = END", local time. A forever ban ends, as in
// fail2ban, at 0x7fffffff.
func banWithTime(b jail.Ban) string {
	const layout = "2006-01-02 15:04:05"
	end := time.Unix(0x7fffffff, 0)
	secs := int64(-1)
	if b.BanTime >= 0 {
		secs = int64(b.BanTime / time.Second)
		end = b.Start.Add(b.BanTime)
	}
	return fmt.Sprintf("%s \t%s + %d = %s", banText(b.Prefix), b.Start.Local().Format(layout), secs, end.Local().Format(layout))
}

// pyRepr quotes s as Python's repr of a str does, for messages that quote
// user input the way fail2ban's do.
func pyRepr(s string) string {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == rune(q):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

func jailErr(name string) error { return &jail.UnknownJailError{Name: name} }

func helpLines() []any {
	lines := []string{
		"ping                                  tests if the server is alive",
		"version                               the server's version",
		"status                                jails and their count",
		"status <JAIL> [FLAVOR]                the jail's failures and bans (FLAVOR: basic, short)",
		"echo <ARGS>                           returns ARGS",
		"server-status                         'Server ready' while serving",
		"add <JAIL> [BACKEND]                  creates a jail",
		"start <JAIL>                          starts a jail",
		"stop <JAIL>                           stops and removes a jail",
		"stop --all                            stops every jail",
		"stop                                  stops the daemon",
		"banned [IP ...]                       banned addresses, or the jails banning IP",
		"unban --all | <IP> ...                unbans everywhere",
		"set loglevel <LEVEL>                  CRITICAL ERROR WARNING NOTICE INFO DEBUG",
		"get loglevel",
		"set <JAIL> attempt <IP> [<MSG>...]    reports failures of IP",
		"set <JAIL> banip <IP> ...             bans IP",
		"set <JAIL> unbanip [--report-absent] <IP> ...",
		"set|get <JAIL> maxretry|findtime|bantime [VALUE]",
		"set <JAIL> addignoreip|delignoreip <IP|CIDR>",
		"get <JAIL> ignoreip",
		"set|get <JAIL> ignoreself [true|false]",
		"set|get <JAIL> idle [on|off]",
		"set|get <JAIL> bantime.increment|factor|formula|multipliers|maxtime|rndtime|overalljails [VALUE]",
		"set|get dbfile|dbpurgeage|dbmaxmatches [VALUE]",
		"set|get <JAIL> ipv6prefix [LEN]        ban IPv6 attackers by prefix (64), 0: per address",
		"set <JAIL> addaction|delaction <NAME>  built-in actions only",
		"get <JAIL> actions",
		"get <JAIL> banned [IP ...]",
		"get <JAIL> banip [SEP|--with-time]",
	}
	out := make([]any, len(lines))
	for i, l := range lines {
		out[i] = l
	}
	return out
}

// getDB answers get dbfile|dbpurgeage|dbmaxmatches as fail2ban does: None
// without a database.
func (s *Server) getDB(key string) (result, error) {
	d := s.o.DB
	if d == nil {
		return ok(nil)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch key {
	case "dbfile":
		return ok(d.file)
	case "dbpurgeage":
		return ok(seconds(d.purgeAge))
	}
	return ok(int64(d.maxMatches))
}

// setDB changes dbpurgeage or dbmaxmatches. The file itself is chosen at
// start (--db): moving a live store under running jails would risk the
// bans it is there to keep, so set dbfile only confirms the current one.
func (s *Server) setDB(key, v string) (result, error) {
	d := s.o.DB
	if d == nil {
		// fail2ban answers None when it has no database.
		return ok(nil)
	}
	switch key {
	case "dbfile":
		d.mu.Lock()
		file := d.file
		d.mu.Unlock()
		if v != file {
			return result{}, &protocol.Exception{Class: "builtins.Exception", Args: []any{
				"the ban store is chosen at start (--db " + file + "); restart banserver to change it"}}
		}
		return ok(file)
	case "dbpurgeage":
		age, err := jail.ParseDuration(v)
		if err != nil {
			return result{}, err
		}
		if age <= 0 {
			return result{}, fmt.Errorf("%w: dbpurgeage %q", jail.ErrInvalidValue, v)
		}
		d.mu.Lock()
		d.purgeAge = age
		d.mu.Unlock()
		return ok(seconds(age))
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return result{}, fmt.Errorf("%w: dbmaxmatches %q", jail.ErrInvalidValue, v)
	}
	d.mu.Lock()
	d.maxMatches = n
	d.mu.Unlock()
	return ok(int64(n))
}
