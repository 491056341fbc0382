package conf

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/*.json from what Read returns")

// testDirs is where the dialect's test filters are: testdata/filter.d, so
// that fail2ban reads them too with basedir testdata.
var testDirs = []string{"testdata/filter.d"}

// readCase is one filter read with some options, and what must come out.
type readCase struct {
	name    string
	filter  string
	vars    map[string]string
	jail    map[string]string
	logType string
	// want is compared whole; values are a subset of Filter.Values.
	want   *resolved
	values map[string]string
	// wantErr is the sentinel the error must match; errHas are texts the
	// error must name (the file, line, section, option).
	wantErr error
	errHas  []string
	// deviation says why fail2ban answers differently on purpose; noOracle
	// why fail2ban cannot be asked (a form of name only banserver reads).
	deviation, noOracle string
}

var readCases = []readCase{
	{
		name:   "comments continuations delimiters",
		filter: "basic",
		want: &resolved{
			PrefRegex: `^\S+ app\[\d+\]: <F-CONTENT>.+</F-CONTENT>$`,
			FailRegex: []string{
				`^login failed for <F-USER>\S+</F-USER> from <HOST>$`,
				`^too many tries from <HOST>; giving up$`,
				`^bad token from <ADDR>`,
				`^indented less than the first value line is still deeper than the name`,
			},
			MaxLines:    2,
			DatePattern: "^%Y-%m-%d %H:%M:%S\n{^LN-BEG}",
			JournalMatches: [][]string{
				{"_SYSTEMD_UNIT=app.service", "+", "_COMM=app"},
				{"MESSAGE=a b", "x y", "plain word", ""},
			},
		},
		values: map[string]string{
			"ignoreregex":     "",
			"value;semicolon": "kept;as part of the name and value",
			"hash":            "a # is not a comment inside a value",
		},
	},
	{
		name:   "includes before after local known",
		filter: "incl-main",
		want: &resolved{
			FailRegex:   []string{"^base line one <HOST>$", "^base line two <HOST>$", "^main line main-unit <HOST>$"},
			IgnoreRegex: []string{"^local ignore <HOST>$"},
			DatePattern: "^after-date",
		},
		values: map[string]string{
			"known-unit": "base-local-unit",
			"from-part":  "part-from-subdir",
			"prefixed":   "base-prefix/from-main-local-default",
		},
	},
	{
		name:   "percent interpolation",
		filter: "interp",
		want: &resolved{
			FailRegex:   []string{`^\S+ appd: failed from <HOST>$`, `^\S+ appd: rejected from <HOST>$`},
			DatePattern: "appd-{^LN-BEG}",
		},
		values: map[string]string{"percent": "100% sure", "section": "Definition", "chain": "end"},
	},
	{
		name:   "tags recursive and regex tags kept",
		filter: "tags",
		want: &resolved{
			PrefRegex:   `^\S+ tagd: <F-CONTENT>.+</F-CONTENT>$`,
			FailRegex:   []string{`^auth failure for <F-USER>\S+</F-USER> from <HOST>( port \d+)?$`, "^normal from <ADDR>$"},
			DatePattern: "{^LN-BEG}",
			MaxLines:    3,
		},
		values: map[string]string{"mode": "normal", "known/mode": "normal", "mode-re": "normal from <ADDR>"},
	},
	{
		name:   "tags with jail options",
		filter: "tags",
		vars:   map[string]string{"mode": "strict", "kind": "journal", "maxlines": "5"},
		want: &resolved{
			PrefRegex:   "^ <F-CONTENT>.+</F-CONTENT>$",
			FailRegex:   []string{`^auth failure for <F-USER>\S+</F-USER> from <HOST>( port \d+)?$`, "^strict from <IP4>$"},
			DatePattern: "{NONE}",
			MaxLines:    5,
		},
		values: map[string]string{"mode": "strict", "known/mode": "normal", "known/maxlines": "3"},
	},
	{
		name:   "init and known",
		filter: "init",
		want: &resolved{
			FailRegex:      []string{"^hello from <HOST> port 22$", "^was: hello$"},
			JournalMatches: [][]string{{"_SYSTEMD_UNIT=initd.service"}},
		},
	},
	{
		name:   "init replaced by jail",
		filter: "init",
		vars:   map[string]string{"greeting": "hi there", "unit": "other", "port": "2222"},
		want: &resolved{
			FailRegex:      []string{"^hi there from <HOST> port 2222$", "^was: hello$"},
			JournalMatches: [][]string{{"_SYSTEMD_UNIT=other.service"}},
		},
		values: map[string]string{"greeting": "hi there", "known/greeting": "hello", "port": "2222"},
	},
	{
		name:   "jail own options",
		filter: "init",
		jail:   map[string]string{"port": "2200", "failregex": "^the jail's own <HOST>$"},
		want: &resolved{
			JournalMatches: [][]string{{"_SYSTEMD_UNIT=initd.service"}},
		},
	},
	{
		name:   "logtype default",
		filter: "logtype",
		want:   &resolved{FailRegex: []string{"^FILE:failure from <HOST>$"}},
	},
	{
		name:   "logtype passed",
		filter: "logtype",
		vars:   map[string]string{"logtype": "journal"},
		want:   &resolved{FailRegex: []string{"^JOURNAL:failure from <HOST>$"}},
	},
	{
		name:    "logtype from backend",
		filter:  "logtype",
		logType: "journal",
		want:    &resolved{FailRegex: []string{"^JOURNAL:failure from <HOST>$"}},
		values:  map[string]string{"logtype": "journal"},
	},
	{
		name:   "drop-in directory",
		filter: "dropin",
		want:   &resolved{FailRegex: []string{"^dropin conf <HOST>$"}, DatePattern: "^dropin-local"},
	},
	{
		name:   "only a local file",
		filter: "localonly",
		want:   &resolved{FailRegex: []string{"^only local <HOST>$"}},
	},
	{
		name:   "no definition section",
		filter: "nodef",
		want:   &resolved{},
		values: map[string]string{"param": "value", "known/param": "value"},
	},
	{
		name:   "conditional section",
		filter: "conditional",
		want:   &resolved{FailRegex: []string{"^<addr> <HOST>$"}},
		values: map[string]string{"addr": "v4", "addr?family=inet6": "v6"},
	},
	{
		name:     "path to a conf file",
		filter:   "testdata/filter.d/interp.conf",
		want:     &resolved{FailRegex: []string{`^\S+ appd: failed from <HOST>$`, `^\S+ appd: rejected from <HOST>$`}, DatePattern: "appd-{^LN-BEG}"},
		noOracle: "fail2ban's FilterReader takes names, not paths (fail2ban-regex takes both)",
	},
	{
		name:     "name with conf extension",
		filter:   "interp.conf",
		want:     &resolved{FailRegex: []string{`^\S+ appd: failed from <HOST>$`, `^\S+ appd: rejected from <HOST>$`}, DatePattern: "appd-{^LN-BEG}"},
		noOracle: "fail2ban's FilterReader would look for interp.conf.conf (fail2ban-regex strips it)",
	},
	{
		name:    "interpolation loop",
		filter:  "loop-percent",
		wantErr: ErrInterpolation,
		errHas:  []string{"loop-percent.conf:2", "[Definition]", "failregex"},
	},
	{
		name:    "tag loop",
		filter:  "loop-tag",
		wantErr: ErrInterpolation,
		errHas:  []string{"loop-tag.conf:2", "[Definition]", "failregex", "<a>"},
	},
	{
		name:    "tag naming its own option",
		filter:  "self-tag",
		wantErr: ErrInterpolation,
		errHas:  []string{"self-tag.conf:2", "failregex", "<failregex>"},
	},
	{
		name:    "missing percent reference",
		filter:  "missing-percent",
		wantErr: ErrInterpolation,
		errHas:  []string{"missing-percent.conf:2", "[Definition]", "failregex", "nowhere"},
	},
	{
		name:    "bad percent",
		filter:  "bad-percent",
		wantErr: ErrSyntax,
		errHas:  []string{"bad-percent.conf:2", "[Definition]", "failregex"},
	},
	{
		name:      "missing include",
		filter:    "missing-include",
		wantErr:   ErrNotFound,
		errHas:    []string{"missing-include.conf:2", "[INCLUDES]", "before", "does-not-exist.conf"},
		deviation: "fail2ban skips an include that does not exist; banserver refuses it unless it is a .local",
	},
	{
		name:    "text before any section",
		filter:  "no-header",
		wantErr: ErrSyntax,
		errHas:  []string{"no-header.conf:1"},
	},
	{
		name:    "line without delimiter",
		filter:  "bad-line",
		wantErr: ErrSyntax,
		errHas:  []string{"bad-line.conf:3", "[Definition]"},
	},
	{
		name:    "duplicate option",
		filter:  "dup-option",
		wantErr: ErrSyntax,
		errHas:  []string{"dup-option.conf:3", "[Definition]", "failregex"},
	},
	{
		name:    "duplicate section",
		filter:  "dup-section",
		wantErr: ErrSyntax,
		errHas:  []string{"dup-section.conf:4", "[Definition]"},
	},
	{
		name:      "bad maxlines",
		filter:    "bad-maxlines",
		wantErr:   ErrSyntax,
		errHas:    []string{"bad-maxlines.conf:3", "[Definition]", "maxlines"},
		deviation: "fail2ban logs a warning and leaves maxlines unset; banserver refuses the filter",
	},
	{
		name:    "bad journalmatch quoting",
		filter:  "bad-journalmatch",
		wantErr: ErrSyntax,
		errHas:  []string{"bad-journalmatch.conf:3", "journalmatch", "closing quotation"},
	},
	{
		name:    "include loop through another spelling",
		filter:  "include-loop",
		wantErr: ErrSyntax,
		errHas:  []string{"include-loop.conf:5", "[INCLUDES]", "before", "nest deeper"},
	},
	{
		name:    "value explosion",
		filter:  "explode",
		wantErr: ErrInterpolation,
		errHas:  []string{"explode.conf", "MaxValueSize"},
	},
	{
		name:    "missing filter",
		filter:  "nope",
		wantErr: ErrNotFound,
		errHas:  []string{`"nope"`, "testdata/filter.d"},
	},
}

func (c readCase) options() Options {
	return Options{Dirs: testDirs, Vars: c.vars, Jail: c.jail, LogType: c.logType}
}

// TestRead reads the dialect's test filters; testdata/golden holds each
// whole result (go test -update rewrites them).
func TestRead(t *testing.T) {
	for _, c := range readCases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Read(c.filter, c.options())
			golden(t, c.name, f, err)
			if c.wantErr != nil {
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("error %v, want one matching %v", err, c.wantErr)
				}
				var e *Error
				if !errors.As(err, &e) {
					t.Errorf("error %T, want *Error", err)
				}
				for _, s := range c.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not name %q", err, s)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := fromFilter(f).diff(*c.want); len(d) > 0 {
				t.Errorf("%s", strings.Join(d, "\n"))
			}
			for k, w := range c.values {
				if g, ok := f.Values[k]; !ok || g != w {
					t.Errorf("Values[%q] = %q (present %v), want %q", k, g, ok, w)
				}
			}
		})
	}
}

// golden compares Read's whole answer with testdata/golden/NAME.json.
func golden(t *testing.T, name string, f *Filter, err error) {
	t.Helper()
	got := map[string]any{"filter": f}
	if err != nil {
		got = map[string]any{"error": err.Error()}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep <HOST> readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	path := filepath.Join("testdata", "golden", strings.ReplaceAll(name, " ", "-")+".json")
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, rerr := os.ReadFile(path)
	if rerr != nil {
		t.Fatalf("%v (go test -update writes it)", rerr)
	}
	if string(want) != string(b) {
		t.Errorf("%s differs from what Read returns (go test -update rewrites it):\n%s", path, b)
	}
}

// TestOracleDialect asks fail2ban the same as TestRead: every case must
// come out of fail2ban's FilterReader the same, but for the deliberate
// deviations, which must still differ as described.
func TestOracleDialect(t *testing.T) {
	py := needFail2ban(t)
	var cases []readerCase
	for _, c := range readCases {
		if c.noOracle != "" {
			t.Logf("%s: not asked: %s", c.name, c.noOracle)
			continue
		}
		backend := ""
		switch c.logType {
		case "journal":
			backend = "systemd"
		case "file":
			backend = "auto"
		}
		base := oracleCase{Basedir: "testdata", Name: c.filter, Opts: c.vars, Jail: c.jail, Flow: "jail", Backend: backend}
		cases = append(cases, readerCase{oracleCase: base, logType: c.logType, deviation: c.deviation})
		if len(c.jail) == 0 && c.logType == "" {
			base.Flow = "test"
			cases = append(cases, readerCase{oracleCase: base, deviation: c.deviation})
		}
	}
	n := compareReaders(t, py, cases)
	t.Logf("%d cases: %d equal (%d of them refused by both), %d where fail2ban's two readers disagree and Read agrees with its jail reader, %d deliberate deviations",
		n.total, n.equal, n.refused, n.split, n.deviations)
}
