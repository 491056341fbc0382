package server

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
)

// This file: creating, starting and stopping jails, and their settings.

// cmdAdd creates a jail with fail2ban's defaults for one made by `add`.
func (s *Server) cmdAdd(c *call) (result, error) {
	name := c.args[1]
	if name == "--all" {
		return result{}, &protocol.Exception{Class: protocol.ClassException, Args: []any{"Reserved name " + pyRepr(name)}}
	}
	if max := s.limits.MaxJails; max > 0 {
		// Two concurrent adds may both pass; the cap is against runaway
		// growth, not exact.
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
	return ok(nil)
}

func (s *Server) cmdStopJail(c *call) (result, error) { return ok0(s.o.Jails.Stop(c.args[1])) }

func (s *Server) cmdStopAll(*call) (result, error) {
	s.o.Jails.StopAll()
	return ok(nil)
}

// cmdStatusJail is `status JAIL [FLAVOR]`: fail2ban's Filter and Actions
// sections.
func (s *Server) cmdStatusJail(c *call) (result, error) {
	if len(c.args) > 3 {
		return result{}, unknownCommand(c.args)
	}
	name, flavor := c.args[1], "basic"
	if len(c.args) > 2 {
		flavor = c.args[2]
	}
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
			return result{}, &protocol.Exception{Class: protocol.ClassValueError, Args: []any{"Action " + pyRepr(v) + " already exists"}}
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
	opt := strings.TrimPrefix(c.args[2], "bantime.")
	out, err := s.o.Jails.SetBanTimeExtra(c.args[1], opt, c.args[3])
	return result{value: out}, err
}

func (s *Server) cmdGetBanTimeExtra(c *call) (result, error) {
	opt := strings.TrimPrefix(c.args[2], "bantime.")
	v, err := s.o.Jails.BanTimeExtra(c.args[1], opt)
	return result{value: v}, err
}
