package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/testenv"
)

func TestParseRegexArgs(t *testing.T) {
	def := regexArgs{config: defaultF2BConfig, encoding: "UTF-8", args: []string{"LOG", "RE"}}
	with := func(f func(a *regexArgs)) regexArgs { a := def; f(&a); return a }
	tests := []struct {
		name    string
		argv    []string
		want    regexArgs
		wantErr string // a part of the error; "" for none
	}{
		{name: "operands", argv: []string{"LOG", "RE"}, want: def},
		{name: "ignoreregex", argv: []string{"LOG", "RE", "IGN"}, want: with(func(a *regexArgs) { a.args = []string{"LOG", "RE", "IGN"} })},
		{name: "options anywhere", argv: []string{"LOG", "-v", "RE", "-r"}, want: with(func(a *regexArgs) { a.verbose, a.raw = 1, true })},
		{name: "cluster", argv: []string{"-vvr", "LOG", "RE"}, want: with(func(a *regexArgs) { a.verbose, a.raw = 2, true })},
		{name: "attached short value", argv: []string{"-d^{DATE}", "-L3", "LOG", "RE"}, want: with(func(a *regexArgs) { a.datePattern, a.hasDate, a.maxLines = "^{DATE}", true, 3 })},
		{name: "cluster ending in a value", argv: []string{"-vc", "/x", "LOG", "RE"}, want: with(func(a *regexArgs) { a.verbose, a.config, a.configSet = 1, "/x", true })},
		{name: "long =", argv: []string{"--datepattern=^%Y", "--usedns=No", "LOG", "RE"}, want: with(func(a *regexArgs) { a.datePattern, a.hasDate, a.useDNS = "^%Y", true, "no" })},
		{name: "long separate", argv: []string{"--config", "/c", "LOG", "RE"}, want: with(func(a *regexArgs) { a.config, a.configSet = "/c", true })},
		{name: "abbreviated", argv: []string{"--print-all-ma", "--raw", "--verbosi=2", "LOG", "RE"}, want: with(func(a *regexArgs) { a.printAllMatched, a.raw, a.verbose = true, true, 2 })},
		{name: "TZ alias", argv: []string{"--TZ", "UTC", "LOG", "RE"}, want: with(func(a *regexArgs) { a.timezone = "UTC" })},
		{name: "double dash", argv: []string{"--", "-LOG", "-RE"}, want: with(func(a *regexArgs) { a.args = []string{"-LOG", "-RE"} })},
		{name: "lone dash is an operand", argv: []string{"-", "RE"}, want: with(func(a *regexArgs) { a.args = []string{"-", "RE"} })},
		{name: "now", argv: []string{"--now", "1124013600.5", "LOG", "RE"}, want: with(func(a *regexArgs) { a.now, a.hasNow = time.Unix(1124013600, 5e8), true })},
		{name: "out token", argv: []string{"-o", "user", "LOG", "RE"}, want: with(func(a *regexArgs) { a.out = "user" })},
		{name: "json", argv: []string{"-ojson", "LOG", "RE"}, want: with(func(a *regexArgs) { a.out = "json" })},
		{name: "latin-1", argv: []string{"-e", "ISO-8859-1", "LOG", "RE"}, want: with(func(a *regexArgs) { a.encoding = "ISO-8859-1" })},
		{name: "log level critical", argv: []string{"-l", "critical", "LOG", "RE"}, want: def},
		{name: "tracebacks accepted", argv: []string{"-t", "--full-traceback", "LOG", "RE"}, want: def},
		{name: "help without operands", argv: []string{"-h"}, want: regexArgs{config: defaultF2BConfig, encoding: "UTF-8", help: true}},

		{name: "one operand", argv: []string{"LOG"}, wantErr: "provide both LOG and REGEX"},
		{name: "four operands", argv: []string{"a", "b", "c", "d"}, wantErr: "provide both LOG and REGEX"},
		{name: "unknown long", argv: []string{"--frobnicate", "LOG", "RE"}, wantErr: "no such option: --frobnicate"},
		{name: "unknown short", argv: []string{"-Z", "LOG", "RE"}, wantErr: "no such option: -Z"},
		{name: "ambiguous", argv: []string{"--print-all-m", "LOG", "RE"}, wantErr: "ambiguous option"},
		{name: "missing value", argv: []string{"LOG", "RE", "-d"}, wantErr: "-d option requires an argument"},
		{name: "missing long value", argv: []string{"LOG", "RE", "--config"}, wantErr: "--config option requires an argument"},
		{name: "flag with value", argv: []string{"--raw=yes", "LOG", "RE"}, wantErr: "does not take a value"},
		{name: "bad maxlines", argv: []string{"-L", "many", "LOG", "RE"}, wantErr: "invalid integer value"},
		{name: "bad usedns", argv: []string{"--usedns", "maybe", "LOG", "RE"}, wantErr: "--usedns"},
		{name: "bad now", argv: []string{"--now", "yesterday", "LOG", "RE"}, wantErr: "--now"},
		{name: "missed both ways", argv: []string{"--print-no-missed", "--print-all-missed", "LOG", "RE"}, wantErr: "mutually exclusive"},
		{name: "ignored both ways", argv: []string{"--print-no-ignored", "--print-all-ignored", "LOG", "RE"}, wantErr: "mutually exclusive"},
		{name: "json and -v", argv: []string{"-o", "json", "-v", "LOG", "RE"}, wantErr: "-o json"},
		{name: "journalmatch refused", argv: []string{"-m", "_COMM=sshd", "LOG", "RE"}, wantErr: "-m/--journalmatch"},
		{name: "verbose-date refused", argv: []string{"--VD", "LOG", "RE"}, wantErr: "--verbose-date"},
		{name: "debuggex refused", argv: []string{"-D", "LOG", "RE"}, wantErr: "-D/--debuggex"},
		{name: "debug log refused", argv: []string{"-l", "debug", "LOG", "RE"}, wantErr: "--log-level"},
		{name: "out row refused", argv: []string{"-o", "row", "LOG", "RE"}, wantErr: "-o row"},
		{name: "out tags refused", argv: []string{"-o", "<ip> <F-USER>", "LOG", "RE"}, wantErr: "action tags"},
		{name: "encoding refused", argv: []string{"-e", "cp1252", "LOG", "RE"}, wantErr: "-e/--encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRegexArgs(tt.argv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, errRegexUsage) {
					t.Fatalf("parseRegexArgs(%q) = %v; want an errRegexUsage naming %q", tt.argv, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseRegexArgs(%q): %v", tt.argv, err)
			}
			if !reflect.DeepEqual(*got, tt.want) {
				t.Fatalf("parseRegexArgs(%q) =\n  %+v\nwant\n  %+v", tt.argv, *got, tt.want)
			}
		})
	}
}

// TestRegexCommandLine drives banctl regex through run: help, refusals
// and the way errors are said.
func TestRegexCommandLine(t *testing.T) {
	for _, tt := range []struct {
		name     string
		argv     []string
		code     int
		out, err string // parts of stdout and stderr
	}{
		{"help", []string{"regex", "--help"}, exitOK, "Usage: banctl regex", ""},
		{"listed in banctl's help", []string{"--help"}, exitOK, "regex [OPTIONS] LOG REGEX|FILTER", ""},
		{"refused flag named", []string{"regex", "-D", "x", "y"}, exitFail, "", "banctl: regex: bad usage: -D/--debuggex"},
		{"journal refused", []string{"regex", "systemd-journal", "^<HOST>"}, exitFail, "", "journal is not read"},
		{"regex without id", []string{"regex", "a line", "no id group"}, exitFail, "", "no failure-id group"},
		{"bad regex", []string{"regex", "a line", "(<HOST>"}, exitFail, "", "failregex 0"},
		{"missing filter file", []string{"regex", "a line", "/nonexistent/dir/x.conf"}, exitFail, "", "no failure-id group"},
		{"global -o json", []string{"-o", "json", "regex", "x 192.0.2.1", `^x <HOST>$`}, exitOK, `"host": "192.0.2.1"`, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.argv, &out, &errb)
			if code != tt.code || !strings.Contains(out.String(), tt.out) || !strings.Contains(errb.String(), tt.err) {
				t.Fatalf("run(%q) = %d\nstdout: %s\nstderr: %s\nwant %d, stdout with %q, stderr with %q",
					tt.argv, code, out.String(), errb.String(), tt.code, tt.out, tt.err)
			}
		})
	}
}

// TestRegexNowAndJSON checks --now (the year of a date without one, the
// time of datepattern={NONE} lines) and the shape of -o json's objects.
func TestRegexNowAndJSON(t *testing.T) {
	t.Setenv("TZ", "UTC")
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	writeFile(t, log, "Jun 11 17:00:03 host app: bad login from 192.0.2.7 user=alice\n"+
		"# a comment\n"+
		"Jun 11 17:00:04 host app: good login from 198.51.100.1\n"+
		"no date here, bad login from 203.0.113.9 user=bob\n")
	re := `bad login from <HOST> user=<F-USER>\S+</F-USER>`
	var out, errb bytes.Buffer
	// 2030-06-12T00:00:00Z: Jun 11 is the day before, in 2030.
	const now = 1907452800
	if code := run([]string{"regex", "-o", "json", "--now", "1907452800", log, re}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		lines = append(lines, m)
	}
	want := []string{
		`{"address":"192.0.2.7","count":1,"fields":{"attempts":1,"ip4":"192.0.2.7","user":"alice"},"host":"192.0.2.7","line":1,"match":true,"time":1907427603}`,
		`{"address":null,"count":0,"fields":{},"host":null,"line":2,"match":false,"time":null}`,
		`{"address":null,"count":0,"fields":{},"host":null,"line":3,"match":false,"time":1907427604}`,
		// No date, and the last one is more than a minute older than now.
		`{"address":"203.0.113.9","count":1,"fields":{"attempts":1,"ip4":"203.0.113.9","user":"bob"},"host":"203.0.113.9","line":4,"match":true,"time":null}`,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d objects, want %d:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		b, _ := json.Marshal(lines[i])
		if string(b) != w {
			t.Errorf("line %d:\n got %s\nwant %s", i+1, b, w)
		}
	}

	// datepattern={NONE}: no date in the line; the time is now.
	out.Reset()
	if code := run([]string{"regex", "-o", "json", "--now", "1907452800", "-d", "{NONE}", "x bad login from 192.0.2.8 user=carol", re}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var m map[string]any
	if err := json.Unmarshal(out.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["time"] != float64(now) || m["host"] != "192.0.2.8" {
		t.Errorf("{NONE}: got %s, want time %d and host 192.0.2.8", out.Bytes(), now)
	}
}

// FuzzRegexArgs feeds arbitrary command lines (NUL-separated words) to
// banctl regex's option parser: it must return arguments or an
// errRegexUsage error, never panic, and keep its promises.
func FuzzRegexArgs(f *testing.F) {
	for _, s := range []string{
		"LOG\x00RE", "-vvr\x00LOG\x00RE\x00IGN", "--print-all-m\x00a\x00b", "-d\x00", "--now=1.5\x00a\x00b",
		"--\x00-a\x00-b", "-L\x00-3\x00a\x00b", "-ojson\x00-v\x00a\x00b", "--usedns=RAW\x00a\x00b", "-c", "--=x\x00a\x00b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		argv := strings.Split(s, "\x00")
		a, err := parseRegexArgs(argv)
		if err != nil {
			if !errors.Is(err, errRegexUsage) {
				t.Fatalf("parseRegexArgs(%q): error %v does not match errRegexUsage", argv, err)
			}
			return
		}
		if a.help || a.version || a.versionS {
			return
		}
		if n := len(a.args); n != 2 && n != 3 {
			t.Fatalf("parseRegexArgs(%q): %d operands accepted", argv, n)
		}
		if a.out == "json" && a.verbose > 0 {
			t.Fatalf("parseRegexArgs(%q): -o json with -v accepted", argv)
		}
		if a.encoding != "UTF-8" && encodingOf(a.encoding) == "" {
			t.Fatalf("parseRegexArgs(%q): encoding %q accepted", argv, a.encoding)
		}
	})
}

// TestRegexBanserverFilterDir checks the filter search: banserver's own
// filter.d first when it exists, then fail2ban's; -c names the one
// directory to use.
func TestRegexBanserverFilterDir(t *testing.T) {
	if _, err := os.Stat(filepath.Join(f2bFilterD, "common.conf")); err != nil {
		testenv.Missingf(t, "fail2ban's filters: %v", err)
	}
	dir := t.TempDir()
	old := banserverFilterDir
	banserverFilterDir = filepath.Join(dir, "banserver", "filter.d")
	t.Cleanup(func() { banserverFilterDir = old })
	// Ours, named like a stock filter, including fail2ban's common.conf
	// by its absolute path (an include is relative to its file).
	writeFile(t, filepath.Join(banserverFilterDir, "sshd.conf"),
		"[INCLUDES]\nbefore = "+f2bFilterD+"/common.conf\n[Definition]\n_daemon = api\nfailregex = ^%(__prefix_line)sours from <HOST>$\n")
	line := "Jun 11 17:00:03 host api[1]: ours from 192.0.2.7"
	var out, errb bytes.Buffer
	if code := run([]string{"regex", line, "sshd"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if s := out.String(); !strings.Contains(s, "basedir: "+filepath.Join(dir, "banserver")) || !strings.Contains(s, "1 matched") {
		t.Errorf("banserver's filter not used:\n%s", s)
	}
	out.Reset()
	if code := run([]string{"regex", "-c", defaultF2BConfig, line, "sshd"}, &out, &errb); code != exitOK {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if s := out.String(); !strings.Contains(s, "basedir: "+defaultF2BConfig) || !strings.Contains(s, "0 matched") {
		t.Errorf("-c %s did not use fail2ban's sshd:\n%s", defaultF2BConfig, s)
	}
}
