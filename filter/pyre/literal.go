package pyre

import (
	"strings"
	"unicode/utf8"
)

// litFinder finds a literal by its rarest byte (by a rough ranking of
// bytes in log text): strings.Index looks for the first byte, which in
// fail2ban's literals is often a space.
type litFinder struct {
	lit string
	k   int // the index of its rarest byte
}

func newLitFinder(lit string) litFinder {
	f := litFinder{lit: lit}
	for i := 1; i < len(lit); i++ {
		if byteRank[lit[i]] > byteRank[lit[f.k]] {
			f.k = i
		}
	}
	return f
}

// absent reports whether s lacks the literal (never, for "").
func (f *litFinder) absent(s string) bool { return f.lit != "" && f.index(s) < 0 }

// index is strings.Index(s, f.lit).
func (f *litFinder) index(s string) int {
	n, k := len(f.lit), f.k
	if n == 0 {
		return 0
	}
	b := f.lit[k]
	// A match at p has b at p+k: p+k runs over k..len(s)-n+k.
	for i := k; i <= len(s)-n+k; i++ {
		j := strings.IndexByte(s[i:len(s)-n+k+1], b)
		if j < 0 {
			return -1
		}
		i += j
		if s[i-k:i-k+n] == f.lit {
			return i - k
		}
	}
	return -1
}

// byteRank ranks bytes from common to rare in log lines: a space, then
// lowercase letters by English frequency, digits and usual punctuation;
// everything else (capitals, other symbols, non-ASCII) is rarer.
var byteRank = func() (r [256]int) {
	for i := range r {
		r[i] = 200
	}
	const common = " etaoinshrdlcumwfgypbvkjxqz0123456789.:/-_=[]()',\"\n"
	for i := 0; i < len(common); i++ {
		r[common[i]] = i
	}
	return r
}()

// requiredLiteral is the longest string every match must contain, found
// in the pattern's mandatory sequence: runs of literal characters outside
// alternations, optional parts and lookarounds. A subject without it
// cannot match, whatever the engine, so Search answers no match after one
// strings.Contains; most lines miss most failregexes.
func requiredLiteral(n *node) string {
	best := ""
	var run strings.Builder
	flush := func() {
		if run.Len() > len(best) {
			best = run.String()
		}
		run.Reset()
	}
	var walk func(n *node)
	walk = func(n *node) {
		switch n.kind {
		case nLit:
			if n.r == utf8.RuneError {
				// In an engine an invalid byte reads as U+FFFD;
				// strings.Contains would not see it so.
				flush()
				return
			}
			run.WriteRune(n.r)
		case nEmpty:
		case nConcat:
			for _, s := range n.subs {
				walk(s)
			}
		case nCapture, nAtomic:
			walk(n.subs[0])
		case nRepeat:
			flush()
			if n.min > 0 {
				// One iteration is mandatory, but what borders it
				// is not: its literal stands alone.
				if l := requiredLiteral(n.subs[0]); len(l) > len(best) {
					best = l
				}
			}
			flush()
		default:
			// Sets, alternations, conditionals, back-references and
			// lookarounds break the run; assertions consume nothing
			// but keep it simple.
			flush()
		}
	}
	walk(n)
	flush()
	return best
}
