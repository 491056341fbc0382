package pyre

// Match is one successful Search or Match.
type Match struct {
	s   string
	loc []int // byte offsets, two per group (0: the whole match), -1: none
	re  *Regex
}

// A Match and the offsets of a pattern with few groups are allocated
// together.
type (
	matchBuf8 struct {
		m   Match
		loc [8]int
	}
	matchBuf16 struct {
		m   Match
		loc [16]int
	}
)

// newMatch returns a Match with n offsets.
func newMatch(n int) *Match {
	switch {
	case n <= 8:
		b := new(matchBuf8)
		b.m.loc = b.loc[:n:n]
		return &b.m
	case n <= 16:
		b := new(matchBuf16)
		b.m.loc = b.loc[:n:n]
		return &b.m
	}
	return &Match{loc: make([]int, n)}
}

// Span is the match's start and end as byte offsets in the subject.
func (m *Match) Span() (start, end int) { return m.loc[0], m.loc[1] }

// Subject is the string that was searched.
func (m *Match) Subject() string { return m.s }

// Group returns a named group's text; ok is false when the pattern has
// no such group or it did not take part in the match (Python's None).
func (m *Match) Group(name string) (string, bool) {
	g, ok := m.re.names[name]
	if !ok {
		return "", false
	}
	return m.GroupN(g)
}

// GroupN is Group by number (0 is the whole match).
func (m *Match) GroupN(g int) (string, bool) {
	if g < 0 || 2*g+1 >= len(m.loc) || m.loc[2*g] < 0 {
		return "", false
	}
	return m.s[m.loc[2*g]:m.loc[2*g+1]], true
}

// GroupSpan is the byte span of group g, or -1, -1 when it did not take
// part (Python's Match.span).
func (m *Match) GroupSpan(g int) (start, end int) {
	if g < 0 || 2*g+1 >= len(m.loc) {
		return -1, -1
	}
	return m.loc[2*g], m.loc[2*g+1]
}
