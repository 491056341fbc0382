package pyre

import (
	"errors"
	"fmt"
	"regexp"
	"sync"
	"unicode/utf8"

	"github.com/dlclark/regexp2/v2"
)

// Search is Python's re.search: the first match anywhere in s, or nil.
// s should be valid UTF-8 (see Decode). A match that exhausts its budget
// returns an error matching ErrBudget.
func (r *Regex) Search(s string) (*Match, error) { return r.find(s, false) }

// Match is Python's re.match: a match starting at the beginning of s.
func (r *Regex) Match(s string) (*Match, error) { return r.find(s, true) }

func (r *Regex) find(s string, anchored bool) (*Match, error) {
	if anchored {
		r.anchor.Do(r.compileAnchored)
	}
	if !r.opts.NoFastPath && r.lit.absent(s) {
		return nil, nil
	}
	if r.bt != nil && len(s) <= btMaxSubject && r.tryBT() && utf8.ValidString(s) {
		m, ok := r.bt.find(s, anchored)
		if ok {
			if m != nil {
				m.s, m.re = s, r
			}
			return m, nil
		}
		r.btSkip.Store(btSkip)
	}
	if r.goRe != nil && r.goOK(s) {
		re := r.goRe
		if anchored {
			re = r.goA
		}
		loc := re.FindStringSubmatchIndex(s)
		if loc == nil {
			return nil, nil
		}
		return &Match{s: s, loc: loc, re: r}, nil
	}
	re := r.re2
	if anchored {
		re = r.re2A
	}
	loc, err := r.find2(re, s)
	if err != nil {
		return nil, r.budgetError(err, len(s))
	}
	if loc == nil {
		return nil, nil
	}
	return &Match{s: s, loc: loc, re: r}, nil
}

// tryBT reports whether to try pyre's matcher: not for the btSkip
// searches after it gave up.
func (r *Regex) tryBT() bool {
	if r.btSkip.Load() <= 0 {
		return true
	}
	r.btSkip.Add(-1)
	return false
}

// runeBufs recycles the []rune form of subjects: regexp2 matches runes.
var runeBufs = sync.Pool{New: func() any { b := make([]rune, 0, 256); return &b }}

// find2 runs regexp2 on s. A timeout gets one more run before it counts:
// regexp2's clock is a goroutine that stores the time every period, and
// when it is not scheduled for a while (a loaded machine) a deadline taken
// from its stale value expires early; a match descheduled past its
// wall-clock budget also looks spent without having used it. A pattern
// that really backtracks runs out twice, so a hostile line costs two
// budgets.
func (r *Regex) find2(re *regexp2.Regexp, s string) ([]int, error) {
	loc, err := r.run2(re, s)
	if err != nil && !errors.Is(err, regexp2.ErrBacktrackingStackLimit) {
		loc, err = r.run2(re, s)
	}
	return loc, err
}

// run2 runs regexp2 on s without building its Match: the group spans
// are read from the engine's view and turned into byte offsets.
func (r *Regex) run2(re *regexp2.Regexp, s string) ([]int, error) {
	bp := runeBufs.Get().(*[]rune)
	defer func() {
		if cap(*bp) <= 1<<16 { // do not keep a huge line's buffer
			runeBufs.Put(bp)
		}
	}()
	rs := (*bp)[:0]
	ascii := isASCII(s)
	if ascii {
		for i := 0; i < len(s); i++ {
			rs = append(rs, rune(s[i]))
		}
	} else {
		for _, c := range s { // an invalid byte is one U+FFFD
			rs = append(rs, c)
		}
	}
	*bp = rs
	var loc []int
	err := re.FindRunesMatches(rs, 0, func(v regexp2.MatchView) bool {
		loc = make([]int, 2*(r.ngroups+1))
		for g := 0; g <= r.ngroups; g++ {
			i, n, ok := v.GroupRange(r.slots[g])
			if !ok {
				loc[2*g], loc[2*g+1] = -1, -1
				continue
			}
			loc[2*g], loc[2*g+1] = i, i+n
		}
		return false
	})
	if err != nil || loc == nil || ascii {
		return loc, err
	}
	// Rune offsets to byte offsets.
	offs := make([]int, 0, len(rs)+1)
	for i := range s {
		offs = append(offs, i)
	}
	offs = append(offs, len(s))
	for i, x := range loc {
		if x >= 0 {
			loc[i] = offs[x]
		}
	}
	return loc, nil
}

func (r *Regex) compileAnchored() {
	var err error
	r.re2A, err = compileNET(`\A(?:`+r.net+`)`, r.budget)
	if err != nil {
		panic(fmt.Sprintf("pyre: anchored form of a compiled pattern failed: %v", err))
	}
	if r.goRe != nil {
		src, _, _ := emit(r.tree, flavourRE2)
		r.goA = regexp.MustCompile(`\A(?:` + src + `)`)
	}
}
