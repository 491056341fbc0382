package server

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/logjail"
	"github.com/banserver/banserver/protocol"
)

// This file: creating, starting and stopping jails, and their settings.

// jailExtra is what the server keeps beside a jail that package jail has
// no field for; made by `add`, dropped by `stop`. A jail the daemon made
// from its configuration has none until a client sets something here.
type jailExtra struct {
	// backend is the backend the jail was added with, lower-cased and
	// without options ("auto", "polling", "systemd", ...).
	backend string
	// overall is bantime.overalljails as the client last sent it
	// (fail2ban answers the value as given: 'true', 'yes', 1, False;
	// None for ''), and overallText its str(); jail keeps the bool.
	overall     any
	overallText string
	overallSet  bool
	// logs are the log settings logjail.Settings cannot tell apart.
	logs logExtra
}

// backends are fail2ban 1.0.2's backends, in its order (its error lists them so).
var backends = []string{"pyinotify", "gamin", "polling", "systemd"}

// parseBackend checks a backend as fail2ban's Jail does: NAME[OPTIONS],
// the name any case, auto or one of backends. It returns the name
// lower-cased, without its options.
func parseBackend(v string) (string, error) {
	name, err := extractOptions(v)
	if err != nil {
		return "", err
	}
	b := strings.ToLower(name)
	if b != "auto" && !slices.Contains(backends, b) {
		quoted := make([]string, len(backends))
		for i, x := range backends {
			quoted[i] = protocol.ReprString(x)
		}
		return "", valueError(fmt.Sprintf("Unknown backend %s. Must be among [%s] or 'auto'", b, strings.Join(quoted, ", ")))
	}
	return b, nil
}

// extraLocked returns the jail's extras, made when it has none; s.mu is
// held.
func (s *Server) extraLocked(name string) *jailExtra {
	e := s.extras[name]
	if e == nil {
		e = &jailExtra{backend: "auto"}
		s.extras[name] = e
	}
	return e
}

// backend is the backend the jail was added with ("auto" when it came
// from the configuration).
func (s *Server) backend(name string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.extras[name]; e != nil {
		return e.backend
	}
	return "auto"
}

// dropExtras forgets the extras of the jails that no longer exist;
// s.jailLife is held.
func (s *Server) dropExtras() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for name := range s.extras {
		if !s.o.Jails.Has(name) {
			delete(s.extras, name)
		}
	}
}

// cmdAdd creates a jail with fail2ban's defaults for one made by `add`,
// and keeps its backend (auto unless given).
func (s *Server) cmdAdd(c *call) (result, error) {
	name := c.args[1]
	if name == "--all" {
		return result{}, &protocol.Exception{Class: protocol.ClassException, Args: []any{"Reserved name " + protocol.ReprString(name)}}
	}
	s.jailLife.Lock()
	defer s.jailLife.Unlock()
	// fail2ban refuses a duplicate before it looks at the backend.
	if s.o.Jails.Has(name) {
		return result{}, &protocol.Exception{Class: protocol.ClassDuplicateJail, Args: []any{name}}
	}
	backend := "auto"
	if len(c.args) > 2 {
		var err error
		if backend, err = parseBackend(c.args[2]); err != nil {
			return result{}, err
		}
	}
	if max := s.settings().limits.MaxJails; max > 0 {
		if n := len(s.o.Jails.Jails()); n >= max {
			return result{}, &protocol.Exception{Class: protocol.ClassException, Args: []any{
				fmt.Sprintf("too many jails: %d, limits.max_jails is %d", n, max)}}
		}
	}
	err := s.o.Jails.Add(jail.DefaultConfig(name))
	if errors.Is(err, jail.ErrDuplicateJail) {
		return result{}, &protocol.Exception{Class: protocol.ClassDuplicateJail, Args: []any{name}}
	}
	if err != nil {
		return result{}, err
	}
	s.mu.Lock()
	s.extras[name] = &jailExtra{backend: backend}
	s.mu.Unlock()
	if s.o.LogJails != nil {
		// The jail reads nothing until it has log paths (or the journal)
		// and a failregex; the backend is all it has so far.
		if err := s.o.LogJails.Configure(name, logjail.Settings{Backend: backend}); err != nil {
			return result{}, err
		}
	}
	return ok(name)
}

// cmdStart starts a jail; the daemon then restores its stored bans.
func (s *Server) cmdStart(c *call) (result, error) {
	name := c.args[1]
	if err := s.o.Jails.Start(name); err != nil {
		return result{}, err
	}
	if s.o.OnJailStart != nil {
		if err := s.o.OnJailStart(name); err != nil {
			return result{}, err
		}
	}
	if s.o.LogJails != nil {
		s.o.LogJails.Start(name)
	}
	return ok(nil)
}

func (s *Server) cmdStopJail(c *call) (result, error) {
	s.jailLife.Lock()
	defer s.jailLife.Unlock()
	if err := s.o.Jails.Stop(c.args[1]); err != nil {
		return result{}, err
	}
	s.dropExtras()
	s.forgetLogs(c.args[1:2])
	return ok(nil)
}

func (s *Server) cmdStopAll(*call) (result, error) {
	s.jailLife.Lock()
	defer s.jailLife.Unlock()
	before := s.o.Jails.Jails()
	s.o.Jails.StopAll()
	s.dropExtras()
	s.forgetLogs(before)
	return ok(nil)
}

// cmdStatusJail is `status JAIL [FLAVOR]`: fail2ban's Filter and Actions
// sections.
func (s *Server) cmdStatusJail(c *call) (result, error) {
	if len(c.args) > 3 {
		return result{}, unknownCommand(c.args)
	}
	flavor := "basic"
	if len(c.args) > 2 {
		flavor = c.args[2]
	}
	v, err := s.jailStatus(c.args[1], flavor)
	return result{value: v}, err
}

// jailStatus is a jail's status in a flavor: basic (and any flavor
// fail2ban does not know), short without the list of bans, cymru with
// fail2ban's Banned ASN, Country and RIR lists. fail2ban fills those from
// DNS lookups (dnspython) and answers ['error'] without them; banserver
// makes no lookups, so it answers ['error'] always.
func (s *Server) jailStatus(name, flavor string) (any, error) {
	st, err := s.o.Jails.Status(name)
	if err != nil {
		return nil, err
	}
	filter := []any{
		protocol.Tuple{"Currently failed", int64(st.CurrentlyFailed)},
		protocol.Tuple{"Total failed", int64(st.TotalFailed)},
		// fail2ban's jails always have a filter; clients print its file
		// list (the journal's matches for systemd), empty for a jail that
		// reads no logs, so the output keeps fail2ban's shape.
		s.filterStatus(name),
	}
	acts := []any{
		protocol.Tuple{"Currently banned", int64(st.CurrentlyBanned)},
		protocol.Tuple{"Total banned", int64(st.TotalBanned)},
	}
	if flavor != "short" {
		acts = append(acts, protocol.Tuple{"Banned IP list", prefixList(st.Banned)})
	}
	if flavor == "cymru" {
		acts = append(acts,
			protocol.Tuple{"Banned ASN list", []any{"error"}},
			protocol.Tuple{"Banned Country list", []any{"error"}},
			protocol.Tuple{"Banned RIR list", []any{"error"}})
	}
	// A failing kernel action must not go unnoticed; the line appears only
	// then, so the output keeps fail2ban's shape while all is well.
	if s.o.Queue != nil {
		if n := s.o.Queue.JailFailures(name); n > 0 {
			acts = append(acts, protocol.Tuple{"Action failures", int64(n)})
		}
	}
	return []any{protocol.Tuple{"Filter", filter}, protocol.Tuple{"Actions", acts}}, nil
}

// statsBackend is the backend `stats` shows: the one the jail was added
// with, and for auto (and the jails of the configuration) "polling", what
// fail2ban 1.1 shows for auto where pyinotify is not installed. A 1.1
// client's user reads a backend there, never "auto".
func (s *Server) statsBackend(name string) string {
	if b := s.backend(name); b != "auto" {
		return b
	}
	return "polling"
}

// jailStats is a jail's line of fail2ban 1.1's `stats`: [backend,
// (currently failed, total failed), (currently banned, total banned)].
func (s *Server) jailStats(name string) (any, error) {
	st, err := s.o.Jails.Status(name)
	if err != nil {
		return nil, err
	}
	return []any{
		s.statsBackend(name),
		protocol.Tuple{int64(st.CurrentlyFailed), int64(st.TotalFailed)},
		protocol.Tuple{int64(st.CurrentlyBanned), int64(st.TotalBanned)},
	}, nil
}

// eachJail maps every jail, in name order, through f into a dict; a jail
// stopped meanwhile is left out.
func (s *Server) eachJail(f func(name string) (any, error)) (protocol.Dict, error) {
	out := protocol.Dict{}
	for _, name := range s.o.Jails.Jails() {
		v, err := f(name)
		if _, gone := jail.UnknownJailName(err); gone {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, protocol.KV{Key: name, Value: v})
	}
	return out, nil
}

// cmdStatusAll is fail2ban 1.1's `status --all [FLAVOR]`: `status`'s
// lines, then a dict of every jail's status in FLAVOR; with the flavor
// stats, `stats`'s dict alone.
func (s *Server) cmdStatusAll(c *call) (result, error) {
	if len(c.args) > 3 {
		return result{}, unknownCommand(c.args)
	}
	flavor := "basic"
	if len(c.args) > 2 {
		flavor = c.args[2]
	}
	if flavor == "stats" {
		return s.cmdStats(c)
	}
	all, err := s.eachJail(func(name string) (any, error) { return s.jailStatus(name, flavor) })
	if err != nil {
		return result{}, err
	}
	names := make([]string, len(all))
	for i, kv := range all {
		names[i] = kv.Key.(string)
	}
	return ok(append(s.statusLines(names), all))
}

// cmdStats is fail2ban 1.1's `stats` (any words after it are ignored, as
// there): {jail: [backend, (cur, tot failed), (cur, tot banned)]}.
func (s *Server) cmdStats(*call) (result, error) {
	all, err := s.eachJail(s.jailStats)
	if err != nil {
		return result{}, err
	}
	return ok(all)
}

// cmdGetJail answers the plain settings of a jail.
func (s *Server) cmdGetJail(c *call) (result, error) {
	cfg, err := s.o.Jails.Config(c.args[1])
	if err != nil {
		return result{}, err
	}
	switch c.args[2] {
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
	}
	return result{}, errInvalidGet
}

// get answers `get JAIL SUB` after a set, as fail2ban's setters do.
func (s *Server) get(name, sub string) (result, error) {
	return s.cmdGetJail(&call{args: []string{"get", name, sub}})
}

func (s *Server) cmdSetMaxRetry(c *call) (result, error) {
	name, v := c.args[1], c.args[3]
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 1 {
		return result{}, fmt.Errorf("%w: maxretry %q", jail.ErrInvalidValue, v)
	}
	if err := s.o.Jails.SetMaxRetry(name, n); err != nil {
		return result{}, err
	}
	return s.get(name, "maxretry")
}

// cmdSetTime sets findtime or bantime.
func (s *Server) cmdSetTime(c *call) (result, error) {
	name, sub, v := c.args[1], c.args[2], c.args[3]
	d, err := jail.ParseDuration(v)
	if err != nil {
		return result{}, err
	}
	if sub == "findtime" {
		err = s.o.Jails.SetFindTime(name, d)
	} else {
		err = s.o.Jails.SetBanTime(name, d)
	}
	if errors.Is(err, jail.ErrInvalidValue) && strings.TrimSpace(v) != jail.SecondsText(d) {
		// jail names the seconds; say what the client typed too ("-1m").
		err = fmt.Errorf("%w (given as %s)", err, protocol.ReprString(v))
	}
	if err != nil {
		return result{}, err
	}
	return s.get(name, sub)
}

func (s *Server) cmdAddIgnoreIP(c *call) (result, error) {
	name := c.args[1]
	for _, v := range c.rest(3) {
		if v == "" {
			continue
		}
		p, err := jail.ParseIgnore(v)
		if err != nil {
			return result{}, err
		}
		if err := s.o.Jails.AddIgnore(name, p); err != nil {
			return result{}, err
		}
	}
	return s.get(name, "ignoreip")
}

func (s *Server) cmdDelIgnoreIP(c *call) (result, error) {
	name := c.args[1]
	p, err := jail.ParseIgnore(c.args[3])
	if err != nil {
		return result{}, err
	}
	if err := s.o.Jails.DelIgnore(name, p); err != nil {
		return result{}, err
	}
	return s.get(name, "ignoreip")
}

func (s *Server) cmdSetIPv6Prefix(c *call) (result, error) {
	name, v := c.args[1], c.args[3]
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(v, "/")))
	if err != nil {
		return result{}, fmt.Errorf("%w: ipv6prefix %q", jail.ErrInvalidValue, v)
	}
	if err := s.o.Jails.SetIPv6Prefix(name, n); err != nil {
		return result{}, err
	}
	return s.get(name, "ipv6prefix")
}

func (s *Server) cmdSetIgnoreSelf(c *call) (result, error) {
	name := c.args[1]
	if err := s.o.Jails.SetIgnoreSelf(name, jail.ParseBool(c.args[3])); err != nil {
		return result{}, err
	}
	return s.get(name, "ignoreself")
}

func (s *Server) cmdSetIdle(c *call) (result, error) {
	name, v := c.args[1], c.args[3]
	var on bool
	switch v {
	case "on":
		on = true
	case "off":
	default:
		if !s.o.Jails.Has(name) {
			return result{}, jailErr(name)
		}
		return result{}, &protocol.Exception{Class: protocol.ClassException, Args: []any{"Invalid idle option, must be 'on' or 'off'"}}
	}
	if err := s.o.Jails.SetIdle(name, on); err != nil {
		return result{}, err
	}
	return ok(on)
}

func (s *Server) cmdGetIdle(c *call) (result, error) {
	idle, err := s.o.Jails.Idle(c.args[1])
	return result{value: idle}, err
}

// cmdAddAction adds a built-in action by name (never a shell command).
func (s *Server) cmdAddAction(c *call) (result, error) {
	name, v := c.args[1], c.args[3]
	j := s.o.Jails
	if !j.Has(name) {
		return result{}, jailErr(name)
	}
	v, err := s.o.Actions.Canonical(v)
	if err != nil {
		return result{}, err
	}
	cfg, err := j.Config(name)
	if err != nil {
		return result{}, err
	}
	for _, have := range cfg.Actions {
		if have == v {
			return result{}, &protocol.Exception{Class: protocol.ClassValueError, Args: []any{"Action " + protocol.ReprString(v) + " already exists"}}
		}
	}
	if err := s.setActions(name, append(cfg.Actions, v)); err != nil {
		return result{}, err
	}
	return ok(v)
}

// setActions gives the jail new actions, through the daemon's hook when
// there is one.
func (s *Server) setActions(name string, specs []string) error {
	if s.o.SetActions != nil {
		return s.o.SetActions(name, specs)
	}
	return s.o.Jails.SetActions(name, specs)
}

func (s *Server) cmdDelAction(c *call) (result, error) {
	name, v := c.args[1], c.args[3]
	j := s.o.Jails
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
		return result{}, &protocol.Exception{Class: protocol.ClassKeyError, Args: []any{v}}
	}
	return ok0(s.setActions(name, kept))
}

func (s *Server) cmdSetBanTimeExtra(c *call) (result, error) {
	name, opt := c.args[1], strings.TrimPrefix(c.args[2], "bantime.")
	out, err := s.o.Jails.SetBanTimeExtra(name, opt, c.args[3])
	if err != nil || opt != "overalljails" {
		return result{value: out}, err
	}
	// fail2ban keeps overalljails as sent and answers it so: 'true' stays
	// 'true', False stays False, '' is None. jail keeps the bool it acts on.
	raw := c.item(3)
	if _, isList := c.nested[3]; isList {
		raw = c.args[3]
	}
	if raw == "" {
		raw = nil
	}
	s.mu.Lock()
	e := s.extraLocked(name)
	e.overall, e.overallText, e.overallSet = raw, c.args[3], true
	s.mu.Unlock()
	return ok(raw)
}

func (s *Server) cmdGetBanTimeExtra(c *call) (result, error) {
	name, opt := c.args[1], strings.TrimPrefix(c.args[2], "bantime.")
	v, err := s.o.Jails.BanTimeExtra(name, opt)
	if err != nil || opt != "overalljails" {
		return result{value: v}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// The value as sent, while it still says what the jail does (a reload
	// of the configuration may have changed the jail's since).
	if e := s.extras[name]; e != nil && e.overallSet && v == jail.ParseBool(e.overallText) {
		return ok(e.overall)
	}
	return ok(v)
}
