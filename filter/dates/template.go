package dates

import (
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/dlclark/regexp2/v2"
)

type tmplKind uint8

const (
	kindPattern tmplKind = iota // strftime-like pattern (DatePatternRegex)
	kindEpoch                   // seconds since the epoch (DateEpoch)
	kindTAI64N                  // TAI64N label (DateTai64n)
)

// A template is one compiled date template. Templates are immutable once
// built and shared between detectors.
type template struct {
	kind      tmplKind
	name      string
	pattern   string // the datepattern, for pattern templates
	regex     string // the Python regular expression fail2ban compiles
	flags     int
	weight    float64 // 100 for the line-start copies of the defaults
	longEpoch bool
	valueGrp  int // group of the epoch value
	re        *regexp2.Regexp
	fields    []field      // named groups used by the conversion, by group number
	groups    int          // number of capturing groups
	pGroup    int          // group number of an AM/PM group, 0 when none
	fast      *fastMatcher // a hand-written matcher of the same expression, or nil
}

// field is a named group whose value the conversion reads.
type field struct {
	key   string
	group int
}

// conversionKeyList are the group names fail2ban's conversion reads; a
// template has at most one group of each name.
const conversionKeyList = "yYmBbdHIMSfAawjUWzZ"

// conversionKeys are the group names fail2ban's conversion reads.
var conversionKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range conversionKeyList {
		m[string(k)] = true
	}
	return m
}()

// SearchBudget bounds one template search over one line. The default
// templates take microseconds; a datepattern that backtracks without end
// (such as ^(?:a|aa)+%Y on a long run of a's) stops here and its line
// fails (ErrLineFailed, wrapping ErrBudget) instead of stalling its jail.
// It is generous so that a loaded machine never fails a sane line.
const SearchBudget = time.Second

// realNow is the real clock; fail2ban uses it (not the test clock) for
// %ExY and for the age of a template's last use.
var realNow = time.Now

// compile builds the template's matcher from its Python expression.
func (t *template) compile() error {
	re, err := translatePy(t.regex)
	if err != nil {
		return badPattern("template %q: %v", t.name, err)
	}
	c, err := regexp2.Compile(re, regexp2.OptionMaintainCaptureOrder())
	if err != nil {
		return badPattern("template %q: %v", t.name, err)
	}
	c.MatchTimeout = SearchBudget
	t.re = c
	for _, n := range c.GetGroupNumbers() {
		if n > t.groups {
			t.groups = n
		}
	}
	if f := fastMatchers[t.regex]; f != nil && t.kind == kindPattern && f.groups == t.groups {
		t.fast = f
	}
	for _, name := range c.GetGroupNames() {
		num := c.GroupNumberFromName(name)
		if num <= 0 || (name[0] >= '0' && name[0] <= '9') {
			continue
		}
		if name == "p" {
			t.pGroup = num
		}
		if conversionKeys[name] {
			t.fields = append(t.fields, field{name, num})
		}
	}
	sort.Slice(t.fields, func(i, j int) bool { return t.fields[i].group < t.fields[j].group })
	return nil
}

// newPatternTemplate is fail2ban's DatePatternRegex.
func newPatternTemplate(pattern string) (*template, error) {
	t := &template{kind: kindPattern, pattern: pattern, weight: 1, valueGrp: 1}
	p, begin, wordEnd := pattern, boundWord, true
	if strings.HasPrefix(p, "{UNB}") {
		p, begin, wordEnd = p[len("{UNB}"):], boundNone, false
	}
	if begin != boundNone && strings.HasPrefix(p, "{^LN-BEG}") {
		p, begin = p[len("{^LN-BEG}"):], boundStart
	}
	regex, name, err := expandCodes(p, yearRE())
	if err != nil {
		return nil, err
	}
	if needsIgnoreCase(p) {
		regex = "(?iu)" + regex
	}
	t.name = name
	t.shape(regex, begin, wordEnd)
	return t, t.compile()
}

func (t *template) shape(regex string, begin beginBound, wordEnd bool) {
	s, lineStart := shapeRegex(regex, begin, wordEnd)
	t.regex, t.flags = s.regex, s.flags
	if lineStart && !strings.HasPrefix(t.name, "{^LN-BEG}") {
		t.name = "{^LN-BEG}" + t.name
	}
}

// epochMarker reports whether s has an {EPOCH} or {LEPOCH} marker (any
// case, not after a backslash), and replaces the markers by repl.
func epochMarker(s, repl string) (string, bool) {
	var b strings.Builder
	found := false
	for i := 0; i < len(s); {
		if s[i] == '{' && (i == 0 || s[i-1] != '\\') {
			for _, m := range []string{"{EPOCH}", "{LEPOCH}"} {
				if len(s)-i >= len(m) && strings.EqualFold(s[i:i+len(m)], m) {
					b.WriteString(repl)
					i += len(m)
					found = true
					goto next
				}
			}
		}
		b.WriteByte(s[i])
		i++
	next:
	}
	return b.String(), found
}

// newEpochTemplate is fail2ban's DateEpoch.
func newEpochTemplate(lineBeginOnly bool, pattern string, long bool) (*template, error) {
	t := &template{kind: kindEpoch, name: "Epoch", weight: 1, valueGrp: 1, longEpoch: long}
	epochRE := `\d{10,11}\b(?:\.\d{3,6})?`
	if long {
		t.name = "LongEpoch"
		epochRE = `\d{10,11}(?:\d{3}(?:\.\d{1,6}|\d{3})?)?`
	}
	switch {
	case pattern != "":
		t.name = pattern
		inner, _ := epochMarker(pattern, "("+epochRE+")")
		t.valueGrp = 2
		t.shape("("+inner+")", boundWord, true)
	case !lineBeginOnly:
		t.shape(`((?:^|(?P<square>(?<=^\[))|(?P<selinux>(?<=\baudit\()))`+epochRE+`)(?:(?(selinux)(?=:\d+\)))|(?(square)(?=\])))`, boundNone, true)
	default:
		t.shape(`((?P<square>(?<=^\[))?`+epochRE+`)(?(square)(?=\]))`, boundStart, true)
	}
	return t, t.compile()
}

// newTAI64NTemplate is fail2ban's DateTai64n.
func newTAI64NTemplate(begin beginBound) (*template, error) {
	t := &template{kind: kindTAI64N, name: "TAI64N", weight: 1, valueGrp: 1}
	t.shape(`@[0-9a-f]{24}`, begin, true)
	return t, t.compile()
}

// templateKey is the key fail2ban caches a pattern's template under.
func templateKey(pattern string) string {
	if strings.Contains(pattern, "%") {
		return pattern
	}
	return strings.ToUpper(pattern)
}

// patternTemplate is fail2ban's _getPatternTemplate: the template a
// datepattern string stands for. key is templateKey(pattern) unless the
// caller gives another.
func patternTemplate(pattern, key string) (*template, error) {
	if key == "" {
		key = templateKey(pattern)
	}
	if t := shared(key); t != nil {
		return t, nil
	}
	if building != nil {
		return buildTemplate(pattern, key)
	}
	memo.Lock()
	t := memo.m[[2]string{pattern, key}]
	memo.Unlock()
	if t != nil {
		return t, nil
	}
	t, err := buildTemplate(pattern, key)
	if err != nil {
		return nil, err
	}
	memo.Lock()
	if len(memo.m) >= memoSize {
		memo.m = nil
	}
	if memo.m == nil {
		memo.m = map[[2]string]*template{}
	}
	memo.m[[2]string{pattern, key}] = t
	memo.Unlock()
	return t, nil
}

// memo keeps the templates built for datepatterns, so that jails with the
// same datepattern (and {DATE} patterns, which build one template per
// default) compile them once. Templates are immutable, so sharing them
// changes nothing.
var memo struct {
	sync.Mutex
	m map[[2]string]*template
}

const memoSize = 1000

func buildTemplate(pattern, key string) (*template, error) {
	if strings.Contains(key, "EPOCH") {
		if _, ok := epochMarker(pattern, ""); ok {
			return newEpochTemplate(false, pattern, strings.Contains(key, "LEPOCH"))
		}
		switch key {
		case "EPOCH", "{^LN-BEG}EPOCH", "^EPOCH":
			return newEpochTemplate(key != "EPOCH", "", false)
		case "LEPOCH", "{^LN-BEG}LEPOCH", "^LEPOCH":
			return newEpochTemplate(key != "LEPOCH", "", true)
		}
	}
	switch key {
	case "TAI64N":
		return newTAI64NTemplate(boundNone)
	case "{^LN-BEG}TAI64N", "^TAI64N":
		return newTAI64NTemplate(boundStart)
	}
	return newPatternTemplate(pattern)
}

// anchoredTemplate is fail2ban's _getAnchoredTemplate: the template made
// from t by wrapping its pattern (or, for Epoch and TAI64N, its name).
func anchoredTemplate(t *template, wrap func(string) string) (*template, error) {
	name := wrap(t.name)
	if s := shared(name); s != nil {
		return s, nil
	}
	if t.kind != kindPattern {
		return patternTemplate(name, "")
	}
	regex := wrap(t.pattern)
	if s := shared(regex); s != nil {
		return s, nil
	}
	return patternTemplate(regex, "")
}

// The default templates, built once: the originals in fail2ban's order,
// and the full default list (line-start copies first, weighted 100, then
// the originals). sharedTemplates holds them by key, as fail2ban's
// template cache does, so that patterns naming them get the same
// templates (and weights).
var (
	defaultsOnce    sync.Once
	defaultsErr     error
	originals       []*template
	allDefaults     []*template
	sharedTemplates map[string]*template
	building        map[string]*template
	exactYear       string
)

func yearRE() string { return exactYear }

func shared(key string) *template {
	if building != nil {
		return building[key]
	}
	return sharedTemplates[key]
}

// initDefaults builds the defaults; it runs once, before any detector.
func initDefaults() error {
	defaultsOnce.Do(func() {
		years := yearPrefixes(LocalZone().localTime(realNow()))
		exactYear = yearRegex(years)
		initFast(years, exactYear)
		building = map[string]*template{}
		defer func() { building = nil }()
		var copies []*template
		for _, p := range defaultPatterns {
			t, err := patternTemplate(p, "")
			if err != nil {
				defaultsErr = err
				return
			}
			building[templateKey(p)] = t
			originals = append(originals, t)
		}
		for _, t := range originals {
			if strings.HasPrefix(t.name, "{^LN-BEG}") || strings.HasPrefix(t.name, "^") {
				continue
			}
			wrap := func(s string) string { return "{^LN-BEG}" + s }
			a, err := anchoredTemplate(t, wrap)
			if err != nil {
				defaultsErr = err
				return
			}
			if a.name == t.name {
				continue
			}
			a.weight = 100
			if t.kind == kindPattern {
				building[templateKey(wrap(t.pattern))] = a
			} else {
				building[templateKey(wrap(t.name))] = a
			}
			copies = append(copies, a)
		}
		allDefaults = append(copies, originals...)
		sharedTemplates = building
	})
	return defaultsErr
}

// localTime is t's wall-clock time in the zone, as a time.Time in UTC
// carrying the local fields (for the year only).
func (z *Zone) localTime(t time.Time) time.Time {
	n := z.localNaive(t.Unix())
	return time.Date(int(n.year), time.Month(n.month), int(n.day), 0, 0, 0, 0, time.UTC)
}
