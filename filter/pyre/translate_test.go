package pyre

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// none marks a group that did not take part in a match.
const none = "∅"

// constructCases are one or more cases per construct of Python's re, with
// what Python answers (TestConstructsOracle checks the answers against
// Python itself, spans included).
var constructCases = []struct {
	name      string
	pattern   string
	subject   string
	multiline bool
	match     bool     // re.match rather than re.search
	want      []string // group 0, 1, ...; nil: no match
}{
	{"literal", `b`, "abc", false, false, []string{"b"}},
	{"search finds the first", `\d+`, "a12b345", false, false, []string{"12"}},
	{"match is anchored", `\d+`, "a12", false, true, nil},
	{"match at start", `a\d`, "a12", false, true, []string{"a1"}},
	{"named group", `(?P<user>\w+)@`, "bob@host", false, false, []string{"bob@", "bob"}},
	{"named back-reference", `(?P<q>['"]).*?(?P=q)`, `x 'a"b' y`, false, false, []string{`'a"b'`, "'"}},
	{"numbered back-reference", `(a|b)\1`, "abba", false, false, []string{"bb", "b"}},
	{"back-reference under (?i)", `(?i)(ab)\1`, "xAbaB", false, false, []string{"AbaB", "Ab"}},
	{"back-reference to a group that did not take part fails", `(a)?b\1`, "b", false, false, nil},
	{"lookahead", `foo(?=bar)`, "foobaz foobar", false, false, []string{"foo"}},
	{"negative lookahead", `foo(?!bar)`, "foobar foobaz", false, false, []string{"foo"}},
	{"lookbehind", `(?<=user=)\w+`, "x user=bob", false, false, []string{"bob"}},
	{"negative lookbehind", `(?<!x)y`, "xy zy", false, false, []string{"y"}},
	{"lookbehind with a group", `(?<=(?P<k>a|b)=)\d`, "b=1", false, false, []string{"1", "b"}},
	{"conditional on a name, yes", `(?P<b><)?\w+(?(b)>|$)`, "<tag>", false, false, []string{"<tag>", "<"}},
	{"conditional on a name, no", `(?P<b><)?\w+(?(b)>|$)`, "tag", false, false, []string{"tag", none}},
	{"conditional on a number", `(\[)?\d+(?(1)\])`, "[42]", false, false, []string{"[42]", "["}},
	{"conditional without no-branch", `(a)?(?(1)b)c`, "c", false, false, []string{"c", none}},
	{"conditional on a later group", `(?(2)x|y)(a)?(b)?`, "yab", false, false, []string{"yab", "a", "b"}},
	{"global (?i)", `(?i)FAIL`, "a fail", false, false, []string{"fail"}},
	{"local (?i:...)", `a(?i:B)c`, "aBc abC", false, false, []string{"aBc"}},
	{"local (?-i:...)", `(?i)a(?-i:B)c`, "Abc ABC", false, false, []string{"ABC"}},
	{"(?i) Kelvin sign", `(?i)k`, "\u212a", false, false, []string{"\u212a"}},
	{"(?i) long s", `(?i)S`, "\u017f", false, false, []string{"\u017f"}},
	{"(?i) dotless i is not i", `(?i)i`, "\u0131", false, false, []string{"\u0131"}},
	{"(?i) class", `(?i)[a-c]+`, "xABCd", false, false, []string{"ABCd"[:3]}},
	{"(?i) non-BMP literal", "(?i)\U00010400", "\U00010428", false, false, []string{"\U00010428"}},
	{"(?i) non-BMP alternation is a set", "(?i)(?:\U00010400|a)", "\U00010400", false, false, nil},
	{"(?ai) ASCII folding", `(?ai)k`, "\u212a", false, false, nil},
	{`\A`, `\Ab`, "ab b", false, false, nil},
	{`\Z is the very end`, `a\Z`, "a\n", false, false, nil},
	{`$ before a final newline`, `a$`, "a\n", false, false, []string{"a"}},
	{`$ not before an inner newline`, `a$`, "a\nb", false, false, nil},
	{`(?m) $`, `a$`, "a\nb", true, false, []string{"a"}},
	{`(?m) ^`, `^b`, "a\nb", true, false, []string{"b"}},
	{`^ without (?m)`, `^b`, "a\nb", false, false, nil},
	{`^ after a final newline with (?m)`, `(?m)^$`, "a\n", false, false, []string{""}},
	{`\s* eats the final newline`, `a\s*$`, "a \n", false, false, []string{"a \n"}},
	{`\d is Unicode`, `\d+`, "x\u0663\u0664", false, false, []string{"\u0663\u0664"}},
	{`\d is not superscript`, `\d`, "\u00b2", false, false, nil},
	{`\w takes superscripts (No)`, `\w+`, "x\u00b2", false, false, []string{"x\u00b2"}},
	{`\w has no combining marks`, `\w+`, "e\u0301", false, false, []string{"e"}},
	{`\s takes \x1c`, `\s`, "a\x1cb", false, false, []string{"\x1c"}},
	{`\s has no zero width space`, `\s`, "\u200b", false, false, nil},
	{`(?a)\w`, `(?a)\w+`, "é1", false, false, []string{"1"}},
	{`\b Unicode`, `\bé`, "xé é", false, false, []string{"é"}},
	{`\b with (?a)`, `(?a)\bé`, "xé", false, false, []string{"é"}},
	{`\B`, `a\B`, "a ab", false, false, []string{"a"}},
	{`\B in an empty string`, `\B`, "", false, false, nil},
	{`\b in an empty string`, `\b`, "", false, false, nil},
	{"dot", `a.c`, "a\nc abc", false, false, []string{"abc"}},
	{"(?s) dot", `(?s)a.c`, "a\nc", false, false, []string{"a\nc"}},
	{"class escapes", `[\]\-\\]+`, `x]-\y`, false, false, []string{`]-\`}},
	{"class with a category and a dash", `[\d-]+`, "a1-2b", false, false, []string{"1-2"}},
	{"first ] is literal", `[]a]+`, "x]a", false, false, []string{"]a"}},
	{"negated class", `[^\W\d_]+`, "_12ab3", false, false, []string{"ab"}},
	{"\\b in a class is backspace", `[\b]`, "a\bb", false, false, []string{"\b"}},
	{"hex, octal and unicode escapes", `\x41\101\u00e9\U0001F600`, "AAé😀", false, false, []string{"AAé😀"}},
	{"\\0 is NUL", `a\0`, "a\x00", false, false, []string{"a\x00"}},
	{"escaped space", `a\ b`, "a b", false, false, []string{"a b"}},
	{"{m,n}", `a{2,3}`, "aaaa", false, false, []string{"aaa"}},
	{"{,n}", `a{,2}b`, "aaab", false, false, []string{"aab"}},
	{"{m,}", `a{2,}`, "a aaaa", false, false, []string{"aaaa"}},
	{"{m}", `a{2}`, "aaa", false, false, []string{"aa"}},
	{"{ alone is literal", `a{`, "a{", false, false, []string{"a{"}},
	{"{} is literal", `a{}`, "a{}", false, false, []string{"a{}"}},
	{"unfinished {m, is literal", `a{1,x`, "a{1,x", false, false, []string{"a{1,x"}},
	{"lazy", `<.+?>`, "<a><b>", false, false, []string{"<a>"}},
	{"lazy {m,n}?", `a{2,4}?`, "aaaa", false, false, []string{"aa"}},
	{"possessive", `a*+a`, "aaa", false, false, nil},
	{"atomic", `(?>a|ab)c`, "abc", false, false, nil},
	{"verbose", `(?x) a \  b # comment`, "a b", false, false, []string{"a b"}},
	{"verbose keeps class spaces", `(?x)[ ]`, "a b", false, false, []string{" "}},
	{"comment group", `a(?#note)b`, "ab", false, false, []string{"ab"}},
	{"empty alternative", `a(?:b|)c`, "ac", false, false, []string{"ac"}},
	{"last iteration's capture", `(?:(\w)\s?)+`, "a b c", false, false, []string{"a b c", "c"}},
	{"a capture survives a later iteration", `(?:(a)|b)+`, "ab", false, false, []string{"ab", "a"}},
	{"repeat of an empty-matching group", `(a*)+b`, "b", false, false, []string{"b", ""}},
	{"repeat of a lookahead", `(?=a)*a`, "a", false, false, []string{"a"}},
	{"byte offsets past non-ASCII", `(?P<u>\S+)$`, "héllo wörld", false, false, []string{"wörld", "wörld"}},
	{"(?m) with Options.Multiline", `^b$`, "a\nb\nc", true, false, []string{"b"}},
	{"global flags before a comment", `(?#x)(?i)A`, "a", false, false, []string{"a"}},
	{"((?i)x) becomes local", `((?i)x)y`, "XY Xy", false, false, []string{"Xy"}},
	{"a lookbehind the pattern guarantees", `(?:a:)+(?<=:)b`, "a:a:b", false, false, []string{"a:a:b"}},
	{"a lookbehind after an optional part stays", `(?:ab)?(?<=b)c`, "xbc", false, false, []string{"c"}},
	{"a negative lookbehind the pattern guarantees", `x(?<!y)z`, "yz xz", false, false, []string{"xz"}},
	{"IPv6 <ADDR>", `<ADDR>`, "from [2001:db8::1]:22", false, false, []string{"[2001:db8::1]", none, "2001:db8::1"}},
	{"IPv6 <ADDR> ending in ::", `<ADDR>$`, "from 2001:db8::", false, false, []string{"2001:db8::", none, "2001:db8::"}},
	{"a required literal", `fail(ed)? for \S+`, "failed for bob", false, false, []string{"failed for bob", "ed"}},
}

func TestSimplify(t *testing.T) {
	for _, c := range []struct {
		pattern    string
		lookbehind bool   // a lookbehind is left in the translation
		literal    string // requiredLiteral
	}{
		{`<HOST>`, false, ""},
		{`^\s*<ADDR>\s+\S+\s+Incorrect token used\.`, false, "Incorrect token used."},
		{`(?:a:)+(?<=:)b`, false, "a:"},
		{`(?:ab)?(?<=b)c`, true, "c"},
		{`(?:ab|)(?<=b)c`, true, "c"},
		{`x(?<!y)z`, false, "xz"},
		{`x(?<!x)z`, true, "x"},
		{`(?i)fail for`, false, " "},
		{`a(?:bc|bd)e`, false, "ab"}, // Python factors the b out
		{`(a)(bcd)+ef`, false, "bcd"},
		{`\x{fffd}`[:0] + "\ufffdab", false, "ab"},
	} {
		r, err := Compile(c.pattern, Options{})
		if err != nil {
			t.Fatal(err)
		}
		tr := r.Translation()
		if got := strings.Contains(tr, "(?<=") || strings.Contains(tr, "(?<!"); got != c.lookbehind {
			t.Errorf("%q: lookbehind left = %v, want %v: %s", c.pattern, got, c.lookbehind, r.Translation())
		}
		if r.lit.lit != c.literal {
			t.Errorf("%q: required literal %q, want %q", c.pattern, r.lit.lit, c.literal)
		}
	}
}

func TestConstructs(t *testing.T) {
	for _, c := range constructCases {
		t.Run(c.name, func(t *testing.T) {
			for _, v := range []string{"as is", "without pyre's matcher", "regexp2 alone"} {
				r, err := Compile(c.pattern, Options{Multiline: c.multiline, NoFastPath: v == "regexp2 alone"})
				if err != nil {
					t.Fatalf("Compile(%q): %v", c.pattern, err)
				}
				if v == "without pyre's matcher" {
					r.bt = nil
				}
				find := r.Search
				if c.match {
					find = r.Match
				}
				m, err := find(c.subject)
				if err != nil {
					t.Fatal(err)
				}
				if got := groupTexts(m, r.Groups()); !slices.Equal(got, c.want) {
					t.Errorf("%q on %q (%s, fast path %v): got %q, want %q\ntranslation %s",
						c.pattern, c.subject, v, r.FastPath(), got, c.want, r.Translation())
				}
			}
		})
	}
}

func groupTexts(m *Match, n int) []string {
	if m == nil {
		return nil
	}
	out := make([]string, n+1)
	for g := range out {
		s, ok := m.GroupN(g)
		if !ok {
			s = none
		}
		out[g] = s
	}
	return out
}

// TestConstructsOracle checks the table above against Python: spans of
// every group (the table only has their texts).
func TestConstructsOracle(t *testing.T) {
	var qs []matchQuery
	for _, c := range constructCases {
		op := "search"
		if c.match {
			op = "match"
		}
		// Compile rewrites ((?i)x) as fail2ban does; ask Python about
		// the pattern as compiled.
		r, err := Compile(c.pattern, Options{Multiline: c.multiline})
		if err != nil {
			t.Fatal(err)
		}
		qs = append(qs, matchQuery{Pattern: r.String(), Multiline: c.multiline, Subject: c.subject, Op: op})
	}
	answers := pythonMatches(t, qs)
	for i, c := range constructCases {
		a := answers[i]
		if a.Error != "" {
			t.Errorf("%s: Python refuses %q: %s", c.name, c.pattern, a.Error)
			continue
		}
		r, _ := Compile(c.pattern, Options{Multiline: c.multiline})
		slow, _ := Compile(c.pattern, Options{Multiline: c.multiline, NoFastPath: true})
		for _, r := range []*Regex{r, withoutMatcher(t, r), slow} {
			find := r.Search
			if c.match {
				find = r.Match
			}
			m, _ := find(c.subject)
			if got := spansOf(m); !slices.Equal(got, a.Spans) {
				t.Errorf("%s: %q on %q (matcher %v, fast path %v): pyre %v, Python %v",
					c.name, c.pattern, c.subject, r.bt != nil, r.FastPath(), got, a.Spans)
			}
		}
	}
}

// errorCases are patterns Python refuses, with Python's message.
var errorCases = []struct {
	pattern string
	msg     string // Python's str(exception)
}{
	{`a**`, "multiple repeat at position 2"},
	{`*a`, "nothing to repeat at position 0"},
	{`^*`, "nothing to repeat at position 1"},
	{`(?<=a+)b`, "look-behind requires fixed-width pattern"},
	{`(?<=a|bc)d`, "look-behind requires fixed-width pattern"},
	{`(?P<1a>x)`, "bad character in group name '1a' at position 4"},
	{`(?P=nope)`, "unknown group name 'nope' at position 4"},
	{`(?P<a>x)(?P<a>y)`, "redefinition of group name 'a' as group 2; was group 1 at position 12"},
	{`\q`, `bad escape \q at position 0`},
	{`[\A]`, `bad escape \A at position 1`},
	{`[z-a]`, "bad character range z-a at position 1"},
	{`[\d-z]`, `bad character range \d-z at position 1`},
	{`(`, "missing ), unterminated subpattern at position 0"},
	{`a)`, "unbalanced parenthesis at position 1"},
	{`a(?i)`, "global flags not at the start of the expression at position 1"},
	{`(?(1)a|b|c)(x)`, "conditional backref with more than two branches at position 8"},
	{`(?(2)a)(x)`, "invalid group reference 2 at position 3"},
	{`\9`, "invalid group reference 9 at position 1"},
	{`(a\1)`, "cannot refer to an open group at position 2"},
	{`(?P<a>x)(?<=(?P=a))`, ""}, // allowed: group a is closed and outside
	{`(?<=(?P<a>x)(?P=a))`, "cannot refer to group defined in the same lookbehind subpattern at position 18"},
	{`x{3,2}`, "min repeat greater than max repeat at position 2"},
	{`(?z)`, "unknown extension ?z at position 1"},
	{`(?Px)`, "unknown extension ?Px at position 1"},
	{`a\`, "bad escape (end of pattern) at position 1"},
	{`[a`, "unterminated character set at position 0"},
	{`\x4`, `incomplete escape \x4 at position 0`},
	{`\U00110000`, `bad escape \U00110000 at position 0`},
	{`[\400]`, `octal escape value \400 outside of range 0-0o377 at position 1`},
	{`\777`, `octal escape value \777 outside of range 0-0o377 at position 0`},
	{`(?i-i:a)`, "bad inline flags: flag turned on and off at position 5"},
	{`(?L)a`, "bad inline flags: cannot use 'L' flag with a str pattern at position 3"},
	{`(?-a:x)`, "bad inline flags: cannot turn off flags 'a', 'u' and 'L' at position 4"},
	{`(?au)x`, "bad inline flags: flags 'a', 'u' and 'L' are incompatible at position 4"},
	{`(?#abc`, "missing ), unterminated comment at position 0"},
	{"(?x)\n(", "missing ), unterminated subpattern at position 5 (line 2, column 1)"},
	{`a{4294967295}`, "the repetition number is too large"},
	{`(?P<a`, "missing >, unterminated name at position 4"},
	{`(?P<>x)`, "missing group name at position 4"},
	{`(?<x)`, "unknown extension ?<x at position 1"},
}

func TestSyntaxErrors(t *testing.T) {
	for _, c := range errorCases {
		_, err := CompilePython(c.pattern, Options{})
		if c.msg == "" {
			if err != nil {
				t.Errorf("%q: %v, want accepted", c.pattern, err)
			}
			continue
		}
		var se *SyntaxError
		if !errors.As(err, &se) || !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: err = %v, want a SyntaxError", c.pattern, err)
			continue
		}
		if got := se.PythonMessage(); got != c.msg {
			t.Errorf("%q: %q, want Python's %q", c.pattern, got, c.msg)
		}
	}
}

// TestSyntaxErrorsOracle checks the messages above are Python's.
func TestSyntaxErrorsOracle(t *testing.T) {
	var qs []matchQuery
	for _, c := range errorCases {
		qs = append(qs, matchQuery{Pattern: c.pattern})
	}
	for i, a := range pythonMatches(t, qs) {
		if a.Error != errorCases[i].msg && !strings.HasSuffix(a.Error, ": "+errorCases[i].msg) {
			t.Errorf("%q: Python says %q, the table %q", errorCases[i].pattern, a.Error, errorCases[i].msg)
		}
	}
}

func TestUnsupported(t *testing.T) {
	for _, p := range []string{`\N{EM DASH}`, `a{2147483648}`} {
		_, err := CompilePython(p, Options{})
		if !errors.Is(err, ErrUnsupported) {
			t.Errorf("%q: %v, want ErrUnsupported", p, err)
		}
		if err != nil && !strings.Contains(err.Error(), "unsupported construct") {
			t.Errorf("%q: %v does not name the construct", p, err)
		}
	}
}

func TestOptions(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want error
	}{
		{Options{UseDNS: "maybe"}, ErrOption},
		{Options{Budget: -1}, ErrOption},
		{Options{UseDNS: "RAW"}, nil},
	} {
		_, err := Compile(`<HOST>`, c.o)
		if !errors.Is(err, c.want) {
			t.Errorf("%+v: %v, want %v", c.o, err, c.want)
		}
	}
	for _, p := range []string{"", "  \t", "\u3000"} {
		if _, err := Compile(p, Options{}); !errors.Is(err, ErrEmpty) {
			t.Errorf("Compile(%q): %v, want ErrEmpty", p, err)
		}
	}
}

func ExampleCompile() {
	r, _ := Compile(`^\s*<ADDR>\s+\S+\s+Incorrect token used\.`, Options{})
	m, _ := r.Search(" 192.0.2.7 bob Incorrect token used.\n")
	fmt.Println(m.Fields())
	// Output: map[ip4:192.0.2.7]
}

// TestConcurrent shares one Regex between goroutines, on both engines and
// both operations (run it with -race).
func TestConcurrent(t *testing.T) {
	for _, o := range []Options{{}, {NoFastPath: true}} {
		r, err := Compile(`from <HOST> port (?P<port>\d+)`, o)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		for i := range 8 {
			go func() {
				var err error
				for j := range 200 {
					line := fmt.Sprintf("from 192.0.2.%d port %d", i, j)
					m, e := r.Search("x " + line)
					m2, e2 := r.Match(line)
					if e != nil || e2 != nil || m == nil || m2 == nil || m.Fields()["port"] != fmt.Sprint(j) {
						err = fmt.Errorf("%q: %v %v %v %v", line, m, e, m2, e2)
						break
					}
				}
				done <- err
			}()
		}
		for range 8 {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	}
}

// TestTrickyOracle compares pyre with Python where backtracking engines
// are known to differ: repeats over bodies that can match empty (which
// iteration counts, which captures survive) and captures inside
// lookbehinds (.NET matches them right to left, Python left to right).
func TestTrickyOracle(t *testing.T) {
	patterns := []string{
		`(a|)*b`, `(a?)*b`, `(a*)*b`, `(a*)+b`, `(?:(a)|b|)*c`, `(a|b|)+?c`, `(a?)+?b`,
		`((a)|(b)|)*c`, `(?:a*(b)?)*c`, `(a*?)*?b`, `(?:x|(a)?)*b`, `(a?){2,3}b`, `(?:(a)?){2}b`,
		`(a|)*`, `(a*)*$`, `(?:(a)|)*?$`, `(\b)*a`, `(?:(?=(a)))*a`, `(a?)*?$`, `((?:a|)*)*b`,
		`(?<=(a)b)c`, `(?<=(a|b))c\1`, `(?<!(a))b`, `(a)(?<=\1)`, `(?<=a(b|c))d`,
		`(?<=(ab|cd))e?\1`, `(a)?(?<=(?(1)a|b))c`, `(?<=(a)(b))c\2\1`, `(?<=((a)|b))c`,
	}
	subjects := []string{"b", "ab", "aab", "abab", "c", "ac", "bc", "abc", "bac", "", "a", "aa",
		"xb", "xab", "abca", "abcba", "acdd", "cdecd", "abcb"}
	var qs []matchQuery
	for _, p := range patterns {
		for _, s := range subjects {
			qs = append(qs, matchQuery{Pattern: p, Subject: s, Op: "search"})
		}
	}
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
		slow, err := CompilePython(q.Pattern, Options{NoFastPath: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range []*Regex{r, withoutMatcher(t, r), slow} {
			m, err := r.Search(q.Subject)
			if err != nil {
				t.Fatal(err)
			}
			if got := spansOf(m); !slices.Equal(got, answers[i].Spans) {
				t.Errorf("%q on %q (matcher %v, fast path %v): pyre %v, Python %v", q.Pattern, q.Subject, r.bt != nil, r.FastPath(), got, answers[i].Spans)
			}
		}
	}
}
