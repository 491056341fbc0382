package pyre

import (
	"slices"
	"unicode"
)

// runeSet is a set of code points: sorted, disjoint, non-adjacent ranges.
// Every character class is resolved to one before it is written out, so
// the output never depends on what the target engine means by \w or (?i).
type runeSet []runeRange

type runeRange struct{ lo, hi rune }

const maxRune = unicode.MaxRune

// norm sorts and merges ranges in place.
func (s runeSet) norm() runeSet {
	if len(s) < 2 {
		return s
	}
	slices.SortFunc(s, func(a, b runeRange) int { return int(a.lo - b.lo) })
	out := s[:1]
	for _, r := range s[1:] {
		last := &out[len(out)-1]
		if r.lo <= last.hi+1 {
			last.hi = max(last.hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

func (s runeSet) has(c rune) bool {
	_, found := slices.BinarySearchFunc(s, c, func(r runeRange, c rune) int {
		switch {
		case r.hi < c:
			return -1
		case r.lo > c:
			return 1
		}
		return 0
	})
	return found
}

func (s runeSet) union(t runeSet) runeSet {
	out := make(runeSet, 0, len(s)+len(t))
	out = append(append(out, s...), t...)
	return out.norm()
}

func (s runeSet) complement() runeSet {
	var out runeSet
	next := rune(0)
	for _, r := range s {
		if r.lo > next {
			out = append(out, runeRange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= maxRune {
		out = append(out, runeRange{next, maxRune})
	}
	return out
}

func (s runeSet) intersect(t runeSet) runeSet {
	var out runeSet
	i, j := 0, 0
	for i < len(s) && j < len(t) {
		lo, hi := max(s[i].lo, t[j].lo), min(s[i].hi, t[j].hi)
		if lo <= hi {
			out = append(out, runeRange{lo, hi})
		}
		if s[i].hi < t[j].hi {
			i++
		} else {
			j++
		}
	}
	return out
}

func (s runeSet) minus(t runeSet) runeSet { return s.intersect(t.complement()) }

// subsetOf reports whether every member of s is in t.
func (s runeSet) subsetOf(t runeSet) bool {
	j := 0
	for _, r := range s {
		for j < len(t) && t[j].hi < r.lo {
			j++
		}
		if j == len(t) || t[j].lo > r.lo || t[j].hi < r.hi {
			return false
		}
	}
	return true
}

func (s runeSet) equal(t runeSet) bool { return slices.Equal(s, t) }

// size is the number of code points in s.
func (s runeSet) size() int {
	n := 0
	for _, r := range s {
		n += int(r.hi-r.lo) + 1
	}
	return n
}

// single reports the only member of a one-element set.
func (s runeSet) single() (rune, bool) {
	if len(s) == 1 && s[0].lo == s[0].hi {
		return s[0].lo, true
	}
	return 0, false
}

func fromTables(tabs ...*unicode.RangeTable) runeSet {
	var out runeSet
	for _, t := range tabs {
		for _, r := range t.R16 {
			if r.Stride == 1 {
				out = append(out, runeRange{rune(r.Lo), rune(r.Hi)})
				continue
			}
			for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
				out = append(out, runeRange{c, c})
			}
		}
		for _, r := range t.R32 {
			if r.Stride == 1 {
				out = append(out, runeRange{rune(r.Lo), rune(r.Hi)})
				continue
			}
			for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
				out = append(out, runeRange{c, c})
			}
		}
	}
	return out.norm()
}

func runes(cs ...rune) runeSet {
	out := make(runeSet, len(cs))
	for i, c := range cs {
		out[i] = runeRange{c, c}
	}
	return out.norm()
}

// surrogates can never be in a subject: Go strings decode to runes, and an
// invalid byte decodes to U+FFFD, as Decode does for Python's "replace".
var surrogates = runeSet{{0xD800, 0xDFFF}}
