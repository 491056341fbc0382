package dates

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// Differential test on random datepatterns: random sequences of codes and
// separators, optional parts, anchors and markers, with lines rendered from
// the same sequence (values valid or not), so that odd combinations of
// fields (%p without %I, %j with %m, %U without a weekday, two zones) meet
// fail2ban's conversion.

var randCodes = []string{
	"%Y", "%y", "%m", "%d", "%H", "%M", "%S", "%f", "%b", "%B", "%a", "%A", "%p", "%I",
	"%l", "%k", "%j", "%z", "%Z", "%Exz", "%ExZ", "%ExY", "%Exy", "%Exm", "%Exd",
	"%ExH", "%ExM", "%ExS", "%Exk", "%Exl", "%w", "%U", "%W", "%%",
}

// renderCode writes a value for a code, usually a valid one.
func renderCode(r *rand.Rand, c string) string {
	n := func(lo, hi, width int) string { return fmt.Sprintf("%0*d", width, lo+r.Intn(hi-lo+1)) }
	bad := r.Intn(10) == 0
	switch c {
	case "%Y", "%ExY":
		return []string{"2005", "2004", "2024", "2026", "1999", "0000"}[r.Intn(6)]
	case "%y", "%Exy":
		return n(0, 99, 2)
	case "%m", "%Exm":
		if bad {
			return "13"
		}
		return n(1, 12, 2)
	case "%d", "%Exd":
		if bad {
			return "31"
		}
		return n(1, 28, 1+r.Intn(2))
	case "%H", "%ExH", "%k", "%Exk":
		if bad {
			return "24"
		}
		return n(0, 23, 2)
	case "%M", "%ExM", "%S", "%ExS":
		return n(0, 59, 2)
	case "%I", "%l", "%Exl":
		return n(1, 12, 1)
	case "%f":
		return n(0, 999999, 1+r.Intn(6))
	case "%b":
		return monthsShort[r.Intn(12)]
	case "%B":
		return []string{"January", "february", "MAY", "September"}[r.Intn(4)]
	case "%a":
		return daysShort[r.Intn(7)]
	case "%A":
		return []string{"Monday", "sunday", "WEDNESDAY"}[r.Intn(3)]
	case "%p":
		return []string{"AM", "PM", "am", "pm"}[r.Intn(4)]
	case "%j":
		return n(1, 366, 3)
	case "%z", "%Exz":
		return []string{"+0100", "-05:00", "Z", "UTC", "GMT", "+02", "CET+01", "PDT"}[r.Intn(8)]
	case "%Z", "%ExZ":
		return []string{"CET", "CEST", "UTC", "PDT", "ABC", "Z", "NPT"}[r.Intn(7)]
	case "%w":
		return n(0, 6, 1)
	case "%U", "%W":
		return n(0, 53, 2)
	case "%%":
		return "%"
	}
	return c
}

// codeGroup is the group a code defines: a pattern may define each once.
func codeGroup(c string) string {
	switch c {
	case "%k", "%Exk", "%ExH":
		return "H"
	case "%l", "%Exl":
		return "I"
	case "%%":
		return ""
	}
	return c[len(c)-1:]
}

func randPattern(r *rand.Rand) (pattern string, render func() string) {
	seps := []string{"-", "/", ":", " ", ".", "T", ",", ""}
	var parts []string
	var optional []bool
	used := map[string]bool{}
	for i, k := 0, 2+r.Intn(5); i < k; i++ {
		c := randCodes[r.Intn(len(randCodes))]
		for used[codeGroup(c)] && r.Intn(20) > 0 {
			c = randCodes[r.Intn(len(randCodes))]
		}
		if g := codeGroup(c); g != "" {
			used[g] = true
		}
		parts = append(parts, c)
		optional = append(optional, r.Intn(6) == 0)
		if i < k-1 {
			parts = append(parts, seps[r.Intn(len(seps))])
			optional = append(optional, false)
		}
	}
	prefix := []string{"", "", "^", "{^LN-BEG}", "{UNB}", "**"}[r.Intn(6)]
	suffix := []string{"", "", "", "$", "**"}[r.Intn(5)]
	var b strings.Builder
	b.WriteString(prefix)
	for i, p := range parts {
		lit := p
		if !strings.HasPrefix(p, "%") {
			lit = strings.NewReplacer(".", `\.`, "/", `/`).Replace(p)
		}
		if optional[i] {
			b.WriteString("(?:" + lit + " )?")
		} else {
			b.WriteString(lit)
		}
	}
	b.WriteString(suffix)
	render = func() string {
		var l strings.Builder
		for i, p := range parts {
			v := p
			if strings.HasPrefix(p, "%") {
				v = renderCode(r, p)
			}
			if optional[i] {
				if r.Intn(2) == 0 {
					continue
				}
				v += " "
			}
			l.WriteString(v)
		}
		return l.String()
	}
	return b.String(), render
}

func TestOracleRandomPatterns(t *testing.T) {
	needOracle(t)
	t.Parallel()
	r := rand.New(rand.NewSource(42))
	n := 600
	if testing.Short() {
		n = 60
	}
	var jobs []linesJob
	for i := 0; i < n; i++ {
		p, render := randPattern(r)
		j := linesJob{Pattern: strp(p)}
		if i%7 == 0 {
			j.LogTimeZone = strp("UTC-0230")
		}
		for k := 0; k < 12; k++ {
			line := render()
			switch r.Intn(4) {
			case 0:
				line = genPrefixes[r.Intn(len(genPrefixes))] + line
			case 1:
				line += genSuffixes[r.Intn(len(genSuffixes))]
			}
			j.Lines = append(j.Lines, line)
		}
		jobs = append(jobs, j)
	}
	tally := map[string]int{}
	checked := compareLinesTally(t, testTZ, testNow, jobs, tally)
	t.Logf("random patterns: %d patterns, %d line checks, fail2ban outcomes %v", n, checked, tally)
}
