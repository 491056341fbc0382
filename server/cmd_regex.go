package server

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/banserver/banserver/filter"
	"github.com/banserver/banserver/logjail"
	"github.com/banserver/banserver/protocol"
)

// This file: a log jail's regexes (failregex, ignoreregex, prefregex),
// answered with fail2ban's tags resolved.

// regexKind is the kind of the regex list a command names.
func regexKind(sub string) filter.RegexKind {
	if strings.Contains(sub, "ignore") {
		return filter.RegexIgnore
	}
	return filter.RegexFail
}

// regexList returns the jail's failregex or ignoreregex list as its
// filter runs it: its own, else its filter file's.
func regexList(ls logjail.Settings, kind filter.RegexKind) []string {
	own := ls.FailRegex
	if kind == filter.RegexIgnore {
		own = ls.IgnoreRegex
	}
	if len(own) > 0 || ls.Filter == "" {
		return slices.Clone(own)
	}
	f := logFilter(ls)
	if f == nil {
		return nil
	}
	if kind == filter.RegexIgnore {
		return f.IgnoreRegex()
	}
	return f.FailRegex()
}

// filterOnly is ls without the jail's own failregex, ignoreregex and
// journal match: what its filter file alone gives.
func filterOnly(ls logjail.Settings) logjail.Settings {
	ls.FailRegex, ls.IgnoreRegex, ls.JournalMatch = nil, nil, ""
	return ls
}

// setRegexList gives the jail its own failregex or ignoreregex list. A
// jail reading a filter file takes the file's list when its own is empty,
// so a jail with a filter file cannot be left without any.
func setRegexList(ls *logjail.Settings, kind filter.RegexKind, list []string) error {
	what := "failregex"
	if kind == filter.RegexIgnore {
		what = "ignoreregex"
	}
	if len(list) == 0 && ls.Filter != "" && len(regexList(filterOnly(*ls), kind)) > 0 {
		return valueError(fmt.Sprintf("cannot remove the last %s of a jail whose filter %s has its own: banserver would go back to the filter's",
			what, protocol.ReprString(ls.Filter)))
	}
	if kind == filter.RegexIgnore {
		ls.IgnoreRegex = list
	} else {
		ls.FailRegex = list
	}
	return nil
}

// resolvedRegexes answers a regex list as fail2ban does: each regex with
// its tags resolved for the jail's usedns.
func resolvedRegexes(list []string, dns string) []any {
	out := make([]any, len(list))
	for i, p := range list {
		if r, err := filter.CheckRegex(filter.RegexIgnore, p, dns, ""); err == nil {
			p = r
		}
		out[i] = p
	}
	return out
}

// regexError turns a refused regex into the exception banserver answers:
// fail2ban's message in a ValueError (fail2ban's own class,
// fail2ban.server.failregex.RegexException, is none fail2ban's client
// side knows how to unpickle without the server package, and none
// banserver's decoder accepts).
func regexError(err error) error {
	var re *filter.RegexError
	if errors.As(err, &re) {
		return valueError(re.Msg)
	}
	return valueError(err.Error())
}

// addRegexes checks and adds regexes to the jail's failregex or
// ignoreregex list, all or none.
func (s *Server) addRegexes(name string, kind filter.RegexKind, values []string) error {
	return s.changeLogs(name, func(ls *logjail.Settings) error {
		for _, v := range values {
			if _, err := filter.CheckRegex(kind, v, ls.UseDNS, ls.PrefRegex); err != nil {
				return regexError(err)
			}
		}
		return setRegexList(ls, kind, append(regexList(*ls, kind), values...))
	})
}

// cmdAddRegex is `set JAIL addfailregex|addignoreregex REGEX`.
func (s *Server) cmdAddRegex(c *call) (result, error) {
	v, err := strArg(c, 3)
	if err != nil {
		return result{}, err
	}
	if err := s.addRegexes(c.args[1], regexKind(c.args[2]), []string{v}); err != nil {
		return result{}, err
	}
	return s.getRegexes(c.args[1], regexKind(c.args[2]))
}

// cmdMultiAddRegex is fail2ban-client's `multi-set JAIL addfailregex
// [REGEX, ...]` (and addignoreregex): every regex of the list, answered
// True.
func (s *Server) cmdMultiAddRegex(c *call) (result, error) {
	list, isList := c.nested[3]
	if !isList {
		return result{}, valueError(fmt.Sprintf("multi-set %s takes a list of regexes", c.args[2]))
	}
	values := make([]string, len(list))
	for i, it := range list {
		v, err := strItem(it)
		if err != nil {
			return result{}, err
		}
		values[i] = v
	}
	if err := s.addRegexes(c.args[1], regexKind(c.args[2]), values); err != nil {
		return result{}, err
	}
	return ok(true)
}

// cmdDelRegex is `set JAIL delfailregex|delignoreregex INDEX`: Python's
// index (-1 the last); an index out of range changes nothing.
func (s *Server) cmdDelRegex(c *call) (result, error) {
	name, kind := c.args[1], regexKind(c.args[2])
	i, err := intArg(c, 3)
	if err != nil {
		return result{}, err
	}
	err = s.changeLogs(name, func(ls *logjail.Settings) error {
		list := regexList(*ls, kind)
		if i < 0 {
			i += len(list)
		}
		if i < 0 || i >= len(list) {
			return errUnchanged
		}
		return setRegexList(ls, kind, slices.Delete(list, i, i+1))
	})
	if err != nil {
		return result{}, err
	}
	return s.getRegexes(name, kind)
}

// cmdGetRegex is `get JAIL failregex|ignoreregex`.
func (s *Server) cmdGetRegex(c *call) (result, error) {
	return s.getRegexes(c.args[1], regexKind(c.args[2]))
}

func (s *Server) getRegexes(name string, kind filter.RegexKind) (result, error) {
	ls, err := s.logSettingsOf(name)
	if err != nil {
		return result{}, err
	}
	return ok(resolvedRegexes(regexList(ls, kind), ls.UseDNS))
}

// cmdSetPrefRegex is `set JAIL prefregex REGEX`; an empty REGEX for none.
func (s *Server) cmdSetPrefRegex(c *call) (result, error) {
	v, err := strArg(c, 3)
	if err != nil {
		return result{}, err
	}
	err = s.changeLogs(c.args[1], func(ls *logjail.Settings) error {
		if v != "" {
			if _, err := filter.CheckRegex(filter.RegexPref, v, ls.UseDNS, ""); err != nil {
				return regexError(err)
			}
		}
		ls.PrefRegex = v
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return s.cmdGetPrefRegex(c)
}

func (s *Server) cmdGetPrefRegex(c *call) (result, error) {
	ls, err := s.logSettingsOf(c.args[1])
	if err != nil {
		return result{}, err
	}
	if ls.PrefRegex == "" {
		if f := logFilter(ls); f != nil {
			return ok(f.PrefRegex())
		}
		return ok("")
	}
	return ok(resolvedRegexes([]string{ls.PrefRegex}, ls.UseDNS)[0])
}
