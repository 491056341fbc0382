package pyre

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestBudget: a pattern that backtracks exponentially stops at its
// budget with ErrBudget on regexp2, and the regex stays usable; on the Go
// fast path (when the pattern allows it) the same search is linear.
func TestBudget(t *testing.T) {
	for _, c := range []struct {
		name, pattern, subject, fine string
	}{
		{"nested repeat", `^(\w+\s?)+$`, strings.Repeat("word ", 40) + "!", "word word"},
		{"overlapping alternatives", `^(?:a|aa)*b`, strings.Repeat("a", 80), "aab"},
		{"back-reference", `^(a+)+\1c`, strings.Repeat("a", 60), "aac"},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, fast := range []bool{true, false} {
				budget := 20 * time.Millisecond
				r, err := Compile(c.pattern, Options{Budget: budget, NoFastPath: !fast})
				if err != nil {
					t.Fatal(err)
				}
				t0 := time.Now()
				m, err := r.Search(c.subject)
				took := time.Since(t0)
				switch {
				case r.FastPath():
					if err != nil || m != nil {
						t.Errorf("Go fast path: %v, %v", m, err)
					}
					t.Logf("Go fast path: no match after %v", took)
				case !errors.Is(err, ErrBudget):
					t.Errorf("regexp2: Search = %v, %v after %v; want ErrBudget", m, err, took)
				default:
					// ErrBudget is the proof it stopped; how late is a
					// benchmark's question, not a test's.
					if strings.Contains(err.Error(), c.subject) {
						t.Errorf("the error quotes the subject: %v", err)
					}
					t.Logf("regexp2: %v after %v", err, took)
				}
				if m, err := r.Search(c.fine); err != nil || m == nil {
					t.Errorf("then Search(%q) = %v, %v", c.fine, m, err)
				}
			}
		})
	}
}

// TestBudgetReDoS takes a stock filter whose regex Python backtracks on
// catastrophically (domino-smtp's second failregex: (?:[^\[]+ )* over
// words, before <HOST> and a long literal), shows Python's time on a
// modest line, and how pyre answers on it and on far longer ones: with
// its shortcuts (the required literal, Go's linear regexp) at once, and on
// regexp2 alone stopped by the budget.
func TestBudgetReDoS(t *testing.T) {
	c := loadCorpus(t)
	var pattern corpusPattern
	for _, p := range c.Patterns {
		for _, w := range p.Where {
			if w == "domino-smtp failregex 1" {
				pattern = p
			}
		}
	}
	if pattern.Raw == "" {
		t.Fatal("domino-smtp failregex 1 not in the corpus")
	}
	// Python's minimum-length check skips lines shorter than the
	// pattern's 54 code points: pad with what no split can use. The
	// second form carries the literal the pattern requires, so only the
	// engine can say no.
	hostile := func(words int) string { return "smtp: " + strings.Repeat("a ", words) + "!!!!!!!!\n" }
	withLiteral := func(words int) string {
		return "smtp: " + strings.Repeat("a ", words) + "! authentication failure using internet password\n"
	}

	for _, line := range []string{hostile(22), withLiteral(16)} {
		var py struct {
			Seconds float64 `json:"seconds"`
			Matched bool    `json:"matched"`
		}
		oracle(t, "time", map[string]any{"pattern": pattern.Regex, "subject": line}, &py)
		t.Logf("Python re.search, domino-smtp failregex on a %d-byte line: %.2fs, matched %v (2 more words: about 4x)",
			len(line), py.Seconds, py.Matched)
	}

	budget := 50 * time.Millisecond
	for _, o := range []Options{{Budget: budget}, {Budget: budget, NoFastPath: true}} {
		o.UseDNS = pattern.UseDNS
		r, err := Compile(pattern.Raw, o)
		if err != nil {
			t.Fatal(err)
		}
		how := "pyre"
		if o.NoFastPath {
			how = "pyre on regexp2 alone"
		} else if !r.FastPath() {
			t.Errorf("the domino-smtp failregex is expected on Go's regexp")
		}
		for _, line := range []string{hostile(22), withLiteral(16), withLiteral(40), withLiteral(400)} {
			t0 := time.Now()
			m, err := r.Search(line)
			took := time.Since(t0)
			switch {
			case o.NoFastPath && !errors.Is(err, ErrBudget):
				t.Errorf("%s, %d-byte line: Search = %v, %v after %v; want ErrBudget", how, len(line), m, err, took)
			case !o.NoFastPath && (err != nil || m != nil):
				t.Errorf("%s, %d-byte line: Search = %v, %v after %v; want no match", how, len(line), m, err, took)
			default:
				t.Logf("%s, %d-byte line: %v after %v", how, len(line), errOrNoMatch(err), took.Round(time.Microsecond))
			}
		}
		// The filter still matches its real line.
		good := "smtp: Someone Somewhere [192.0.2.4] authentication failure using internet password\n"
		if m, err := r.Search(good); err != nil || m == nil {
			t.Errorf("%s, real line: %v, %v", how, m, err)
		} else if ip, _ := m.Group("ip4"); ip != "192.0.2.4" {
			t.Errorf("%s, real line: ip4 = %q", how, ip)
		}
	}
}

func errOrNoMatch(err error) any {
	if err != nil {
		return err
	}
	return "no match"
}
