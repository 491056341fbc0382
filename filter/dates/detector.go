package dates

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/dlclark/regexp2/v2"
)

// Options configure a Detector.
type Options struct {
	// Pattern is the filter's datepattern: "" for fail2ban's default
	// templates, else one template per line (fail2ban splits the value on
	// new lines and trims each): strftime-like codes in a regular
	// expression ("^%Y-%m-%d %H:%M:%S", "%d/%b/%Y:%H:%M:%S %z"), or
	// Epoch, LEpoch, ^Epoch, TAI64N, {^LN-BEG} (the defaults anchored at
	// the start of the line), "...{DATE}..." (each default embedded in the
	// pattern), {NONE} (no date: the line gets the current time), with
	// {UNB} (no word boundaries), {^LN-BEG} (start of line) or **
	// (no boundary on that side) markers.
	Pattern string
	// Zone is the jail's logtimezone (see ParseZone): dates without a zone
	// of their own are read in it. nil: in the local zone.
	Zone *Zone
	// Local is the process's local zone, used for dates without zone when
	// Zone is nil, and for the reference clock's date. nil: LocalZone(),
	// read from TZ once, when the Detector is made.
	Local *Zone
	// Now is the reference clock (fail2ban's MyTime): year-less dates take
	// its year, time-only dates its day. nil: time.Now.
	Now func() time.Time
}

// A Detector finds dates in the lines of one log. It is stateful (the last
// winning template is tried first, and templates that win often move to the
// front, as in fail2ban) and not safe for concurrent use.
type Detector struct {
	entries     []*entry
	names       map[string]bool
	lastPos     edge // start of the last date and the characters around it
	lastEnd     edge // end of the last date
	lastIdx     int
	firstUnused int
	guess       int64 // mktime's offset guess
	conv        convCtx
	clock       func() float64 // real seconds, for the age of templates
	runes       []rune
	matches     []*match // arena of matches, reused for each line
	nMatches    int
	searchErr   error // a search that ran out of its budget on this line
	noFast      bool  // tests: search with regexp2 only
	ascii       bool  // the line searched is all ASCII
}

// edge is a position in a line with the characters before and at it; -1
// stands for no character (Python's empty slice), -2 for none known yet.
type edge struct {
	pos        int
	before, at rune
}

// entry is a template in a detector's list, with this detector's counters.
type entry struct {
	t        *template
	hits     int     // lines this template won
	matches  int     // times its expression matched (fail2ban's template.hits)
	lastUsed float64 // real time of its last win, 0 never
	distance int     // start of its last winning date
}

func (e *entry) weight() float64 {
	d := e.distance
	if d < 1 {
		d = 1
	}
	return float64(e.hits) * e.t.weight / float64(d)
}

const unknown = 0x7fffffff

// Found is the date a template matched in a line.
//
// Start and End delimit the date text in the line (in bytes): fail2ban's
// template group 1, which for most templates is the whole match without
// the boundaries (a bracket before an epoch is outside, a datepattern with
// its own group decides). Both are -1 when that group took no part in the
// match. Template is the name fail2ban gives the template.
//
// Err is nil when Time is the line's time, or when the date text is empty
// (Empty: {NONE}, or a pattern such as "^WARNING:()**"), which fail2ban
// does not convert. Otherwise it wraps ErrBadDate (fail2ban goes on as if
// the line had no date) or ErrLineFailed (fail2ban drops the line). The
// package documentation tells how fail2ban's filter uses each case.
type Found struct {
	Time       time.Time
	Start, End int // byte offsets in the line
	Template   string
	Err        error
}

// Empty reports whether the date text is empty.
func (f Found) Empty() bool { return f.Start == f.End }

// New makes a Detector for a datepattern.
func New(o Options) (*Detector, error) {
	if err := initDefaults(); err != nil {
		return nil, err
	}
	d := &Detector{
		names:   map[string]bool{},
		lastPos: edge{1, -2, -2},
		lastEnd: edge{unknown, -2, -2},
		lastIdx: unknown,
		conv:    convCtx{now: o.Now, logZone: o.Zone, local: o.Local},
		clock:   func() float64 { return float64(realNow().UnixNano()) / 1e9 },
	}
	if d.conv.now == nil {
		d.conv.now = time.Now
	}
	if d.conv.local == nil {
		d.conv.local = LocalZone()
	}
	if o.Zone != nil && !o.Zone.fixed {
		return nil, badZone("logtimezone %s is not a fixed offset", o.Zone)
	}
	d.conv.guess = &d.guess
	for _, p := range splitPatterns(o.Pattern) {
		if err := d.appendPattern(p); err != nil {
			return nil, err
		}
	}
	return d, nil
}

var newLines = regexp.MustCompile("\n+")

// splitPatterns splits a datepattern as fail2ban's setDatePattern does.
func splitPatterns(s string) []string {
	var out []string
	for _, p := range newLines.Split(s, -1) {
		if p = pyStrip(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Templates returns the names of the detector's templates in their current
// order.
func (d *Detector) Templates() []string {
	d.ensureTemplates()
	out := make([]string, len(d.entries))
	for i, e := range d.entries {
		out[i] = e.t.name
	}
	return out
}

func (d *Detector) addEntry(t *template, ignoreDup bool) error {
	if d.names[t.name] {
		if ignoreDup {
			return nil
		}
		return badPattern("there is already a template with name %s", t.name)
	}
	d.names[t.name] = true
	d.entries = append(d.entries, &entry{t: t, distance: unknown})
	return nil
}

// appendPattern is fail2ban's DateDetector.appendTemplate for a string.
func (d *Detector) appendPattern(p string) error {
	key := templateKey(p)
	t := shared(key)
	if t == nil {
		switch {
		case key == "{^LN-BEG}":
			return d.addDefaults(func(t *template) bool { return t.flags&flagLineBegin != 0 }, "", true)
		case key == "{DEFAULT}":
			// fail2ban's filter for {DEFAULT} refuses every template, so
			// the defaults come only if nothing else is there.
			return d.addDefaults(func(*template) bool { return false }, "", true)
		case strings.Contains(key, "{DATE}"):
			return d.addDefaults(nil, p, false)
		case key == "{NONE}":
			var err error
			if t, err = patternTemplate("{UNB}^", key); err != nil {
				return err
			}
		default:
			var err error
			if t, err = patternTemplate(p, key); err != nil {
				return err
			}
		}
	}
	return d.addEntry(t, false)
}

// replaceDate replaces each {DATE} (any case, not after a backslash) of
// pre by repl.
func replaceDate(pre, repl string) string {
	var b strings.Builder
	for i := 0; i < len(pre); {
		if pre[i] == '{' && (i == 0 || pre[i-1] != '\\') && len(pre)-i >= 6 && strings.EqualFold(pre[i:i+6], "{DATE}") {
			b.WriteString(repl)
			i += 6
			continue
		}
		b.WriteByte(pre[i])
		i++
	}
	return b.String()
}

// addDefaults is fail2ban's addDefaultTemplate.
func (d *Detector) addDefaults(filter func(*template) bool, preMatch string, all bool) error {
	ignoreDup := len(d.entries) > 0
	list := originals
	if all {
		list = allDefaults
	}
	for _, t := range list {
		if filter != nil && !filter(t) {
			continue
		}
		if preMatch != "" {
			var err error
			t, err = anchoredTemplate(t, func(s string) string { return replaceDate(preMatch, unboundPattern(s)) })
			if err != nil {
				return err
			}
		}
		if err := d.addEntry(t, ignoreDup); err != nil {
			return err
		}
	}
	return nil
}

func (d *Detector) ensureTemplates() {
	if len(d.entries) == 0 {
		_ = d.addDefaults(nil, "", true)
	}
}

// match is one successful search of a template.
type match struct {
	start, end int // the whole match, in runes
	groups     []span
}

type span struct {
	start, end int
	ok         bool
}

func (m *match) group(n int) span {
	if n < len(m.groups) {
		return m.groups[n]
	}
	return span{}
}

// search runs the template on r[pos:endpos] as Python's
// pattern.search(line, pos, endpos): lookbehinds see before pos, ^ does
// not match at pos > 0, and the line ends at endpos.
func (d *Detector) search(e *entry, r []rune, pos, endpos int) *match {
	if endpos > len(r) {
		endpos = len(r)
	}

	if pos < 0 {
		pos = 0
	}
	if pos > endpos {
		return nil
	}
	if f := e.t.fast; f != nil && !d.noFast {
		m := d.newMatch(e.t.groups + 1)
		switch f.search(r, pos, endpos, m.groups, d.ascii) {
		case fastYes:
			m.start, m.end = m.groups[0].start, m.groups[0].end
			e.matches++
			return m
		case fastNo:
			d.nMatches--
			return nil
		}
		d.nMatches-- // a non-ASCII character decides: regexp2 does
	}
	in := r[:endpos]
	var m *match
	err := e.t.re.FindRunesMatches(in, pos, func(v regexp2.MatchView) bool {
		m = d.newMatch(e.t.groups + 1)
		for i := range m.groups {
			s, l, ok := v.GroupRange(i)
			m.groups[i] = span{s, s + l, ok}
		}
		m.start, m.end = m.groups[0].start, m.groups[0].end
		return false
	})
	if err != nil {
		d.searchErr = err
		return nil
	}
	if m == nil {
		return nil
	}
	e.matches++
	return m
}

// newMatch takes a match with n groups from the detector's arena, which
// Find empties for each line (at most a few matches live per line).
func (d *Detector) newMatch(n int) *match {
	if d.nMatches == len(d.matches) {
		d.matches = append(d.matches, &match{})
	}
	m := d.matches[d.nMatches]
	d.nMatches++
	if cap(m.groups) < n {
		m.groups = make([]span, n)
	}
	m.groups = m.groups[:n]
	return m
}

// charBefore is Python's line[p-1:p]; charAt is line[p:p+1].
func charBefore(r []rune, p int) rune {
	if p < 1 || p > len(r) {
		return -1
	}
	return r[p-1]
}

func charAt(r []rune, p int) rune {
	if p < 0 || p >= len(r) {
		return -1
	}
	return r[p]
}

var errIndex = errors.New("string index out of range")

// matchTime is fail2ban's DateDetector.matchTime: it returns the winning
// match and the index of its template.
func (d *Detector) matchTime(r []rune) (*match, int, error) {
	d.ensureTemplates()
	n := len(d.entries)
	type candidate struct {
		m         *match
		dist, end int
		idx       int
	}
	found := candidate{nil, unknown, unknown, -1}
	ignoreBySearch := unknown
	var m *match
	i := d.lastIdx
	var e *entry
	if i < n {
		e = d.entries[i]
		if e.t.flags&(flagLineBegin|flagLineEnd) != 0 {
			m = d.search(e, r, 0, len(r))
			ignoreBySearch = i
		} else {
			dist, end := d.lastPos.pos, d.lastEnd.pos
			if (charBefore(r, dist) == d.lastPos.before ||
				(charAt(r, dist) == d.lastPos.at && !pyIsAlnum(d.lastPos.at))) &&
				(charAt(r, end) == d.lastEnd.at ||
					(charBefore(r, end) == d.lastEnd.before && !pyIsAlnum(d.lastEnd.before))) {
				m = d.search(e, r, dist, end)
			} else {
				m = d.search(e, r, 0, len(r))
				ignoreBySearch = i
			}
		}
		if m != nil {
			if !(n == 1 || e.t.flags&(flagLineBegin|flagLineEnd) != 0 ||
				(m.start == d.lastPos.pos && m.end == d.lastEnd.pos)) {
				// The last template matched elsewhere: keep it in
				// reserve and search all.
				found = candidate{m, m.start, m.end, i}
				m = nil
			}
		}
	}
	if m == nil {
		for i = 0; i < n; i++ {
			if i == ignoreBySearch {
				continue
			}
			e = d.entries[i]
			m = d.search(e, r, 0, len(r))
			if m == nil {
				continue
			}
			if i+1 >= n || e.t.flags&(flagLineBegin|flagLineEnd) != 0 {
				break
			}
			if m.start == 0 && e.hits > 0 && d.entries[i+1].matches == 0 {
				break
			}
			if m.start > e.distance || m.start > d.lastPos.pos {
				// Probably a date inside the message: keep the closest
				// to the start of the line and search on.
				if m.start < found.dist {
					found = candidate{m, m.start, m.end, i}
				}
				m = nil
				continue
			}
			break
		}
		if m == nil && found.m != nil {
			m, i = found.m, found.idx
			e = d.entries[i]
		}
	}
	if m == nil {
		return nil, -1, nil
	}
	e.hits++
	e.lastUsed = d.clock()
	e.distance = m.start
	if d.firstUnused == i {
		d.firstUnused++
	}
	if m.start >= len(r) {
		return m, i, errIndex
	}
	end := m.end - 1
	if end < 0 {
		end += len(r)
	}
	d.lastPos = edge{m.start, charBefore(r, m.start), r[m.start]}
	d.lastEnd = edge{m.end, r[end], charAt(r, m.end)}
	if i != 0 && i != d.lastIdx {
		i = d.reorder(i)
	}
	d.lastIdx = i
	return m, i, nil
}

// reorder is fail2ban's _reorderTemplate: move the winner towards the
// front when it weighs more than the template in its way, or when that one
// was not used in the last 5 minutes.
func (d *Detector) reorder(num int) int {
	if num == 0 {
		return num
	}
	e := d.entries[num]
	untime := e.lastUsed - 300
	weight := e.weight()
	pos := num / 2
	if d.firstUnused < num {
		pos = d.firstUnused
	}
	movable := func() bool {
		o := d.entries[pos]
		return weight > o.weight() || untime > o.lastUsed
	}
	if !movable() {
		if pos == num-1 {
			return num
		}
		pos = num - 1
		if !movable() {
			return num
		}
	}
	copy(d.entries[pos+1:num+1], d.entries[pos:num])
	d.entries[pos] = e
	for d.firstUnused < len(d.entries) && d.entries[d.firstUnused].hits > 0 {
		d.firstUnused++
	}
	return pos
}

// Find looks for the date of a line, as fail2ban's Filter does with its
// DateDetector (matchTime, then getTime on the matched text). It returns
// false when no template matches; see Found for what a match means.
func (d *Detector) Find(line string) (Found, bool) {
	r, ascii := d.toRunes(line)
	d.ascii = ascii
	d.nMatches = 0
	d.searchErr = nil
	m, i, err := d.matchTime(r)
	if d.searchErr != nil {
		return Found{Start: -1, End: -1, Err: fmt.Errorf("%w: %w: %v", ErrLineFailed, ErrBudget, d.searchErr)}, true
	}
	if m == nil {
		return Found{}, false
	}
	e := d.entries[i]
	if err != nil {
		// fail2ban raised while recording the winner (an empty match at
		// the end of the line); the entry was not moved.
		return Found{Start: -1, End: -1, Template: e.t.name, Err: lineFailed("%v", err)}, true
	}
	f := Found{Template: e.t.name, Start: -1, End: -1}
	if e.t.groups < 1 {
		f.Err = lineFailed("no such group")
		return f, true
	}
	g := m.group(1)
	if !g.ok {
		return f, true
	}
	if ascii {
		f.Start, f.End = g.start, g.end
	} else {
		f.Start, f.End = byteOffsets(line, g.start, g.end)
	}
	if g.start == g.end {
		return f, true
	}
	f.Time, f.Err = d.convert(e.t, m, r)
	if f.Err != nil {
		f.Time = time.Time{}
	}
	return f, true
}

// toRunes decodes the line into the detector's buffer; ascii reports
// that rune and byte offsets are the same.
func (d *Detector) toRunes(line string) (r []rune, ascii bool) {
	n := len(line)
	if cap(d.runes) < n {
		d.runes = make([]rune, 0, n+n/2)
	}
	r = d.runes[:n]
	for i := 0; i < n; i++ {
		c := line[i]
		if c >= 0x80 {
			r = r[:i]
			for _, c := range line[i:] {
				r = append(r, c)
			}
			d.runes = r
			return r, false
		}
		r[i] = rune(c)
	}
	return r, true
}

// byteOffsets converts two rune offsets of s to byte offsets.
func byteOffsets(s string, a, b int) (int, int) {
	ra, rb := -1, -1
	n := 0
	for i := range s {
		if n == a {
			ra = i
		}
		if n == b {
			rb = i
			break
		}
		n++
	}
	if ra < 0 {
		ra = len(s)
	}
	if rb < 0 {
		rb = len(s)
	}
	return ra, rb
}

func text(r []rune, s span) string { return string(r[s.start:s.end]) }

// convert is the template's getDate on a match.
func (d *Detector) convert(t *template, m *match, r []rune) (time.Time, error) {
	switch t.kind {
	case kindEpoch:
		g := m.group(t.valueGrp)
		if !g.ok {
			return time.Time{}, lineFailed("no epoch value")
		}
		return epochTime(text(r, g), t.longEpoch), nil
	case kindTAI64N:
		v := text(r, m.group(1))
		var secs int64
		for _, c := range v[2:17] {
			x, _ := digitValueHex(c)
			secs = secs*16 + int64(x)
		}
		return time.Unix(secs, 0), nil
	}
	var pText string
	pOK := false
	if t.pGroup > 0 {
		if g := m.group(t.pGroup); g.ok {
			pText, pOK = text(r, g), true
		}
	}
	var df dateFields
	for _, f := range t.fields {
		g := m.group(f.group)
		if !g.ok {
			continue
		}
		if err := df.read(f.key[0], r[g.start:g.end], t.pGroup > 0, pText, pOK); err != nil {
			return time.Time{}, err
		}
	}
	return d.conv.finish(&df)
}

func digitValueHex(c rune) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10, true
	}
	return 0, false
}
