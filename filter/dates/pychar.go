package dates

import (
	"strings"
	"unicode"
)

// Character classes with Python 3's meaning for str patterns and values,
// which are Unicode-wide where Go's are often ASCII.

// digitValue is the value of a Unicode decimal digit (category Nd), as
// Python's int() reads it.
func digitValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if r < 0x80 {
		return 0, false
	}
	for _, rg := range unicode.Nd.R16 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if rune(rg.Lo) <= r && r <= rune(rg.Hi) {
			return int(r-rune(rg.Lo)) % 10, true
		}
	}
	return 0, false
}

// pyIsSpace is Python's str.isspace for one character.
func pyIsSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r', 0x1c, 0x1d, 0x1e, 0x1f, 0x85:
		return true
	}
	return r > 0x7f && unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp)
}

// pyIsAlnum is Python's str.isalnum for one character; -1 stands for the
// empty string, which is not alphanumeric.
func pyIsAlnum(r rune) bool {
	if r < 0 {
		return false
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

// pyIsWord is the \w of Python's re for str patterns.
func pyIsWord(r rune) bool { return r == '_' || pyIsAlnum(r) }

// pyStrip is Python's str.strip() without arguments.
func pyStrip(s string) string { return strings.TrimFunc(s, pyIsSpace) }

// pyInt is Python's int() of a string of decimal digits: surrounding
// whitespace, one sign and single underscores between digits are allowed.
// big reports a value beyond what Python's datetime accepts as a C int
// (OverflowError rather than ValueError there).
func pyInt(s []rune) (v int64, ok, big bool) {
	for len(s) > 0 && pyIsSpace(s[0]) {
		s = s[1:]
	}
	for len(s) > 0 && pyIsSpace(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	neg := false
	if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, false, false
	}
	prevDigit := false
	n := 0
	for _, r := range s {
		if r == '_' {
			if !prevDigit {
				return 0, false, false
			}
			prevDigit = false
			continue
		}
		d, isDigit := digitValue(r)
		if !isDigit {
			return 0, false, false
		}
		prevDigit = true
		if v > (1<<31)*10 {
			big = true
		} else {
			v = v*10 + int64(d)
		}
		n++
	}
	if !prevDigit {
		return 0, false, false
	}
	if v > 1<<31-1 {
		big = true
	}
	if neg {
		v = -v
	}
	return v, true, big
}
