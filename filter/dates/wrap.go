package dates

import "strings"

// The way fail2ban shapes a template's regular expression before compiling
// it (DateTemplate.setRegex): global flags moved to the front, word or
// line-start boundaries added unless the expression is anchored or marked
// with ** at an end, a capturing group around the whole date when the
// expression has none, and flags telling whether it is anchored. These
// functions work on the Python regular expression text, as fail2ban does.

// Template flags.
const (
	flagLineBegin = 8
	flagLineEnd   = 4
	flagWordBegin = 2
	flagWordEnd   = 1
)

// Begin boundary modes.
type beginBound uint8

const (
	boundNone  beginBound = iota // no boundary on the left
	boundWord                    // a word boundary (or non-word character)
	boundStart                   // the start of the line, after up to 2 non-word characters
)

// The boundaries fail2ban adds.
const (
	wordBeginRE = `(?=^|\b|\W)`
	wordEndRE   = `(?=\b|\W|$)`
	lineStartRE = `^(?:\W{0,2})?`
)

// flagsGroupLen is the length of a group of inline flags "(?" word-chars
// ")" at the start of s, or 0.
func flagsGroupLen(s string) int {
	if !strings.HasPrefix(s, "(?") {
		return 0
	}
	for i, r := range s[2:] {
		if r == ')' {
			if i == 0 {
				return 0
			}
			return 2 + i + 1
		}
		if !pyIsWord(r) {
			return 0
		}
	}
	return 0
}

// globalFlags finds the first group of lower-case inline flags, such as
// (?iu), anywhere in re: fail2ban moves it to the front.
func globalFlags(re string) (start, end int, ok bool) {
	for i := 0; i+3 < len(re); i++ {
		if re[i] != '(' || re[i+1] != '?' {
			continue
		}
		j := i + 2
		for j < len(re) && re[j] >= 'a' && re[j] <= 'z' {
			j++
		}
		if j > i+2 && j < len(re) && re[j] == ')' {
			return i, j + 1, true
		}
	}
	return 0, 0, false
}

// startsAnchored: the expression needs no word boundary on the left,
// because it begins (after opening parentheses and inline flags) with ^,
// (^, (?:^ or the ** marker.
func startsAnchored(re string) bool {
	n := len(re) - len(strings.TrimLeft(re, "("))
	for k := n; k >= 0; k-- {
		for _, withFlags := range []bool{true, false} {
			rest := re[k:]
			if withFlags {
				l := flagsGroupLen(rest)
				if l == 0 {
					continue
				}
				rest = rest[l:]
			}
			if strings.HasPrefix(rest, "^") || strings.HasPrefix(strings.TrimLeft(rest, "("), "**") ||
				strings.HasPrefix(rest, "(^") || strings.HasPrefix(rest, "(?:^") {
				return true
			}
		}
	}
	return false
}

// notEscapedAt: the character before position p is no backslash.
func notEscapedAt(re string, p int) bool { return p == 0 || re[p-1] != '\\' }

// endsAnchored: the expression needs no word boundary on the right,
// because it ends with $, $), \b, \s or the ** marker (and closing
// parentheses), not escaped.
func endsAnchored(re string) bool {
	for _, suf := range []string{"$", "$)", `\b`, `\s`} {
		if strings.HasSuffix(re, suf) && notEscapedAt(re, len(re)-len(suf)) {
			return true
		}
	}
	t := strings.TrimRight(re, ")")
	return strings.HasSuffix(t, "**") && notEscapedAt(re, len(t)-2)
}

// hasCapture: the expression has a capturing group, an unescaped ( that
// opens no extension and is no condition of a conditional group.
func hasCapture(re string) bool {
	for i := 0; i < len(re); i++ {
		if re[i] != '(' || (i+1 < len(re) && re[i+1] == '?') {
			continue
		}
		if i >= 1 && re[i-1] == '\\' || i >= 2 && re[i-2:i] == "(?" {
			continue
		}
		return true
	}
	return false
}

// wrapCapture puts a capturing group around the expression, after its
// leading inline flags and ^ and before its trailing $.
func wrapCapture(re string) string {
	if strings.Contains(re, "\n") {
		return re // fail2ban's rewrite does not match then
	}
	p := flagsGroupLen(re)
	if strings.HasPrefix(re[p:], "^") {
		p++
	}
	p += flagsGroupLen(re[p:])
	body, tail := re[p:], ""
	if strings.HasSuffix(body, "$") {
		body, tail = body[:len(body)-1], "$"
	}
	return re[:p] + "(" + body + ")" + tail
}

// lineBegin: the expression is anchored at the start of the line.
func lineBegin(re string) bool {
	for _, withFlags := range []bool{true, false} {
		rest := re
		if withFlags {
			l := flagsGroupLen(rest)
			if l == 0 {
				continue
			}
			rest = rest[l:]
		}
		if strings.HasPrefix(rest, "^") {
			return true
		}
		for _, p := range []string{"(^", "(?:^"} {
			if strings.HasPrefix(rest, p) && !strings.HasPrefix(rest[len(p):], "|") {
				return true
			}
		}
	}
	return false
}

// lineEnd: the expression is anchored at the end of the line.
func lineEnd(re string) bool {
	for _, suf := range []string{"$", "$)"} {
		if strings.HasSuffix(re, suf) {
			p := len(re) - len(suf)
			if p == 0 || (re[p-1] != '\\' && re[p-1] != '|') {
				return true
			}
		}
	}
	return false
}

// dropMarkers removes the ** markers: one after the leading parentheses
// and inline flags, one before the trailing parentheses.
func dropMarkers(re string) string {
	pos := 0
	cut := []int{}
	if i := leadingMarker(re); i >= 0 {
		cut = append(cut, i)
		pos = i + 2
	}
	for p := pos; p+2 <= len(re); p++ {
		if re[p:p+2] == "**" && strings.Trim(re[p+2:], ")") == "" && notEscapedAt(re, p) {
			cut = append(cut, p)
			break
		}
	}
	var b strings.Builder
	last := 0
	for _, c := range cut {
		b.WriteString(re[last:c])
		last = c + 2
	}
	b.WriteString(re[last:])
	return b.String()
}

// leadingMarker is the index of a ** that follows only opening parentheses
// and one group of inline flags, or -1.
func leadingMarker(re string) int {
	n := len(re) - len(strings.TrimLeft(re, "("))
	for k := n; k >= 0; k-- {
		for _, withFlags := range []bool{true, false} {
			q := k
			if withFlags {
				l := flagsGroupLen(re[q:])
				if l == 0 {
					continue
				}
				q += l
			}
			q += len(re[q:]) - len(strings.TrimLeft(re[q:], "("))
			if strings.HasPrefix(re[q:], "**") {
				return q
			}
		}
	}
	return -1
}

// unboundPattern strips the boundary markers and boundaries from a
// template's pattern or name, as fail2ban does when it embeds a default
// template in a {DATE} pattern.
func unboundPattern(s string) string {
	s = strings.TrimPrefix(s, "{UNB}")
	s = strings.TrimPrefix(s, "{^LN-BEG}")
	for _, p := range []string{`(^|\b|\W)`, `(?:^|\b|\W)`} {
		if strings.HasPrefix(s, p) {
			s = s[len(p):]
			break
		}
	}
	return strings.TrimSuffix(s, wordEndRE)
}

// shaped is a regular expression shaped as fail2ban does, with its flags.
type shaped struct {
	regex string
	flags int
}

// shapeRegex applies fail2ban's shaping to a template's expression.
// lineStart reports that a start-of-line boundary was added (the template's
// name then gets the {^LN-BEG} prefix).
func shapeRegex(regex string, begin beginBound, wordEnd bool) (s shaped, lineStart bool) {
	regex = pyStrip(regex)
	var gf string
	if a, b, ok := globalFlags(regex); ok {
		gf = regex[a:b]
		regex = regex[:a] + regex[b:]
	}
	boundBegin := begin != boundNone && !startsAnchored(regex)
	boundEnd := wordEnd && !endsAnchored(regex)
	if !hasCapture(regex) {
		regex = wrapCapture(regex)
	}
	if boundBegin {
		if begin == boundStart {
			s.flags |= flagLineBegin
			regex = lineStartRE + regex
			lineStart = true
		} else {
			s.flags |= flagWordBegin
			regex = wordBeginRE + regex
		}
	}
	if boundEnd {
		s.flags |= flagWordEnd
		regex += wordEndRE
	}
	if s.flags&flagLineBegin == 0 && lineBegin(regex) {
		s.flags |= flagLineBegin
	}
	if s.flags&flagLineEnd == 0 && lineEnd(regex) {
		s.flags |= flagLineEnd
	}
	s.regex = gf + dropMarkers(regex)
	return s, lineStart
}
