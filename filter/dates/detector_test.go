package dates

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// The reference of these tables is fail2ban's test setting: local zone
// CET-01CEST-02,M3.5.0,M10.5.0 and now = 2005-08-14 12:00:00 CEST
// (10:00:00 UTC). Expected times are given in UTC.

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

type findCase struct {
	name    string
	pattern string
	zone    string // logtimezone
	now     int64  // 0: testNow
	line    string
	text    string    // the date text; "" with found: an empty date
	want    time.Time // zero with found: no time (empty date or error)
	err     error
	found   bool
}

func (c findCase) run(t *testing.T, local *Zone) {
	t.Helper()
	now := c.now
	if now == 0 {
		now = testNow
	}
	o := Options{Pattern: c.pattern, Local: local, Now: fixedNow(now)}
	if c.zone != "" {
		z, err := ParseZone(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		o.Zone = z
	}
	d, err := New(o)
	if err != nil {
		t.Fatalf("New(%q): %v", c.pattern, err)
	}
	f, ok := d.Find(c.line)
	if ok != c.found {
		t.Fatalf("Find(%q) found %v (%+v), want %v", c.line, ok, f, c.found)
	}
	if !ok {
		return
	}
	if c.err != nil {
		if !errors.Is(f.Err, c.err) {
			t.Fatalf("Find(%q) err %v, want %v", c.line, f.Err, c.err)
		}
		return
	}
	if f.Err != nil {
		t.Fatalf("Find(%q): %v", c.line, f.Err)
	}
	got := ""
	if f.Start >= 0 {
		got = c.line[f.Start:f.End]
	}
	if got != c.text {
		t.Errorf("Find(%q) text %q (%d..%d, %s), want %q", c.line, got, f.Start, f.End, f.Template, c.text)
	}
	if !f.Time.Equal(c.want) {
		t.Errorf("Find(%q) time %v, want %v (template %s)", c.line, f.Time.UTC(), c.want, f.Template)
	}
}

func runFindCases(t *testing.T, cases []findCase) {
	local := testZone(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, local) })
	}
}

func TestFindDefaults(t *testing.T) { runFindCases(t, defaultCases) }

func TestFindPatterns(t *testing.T) { runFindCases(t, patternCases) }

// TestFindCasesOracle checks that the tables above say what fail2ban does.
func TestFindCasesOracle(t *testing.T) {
	needOracle(t)
	byNow := map[int64][]linesJob{}
	for _, c := range append(append([]findCase{}, defaultCases...), patternCases...) {
		j := linesJob{Lines: []string{c.line}}
		if c.pattern != "" {
			j.Pattern = strp(c.pattern)
		}
		if c.zone != "" {
			j.LogTimeZone = strp(c.zone)
		}
		now := c.now
		if now == 0 {
			now = testNow
		}
		byNow[now] = append(byNow[now], j)
	}
	for now, jobs := range byNow {
		compareLines(t, testTZ, now, jobs)
	}
}

var defaultCases = []findCase{
	{name: "syslog", line: "Mar  7 06:14:05 host sshd[1]: Failed", text: "Mar  7 06:14:05", want: utc("2005-03-07T05:14:05Z"), found: true},
	{name: "syslog summer", line: "Jul 31 23:59:59 host x", text: "Jul 31 23:59:59", want: utc("2005-07-31T21:59:59Z"), found: true},
	{name: "year rollover", line: "Dec 24 23:00:00 host x", text: "Dec 24 23:00:00", want: utc("2004-12-24T22:00:00Z"), found: true},
	{name: "tomorrow stays", line: "Aug 15 11:00:00 host x", text: "Aug 15 11:00:00", want: utc("2005-08-15T09:00:00Z"), found: true},
	{name: "beyond a day goes back a year", line: "Aug 15 12:00:01 host x", text: "Aug 15 12:00:01", want: utc("2004-08-15T10:00:01Z"), found: true},
	{name: "asctime with weekday and year", line: "Sun Jan 23 21:59:59 2005 x", text: "Sun Jan 23 21:59:59 2005", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "asctime year first", line: "Sun Jan 23 2005 21:59:59.011 x", text: "Sun Jan 23 2005 21:59:59.011", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "upper-case month", line: "JAN 23 21:59:59 x", text: "JAN 23 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "iso fraction dropped", line: "2005-01-23T21:59:59.981746 x", text: "2005-01-23T21:59:59.981746", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "iso with offset", line: "2005-01-23T21:59:59+0300 x", text: "2005-01-23T21:59:59+0300", want: utc("2005-01-23T18:59:59Z"), found: true},
	{name: "iso Z", line: "2005-01-23T21:59:59Z x", text: "2005-01-23T21:59:59Z", want: utc("2005-01-23T21:59:59Z"), found: true},
	{name: "slashes", line: "2005/01/23 21:59:59 x", text: "2005/01/23 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "dots syslog-ng", line: "2005.01.23 21:59:59 x", text: "2005.01.23 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "day first", line: "23/01/2005 21:59:59 x", text: "23/01/2005 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "day first two-digit year", line: "23-01-05 21:59:59 x", text: "23-01-05 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "apache", line: `192.0.2.1 - - [23/Jan/2005:21:59:59 -0500] "GET /"`, text: "23/Jan/2005:21:59:59 -0500", want: utc("2005-01-24T02:59:59Z"), found: true},
	{name: "named", line: "23-Jan-2005 21:59:59.252 x", text: "23-Jan-2005 21:59:59.252", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "cpanel", line: "01/23/2005:21:59:59 x", text: "01/23/2005:21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "month first dashes", line: "01-23-2005 21:59:59.252 x", text: "01-23-2005 21:59:59.252", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "epoch", line: "1106513999 [sshd] x", text: "1106513999", want: time.Unix(1106513999, 0), found: true},
	{name: "epoch fraction", line: "1106513999.250 x", text: "1106513999.250", want: time.Unix(1106513999, 250000000), found: true},
	{name: "epoch short fraction not taken", line: "1106513999.5 x", text: "1106513999", want: time.Unix(1106513999, 0), found: true},
	{name: "epoch in brackets", line: "[1106513999.000] x", text: "1106513999.000", want: time.Unix(1106513999, 0), found: true},
	{name: "epoch selinux", line: "type=USER_LOGIN msg=audit(1106513999.123:42): x", text: "1106513999.123", want: time.Unix(1106513999, 123000000), found: true},
	{name: "epoch inside text", line: "x 1106513999 y", found: false},
	{name: "tai64n", line: "@4000000041f4104f00000000 x", text: "@4000000041f4104f00000000", want: time.Unix(1106513999, 0), found: true},
	{name: "time only later today is yesterday", line: "21:59:59 x", text: "21:59:59", want: utc("2005-08-13T19:59:59Z"), found: true},
	{name: "time only earlier today", line: "00:00:01 x", text: "00:00:01", want: utc("2005-08-13T22:00:01Z"), found: true},
	{name: "angle brackets", line: "<01/23/05@21:59:59> x", text: "<01/23/05@21:59:59>", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "mysql", line: "050123 21:59:59 [Warning] x", text: "050123 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "mysql one-digit hour", line: "050123  1:59:59 x", text: "050123  1:59:59", want: utc("2005-01-23T00:59:59Z"), found: true},
	{name: "tomcat pm", line: "Jan 23, 2005 9:59:59 PM x", text: "Jan 23, 2005 9:59:59 PM", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "tomcat midnight", line: "Jan 23, 2005 12:30:00 AM x", text: "Jan 23, 2005 12:30:00 AM", want: utc("2005-01-22T23:30:00Z"), found: true},
	{name: "tomcat noon", line: "Jan 23, 2005 12:30:00 PM x", text: "Jan 23, 2005 12:30:00 PM", want: utc("2005-01-23T11:30:00Z"), found: true},
	{name: "assp", line: "Jan-23-05 21:59:59 x", text: "Jan-23-05 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "compact iso", line: "20050123T215959 x", text: "20050123T215959", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "compact iso space", line: "20050123 215959 x", text: "20050123 215959", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "zone name before", line: "PDT Apr 16 21:05:29 monit", text: "PDT Apr 16 21:05:29", want: utc("2005-04-17T04:05:29Z"), found: true},
	{name: "zone offset before", line: "+0300 Apr 16 21:05:29 x", text: "+0300 Apr 16 21:05:29", want: utc("2005-04-16T18:05:29Z"), found: true},
	{name: "invalid day", line: "Feb 30 12:00:00 x", err: ErrBadDate, found: true},
	{name: "invalid hour", line: "Feb 03 25:00:00 x", err: ErrBadDate, found: true},
	{name: "word boundary", line: "x2005-01-23 21:59:59", found: false},
	{name: "no date", line: "no date here", found: false},
	{name: "spring gap", line: "2005-03-27 02:30:00 x", text: "2005-03-27 02:30:00", want: utc("2005-03-27T01:30:00Z"), found: true},
	{name: "autumn overlap", line: "2005-10-30 01:30:00 x", text: "2005-10-30 01:30:00", want: utc("2005-10-30T00:30:00Z"), found: true},
	{name: "non-ASCII around", line: "é2005-01-23 21:59:59é", found: false},
	{name: "Arabic-Indic digit", line: "2005-01-2٣ 21:59:59 x", text: "2005-01-2٣ 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "Arabic-Indic year", line: "٢٠٠٥-01-23 21:59:59 x", found: false},
}

var patternCases = []findCase{
	{name: "anchored iso", pattern: "^%Y-%m-%d %H:%M:%S", line: "2005-01-23 21:59:59 x", text: "2005-01-23 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "anchored iso not at start", pattern: "^%Y-%m-%d %H:%M:%S", line: "x 2005-01-23 21:59:59", found: false},
	{name: "logtimezone", pattern: "^%Y-%m-%d %H:%M:%S", zone: "UTC+0400", line: "2005-01-23 21:59:59 x", text: "2005-01-23 21:59:59", want: utc("2005-01-23T17:59:59Z"), found: true},
	{name: "logtimezone abbreviation", pattern: "^%Y-%m-%d %H:%M:%S", zone: "CEST", line: "2005-01-23 21:59:59 x", text: "2005-01-23 21:59:59", want: utc("2005-01-23T19:59:59Z"), found: true},
	{name: "zone in line wins", pattern: "^%Y-%m-%d %H:%M:%S %z", zone: "UTC+0400", line: "2005-01-23 21:59:59 GMT x", text: "2005-01-23 21:59:59 GMT", want: utc("2005-01-23T21:59:59Z"), found: true},
	{name: "offset with colon", pattern: "^%Y-%m-%d %H:%M:%S %z", line: "2005-01-23 21:59:59 -10:45 x", text: "2005-01-23 21:59:59 -10:45", want: utc("2005-01-24T08:44:59Z"), found: true},
	{name: "zone name", pattern: "^%Y-%m-%d %H:%M:%S %Z", line: "2005-01-23 21:59:59 CEST x", text: "2005-01-23 21:59:59 CEST", want: utc("2005-01-23T19:59:59Z"), found: true},
	{name: "unknown zone name drops the line", pattern: "^%Y-%m-%d %H:%M:%S %Z", line: "2005-01-23 21:59:59 ABC x", err: ErrLineFailed, found: true},
	{name: "lower-case zone is no date", pattern: "%b %d %H:%M:%S %Z", line: "Jan 23 21:59:59 cet x", err: ErrBadDate, found: true},
	{name: "extended zone with offset", pattern: "^%Y-%m-%d %H:%M:%S %Exz", line: "2005-01-23 21:59:59 CET+0130 x", text: "2005-01-23 21:59:59 CET+0130", want: utc("2005-01-23T19:29:59Z"), found: true},
	{name: "day of year", pattern: "^%Y %j %H:%M:%S", line: "2005 023 21:59:59 x", text: "2005 023 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "week starting sunday", pattern: "^%y %U %a %H:%M:%S", line: "05 03 Sun 21:59:59 x", text: "05 03 Sun 21:59:59", want: utc("2005-01-16T20:59:59Z"), found: true},
	{name: "week starting monday", pattern: "^%y %W %w %H:%M:%S", line: "05 03 1 21:59:59 x", text: "05 03 1 21:59:59", want: utc("2005-01-17T20:59:59Z"), found: true},
	{name: "full month name", pattern: "^%B %d %H:%M:%S", line: "January 23 21:59:59 x", text: "January 23 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "12h without am/pm", pattern: "^%I:%M:%S", line: "12:30:00 x", text: "12:30:00", want: utc("2005-08-13T22:30:00Z"), found: true},
	{name: "12h with missing optional am/pm", pattern: "^%l:%M(?: %p)?", line: "9:30 x", err: ErrLineFailed, found: true},
	{name: "day without month", pattern: "^%d %H:%M", line: "23 10:00 x", err: ErrLineFailed, found: true},
	{name: "date only", pattern: "^%Y-%m-%d", line: "2004-09-01 x", text: "2004-09-01", want: utc("2004-08-31T22:00:00Z"), found: true},
	{name: "29 February into a common year", pattern: "^%b %d %H:%M:%S", now: 1200398400 /* 2008-01-15 */, line: "Feb 29 10:00:00 x", err: ErrBadDate, found: true},
	{name: "epoch pattern", pattern: "Epoch", line: "[1106513999] x", text: "1106513999", want: time.Unix(1106513999, 0), found: true},
	{name: "line-start epoch", pattern: "^Epoch", line: "# 1106513999 x", text: "1106513999", want: time.Unix(1106513999, 0), found: true},
	{name: "long epoch ms", pattern: "LEpoch", line: "1106513999123 x", text: "1106513999123", want: time.Unix(1106513999, 123000000), found: true},
	{name: "long epoch us", pattern: "LEpoch", line: "1106513999123456 x", text: "1106513999123456", want: time.Unix(1106513999, 123456000), found: true},
	{name: "epoch marker", pattern: "ts={EPOCH}", line: "a ts=1106513999 b", text: "ts=1106513999", want: time.Unix(1106513999, 0), found: true},
	{name: "tai64n at line start", pattern: "{^LN-BEG}TAI64N", line: "@4000000041f4104f00000000 x", text: "@4000000041f4104f00000000", want: time.Unix(1106513999, 0), found: true},
	{name: "none", pattern: "{NONE}", line: "any line", text: "", found: true},
	{name: "unbounded", pattern: "{UNB}%H:%M:%S", line: "abc12:30:45def", text: "12:30:45", want: utc("2005-08-13T10:30:45Z"), found: true},
	{name: "bounded", pattern: "%H:%M:%S", line: "abc12:30:45def", found: false},
	{name: "star markers", pattern: "**%H:%M:%S**", line: "abc12:30:45def", text: "12:30:45", want: utc("2005-08-13T10:30:45Z"), found: true},
	{name: "line start two non-word", pattern: "{^LN-BEG}%Y-%m-%d %H:%M:%S", line: "## 2005-01-23 21:59:59", found: false},
	{name: "line start", pattern: "{^LN-BEG}%Y-%m-%d %H:%M:%S", line: "[2005-01-23 21:59:59] x", text: "2005-01-23 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "line start word", pattern: "{^LN-BEG}%Y-%m-%d %H:%M:%S", line: "x 2005-01-23 21:59:59", found: false},
	{name: "a word taken for a zone name", pattern: "{^LN-BEG}", line: "host Jan 23 21:59:59 x", err: ErrBadDate, found: true},
	{name: "defaults at line start", pattern: "{^LN-BEG}", line: "host: Jan 23 21:59:59 x", found: false},
	{name: "defaults at line start found", pattern: "{^LN-BEG}", line: "Jan 23 21:59:59 x", text: "Jan 23 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "date anchored", pattern: "^{DATE}", line: "2005-01-23 21:59:59 x", text: "2005-01-23 21:59:59", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "date anchored not at start", pattern: "^{DATE}", line: "x 2005-01-23 21:59:59", found: false},
	{name: "date in brackets", pattern: `^\[{DATE}\]`, line: "[2005-01-23 21:59:59] x", text: "[2005-01-23 21:59:59]", want: utc("2005-01-23T20:59:59Z"), found: true},
	{name: "date with own group", pattern: `^[^\[]*\[({DATE})`, line: "host [23/Jan/2005:21:59:59 +0000] x", text: "23/Jan/2005:21:59:59 +0000", want: utc("2005-01-23T21:59:59Z"), found: true},
	{name: "empty group", pattern: `^WARNING:()**`, line: "WARNING: x", text: "", found: true},
	{name: "several patterns", pattern: "^%Y-%m-%d\n\n  ^%H:%M:%S  \n", line: "21:59:59 x", text: "21:59:59", want: utc("2005-08-13T19:59:59Z"), found: true},
}

func TestNewErrors(t *testing.T) {
	for _, p := range []string{
		"%Q",          // unknown code
		"%Y-%m-%d %",  // lone %
		"(%Y",         // unbalanced
		"%H:%M %H",    // a group defined twice
		"(?i)x(?s)%H", // global flags not at the start
		"%Y\n%Y",      // the same template twice
		`\q%H`,        // bad escape
		"(?P<1x>a)%H", // bad group name
		"(?P=nope)%H", // unknown group
		"[%H",         // unterminated set
		// An escaped {DATE} leaves every default template the same
		// name: fail2ban refuses it too, when it first sees it (its
		// process-wide template cache then accepts it on later uses).
		`\{DATE}`,
	} {
		if _, err := New(Options{Pattern: p}); !errors.Is(err, ErrBadPattern) {
			t.Errorf("New(%q) = %v, want ErrBadPattern", p, err)
		}
	}
	if _, err := New(Options{Zone: testZone(t)}); !errors.Is(err, ErrBadZone) {
		t.Errorf("a rule zone as logtimezone: %v, want ErrBadZone", err)
	}
}

func TestParseZone(t *testing.T) {
	for _, c := range []struct {
		in      string
		minutes int
		err     bool
	}{
		{"UTC", 0, false}, {"", 0, false}, {"Z", 0, false}, {"GMT+12", 720, false},
		{"UTC+0400", 240, false}, {"UTC-0430", -270, false}, {"+0100", 60, false},
		{"-01", -60, false}, {"+01:30", 90, false}, {"CET", 60, false}, {"CEST", 120, false},
		{"CEST-01", 60, false}, {"CET+0130", 150, false}, {"NPT", 345, false}, {"NST", -210, false},
		{"WRONG-TZ", 0, true}, {"ABC", 0, true}, {"cet", 0, true}, {"+2400", 0, true},
		{"UTC+4", 0, true}, {"Europe/Paris", 0, true}, {"AB", 0, true},
	} {
		z, err := ParseZone(c.in)
		if (err != nil) != c.err {
			t.Errorf("ParseZone(%q): %v", c.in, err)
			continue
		}
		if err != nil {
			if !errors.Is(err, ErrBadZone) {
				t.Errorf("ParseZone(%q): %v, want ErrBadZone", c.in, err)
			}
			continue
		}
		if off, fixed := z.Fixed(); !fixed || off != c.minutes*60 {
			t.Errorf("ParseZone(%q) = %d s, want %d min", c.in, off, c.minutes)
		}
	}
}

// TestReorder: fail2ban keeps using the template that found the first date
// of a line, even when another template matches a later date first in its
// list.
func TestReorder(t *testing.T) {
	d, err := New(Options{Local: testZone(t), Now: fixedNow(testNow)})
	if err != nil {
		t.Fatal(err)
	}
	lines := []struct{ line, date string }{
		{"server mysqld[1]: 050123 21:59:59 [Warning] x -- 2003-03-07 17:05:01 y", "050123 21:59:59"},
		{"free text 2003-03-07 17:05:01 test", "2003-03-07 17:05:01"},
		{"server mysqld[1]: Jan 23 21:59:59 server mysqld: 050123 21:59:59 [Warning]", "Jan 23 21:59:59"},
	}
	for _, l := range lines {
		for i := 0; i < 20; i++ {
			f, ok := d.Find(l.line)
			if !ok || l.line[f.Start:f.End] != l.date {
				t.Fatalf("round %d of %q: %+v %v, want %q", i, l.line, f, ok, l.date)
			}
		}
	}
	if names := d.Templates(); len(names) != 2*len(defaultPatterns)-3 {
		t.Errorf("%d templates, want %d", len(names), 2*len(defaultPatterns)-3)
	}
}

// TestConcurrentDetectors: detectors share templates (and a cache of
// them); each may run in its own goroutine.
func TestConcurrentDetectors(t *testing.T) {
	local := testZone(t)
	done := make(chan error)
	for _, p := range []string{"", "^{DATE}", "{^LN-BEG}", "^{DATE}", "%H:%M:%S"} {
		go func(p string) {
			d, err := New(Options{Pattern: p, Local: local, Now: fixedNow(testNow)})
			if err == nil {
				for i := 0; i < 200; i++ {
					d.Find("2005-01-23 21:59:59 x")
					d.Find("Jan 23 21:59:59 x")
				}
			}
			done <- err
		}(p)
	}
	for i := 0; i < 5; i++ {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// TestFindBudget: a datepattern that backtracks without end fails its line
// with ErrBudget instead of stalling the jail (it took 72 s per line before
// searches had a budget).
func TestFindBudget(t *testing.T) {
	d, err := New(Options{Pattern: "^(?:a|aa)+%Y"})
	if err != nil {
		t.Fatal(err)
	}
	f, ok := d.Find(strings.Repeat("a", 60) + "!")
	if !ok || !errors.Is(f.Err, ErrLineFailed) || !errors.Is(f.Err, ErrBudget) {
		t.Fatalf("Find = %+v, %v; want ErrLineFailed and ErrBudget", f, ok)
	}
	// The detector carries on with the next line.
	f, ok = d.Find("aa2005 x")
	if !ok || f.Err != nil || f.Time.Year() != 2005 {
		t.Fatalf("next line: %+v, %v; want a 2005 date", f, ok)
	}
}
