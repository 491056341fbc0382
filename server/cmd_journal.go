package server

import (
	"fmt"
	"slices"
	"strings"

	"github.com/banserver/banserver/logjail"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/source"
)

// This file: a systemd log jail's journal matches, in fail2ban's list of
// groups (ORed; the terms of a group ANDed), kept as logjail's
// journalmatch text (a group a line).

// journalGroups are the jail's journal matches as fail2ban lists them:
// the groups ORed together, each the terms ANDed. The jail's own, else
// its filter file's.
func journalGroups(ls logjail.Settings) [][]string {
	m := ls.JournalMatch
	if m == "" {
		if f := logFilter(ls); f != nil {
			m = f.JournalMatch()
		}
	}
	words, err := source.ParseJournalMatch(m)
	if err != nil {
		return nil
	}
	var out [][]string
	cur := []string{}
	for _, w := range words {
		if w == "+" {
			out = append(out, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, w)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// journalMatchText writes groups as a journalmatch value: a group a line,
// its terms quoted as the shell would need.
func journalMatchText(groups [][]string) string {
	lines := make([]string, len(groups))
	for i, g := range groups {
		q := make([]string, len(g))
		for j, w := range g {
			q[j] = shellQuote(w)
		}
		lines[i] = strings.Join(q, " ")
	}
	return strings.Join(lines, "\n")
}

// shellQuote quotes w for a POSIX shell (shlex.split gives it back).
func shellQuote(w string) string {
	if w != "" && !strings.ContainsAny(w, " \t\n\r\v\f'\"\\$`#;&|<>(){}*?[]~!") {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'"'"'`) + "'"
}

// journalList answers groups as fail2ban does: a list of lists.
func journalList(groups [][]string) []any {
	out := make([]any, len(groups))
	for i, g := range groups {
		l := make([]any, len(g))
		for j, w := range g {
			l[j] = w
		}
		out[i] = l
	}
	return out
}

// matchGroups splits addjournalmatch's words on "+" into groups, each
// term checked as journalctl takes it.
func matchGroups(words []string) ([][]string, error) {
	groups := [][]string{{}}
	for _, w := range words {
		if w == "+" {
			groups = append(groups, []string{})
			continue
		}
		if _, err := source.ParseJournalMatch(shellQuote(w)); err != nil || w == "" {
			return nil, valueError(fmt.Sprintf("Invalid journal match %s: want FIELD=VALUE, FIELD of A-Z, 0-9 and _", protocol.ReprString(w)))
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], w)
	}
	for _, g := range groups {
		if len(g) == 0 {
			return nil, valueError(fmt.Sprintf("Invalid journal match %s: \"+\" must separate two groups of FIELD=VALUE",
				protocol.ReprString(strings.Join(words, " "))))
		}
	}
	return groups, nil
}

// cmdAddJournalMatch is `set JAIL addjournalmatch FIELD=VALUE [+] ...`:
// "+" separates groups, which are ORed; a file jail ignores it, as
// fail2ban's.
func (s *Server) cmdAddJournalMatch(c *call) (result, error) {
	name := c.args[1]
	ls, err := s.logSettingsOf(name)
	if err != nil {
		return result{}, err
	}
	if !readsJournal(ls) {
		return ok([]any{})
	}
	add, err := matchGroups(c.args[3:])
	if err != nil {
		return result{}, err
	}
	err = s.changeLogs(name, func(ls *logjail.Settings) error {
		if !readsJournal(*ls) {
			return errUnchanged
		}
		ls.JournalMatch = journalMatchText(append(journalGroups(*ls), add...))
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return s.cmdGetJournalMatch(c)
}

// cmdDelJournalMatch is `set JAIL deljournalmatch FIELD=VALUE ...`: the
// first group of exactly these terms goes; none is fail2ban's ValueError.
func (s *Server) cmdDelJournalMatch(c *call) (result, error) {
	name, match := c.args[1], c.args[3:]
	err := s.changeLogs(name, func(ls *logjail.Settings) error {
		if !readsJournal(*ls) {
			return errUnchanged
		}
		groups := journalGroups(*ls)
		i := slices.IndexFunc(groups, func(g []string) bool { return slices.Equal(g, match) })
		if i < 0 {
			words := make([]any, len(match))
			for j, w := range match {
				words[j] = w
			}
			return valueError("Match " + protocol.Repr(words) + " not found")
		}
		groups = slices.Delete(groups, i, i+1)
		if len(groups) == 0 && ls.Filter != "" && len(journalGroups(filterOnly(*ls))) > 0 {
			return valueError(fmt.Sprintf("cannot remove the last journal match of a jail whose filter %s has its own: banserver would go back to the filter's",
				protocol.ReprString(ls.Filter)))
		}
		ls.JournalMatch = journalMatchText(groups)
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return s.cmdGetJournalMatch(c)
}

func (s *Server) cmdGetJournalMatch(c *call) (result, error) {
	ls, err := s.logSettingsOf(c.args[1])
	if err != nil {
		return result{}, err
	}
	if !readsJournal(ls) {
		return ok([]any{})
	}
	return ok(journalList(journalGroups(ls)))
}

// journalStatus is the Filter section's line fail2ban's systemd filter
// shows instead of the file list: its groups, " + " between them.
func journalStatus(ls logjail.Settings) protocol.Tuple {
	groups := journalGroups(ls)
	parts := make([]string, len(groups))
	for i, g := range groups {
		parts[i] = strings.Join(g, " ")
	}
	return protocol.Tuple{"Journal matches", []any{strings.Join(parts, " + ")}}
}
