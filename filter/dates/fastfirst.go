package dates

// The first paths of the two fast shapes written out (see firstPath):
// each part takes the choice a backtracking engine keeps, given what
// follows it, for the usual dates. Where the text is unusual, or a
// non-ASCII character is in the way, they give up (ok false) and the
// generic matcher decides; they never give a match the engine would not.
// FuzzFastSearch and TestFastSearchSame compare them with regexp2.

// isDigitR is [0-9].
func isDigitR(c rune) bool { return c >= '0' && c <= '9' }

// year reports whether in[p:p+4] is a year of %ExY (ASCII).
func (m *fastMatcher) year(in []rune, p int) bool {
	if p+4 > len(in) || !isDigitR(in[p+3]) {
		return false
	}
	for _, y := range m.years {
		if in[p] == rune(y[0]) && in[p+1] == rune(y[1]) && in[p+2] == rune(y[2]) {
			return true
		}
	}
	return false
}

// at is in[p], or -1 past the end.
func at(in []rune, p int) rune {
	if p < len(in) {
		return in[p]
	}
	return -1
}

// twoDigit is the length of the %H, %M or %S group at p followed by sep,
// or when sep < 0 by no digit (after %S nothing the shapes take starts
// with a digit, and a digit after a digit is no word boundary): [0-hi]?\d
// (then, for %H and %S, alt followed by a digit in [0-altHi]); 0 when
// none.
func twoDigit(in []rune, p int, hi, alt, altHi rune, sep rune) int {
	c0, c1 := at(in, p), at(in, p+1)
	follows := func(q int) bool {
		if sep < 0 {
			return !isDigitR(at(in, q))
		}
		return at(in, q) == sep
	}
	if c0 >= '0' && c0 <= hi && isDigitR(c1) {
		if follows(p + 2) {
			return 2
		}
		// [0-hi]\d not followed as it must be: a single digit leaves a
		// digit, and alt > hi.
		return 0
	}
	if !isDigitR(c0) {
		return 0
	}
	if follows(p + 1) {
		return 1
	}
	if c0 == alt && c1 >= '0' && c1 <= altHi && follows(p+2) {
		return 2
	}
	return 0
}

// dayLen is the length of the %d group at p when then comes a character
// of next (T or space): [1-2]\d|[0 ]?[1-9]|3[0-1]; 0 when none.
func dayLen(in []rune, p int, next func(rune) bool) int {
	c0, c1 := at(in, p), at(in, p+1)
	switch {
	case c0 == '1' || c0 == '2':
		if isDigitR(c1) {
			if next(at(in, p+2)) {
				return 2
			}
			return 0
		}
		if next(c1) {
			return 1
		}
	case c0 == '0' || c0 == ' ':
		if c1 >= '1' && c1 <= '9' && next(at(in, p+2)) {
			return 2
		}
	case c0 == '3':
		if next(c1) {
			return 1
		}
		if (c1 == '0' || c1 == '1') && next(at(in, p+2)) {
			return 2
		}
	case c0 >= '4' && c0 <= '9':
		if next(c1) {
			return 1
		}
	}
	return 0
}

// asciiUpTo reports whether in[p:q] (clamped) is ASCII.
func asciiUpTo(in []rune, p, q int) bool {
	if q > len(in) {
		q = len(in)
	}
	for ; p < q; p++ {
		if in[p] >= 0x80 {
			return false
		}
	}
	return true
}

// fraction reads (?:[seps](?P<f>[0-9]{1,6}))? at p (group g): the
// longest run, what follows being optional.
func fraction(st *fastState, p int, dot, comma bool, g int) int {
	in := st.in
	c := at(in, p)
	if (c == '.' && dot || c == ',' && comma) && isDigitR(at(in, p+1)) {
		n := 1
		for n < 6 && isDigitR(at(in, p+1+n)) {
			n++
		}
		st.g[g] = span{p + 1, p + 1 + n, true}
		return p + 1 + n
	}
	st.g[g] = span{}
	return p
}

// isoFirst is firstPath for the ISO 8601 shape (group 1 at p).
func (m *fastMatcher) isoFirst(st *fastState, p int) (int, bool) {
	in := st.in
	if !st.ascii && !asciiUpTo(in, p, p+40) {
		return 0, false
	}
	// %ExY
	if !m.year(in, p) {
		return 0, false
	}
	st.g[2] = span{p, p + 4, true}
	p += 4
	// (?P<_sep>[-/.])
	sep := at(in, p)
	if sep != '-' && sep != '/' && sep != '.' {
		return 0, false
	}
	st.g[3] = span{p, p + 1, true}
	p++
	// %m (0?[1-9]|1[0-2]), then the separator again
	var n int
	switch c0, c1 := at(in, p), at(in, p+1); {
	case c0 == '0':
		if c1 >= '1' && c1 <= '9' && at(in, p+2) == sep {
			n = 2
		}
	case c0 >= '1' && c0 <= '9' && c1 == sep:
		n = 1
	case c0 == '1' && c1 >= '0' && c1 <= '2' && at(in, p+2) == sep:
		n = 2
	}
	if n == 0 {
		return 0, false
	}
	st.g[4] = span{p, p + n, true}
	p += n + 1
	// %d, then T or a space
	n = dayLen(in, p, func(c rune) bool { return c == 'T' || c == ' ' })
	if n == 0 {
		return 0, false
	}
	st.g[5] = span{p, p + n, true}
	p += n
	// (?:T|  ?), then a digit
	switch {
	case at(in, p) == 'T':
		p++
	case at(in, p+1) == ' ':
		p += 2
	default:
		p++
	}
	// %H ([0-1]?\d|2[0-3]), :, %M ([0-5]?\d), :, %S ([0-5]?\d|6[0-1])
	if n = twoDigit(in, p, '1', '2', '3', ':'); n == 0 {
		return 0, false
	}
	st.g[6] = span{p, p + n, true}
	p += n + 1
	if n = twoDigit(in, p, '5', -1, 0, ':'); n == 0 {
		return 0, false
	}
	st.g[7] = span{p, p + n, true}
	p += n + 1
	if n = twoDigit(in, p, '5', '6', '1', -1); n == 0 {
		return 0, false
	}
	st.g[8] = span{p, p + n, true}
	p += n
	// (?:[.,]%f)?
	p = fraction(st, p, true, true, 9)
	// (?:\s*%z)?, each choice followed by the boundary
	ws := 0
	for isSpaceASCII(at(in, p+ws)) {
		ws++
	}
	q := p + ws
	if !st.ascii && !asciiUpTo(in, q, q+7) {
		return 0, false
	}
	st.g[10] = span{}
	for _, end := range zoneEnds(in, q) {
		if end > 0 && endBoundary(in, end) == fastYes {
			st.g[10] = span{q, end, true}
			p = end
			break
		}
	}
	return p, endBoundary(in, p) == fastYes
}

// zoneEnds are the ends of the alternatives of %z at q, in order (0: it
// does not match): Z, UTC, GMT, [+-][01]\d:\d\d, [+-][01]\d\d\d, [+-][01]\d.
func zoneEnds(in []rune, q int) [6]int {
	var e [6]int
	switch c := at(in, q); c {
	case 'Z':
		e[0] = q + 1
	case 'U':
		if at(in, q+1) == 'T' && at(in, q+2) == 'C' {
			e[1] = q + 3
		}
	case 'G':
		if at(in, q+1) == 'M' && at(in, q+2) == 'T' {
			e[2] = q + 3
		}
	case '+', '-':
		if h := at(in, q+1); (h == '0' || h == '1') && isDigitR(at(in, q+2)) {
			if at(in, q+3) == ':' && isDigitR(at(in, q+4)) && isDigitR(at(in, q+5)) {
				e[3] = q + 6
			}
			if isDigitR(at(in, q+3)) && isDigitR(at(in, q+4)) {
				e[4] = q + 5
			}
			e[5] = q + 3
		}
	}
	return e
}

// nameIndex is the index in names of the name in[p:p+3] (any case),
// 0 for none (names[0] is no name).
func nameIndex(in []rune, p int, names []string) int {
	if p+3 > len(in) {
		return 0
	}
	a, b, c := in[p]|0x20, in[p+1]|0x20, in[p+2]|0x20
	for i, n := range names {
		if i > 0 && a == rune(n[0]) && b == rune(n[1]) && c == rune(n[2]) {
			return i
		}
	}
	return 0
}

// dayNames is weekdayAbbrs indexed from 1.
var dayNames = append([]string{""}, weekdayAbbrs...)

// syslogFirst is firstPath for the syslog shape (group 1 at p).
func (m *fastMatcher) syslogFirst(st *fastState, p int) (int, bool) {
	in := st.in
	if !st.ascii && !asciiUpTo(in, p, p+40) {
		return 0, false
	}
	// (?:%a )?%b then a space
	st.g[2] = span{}
	if nameIndex(in, p, dayNames) > 0 && at(in, p+3) == ' ' && nameIndex(in, p+4, monthAbbrs) > 0 {
		st.g[2] = span{p, p + 3, true}
		p += 4
	}
	if nameIndex(in, p, monthAbbrs) == 0 || at(in, p+3) != ' ' {
		return 0, false
	}
	st.g[3] = span{p, p + 3, true}
	p += 4
	// %d, then a space
	n := dayLen(in, p, func(c rune) bool { return c == ' ' })
	if n == 0 {
		return 0, false
	}
	st.g[4] = span{p, p + n, true}
	p += n
	//   ?, then a digit
	if at(in, p+1) == ' ' {
		p += 2
	} else {
		p++
	}
	// %k ( ?[0-2]?\d: its space is the one before), :, %M, :, %S
	if n = twoDigit(in, p, '2', -1, 0, ':'); n == 0 {
		return 0, false
	}
	st.g[5] = span{p, p + n, true}
	p += n + 1
	if n = twoDigit(in, p, '5', -1, 0, ':'); n == 0 {
		return 0, false
	}
	st.g[6] = span{p, p + n, true}
	p += n + 1
	if n = twoDigit(in, p, '5', '6', '1', -1); n == 0 {
		return 0, false
	}
	st.g[7] = span{p, p + n, true}
	p += n
	// (?:\.%f)?
	p = fraction(st, p, true, false, 8)
	// (?: %ExY)?, followed by the boundary
	st.g[9] = span{}
	if at(in, p) == ' ' && m.year(in, p+1) && endBoundary(in, p+5) == fastYes {
		st.g[9] = span{p + 1, p + 5, true}
		p += 5
	}
	return p, endBoundary(in, p) == fastYes
}
