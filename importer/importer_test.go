package importer

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// schema is fail2ban 1.0.2's, from Fail2BanDb._CREATE_SCRIPTS (version 4).
const schema = `
CREATE TABLE fail2banDb(version INTEGER);
INSERT INTO fail2banDb(version) VALUES (4);
CREATE TABLE jails(name TEXT NOT NULL UNIQUE, enabled INTEGER NOT NULL DEFAULT 1);
CREATE TABLE logs(jail TEXT NOT NULL, path TEXT, firstlinemd5 TEXT, lastfilepos INTEGER DEFAULT 0,
	FOREIGN KEY(jail) REFERENCES jails(name) ON DELETE CASCADE, UNIQUE(jail, path), UNIQUE(jail, path, firstlinemd5));
CREATE TABLE bans(jail TEXT NOT NULL, ip TEXT, timeofban INTEGER NOT NULL, bantime INTEGER NOT NULL,
	bancount INTEGER NOT NULL default 1, data JSON, FOREIGN KEY(jail) REFERENCES jails(name));
CREATE TABLE bips(ip TEXT NOT NULL, jail TEXT NOT NULL, timeofban INTEGER NOT NULL, bantime INTEGER NOT NULL,
	bancount INTEGER NOT NULL default 1, data JSON, PRIMARY KEY(ip, jail), FOREIGN KEY(jail) REFERENCES jails(name));
`

// row is one row of bans or bips. data is stored as a BLOB when it is a
// []byte, as fail2ban's JSON adapter writes it.
type row struct {
	table     string
	jail, ip  any
	timeofban any
	bantime   any
	bancount  any
	data      any
}

// makeDB writes a fail2ban-shaped database with the given jails and rows.
func makeDB(t *testing.T, jails []string, rows []row) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "fail2ban.sqlite3")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(schema); err != nil {
		t.Fatal(err)
	}
	for _, j := range jails {
		if _, err := db.Exec("INSERT INTO jails(name, enabled) VALUES (?, 0)", j); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range rows {
		q := fmt.Sprintf("INSERT INTO %s(jail, ip, timeofban, bantime, bancount, data) VALUES (?, ?, ?, ?, ?, ?)", r.table)
		if _, err := db.Exec(q, r.jail, r.ip, r.timeofban, r.bantime, r.bancount, r.data); err != nil {
			t.Fatalf("%+v: %v", r, err)
		}
	}
	return path
}

// both is the pair of rows fail2ban writes for one ban: its bans row and
// its bips row.
func both(jail, ip string, tob, bantime, count int64, data string) []row {
	return []row{
		{"bans", jail, ip, tob, bantime, count, []byte(data)},
		{"bips", jail, ip, tob, bantime, count, []byte(data)},
	}
}

func cat(rs ...[]row) []row {
	var out []row
	for _, r := range rs {
		out = append(out, r...)
	}
	return out
}

func matchesJSON(n int) string {
	var m []string
	for i := 1; i <= n; i++ {
		m = append(m, fmt.Sprintf("%q", fmt.Sprintf("line %d", i)))
	}
	return fmt.Sprintf(`{"matches": [%s], "failures": %d}`, strings.Join(m, ", "), n)
}

func lines(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("line %d", i))
	}
	return out
}

func TestRead(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	at := func(ago time.Duration) int64 { return now.Add(-ago).Unix() }
	start := func(ago time.Duration) time.Time { return time.Unix(at(ago), 0) }
	pfx := netip.MustParsePrefix
	const noData = `{"matches": [], "failures": 0}`

	tests := []struct {
		name     string
		jails    []string
		rows     []row
		opts     Options
		want     []Ban
		skipped  []Issue
		warnings []Issue
		jailsOut []string
	}{
		{
			name: "live ban with matches",
			rows: both("sshd", "192.0.2.1", at(time.Minute), 3600, 1, `{"matches": ["a", "b"], "failures": 2}`),
			want: []Ban{{Jail: "sshd", Prefix: pfx("192.0.2.1/32"), Start: start(time.Minute), BanTime: time.Hour, Count: 1, Matches: []string{"a", "b"}, Live: true}},
		},
		{
			name: "forever ban from long ago is live",
			rows: both("sshd", "192.0.2.2", at(400*24*time.Hour), -1, 3, noData),
			want: []Ban{{Jail: "sshd", Prefix: pfx("192.0.2.2/32"), Start: start(400 * 24 * time.Hour), BanTime: Forever, Count: 3, Live: true}},
		},
		{
			name: "expired ban is history only",
			rows: both("sshd", "192.0.2.3", at(2*time.Hour), 3600, 1, noData),
			want: []Ban{{Jail: "sshd", Prefix: pfx("192.0.2.3/32"), Start: start(2 * time.Hour), BanTime: time.Hour, Count: 1}},
		},
		{
			name: "a ban ending exactly now has ended, as in fail2ban",
			rows: both("sshd", "192.0.2.4", at(time.Hour), 3600, 1, noData),
			want: []Ban{{Jail: "sshd", Prefix: pfx("192.0.2.4/32"), Start: start(time.Hour), BanTime: time.Hour, Count: 1}},
		},
		{
			name: "IPv6 spellings and IPv4-mapped are one key each",
			rows: cat(
				[]row{{"bans", "api", "2001:DB8::1", at(3 * time.Hour), 600, 1, []byte(noData)}},
				both("api", "2001:db8::1", at(time.Minute), 600, 2, noData),
				both("api", "::ffff:198.51.100.5", at(time.Minute), 600, 1, noData),
			),
			want: []Ban{
				{Jail: "api", Prefix: pfx("198.51.100.5/32"), Start: start(time.Minute), BanTime: 10 * time.Minute, Count: 1, Live: true},
				{Jail: "api", Prefix: pfx("2001:db8::1/128"), Start: start(time.Minute), BanTime: 10 * time.Minute, Count: 2, Live: true},
			},
		},
		{
			name: "subnet ban",
			rows: both("api", "198.51.100.0/24", at(time.Minute), -1, 1, noData),
			want: []Ban{{Jail: "api", Prefix: pfx("198.51.100.0/24"), Start: start(time.Minute), BanTime: Forever, Count: 1, Live: true}},
		},
		{
			name: "matches are capped to the newest ten",
			rows: both("sshd", "192.0.2.5", at(time.Minute), 3600, 1, matchesJSON(25)),
			want: []Ban{{Jail: "sshd", Prefix: pfx("192.0.2.5/32"), Start: start(time.Minute), BanTime: time.Hour, Count: 1, Matches: lines(16, 25), Live: true}},
		},
		{
			name: "MaxMatches option",
			rows: both("sshd", "192.0.2.5", at(time.Minute), 3600, 1, matchesJSON(5)),
			opts: Options{MaxMatches: 2},
			want: []Ban{{Jail: "sshd", Prefix: pfx("192.0.2.5/32"), Start: start(time.Minute), BanTime: time.Hour, Count: 1, Matches: lines(4, 5), Live: true}},
		},
		{
			name: "matches as lists of parts (older fail2ban)",
			rows: both("sshd", "192.0.2.6", at(time.Minute), 3600, 1, `{"matches": [["2026-01-01 ", "fail ", "x"]]}`),
			want: []Ban{{Jail: "sshd", Prefix: pfx("192.0.2.6/32"), Start: start(time.Minute), BanTime: time.Hour, Count: 1, Matches: []string{"2026-01-01 fail x"}, Live: true}},
		},
		{
			name: "bad JSON in data: imported without matches, with a warning",
			rows: both("sshd", "192.0.2.7", at(time.Minute), 3600, 1, `{"matches": ["a"`),
			want: []Ban{{Jail: "sshd", Prefix: pfx("192.0.2.7/32"), Start: start(time.Minute), BanTime: time.Hour, Count: 1, Live: true}},
			warnings: []Issue{{Jail: "sshd", IP: "192.0.2.7", Rows: 1,
				Reason: "data is not a JSON object with a list of matches: imported without matches"}},
		},
		{
			name: "NULL and non-object data",
			rows: []row{
				{"bips", "sshd", "192.0.2.8", at(time.Minute), 3600, 1, nil},
				{"bips", "sshd", "192.0.2.9", at(time.Minute), 3600, 1, "[1, 2]"},
			},
			want: []Ban{
				{Jail: "sshd", Prefix: pfx("192.0.2.8/32"), Start: start(time.Minute), BanTime: time.Hour, Count: 1, Live: true},
				{Jail: "sshd", Prefix: pfx("192.0.2.9/32"), Start: start(time.Minute), BanTime: time.Hour, Count: 1, Live: true},
			},
			warnings: []Issue{{Jail: "sshd", IP: "192.0.2.9", Rows: 1,
				Reason: "data is not a JSON object with a list of matches: imported without matches"}},
		},
		{
			name: "duplicate rows are one ban",
			rows: cat(
				both("sshd", "192.0.2.10", at(time.Minute), 3600, 1, noData),
				both("sshd", "192.0.2.10", at(time.Minute), 3600, 1, noData)[:1],
				both("sshd", "192.0.2.10", at(time.Minute), 3600, 1, noData)[:1],
			),
			want: []Ban{{Jail: "sshd", Prefix: pfx("192.0.2.10/32"), Start: start(time.Minute), BanTime: time.Hour, Count: 1, Live: true}},
		},
		{
			name: "a duplicate that lost its matches does not hide them",
			rows: []row{
				{"bips", "sshd", "192.0.2.11", at(time.Minute), 3600, 1, []byte(noData)},
				{"bans", "sshd", "192.0.2.11", at(time.Minute), 3600, 1, []byte(`{"matches": ["m"]}`)},
			},
			want: []Ban{{Jail: "sshd", Prefix: pfx("192.0.2.11/32"), Start: start(time.Minute), BanTime: time.Hour, Count: 1, Matches: []string{"m"}, Live: true}},
		},
		{
			name: "repeat offender without bantime.increment: count from the events",
			rows: cat(
				[]row{{"bans", "sshd", "203.0.113.1", at(5 * time.Hour), 3600, 1, []byte(`{"matches": ["old"]}`)}},
				[]row{{"bans", "sshd", "203.0.113.1", at(3 * time.Hour), 3600, 1, []byte(`{"matches": ["older"]}`)}},
				both("sshd", "203.0.113.1", at(time.Minute), 3600, 1, `{"matches": ["new"]}`),
			),
			want: []Ban{{Jail: "sshd", Prefix: pfx("203.0.113.1/32"), Start: start(time.Minute), BanTime: time.Hour, Count: 3, Matches: []string{"new"}, Live: true}},
		},
		{
			name: "repeat offender with bantime.increment: bancount wins",
			rows: both("sshd", "203.0.113.2", at(3*time.Hour), 7200, 5, noData),
			want: []Ban{{Jail: "sshd", Prefix: pfx("203.0.113.2/32"), Start: start(3 * time.Hour), BanTime: 2 * time.Hour, Count: 5}},
		},
		{
			name: "bantime -2 (unknown) takes UnknownBanTime",
			rows: both("sshd", "203.0.113.3", at(time.Minute), -2, 1, noData),
			want: []Ban{{Jail: "sshd", Prefix: pfx("203.0.113.3/32"), Start: start(time.Minute), BanTime: DefaultUnknownBanTime, Count: 1, Live: true}},
		},
		{
			name: "the same address in two jails is two bans",
			rows: cat(both("b", "192.0.2.1", at(time.Minute), 60, 1, noData), both("a", "192.0.2.1", at(time.Minute), 60, 1, noData)),
			want: []Ban{
				{Jail: "a", Prefix: pfx("192.0.2.1/32"), Start: start(time.Minute), BanTime: time.Minute, Count: 1},
				{Jail: "b", Prefix: pfx("192.0.2.1/32"), Start: start(time.Minute), BanTime: time.Minute, Count: 1},
			},
			jailsOut: []string{"a", "b"},
		},
		{
			name: "garbage addresses are skipped once per jail and text",
			rows: cat(
				both("api", "not-an-ip", at(time.Minute), 3600, 1, noData),
				both("api", "fe80::1%eth0", at(time.Minute), 3600, 1, noData)[1:],
				[]row{{"bans", "api", nil, at(time.Minute), 3600, 1, nil}},
				both("api", "192.0.2.1", at(time.Minute), 3600, 1, noData),
			),
			want: []Ban{{Jail: "api", Prefix: pfx("192.0.2.1/32"), Start: start(time.Minute), BanTime: time.Hour, Count: 1, Live: true}},
			skipped: []Issue{
				{Jail: "api", IP: "not-an-ip", Rows: 2, Reason: "not an IP address or subnet"},
				{Jail: "api", IP: "fe80::1%eth0", Rows: 1, Reason: "not an IP address or subnet"},
				{Jail: "api", IP: "", Rows: 1, Reason: "row has no address"},
			},
		},
		{
			name: "bad times and counts",
			rows: []row{
				{"bans", "api", "192.0.2.20", "yesterday", 3600, 1, nil},
				{"bans", "api", "192.0.2.21", at(time.Minute), -7, 1, nil},
				{"bips", "api", "192.0.2.22", at(time.Minute), "3600", 0, nil},
				{"bips", "api", "192.0.2.23", float64(at(time.Minute)) + 0.6, 60.0, 2, nil},
			},
			want: []Ban{
				{Jail: "api", Prefix: pfx("192.0.2.22/32"), Start: start(time.Minute), BanTime: time.Hour, Count: 1, Live: true},
				{Jail: "api", Prefix: pfx("192.0.2.23/32"), Start: start(time.Minute).Add(time.Second), BanTime: time.Minute, Count: 2, Live: true},
			},
			skipped: []Issue{
				{Jail: "api", IP: "192.0.2.20", Rows: 1, Reason: "timeofban yesterday is not a time"},
				{Jail: "api", IP: "192.0.2.21", Rows: 1, Reason: "bantime -7 is out of range"},
			},
		},
		{
			name:  "jail filter",
			jails: []string{"sshd", "api", "idle"},
			rows:  cat(both("sshd", "192.0.2.1", at(time.Minute), 60, 1, noData), both("api", "not-an-ip", at(time.Minute), 60, 1, noData)),
			opts:  Options{Jails: []string{"sshd"}},
			want: []Ban{
				{Jail: "sshd", Prefix: pfx("192.0.2.1/32"), Start: start(time.Minute), BanTime: time.Minute, Count: 1},
			},
			jailsOut: []string{"sshd"},
		},
		{
			name:     "jails without bans are listed",
			jails:    []string{"idle"},
			jailsOut: []string{"idle"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := makeDB(t, tt.jails, tt.rows)
			o := tt.opts
			o.Now = now
			r, err := Read(context.Background(), path, o)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(r.Bans, tt.want) {
				t.Errorf("bans:\n got %s\nwant %s", dump(r.Bans), dump(tt.want))
			}
			if !reflect.DeepEqual(r.Skipped, tt.skipped) {
				t.Errorf("skipped:\n got %+v\nwant %+v", r.Skipped, tt.skipped)
			}
			if !reflect.DeepEqual(r.Warnings, tt.warnings) {
				t.Errorf("warnings:\n got %+v\nwant %+v", r.Warnings, tt.warnings)
			}
			wantJails := tt.jailsOut
			if wantJails == nil {
				seen := map[string]bool{}
				for _, b := range tt.want {
					if !seen[b.Jail] {
						seen[b.Jail] = true
						wantJails = append(wantJails, b.Jail)
					}
				}
			}
			if !reflect.DeepEqual(r.Jails, wantJails) {
				t.Errorf("jails: got %q, want %q", r.Jails, wantJails)
			}
		})
	}
}

func dump(bs []Ban) string {
	var b strings.Builder
	for _, x := range bs {
		fmt.Fprintf(&b, "\n  {%s %s start=%d bantime=%v count=%d live=%v matches=%q}",
			x.Jail, x.Prefix, x.Start.Unix(), x.BanTime, x.Count, x.Live, x.Matches)
	}
	return b.String()
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	notSQLite := filepath.Join(dir, "text")
	os.WriteFile(notSQLite, []byte("this is not a database, but long enough to look like a header of one......"), 0o644)
	empty := filepath.Join(dir, "empty.sqlite3")
	db, err := sql.Open("sqlite", "file:"+empty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE other(x)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	oldSchema := filepath.Join(dir, "v1.sqlite3")
	db, _ = sql.Open("sqlite", "file:"+oldSchema)
	if _, err := db.Exec("CREATE TABLE bans(jail TEXT NOT NULL, ip TEXT, timeofban INTEGER NOT NULL, data JSON)"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	tests := []struct {
		name string
		path string
		want error
		msg  string
	}{
		{name: "missing file", path: filepath.Join(dir, "nope"), want: fs.ErrNotExist},
		{name: "directory", path: dir, want: ErrNotFail2ban},
		{name: "not SQLite", path: notSQLite, want: ErrNotFail2ban},
		{name: "SQLite without fail2ban's tables", path: empty, want: ErrNotFail2ban},
		{name: "schema 1 bans without bantime", path: oldSchema, msg: "importer: reading bans of"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(context.Background(), tt.path, Options{})
			if err == nil {
				t.Fatal("no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "importer: ") || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q: want the package prefix and %q", err, tt.msg)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Read created the missing file: %v", err)
	}
}

// TestReadLeavesFileAlone checks the read-only open: the database's bytes
// and time stay as they were, and no journal is left beside it.
func TestReadLeavesFileAlone(t *testing.T) {
	path := makeDB(t, []string{"sshd"}, both("sshd", "192.0.2.1", 1_700_000_000, 60, 1, `{}`))
	before, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if _, err := Read(context.Background(), path, Options{}); err != nil {
		t.Fatal(err)
	}
	after, _ := os.ReadFile(path)
	fi2, _ := os.Stat(path)
	if !bytes.Equal(before, after) || !fi.ModTime().Equal(fi2.ModTime()) {
		t.Error("Read changed the database file")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("files beside the database after Read: %v", entries)
	}
}

// TestReadPathWithURIChars: the DSN is a file: URI, so a path with ? or #
// must be escaped, not cut.
func TestReadPathWithURIChars(t *testing.T) {
	src := makeDB(t, nil, both("sshd", "192.0.2.1", 1_700_000_000, 60, 1, `{}`))
	dst := filepath.Join(t.TempDir(), "odd ?name#%20.db")
	b, _ := os.ReadFile(src)
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Read(context.Background(), dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Bans) != 1 {
		t.Errorf("got %d bans, want 1", len(r.Bans))
	}
}

func TestEnd(t *testing.T) {
	s := time.Unix(100, 0)
	if got := (Ban{Start: s, BanTime: time.Minute}).End(); !got.Equal(time.Unix(160, 0)) {
		t.Errorf("End = %v", got)
	}
	if got := (Ban{Start: s, BanTime: Forever}).End(); !got.IsZero() {
		t.Errorf("End of a forever ban = %v, want zero", got)
	}
}

// BenchmarkRead measures reading a bips table of 10,000 bans with matches.
func BenchmarkRead(b *testing.B) {
	const n = 10000
	path := filepath.Join(b.TempDir(), "big.sqlite3")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Exec(schema); err != nil {
		b.Fatal(err)
	}
	tx, _ := db.Begin()
	for i := range n {
		ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
		if _, err := tx.Exec(`INSERT INTO bips VALUES (?, 'sshd', ?, 3600, 1, ?)`, ip.String(), 1_800_000_000-i%7200,
			[]byte(`{"matches": ["sshd[1]: Failed password for root", "sshd[2]: Failed password for admin"], "failures": 2}`)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	db.Close()
	b.ReportAllocs()
	for b.Loop() {
		r, err := Read(context.Background(), path, Options{Now: time.Unix(1_800_000_000, 0)})
		if err != nil || len(r.Bans) != n {
			b.Fatalf("%v, %d bans", err, len(r.Bans))
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "bans/s")
}
