package filter

import (
	"errors"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/banserver/banserver/filter/dates"
	"github.com/banserver/banserver/filter/pyre"
)

// lastDateReuse is how long fail2ban reuses the last date it saw for lines
// that have none: while that date is less than this older than now.
const lastDateReuse = 60 * time.Second

// idGroups are the groups a failregex (or its prefregex) must have for
// fail2ban to accept it (FAILURE_ID_PRESENTS).
var idGroups = []string{"fid", "ip4", "ip6", "dns", "mlfid"}

// Filter is one log's filter: compiled regexes and the state fail2ban
// keeps between lines. It is not safe for concurrent use.
type Filter struct {
	name     string
	pref     *pyre.Regex
	fail     []*pyre.Regex
	ignore   []*pyre.Regex
	maxLines int
	useDNS   string
	defCIDR  int // cidrRaw when hosts stay raw text, else cidrUnspec
	checkAll bool
	resolve  func(string) []netip.Addr
	now      func() time.Time
	dates    *dates.Detector
	datePat  string // the datepattern in effect, "" for the default templates
	journal  string // the filter's journalmatch

	prefNames groupNames   // prefregex's named groups
	failNames []groupNames // each failregex's
	pairs     []field      // prefregex's fields on the current line
	// prefMatched: prefregex matched in the last findFailure (ProcessTrace
	// reports it); replayTrace (tests) has ProcessTrace replay the search.
	prefMatched, replayTrace bool

	// Per-log state.
	buf          []tupleLine  // the multi-line buffer
	one          [2]tupleLine // backing of buf for single lines: the line, prefregex's content
	ids          [1]hostID    // backing of failureIDs' answer for one id
	lastTimeText string
	lastDate     time.Time
	hasLastDate  bool
	mlfid        *mlfidCache // nil until the first session
}

// New builds a filter from a jail's settings. Its errors match
// ErrSettings and name the filter, the regex and what is wrong.
func New(s Settings) (*Filter, error) {
	r, err := s.resolve()
	if err != nil {
		return nil, err
	}
	f := &Filter{
		name:     r.name,
		maxLines: r.maxLines,
		useDNS:   r.useDNS,
		defCIDR:  cidrUnspec,
		checkAll: s.CheckAllRegex,
		resolve:  s.Resolve,
		now:      s.Now,
		datePat:  r.datePattern,
		journal:  r.journal,
	}
	if f.now == nil {
		f.now = time.Now
	}
	if f.useDNS == "raw" {
		f.defCIDR = cidrRaw
	}
	if len(r.failRegex) == 0 {
		return nil, settingsError(f.name, "no failregex")
	}
	o := pyre.Options{UseDNS: f.useDNS, Budget: s.Budget}
	if r.prefRegex != "" {
		if f.pref, err = compile(f.name, "prefregex", -1, r.prefRegex, o); err != nil {
			return nil, err
		}
	}
	fo := o
	fo.Multiline = f.maxLines > 1
	for i, p := range r.failRegex {
		re, err := compile(f.name, "failregex", i, p, fo)
		if err != nil {
			return nil, err
		}
		if !hasIDGroup(re) && (f.pref == nil || !hasIDGroup(f.pref)) {
			return nil, settingsError(f.name, "failregex %d %q: no failure-id group (<HOST>, <ADDR>, <F-ID>, <F-MLFID>...)", i, p)
		}
		f.fail = append(f.fail, re)
		f.failNames = append(f.failNames, namesOf(re))
	}
	f.prefNames = groupNames{plain: true} // none
	if f.pref != nil {
		f.prefNames = namesOf(f.pref)
	}
	for i, p := range r.ignoreRegex {
		re, err := compile(f.name, "ignoreregex", i, p, o)
		if err != nil {
			return nil, err
		}
		f.ignore = append(f.ignore, re)
	}
	do := dates.Options{Pattern: r.datePattern, Local: s.Local, Now: f.now}
	if s.LogTimeZone != "" {
		z, err := dates.ParseZone(s.LogTimeZone)
		if err != nil {
			return nil, settingsError(f.name, "logtimezone %q: %v", s.LogTimeZone, err)
		}
		do.Zone = z
	}
	if f.dates, err = dates.New(do); err != nil {
		return nil, settingsError(f.name, "datepattern %q: %v", r.datePattern, err)
	}
	return f, nil
}

func hasIDGroup(r *pyre.Regex) bool {
	for _, g := range idGroups {
		if r.HasGroup(g) {
			return true
		}
	}
	return false
}

// Name is the filter's name ("inline filter" when it has none).
func (f *Filter) Name() string { return f.name }

// DatePattern is the datepattern in effect, "" for the default templates.
func (f *Filter) DatePattern() string { return f.datePat }

// JournalMatch is the filter file's journalmatch, "" when it has none.
func (f *Filter) JournalMatch() string { return f.journal }

// FailRegex returns the failregexes as compiled (after fail2ban's tags
// were resolved), in order: Failure.Regex indexes them.
func (f *Filter) FailRegex() []string {
	out := make([]string, len(f.fail))
	for i, r := range f.fail {
		out[i] = r.String()
	}
	return out
}

// IgnoreRegex returns the ignoreregexes as compiled.
func (f *Filter) IgnoreRegex() []string {
	out := make([]string, len(f.ignore))
	for i, r := range f.ignore {
		out[i] = r.String()
	}
	return out
}

// PrefRegex returns the prefregex as compiled, "" when there is none.
func (f *Filter) PrefRegex() string {
	if f.pref == nil {
		return ""
	}
	return f.pref.String()
}

// MaxLines is the number of lines a failregex sees at once.
func (f *Filter) MaxLines() int { return f.maxLines }

// Process reads one line (without its line end) and returns the failures
// it completes, as fail2ban's processLine does. t is the line's time when
// the source knows it (the journal); zero means: find the date in the
// line. A line that fails as a whole returns an error matching ErrLine
// and no failures; the filter's state stays usable.
//
// The failures carry the line's own time (see Failure.Time). What fail2ban
// then does with that time in operation (checkFindTime) is the caller's
// decision, since it needs the jail's findtime: a line without a date, or
// dated more than a minute away from now, counts as happening now; while a
// log is first read, lines older than findtime are dropped.
func (f *Filter) Process(line string, t time.Time) ([]Failure, error) {
	tl, date, err := f.cutDate(line, t)
	if err != nil {
		return nil, err
	}
	return f.findFailure(tl, date)
}

// cutDate is Process's first half, which ProcessTrace shares: the line's
// date found and cut out, or the time the source gave, or the last date
// while recent (no date: the zero time).
func (f *Filter) cutDate(line string, t time.Time) (tupleLine, time.Time, error) {
	if !utf8.ValidString(line) {
		line = pyre.Decode([]byte(line))
	}
	var (
		tl      tupleLine
		date    time.Time
		hasDate bool
	)
	if !t.IsZero() {
		tl = tupleLine{post: line}
		f.lastTimeText, f.lastDate, f.hasLastDate = "", t, true
		return tl, t, nil
	}
	fd, ok := f.dates.Find(line)
	switch {
	case !ok:
		tl = tupleLine{post: line}
	case fd.Err != nil && errors.Is(fd.Err, dates.ErrLineFailed):
		return tl, date, lineError(f.name, "date", fd.Err)
	case fd.Start < 0 || fd.Start == fd.End:
		tl = tupleLine{post: line}
		if f.recent() {
			tl.date = f.lastTimeText
			date, hasDate = f.lastDate, true
		} else {
			date, hasDate = f.now(), true
		}
	default:
		tl = tupleLine{line[:fd.Start], line[fd.Start:fd.End], line[fd.End:], line}
		if fd.Err == nil {
			date, hasDate = fd.Time, true
			f.lastTimeText, f.lastDate, f.hasLastDate = tl.date, date, true
		}
	}
	if !hasDate && f.recent() {
		tl = tupleLine{date: f.lastTimeText, post: line}
		date = f.lastDate
	}
	return tl, date, nil
}

// recent reports whether the last date is less than a minute older than now.
func (f *Filter) recent() bool {
	return f.hasLastDate && f.lastDate.After(f.now().Add(-lastDateReuse))
}

// Reset forgets the per-log state: the multi-line buffer, the last date,
// the F-MLFID sessions (the date detector's template order stays).
func (f *Filter) Reset() {
	f.buf = nil
	f.lastTimeText, f.lastDate, f.hasLastDate = "", time.Time{}, false
	f.mlfid = nil
}

// findFailure is fail2ban's findFailure: the regexes on the buffer.
func (f *Filter) findFailure(tl tupleLine, date time.Time) ([]Failure, error) {
	if f.maxLines > 1 {
		f.buf = append(f.buf, tl)
		if n := len(f.buf) - f.maxLines; n > 0 {
			f.buf = append([]tupleLine(nil), f.buf[n:]...)
		}
	} else {
		// org and the matched lines alias f.one[0] for this call only.
		f.one[0] = tl
		f.buf = f.one[:1:1]
	}
	org := f.buf
	buf := joinLines(org)
	stale := false // buf no longer reflects f.buf

	// fail2ban tries ignoreregex first when there are far fewer of them.
	if len(f.ignore) > 0 && len(f.ignore) < len(f.fail)-2 {
		i, err := f.ignoreLine(buf, org, nil)
		if err != nil || i >= 0 {
			return nil, err
		}
	}

	var pre []field // prefregex's fields but content
	f.prefMatched = false
	if f.pref != nil {
		m, err := f.pref.Search(buf)
		if err != nil {
			return nil, lineError(f.name, "prefregex", err)
		}
		if m == nil {
			return nil, nil
		}
		f.prefMatched = true
		var content string
		f.pairs, content = f.prefNames.fields(m, f.pairs[:0])
		pre = f.pairs
		if content != "" {
			f.one[1] = tupleLine{post: content}
			f.buf, stale = f.one[1:2:2], true
			if n := len(content) + 1; n <= len(buf) && buf[len(buf)-1] == '\n' && buf[len(buf)-n:len(buf)-1] == content {
				// joinLines(f.buf) is the end of buf: no new string.
				buf, stale = buf[len(buf)-n:], false
			}
		}
	}

	var out []Failure
	for i, re := range f.fail {
		if stale {
			buf, stale = joinLines(f.buf), false
		}
		m, err := re.Search(buf)
		if err != nil {
			return nil, lineError(f.name, "failregex "+strconv.Itoa(i), err)
		}
		if m == nil {
			continue
		}
		fr := split(m, buf, org)
		if len(f.ignore) > 0 {
			j, err := f.ignoreLine(buf, org, &fr)
			if err != nil {
				return nil, err
			}
			if j >= 0 {
				stale = true
				if !f.checkAll {
					break
				}
				continue
			}
		}
		if !f.checkAll || f.maxLines > 1 {
			f.buf, stale = fr.unmatched, true
		}
		d := f.failNames[i].data(fr.m, pre, f.prefNames.plain)
		mlfid, hasMLFID := d.str("mlfid")
		var matches []tupleLine // the failure's lines, when d does not hold them
		if hasMLFID {
			d = f.mergeFailure(mlfid, d, &fr)
			if d.truthy("nofail") && !f.checkAll {
				return out, nil
			}
		} else {
			// d["matches"] would be fr.matched (a group named matches
			// gives way to it): kept aside, d is the Fields as it is.
			delete(d, "matches")
			matches = fr.matched
		}
		ids, ok, err := f.failureIDs(d, &fr, hasMLFID)
		if err != nil {
			return nil, err
		}
		if !ok {
			// fail2ban logs "No group found" and tries the next regex.
			continue
		}
		if ids == nil {
			// An F-MLFID session still waiting for its id.
			d["mlfpending"] = 1
			if !f.checkAll {
				return out, nil
			}
			out = append(out, f.failure(i, hostID{}, true, date, d, nil, false, false))
		}
		for k, id := range ids {
			// The last failure of a plain match takes d as its Fields.
			own := !hasMLFID && k == len(ids)-1
			out = append(out, f.failure(i, id, false, date, d, matches, !hasMLFID, own))
		}
		if !f.checkAll {
			break
		}
	}
	return out, nil
}

// groupNames are a regex's named groups, for reading a match's fields.
type groupNames struct {
	names []string
	// plain: no alt_ or tuple_ group, which pyre's Fields combines;
	// Fields is then the named groups that took part, read here
	// directly (without the maps Fields and MergeFields make).
	plain bool
}

func namesOf(r *pyre.Regex) groupNames {
	g := groupNames{names: r.GroupNames(), plain: true}
	for _, n := range g.names {
		if strings.HasPrefix(n, "alt_") || strings.HasPrefix(n, "tuple_") {
			g.plain = false
		}
	}
	return g
}

// field is one field of a match.
type field struct{ name, value string }

// fields appends m's fields (pyre's Fields) but content to out, and
// returns content's value.
func (g groupNames) fields(m *pyre.Match, out []field) ([]field, string) {
	var content string
	if !g.plain {
		for k, v := range m.Fields() {
			if k == "content" {
				content = v
			} else {
				out = append(out, field{k, v})
			}
		}
		return out, content
	}
	for _, n := range g.names {
		if v, ok := m.Group(n); ok {
			if n == "content" {
				content = v
			} else {
				out = append(out, field{n, v})
			}
		}
	}
	return out, content
}

// data is the failure data of a failregex match m after prefregex's
// fields pre (prePlain: read as plain), as fail2ban merges them: pyre's
// MergeFields (or Fields without pre).
func (g groupNames) data(m *pyre.Match, pre []field, prePlain bool) failData {
	if !g.plain || !prePlain {
		var fm map[string]string
		if len(pre) > 0 {
			pm := make(map[string]string, len(pre))
			for _, p := range pre {
				pm[p.name] = p.value
			}
			fm = m.MergeFields(pm)
		} else {
			fm = m.Fields()
		}
		d := make(failData, len(fm)+1)
		for k, v := range fm {
			d[k] = v
		}
		return d
	}
	d := make(failData, len(pre)+len(g.names))
	for _, p := range pre {
		d[p.name] = p.value
	}
	for _, n := range g.names {
		if v, ok := m.Group(n); ok {
			d[n] = v
		} else if hasField(pre, n) {
			delete(d, n) // a group that did not take part removes prefregex's
		}
	}
	return d
}

func hasField(fs []field, name string) bool {
	for _, f := range fs {
		if f.name == name {
			return true
		}
	}
	return false
}

// ignoreLine is fail2ban's _ignoreLine: the index of the first ignoreregex
// matching (the lines fr matched, in a multi-line buffer), or -1.
func (f *Filter) ignoreLine(buf string, org []tupleLine, fr *found) (int, error) {
	if fr != nil && f.maxLines > 1 {
		org = fr.matched
		buf = joinLines(org)
	}
	fnd := -1
	for j, re := range f.ignore {
		m, err := re.Search(buf)
		if err != nil {
			return -1, lineError(f.name, "ignoreregex "+strconv.Itoa(j), err)
		}
		if m == nil {
			continue
		}
		fnd = j
		if (!f.checkAll || f.maxLines > 1) && fr != nil {
			f.buf = fr.unmatched
		}
		if !f.checkAll {
			break
		}
	}
	return fnd, nil
}

// failureIDs finds the id of a failure as fail2ban's findFailure does: F-ID,
// else the address or host matched, resolved per usedns. It returns nil
// ids with ok for an F-MLFID session still waiting for its id, and !ok
// when the regex gave no id at all.
//
// The answer for one id is in f.ids, valid until the next call.
func (f *Filter) failureIDs(d failData, fr *found, hasMLFID bool) (ids []hostID, ok bool, err error) {
	cidr := f.defCIDR
	raw := cidr == cidrRaw
	fid, hasFID := d.str("fid")
	cidrOf := func(fam int) (int, error) {
		s, _ := d.str("cidr")
		if s == "" {
			return fam, nil
		}
		n, ok := atoiPy(s)
		if !ok {
			return 0, lineError(f.name, "cidr", strconv.ErrSyntax)
		}
		return n, nil
	}
	ip, hasIP := d.str("ip4")
	switch {
	case hasIP:
		if cidr, err = cidrOf(famIPv4); err != nil {
			return nil, false, err
		}
		raw = true
	default:
		if ip, hasIP = d.str("ip6"); hasIP {
			if cidr, err = cidrOf(famIPv6); err != nil {
				return nil, false, err
			}
			raw = true
			break
		}
		if ip, hasIP = d.str("dns"); hasIP {
			break
		}
		if !hasFID && !hasMLFID {
			// getFailID: the failregex's own id groups, all unset here.
			return nil, false, nil
		}
		ip, hasIP, raw = fid, hasFID, true
	}
	switch {
	case !hasIP:
		return nil, true, nil
	case raw:
		if !hasFID || fid == ip {
			return f.oneID(makeHostID(ip, cidr)), true, nil
		}
		d["ip"] = makeHostID(ip, cidr).String()
		return f.oneID(makeHostID(fid, f.defCIDR)), true, nil
	}
	// A host name: fail2ban's DNSUtils.textToIp.
	if a, ok := plainAddr(ip); ok {
		return f.oneID(hostID{raw: a.String(), prefix: netip.PrefixFrom(a, a.BitLen())}), true, nil
	}
	if f.useDNS == "no" {
		return []hostID{}, true, nil
	}
	if f.resolve == nil {
		return []hostID{{raw: ip, isRaw: true}}, true, nil
	}
	addrs := f.resolve(ip)
	ids = make([]hostID, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap()
		ids = append(ids, hostID{raw: a.String(), prefix: netip.PrefixFrom(a, a.BitLen())})
	}
	return ids, true, nil
}

func (f *Filter) oneID(id hostID) []hostID {
	f.ids[0] = id
	return f.ids[:]
}

// failure makes the Failure of an id from the failure data as it is now.
// With plain (a match without F-MLFID), its lines are matches, else d's
// "matches"; own tells that d holds only strings and is not used after:
// it becomes the failure's Fields.
func (f *Filter) failure(regex int, id hostID, pending bool, date time.Time, d failData, matches []tupleLine, plain, own bool) Failure {
	fl := Failure{
		Regex:   regex,
		Host:    id.String(),
		Addr:    id.prefix,
		Time:    date,
		NoFail:  d.truthy("nofail"),
		Pending: pending,
		rawID:   id.isRaw,
	}
	if !fl.Addr.IsValid() && !pending {
		// A raw id (F-ID, usedns raw) that is an address is one for a jail.
		if a, ok := plainAddr(fl.Host); ok {
			fl.Addr = netip.PrefixFrom(a, a.BitLen())
		}
	}
	if plain {
		fl.Matches = make([]string, len(matches))
		for i, l := range matches {
			fl.Matches[i] = l.full()
		}
	}
	if own {
		fl.Fields = map[string]any(d)
		return fl
	}
	fl.Fields = make(map[string]any, len(d))
	for k, v := range d {
		switch tv := v.(type) {
		case string:
			fl.Fields[k] = v // the same interface value: no new box
		case userSet:
			users := make([]string, 0, len(tv))
			for u := range tv {
				users = append(users, u)
			}
			sort.Strings(users)
			fl.Fields[k] = users
		case []tupleLine:
			if k == "matches" && !plain {
				fl.Matches = make([]string, len(tv))
				for i, l := range tv {
					fl.Matches[i] = l.full()
				}
			}
		}
	}
	return fl
}
