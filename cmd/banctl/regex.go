package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/banserver/banserver/filter"
	"github.com/banserver/banserver/filter/dates"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/version"
)

// regexBudget bounds one regex match. The daemon's budget guards it
// against a runaway pattern; here someone is waiting for the answer, as
// with fail2ban-regex, which has no bound at all.
const regexBudget = 10 * time.Second

// regexRun is one banctl regex run: fail2banregex.py's Fail2banRegex.
type regexRun struct {
	a      *regexArgs
	w      *bufio.Writer
	stderr io.Writer
	report bool // fail2ban-regex's report (no -o)

	settings filter.Settings
	flt      *filter.Filter
	engLines int // the filter's maxlines
	maxPrint int // fail2ban-regex's _maxlines: how many lines it lists
	fail     []regexStat
	ignore   []regexStat
	pref     string // prefregex as compiled, "" without one
	clock    func() time.Time
	local    *dates.Zone

	tr              filter.Trace
	prefMatched     int
	prefGroups      []string
	lastPrefMatched bool
	lastPrefGroups  string
	lines           lineStats
	lineErrors      int
	elapsed         time.Duration
}

// regexStat is one failregex or ignoreregex of the report (RegexStat):
// the regex as written, its hits and, with -v, what it found.
type regexStat struct {
	re   string
	hits int
	ips  []ipHit
}

// ipHit is one failure a failregex found, as -v lists it.
type ipHit struct {
	host  string // "" for a failure still waiting for its id (None)
	t     time.Time
	multi bool // "(multiple regex matched)"
}

// lineStats are fail2ban-regex's LineStats.
type lineStats struct {
	tested, matched, missed, ignored        int
	matchedLines, missedLines, ignoredLines []string
}

// regexFail is an error fail2ban-regex reports as "ERROR: ..." and exits
// 255 on; banctl says it on stderr.
type regexFail struct{ msg string }

func (e *regexFail) Error() string { return "banctl: regex: " + e.msg }

func runRegex(argv []string, stdout, stderr io.Writer) int {
	a, err := parseRegexArgs(argv)
	if err != nil {
		writeLine(stderr, err.Error()+" (see 'banctl regex --help')")
		return exitFail
	}
	switch {
	case a.help:
		regexUsage(stdout)
		return exitOK
	case a.version:
		writeLine(stdout, "banctl regex "+version.Version)
		return exitOK
	case a.versionS:
		writeLine(stdout, version.Version)
		return exitOK
	}
	if os.Getenv("GOGC") == "" && a.verbose == 0 && !a.printAllMatched && !a.printAllMissed && !a.printAllIgnored {
		// What the run keeps is small and bounded (counters, a few
		// lines to print) while it allocates for every line: a larger
		// GC target trades a few megabytes for about a tenth of the
		// run time. (Verbose runs and --print-all-* keep every line.)
		defer debug.SetGCPercent(debug.SetGCPercent(400))
	}
	w := bufio.NewWriterSize(stdout, 64<<10)
	r := &regexRun{a: a, w: w, stderr: stderr, report: a.out == ""}
	err = r.run()
	if ferr := w.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	if err != nil {
		var rf *regexFail
		if !errors.As(err, &rf) {
			err = &regexFail{err.Error()}
		}
		writeLine(stderr, err.Error())
		return exitFail
	}
	return exitOK
}

// say is fail2ban-regex's self.output: the report's lines, which -o
// silences.
func (r *regexRun) say(format string, args ...any) {
	if !r.report {
		return
	}
	if len(args) > 0 {
		format = fmt.Sprintf(format, args...)
	}
	r.w.WriteString(format)
	r.w.WriteByte('\n')
}

func (r *regexRun) run() error {
	a := r.a
	r.maxPrint = 20
	if a.maxLines != 0 {
		r.maxPrint = a.maxLines
	}
	r.local = dates.LocalZone()
	r.clock = time.Now
	if a.hasNow {
		now := a.now
		r.clock = func() time.Time { return now }
	}
	r.settings = filter.Settings{
		UseDNS:        "warn",
		Local:         r.local,
		Budget:        regexBudget,
		CheckAllRegex: !a.noCheckAll && r.report,
		LogTimeZone:   a.timezone,
	}
	if a.hasNow {
		r.settings.Now = r.clock
	}
	if a.useDNS != "" {
		r.settings.UseDNS = a.useDNS
	}
	if a.raw && r.settings.UseDNS != "no" {
		// fail2ban's returnRawHost: ids stay the text matched. usedns=no
		// already matches addresses only, which are kept as matched.
		r.settings.UseDNS = "raw"
	}
	if s := r.settings.UseDNS; s == "yes" || s == "warn" {
		r.settings.Resolve = newResolver().lookup
	}

	r.say("")
	r.say("Running tests")
	r.say("=============")
	r.say("")

	// Fail2banRegex.__init__: -L, --timezone, -d.
	if a.maxLines != 0 {
		r.settings.MaxLines = max(1, a.maxLines)
		r.say("Use         maxlines : %d", r.settings.MaxLines)
	}
	if a.timezone != "" {
		if _, err := dates.ParseZone(a.timezone); err != nil {
			return &regexFail{fmt.Sprintf("--timezone %q: %v", a.timezone, err)}
		}
	}
	if a.datePattern != "" {
		name, err := templateName(a.datePattern)
		if err != nil {
			return &regexFail{fmt.Sprintf("datepattern %q: %v", a.datePattern, err)}
		}
		r.settings.DatePattern = a.datePattern
		r.say("Use      datepattern : %s : %s", a.datePattern, name)
	}

	if err := r.readFilter(a.args[1]); err != nil {
		return err
	}
	if len(a.args) == 3 {
		r.say("Use %11s line : %s", "ignoreregex", shortStr(a.args[2], 53))
		r.ignore = []regexStat{{re: a.args[2]}}
		r.settings.IgnoreRegex = append(r.settings.IgnoreRegex, a.args[2])
	}
	flt, err := filter.New(r.settings)
	if err != nil {
		return &regexFail{strings.TrimPrefix(err.Error(), filter.ErrSettings.Error()+": ")}
	}
	r.flt, r.engLines, r.pref = flt, flt.MaxLines(), flt.PrefRegex()
	r.tr.WantGroups = r.a.verbose > 0
	r.tr.WantPending = true

	src, err := r.openLog(a.args[0])
	if err != nil {
		return err
	}
	r.say("")

	start := time.Now()
	switch {
	case a.out == "json":
		err = r.processJSON(src)
	case a.out != "":
		err = r.processOut(src)
	default:
		err = r.process(src)
	}
	if err != nil {
		return err
	}
	r.elapsed = time.Since(start)
	if r.lineErrors > 0 {
		fmt.Fprintf(r.stderr, "banctl: regex: %d line(s) could not be processed (see above)\n", r.lineErrors)
	}
	if r.report {
		r.printStats()
	}
	return nil
}

// templateName is what fail2ban-regex prints after a datepattern: the
// name of its template, or "Default Detectors" when it stands for more
// than two (Filter.getDatePattern).
func templateName(pattern string) (string, error) {
	d, err := dates.New(dates.Options{Pattern: pattern})
	if err != nil {
		return "", err
	}
	h := d.Hits()
	if len(h) == 0 || len(h) > 2 {
		return "Default Detectors", nil
	}
	return h[0].Name, nil
}

// shortStr is fail2ban-regex's shortstr.
func shortStr(s string, l int) string {
	r := []rune(s)
	if len(r) > l {
		return string(r[:l-3]) + "..."
	}
	return s
}

// filterArgRE is the shape of a REGEX argument fail2ban-regex tries as a
// filter (a name or path, with options in brackets).
var filterArgRE = regexp.MustCompile(`(?ms)^/{0,3}[\p{L}\p{N}_/\-.]+(?:\[.*\])?$`)

// readFilter is readRegex(value, 'fail'): a filter file found by name or
// path, else a failregex.
func (r *regexRun) readFilter(value string) error {
	file, name, opts, basedir, err := r.findFilter(value)
	if err != nil {
		return err
	}
	if file == "" {
		r.say("Use %11s line : %s", "failregex", shortStr(value, 53))
		r.settings.FailRegex = []string{value}
		r.fail = []regexStat{{re: value}}
		return nil
	}
	s := &r.settings
	if basedir != "" {
		r.say("Use %11s filter file : %s, basedir: %s", "failregex", name, basedir)
		s.Name = name
		s.Dirs = []string{filepath.Join(basedir, "filter.d")}
		if bs := filepath.Dir(banserverFilterDir); !r.a.configSet && (basedir == bs || basedir == r.a.config) && isDir(banserverFilterDir) {
			// banserver's own filters first, then fail2ban's.
			s.Dirs = []string{banserverFilterDir, filepath.Join(r.a.config, "filter.d")}
		}
	} else {
		r.say("Use %11s file : %s", "failregex", name)
		abs, err := filepath.Abs(name)
		if err != nil {
			return &regexFail{err.Error()}
		}
		s.Name = abs
	}
	if len(opts) > 0 {
		r.say("Use   filter options : %s", protocol.Repr(opts))
		s.Vars = make(map[string]string, len(opts))
		for _, kv := range opts {
			s.Vars[kv.Key.(string)] = kv.Value.(string)
		}
	}
	res, err := s.Source()
	if err != nil {
		return &regexFail{fmt.Sprintf("failed to load filter %s: %s", value,
			strings.TrimPrefix(err.Error(), filter.ErrSettings.Error()+": "))}
	}
	if r.a.verbose > 1 {
		r.say("Real  filter options : %s", protocol.Repr(realOptions(res, opts)))
	}
	if res.FileMaxLines > 0 {
		r.say("Use         maxlines : %d", res.FileMaxLines)
	}
	if res.FileDatePattern != "" {
		name, err := templateName(res.FileDatePattern)
		if err != nil {
			return &regexFail{fmt.Sprintf("datepattern %q of %s: %v", res.FileDatePattern, value, err)}
		}
		r.say("Use      datepattern : %s : %s", res.FileDatePattern, name)
	}
	for _, re := range res.FailRegex {
		r.fail = append(r.fail, regexStat{re: re})
	}
	for _, re := range res.IgnoreRegex {
		r.ignore = append(r.ignore, regexStat{re: re})
	}
	// The ignoreregexes the file has, to which an IGNOREREGEX argument is
	// added, as fail2ban-regex adds it to its filter.
	s.IgnoreRegex = res.IgnoreRegex
	return nil
}

// realOptions is what fail2ban-regex -vv shows as the filter's real
// options: logtype, datepattern and the options given, as the filter
// resolved them.
func realOptions(res *filter.Resolved, opts protocol.Dict) protocol.Dict {
	keys := []string{"logtype", "datepattern"}
	for _, kv := range opts {
		keys = append(keys, kv.Key.(string))
	}
	var out protocol.Dict
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		if v, ok := res.Values[k]; ok {
			out = append(out, protocol.KV{Key: k, Value: v})
		}
	}
	return out
}

// findFilter is readRegex's search for a filter file: value names one
// when it has the shape of a filter name and a file is found for it. It
// returns the file ("" when value is a regex), the name to read it by,
// its options in order, and the base directory it was found in for a
// filter read the standard way ("" for a file read as it is).
func (r *regexRun) findFilter(value string) (file, name string, opts protocol.Dict, basedir string, err error) {
	if !filterArgRE.MatchString(value) {
		return "", "", nil, "", nil
	}
	fltName, opts, err := extractOptions(value)
	if err != nil {
		return "", "", nil, "", &regexFail{fmt.Sprintf("Wrong filter name or options: %v (while parsing: %s)", err, value)}
	}
	tryNames := []string{fltName, fltName + ".conf", fltName + ".local"}
	if strings.Contains(lastRunes(fltName, 6), ".") {
		tryNames = tryNames[:1]
	}
	config := r.a.config
	bases := []string{config}
	if !r.a.configSet && isDir(banserverFilterDir) {
		bases = []string{filepath.Dir(banserverFilterDir), config}
	}
	for _, base := range bases {
		basedir = base
		for _, f := range tryNames {
			if !strings.Contains(f, "/") {
				if filepath.Base(basedir) == "filter.d" {
					f = pyJoin(basedir, f)
				} else {
					f = pyJoin(basedir, "filter.d", f)
				}
			} else {
				basedir = pyDirname(f)
			}
			if isRegular(f) {
				file = f
				break
			}
		}
		if file != "" {
			break
		}
	}
	if file == "" {
		return "", "", nil, "", nil
	}
	if basedir == config || basedir == filepath.Dir(banserverFilterDir) || filepath.Base(basedir) == "filter.d" ||
		(!strings.Contains(lastRunes(fltName, 6), ".") && !strings.Contains(fltName, "/")) {
		if filepath.Base(basedir) == "filter.d" {
			basedir = pyDirname(basedir)
		}
		base := filepath.Base(fltName)
		if ext := filepath.Ext(base); ext != "" && ext != base {
			base = strings.TrimSuffix(base, ext)
		}
		return file, base, opts, basedir, nil
	}
	return file, fltName, opts, "", nil
}

// optionRE is fail2ban's OPTION_CRE, optionItemRE its OPTION_EXTRACT_CRE
// (helpers.py): a filter's name and its [options].
var (
	optionRE     = regexp.MustCompile(`(?s)^([^\[]+)(?:\[(.*)\])?\s*$`)
	optionItemRE = regexp.MustCompile(`(?s)\s*([\p{L}\p{N}_\-.]+)=(?:"([^"]*)"|'([^']*)'|([^,\]]*))(?:,|\]\s*\[|$|(.+))|,?\s*$|(.+)`)
)

// extractOptions is fail2ban's extractOptions: the name and the options
// in the order given (a later value of a name replaces the earlier one in
// its place, as a Python dict does).
func extractOptions(s string) (string, protocol.Dict, error) {
	m := optionRE.FindStringSubmatch(s)
	if m == nil {
		return "", nil, errors.New("unexpected option syntax")
	}
	var opts protocol.Dict
	for _, om := range optionItemRE.FindAllStringSubmatch(m[2], -1) {
		if om[5] != "" {
			return "", nil, fmt.Errorf("unexpected syntax after option %q: %s", om[1], shortRunes(om[5], 25))
		}
		if om[6] != "" {
			return "", nil, fmt.Errorf("expected option, wrong syntax: %s", shortRunes(om[6], 25))
		}
		if om[1] == "" {
			continue
		}
		k := strings.TrimSpace(om[1])
		v := strings.TrimSpace(om[2] + om[3] + om[4])
		replaced := false
		for i := range opts {
			if opts[i].Key == k {
				opts[i].Value, replaced = v, true
			}
		}
		if !replaced {
			opts = append(opts, protocol.KV{Key: k, Value: v})
		}
	}
	return m[1], opts, nil
}

func shortRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		return string(r[:n])
	}
	return s
}

// lastRunes is Python's s[-n:].
func lastRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[len(r)-n:]
	}
	return string(r)
}

// pyJoin is os.path.join: an absolute part restarts the path.
func pyJoin(parts ...string) string {
	out := ""
	for _, p := range parts {
		switch {
		case strings.HasPrefix(p, "/"), out == "":
			out = p
		case strings.HasSuffix(out, "/"):
			out += p
		default:
			out += "/" + p
		}
	}
	return out
}

// pyDirname is os.path.dirname: everything before the last slash, with
// trailing slashes dropped unless that is all there is.
func pyDirname(p string) string {
	i := strings.LastIndexByte(p, '/') + 1
	head := p[:i]
	if head != "" && strings.Trim(head, "/") != "" {
		head = strings.TrimRight(head, "/")
	}
	return head
}

func isRegular(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// resolver is DNSUtils.textToIp for usedns yes and warn: a host name's
// addresses, looked up once per name.
type resolver struct {
	mu    sync.Mutex // guards cache
	cache map[string][]netip.Addr
}

func newResolver() *resolver { return &resolver{cache: map[string][]netip.Addr{}} }

func (r *resolver) lookup(host string) []netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.cache[host]; ok {
		return a
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		addrs = nil
	}
	seen := map[netip.Addr]bool{}
	var out []netip.Addr
	for _, a := range addrs {
		a = a.Unmap()
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	r.cache[host] = out
	return out
}
