package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/filter/dates"
	"github.com/banserver/banserver/testenv"
)

// fail2ban 1.0.2 as Debian installs it: its filters, its test filters and
// its sample logs, read where they are (never copied into the repository).
const (
	f2bFilterD    = "/etc/fail2ban/filter.d"
	f2bPkg        = "/usr/lib/python3/dist-packages/fail2ban"
	f2bSampleLogs = f2bPkg + "/tests/files/logs"
	f2bTestFilter = f2bPkg + "/tests/config/filter.d"
	// testTZ is the zone fail2ban's own tests run in: a POSIX rule, which
	// both Python's C library and banctl's date code must read alike.
	testTZ = "CET-01CEST-02,M3.5.0,M10.5.0"
)

// seedRegex and seedMessage are the seed's own fail2ban-regex invocation.
const (
	seedRegex   = `^\s*<ADDR>\s+\S+\s+Incorrect token used\.`
	seedMessage = "2024-01-02 03:04:05 192.0.2.7 api Incorrect token used."
)

// docAddr returns the i-th address of the documentation ranges
// (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24), in turn.
func docAddr(i int) string {
	nets := [...]string{"192.0.2.", "198.51.100.", "203.0.113."}
	return fmt.Sprintf("%s%d", nets[i%3], i/3%254+1)
}

// seedLog writes n lines of the seed's log, one in every `every` a
// failure, with a comment and an empty line in it.
func seedLog(t *testing.T, path string, n, every int) {
	t.Helper()
	var b bytes.Buffer
	for i := 0; i < n; i++ {
		ts := fmt.Sprintf("2024-01-%02d %02d:%02d:%02d", 1+i%28, i%24, i%60, i*7%60)
		if i%every == 0 {
			fmt.Fprintf(&b, "%s %s api Incorrect token used.\n", ts, docAddr(i))
		} else {
			fmt.Fprintf(&b, "%s %s api Token accepted.\n", ts, docAddr(i))
		}
		if i == n/2 {
			b.WriteString("# a comment\n\n")
		}
	}
	writeFile(t, path, b.String())
}

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// processedRE is fail2ban-regex's timing line, the one part of the
// report that is each program's own.
var processedRE = regexp.MustCompile(`(?m)^\[processed in \d+\.\d\d sec\]$`)

func maskTiming(s string) string { return processedRE.ReplaceAllString(s, "[processed in N sec]") }

// regexFixture is the temporary tree the golden cases run in.
type regexFixture struct {
	dir      string
	f2b      string // fail2ban-regex
	staged   string // fail2ban's zzz- test filters where their include works
	sshdLog  string
	hasSshd  bool
	prepared bool
}

func newRegexFixture(t *testing.T) *regexFixture {
	t.Helper()
	fx := &regexFixture{dir: t.TempDir(), f2b: testenv.Tool(t, "fail2ban-regex")}
	if _, err := os.Stat(f2bSampleLogs); err != nil {
		testenv.Missingf(t, "fail2ban's sample logs (Debian package fail2ban): %v", err)
	}
	t.Setenv("TZ", testTZ)
	t.Setenv("LANG", "C.UTF-8")
	t.Setenv("LC_ALL", "C.UTF-8")
	d := fx.dir
	seedLog(t, filepath.Join(d, "seed.log"), 1000, 10)
	seedLog(t, filepath.Join(d, "seed15.log"), 15, 3)
	writeFile(t, filepath.Join(d, "ml.log"), "2024-01-02 03:04:05 auth start\n2024-01-02 03:04:06 noise\n"+
		"2024-01-02 03:04:07 failed from 192.0.2.1\n2024-01-02 03:04:08 auth start\n"+
		"2024-01-02 03:04:09 failed from 198.51.100.2\n2024-01-02 03:04:10 other\n")
	writeFile(t, filepath.Join(d, "crlf.log"), "a 192.0.2.1 bad\r\n# c\n\nb 192.0.2.2 bad\nc 198.51.100.3 ok\nd 203.0.113.4 bad")
	writeFile(t, filepath.Join(d, "cr.log"), "a 192.0.2.1 bad\r\nb 192.0.2.2 bad\r")
	writeFile(t, filepath.Join(d, "hosts.log"), "a host-1.example bad\nb 192.0.2.5 bad\nc host-2.example ok\n")
	writeFile(t, filepath.Join(d, "latin1.log"), "a 192.0.2.1 caf\xe9 bad\nb 192.0.2.2 na\xefve\n")
	writeFile(t, filepath.Join(d, "badutf8.log"), "a 192.0.2.1 \xff\xfe bad\nb 192.0.2.2 \xc3 ok\n")
	writeFile(t, filepath.Join(d, "api.log"), "2024-01-02 03:04:05 host api[12]: 192.0.2.9 x Incorrect token used.\n"+
		"2024-01-02 03:04:06 host api[12]: 192.0.2.9 x fine\n")
	// A filter of our own whose before = names fail2ban's common.conf by
	// its absolute path; once outside any filter.d, once inside one.
	myConf := "[INCLUDES]\nbefore = " + f2bFilterD + "/common.conf\n\n[Definition]\n_daemon = api\n" +
		"failregex = ^%(__prefix_line)s<ADDR> \\S+ Incorrect token used\\.$\nignoreregex =\ndatepattern = ^{DATE}\n"
	writeFile(t, filepath.Join(d, "other", "my.conf"), myConf)
	writeFile(t, filepath.Join(d, "cfg", "filter.d", "mine.conf"), myConf)
	// fail2ban's test filters include ../../../../../../../config/filter.d/common.conf.
	fx.staged = filepath.Join(d, "st", "a", "b", "c", "d", "e", "f")
	common, err := os.ReadFile(filepath.Join(f2bFilterD, "common.conf"))
	if err != nil {
		testenv.Missingf(t, "fail2ban's filters: %v", err)
	}
	writeFile(t, filepath.Join(d, "st", "config", "filter.d", "common.conf"), string(common))
	for _, n := range []string{"zzz-sshd-obsolete-multiline.conf", "zzz-generic-example.conf"} {
		b, err := os.ReadFile(filepath.Join(f2bTestFilter, n))
		if err != nil {
			testenv.Missingf(t, "fail2ban's test filters: %v", err)
		}
		writeFile(t, filepath.Join(fx.staged, "filter.d", n), string(b))
	}
	fx.sshdLog = filepath.Join(f2bSampleLogs, "sshd")
	return fx
}

// compare runs fail2ban-regex and banctl regex with the same arguments in
// the fixture's directory and fails on any difference but the timing.
func (fx *regexFixture) compare(t *testing.T, args ...string) {
	t.Helper()
	start := time.Now()
	cmd := exec.Command(fx.f2b, args...)
	cmd.Dir = fx.dir
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("fail2ban-regex %q: %v\n%s", args, err, want)
	}
	var got, stderr bytes.Buffer
	if code := run(append([]string{"regex"}, args...), &got, &stderr); code != exitOK {
		t.Fatalf("banctl regex %q: exit %d: %s", args, code, stderr.String())
	}
	w, g := maskTiming(string(want)), maskTiming(got.String())
	// -v shows the current time for a failure without a date: the two
	// runs may see different seconds.
	zone := dates.LocalZone()
	for at := start.Add(-2 * time.Second); at.Before(time.Now().Add(2 * time.Second)); at = at.Add(time.Second) {
		_, off, _ := zone.Lookup(at)
		now := at.In(time.FixedZone("", off)).Format("  Mon Jan 02 15:04:05 2006")
		w, g = strings.ReplaceAll(w, now, "  NOW"), strings.ReplaceAll(g, now, "  NOW")
	}
	if w != g {
		t.Errorf("banctl regex %q differs from fail2ban-regex:\n%s", args, regexLineDiff(w, g))
	}
	if stderr.Len() > 0 {
		t.Errorf("banctl regex %q wrote to stderr: %s", args, stderr.String())
	}
}

// regexLineDiff shows the first lines where two texts differ.
func regexLineDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(wl), len(gl)) && shown < 12; i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			fmt.Fprintf(&b, "line %d:\n  fail2ban-regex: %q\n  banctl regex:   %q\n", i+1, w, g)
			shown++
		}
	}
	return b.String()
}

// TestRegexGolden runs the real fail2ban-regex and banctl regex on the
// same inputs and compares their reports.
func TestRegexGolden(t *testing.T) {
	fx := newRegexFixture(t)
	t.Chdir(fx.dir) // relative paths in the cases
	mlRE := `^\s*auth start\n(?:.*\n)?\s*failed from <HOST>$`
	cases := []struct {
		name string
		args []string
	}{
		{"seed invocation", []string{"-d", "^{DATE}", seedMessage, seedRegex}},
		{"seed invocation -v", []string{"-v", "-d", "^{DATE}", seedMessage, seedRegex}},
		{"seed log 10%", []string{"-d", "^{DATE}", "seed.log", seedRegex}},
		{"seed log, all missed listed", []string{"-d", "^{DATE}", "--print-all-missed", "seed.log", seedRegex}},
		{"missed lines listed", []string{"-d", "^{DATE}", "seed15.log", seedRegex}},
		{"missed lines -v", []string{"-v", "-d", "^{DATE}", "seed15.log", seedRegex}},
		{"print all matched", []string{"-d", "^{DATE}", "--print-all-matched", "seed15.log", seedRegex}},
		{"print no missed", []string{"--print-no-missed", "-d", "^{DATE}", "seed15.log", seedRegex}},
		{"ignoreregex", []string{"-d", "^{DATE}", "seed15.log", seedRegex, `accepted`}},
		{"ignoreregex hits a failure", []string{"-v", "-d", "^{DATE}", "seed15.log", seedRegex, `198\.51\.100\.`}},
		{"strftime datepattern, timezone", []string{"-v", "-d", "^%Y-%m-%d %H:%M:%S", "--timezone", "UTC", "seed15.log", seedRegex}},
		{"default dates, options after operands", []string{"seed15.log", seedRegex, "-v"}},
		{"maxlines option", []string{"-L", "5", "-d", "^{DATE}", "seed15.log", seedRegex}},
		{"raw hosts", []string{"-r", "-v", "hosts.log", `^\S+ <HOST> bad$`}},
		{"usedns no", []string{"--usedns", "no", "-v", "hosts.log", `^\S+ <HOST> bad$`}},
		{"multi-line", []string{"-L", "3", "-v", "--print-all-matched", "ml.log", mlRE}},
		{"multi-line ignore", []string{"-L", "3", "-v", "ml.log", mlRE, "noise"}},
		{"multi-line short buffer", []string{"-L", "2", "-v", "ml.log", mlRE, "start"}},
		{"skiplines", []string{"-L", "3", "ml.log", `^\s*auth start\n<SKIPLINES>\s*failed from <HOST>$`}},
		{"log text of lines", []string{"x 192.0.2.1 bad\ny 192.0.2.2 ok\nz 192.0.2.3 bad", `^\S+ <HOST> bad$`}},
		{"crlf, comments, unterminated last line", []string{"crlf.log", `^\S+ <HOST> bad$`}},
		{"last line ending in CR", []string{"cr.log", `^\S+ <HOST> bad$`}},
		{"latin-1", []string{"-e", "latin-1", "latin1.log", `^\S+ <HOST> \S+ bad$`}},
		{"invalid UTF-8", []string{"badutf8.log", `^\S+ <HOST> \S+ bad$`}},
		{"sshd samples", []string{"-r", fx.sshdLog, "sshd"}},
		{"sshd samples -v", []string{"-r", "-v", fx.sshdLog, "sshd"}},
		{"sshd usedns no", []string{"--usedns=no", fx.sshdLog, "sshd"}},
		{"sshd aggressive -v", []string{"-r", "-v", fx.sshdLog, "sshd[mode=aggressive]"}},
		{"sshd ignoreregex before failregexes", []string{"-r", "-v", fx.sshdLog, "sshd[mode=aggressive]", "Connection closed"}},
		{"sshd ignoreregex after failregexes", []string{"-r", "-v", fx.sshdLog, "sshd", "user"}},
		{"sshd no check all", []string{"-r", "-v", "--no-check-all", fx.sshdLog, "sshd[mode=aggressive]"}},
		{"sshd no check all, ignoreregex", []string{"-r", "--no-check-all", fx.sshdLog, "sshd[mode=aggressive]", "Connection closed"}},
		{"sshd print all", []string{"-r", "--print-all-missed", "--print-all-ignored", "--print-all-matched", fx.sshdLog, "sshd[mode=extra]"}},
		{"sshd -vv", []string{"-r", "-vv", fx.sshdLog, "sshd[mode=ddos]"}},
		{"sshd datepattern NONE", []string{"-r", fx.sshdLog, "sshd[datepattern={NONE}]"}},
		{"sshd -o user", []string{"-r", "-o", "user", fx.sshdLog, "sshd[mode=aggressive]"}},
		{"sshd -o ip", []string{"-r", "-o", "ip", fx.sshdLog, "sshd[mode=aggressive]"}},
		{"sshd -o msg", []string{"-r", "-o", "msg", fx.sshdLog, "sshd[mode=aggressive]"}},
		{"sshd -o id", []string{"-r", "-o", "id", fx.sshdLog, "sshd"}},
		{"filter's own ignoreregex", []string{"-v", filepath.Join(f2bSampleLogs, "roundcube-auth"), "roundcube-auth"}},
		{"filter's own ignoreregex and an argument", []string{"-v", filepath.Join(f2bSampleLogs, "roundcube-auth"), "roundcube-auth", "IMAP"}},
		{"filter by path", []string{"-r", fx.sshdLog, f2bFilterD + "/sshd.conf"}},
		{"filter by path without extension", []string{"-r", fx.sshdLog, f2bFilterD + "/sshd"}},
		{"config dir is filter.d", []string{"-r", "-c", f2bFilterD, fx.sshdLog, "sshd"}},
		{"foreign filter file, before = absolute", []string{"-v", "api.log", "other/my.conf"}},
		{"foreign filter file, absolute, options", []string{"-vv", "api.log", filepath.Join(fx.dir, "other", "my.conf") + "[_daemon=api]"}},
		{"config dir", []string{"-c", "cfg", "api.log", "mine"}},
		{"config dir, options -vv", []string{"-c", "cfg", "-vv", "api.log", `mine[_daemon="api", x=1]`}},
		{"filter.d path in config", []string{"-c", "cfg", "api.log", "cfg/filter.d/mine.conf"}},
		{"test filter, maxlines 10", []string{"-r", "-v", "-c", fx.staged, filepath.Join(f2bSampleLogs, "zzz-sshd-obsolete-multiline"), "zzz-sshd-obsolete-multiline"}},
		{"test filter, maxlines 10, ignoreregex", []string{"-r", "-v", "-c", fx.staged, filepath.Join(f2bSampleLogs, "zzz-sshd-obsolete-multiline"), "zzz-sshd-obsolete-multiline", "Connection closed"}},
		{"test filter generic", []string{"-r", "-v", "-c", fx.staged, filepath.Join(f2bSampleLogs, "zzz-generic-example"), "zzz-generic-example"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { fx.compare(t, c.args...) })
	}
}

// TestRegexGoldenCorpus compares the reports for every stock filter on
// its own sample log: raw hosts and -v (everything the report can show),
// usedns=no, and --no-check-all. (Host names are never resolved here, so
// no answer from DNS can make the two differ.)
func TestRegexGoldenCorpus(t *testing.T) {
	if testing.Short() {
		t.Skip("runs fail2ban-regex 3 times for each of about 90 filters")
	}
	fx := newRegexFixture(t)
	ents, err := os.ReadDir(f2bFilterD)
	if err != nil {
		testenv.Missingf(t, "fail2ban's filters: %v", err)
	}
	n := 0
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".conf")
		if !ok || strings.HasSuffix(name, "common") {
			continue
		}
		log := filepath.Join(f2bSampleLogs, name)
		if _, err := os.Stat(log); err != nil {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			fx.compare(t, "-r", "-v", log, name)
			fx.compare(t, "--usedns=no", log, name)
			fx.compare(t, "--no-check-all", "-r", "-v", log, name)
		})
	}
	if n < 80 {
		t.Errorf("only %d filters with sample logs", n)
	}
}
