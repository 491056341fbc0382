package pyre

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// corpus is oracle.py's corpus answer: every regex of every stock filter
// (for every option set its sample log uses), the subjects, and Python's
// re.search result for each pattern on each subject it was asked about.
type corpus struct {
	Python   string          `json:"python"`
	Fail2ban string          `json:"fail2ban"`
	Unidata  string          `json:"unidata"`
	Filters  []string        `json:"filters"`
	Subjects []string        `json:"subjects"`
	Lines    []int           `json:"lines"`
	Patterns []corpusPattern `json:"patterns"`
	Results  [][][]int       `json:"results"` // per pattern: [subject, spans...]
	Searches int             `json:"searches"`
	Seconds  float64         `json:"seconds"`
}

type corpusPattern struct {
	Raw       string         `json:"raw"`
	UseDNS    string         `json:"usedns"`
	Multiline bool           `json:"multiline"`
	Where     []string       `json:"where"`
	Regex     string         `json:"regex"`
	Groups    int            `json:"groups"`
	Names     map[string]int `json:"names"`
	Buffers   []int          `json:"buffers"`
}

var corpusOnce struct {
	sync.Once
	c *corpus
}

func loadCorpus(t testing.TB) *corpus {
	t.Helper()
	python(t)
	corpusOnce.Do(func() {
		var c corpus
		oracle(t, "corpus", nil, &c)
		corpusOnce.c = &c
	})
	if corpusOnce.c == nil {
		t.Fatal("corpus oracle failed earlier")
	}
	return corpusOnce.c
}

// TestCorpusOracle compares pyre with Python on every (pattern, subject)
// pair of fail2ban's stock filters and sample logs: the tag-resolved
// pattern must be fail2ban's, and re.search's span and every group's span
// must be Python's, with and without the Go fast path. Subjects are every
// corpus line (as is and with fail2ban's trailing "\n") for every pattern,
// plus the buffers fail2ban's own Filter searched with that pattern (date
// cut out, multi-line buffers, prefregex content).
func TestCorpusOracle(t *testing.T) {
	c := loadCorpus(t)
	t.Logf("fail2ban %s, Python %s (Unicode %s): %d filters, %d patterns, %d subjects, %d searches in %.2fs",
		c.Fail2ban, c.Python, c.Unidata, len(c.Filters), len(c.Patterns), len(c.Subjects), c.Searches, c.Seconds)
	var diffs []string
	pairs, matched, fast, onBT, split, btAnswered := 0, 0, 0, 0, 0, 0
	var btTime, goTime, netTime time.Duration
	for i, p := range c.Patterns {
		where := strings.Join(p.Where, "; ")
		r, err := Compile(p.Raw, Options{UseDNS: p.UseDNS, Multiline: p.Multiline, Budget: oracleBudget})
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("%s: Compile: %v", where, err))
			continue
		}
		if r.String() != p.Regex {
			diffs = append(diffs, fmt.Sprintf("%s: tags resolved to\n  %q\nfail2ban:\n  %q", where, r.String(), p.Regex))
		}
		if r.Groups() != p.Groups || !sameNames(r, p.Names) {
			diffs = append(diffs, fmt.Sprintf("%s: groups %d %v, Python %d %v", where, r.Groups(), r.names, p.Groups, p.Names))
		}
		slow, err := Compile(p.Raw, Options{UseDNS: p.UseDNS, Multiline: p.Multiline, NoFastPath: true, Budget: oracleBudget})
		if err != nil {
			t.Fatal(err)
		}
		goOnly := withoutMatcher(t, r)
		if r.FastPath() {
			fast++
		}
		if r.bt != nil {
			onBT++
			if r.bt.splits > 0 {
				split++
			}
		}
		want := map[int][]int{}
		for _, res := range c.Results[i] {
			want[res[0]] = res[1:]
		}
		subjects := append(slices.Clone(c.Lines), p.Buffers...)
		slices.Sort(subjects)
		subjects = slices.Compact(subjects)
		for _, si := range subjects {
			s := c.Subjects[si]
			pairs++
			if want[si] != nil {
				matched++
			}
			if r.bt != nil && utf8.ValidString(s) {
				// The matcher alone, without the required-literal
				// check before it.
				if m, ok := r.bt.find(s, false); ok {
					btAnswered++
					if got := spansOf(m); !slices.Equal(got, want[si]) {
						diffs = append(diffs, fmt.Sprintf("%s (pyre's matcher alone) on %q:\n  pyre   %v\n  Python %v",
							where, s, got, want[si]))
					}
				}
			}
			for _, e := range []struct {
				name string
				re   *Regex
				took *time.Duration
			}{{"as Search runs it", r, &btTime}, {"Go's regexp, then regexp2", goOnly, &goTime}, {"regexp2 alone", slow, &netTime}} {
				t0 := time.Now()
				m, err := e.re.Search(s)
				*e.took += time.Since(t0)
				if err != nil {
					diffs = append(diffs, fmt.Sprintf("%s on %q: %v", where, s, err))
					continue
				}
				if got := spansOf(m); !slices.Equal(got, want[si]) {
					diffs = append(diffs, fmt.Sprintf("%s (%s) on %q:\n  pyre   %v\n  Python %v\n  translation %s",
						where, e.name, s, got, want[si], e.re.Translation()))
				}
			}
		}
	}
	t.Logf("%d pairs (%d matches); of %d patterns, %d on pyre's matcher (%d split at a conditional), %d on Go's regexp; the matcher alone answered %d pairs",
		pairs, matched, len(c.Patterns), onBT, split, fast, btAnswered)
	// All but sshd's rfc5424 prefregex ((?:[^\]"]*|"[^"]*")* repeats
	// what can match empty) are on the matcher, and sshd's "Failed"
	// failregexes are split at their conditionals.
	if onBT < len(c.Patterns)-5 || split == 0 {
		t.Errorf("%d of %d stock patterns on pyre's matcher, %d split; want all but a few, some split", onBT, len(c.Patterns), split)
	}
	t.Logf("pyre %v as Search runs it, %v on Go's regexp and regexp2, %v on regexp2 alone; %d differences",
		btTime.Round(time.Millisecond), goTime.Round(time.Millisecond), netTime.Round(time.Millisecond), len(diffs))
	for i, d := range diffs {
		if i == 40 {
			t.Errorf("... and %d more", len(diffs)-i)
			break
		}
		t.Error(d)
	}
}

func sameNames(r *Regex, want map[string]int) bool {
	if len(r.names) != len(want) {
		return false
	}
	for k, v := range want {
		if r.names[k] != v {
			return false
		}
	}
	return true
}

// TestCorpusFilters checks that the oracle saw what the corpus has: the
// stock filters and their sample logs.
func TestCorpusFilters(t *testing.T) {
	c := loadCorpus(t)
	sort.Strings(c.Filters)
	for _, f := range []string{"sshd", "dovecot", "domino-smtp", "zzz-generic-example"} {
		if _, ok := slices.BinarySearch(c.Filters, f); !ok {
			t.Errorf("filter %s missing from the oracle's corpus", f)
		}
	}
	if len(c.Patterns) < 200 || len(c.Lines) < 1000 {
		t.Errorf("corpus too small: %d patterns, %d lines", len(c.Patterns), len(c.Lines))
	}
}
