package dates

import "strings"

// The expressions the fast matchers are written for, as fail2ban shapes
// them (see wrap.go), and their parts. The year is %ExY, which depends on
// the year the package started in (exactYearRE).

// The prefixes fail2ban puts before a default template: ^ in a pattern
// such as ^{DATE}, the line start of {^LN-BEG}, the word boundary of the
// defaults.
var fastPrefixes = []struct {
	re string
	p  fastPrefix
}{
	{`^`, prefixCaret},
	{lineStartRE, prefixLineStart},
	{wordBeginRE, prefixWord},
}

// fastShape is an expression (with a %s for its prefix, and %Y for the
// year group) and its parts.
type fastShape struct {
	re     string
	groups int
	parts  func(years []string) []fastPart
	shape  int // its first path written out: shapeISO...
}

var fastShapes = []fastShape{
	{
		// %ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?
		re:     `%s(%Y(?P<_sep>[-/.])(?P<m>0?[1-9]|1[0-2])(?P=_sep)(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])(?:T|  ?)(?P<H>[0-1]?\d|2[0-3]):(?P<M>[0-5]?\d):(?P<S>[0-5]?\d|6[0-1])(?:[.,](?P<f>[0-9]{1,6}))?(?:\s*(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?))?)(?=\b|\W|$)`,
		groups: 10,
		shape:  shapeISO,
		parts: func(years []string) []fastPart {
			return []fastPart{
				{alts: yearAlts(years, 0), group: 2},
				{alts: alts(seq(chars("-/."))), group: 3},
				{alts: alts(seq(chars("0"), chars("1-9")), seq(chars("1-9")), seq(chars("1"), chars("0-2"))), group: 4},
				{backref: 3},
				dayPart(5),
				{alts: alts(seq(chars("T")), seq(chars(" "), chars(" ")), seq(chars(" ")))},
				{alts: alts(seq(chars("0-1"), digit), seq(digit), seq(chars("2"), chars("0-3"))), group: 6},
				lit(':'),
				minutePart(7),
				lit(':'),
				secondPart(8),
				fractionPart(".,", 9),
				{alts: zoneAlts(), spaces: true, optional: true, group: 10},
			}
		},
	},
	{
		// (?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?
		re:     `(?iu)%s((?:(?P<a>mon|tue|wed|thu|fri|sat|sun) )?(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec) (?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])  ?(?P<H>[0-2]?\d):(?P<M>[0-5]?\d):(?P<S>[0-5]?\d|6[0-1])(?:\.(?P<f>[0-9]{1,6}))?(?: %Y)?)(?=\b|\W|$)`,
		groups: 9,
		shape:  shapeSyslog,
		parts: func(years []string) []fastPart {
			days := make([]fastAlt, 0, 7)
			for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
				a := foldedWord(d + " ")
				a.gEnd = 1
				days = append(days, a)
			}
			var months []fastAlt
			for _, m := range []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"} {
				months = append(months, foldedWord(m))
			}
			return []fastPart{
				{alts: days, optional: true, group: 2},
				{alts: months, group: 3},
				lit(' '),
				dayPart(4),
				{alts: alts(seq(chars(" "), chars(" ")), seq(chars(" ")))},
				{alts: alts(seq(chars("0-2"), digit), seq(digit)), group: 5},
				lit(':'),
				minutePart(6),
				lit(':'),
				secondPart(7),
				fractionPart(".", 8),
				{alts: yearAlts(years, 1), optional: true, group: 9},
			}
		},
	},
}

func seq(c ...fastClass) fastAlt  { return fastAlt{cls: c} }
func alts(a ...fastAlt) []fastAlt { return a }
func lit(c byte) fastPart         { return fastPart{alts: alts(seq(chars(string(c))))} }
func minutePart(group int) fastPart { // [0-5]?\d
	return fastPart{alts: alts(seq(chars("0-5"), digit), seq(digit)), group: group}
}

// dayPart is %d: [1-2]\d|[0 ]?[1-9]|3[0-1].
func dayPart(group int) fastPart {
	return fastPart{alts: alts(seq(chars("1-2"), digit), seq(chars("0 "), chars("1-9")), seq(chars("1-9")), seq(chars("3"), chars("0-1"))), group: group}
}

// secondPart is %S: [0-5]?\d|6[0-1].
func secondPart(group int) fastPart {
	return fastPart{alts: alts(seq(chars("0-5"), digit), seq(digit), seq(chars("6"), chars("0-1"))), group: group}
}

// fractionPart is (?:[seps](?P<f>[0-9]{1,6}))?.
func fractionPart(seps string, group int) fastPart {
	return fastPart{run: 6, lead: chars(seps), each: chars("0-9"), optional: true, group: group}
}

// zoneAlts is %z: Z|UTC|GMT|[+-][01]\d(?::?\d{2})?.
func zoneAlts() []fastAlt {
	sign, h := chars("+-"), chars("0-1")
	return alts(
		seq(chars("Z")),
		seq(chars("U"), chars("T"), chars("C")),
		seq(chars("G"), chars("M"), chars("T")),
		seq(sign, h, digit, chars(":"), digit, digit),
		seq(sign, h, digit, digit, digit),
		seq(sign, h, digit),
	)
}

// yearAlts is %ExY after skip characters (a space): one alternative per
// three-digit prefix, then \d.
func yearAlts(years []string, skip int) []fastAlt {
	var out []fastAlt
	for _, y := range years {
		a := fastAlt{gStart: skip}
		for k := 0; k < skip; k++ {
			a.cls = append(a.cls, chars(" "))
		}
		for k := 0; k < len(y); k++ {
			a.cls = append(a.cls, chars(y[k:k+1]))
		}
		a.cls = append(a.cls, digit)
		out = append(out, a)
	}
	return out
}

// foldedWord is an ASCII word under (?iu).
func foldedWord(w string) fastAlt {
	var a fastAlt
	for k := 0; k < len(w); k++ {
		if w[k] == ' ' {
			a.cls = append(a.cls, chars(" "))
			continue
		}
		a.cls = append(a.cls, folded(w[k]))
	}
	return a
}

// fastMatchers maps the expressions the matchers are written for to
// their matchers, for the year expression in effect.
var fastMatchers map[string]*fastMatcher

// initFast builds fastMatchers; years are the year prefixes and yearRE
// the group %ExY expands to.
func initFast(years []string, yearRE string) {
	fastMatchers = map[string]*fastMatcher{}
	for _, sh := range fastShapes {
		for _, pre := range fastPrefixes {
			re := strings.Replace(strings.Replace(sh.re, "%s", pre.re, 1), "%Y", yearRE, 1)
			m := &fastMatcher{prefix: pre.p, parts: sh.parts(years), groups: sh.groups, years: years, shape: sh.shape}
			if !m.index() {
				continue // the regexp2 expression alone
			}
			m.start = firstClass(m.parts)
			fastMatchers[re] = m
		}
	}
}

// index fills the parts' starts; false when a part has too many
// alternatives for them (%ExY, in a century or so).
func (m *fastMatcher) index() bool {
	for i := range m.parts {
		pt := &m.parts[i]
		if len(pt.alts) > 16 {
			return false
		}
		for a, alt := range pt.alts {
			for c := rune(0); c < 0x80; c++ {
				if alt.cls[0].test(c) == fastYes {
					pt.starts[c] |= 1 << a
				}
			}
		}
	}
	return true
}

// firstClass is what the first character of a match of parts can be.
func firstClass(parts []fastPart) fastClass {
	var c fastClass
	for _, pt := range parts {
		if pt.run > 0 {
			c.bits[0] |= pt.lead.bits[0]
			c.bits[1] |= pt.lead.bits[1]
			c.uni |= pt.lead.uni
		}
		if pt.spaces || pt.backref > 0 {
			// Anything may come first: white space, a group's text.
			return fastClass{bits: [2]uint64{^uint64(0), ^uint64(0)}, uni: uniAny}
		}
		for _, a := range pt.alts {
			f := a.cls[0]
			c.bits[0] |= f.bits[0]
			c.bits[1] |= f.bits[1]
			c.uni |= f.uni
		}
		if !pt.optional {
			break
		}
	}
	return c
}
