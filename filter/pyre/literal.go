package pyre

import (
	"strings"
	"unicode/utf8"
)

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
