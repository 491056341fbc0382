package pyre

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	atomics "sync/atomic" // emit.go has an atomic
	"time"

	"github.com/dlclark/regexp2/v2"
)

// Options are how fail2ban compiles a regex.
type Options struct {
	// UseDNS is fail2ban's usedns: "yes" (the default when empty), "warn",
	// "no" or "raw". Only "no" changes a pattern: <HOST> then matches
	// addresses only, as <ADDR>.
	UseDNS string
	// Multiline is re.MULTILINE, which fail2ban sets on failregexes when
	// maxlines > 1 (never on prefregex or ignoreregex).
	Multiline bool
	// Budget bounds one Search or Match; 0 means DefaultBudget.
	Budget time.Duration
	// NoFastPath runs every match on regexp2: no required-literal
	// check, no pyre matcher, no Go regexp, even where they give the
	// same answer; for benchmarks and tests.
	NoFastPath bool
}

// Regex is a compiled fail2ban regex. It is safe for concurrent use.
type Regex struct {
	pattern string // after tags and the global-flag rewrite: fail2ban's _regex
	opts    Options
	budget  time.Duration

	ngroups   int
	names     map[string]int // Python group name -> number
	nameOrder []string       // named groups in definition order (groupindex)
	nameNums  []int          // their numbers
	alt       []complexName
	tuple     []complexName

	net    string          // the regexp2 translation
	re2    *regexp2.Regexp // search
	slots  []int           // Python group number -> regexp2 group number
	anchor sync.Once       // compiles re2A on the first Match
	re2A   *regexp2.Regexp // \A(?:...)
	goRe   *regexp.Regexp  // Go's regexp, when provably the same
	goA    *regexp.Regexp  // its anchored form
	goNeed needs           // what goRe assumes of the subject
	bt     *btProg         // pyre's own matcher (backtrack.go), tried first
	btSkip atomics.Int32   // searches left before bt is tried again after it gave up
	lit    litFinder       // every match contains its literal (see requiredLiteral)
	tree   *node
}

// Compile resolves fail2ban's tags in pattern, rewrites global inline
// flags to local ones as fail2ban does, and translates the Python pattern
// for regexp2 (and, when provably equivalent, Go's regexp).
func Compile(pattern string, o Options) (*Regex, error) {
	useDNS := strings.ToLower(o.UseDNS)
	switch useDNS {
	case "":
		useDNS = "yes"
	case "yes", "warn", "no", "raw":
	default:
		return nil, fmt.Errorf("%w: usedns %q (want yes, warn, no or raw)", ErrOption, o.UseDNS)
	}
	if o.Budget < 0 {
		return nil, fmt.Errorf("%w: negative budget %v", ErrOption, o.Budget)
	}
	p := resolveTags(pattern, useDNS)
	if strings.TrimLeftFunc(p, func(c rune) bool { return spaceU.has(c) }) == "" {
		return nil, ErrEmpty
	}
	p = globalToLocalFlags(p)
	r, err := compilePython(p, o)
	if err != nil {
		return nil, err
	}
	r.opts.UseDNS = useDNS
	return r, nil
}

// CompilePython compiles a plain Python pattern, without fail2ban's tags
// or flag rewrite: what re.compile(pattern, re.M if Multiline) would.
func CompilePython(pattern string, o Options) (*Regex, error) {
	if o.Budget < 0 {
		return nil, fmt.Errorf("%w: negative budget %v", ErrOption, o.Budget)
	}
	return compilePython(pattern, o)
}

func compilePython(pattern string, o Options) (*Regex, error) {
	var flags pyFlags
	if o.Multiline {
		flags |= flagMultiline
	}
	pp, p, err := parse(pattern, flags)
	if err != nil {
		return nil, err
	}
	tree, err := lower(pp, p)
	if err != nil {
		return nil, err
	}
	elideLookbehinds(tree, before{any: true})
	lit := requiredLiteral(tree)
	r := &Regex{
		pattern: pattern,
		opts:    o,
		budget:  o.Budget,
		ngroups: pp.groups,
		names:   pp.names,
		tree:    tree,
		lit:     newLitFinder(lit),
	}
	if r.budget == 0 {
		r.budget = DefaultBudget
	}
	for g := 1; g <= pp.groups; g++ {
		if n := pp.groupName[g]; n != "" {
			r.nameOrder = append(r.nameOrder, n)
			r.nameNums = append(r.nameNums, g)
		}
	}
	r.alt, r.tuple = complexNames(r.nameOrder)

	net, _, err := emit(tree, flavourNET)
	if err != nil {
		return nil, err
	}
	r.net = net
	r.re2, err = compileNET(net, r.budget)
	if err != nil {
		return nil, fmt.Errorf("pyre: regexp2 refused the translation of %q: %v", pattern, err)
	}
	r.slots = make([]int, pp.groups+1) // slots[0] = 0: the whole match
	for g := 1; g <= pp.groups; g++ {
		r.slots[g] = r.re2.GroupNumberFromName(groupName(g))
	}
	if !o.NoFastPath {
		r.goRe, r.goNeed = compileGo(tree)
		r.bt = compileBT(tree, pp.groups, lit, r.budget)
	}
	return r, nil
}

// String is the pattern as compiled: after fail2ban's tags and its
// global-flag rewrite, the string fail2ban's Regex keeps as _regex.
func (r *Regex) String() string { return r.pattern }

// Translation is the regexp2 (.NET syntax) pattern the Python pattern
// became, for debugging.
func (r *Regex) Translation() string { return r.net }

// FastPath reports whether Go's regexp serves this pattern (on subjects
// it provably agrees on).
func (r *Regex) FastPath() bool { return r.goRe != nil }

// Groups is the number of capturing groups (re.Pattern.groups).
func (r *Regex) Groups() int { return r.ngroups }

// GroupNames lists the named groups in the order they are defined
// (re.Pattern.groupindex's keys).
func (r *Regex) GroupNames() []string { return append([]string(nil), r.nameOrder...) }

// HasGroup reports whether the pattern has a group of that name, as
// fail2ban checks for fid, ip4, ip6, dns and mlfid.
func (r *Regex) HasGroup(name string) bool {
	_, ok := r.names[name]
	return ok
}
