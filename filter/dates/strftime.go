package dates

import (
	"strconv"
	"strings"
	"time"
)

// The strftime-like codes of a datepattern, as fail2ban 1.0.2 maps them to
// regular expressions (its timeRE, built on Python's _strptime in the C
// locale, with fail2ban's own and "Ex" exact codes) and to the words it
// uses in template names.

type code struct {
	regex string
	name  string
}

const (
	weekdaysAbbr = `(?P<a>mon|tue|wed|thu|fri|sat|sun)`
	monthsAbbr   = `(?P<b>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)`
	zoneAbbrRE   = `[A-Z](?:[A-Z]{2,4})?`
)

var codes = map[string]code{
	"%": {`%`, "%"},
	"a": {weekdaysAbbr, "DAY"},
	"A": {`(?P<A>wednesday|thursday|saturday|tuesday|monday|friday|sunday)`, "DAYNAME"},
	"b": {monthsAbbr, "MON"},
	"B": {`(?P<B>september|february|november|december|january|october|august|march|april|june|july|may)`, "MONTH"},
	"c": {weekdaysAbbr + `\s+` + monthsAbbr + `\s+(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])\s+(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)\s+(?P<Y>\d\d\d\d)`, "%c"},
	"d": {`(?P<d>[1-2]\d|[0 ]?[1-9]|3[0-1])`, "Day"},
	"f": {`(?P<f>[0-9]{1,6})`, "Microseconds"},
	"G": {`(?P<G>\d\d\d\d)`, "%G"},
	"H": {`(?P<H>[0-1]?\d|2[0-3])`, "24hour"},
	"I": {`(?P<I>1[0-2]|0[1-9]|[1-9])`, "12hour"},
	"j": {`(?P<j>36[0-6]|3[0-5]\d|[1-2]\d\d|0[1-9]\d|00[1-9]|[1-9]\d|0[1-9]|[1-9])`, "Yearday"},
	"k": {` ?(?P<H>[0-2]?\d)`, "%k"},
	"l": {` ?(?P<I>1?\d)`, "%l"},
	"m": {`(?P<m>0?[1-9]|1[0-2])`, "Month"},
	"M": {`(?P<M>[0-5]?\d)`, "Minute"},
	"p": {`(?P<p>am|pm)`, "AMPM"},
	"S": {`(?P<S>[0-5]?\d|6[0-1])`, "Second"},
	"u": {`(?P<u>[1-7])`, "%u"},
	"U": {`(?P<U>5[0-3]|[0-4]\d|\d)`, "Yearweek"},
	"V": {`(?P<V>5[0-3]|0[1-9]|[1-4]\d|\d)`, "%V"},
	"w": {`(?P<w>[0-6])`, "Weekday"},
	"W": {`(?P<W>5[0-3]|[0-4]\d|\d)`, "Yearweek"},
	"x": {`(?P<m>1[0-2]|0[1-9]|[1-9])/(?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9])/(?P<y>\d\d)`, "%x"},
	"X": {`(?P<H>2[0-3]|[0-1]\d|\d):(?P<M>[0-5]\d|\d):(?P<S>6[0-1]|[0-5]\d|\d)`, "%X"},
	"y": {`(?P<y>\d\d)`, "Year2"},
	"Y": {`(?P<Y>\d{4})`, "Year"},
	"z": {`(?P<z>Z|UTC|GMT|[+-][01]\d(?::?\d{2})?)`, "Zone offset"},
	"Z": {`(?P<Z>Z|[A-Z]{3,5})`, "Zone name"},
	// exact variants
	"Exd": {`(?P<d>[1-2]\d|0[1-9]|3[0-1])`, "ExDay"},
	"Exm": {`(?P<m>0[1-9]|1[0-2])`, "ExMonth"},
	"ExH": {`(?P<H>[0-1]\d|2[0-3])`, "Ex24hour"},
	"Exk": {` ?(?P<H>[0-1]?\d|2[0-3])`, "%Exk"},
	"Exl": {` ?(?P<I>1[0-2]|\d)`, "%Exl"},
	"ExM": {`(?P<M>[0-5]\d)`, "ExMinute"},
	"ExS": {`(?P<S>[0-5]\d|6[0-1])`, "ExSecond"},
	"ExY": {"", "ExYear"}, // depends on the current year: exactYearRE
	"Exy": {`(?P<y>\d{2})`, "ExYear2"},
	"ExZ": {`(?P<Z>` + zoneAbbrRE + `)`, "ExZone name"},
	"Exz": {`(?P<z>(?:` + zoneAbbrRE + `)?[+-][01]\d(?::?\d{2})?|` + zoneAbbrRE + `)`, "ExZone offset"},
}

// exactYearRE is %ExY: four-digit years from 2000 to three years after the
// current one (by the real clock, as fail2ban computes it when it starts),
// as a range of decades: (?P<Y>20[0-2]\d) in the 2020s.
func exactYearRE(now time.Time) string { return yearRegex(yearPrefixes(now)) }

// yearPrefixes are the first three digits of the years %ExY takes.
func yearPrefixes(now time.Time) []string {
	last := now.Year() + 3
	first := 2000
	if now.Year()-1 < first {
		first = now.Year() - 1
	}
	var prefixes []string
	seen := map[string]bool{}
	for y := first; y <= last; y++ {
		p := strconv.Itoa(y)
		if len(p) < 3 {
			continue
		}
		p = p[:3]
		if !seen[p] {
			seen[p] = true
			prefixes = append(prefixes, p)
		}
	}
	return prefixes
}

// yearRegex is %ExY for its year prefixes.
func yearRegex(prefixes []string) string {
	return `(?P<Y>` + groupPrefixes(prefixes) + `\d)`
}

// groupPrefixes writes a sorted set of equal-length digit strings as a
// compact alternation: a common head, then a class or an alternation.
func groupPrefixes(set []string) string {
	if len(set) == 1 {
		return set[0]
	}
	head := set[0]
	for _, s := range set[1:] {
		for !strings.HasPrefix(s, head) {
			head = head[:len(head)-1]
		}
	}
	if head != "" {
		tails := make([]string, len(set))
		for i, s := range set {
			tails[i] = s[len(head):]
		}
		return head + groupPrefixes(tails)
	}
	if len(set[0]) == 1 {
		return "[" + strings.Join(set, "") + "]"
	}
	return "(?:" + strings.Join(set, "|") + ")"
}

// codeAt reports the code that starts at s[i] (a %), as fail2ban's
// pattern scanner sees it: %%, the Ex codes, then single letters.
func codeAt(s string, i int) (key string, width int) {
	rest := s[i+1:]
	if strings.HasPrefix(rest, "%") {
		return "%", 2
	}
	if strings.HasPrefix(rest, "Ex") && len(rest) >= 3 && strings.IndexByte("ZzdmHklMSYy", rest[2]) >= 0 {
		return rest[:3], 4
	}
	if rest != "" && strings.IndexByte("dfHIGjmMSUwuVyYzAaBbpZWcxXkl", rest[0]) >= 0 {
		return rest[:1], 2
	}
	return "", 0
}

// expandCodes replaces the codes of a datepattern by their expressions and
// by their names. Any other % is an error, as it is for fail2ban (whose
// %-formatting raises on it).
func expandCodes(pattern, yearRE string) (regex, name string, err error) {
	var re, nm strings.Builder
	for i := 0; i < len(pattern); {
		c := pattern[i]
		if c != '%' {
			j := strings.IndexByte(pattern[i:], '%')
			if j < 0 {
				j = len(pattern) - i
			}
			re.WriteString(pattern[i : i+j])
			nm.WriteString(pattern[i : i+j])
			i += j
			continue
		}
		key, width := codeAt(pattern, i)
		if width == 0 {
			return "", "", badPattern("%q: unsupported format character at %d (an unescaped %%?)", pattern, i)
		}
		cd := codes[key]
		if key == "ExY" {
			cd.regex = yearRE
		}
		re.WriteString(cd.regex)
		nm.WriteString(cd.name)
		i += width
	}
	return re.String(), nm.String(), nil
}

// needsIgnoreCase: the pattern has a name code (%a %A %b %B %p %c), which
// makes fail2ban match the whole template case-insensitively.
func needsIgnoreCase(pattern string) bool {
	for i := 0; i+1 < len(pattern); i++ {
		if pattern[i] == '%' && strings.IndexByte("aAbBpc", pattern[i+1]) >= 0 && (i == 0 || pattern[i-1] != '%') {
			return true
		}
	}
	return false
}
