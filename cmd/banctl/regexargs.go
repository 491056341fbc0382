package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// regexCommand is banctl's fail2ban-regex: it runs a filter over a log on
// banserver's own engine, without a server.
const regexCommand = "regex"

// defaultF2BConfig is fail2ban's configuration directory, fail2ban-regex's
// default -c.
const defaultF2BConfig = "/etc/fail2ban"

// banserverFilterDir holds banserver's own filters: searched before
// fail2ban's filter.d when it exists and -c is not given (a variable for
// tests).
var banserverFilterDir = "/etc/banserver/filter.d"

// errRegexUsage marks a bad banctl regex command line.
var errRegexUsage = errors.New("banctl: regex: bad usage")

// regexArgs are banctl regex's options, fail2ban-regex's as far as they go.
type regexArgs struct {
	config      string // -c/--config
	configSet   bool
	datePattern string // -d/--datepattern
	hasDate     bool
	timezone    string // --timezone/--TZ
	encoding    string // -e/--encoding
	raw         bool   // -r/--raw
	useDNS      string // --usedns
	maxLines    int    // -L/--maxlines
	verbose     int    // -v (counted), --verbosity N
	noCheckAll  bool   // --no-check-all
	out         string // -o/--out: json, or fail2ban-regex's id, ip, msg, FIELD
	now         time.Time
	hasNow      bool // --now
	help        bool
	version     bool // --version
	versionS    bool // -V

	printNoMissed, printNoIgnored                    bool
	printAllMatched, printAllMissed, printAllIgnored bool

	args []string // LOG REGEX [IGNOREREGEX]
}

// regexOpt is one option of the table parseRegexArgs reads: its names,
// whether it takes a value, and what it does with it.
type regexOpt struct {
	short byte     // 0: none
	long  []string // without the leading --
	value bool
	set   func(a *regexArgs, v string) error
}

// refuse makes the setter of an option banctl regex does not have.
func refuse(what string) func(*regexArgs, string) error {
	return func(*regexArgs, string) error { return fmt.Errorf("%w: %s", errRegexUsage, what) }
}

func boolOpt(f func(a *regexArgs)) func(*regexArgs, string) error {
	return func(a *regexArgs, _ string) error { f(a); return nil }
}

// regexOpts are fail2ban-regex 1.0.2's options (its get_opt_parser), and
// banctl's --now. Long names may be abbreviated to any unique prefix, as
// Python's optparse allows.
var regexOpts = []regexOpt{
	{'c', []string{"config"}, true, func(a *regexArgs, v string) error { a.config, a.configSet = v, true; return nil }},
	{'d', []string{"datepattern"}, true, func(a *regexArgs, v string) error { a.datePattern, a.hasDate = v, true; return nil }},
	{0, []string{"timezone", "TZ"}, true, func(a *regexArgs, v string) error { a.timezone = v; return nil }},
	{'e', []string{"encoding"}, true, setEncoding},
	{'r', []string{"raw"}, false, boolOpt(func(a *regexArgs) { a.raw = true })},
	{0, []string{"usedns"}, true, setUseDNS},
	{'L', []string{"maxlines"}, true, func(a *regexArgs, v string) error {
		n, err := pyInt(v)
		if err != nil {
			return fmt.Errorf("%w: option -L: invalid integer value: %q", errRegexUsage, v)
		}
		a.maxLines = n
		return nil
	}},
	{'m', []string{"journalmatch"}, true, refuse("-m/--journalmatch: the journal is not read by banctl regex; export it to a file (journalctl -o short-iso) and pass that")},
	{'l', []string{"log-level"}, true, setLogLevel},
	{'V', nil, false, boolOpt(func(a *regexArgs) { a.versionS = true })},
	{'v', []string{"verbose"}, false, boolOpt(func(a *regexArgs) { a.verbose++ })},
	{0, []string{"verbosity"}, true, func(a *regexArgs, v string) error {
		n, err := pyInt(v)
		if err != nil {
			return fmt.Errorf("%w: option --verbosity: invalid integer value: %q", errRegexUsage, v)
		}
		a.verbose = n
		return nil
	}},
	{0, []string{"verbose-date", "VD"}, false, refuse("--verbose-date/--VD (date template weights and regexes) is not supported")},
	{'D', []string{"debuggex"}, false, refuse("-D/--debuggex (debuggex.com links) is not supported")},
	{0, []string{"no-check-all"}, false, boolOpt(func(a *regexArgs) { a.noCheckAll = true })},
	{'o', []string{"out"}, true, setOut},
	{0, []string{"print-no-missed"}, false, boolOpt(func(a *regexArgs) { a.printNoMissed = true })},
	{0, []string{"print-no-ignored"}, false, boolOpt(func(a *regexArgs) { a.printNoIgnored = true })},
	{0, []string{"print-all-matched"}, false, boolOpt(func(a *regexArgs) { a.printAllMatched = true })},
	{0, []string{"print-all-missed"}, false, boolOpt(func(a *regexArgs) { a.printAllMissed = true })},
	{0, []string{"print-all-ignored"}, false, boolOpt(func(a *regexArgs) { a.printAllIgnored = true })},
	// Tracebacks decorate log lines, and banctl regex logs none.
	{'t', []string{"log-traceback"}, false, boolOpt(func(*regexArgs) {})},
	{0, []string{"full-traceback"}, false, boolOpt(func(*regexArgs) {})},
	{0, []string{"now"}, true, setNow},
	{'h', []string{"help"}, false, boolOpt(func(a *regexArgs) { a.help = true })},
	{0, []string{"version"}, false, boolOpt(func(a *regexArgs) { a.version = true })},
}

// parseRegexArgs reads banctl regex's command line as optparse reads
// fail2ban-regex's: options anywhere (before, between or after the
// operands) until "--", clusters of short options (-vr, -dPATTERN),
// --name=value or --name value, long names abbreviated to a unique
// prefix.
func parseRegexArgs(argv []string) (*regexArgs, error) {
	a := &regexArgs{config: defaultF2BConfig, encoding: "UTF-8"}
	bad := func(format string, args ...any) (*regexArgs, error) {
		return nil, fmt.Errorf("%w: %s", errRegexUsage, fmt.Sprintf(format, args...))
	}
	for i := 0; i < len(argv); i++ {
		s := argv[i]
		switch {
		case s == "--":
			a.args = append(a.args, argv[i+1:]...)
			i = len(argv)
		case strings.HasPrefix(s, "--"):
			name, val, hasVal := strings.Cut(s[2:], "=")
			o, full, err := findLong(name)
			if err != nil {
				return nil, err
			}
			if o.value {
				if !hasVal {
					if i+1 >= len(argv) {
						return bad("--%s option requires an argument", full)
					}
					i++
					val = argv[i]
				}
			} else if hasVal {
				return bad("--%s option does not take a value", full)
			}
			if err := o.set(a, val); err != nil {
				return nil, err
			}
		case len(s) > 1 && s[0] == '-':
			for j := 1; j < len(s); j++ {
				o := findShort(s[j])
				if o == nil {
					return bad("no such option: -%c", s[j])
				}
				if !o.value {
					if err := o.set(a, ""); err != nil {
						return nil, err
					}
					continue
				}
				val := s[j+1:]
				if val == "" {
					if i+1 >= len(argv) {
						return bad("-%c option requires an argument", s[j])
					}
					i++
					val = argv[i]
				}
				if err := o.set(a, val); err != nil {
					return nil, err
				}
				break
			}
		default:
			a.args = append(a.args, s)
		}
	}
	if a.help || a.version || a.versionS {
		return a, nil
	}
	if a.printNoMissed && a.printAllMissed {
		return bad("--print-no-missed and --print-all-missed are mutually exclusive")
	}
	if a.printNoIgnored && a.printAllIgnored {
		return bad("--print-no-ignored and --print-all-ignored are mutually exclusive")
	}
	if n := len(a.args); n != 2 && n != 3 {
		return bad("provide both LOG and REGEX (and at most an IGNOREREGEX), got %d operands", n)
	}
	if a.out == "json" && (a.verbose > 0 || a.printAllMatched || a.printAllMissed || a.printAllIgnored) {
		return bad("-o json prints one object per line, without the report: -v and --print-all-* do not apply")
	}
	return a, nil
}

// findLong finds a long option by its name or a unique prefix of it.
func findLong(name string) (*regexOpt, string, error) {
	var found *regexOpt
	var full string
	var cands []string
	for i := range regexOpts {
		o := &regexOpts[i]
		for _, l := range o.long {
			if l == name {
				return o, l, nil
			}
			if name != "" && strings.HasPrefix(l, name) {
				found, full = o, l
				cands = append(cands, "--"+l)
			}
		}
	}
	switch len(cands) {
	case 0:
		return nil, "", fmt.Errorf("%w: no such option: --%s", errRegexUsage, name)
	case 1:
		return found, full, nil
	}
	return nil, "", fmt.Errorf("%w: ambiguous option: --%s (%s?)", errRegexUsage, name, strings.Join(cands, ", "))
}

func findShort(c byte) *regexOpt {
	for i := range regexOpts {
		if regexOpts[i].short == c {
			return &regexOpts[i]
		}
	}
	return nil
}

// pyInt is Python's int() of an option value: optional sign, digits,
// surrounding spaces and underscores between digits.
func pyInt(s string) (int, error) {
	t := strings.TrimSpace(s)
	if strings.Contains(t, "__") || strings.HasPrefix(strings.TrimLeft(t, "+-"), "_") || strings.HasSuffix(t, "_") {
		return 0, strconv.ErrSyntax
	}
	n, err := strconv.ParseInt(strings.ReplaceAll(t, "_", ""), 10, 32)
	return int(n), err
}

// setEncoding accepts the encodings banctl regex can read: UTF-8 (what
// fail2ban-regex uses by default) and Latin-1.
func setEncoding(a *regexArgs, v string) error {
	if encodingOf(v) == "" {
		return fmt.Errorf("%w: -e/--encoding %q: only UTF-8 and Latin-1 (ISO-8859-1) logs are read", errRegexUsage, v)
	}
	a.encoding = v
	return nil
}

// encodingOf names the encoding of an -e value Python would accept for
// it: "utf-8", "latin-1", or "" for one banctl does not read.
func encodingOf(v string) string {
	n := strings.NewReplacer("_", "-", " ", "-").Replace(strings.ToLower(strings.TrimSpace(v)))
	switch n {
	case "utf-8", "utf8", "u8", "utf", "cp65001":
		return "utf-8"
	case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "8859", "cp819", "latin", "l1", "iso-ir-100", "csisolatin1":
		return "latin-1"
	}
	return ""
}

func setUseDNS(a *regexArgs, v string) error {
	switch strings.ToLower(v) {
	case "yes", "warn", "no", "raw":
		a.useDNS = strings.ToLower(v)
		return nil
	}
	return fmt.Errorf("%w: --usedns %q: want yes, warn, no or raw", errRegexUsage, v)
}

// setLogLevel accepts the levels at which fail2ban-regex logs nothing
// on a normal run (CRITICAL, its default, and above): banctl regex has no
// fail2ban log to show.
func setLogLevel(a *regexArgs, v string) error {
	n := -1
	if d, err := strconv.Atoi(v); err == nil && d >= 0 {
		n = d
	} else {
		switch strings.ToUpper(v) {
		case "CRITICAL", "FATAL":
			n = 50
		}
	}
	if n < 50 {
		return fmt.Errorf("%w: -l/--log-level %s: only CRITICAL (the default) is supported; banctl regex has no fail2ban log to show", errRegexUsage, v)
	}
	return nil
}

// setOut reads -o: json (banctl's), or the tokens of fail2ban-regex's
// --out it reproduces.
func setOut(a *regexArgs, v string) error {
	switch {
	case v == "row" || v == "matches":
		return fmt.Errorf("%w: -o %s (Python reprs of tickets) is not supported; use -o json", errRegexUsage, v)
	case strings.Contains(v, "<"):
		return fmt.Errorf("%w: -o with action tags (%s) is not supported; use -o json", errRegexUsage, v)
	case v == "":
		return fmt.Errorf("%w: -o needs json or a token (id, ip, msg, a field name)", errRegexUsage)
	}
	a.out = v
	return nil
}

// setNow reads --now: the reference clock in Unix seconds.
func setNow(a *regexArgs, v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return fmt.Errorf("%w: --now %q: want Unix seconds", errRegexUsage, v)
	}
	sec, frac := math.Modf(f)
	a.now, a.hasNow = time.Unix(int64(sec), int64(math.Round(frac*1e9))), true
	return nil
}
