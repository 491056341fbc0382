package pyre

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// btCompare checks pyre's matcher against regexp2 (and Go's regexp where
// it serves the pattern) on one subject, search and match, with its step
// budget starved to starve steps when starve > 0. It reports whether the
// matcher answered both (it did not give up).
func btCompare(t *testing.T, pattern string, multiline bool, subject string, starve int) (answered bool) {
	t.Helper()
	r, slow := btCompile(pattern, multiline)
	if r == nil {
		return false
	}
	return btCompareOn(t, r, slow, subject, starve)
}

// btCompile compiles pattern as is and for regexp2 alone; r is nil when
// pyre's matcher does not serve it.
func btCompile(pattern string, multiline bool) (r, slow *Regex) {
	o := Options{Multiline: multiline, Budget: 10 * time.Millisecond}
	r, err := CompilePython(pattern, o)
	if err != nil || r.bt == nil {
		return nil, nil
	}
	o.NoFastPath = true
	slow, err = CompilePython(pattern, o)
	if err != nil {
		panic(err)
	}
	return r, slow
}

func btCompareOn(t *testing.T, r, slow *Regex, subject string, starve int) (answered bool) {
	t.Helper()
	if !utf8.ValidString(subject) {
		return false
	}
	pattern := r.String()
	saved := *r.bt
	defer func() { *r.bt = saved }()
	if starve > 0 {
		r.bt.stepsBase, r.bt.stepsPerByte = starve, 0
	}
	answered = true
	for _, anchored := range []bool{false, true} {
		bm, ok := r.bt.find(subject, anchored)
		loc := spansOf(bm)
		if ok {
			// As Search and Match answer it.
			m, err := r.find(subject, anchored)
			if err != nil {
				t.Fatalf("%q on %q: %v", pattern, subject, err)
			}
			if got := spansOf(m); !slices.Equal(got, loc) {
				t.Fatalf("%q on %q: find %v, the matcher alone %v", pattern, subject, got, loc)
			}
		} else {
			answered = false
			// The Regex answers with the other engines.
			m, err := r.find(subject, anchored)
			if err != nil {
				continue // regexp2 ran out of budget
			}
			loc = spansOf(m)
		}
		ms, err := slow.find(subject, anchored)
		if err != nil {
			continue // regexp2 ran out of budget
		}
		if want := spansOf(ms); !slices.Equal(loc, want) {
			t.Fatalf("%q on %q (anchored %v, multiline %v): pyre's matcher %v, regexp2 %v\nregexp2: %s",
				pattern, subject, anchored, r.opts.Multiline, loc, want, slow.Translation())
		}
		if r.goRe != nil && r.goOK(subject) {
			re := r.goRe
			if anchored {
				r.anchor.Do(r.compileAnchored)
				re = r.goA
			}
			if want := re.FindStringSubmatchIndex(subject); !slices.Equal(loc, want) {
				t.Fatalf("%q on %q (anchored %v): pyre's matcher %v, Go's regexp %v", pattern, subject, anchored, loc, want)
			}
		}
	}
	return answered
}

// withoutMatcher compiles r's pattern again without pyre's matcher: as
// Search ran before it, Go's regexp where it serves, else regexp2.
func withoutMatcher(t testing.TB, r *Regex) *Regex {
	t.Helper()
	o := r.opts
	o.UseDNS = ""
	r2, err := CompilePython(r.String(), o)
	if err != nil {
		t.Fatal(err)
	}
	r2.bt = nil
	return r2
}

// TestBacktrackAgrees compares pyre's matcher with regexp2 and Go's
// regexp on random patterns of re's constructs (the grammar of
// TestRandomOracle, which compares all of them with Python) and random
// subjects, with its step budget as set and starved (so that it gives up
// part way, and the Regex answers with the other engines).
func TestBacktrackAgrees(t *testing.T) {
	n := 20000
	if testing.Short() {
		n = 2000
	}
	g := &patternGen{rnd: rand.New(rand.NewPCG(3, 4))}
	eligible, split, answered, starvedAnswers := 0, 0, 0, 0
	for range n {
		p := g.pattern()
		ml := g.rnd.IntN(4) == 0
		r, slow := btCompile(p, ml)
		if r == nil {
			continue
		}
		eligible++
		if r.bt.splits > 0 {
			split++
		}
		for range 3 {
			s := g.subject()
			if btCompareOn(t, r, slow, s, 0) {
				answered++
			}
			if btCompareOn(t, r, slow, s, 1+g.rnd.IntN(40)) {
				starvedAnswers++
			}
		}
	}
	t.Logf("%d patterns, %d on pyre's matcher (%d split at a conditional); %d of %d subjects answered by it (%d with a starved budget)",
		n, eligible, split, answered, 3*eligible, starvedAnswers)
	if eligible < n/2 {
		t.Errorf("only %d of %d random patterns on pyre's matcher", eligible, n)
	}
}

// TestBacktrackTempered compares the machine's tempered repeats
// ((?:(?!L).)*? as one instruction) with regexp2 on random ones.
func TestBacktrackTempered(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 8))
	word := func(alphabet string, n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[rnd.IntN(len(alphabet))])
		}
		return b.String()
	}
	pick := func(xs ...string) string { return xs[rnd.IntN(len(xs))] }
	tempered := 0
	for range 3000 {
		stop := word("ab ", 1+rnd.IntN(3))
		p := pick("", "^", "a") + "(?:(?!" + regexpQuote(stop) + ")" + pick(".", `[^\n]`, "[ab]", `\S`, "(?s:.)") + ")" +
			pick("*", "*?", "+", "+?", "{1,3}", "{2,}?", "*+") + pick(regexpQuote(stop), "$", "b", "(a)", "")
		r, slow := btCompile(p, false)
		if r == nil {
			t.Fatalf("%q: not on pyre's matcher", p)
		}
		for _, in := range r.bt.insts {
			if in.stop != "" {
				tempered++
				break
			}
		}
		for range 4 {
			btCompareOn(t, r, slow, word("ab \n", rnd.IntN(14)), 0)
		}
	}
	if tempered < 2000 {
		t.Errorf("only %d of 3000 patterns written as tempered repeats", tempered)
	}
}

func regexpQuote(s string) string { return strings.ReplaceAll(s, " ", `\ `) }

// condGen writes patterns in the shape of sshd's "Failed" failregex:
// optional groups and alternations that decide later conditionals, which
// pyre's matcher splits on (backtrack_split.go).
type condGen struct {
	rnd    *rand.Rand
	groups int
}

func (g *condGen) pick(xs ...string) string { return xs[g.rnd.IntN(len(xs))] }

func (g *condGen) atom() string {
	return g.pick("a", "b", `\ `, "a+", "b*?", `[ab]+`, `\S+`, `.*?`, `(?:(?!\ b).)*?`, `(?:(?!a).)*`, ":", `\s*`, "(?:ab)?")
}

func (g *condGen) item(depth int) string {
	ref := func() string {
		if g.groups == 0 || g.rnd.IntN(5) == 0 {
			return fmt.Sprint(g.groups + 1) // a later group
		}
		n := 1 + g.rnd.IntN(g.groups)
		if g.rnd.IntN(2) == 0 {
			return fmt.Sprintf("g%d", n)
		}
		return fmt.Sprint(n)
	}
	switch g.rnd.IntN(7) {
	case 0, 1:
		g.groups++
		return fmt.Sprintf("(?P<g%d>%s%s)%s", g.groups, g.atom(), g.atom(), g.pick("?", "??", "?", ""))
	case 2:
		g.groups++
		n := g.groups
		a := g.atom()
		if depth < 2 && g.rnd.IntN(2) == 0 {
			a = g.item(depth + 1)
		}
		return fmt.Sprintf("(?P<g%d>%s|%s)", n, a, g.atom())
	case 3:
		g.groups++
		return fmt.Sprintf("(?:(?P<g%d>%s)|%s)", g.groups, g.atom(), g.atom())
	case 4, 5:
		r := ref()
		if r == fmt.Sprint(g.groups+1) {
			g.groups++ // keep the reference valid: define it
			return fmt.Sprintf("(?(%s)%s|%s)(?P<g%d>%s)?", r, g.atom(), g.atom(), g.groups, g.atom())
		}
		if g.rnd.IntN(3) == 0 {
			return fmt.Sprintf("(?(%s)%s)", r, g.atom())
		}
		return fmt.Sprintf("(?(%s)%s|%s)", r, g.atom(), g.atom())
	}
	return g.atom()
}

func (g *condGen) pattern() string {
	g.groups = 0
	var b strings.Builder
	b.WriteString(g.pick("", "^", "a"))
	for range 2 + g.rnd.IntN(4) {
		b.WriteString(g.item(0))
	}
	b.WriteString(g.pick("", "$", `\ b`, ":"))
	return b.String()
}

func (g *condGen) subject() string {
	const alphabet = "ab  :\n"
	var b strings.Builder
	for range g.rnd.IntN(12) {
		b.WriteByte(alphabet[g.rnd.IntN(len(alphabet))])
	}
	return b.String()
}

// TestBacktrackSplit compares the matcher on patterns it splits at their
// conditionals with regexp2, and a sample with Python.
func TestBacktrackSplit(t *testing.T) {
	g := &condGen{rnd: rand.New(rand.NewPCG(9, 10))}
	split, n := 0, 0
	var qs []matchQuery
	for range 4000 {
		p := g.pattern()
		r, slow := btCompile(p, false)
		if r == nil {
			continue // Python refuses it, or the matcher leaves it aside
		}
		n++
		if r.bt.splits > 0 {
			split++
		}
		for i := range 4 {
			s := g.subject()
			btCompareOn(t, r, slow, s, 0)
			if i == 0 && len(qs) < 6000 {
				qs = append(qs, matchQuery{Pattern: p, Subject: s, Op: "search"}, matchQuery{Pattern: p, Subject: s, Op: "match"})
			}
		}
	}
	t.Logf("%d patterns on pyre's matcher, %d split at a conditional", n, split)
	if split < n/3 {
		t.Errorf("only %d of %d patterns split", split, n)
	}
	if testing.Short() {
		return
	}
	python(t)
	answers := pythonMatches(t, qs)
	for i, q := range qs {
		if answers[i].Error != "" {
			t.Errorf("%q: Python refuses it: %s", q.Pattern, answers[i].Error)
			continue
		}
		r, err := CompilePython(q.Pattern, Options{})
		if err != nil {
			t.Fatal(err)
		}
		m, ok := r.bt.find(q.Subject, q.Op == "match")
		if !ok {
			continue
		}
		if got := spansOf(m); !slices.Equal(got, answers[i].Spans) {
			t.Errorf("%s %q on %q: pyre's matcher %v, Python %v", q.Op, q.Pattern, q.Subject, got, answers[i].Spans)
		}
	}
	t.Logf("%d queries compared with Python", len(qs))
}

// TestBacktrackCoverage checks what the matcher leaves to the other
// engines: repeats over what can match empty, back-references under
// (?i) or inside their own group or a lookbehind.
func TestBacktrackCoverage(t *testing.T) {
	for _, c := range []struct {
		pattern string
		on      bool
	}{
		{`^(?P<x>a)?b(?(x)c|d)`, true},
		{`(?:(?! from ).)*? from `, true},
		{`(?<=(a)b)c`, true},
		{`(?>a|ab)c`, true},
		{`a*+b`, true},
		{`(a)\1`, true},
		{`(?:a|)*`, false},
		{`(a*)+b`, false},
		{`(?i)(a)\1`, false},
		{`(a(?(1)b|c))`, false},
		{`(a)(?<=\1)`, false},
		{`(?:ab){5000}`, false},
	} {
		r, err := CompilePython(c.pattern, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if on := r.bt != nil; on != c.on {
			t.Errorf("%q: on pyre's matcher %v, want %v", c.pattern, on, c.on)
		}
	}
}

// TestBacktrackGivesUp: a search that backtracks hard stops at the step
// budget, and the Regex answers with the linear engine.
func TestBacktrackGivesUp(t *testing.T) {
	r, err := Compile(`^(\w+\s?)+$`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.bt == nil || r.goRe == nil {
		t.Fatal("want the pattern on both pyre's matcher and Go's regexp")
	}
	s := strings.Repeat("word ", 40) + "!"
	if _, ok := r.bt.find(s, false); ok {
		t.Fatal("pyre's matcher did not give up")
	}
	if m, err := r.Search(s); err != nil || m != nil {
		t.Fatalf("Search = %v, %v; want no match", m, err)
	}
	// The next searches leave the matcher aside.
	if n := r.btSkip.Load(); n != btSkip {
		t.Errorf("after giving up, %d searches left aside, want %d", n, btSkip)
	}
	if m, err := r.Search("word word"); err != nil || m == nil {
		t.Fatalf("then Search = %v, %v", m, err)
	}
	if n := r.btSkip.Load(); n != btSkip-1 {
		t.Errorf("then %d searches left aside, want %d", n, btSkip-1)
	}
}

// FuzzBacktrack: where pyre's matcher serves a pattern, it answers as
// regexp2 (and Go's regexp, where that serves it too) on any valid UTF-8
// subject it does not give up on; and so does the Regex when it does.
func FuzzBacktrack(f *testing.F) {
	fuzzSeeds(f)
	f.Add(`^Failed (?:(?P<nofail>publickey)|\S+) for (?P<cond_inv>invalid user )?(?P<user>(?P<cond_user>\S+)|(?(cond_inv)(?:(?! from ).)*?|[^:]+)) from (?P<ip4>\S+)(?: port \d+)?(?: ssh\d*)?(?(cond_user): |(?:(?:(?! from ).)*)$)`,
		"Failed password for invalid user a from b from 192.0.2.1 port 22 ssh2\n", false)
	f.Add(`(?<=\w{2})é(?<!x)`, "aéé xé", false)
	f.Add(`(?>(a+)b|a)c`, "aaac abc", true)
	f.Add(`^a(?P<g1>b )?(?P<g2>\S+|(?(g1)(?:(?!\ b).)*?|[^:]+))\ b(?(g2):|$)`, "ab x y b b\n", false)
	f.Add(`(?:(?!ab).)*?ab|(?:(?!b).)+$`, "aab\nbab", true)
	f.Fuzz(func(t *testing.T, pattern, subject string, multiline bool) {
		r, slow := btCompile(pattern, multiline)
		if r == nil {
			return
		}
		btCompareOn(t, r, slow, subject, 0)
		btCompareOn(t, r, slow, subject, 1+len(subject)%40)
	})
}

// TestLitFinder: litFinder.index is strings.Index.
func TestLitFinder(t *testing.T) {
	rnd := rand.New(rand.NewPCG(5, 6))
	const alphabet = " aeAB:\n"
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[rnd.IntN(len(alphabet))])
		}
		return b.String()
	}
	for range 100000 {
		lit, s := word(1+rnd.IntN(5)), word(rnd.IntN(30))
		f := newLitFinder(lit)
		if got, want := f.index(s), strings.Index(s, lit); got != want {
			t.Fatalf("index(%q) of %q = %d, want %d", s, lit, got, want)
		}
	}
}
