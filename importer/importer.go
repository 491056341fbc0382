// Package importer reads the ban records of a fail2ban 1.0.x SQLite database
// (its bips and bans tables) so that banctl can migrate them into
// banserver's ban store.
//
// It knows fail2ban's schema and SQLite, nothing of the store: Read returns
// plain Ban values and banctl writes them. That keeps the SQLite driver, a
// large pure-Go dependency, out of every binary but banctl.
//
// fail2ban keeps one row per ban event in bans (purged after dbpurgeage, a
// day by default) and one row per address and jail in bips (the latest ban,
// kept for bantime.increment much longer). Read merges both into one Ban per
// (jail, address): the latest event, with a count of every ban the address
// had in that jail. A row whose address is not an address (fail2ban bans any
// string handed to banip) is skipped and reported, never fatal.
package importer

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/banserver/banserver/jail"
	"math"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// ErrNotFail2ban reports a file that is not a fail2ban database: not SQLite,
// or without a bans or bips table.
var ErrNotFail2ban = errors.New("importer: not a fail2ban database")

// DefaultMaxMatches is how many log lines a ban keeps, fail2ban's
// dbmaxmatches default: the newest ones.
const DefaultMaxMatches = 10

// DefaultUnknownBanTime is the ban time given to rows that fail2ban wrote
// with bantime -2 ("unknown", left by its upgrade from schema 1): the 600 s
// fail2ban itself falls back to when no jail says otherwise.
const DefaultUnknownBanTime = 600 * time.Second

// Forever is the ban time of a ban that never ends (fail2ban's -1). It
// equals jail.Forever; any negative ban time means forever downstream.
const Forever time.Duration = -time.Second

// Options tune Read. The zero value imports everything as of now.
type Options struct {
	// Now decides which bans are still live; zero means time.Now().
	Now time.Time
	// Jails, when not empty, limits the import to these jails.
	Jails []string
	// MaxMatches caps each ban's matches (the newest are kept); 0 means
	// DefaultMaxMatches, negative keeps none.
	MaxMatches int
	// UnknownBanTime replaces fail2ban's bantime -2; 0 means
	// DefaultUnknownBanTime.
	UnknownBanTime time.Duration
}

// Ban is one (jail, address) of the fail2ban database, merged over its rows.
type Ban struct {
	// Jail is the fail2ban jail's name.
	Jail string
	// Prefix is the banned address as a /32 or /128, or the subnet fail2ban
	// was given; IPv4-mapped IPv6 becomes IPv4, as everywhere in banserver.
	Prefix netip.Prefix
	// Start and BanTime are those of the latest ban; BanTime is Forever
	// (negative) for a ban without end.
	Start   time.Time
	BanTime time.Duration
	// Count is how many times the address was banned in the jail: the
	// larger of fail2ban's bancount and the number of distinct ban events
	// found (bancount stays 1 without bantime.increment).
	Count int
	// Matches are the latest ban's log lines, the newest MaxMatches.
	Matches []string
	// Live is true when the latest ban had not ended at Options.Now.
	Live bool
}

// End is when the ban ends; the zero time for a ban that never does.
func (b Ban) End() time.Time {
	if b.BanTime < 0 {
		return time.Time{}
	}
	return b.Start.Add(b.BanTime)
}

// Issue is a row, or a group of rows of one jail and address, that Read
// skipped or imported with a loss.
type Issue struct {
	// Jail and IP are the row's text as fail2ban stored it.
	Jail string `json:"jail"`
	IP   string `json:"ip"`
	// Rows counts the rows concerned, over both tables.
	Rows int `json:"rows"`
	// Reason says what was wrong, for a person.
	Reason string `json:"reason"`
}

// Result is what Read found.
type Result struct {
	// Jails are the names of the jails imported (those of the jails table
	// and of the rows, less the ones Options.Jails leaves out), sorted.
	Jails []string
	// Bans are ordered by Start, then jail, then prefix, so that writing
	// them in order leaves the latest ban of each key last.
	Bans []Ban
	// Skipped are the rows not imported.
	Skipped []Issue
	// Warnings are rows imported with something lost (unreadable matches).
	Warnings []Issue
	// Rows counts the rows read from bips and bans after the jail filter.
	Rows int
}

// Read opens the fail2ban database at path read-only and returns its bans.
// It fails only when the file cannot be read as a fail2ban database; bad
// rows become Result.Skipped or Result.Warnings.
func Read(ctx context.Context, path string, o Options) (*Result, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.MaxMatches == 0 {
		o.MaxMatches = DefaultMaxMatches
	}
	if o.UnknownBanTime == 0 {
		o.UnknownBanTime = DefaultUnknownBanTime
	}
	// SQLite with mode=ro on a missing file says only "unable to open
	// database file"; stat first for an error that names the cause.
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("importer: %w", err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("%w: %s is a directory", ErrNotFail2ban, path)
	}
	db, err := sql.Open("sqlite", readOnlyDSN(path))
	if err != nil {
		return nil, fmt.Errorf("importer: opening %s: %w", path, err)
	}
	defer db.Close()

	// One deferred transaction: every query below reads the same snapshot,
	// even if a fail2ban-server still running commits in between.
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotFail2ban, path, err)
	}
	defer tx.Rollback()

	tables, err := tableNames(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNotFail2ban, path, err)
	}
	if !tables["bans"] && !tables["bips"] {
		return nil, fmt.Errorf("%w: %s has neither a bans nor a bips table", ErrNotFail2ban, path)
	}

	m := newMerger(o)
	if tables["jails"] {
		if err := m.readJails(ctx, tx); err != nil {
			return nil, fmt.Errorf("importer: reading jails of %s: %w", path, err)
		}
	}
	// bips first: on a tie of time between the two tables its row is the
	// one fail2ban restores from.
	for _, t := range []string{"bips", "bans"} {
		if !tables[t] {
			continue
		}
		if err := m.readBans(ctx, tx, t); err != nil {
			return nil, fmt.Errorf("importer: reading %s of %s: %w", t, path, err)
		}
	}
	return m.result(), nil
}

// readOnlyDSN is a file: URI, so SQLite itself applies mode=ro (a plain
// name would drop it and create a missing file). busy_timeout waits out a
// fail2ban-server still committing.
func readOnlyDSN(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: "mode=ro&_pragma=busy_timeout(5000)"}
	return u.String()
}

func tableNames(ctx context.Context, db *sql.Tx) (map[string]bool, error) {
	rows, err := db.QueryContext(ctx, "SELECT name FROM sqlite_master WHERE type = 'table'")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	names := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names[n] = true
	}
	return names, rows.Err()
}

// key is one (jail, address) as banserver sees it; raw is set instead of
// prefix for a row whose address does not parse, so that its rows are
// reported once.
type key struct {
	jail   string
	prefix netip.Prefix
	raw    string
}

// event is one ban of a key: the row chosen for one time of ban.
type event struct {
	start    int64 // unix seconds
	banTime  time.Duration
	count    int
	matches  []string
	badData  bool
	hasMatch bool
}

// group gathers the rows of one key.
type group struct {
	key     key
	ip      string // the first spelling seen, for reports
	rows    int
	events  map[int64]*event
	skipped string // reason when the key itself is unusable
	badRows []string
}

type merger struct {
	o      Options
	want   map[string]bool // nil: every jail
	jails  map[string]bool
	groups map[key]*group
	order  []*group // first-seen order, for stable reports
	rows   int
	// rowIssues are rows skipped on their own (bad time, no jail).
	rowIssues []Issue
}

func newMerger(o Options) *merger {
	m := &merger{o: o, jails: map[string]bool{}, groups: map[key]*group{}}
	if len(o.Jails) > 0 {
		m.want = map[string]bool{}
		for _, j := range o.Jails {
			m.want[j] = true
		}
	}
	return m
}

func (m *merger) wanted(jail string) bool { return m.want == nil || m.want[jail] }

func (m *merger) readJails(ctx context.Context, db *sql.Tx) error {
	rows, err := db.QueryContext(ctx, "SELECT name FROM jails")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return err
		}
		if s, ok := text(v); ok && s != "" && m.wanted(s) {
			m.jails[s] = true
		}
	}
	return rows.Err()
}

func (m *merger) readBans(ctx context.Context, db *sql.Tx, table string) error {
	// Columns by name: a bans table from before schema 2 has no bantime or
	// bancount, which the query then reports rather than misreads.
	rows, err := db.QueryContext(ctx, "SELECT jail, ip, timeofban, bantime, bancount, data FROM "+table)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var jailV, ipV, tobV, btV, bcV, dataV any
		if err := rows.Scan(&jailV, &ipV, &tobV, &btV, &bcV, &dataV); err != nil {
			return err
		}
		m.add(jailV, ipV, tobV, btV, bcV, dataV)
	}
	return rows.Err()
}

// add merges one row; every defect of the row is recorded, none is fatal.
func (m *merger) add(jailV, ipV, tobV, btV, bcV, dataV any) {
	jailName, _ := text(jailV)
	ip, _ := text(ipV)
	if !m.wanted(jailName) {
		return
	}
	m.rows++
	if jailName == "" {
		m.rowIssues = append(m.rowIssues, Issue{IP: ip, Rows: 1, Reason: "row has no jail"})
		return
	}
	m.jails[jailName] = true
	k := key{jail: jailName}
	reason := ""
	switch p, err := parseIP(ip); {
	case ip == "":
		reason = "row has no address"
		k.raw = ip
	case err != nil:
		reason = "not an IP address or subnet"
		k.raw = ip
	default:
		k.prefix = p
	}
	g := m.groups[k]
	if g == nil {
		g = &group{key: k, ip: ip, events: map[int64]*event{}, skipped: reason}
		m.groups[k] = g
		m.order = append(m.order, g)
	}
	g.rows++
	if g.skipped != "" {
		return
	}

	start, ok := seconds(tobV)
	if !ok {
		g.badRows = append(g.badRows, fmt.Sprintf("timeofban %v is not a time", tobV))
		return
	}
	bt, ok := seconds(btV)
	var banTime time.Duration
	switch {
	case !ok:
		g.badRows = append(g.badRows, fmt.Sprintf("bantime %v is not a number", btV))
		return
	case bt == -1:
		banTime = Forever
	case bt == -2:
		banTime = m.o.UnknownBanTime
	case bt < 0 || bt > math.MaxInt64/int64(time.Second):
		g.badRows = append(g.badRows, fmt.Sprintf("bantime %d is out of range", bt))
		return
	default:
		banTime = time.Duration(bt) * time.Second
	}
	count, ok := seconds(bcV)
	if !ok || count < 1 {
		count = 1 // NOT NULL DEFAULT 1 in fail2ban's schema
	}
	count = min(count, math.MaxInt32)
	matches, hasMatches, badData := parseMatches(dataV, m.o.MaxMatches)

	e := &event{start: start, banTime: banTime, count: int(count), matches: matches, hasMatch: hasMatches, badData: badData}
	if old, dup := g.events[start]; dup {
		// The same ban seen twice (bips and bans, or a duplicated row):
		// keep the first (bips) unless the other ends later or carries
		// matches the first lost.
		if endsAfter(e, old) {
			e.count = max(e.count, old.count)
			if !e.hasMatch && old.hasMatch {
				e.matches, e.hasMatch, e.badData = old.matches, true, old.badData
			}
			g.events[start] = e
		} else {
			old.count = max(e.count, old.count)
			if !old.hasMatch && e.hasMatch {
				old.matches, old.hasMatch, old.badData = e.matches, true, e.badData
			}
		}
		return
	}
	g.events[start] = e
}

// endsAfter reports whether a ends strictly after b; forever ends last.
func endsAfter(a, b *event) bool {
	switch {
	case b.banTime < 0:
		return false
	case a.banTime < 0:
		return true
	}
	return a.banTime > b.banTime
}

func (m *merger) result() *Result {
	r := &Result{Rows: m.rows, Skipped: slices.Clone(m.rowIssues)}
	for _, g := range m.order {
		if g.skipped != "" {
			r.Skipped = append(r.Skipped, Issue{Jail: g.key.jail, IP: g.ip, Rows: g.rows, Reason: g.skipped})
			continue
		}
		if len(g.badRows) > 0 {
			reason := strings.Join(slices.Compact(slices.Sorted(slices.Values(g.badRows))), "; ")
			r.Skipped = append(r.Skipped, Issue{Jail: g.key.jail, IP: g.ip, Rows: len(g.badRows), Reason: reason})
		}
		if len(g.events) == 0 {
			continue
		}
		var last *event
		most := 0
		for _, e := range g.events {
			if last == nil || e.start > last.start {
				last = e
			}
			most = max(most, e.count)
		}
		if last.badData {
			r.Warnings = append(r.Warnings, Issue{Jail: g.key.jail, IP: g.ip, Rows: 1,
				Reason: "data is not a JSON object with a list of matches: imported without matches"})
		}
		b := Ban{
			Jail:    g.key.jail,
			Prefix:  g.key.prefix,
			Start:   time.Unix(last.start, 0),
			BanTime: last.banTime,
			Count:   max(most, len(g.events)),
			Matches: last.matches,
		}
		b.Live = b.BanTime < 0 || b.End().After(m.o.Now)
		r.Bans = append(r.Bans, b)
	}
	slices.SortStableFunc(r.Bans, func(a, b Ban) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Jail, b.Jail), a.Prefix.Addr().Compare(b.Prefix.Addr()),
			cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits()))
	})
	r.Jails = slices.Sorted(func(yield func(string) bool) {
		for j := range m.jails {
			if !yield(j) {
				return
			}
		}
	})
	return r
}

// parseIP reads fail2ban's ip column: an address or a subnet (fail2ban's
// IPAddr prints a subnet ban as CIDR), by the rules of the daemon's own
// ignoreip parser: zones refused, IPv4-mapped IPv6 turned into IPv4, so both
// spellings are one key.
func parseIP(s string) (netip.Prefix, error) {
	return jail.ParseIgnore(strings.TrimSpace(s))
}

// text reads a TEXT (or BLOB, as fail2ban's own adapters write) column.
func text(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

// seconds reads an INTEGER column, tolerating REAL and numeric TEXT
// (SQLite's columns are only affinities); floats round as fail2ban rounds
// timeofban.
func seconds(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case float64:
		if math.IsNaN(x) || math.Abs(x) > 1<<62 {
			return 0, false
		}
		return int64(math.Round(x)), true
	case string, []byte:
		s, _ := text(x)
		if n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
			return n, true
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
			return seconds(f)
		}
	}
	return 0, false
}

// parseMatches reads data's "matches": a list of log lines (each a string,
// or in old databases a list of string parts). It returns the newest max of
// them, whether data had any, and whether data was unreadable. NULL or an
// object without matches is not an error: manual bans have none.
func parseMatches(v any, maxMatches int) (matches []string, has, bad bool) {
	s, ok := text(v)
	if !ok || strings.TrimSpace(s) == "" {
		return nil, false, v != nil && !ok
	}
	var d struct {
		Matches []json.RawMessage `json:"matches"`
	}
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		return nil, false, true
	}
	if maxMatches < 0 {
		return nil, len(d.Matches) > 0, false
	}
	raw := d.Matches
	if len(raw) > maxMatches {
		raw = raw[len(raw)-maxMatches:]
	}
	for _, r := range raw {
		var line string
		if err := json.Unmarshal(r, &line); err == nil {
			matches = append(matches, line)
			continue
		}
		var parts []string
		if err := json.Unmarshal(r, &parts); err == nil {
			matches = append(matches, strings.Join(parts, ""))
			continue
		}
		return nil, false, true
	}
	return matches, len(matches) > 0, false
}
