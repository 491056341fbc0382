package pyre

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func fuzzSeeds(f *testing.F) {
	for _, c := range constructCases {
		f.Add(c.pattern, c.subject, c.multiline)
	}
	for _, c := range errorCases {
		f.Add(c.pattern, "abc", false)
	}
	for _, p := range tagPatterns {
		f.Add(p, "from 192.0.2.1 port 22", false)
	}
	f.Add(`^\s*<ADDR>\s+\S+\s+Incorrect token used\.`, " 192.0.2.1 bob Incorrect token used.\n", false)
	f.Add(`^<F-ID/> <F-TUPLE_ID>\S+</F-TUPLE_ID>$`, "a b\n", true)
	f.Add(`(?i)A`, "A\x84000", false) // an invalid byte is one code point
}

// checkMatch checks a match is well formed: spans in order, inside the
// subject, on code point boundaries (an invalid byte is one U+FFFD).
func checkMatch(t *testing.T, r *Regex, s string, m *Match) {
	t.Helper()
	if m == nil {
		return
	}
	boundary := map[int]bool{len(s): true}
	for i := range s {
		boundary[i] = true
	}
	if len(m.loc) != 2*(r.Groups()+1) {
		t.Fatalf("%q on %q: %d offsets for %d groups", r, s, len(m.loc), r.Groups())
	}
	for g := 0; g <= r.Groups(); g++ {
		a, b := m.GroupSpan(g)
		if a == -1 && b == -1 && g > 0 {
			continue
		}
		if a < 0 || b < a || b > len(s) || !boundary[a] || !boundary[b] {
			t.Fatalf("%q on %q: group %d span %d..%d", r, s, g, a, b)
		}
	}
	m.Fields()
}

// FuzzCompile: Compile never panics; a pattern it accepts searches and
// matches any subject without panicking, answering a match, no match or
// ErrBudget; a pattern it refuses is refused as Python would refuse it or
// as a construct pyre names, never by regexp2 choking on the translation.
func FuzzCompile(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, pattern, subject string, multiline bool) {
		r, err := Compile(pattern, Options{Multiline: multiline, Budget: 10 * time.Millisecond})
		if err != nil {
			if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrEmpty) {
				t.Fatalf("Compile(%q): %v", pattern, err)
			}
			return
		}
		for _, find := range []func(string) (*Match, error){r.Search, r.Match} {
			m, err := find(subject)
			if err != nil && !errors.Is(err, ErrBudget) {
				t.Fatalf("%q on %q: %v", r, subject, err)
			}
			checkMatch(t, r, subject, m)
		}
	})
}

// FuzzTranslate cross-checks pyre's two translations: where Go's regexp
// serves a pattern, regexp2 must give the same spans on every subject Go's
// translation accepts. (Python in the loop is too slow for fuzzing:
// TestRandomOracle compares a deterministic sample with Python.)
func FuzzTranslate(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, pattern, subject string, multiline bool) {
		fast, err := CompilePython(pattern, Options{Multiline: multiline, Budget: 10 * time.Millisecond})
		if err != nil || !fast.FastPath() || !fast.goOK(subject) {
			return
		}
		fast.bt = nil // Go's regexp itself (FuzzBacktrack checks pyre's matcher)
		slow, err := CompilePython(pattern, Options{Multiline: multiline, Budget: 10 * time.Millisecond, NoFastPath: true})
		if err != nil {
			t.Fatal(err)
		}
		for _, anchored := range []bool{false, true} {
			mf, errf := fast.find(subject, anchored)
			ms, errs := slow.find(subject, anchored)
			if errs != nil {
				continue // regexp2 ran out of budget; Go's regexp cannot
			}
			if errf != nil {
				t.Fatal(errf)
			}
			if a, b := spansOf(mf), spansOf(ms); !slices.Equal(a, b) {
				t.Fatalf("%q on %q (anchored %v): Go regexp %v, regexp2 %v\nGo:      %s\nregexp2: %s",
					pattern, subject, anchored, a, b, goSource(fast), slow.Translation())
			}
		}
	})
}

func goSource(r *Regex) string {
	src, _, _ := emit(r.tree, flavourRE2)
	return src
}
