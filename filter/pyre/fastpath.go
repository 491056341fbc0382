package pyre

import (
	"regexp"
	"strings"
)

// compileGo returns Go's regexp for the tree when it means the same as
// Python's on every subject that meets the returned needs: no
// lookaround, back-reference, conditional, atomic or possessive group, no
// count above 1000, and no repeat over something that can match empty
// (where backtracking engines and RE2 disagree on captures).
func compileGo(tree *node) (*regexp.Regexp, needs) {
	if !goSafe(tree) {
		return nil, needUnsupported
	}
	src, nd, err := emit(tree, flavourRE2)
	if err != nil || nd&needUnsupported != 0 {
		return nil, needUnsupported
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, needUnsupported
	}
	return re, nd
}

func goSafe(n *node) bool {
	if n.kind == nRepeat && n.max != 1 && minWidth(n.subs[0]) == 0 {
		return false
	}
	for _, s := range n.subs {
		if !goSafe(s) {
			return false
		}
	}
	return true
}

// minWidth is the fewest code points n can match (0 when it can match
// the empty string).
func minWidth(n *node) int {
	switch n.kind {
	case nLit, nSet, nAny:
		return 1
	case nConcat:
		w := 0
		for _, s := range n.subs {
			w = min(w+minWidth(s), maxCount)
		}
		return w
	case nAlt:
		w := maxCount
		for _, s := range n.subs {
			w = min(w, minWidth(s))
		}
		return w
	case nRepeat:
		return min(minWidth(n.subs[0])*min(n.min, maxCount), maxCount)
	case nCapture, nAtomic:
		return minWidth(n.subs[0])
	case nCond:
		w := minWidth(n.subs[0])
		if len(n.subs) > 1 {
			return min(w, minWidth(n.subs[1]))
		}
		return 0
	}
	return 0 // empty, assertions, lookarounds, back-references
}

// goOK reports whether s meets what the Go translation assumes.
func (r *Regex) goOK(s string) bool {
	if r.goNeed&needNonEmpty != 0 && s == "" {
		return false
	}
	if r.goNeed&needASCII != 0 && !isASCII(s) {
		return false
	}
	if r.goNeed&needNoInnerNL != 0 {
		if i := strings.IndexByte(s, '\n'); i >= 0 && i != len(s)-1 {
			return false
		}
	}
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
