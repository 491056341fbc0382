package pyre

import (
	"slices"
	"strconv"
	"testing"
)

// unicodeQueries are one-character patterns whose code-point sets are
// compared with Python's over every code point.
var unicodeQueries = []string{
	`\w`, `\W`, `\S`, `\D`, `(?a)\w`, `(?a)\W`, `(?a)\s`, `.`, `(?s).`,
	`(?i)k`, `(?i)[k]`, `(?i)s`, `(?i)[st]`, `(?i)i`, `(?i)[i]`, `(?i)ß`, `(?i)[ß]`,
	`(?i)[a-z]`, `(?i)[^a-z]`, `(?i)[\w]`, `(?i)[^\W]`, `(?i)[\d]`, `(?i)[\s\S]`,
	`(?i)[\u0100-\u017f]`, `(?i)[\x00-\uffff]`, `(?i)[\u0370-\u03ff]`, `(?i)[\u1c80-\u1c88]`,
	"(?i)[\U00010400-\U0001044f]", "(?i)[\U00010400]", "(?i)\U00010400", "(?i)[\U00010428x]",
	"(?i)[\uffff-\U00010401]", `(?i)ǅ`, `(?i)[ǅ]`, `(?i)[Ǆ-ǌ]`, `(?i)µ`, `(?i)[^µ]`,
	`(?ai)[a-z]`, `(?ai)k`, `(?ai)[^k]`, "(?ai)[\U00010400-\U00010401]", `[^\x00-\U0010ffff]`,
	`[\ud800-\udfff]`, `(?i)[\x00-\x7f]`, `(?i)\u0345`, `(?i)[\u1fbe]`,
}

type unicodeAnswer struct {
	Unidata  string               `json:"unidata"`
	Word     [][2]rune            `json:"word"`
	Digit    [][2]rune            `json:"digit"`
	Space    [][2]rune            `json:"space"`
	Assigned [][2]rune            `json:"assigned"`
	Lower    map[string]rune      `json:"lower"`
	Cased    [][2]rune            `json:"cased"`
	Extra    map[string][]rune    `json:"extra"`
	Classes  map[string][][2]rune `json:"classes"`
}

func toSet(rs [][2]rune) runeSet {
	var s runeSet
	for _, r := range rs {
		s = append(s, runeRange{r[0], r[1]})
	}
	return s.norm()
}

// TestUnicodeTables compares pyre's character categories, case tables and
// resolved one-character classes with Python's, on every code point that
// Python's Unicode database assigns (Go's is a later Unicode).
func TestUnicodeTables(t *testing.T) {
	var a unicodeAnswer
	oracle(t, "unicode", unicodeQueries, &a)
	assigned := toSet(a.Assigned).minus(surrogates)
	same := func(what string, got runeSet, want [][2]rune) {
		t.Helper()
		w := toSet(want).minus(surrogates).intersect(assigned)
		g := got.minus(surrogates).intersect(assigned)
		if !g.equal(w) {
			extra, missing := g.minus(w), w.minus(g)
			t.Errorf("%s: pyre has %d code points Python has not (%v), lacks %d (%v)",
				what, extra.size(), head(extra), missing.size(), head(missing))
		}
	}
	same(`\w`, wordU, a.Word)
	same(`\d`, digitU, a.Digit)
	same(`\s`, spaceU, a.Space)
	for k, lo := range a.Lower {
		c, _ := strconv.Atoi(k)
		if assigned.has(rune(c)) && pyLower(rune(c)) != lo {
			t.Errorf("lower(%U) = %U, Python %U", rune(c), pyLower(rune(c)), lo)
		}
	}
	var cased runeSet
	for c := rune(0); c <= maxRune; c++ {
		if pyIsCased(c) {
			cased = append(cased, runeRange{c, c})
		}
	}
	same("iscased", cased.norm(), a.Cased)
	if len(a.Extra) != len(extraCases) {
		t.Errorf("_EXTRA_CASES has %d entries, pyre %d", len(a.Extra), len(extraCases))
	}
	for k, v := range a.Extra {
		c, _ := strconv.Atoi(k)
		if !slices.Equal(extraCases[rune(c)], v) {
			t.Errorf("_EXTRA_CASES[%U] = %U, pyre %U", rune(c), v, extraCases[rune(c)])
		}
	}
	for _, q := range unicodeQueries {
		r, err := CompilePython(q, Options{})
		if err != nil {
			t.Errorf("%q: %v", q, err)
			continue
		}
		var got runeSet
		switch n := r.tree; n.kind {
		case nLit:
			got = runes(n.r)
		case nSet:
			got = n.set
		case nAny:
			got = runeSet{{0, maxRune}}
			if !n.dot {
				got = got.minus(runes('\n'))
			}
		default:
			t.Errorf("%q is not one character test", q)
			continue
		}
		same(q, got, a.Classes[q])
	}
	t.Logf("Python's Unicode %s; %d one-character patterns compared on every assigned code point", a.Unidata, len(unicodeQueries))
}

func head(s runeSet) runeSet {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}
