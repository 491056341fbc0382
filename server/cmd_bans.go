package server

import (
	"net/netip"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
)

// This file: failures, bans and unbans, and the lists of bans.

// cmdAttempt is `set JAIL attempt IP [MSG...]`: failures of IP, one per
// message.
func (s *Server) cmdAttempt(c *call) (result, error) {
	addr, err := jail.ParseAddr(c.args[3])
	if err != nil {
		return result{}, err
	}
	n, err := s.o.Jails.AttemptNow(c.args[1], addr, c.now, c.args[4:])
	return result{value: int64(n)}, err
}

func (s *Server) cmdBanIP(c *call) (result, error) {
	addrs, err := parseAddrs(c.args[3:])
	if err != nil {
		return result{}, err
	}
	n, err := s.o.Jails.BanIP(c.args[1], addrs)
	return result{value: int64(n)}, err
}

func (s *Server) cmdUnbanIP(c *call) (result, error) {
	args := c.args[3:]
	ifExists := true
	if args[0] == "--report-absent" {
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
	n, err := s.o.Jails.UnbanIP(c.args[1], addrs, ifExists)
	return result{value: int64(n)}, err
}

// cmdUnban is `unban --all | IP...`: in every jail.
func (s *Server) cmdUnban(c *call) (result, error) {
	a := c.args
	var addrs []netip.Addr // nil: --all
	if len(a) != 2 || a[1] != "--all" {
		var err error
		if addrs, err = parseAddrs(a[1:]); err != nil {
			return result{}, err
		}
	}
	n, err := s.o.Jails.UnbanEverywhere(addrs)
	return result{value: int64(n)}, err
}

// cmdBanned answers `banned [IP...]`: with no addresses, every jail's list
// as [{jail: [ips]}...]; with addresses, for each the jails banning it.
func (s *Server) cmdBanned(c *call) (result, error) {
	ips := c.args[1:]
	if len(ips) == 0 {
		var out []any
		for _, name := range s.o.Jails.Jails() {
			bans, err := s.o.Jails.Banned(name)
			if err != nil {
				continue // stopped meanwhile
			}
			out = append(out, protocol.Dict{{Key: name, Value: prefixList(bans)}})
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

// cmdGetBanned is `get JAIL banned [IP...]`: the jail's bans in the order
// they were made, or for each IP 1 when it is banned, else 0.
func (s *Server) cmdGetBanned(c *call) (result, error) {
	j, name, args := s.o.Jails, c.args[1], c.args[3:]
	if len(args) == 0 {
		bans, err := j.Banned(name)
		if err != nil {
			return result{}, err
		}
		return ok(prefixList(bans))
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
}

// cmdGetBanIP is `get JAIL banip [SEP|--with-time]`: the bans by end.
func (s *Server) cmdGetBanIP(c *call) (result, error) {
	bans, err := s.o.Jails.BanList(c.args[1])
	if err != nil {
		return result{}, err
	}
	withTime := len(c.args) > 3 && c.args[3] == "--with-time"
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
