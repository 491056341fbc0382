package dates

import (
	"math/bits"
	"unicode"
)

// Hand-written matchers for the date templates real logs hit most: ISO
// 8601 (2021-06-11T17:00:03, fail2ban's first default) and syslog's
// MON Day HH:MM:SS (its second), each anchored at the start of the line
// (^{DATE}), after up to two non-word characters ({^LN-BEG}, the
// defaults' line-start copies) or at a word boundary (the defaults).
//
// A template gets a matcher when its regular expression is, character for
// character, one the matcher was written for (fastShapes), so that the
// matcher and regexp2 run the same expression. The matcher searches as a
// backtracking engine does: at each start, the alternatives of each part
// in the engine's order of preference, the first complete match wins, so
// it finds the same span and the same groups. It reads ASCII only: where
// the answer depends on what a non-ASCII character is (\d, \s, \w, a
// letter under (?iu)), it gives up and the template's regexp2 expression
// decides.
//
// At each start it tries, fastest first: the shape's first path written
// out (fastfirst.go), which takes the usual dates; the same path found by
// walking the parts (firstPath); all paths, backtracking (parts1). Each
// gives up to the next when unsure, and the tests hold each of them, and
// the whole, to regexp2 on arbitrary lines (TestFastSearchSame,
// FuzzFastSearch) and a Detector using them to one without them
// (TestFastFindSame, FuzzFastFind).

// fastResult is the outcome of a fast search or of one of its steps.
type fastResult uint8

const (
	fastNo     fastResult = iota // no match (0: fastClass.test relies on it)
	fastYes                      // a match (1)
	fastUnsure                   // a non-ASCII character decides: ask regexp2
)

// fastClass is the set of characters one position of a fast pattern
// takes: ASCII characters in a bitmap, and what non-ASCII characters do.
type fastClass struct {
	bits [2]uint64
	uni  uint8 // what non-ASCII characters do: 0 (none matches), uniAny, uniFold
}

// Non-ASCII characters in a fastClass.
const (
	uniAny  = 1 << iota // some may match (\d takes Unicode digits)
	uniFold             // those that fold to an ASCII letter may match (?iu)
)

// test matches one character.
func (c *fastClass) test(r rune) fastResult {
	if r < 0x80 {
		// fastYes is 1, fastNo 0.
		return fastResult(c.bits[r>>6] >> (r & 63) & 1)
	}
	return c.testUni(r)
}

// testUni is test for non-ASCII characters, kept out of line so that
// test is inlined.
//
//go:noinline
func (c *fastClass) testUni(r rune) fastResult {
	if c.uni&uniAny != 0 || c.uni&uniFold != 0 && foldsToASCII(r) {
		return fastUnsure
	}
	return fastNo
}

// foldsToASCII reports whether a case-insensitive match could equate the
// non-ASCII r with an ASCII letter (K, ſ, İ, ı and the like).
func foldsToASCII(r rune) bool {
	if unicode.ToLower(r) < 0x80 || unicode.ToUpper(r) < 0x80 || r == 0x130 || r == 0x131 {
		return true
	}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		if f < 0x80 {
			return true
		}
	}
	return false
}

// chars is the class of the given ASCII characters; ranges are written
// a-b (a - alone, first or last, is itself).
func chars(s string) fastClass {
	var c fastClass
	for i := 0; i < len(s); i++ {
		lo, hi := s[i], s[i]
		if i+2 < len(s) && s[i+1] == '-' {
			hi = s[i+2]
			i += 2
		}
		for b := lo; b <= hi; b++ {
			c.bits[b>>6] |= 1 << (b & 63)
		}
	}
	return c
}

// digit is \d.
var digit = fastClass{bits: chars("0-9").bits, uni: uniAny}

// folded is an ASCII letter under (?iu): both cases.
func folded(b byte) fastClass {
	c := chars(string(rune(unicode.ToLower(rune(b)))) + string(rune(unicode.ToUpper(rune(b)))))
	c.uni = uniFold
	return c
}

// fastAlt is one alternative of a part: a fixed sequence of classes. The
// part's group, when it has one, is the alternative's text less gStart
// characters at its start and gEnd at its end.
type fastAlt struct {
	cls          []fastClass
	gStart, gEnd int
}

// fastPart is one part of a template's expression, tried as a
// backtracking engine tries it.
type fastPart struct {
	alts     []fastAlt // in order of preference
	optional bool      // an empty alternative after the others
	spaces   bool      // \s* (greedy) before the alternatives
	backref  int       // > 0: the text of this group (alts unused)
	group    int       // the group this part sets, 0 none
	// run > 0: the part is lead then between 1 and run characters of
	// each (greedy), such as [.,][0-9]{1,6}; the group is the run (alts
	// unused).
	run        int
	lead, each fastClass
	// starts has bit a set for the ASCII characters alternative a may
	// start with (at most 16 alternatives).
	starts [128]uint16
}

// fastPrefix is how a template's expression starts.
type fastPrefix uint8

const (
	prefixCaret     fastPrefix = iota // ^
	prefixLineStart                   // ^(?:\W{0,2})?, fail2ban's {^LN-BEG}
	prefixWord                        // (?=^|\b|\W), a word boundary
)

// fastMatcher matches one template's expression: prefix, then group 1
// around the parts, then (?=\b|\W|$).
type fastMatcher struct {
	prefix fastPrefix
	parts  []fastPart
	groups int       // the expression's capturing groups
	start  fastClass // what the first character of group 1 can be
	years  []string  // the three-digit prefixes of %ExY
	shape  int       // shapeISO, shapeSyslog: which first path is written out
}

// The shapes whose first path is written out (fastfirst.go).
const (
	shapeISO = iota + 1
	shapeSyslog
)

// first is the shape's own first path (ok false when it has none).
func (m *fastMatcher) first(st *fastState, p int) (int, bool) {
	switch m.shape {
	case shapeISO:
		return m.isoFirst(st, p)
	case shapeSyslog:
		return m.syslogFirst(st, p)
	}
	return m.firstPath(st, p)
}

// fastState is one search's input and groups.
type fastState struct {
	in    []rune // the line up to the search's end
	g     []span
	mode  int  // pathsFirst...
	ascii bool // in is all ASCII
}

// search is the template's search of r[pos:endpos] (see Detector.search),
// writing the groups of a match into g (len m.groups+1). It returns
// fastUnsure when a non-ASCII character decides.
func (m *fastMatcher) search(r []rune, pos, endpos int, g []span, ascii bool) fastResult {
	return m.searchPaths(r, pos, endpos, g, ascii, pathsFirst)
}

// How searchPaths goes about it (the tests compare each way with regexp2).
const (
	pathsFirst   = iota // the shape's own first path, then all paths
	pathsGeneric        // firstPath, then all paths
	pathsAll            // all paths at once
)

// searchPaths is search, the paths tried as mode says. ascii tells that
// r is all ASCII.
func (m *fastMatcher) searchPaths(r []rune, pos, endpos int, g []span, ascii bool, mode int) fastResult {
	st := fastState{in: r[:endpos], g: g, mode: mode, ascii: ascii}
	switch m.prefix {
	case prefixCaret:
		if pos > 0 {
			return fastNo
		}
		return m.body(&st, 0, 0)
	case prefixLineStart:
		if pos > 0 {
			return fastNo
		}
		k := 0
		for k < 2 && k < len(st.in) {
			w := isWord(st.in[k])
			if w == fastUnsure {
				return fastUnsure
			}
			if w == fastYes {
				break
			}
			k++
		}
		// \W{0,2} is greedy; the empty group then adds nothing new.
		for ; k >= 0; k-- {
			if res := m.body(&st, 0, k); res != fastNo {
				return res
			}
		}
		return fastNo
	}
	for s := pos; s < len(st.in); s++ {
		c := st.in[s]
		if m.start.test(c) == fastNo {
			continue
		}
		// (?=^|\b|\W): the line's start, a non-word character, or a
		// boundary between a non-word character and a word character.
		b := fastYes
		if s > 0 {
			cur, prev := isWord(c), isWord(st.in[s-1])
			switch {
			case cur == fastNo:
			case cur == fastUnsure || prev == fastUnsure:
				b = fastUnsure
			case prev == fastYes:
				b = fastNo
			}
		}
		if b == fastNo {
			continue
		}
		res := m.body(&st, s, s)
		if res == fastYes && b == fastUnsure {
			res = fastUnsure
		}
		if res != fastNo {
			return res
		}
	}
	return fastNo
}

// isWord is Python's \w for ASCII characters.
func isWord(r rune) fastResult {
	switch {
	case r >= 0x80:
		return fastUnsure
	case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '_':
		return fastYes
	}
	return fastNo
}

// body matches group 1 at p (the whole match starting at start) and the
// word boundary after it.
func (m *fastMatcher) body(st *fastState, start, p int) fastResult {
	end, ok := 0, false
	switch {
	case st.mode == pathsFirst:
		end, ok = m.first(st, p)
	case st.mode != pathsAll:
		end, ok = m.firstPath(st, p)
	}
	res := fastYes
	if !ok {
		end, res = m.parts1(st, 0, p)
	}
	if res == fastYes {
		st.g[0] = span{start, end, true}
		st.g[1] = span{p, end, true}
	}
	return res
}

// firstPath follows the path a backtracking engine tries first, less
// the choices it would see fail at once: at each part the first choice
// that matches there (the most white space, the first alternative, the
// longest run, then the empty alternative of an optional part) and after
// which the next part can start. When that path reaches the end with the
// boundary after it, it is the engine's match: every path the engine
// tries before it fails. ok is false when it does not, or when a non-ASCII
// character is in the way: parts1 then searches all paths.
func (m *fastMatcher) firstPath(st *fastState, p int) (end int, ok bool) {
	for i := range m.parts {
		if p, ok = m.firstChoice(st, i, p); !ok {
			return 0, false
		}
	}
	return p, endBoundary(st.in, p) == fastYes
}

// firstChoice takes the first choice of parts[i] at p after which
// parts[i+1] can start, sets the part's group and returns its end; ok is
// false when there is none, or when a non-ASCII character is in the way.
func (m *fastMatcher) firstChoice(st *fastState, i, p int) (int, bool) {
	pt := &m.parts[i]
	in := st.in
	switch {
	case pt.backref > 0:
		ref := st.g[pt.backref]
		n := ref.end - ref.start
		if p+n > len(in) {
			return 0, false
		}
		for k := 0; k < n; k++ {
			if in[p+k] != in[ref.start+k] {
				return 0, false
			}
		}
		return p + n, true
	case pt.run > 0:
		if p < len(in) {
			if in[p] >= 0x80 {
				return 0, false
			}
			if pt.lead.test(in[p]) == fastYes {
				n := 0
				for n < pt.run && p+1+n < len(in) {
					c := in[p+1+n]
					if c >= 0x80 {
						return 0, false
					}
					if pt.each.test(c) != fastYes {
						break
					}
					n++
				}
				for ; n >= 1; n-- {
					if m.canStart(st, i+1, p+1+n) {
						if pt.group > 0 {
							st.g[pt.group] = span{p + 1, p + 1 + n, true}
						}
						return p + 1 + n, true
					}
				}
			}
		}
	default:
		ws := 0
		if pt.spaces {
			for p+ws < len(in) && in[p+ws] < 0x80 && isSpaceASCII(in[p+ws]) {
				ws++
			}
		}
		for w := ws; w >= 0; w-- {
			q := p + w
			if q >= len(in) {
				continue
			}
			if in[q] >= 0x80 {
				return 0, false
			}
			for may := pt.starts[in[q]]; may != 0; {
				a := bits.TrailingZeros16(may)
				may &^= 1 << a
				alt := &pt.alts[a]
				n := len(alt.cls)
				if q+n > len(in) {
					continue
				}
				k := 1
				for ; k < n; k++ {
					c := in[q+k]
					if c >= 0x80 {
						return 0, false
					}
					if alt.cls[k].test(c) != fastYes {
						break
					}
				}
				if k == n && m.canStart(st, i+1, q+n) {
					if pt.group > 0 {
						st.g[pt.group] = span{q + alt.gStart, q + n - alt.gEnd, true}
					}
					return q + n, true
				}
			}
		}
	}
	if !pt.optional {
		return 0, false
	}
	if pt.group > 0 {
		st.g[pt.group] = span{}
	}
	return p, true
}

// canStart reports whether parts[i] (the boundary after the last part)
// has a first choice at p. It may say true wrongly (a non-ASCII character,
// white space, an optional part: firstPath then goes on and finds out),
// never false wrongly: a choice it rules out fails at once.
func (m *fastMatcher) canStart(st *fastState, i, p int) bool {
	in := st.in
	if i == len(m.parts) {
		return endBoundary(in, p) != fastNo
	}
	pt := &m.parts[i]
	switch {
	case pt.optional || pt.spaces:
		return true
	case pt.backref > 0:
		ref := st.g[pt.backref]
		n := ref.end - ref.start
		if p+n > len(in) {
			return false
		}
		for k := 0; k < n; k++ {
			if in[p+k] != in[ref.start+k] {
				return false
			}
		}
		return true
	case p >= len(in):
		return false
	case pt.run > 0:
		return pt.lead.test(in[p]) != fastNo && p+1 < len(in) && pt.each.test(in[p+1]) != fastNo
	}
	c := in[p]
	if c >= 0x80 {
		return true
	}
	for may := pt.starts[c]; may != 0; {
		a := bits.TrailingZeros16(may)
		may &^= 1 << a
		alt := &pt.alts[a]
		if p+len(alt.cls) > len(in) {
			continue
		}
		k := 1
		for ; k < len(alt.cls) && alt.cls[k].test(in[p+k]) != fastNo; k++ {
		}
		if k == len(alt.cls) {
			return true
		}
	}
	return false
}

// parts1 matches parts[i:] at p, then (?=\b|\W|$), trying each part's
// alternatives in order and backtracking into earlier parts as regexp2
// would; it returns the end of group 1.
func (m *fastMatcher) parts1(st *fastState, i, p int) (int, fastResult) {
	if i == len(m.parts) {
		return p, endBoundary(st.in, p)
	}
	pt := &m.parts[i]
	if pt.backref > 0 {
		ref := st.g[pt.backref]
		n := ref.end - ref.start
		if p+n > len(st.in) {
			return 0, fastNo
		}
		for k := 0; k < n; k++ {
			if st.in[p+k] != st.in[ref.start+k] {
				return 0, fastNo
			}
		}
		return m.parts1(st, i+1, p+n)
	}
	if pt.run > 0 {
		if end, res := m.run(st, i, p); res != fastNo {
			return end, res
		}
	} else {
		ws := 0
		if pt.spaces {
			for p+ws < len(st.in) {
				c := st.in[p+ws]
				if c >= 0x80 {
					return 0, fastUnsure
				}
				if !isSpaceASCII(c) {
					break
				}
				ws++
			}
		}
		for ; ws >= 0; ws-- {
			if end, res := m.alts(st, i, p+ws); res != fastNo {
				return end, res
			}
		}
	}
	if pt.optional {
		if pt.group > 0 {
			st.g[pt.group] = span{}
		}
		return m.parts1(st, i+1, p)
	}
	return 0, fastNo
}

// alts tries the alternatives of parts[i] at p, each followed by the
// rest of the parts.
func (m *fastMatcher) alts(st *fastState, i, p int) (int, fastResult) {
	pt := &m.parts[i]
	in := st.in
	if p >= len(in) {
		return 0, fastNo // no alternative is empty
	}
	may := uint16(1)<<len(pt.alts) - 1
	if c := in[p]; c < 0x80 {
		may = pt.starts[c]
	}
	for a := range pt.alts {
		if may&(1<<a) == 0 {
			continue
		}
		alt := &pt.alts[a]
		n := len(alt.cls)
		if p+n > len(in) {
			continue // the line ends first
		}
		res := fastYes
	chars:
		for k := range alt.cls {
			switch alt.cls[k].test(in[p+k]) {
			case fastNo:
				res = fastNo
				break chars
			case fastUnsure:
				res = fastUnsure // a later character may still rule it out
			}
		}
		if res == fastUnsure {
			return 0, fastUnsure
		}
		if res == fastNo {
			continue
		}
		if pt.group > 0 {
			st.g[pt.group] = span{p + alt.gStart, p + n - alt.gEnd, true}
		}
		if end, res := m.parts1(st, i+1, p+n); res != fastNo {
			return end, res
		}
	}
	return 0, fastNo
}

// run tries parts[i], a run part, at p: the longest run first.
func (m *fastMatcher) run(st *fastState, i, p int) (int, fastResult) {
	pt := &m.parts[i]
	in := st.in
	if p >= len(in) {
		return 0, fastNo
	}
	switch pt.lead.test(in[p]) {
	case fastNo:
		return 0, fastNo
	case fastUnsure:
		return 0, fastUnsure
	}
	n := 0
	for n < pt.run && p+1+n < len(in) {
		res := pt.each.test(in[p+1+n])
		if res == fastUnsure {
			return 0, fastUnsure
		}
		if res == fastNo {
			break
		}
		n++
	}
	for ; n >= 1; n-- {
		if pt.group > 0 {
			st.g[pt.group] = span{p + 1, p + 1 + n, true}
		}
		if end, res := m.parts1(st, i+1, p+1+n); res != fastNo {
			return end, res
		}
	}
	return 0, fastNo
}

// endBoundary is (?=\b|\W|$) at p.
func endBoundary(in []rune, p int) fastResult {
	if p >= len(in) {
		return fastYes
	}
	switch isWord(in[p]) {
	case fastNo:
		return fastYes
	case fastUnsure:
		return fastUnsure
	}
	if p == 0 {
		return fastNo
	}
	switch isWord(in[p-1]) {
	case fastNo:
		return fastYes
	case fastUnsure:
		return fastUnsure
	}
	return fastNo
}

// isSpaceASCII is Python's \s for ASCII characters.
func isSpaceASCII(c rune) bool {
	return c == ' ' || c >= '\t' && c <= '\r' || c >= 0x1c && c <= 0x1f
}
