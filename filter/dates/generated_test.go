package dates

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
)

// Differential tests on generated lines: dates in many formats, valid and
// not, at the start, inside and at the end of lines, next to letters,
// digits and non-ASCII characters, in random order (so that fail2ban's
// template reordering is exercised), under several zones and clocks.

var monthsShort = []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
var daysShort = []string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

type genDate struct {
	y, mo, d, h, mi, s, us int
}

func randDate(r *rand.Rand) genDate {
	years := []int{2003, 2004, 2005, 2005, 2005, 2006, 2024, 2025, 2026}
	g := genDate{
		y: years[r.Intn(len(years))], mo: 1 + r.Intn(12), d: 1 + r.Intn(28),
		h: r.Intn(24), mi: r.Intn(60), s: r.Intn(60), us: r.Intn(1000000),
	}
	switch r.Intn(12) {
	case 0:
		g.d = 29 + r.Intn(3) // may be invalid
	case 1:
		g.h = 24 + r.Intn(6) // invalid hour for %k
	case 2: // around the reference date and the DST switches
		g.y, g.mo, g.d = 2005, []int{3, 8, 8, 10}[r.Intn(4)], []int{13, 14, 15, 27, 30}[r.Intn(5)]
		g.h = []int{0, 1, 2, 3, 11, 12, 13, 23}[r.Intn(8)]
	}
	return g
}

func (g genDate) format(r *rand.Rand) string { return g.formatAs(r, -1) }

// formatAs writes the date in form number form, or a random one when form
// is negative.
func (g genDate) formatAs(r *rand.Rand, form int) string {
	mon := monthsShort[(g.mo-1)%12]
	if r.Intn(8) == 0 {
		mon = strings.ToUpper(mon)
	}
	frac := func(n int) string {
		return fmt.Sprintf("%06d", g.us)[:n]
	}
	zones := []string{"Z", "+0100", "-05:00", "+02", "UTC", "GMT", " +0000", "+1300", "CET", "PDT", "ABC", "cest"}
	zone := zones[r.Intn(len(zones))]
	wd := daysShort[r.Intn(7)]
	h12 := g.h % 12
	if h12 == 0 {
		h12 = 12
	}
	ampm := "AM"
	if g.h >= 12 {
		ampm = "PM"
	}
	forms := []func() string{
		func() string { return fmt.Sprintf("%s %2d %02d:%02d:%02d", mon, g.d, g.h, g.mi, g.s) },
		func() string {
			return fmt.Sprintf("%s %s %d %d:%02d:%02d.%s %d", wd, mon, g.d, g.h, g.mi, g.s, frac(3), g.y)
		},
		func() string { return fmt.Sprintf("%s %s %02d %d %02d:%02d:%02d", wd, mon, g.d, g.y, g.h, g.mi, g.s) },
		func() string { return fmt.Sprintf("%d-%02d-%02d %02d:%02d:%02d", g.y, g.mo, g.d, g.h, g.mi, g.s) },
		func() string {
			return fmt.Sprintf("%d-%02d-%02dT%02d:%02d:%02d.%s%s", g.y, g.mo, g.d, g.h, g.mi, g.s, frac(1+r.Intn(6)), zone)
		},
		func() string {
			return fmt.Sprintf("%d/%02d/%02d %02d:%02d:%02d,%s", g.y, g.mo, g.d, g.h, g.mi, g.s, frac(3))
		},
		func() string { return fmt.Sprintf("%d.%02d.%02d  %d:%02d:%02d", g.y, g.mo, g.d, g.h, g.mi, g.s) },
		func() string { return fmt.Sprintf("%02d/%02d/%d %d:%02d:%02d", g.d, g.mo, g.y, g.h, g.mi, g.s) },
		func() string { return fmt.Sprintf("%02d-%02d-%02d %02d:%02d:%02d", g.d, g.mo, g.y%100, g.h, g.mi, g.s) },
		func() string {
			return fmt.Sprintf("[%02d/%s/%d:%02d:%02d:%02d %s]", g.d, mon, g.y, g.h, g.mi, g.s, zone)
		},
		func() string {
			return fmt.Sprintf("%02d-%s-%d %02d:%02d:%02d.%s", g.d, mon, g.y, g.h, g.mi, g.s, frac(3))
		},
		func() string { return fmt.Sprintf("%02d/%02d/%d:%02d:%02d:%02d", g.mo, g.d, g.y, g.h, g.mi, g.s) },
		func() string {
			return fmt.Sprintf("%02d-%02d-%d %02d:%02d:%02d.%s", g.mo, g.d, g.y, g.h, g.mi, g.s, frac(3))
		},
		func() string {
			return fmt.Sprintf("%d%s", 1000000000+r.Intn(200000000), []string{"", ".123", ".123456", ".1"}[r.Intn(4)])
		},
		func() string { return fmt.Sprintf("[%d.%03d]", 1100000000+r.Intn(100000000), r.Intn(1000)) },
		func() string {
			return fmt.Sprintf("audit(%d.%03d:%d)", 1100000000+r.Intn(100000000), r.Intn(1000), r.Intn(999))
		},
		func() string { return fmt.Sprintf("%02d:%02d:%02d", g.h, g.mi, g.s) },
		func() string {
			return fmt.Sprintf("<%02d/%02d/%02d@%02d:%02d:%02d>", g.mo, g.d, g.y%100, g.h, g.mi, g.s)
		},
		func() string { return fmt.Sprintf("%02d%02d%02d %2d:%02d:%02d", g.y%100, g.mo, g.d, g.h, g.mi, g.s) },
		func() string { return fmt.Sprintf("%s %d, %d %d:%02d:%02d %s", mon, g.d, g.y, h12, g.mi, g.s, ampm) },
		func() string { return fmt.Sprintf("%s-%02d-%02d %02d:%02d:%02d", mon, g.d, g.y%100, g.h, g.mi, g.s) },
		func() string { return fmt.Sprintf("%d%02d%02dT%02d%02d%02d", g.y, g.mo, g.d, g.h, g.mi, g.s) },
		func() string {
			return fmt.Sprintf("%d%02d%02d %02d%02d%02d.%s %s", g.y, g.mo, g.d, g.h, g.mi, g.s, frac(2), zone)
		},
		func() string { return fmt.Sprintf("%s %s %d %02d:%02d:%02d", zone, mon, g.d, g.h, g.mi, g.s) },
		func() string { return fmt.Sprintf("@4000000%09x%08x", 0x40000000+r.Intn(0x10000000), r.Intn(1<<30)) },
		func() string { return fmt.Sprintf("%s %02d %s %d %02d:%02d:%02d", wd, g.d, mon, g.y, g.h, g.mi, g.s) },
		func() string { return fmt.Sprintf("%d-%02d-%02d", g.y, g.mo, g.d) },
		func() string {
			return fmt.Sprintf("%s, %02d %s %d %02d:%02d:%02d %s", wd, g.d, mon, g.y, g.h, g.mi, g.s, zone)
		},
		func() string { return fmt.Sprintf("%03d %d %02d:%02d:%02d", 1+r.Intn(366), g.y, g.h, g.mi, g.s) },
		func() string {
			return fmt.Sprintf("%d %02d %s %02d:%02d:%02d", g.y%100, r.Intn(54), wd, g.h, g.mi, g.s)
		},
		func() string { return fmt.Sprintf("%d%d%d", 1100000000+r.Intn(100000000), r.Intn(1000), r.Intn(1000)) },
	}
	if form < 0 || form >= len(forms) {
		form = r.Intn(len(forms))
	}
	return forms[form]()
}

const genForms = 31

var (
	genPrefixes = []string{"", "", "", "host sshd[1234]: ", "[", "x", "é ", "## ", "<W>", "word", "1", " ", "ü", "::", "a1 b2 ", "٣", "server mysqld[5906]: "}
	genSuffixes = []string{"", " rest of the line", "x", "é", "] text", "1", " 192.0.2.1 failed", ".", "Z", "١", "_"}
)

func genLine(r *rand.Rand) string { return genLineAs(r, -1, "") }

// genLineAs makes a line with a date of the given form (random if
// negative) after the given prefix (random if empty).
func genLineAs(r *rand.Rand, form int, prefix string) string {
	var b strings.Builder
	if prefix == "" {
		prefix = genPrefixes[r.Intn(len(genPrefixes))]
	}
	b.WriteString(prefix)
	b.WriteString(randDate(r).formatAs(r, form))
	b.WriteString(genSuffixes[r.Intn(len(genSuffixes))])
	switch r.Intn(6) {
	case 0: // a second date inside the message
		b.WriteString(" -- " + randDate(r).format(r) + " tail")
	case 1:
		return strings.Repeat("noise ", r.Intn(3)) + "no date here 12:3 2005-13"
	}
	return b.String()
}

// genPatterns are the datepatterns the generated lines run through, besides
// the default templates.
var genPatterns = []string{
	"{^LN-BEG}",
	"^{DATE}",
	"{DATE}",
	"^[^\\[]*\\[({DATE})\n{^LN-BEG}",
	"%H:%M:%S",
	"{UNB}%H:%M:%S",
	"**%H:%M:%S**",
	"^%Y-%m-%d %H:%M:%S",
	"%d/%b/%Y:%H:%M:%S %z",
	"%ExY-%Exm-%Exd[T ]%ExH:%ExM:%ExS(?:\\.%f)?(?:%z)?",
	"^%ExY-%Exm-%Exd %H:%M:%S(?: ?%Exz)?",
	"(?:%Z )?%b %d %H:%M:%S",
	"Epoch",
	"^Epoch",
	"LEpoch",
	"(?<=\\[){LEPOCH}",
	"TAI64N",
	"{^LN-BEG}TAI64N",
	"{NONE}",
	"%b %d, %ExY %I:%M:%S %p",
	"%b %d, %ExY %l:%M:%S(?: %p)?",
	"%j %Y %H:%M:%S",
	"%y %U %a %H:%M:%S",
	"%y %W %a %H:%M:%S",
	"%a, %d %b %Y %H:%M:%S %Z",
	"%a, %d %b %Y %H:%M:%S %Exz",
	"^%Y-%m-%d**",
	"%m/%d %H:%M:%S",
	"%d %H:%M",
	"%ExY%Exm%Exd %ExH%ExM%ExS",
	"%Y-%m-%d\n%H:%M:%S\n{^LN-BEG}",
	"{DEFAULT}",
	"{DEFAULT}\n%H:%M:%S",
	"{^LN-BEG}\n{^LN-BEG}",
	"{^LN-BEG}\n^{DATE}",
	"%H:%M:%S\n%H:%M:%S",
	"EPOCH\nEpoch",
	"TAI64N\n{^LN-BEG}TAI64N",
	"{date}",
	"x{DATE}",
	"%H {date}",
	"{NONE}\n%H:%M:%S",
	"^LEpoch",
	"{^LN-BEG}LEPOCH",
	"(?iu)**%b %d %H:%M:%S**",
}

func TestOracleGenerated(t *testing.T) {
	needOracle(t)
	t.Parallel()
	configs := []struct {
		tz  string
		now int64
	}{
		{testTZ, testNow},
		{testTZ, 1104537600 + 1800}, // 2005-01-01 01:30 CET: year roll-over
		{"UTC", 1111887000},         // inside the spring gap in CET
		{"America/New_York", 1130635800},
		{"AEST-10AEDT,M10.1.0,M4.1.0/3", 1112500000},
		{testTZ, 1767225600}, // 2026-01-01 in UTC
	}
	if testing.Short() {
		configs = configs[:2]
	}
	total := 0
	tally := map[string]int{}
	for ci, c := range configs {
		r := rand.New(rand.NewSource(int64(ci) + 1))
		var jobs []linesJob
		for k := 0; k < 3*(len(genPatterns)+1); k++ {
			var p *string
			if k%(len(genPatterns)+1) > 0 {
				p = strp(genPatterns[k%(len(genPatterns)+1)-1])
			}
			j := linesJob{Pattern: p}
			if k%5 == 4 {
				j.LogTimeZone = strp([]string{"UTC", "UTC+0400", "-0130", "CET", "CEST-01", "GMT+12"}[k%6])
			}
			n := 40 + r.Intn(40)
			for i := 0; i < n; i++ {
				j.Lines = append(j.Lines, genLine(r))
			}
			jobs = append(jobs, j)
		}
		// Log-like jobs: mostly one form and one prefix, sometimes
		// another, with the default templates and the usual patterns.
		for k := 0; k < 60; k++ {
			j := linesJob{}
			switch k % 4 {
			case 1:
				j.Pattern = strp("{^LN-BEG}")
			case 2:
				j.Pattern = strp("^{DATE}")
			}
			forms := []int{r.Intn(genForms), r.Intn(genForms), r.Intn(genForms)}
			prefix := genPrefixes[r.Intn(len(genPrefixes))] + "."
			for i := 0; i < 100+r.Intn(100); i++ {
				switch x := r.Intn(20); {
				case x < 15:
					j.Lines = append(j.Lines, genLineAs(r, forms[0], prefix))
				case x < 18:
					j.Lines = append(j.Lines, genLineAs(r, forms[1+r.Intn(2)], prefix))
				default:
					j.Lines = append(j.Lines, genLine(r))
				}
			}
			jobs = append(jobs, j)
		}
		total += compareLinesTally(t, c.tz, c.now, jobs, tally)
	}
	t.Logf("generated: %d line checks, fail2ban outcomes %v", total, tally)
}
