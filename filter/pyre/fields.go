package pyre

import (
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/banserver/banserver/protocol"
)

// complexName is one alt_ or tuple_ group and the field it feeds, as
// fail2ban's COMPLNAME_CRE splits it: alt_user_1 feeds user.
type complexName struct{ group, field string }

// complexNames finds the alt_ and tuple_ groups among the named groups,
// sorted as fail2ban sorts them.
func complexNames(names []string) (alt, tuple []complexName) {
	for _, k := range names {
		if len([]rune(k)) <= len("alt_") {
			continue
		}
		var rest string
		isAlt := false
		switch {
		case strings.HasPrefix(k, "alt_"):
			rest, isAlt = k[len("alt_"):], true
		case strings.HasPrefix(k, "tuple_"):
			rest = k[len("tuple_"):]
		default:
			continue
		}
		c := complexName{group: k, field: tagOption(trimNumberSuffix(rest))}
		if isAlt {
			alt = append(alt, c)
		} else {
			tuple = append(tuple, c)
		}
	}
	less := func(s []complexName) func(i, j int) bool {
		return func(i, j int) bool {
			if s[i].group != s[j].group {
				return s[i].group < s[j].group
			}
			return s[i].field < s[j].field
		}
	}
	sort.Slice(alt, less(alt))
	sort.Slice(tuple, less(tuple))
	return alt, tuple
}

// trimNumberSuffix drops the shortest-prefix "_<digits>" tail, as the
// lazy (.*?)(?:_\d+)?$ of COMPLNAME_CRE does: user_1 -> user,
// user_1_x -> user_1_x, user1 -> user1.
func trimNumberSuffix(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] != '_' || i+1 == len(s) {
			continue
		}
		digits := true
		for _, c := range s[i+1:] {
			if !digitU.has(c) {
				digits = false
				break
			}
		}
		if digits {
			return s[:i]
		}
	}
	return s
}

// pyValue is a group value as fail2ban holds it: None, a str, or (for
// tuple_ groups) a tuple.
type pyValue struct {
	none  bool
	s     string
	tuple []pyValue
}

func (v pyValue) truthy() bool {
	switch {
	case v.none:
		return false
	case v.tuple != nil:
		return true
	}
	return v.s != ""
}

// repr is Python's str() of the value as an action would see it: the
// string itself, or the tuple's repr.
func (v pyValue) str() string {
	if v.tuple == nil {
		return v.s
	}
	return v.repr()
}

func (v pyValue) repr() string {
	switch {
	case v.none:
		return "None"
	case v.tuple == nil:
		return protocol.ReprString(v.s)
	}
	var b strings.Builder
	b.WriteByte('(')
	for i, e := range v.tuple {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.repr())
	}
	if len(v.tuple) == 1 {
		b.WriteByte(',')
	}
	b.WriteByte(')')
	return b.String()
}

// groups is fail2ban's Regex.getGroups: groupdict(), then the alt_ values
// merged into empty fields and the tuple_ values combined.
func (m *Match) groups() map[string]pyValue {
	r := m.re
	fail := make(map[string]pyValue, len(r.nameOrder)+len(r.alt)+len(r.tuple))
	for _, n := range r.nameOrder {
		if s, ok := m.Group(n); ok {
			fail[n] = pyValue{s: s}
		} else {
			fail[n] = pyValue{none: true}
		}
	}
	get := func(k string) pyValue {
		if v, ok := fail[k]; ok {
			return v
		}
		return pyValue{none: true}
	}
	for _, c := range r.alt {
		if v := get(c.group); v.truthy() && !get(c.field).truthy() {
			fail[c.field] = v
		}
	}
	for _, c := range r.tuple {
		v, t := get(c.group), get(c.field)
		if t.tuple != nil {
			t = pyValue{tuple: append(append([]pyValue(nil), t.tuple...), v)}
		} else {
			t = pyValue{tuple: []pyValue{t, v}}
		}
		fail[c.field] = t
	}
	return fail
}

// Fields is what fail2ban puts in the ticket from this match: the named
// groups with alt_ and tuple_ groups merged (getGroups), without the
// groups that did not take part (a FailTicket drops None). Empty
// captures stay, as in fail2ban. A tuple field holds the tuple's Python
// repr, e.g. ('192.0.2.1', 'left'), which is how fail2ban prints it.
func (m *Match) Fields() map[string]string {
	if m.simpleFields() {
		out := make(map[string]string, len(m.re.nameOrder))
		for i, n := range m.re.nameOrder {
			if s, ok := m.GroupN(m.re.nameNums[i]); ok {
				out[n] = s
			}
		}
		return out
	}
	g := m.groups()
	out := make(map[string]string, len(g))
	for k, v := range g {
		if !v.none {
			out[k] = v.str()
		}
	}
	return out
}

// MergeFields is fail2ban's merge of a prefregex's fields (pre, with
// "content" already taken out) and this failregex match: a copy of pre
// updated with this match's groups, where a group that did not take part
// removes the prefregex's value of the same name.
func (m *Match) MergeFields(pre map[string]string) map[string]string {
	out := make(map[string]string, len(pre)+len(m.re.nameOrder))
	for k, v := range pre {
		out[k] = v
	}
	if m.simpleFields() {
		for i, n := range m.re.nameOrder {
			if s, ok := m.GroupN(m.re.nameNums[i]); ok {
				out[n] = s
			} else {
				delete(out, n)
			}
		}
		return out
	}
	for k, v := range m.groups() {
		if v.none {
			delete(out, k)
		} else {
			out[k] = v.str()
		}
	}
	return out
}

// simpleFields reports whether the fields are the named groups as they
// are: no alt_ or tuple_ group to merge (getGroups without its loops).
func (m *Match) simpleFields() bool { return len(m.re.alt) == 0 && len(m.re.tuple) == 0 }

// SkippedLines are the lines <SKIPLINES> groups took in a multi-line
// match (Regex.getSkippedLines), which fail2ban gives back to the buffer.
func (m *Match) SkippedLines() []string {
	var all strings.Builder
	for n := 0; ; n++ {
		g, ok := m.re.names["skiplines"+itoa(n)]
		if !ok {
			break
		}
		if s, ok := m.GroupN(g); ok {
			all.WriteString(s)
		}
	}
	return pySplitLines(all.String())
}

// pySplitLines is str.splitlines(): it splits on \n, \r, \r\n, \v, \f,
// \x1c-\x1e, \x85, U+2028 and U+2029, and keeps no empty last line.
func pySplitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); {
		c, w := utf8.DecodeRuneInString(s[i:])
		switch c {
		case '\n', '\r', '\v', '\f', 0x1c, 0x1d, 0x1e, 0x85, 0x2028, 0x2029:
			out = append(out, s[start:i])
			if c == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				w = 2
			}
			start = i + w
		}
		i += w
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}
