package filter

import (
	"time"

	"github.com/banserver/banserver/filter/dates"
)

// This file serves fail2ban-regex's report (banctl regex): what
// fail2banregex.py reads from fail2ban's Filter besides the failures it
// returns. The daemon never calls it.

// Trace is what one ProcessTrace call saw beyond the failures.
type Trace struct {
	// Time is the line's time as Failure.Time would carry it (zero: none).
	Time time.Time
	// PrefSearched reports that prefregex ran on this line (it does not
	// when an ignoreregex tried before it matched); PrefMatched that it
	// matched, and PrefGroups (only with WantGroups) is the Python repr of
	// its groups (fail2ban's getGroups).
	PrefSearched, PrefMatched bool
	PrefGroups                string
	// IgnoreHits are the indexes of the ignoreregexes that matched, one
	// entry each time fail2ban's _ignoreLine would report it to its
	// onIgnoreRegex callback.
	IgnoreHits []int

	// WantGroups asks for PrefGroups; TimeOnly asks for Time only (no
	// extra search is made).
	WantGroups, TimeOnly bool
	// WantPending asks, when the filter does not check all regexes, for
	// the failure of an F-MLFID session still waiting for its id, which
	// Process leaves out: fail2ban-regex --no-check-all lists it (its
	// ignorePending is off), as a Failure with Pending set.
	WantPending bool
}

// BufferedLine is a line of the multi-line buffer cut around its date:
// fail2ban's (before, date, after) tuple.
type BufferedLine struct {
	Before, Date, After string
}

// Buffered returns a copy of the multi-line buffer as it is now.
func (f *Filter) Buffered() []BufferedLine {
	out := make([]BufferedLine, len(f.buf))
	for i, l := range f.buf {
		out[i] = BufferedLine{l.pre, l.date, l.post}
	}
	return out
}

// DateHits lists the date detector's templates with the lines each won
// (see dates.Detector.Hits).
func (f *Filter) DateHits() []dates.TemplateHits { return f.dates.Hits() }

// ProcessTrace is Process, filling tr (when not nil) with what the line
// did besides its failures. Its failures are Process's (but for the
// pending one tr.WantPending asks for): it cuts the date as Process does
// and runs the same findFailure; what it adds are extra searches of
// prefregex (and, when the filter has ignoreregexes, of the failregexes
// and ignoreregexes) on the same buffers, which change nothing in the
// filter's state.
func (f *Filter) ProcessTrace(line string, t time.Time, tr *Trace) ([]Failure, error) {
	if tr == nil {
		return f.Process(line, t)
	}
	*tr = Trace{WantGroups: tr.WantGroups, TimeOnly: tr.TimeOnly, WantPending: tr.WantPending}
	tl, date, err := f.cutDate(line, t)
	if err != nil {
		return nil, err
	}
	tr.Time = date
	pending := tr.WantPending && !f.checkAll
	if tr.TimeOnly || (f.pref == nil && len(f.ignore) == 0 && !pending) {
		return f.findFailure(tl, date)
	}
	var org []tupleLine // the buffer findFailure searches
	if f.maxLines > 1 {
		org = append(append(org, f.buf...), tl)
		if n := len(org) - f.maxLines; n > 0 {
			org = org[n:]
		}
	}
	fs, err := f.findFailure(tl, date)
	if f.maxLines <= 1 {
		org = []tupleLine{tl}
	}
	if pending && err == nil && len(fs) == 0 && f.mlfid != nil {
		if p := f.pendingFailure(org, date); p != nil {
			fs = []Failure{*p}
		}
	}
	if len(f.ignore) == 0 && !tr.WantGroups && !f.replayTrace {
		if len(fs) > 0 {
			// Only a line prefregex matched can give failures.
			tr.PrefSearched, tr.PrefMatched = f.pref != nil, f.pref != nil
		} else {
			// What trace's search of prefregex would find, findFailure
			// just found on the same buffer.
			tr.PrefSearched, tr.PrefMatched = f.pref != nil, f.prefMatched
		}
		return fs, err
	}
	f.trace(org, tr)
	return fs, err
}

// pendingFailure is the failure findFailure, not checking all regexes,
// has just left out (it returns nothing for an F-MLFID session still
// waiting for its id): the first failregex that matched org, when no
// ignoreregex cancelled it and its session is now pending. nil otherwise.
func (f *Filter) pendingFailure(org []tupleLine, date time.Time) *Failure {
	buf := joinLines(org)
	ignored := func(s string) bool {
		for _, re := range f.ignore {
			if m, err := re.Search(s); err == nil && m != nil {
				return true
			}
		}
		return false
	}
	if len(f.ignore) > 0 && len(f.ignore) < len(f.fail)-2 && ignored(buf) {
		return nil
	}
	cur := org
	var pre map[string]string
	if f.pref != nil {
		m, err := f.pref.Search(buf)
		if err != nil || m == nil {
			return nil
		}
		pre = m.Fields()
		if c := pre["content"]; c != "" {
			cur = []tupleLine{{post: c}}
		}
		delete(pre, "content")
	}
	b := joinLines(cur)
	for i, re := range f.fail {
		fr, ok, err := search(re, b, org)
		if err != nil || !ok {
			continue
		}
		ib := b
		if f.maxLines > 1 {
			ib = joinLines(fr.matched)
		}
		if ignored(ib) {
			return nil
		}
		fields := fr.m.Fields()
		if len(pre) > 0 {
			fields = fr.m.MergeFields(pre)
		}
		e := f.mlfid.m[fields["mlfid"]]
		if _, ok := fields["mlfid"]; !ok || e == nil || !e.data.truthy("mlfpending") {
			return nil
		}
		p := f.failure(i, hostID{}, true, date, e.data, nil, false, false)
		return &p
	}
	return nil
}

// trace replays findFailure's searches that fail2ban-regex counts
// (prefregex, and the ignoreregexes with the failregex matches they
// follow) on org, the buffer findFailure is about to search. A search
// that fails (its budget) counts as no match: findFailure reports it.
func (f *Filter) trace(org []tupleLine, tr *Trace) {
	buf := joinLines(org)
	ignores := func(s string) bool {
		hit := false
		for j, re := range f.ignore {
			if m, err := re.Search(s); err == nil && m != nil {
				tr.IgnoreHits = append(tr.IgnoreHits, j)
				hit = true
				if !f.checkAll {
					break
				}
			}
		}
		return hit
	}
	if len(f.ignore) > 0 && len(f.ignore) < len(f.fail)-2 && ignores(buf) {
		return
	}
	cur := org
	if f.pref != nil {
		tr.PrefSearched = true
		m, err := f.pref.Search(buf)
		if err != nil || m == nil {
			return
		}
		tr.PrefMatched = true
		if tr.WantGroups {
			tr.PrefGroups = m.GroupsRepr()
		}
		if c, ok := m.Group("content"); ok && c != "" {
			cur = []tupleLine{{post: c}}
		}
	}
	if len(f.ignore) == 0 {
		return
	}
	for _, re := range f.fail {
		b := joinLines(cur)
		fr, ok, err := search(re, b, org)
		if err != nil || !ok {
			continue
		}
		ib := b
		if f.maxLines > 1 {
			ib = joinLines(fr.matched)
		}
		if ignores(ib) {
			if f.maxLines > 1 {
				cur = fr.unmatched
			}
		} else if !f.checkAll || f.maxLines > 1 {
			cur = fr.unmatched
		}
		if !f.checkAll {
			// findFailure stops at the first match (but for one that has
			// no id, which it skips: not replayed here).
			break
		}
	}
}
