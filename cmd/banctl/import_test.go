package main

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/importer"
	"github.com/banserver/banserver/store"
	"github.com/banserver/banserver/testenv"
)

// importTool finds a program an import test runs. Outside CI a missing one
// skips the test with the reason; with CI=true it fails it.
func importTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		testenv.Missingf(t, "%s not available: %v", name, err)
	}
	return p
}

// runBanctl runs banctl in-process.
func runBanctl(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// decodeSummary reads import-fail2ban's -o json output.
func decodeSummary(t *testing.T, out string) importSummary {
	t.Helper()
	var s importSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("-o json output is not JSON: %v\n%s", err, out)
	}
	return s
}

// fail2banDB drives Debian's fail2ban-server 1.0.2 into writing a real
// database: live bans (IPv4, IPv6, one from attempts with matches), an
// address banned twice whose bans have both ended (bantime.increment on,
// so bancount 2), and a garbage "address". It returns the database's path
// and the times around the bans.
func fail2banDB(t *testing.T) (path string, before, after time.Time) {
	t.Helper()
	server := importTool(t, "fail2ban-server")
	client := importTool(t, "fail2ban-client")
	dir := t.TempDir()
	sock := filepath.Join(dir, "f2b.sock")
	path = filepath.Join(dir, "fail2ban.sqlite3")

	var out bytes.Buffer
	cmd := exec.Command(server, "--async", "-f", "-x", "-s", sock,
		"-p", filepath.Join(dir, "f2b.pid"), "--logtarget", filepath.Join(dir, "f2b.log"))
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting fail2ban-server: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	exited := false
	t.Cleanup(func() {
		if !exited {
			cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			log, _ := os.ReadFile(filepath.Join(dir, "f2b.log"))
			t.Logf("fail2ban-server output:\n%s\nlog:\n%s", out.String(), log)
		}
	})

	f2b := func(args ...string) string {
		t.Helper()
		b, err := exec.Command(client, append([]string{"-s", sock}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("fail2ban-client %q: %v\n%s", args, err, b)
		}
		return strings.TrimSpace(string(b))
	}
	// waitUntil polls a condition the server reaches on its own threads
	// (bans from attempts, unbans at expiry); it bounds the wait only.
	waitUntil := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(100 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("fail2ban-server: %s not within 30s", what)
			}
		}
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fail2ban-server did not listen within 30s\n%s", out.String())
		}
	}
	banned := func(ip string) string { return f2b("get", "api", "banned", ip) }

	before = time.Now()
	// The database must be set before any jail is added: fail2ban's
	// setDatabase refuses ("Cannot change database when there are jails
	// present").
	f2b("set", "dbfile", path)
	f2b("add", "api", "polling")
	f2b("set", "api", "bantime", "3600")
	f2b("set", "api", "bantime.increment", "true")
	f2b("set", "api", "maxretry", "3")
	f2b("start", "api")
	f2b("set", "api", "banip", "192.0.2.1", "2001:db8::1")
	for i := 1; i <= 3; i++ {
		f2b("set", "api", "attempt", "198.51.100.7", fmt.Sprintf("bad token %d", i))
	}
	// The jail bans from attempts on its own thread: wait before the ban
	// time changes under it.
	waitUntil("ban of 198.51.100.7", func() bool { return banned("198.51.100.7") == "1" })
	f2b("set", "api", "bantime", "1")
	f2b("set", "api", "banip", "203.0.113.9")
	waitUntil("first unban of 203.0.113.9", func() bool { return banned("203.0.113.9") == "0" })
	f2b("set", "api", "banip", "203.0.113.9") // bancount 2, bantime 2 s
	waitUntil("second unban of 203.0.113.9", func() bool { return banned("203.0.113.9") == "0" })
	f2b("set", "api", "bantime", "3600")
	f2b("set", "api", "banip", "not-an-ip")
	after = time.Now()
	f2b("stop") // flushes the observer and closes the database
	select {
	case err := <-done:
		exited = true
		if err != nil {
			t.Fatalf("fail2ban-server exited with %v after stop", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("fail2ban-server still running 30s after stop")
	}
	// fail2ban stores round(time of ban): the ban of 203.0.113.9 may end
	// up to half a second after fail2ban lifted it. Let it end.
	time.Sleep(time.Second)
	return path, before, after
}

// bipsRow is one row of fail2ban's bips table as python3's sqlite3 reads it.
type bipsRow struct {
	IP        string `json:"ip"`
	Jail      string `json:"jail"`
	TimeOfBan int64  `json:"timeofban"`
	BanTime   int64  `json:"bantime"`
	BanCount  int    `json:"bancount"`
}

// pythonBips reads bips with python3's own sqlite3, a second reader of the
// file, to check the importer against.
func pythonBips(t *testing.T, path string) map[string]bipsRow {
	t.Helper()
	py := importTool(t, "python3")
	script := `import json, sqlite3, sys
c = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(json.dumps([dict(zip(("ip", "jail", "timeofban", "bantime", "bancount"), r))
	for r in c.execute("SELECT ip, jail, timeofban, bantime, bancount FROM bips")]))`
	b, err := exec.Command(py, "-c", script, path).Output()
	if err != nil {
		t.Fatalf("python3 reading bips: %v", err)
	}
	var rows []bipsRow
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	m := map[string]bipsRow{}
	for _, r := range rows {
		m[r.IP] = r
	}
	return m
}

func TestImportFail2banServerDatabase(t *testing.T) {
	src, before, after := fail2banDB(t)
	bips := pythonBips(t, src)
	dbPath := filepath.Join(t.TempDir(), "state", "bans.db")

	code, stdout, stderr := runBanctl("-o", "json", importCommand, "--db", dbPath, src)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	sum := decodeSummary(t, stdout)
	wantSkipped := []importer.Issue{{Jail: "api", IP: "not-an-ip", Rows: 2, Reason: "not an IP address or subnet"}}
	if !reflect.DeepEqual(sum.Skipped, wantSkipped) {
		t.Errorf("skipped: got %+v, want %+v", sum.Skipped, wantSkipped)
	}
	if !strings.Contains(stderr, "WARNING") || !strings.Contains(stderr, `"not-an-ip"`) {
		t.Errorf("no warning line for the garbage address on stderr:\n%s", stderr)
	}
	wantJails := []jailSummary{{Name: "api", Live: 3, History: 1}}
	if sum.Live != 3 || sum.History != 1 || sum.Present != 0 || !reflect.DeepEqual(sum.Jails, wantJails) || sum.DryRun || sum.DB != dbPath {
		t.Errorf("summary: %+v", sum)
	}

	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	live, err := db.Live("api", now)
	if err != nil {
		t.Fatal(err)
	}
	wantLive := map[netip.Prefix][]string{
		netip.MustParsePrefix("192.0.2.1/32"):    nil,
		netip.MustParsePrefix("198.51.100.7/32"): {"bad token 1", "bad token 2", "bad token 3"},
		netip.MustParsePrefix("2001:db8::1/128"): nil,
	}
	if len(live) != len(wantLive) {
		t.Errorf("live bans: got %d, want %d: %+v", len(live), len(wantLive), live)
	}
	// fail2ban stores whole seconds, rounded.
	lo, hi := before.Add(-time.Second), after.Add(time.Second)
	for _, b := range live {
		matches, ok := wantLive[b.Prefix]
		if !ok {
			t.Errorf("unexpected live ban %v", b.Prefix)
			continue
		}
		if b.Start.Before(lo) || b.Start.After(hi) {
			t.Errorf("%v: start %v outside the test's window [%v, %v]", b.Prefix, b.Start, lo, hi)
		}
		row := bips[b.Prefix.Addr().String()]
		if b.Start.Unix() != row.TimeOfBan {
			t.Errorf("%v: start %d, fail2ban's timeofban %d", b.Prefix, b.Start.Unix(), row.TimeOfBan)
		}
		if b.BanTime != time.Hour || b.Count != 1 {
			t.Errorf("%v: bantime %v count %d, want 1h and 1", b.Prefix, b.BanTime, b.Count)
		}
		if !slices.Equal(b.Matches, matches) {
			t.Errorf("%v: matches %q, want %q", b.Prefix, b.Matches, matches)
		}
	}

	// The repeat offender: both bans ended, so history only, with the
	// count bantime.increment must see.
	repeat := netip.MustParsePrefix("203.0.113.9/32")
	h, err := db.History("api", repeat)
	if err != nil {
		t.Fatal(err)
	}
	row := bips["203.0.113.9"]
	if h.Count != 2 || row.BanCount != 2 {
		t.Errorf("history count of %v: %d (fail2ban's bancount %d), want 2", repeat, h.Count, row.BanCount)
	}
	if h.LastStart.Unix() != row.TimeOfBan || h.LastBanTime != time.Duration(row.BanTime)*time.Second || h.LastBanTime <= 0 {
		t.Errorf("history of %v: %+v, fail2ban's bips row %+v", repeat, h, row)
	}
	if h.LastStart.Before(lo) || h.LastStart.After(hi) {
		t.Errorf("history of %v: last start %v outside [%v, %v]", repeat, h.LastStart, lo, hi)
	}
	for _, b := range live {
		if b.Prefix == repeat {
			t.Errorf("%v is live; its bans ended", repeat)
		}
	}
	for ip := range wantLive {
		if h, err := db.History("api", ip); err != nil || h.Count != 1 {
			t.Errorf("history of live ban %v: %+v, %v; want count 1", ip, h, err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// Again: nothing is counted twice.
	code, stdout, stderr = runBanctl("-o", "json", importCommand, "--db", dbPath, src)
	if code != exitOK {
		t.Fatalf("second import: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if s := decodeSummary(t, stdout); s.Present != 4 || s.Live != 0 || s.History != 0 {
		t.Errorf("second import: %+v, want 4 already present and nothing new", s)
	}
	db2, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	if h, _ := db2.History("api", repeat); h.Count != 2 {
		t.Errorf("after a second import the count of %v is %d, want 2", repeat, h.Count)
	}
}

// edgeDB writes a hand-made fail2ban database (fail2ban 1.0.2's schema)
// with the rows the import must survive.
func edgeDB(t *testing.T, now time.Time) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "edge.sqlite3")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ago := func(d time.Duration) int64 { return now.Add(-d).Unix() }
	stmts := []string{
		`CREATE TABLE jails(name TEXT NOT NULL UNIQUE, enabled INTEGER NOT NULL DEFAULT 1)`,
		`CREATE TABLE bans(jail TEXT NOT NULL, ip TEXT, timeofban INTEGER NOT NULL, bantime INTEGER NOT NULL, bancount INTEGER NOT NULL default 1, data JSON)`,
		`CREATE TABLE bips(ip TEXT NOT NULL, jail TEXT NOT NULL, timeofban INTEGER NOT NULL, bantime INTEGER NOT NULL, bancount INTEGER NOT NULL default 1, data JSON, PRIMARY KEY(ip, jail))`,
		`INSERT INTO jails VALUES ('sshd', 1), ('api', 1)`,
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	rows := []struct {
		jail, ip  string
		tob, bt   int64
		count     int
		data      string
		bansToo   bool
		duplicate bool
	}{
		{"sshd", "192.0.2.1", ago(400 * 24 * time.Hour), -1, 4, `{"matches": ["forever"]}`, true, false},
		{"sshd", "192.0.2.2", ago(2 * time.Hour), 600, 1, `{}`, true, true},
		{"sshd", "2001:db8::2", ago(time.Minute), 600, 1, `{"matches": ["v6"]}`, true, true},
		{"api", "192.0.2.3", ago(time.Minute), 600, 1, `{"matches": [`, false, false},
		{"api", "junk", ago(time.Minute), 600, 1, `{}`, true, false},
	}
	for _, r := range rows {
		n := 1
		if r.duplicate {
			n = 2
		}
		if _, err := db.Exec(`INSERT INTO bips VALUES (?, ?, ?, ?, ?, ?)`, r.ip, r.jail, r.tob, r.bt, r.count, []byte(r.data)); err != nil {
			t.Fatal(err)
		}
		for i := 0; r.bansToo && i < n; i++ {
			if _, err := db.Exec(`INSERT INTO bans VALUES (?, ?, ?, ?, ?, ?)`, r.jail, r.ip, r.tob, r.bt, r.count, []byte(r.data)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return path
}

func TestImportEdgeRows(t *testing.T) {
	now := time.Now()
	src := edgeDB(t, now)
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "bans.db")
	cfgPath := filepath.Join(dir, "banserver.yaml")
	cfg := fmt.Sprintf("db: %s\njails:\n  - name: sshd\n", dbPath)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	noneCfg := filepath.Join(dir, "none.yaml")
	if err := os.WriteFile(noneCfg, []byte("db: none\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		args        []string
		code        int
		live, hist  int
		jails       []jailSummary
		skipped     int
		stderrHas   []string
		stdoutHas   []string
		wantWritten bool
	}{
		{
			name: "dry run writes nothing",
			args: []string{"-o", "json", "-c", cfgPath, importCommand, "--dry-run", src},
			live: 3, hist: 1, skipped: 1,
			jails:     []jailSummary{{"api", 1, 0}, {"sshd", 2, 1}},
			stderrHas: []string{`"junk"`, `jail "api" is not in ` + cfgPath, `ip "192.0.2.3"`},
		},
		{
			name: "text summary",
			args: []string{"-c", cfgPath, importCommand, "--dry-run", src},
			stdoutHas: []string{"Would import (dry run, nothing written) from " + src + " into " + dbPath,
				"|  |- api:\t1 live, 0 history", "|  `- sshd:\t2 live, 1 history",
				"|- Live bans:\t3", "|- History records:\t1", "|- Imported without matches:\t1",
				"`- Skipped:\t1", "   `- jail \"api\", ip \"junk\" (2 rows): not an IP address or subnet"},
		},
		{
			name: "jail filter, options after FILE",
			args: []string{"-o", "json", importCommand, src, "--jail", "sshd", "--db", dbPath},
			live: 2, hist: 1,
			jails:       []jailSummary{{"sshd", 2, 1}},
			wantWritten: true,
		},
		{
			name: "unknown jail in the filter is a warning",
			args: []string{"-o", "json", importCommand, "--dry-run", "--jail", "nope,sshd", "--db", dbPath, src},
			live: 2, hist: 1,
			jails:     []jailSummary{{"sshd", 2, 1}},
			stderrHas: []string{`jail "nope" is not in`},
		},
		{
			name:      "db none refused",
			args:      []string{"-c", noneCfg, importCommand, src},
			code:      exitFail,
			stderrHas: []string{`the ban store is "none"`},
		},
		{
			name:      "missing file",
			args:      []string{importCommand, "--db", dbPath, filepath.Join(dir, "nope.sqlite3")},
			code:      exitFail,
			stderrHas: []string{"no such file"},
		},
		{
			name:      "not a fail2ban database",
			args:      []string{importCommand, "--db", dbPath, cfgPath},
			code:      exitFail,
			stderrHas: []string{"not a fail2ban database"},
		},
		{
			name:      "no FILE",
			args:      []string{importCommand, "--db", dbPath},
			code:      exitFail,
			stderrHas: []string{"no fail2ban database given", "Try 'banctl import-fail2ban --help'."},
		},
		{
			name:      "two FILEs",
			args:      []string{importCommand, src, src},
			code:      exitFail,
			stderrHas: []string{"one fail2ban database at a time"},
		},
		{
			name:      "unknown option",
			args:      []string{importCommand, "--force", src},
			code:      exitFail,
			stderrHas: []string{"flag provided but not defined: -force"},
		},
		{
			name:      "help",
			args:      []string{importCommand, "--help"},
			stdoutHas: []string{"Usage: banctl [-c CONFIG] [-o text|json] import-fail2ban", "banserver must be stopped"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(dbPath)
			code, stdout, stderr := runBanctl(tt.args...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, s := range tt.stderrHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			for _, s := range tt.stdoutHas {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout)
				}
			}
			if tt.jails != nil {
				s := decodeSummary(t, stdout)
				if s.Live != tt.live || s.History != tt.hist || len(s.Skipped) != tt.skipped || !reflect.DeepEqual(s.Jails, tt.jails) {
					t.Errorf("summary %+v; want live %d history %d skipped %d jails %+v", s, tt.live, tt.hist, tt.skipped, tt.jails)
				}
			}
			_, err := os.Stat(dbPath)
			if written := err == nil; written != tt.wantWritten {
				t.Errorf("store file written: %v, want %v", written, tt.wantWritten)
			}
		})
	}
}

// TestImportEdgeRowsStore checks what the edge rows become in the store.
func TestImportEdgeRowsStore(t *testing.T) {
	now := time.Now()
	src := edgeDB(t, now)
	dbPath := filepath.Join(t.TempDir(), "bans.db")
	if code, stdout, stderr := runBanctl(importCommand, "--db", dbPath, src); code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	live, err := db.Live("", now)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Jail    string
		Prefix  string
		Start   int64
		BanTime time.Duration
		Count   int
		Matches []string
	}
	var gotLive []got
	for _, b := range live {
		gotLive = append(gotLive, got{b.Jail, b.Prefix.String(), b.Start.Unix(), b.BanTime, b.Count, b.Matches})
	}
	ago := func(d time.Duration) int64 { return now.Add(-d).Unix() }
	want := []got{
		{"api", "192.0.2.3/32", ago(time.Minute), 10 * time.Minute, 1, nil}, // bad JSON: no matches
		{"sshd", "192.0.2.1/32", ago(400 * 24 * time.Hour), importer.Forever, 4, []string{"forever"}},
		{"sshd", "2001:db8::2/128", ago(time.Minute), 10 * time.Minute, 1, []string{"v6"}}, // duplicates: count 1
	}
	if !reflect.DeepEqual(gotLive, want) {
		t.Errorf("live:\n got %+v\nwant %+v", gotLive, want)
	}
	h, err := db.History("sshd", netip.MustParsePrefix("192.0.2.2/32"))
	if err != nil || h.Count != 1 || h.LastStart.Unix() != ago(2*time.Hour) || h.LastBanTime != 10*time.Minute {
		t.Errorf("history of the expired ban: %+v, %v", h, err)
	}
	if h, _ := db.History("sshd", netip.MustParsePrefix("192.0.2.1/32")); h.Count != 4 {
		t.Errorf("history count of the forever ban: %d, want fail2ban's bancount 4", h.Count)
	}
}

// TestImportLockedStore: with the store held (as the running daemon holds
// it) the import refuses and says to stop banserver.
func TestImportLockedStore(t *testing.T) {
	src := edgeDB(t, time.Now())
	dbPath := filepath.Join(t.TempDir(), "bans.db")
	db, err := store.Open(dbPath, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, stdout, stderr := runBanctl(importCommand, "--db", dbPath, src)
	if code != exitFail {
		t.Fatalf("exit %d, want %d\n%s", code, exitFail, stdout)
	}
	for _, s := range []string{"ERROR", "is locked: banserver is running", "stop banserver first"} {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}
	if live, err := db.Live("", time.Now()); err != nil || len(live) != 0 {
		t.Errorf("the locked store was written: %v, %v", live, err)
	}
}

// TestDaemonDoesNotLinkSQLite: only banctl may carry the SQLite driver.
func TestDaemonDoesNotLinkSQLite(t *testing.T) {
	goBin := importTool(t, "go")
	cmd := exec.Command(goBin, "list", "-deps", "github.com/banserver/banserver/cmd/banserver")
	cmd.Dir = filepath.Join("..", "..")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "modernc.org/sqlite") || pkg == "github.com/banserver/banserver/importer" {
			t.Errorf("banserver's binary depends on %s", pkg)
		}
	}
}

func TestParseImportArgs(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want importArgs
		err  string
	}{
		{name: "file only", args: []string{"f.db"}, want: importArgs{file: "f.db"}},
		{name: "all options", args: []string{"--db", "/x/bans.db", "--dry-run", "--jail", "a", "-jail=b,c", "f.db"},
			want: importArgs{db: "/x/bans.db", dryRun: true, jails: []string{"a", "b", "c"}, file: "f.db"}},
		{name: "options after file", args: []string{"f.db", "--dry-run"}, want: importArgs{dryRun: true, file: "f.db"}},
		{name: "-- ends options", args: []string{"--", "--dry-run"}, want: importArgs{file: "--dry-run"}},
		{name: "help", args: []string{"-h"}, want: importArgs{help: true}},
		{name: "no file", args: nil, err: "no fail2ban database given"},
		{name: "db needs a value", args: []string{"f.db", "--db"}, err: "flag needs an argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseImportArgs(tt.args)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// BenchmarkImport measures a whole import of n bans into a fresh store.
func BenchmarkImport(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			dir := b.TempDir()
			src := filepath.Join(dir, "big.sqlite3")
			db, err := sql.Open("sqlite", "file:"+src)
			if err != nil {
				b.Fatal(err)
			}
			db.Exec(`CREATE TABLE bips(ip TEXT NOT NULL, jail TEXT NOT NULL, timeofban INTEGER NOT NULL, bantime INTEGER NOT NULL, bancount INTEGER NOT NULL default 1, data JSON, PRIMARY KEY(ip, jail))`)
			tx, _ := db.Begin()
			now := time.Now().Unix()
			for i := range n {
				ip := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 13: byte(i >> 16), 14: byte(i >> 8), 15: byte(i)})
				tx.Exec(`INSERT INTO bips VALUES (?, 'sshd', ?, 3600, 1, ?)`, ip.String(), now-int64(i%7200),
					[]byte(`{"matches": ["sshd[1]: Failed password for root", "sshd[2]: Failed password for admin"], "failures": 2}`))
			}
			if err := tx.Commit(); err != nil {
				b.Fatal(err)
			}
			db.Close()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				dbPath := filepath.Join(dir, fmt.Sprintf("bans%d.db", i))
				if code, out, errOut := runBanctl(importCommand, "--db", dbPath, src); code != exitOK {
					b.Fatalf("exit %d\n%s\n%s", code, out, errOut)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "bans/s")
		})
	}
}
