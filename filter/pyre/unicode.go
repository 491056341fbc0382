package pyre

import (
	"sync"
	"unicode"
)

// Python's character categories for str patterns, measured against
// CPython 3.11 (Unicode 14): \w is exactly letters, numbers and '_'
// (str.isalnum), \d is Nd (str.isdecimal), \s is str.isspace. Go's tables
// are Unicode 15: code points assigned between the two versions are the
// only difference. TestUnicodeTables checks all three against Python.
var (
	wordU  = fromTables(unicode.L, unicode.N).union(runes('_'))
	digitU = fromTables(unicode.Nd)
	spaceU = runeSet{{0x09, 0x0D}, {0x1C, 0x20}, {0x85, 0x85}, {0xA0, 0xA0},
		{0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F},
		{0x205F, 0x205F}, {0x3000, 0x3000}}

	// The (?a) flavours.
	wordA  = runeSet{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}
	digitA = runeSet{{'0', '9'}}
	spaceA = runeSet{{0x09, 0x0D}, {0x20, 0x20}}
)

// category is one of Python's class escapes.
type category uint8

const (
	catDigit category = iota
	catNotDigit
	catSpace
	catNotSpace
	catWord
	catNotWord
)

func (c category) set(ascii bool) runeSet {
	var s runeSet
	switch c / 2 {
	case 0:
		s = digitU
		if ascii {
			s = digitA
		}
	case 1:
		s = spaceU
		if ascii {
			s = spaceA
		}
	default:
		s = wordU
		if ascii {
			s = wordA
		}
	}
	if c%2 == 1 {
		return s.complement()
	}
	return s
}

// pyLower is _sre.unicode_tolower: the simple lowercase mapping, which is
// Go's (TestCaseTables compares every code point).
func pyLower(c rune) rune { return unicode.ToLower(c) }

// pyUpper is _sre's uppercase: for the code points below, CPython returns
// the first code point of the full (SpecialCasing) mapping, where Go's
// simple mapping leaves them unchanged. Only iscased observes it.
func pyIsCased(c rune) bool {
	if unicode.ToLower(c) != c || unicode.ToUpper(c) != c {
		return true
	}
	_, ok := fullUpperOnly[c]
	return ok
}

// fullUpperOnly lists the code points that have an uppercase only in
// Unicode's SpecialCasing (so CPython's iscased is true, Go's ToUpper is
// the identity).
var fullUpperOnly = map[rune]struct{}{}

func init() {
	for _, c := range []rune{0x00df, 0x0149, 0x01f0, 0x0390, 0x03b0, 0x0587,
		0x1e96, 0x1e97, 0x1e98, 0x1e99, 0x1e9a, 0x1f50, 0x1f52, 0x1f54, 0x1f56,
		0x1fb2, 0x1fb4, 0x1fb6, 0x1fb7, 0x1fc2, 0x1fc4, 0x1fc6, 0x1fc7, 0x1fd2,
		0x1fd3, 0x1fd6, 0x1fd7, 0x1fe2, 0x1fe3, 0x1fe4, 0x1fe6, 0x1fe7, 0x1ff2,
		0x1ff4, 0x1ff6, 0x1ff7, 0xfb00, 0xfb01, 0xfb02, 0xfb03, 0xfb04, 0xfb05,
		0xfb06, 0xfb13, 0xfb14, 0xfb15, 0xfb16, 0xfb17} {
		fullUpperOnly[c] = struct{}{}
	}
}

// extraCases is CPython's re._casefix._EXTRA_CASES: for a lowercase code
// point, the other lowercase code points with the same uppercase, which
// (?i) also accepts. TestCaseTables compares it with Python's.
var extraCases = map[rune][]rune{
	0x0069: {0x0131}, 0x0073: {0x017f}, 0x00b5: {0x03bc}, 0x0131: {0x0069},
	0x017f: {0x0073}, 0x0345: {0x03b9, 0x1fbe}, 0x0390: {0x1fd3}, 0x03b0: {0x1fe3},
	0x03b2: {0x03d0}, 0x03b5: {0x03f5}, 0x03b8: {0x03d1}, 0x03b9: {0x0345, 0x1fbe},
	0x03ba: {0x03f0}, 0x03bc: {0x00b5}, 0x03c0: {0x03d6}, 0x03c1: {0x03f1},
	0x03c2: {0x03c3}, 0x03c3: {0x03c2}, 0x03c6: {0x03d5}, 0x03d0: {0x03b2},
	0x03d1: {0x03b8}, 0x03d5: {0x03c6}, 0x03d6: {0x03c0}, 0x03f0: {0x03ba},
	0x03f1: {0x03c1}, 0x03f5: {0x03b5}, 0x0432: {0x1c80}, 0x0434: {0x1c81},
	0x043e: {0x1c82}, 0x0441: {0x1c83}, 0x0442: {0x1c84, 0x1c85}, 0x044a: {0x1c86},
	0x0463: {0x1c87}, 0x1c80: {0x0432}, 0x1c81: {0x0434}, 0x1c82: {0x043e},
	0x1c83: {0x0441}, 0x1c84: {0x0442, 0x1c85}, 0x1c85: {0x0442, 0x1c84},
	0x1c86: {0x044a}, 0x1c87: {0x0463}, 0x1c88: {0xa64b}, 0x1e61: {0x1e9b},
	0x1e9b: {0x1e61}, 0x1fbe: {0x0345, 0x03b9}, 0x1fd3: {0x0390}, 0x1fe3: {0x03b0},
	0xa64b: {0x1c88}, 0xfb05: {0xfb06}, 0xfb06: {0xfb05},
}

// caseTables are the code points whose lowercase or uppercase differ from
// themselves, built once, on the first (?i) pattern.
var caseTables struct {
	once    sync.Once
	lowered []rune  // c with pyLower(c) != c
	uppered []rune  // c with unicode.ToUpper(c) != c
	fixed   runeSet // the complement of lowered
}

func loadCaseTables() {
	caseTables.once.Do(func() {
		var changed runeSet
		for c := rune(0); c <= maxRune; c++ {
			if unicode.ToLower(c) != c {
				caseTables.lowered = append(caseTables.lowered, c)
				changed = append(changed, runeRange{c, c})
			}
			if unicode.ToUpper(c) != c {
				caseTables.uppered = append(caseTables.uppered, c)
			}
		}
		caseTables.fixed = changed.norm().complement()
	})
}

// lowerPreimage is {x : lower(x) ∈ t}, the code points a (?i) test on the
// lowered subject character accepts.
func lowerPreimage(t runeSet) runeSet {
	loadCaseTables()
	out := t.intersect(caseTables.fixed)
	var more runeSet
	for _, c := range caseTables.lowered {
		if t.has(pyLower(c)) {
			more = append(more, runeRange{c, c})
		}
	}
	return out.union(more)
}

// upperPreimage is {y : upper(y) ∈ t} for the simple mapping, which is
// CPython's for every code point outside the BMP, the only place its
// RANGE_UNI_IGNORE uses it.
func upperPreimage(t runeSet) runeSet {
	loadCaseTables()
	var more runeSet
	for _, c := range caseTables.uppered {
		if t.has(unicode.ToUpper(c)) {
			more = append(more, runeRange{c, c})
		}
	}
	return t.union(more)
}

// asciiLower is _sre.ascii_tolower.
func asciiLower(c rune) rune {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func asciiIsCased(c rune) bool { return c < 128 && unicode.IsLetter(c) }
