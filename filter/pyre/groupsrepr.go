package pyre

import (
	"strings"

	"github.com/banserver/banserver/protocol"
)

// GroupsRepr is the Python repr of fail2ban's Regex.getGroups() for this
// match, the dict fail2ban-regex -v prints under "Prefregex": the named
// groups in the order they are defined (None for those that took no
// part), then the fields the alt_ and tuple_ groups add, as a dict keeps
// its insertion order.
func (m *Match) GroupsRepr() string {
	g := m.groups()
	keys := append([]string(nil), m.re.nameOrder...)
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		seen[k] = true
	}
	for _, cs := range [][]complexName{m.re.alt, m.re.tuple} {
		for _, c := range cs {
			if _, ok := g[c.field]; ok && !seen[c.field] {
				seen[c.field] = true
				keys = append(keys, c.field)
			}
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(protocol.ReprString(k))
		b.WriteString(": ")
		b.WriteString(g[k].repr())
	}
	b.WriteByte('}')
	return b.String()
}
