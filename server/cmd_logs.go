package server

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/banserver/banserver/filter"
	"github.com/banserver/banserver/filter/dates"
	"github.com/banserver/banserver/logjail"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/source"
)

// This file: the log jail commands, which read and change a jail's
// logjail.Settings through Options.LogJails, with fail2ban 1.0.2's
// replies: log paths, dates, numbers, encoding, usedns, ignorecommand,
// and status's file list (regexes in cmd_regex.go, journal matches in
// cmd_journal.go).
//
// A setter checks its value, then changes the settings under jailLife (so
// that a stop cannot come between, and two setters do not lose each
// other's change) through LogJails.Configure, which checks them whole; a
// refused value leaves the settings as they were.

// errNoLogJails answers the log commands of a server without log readers.
var errNoLogJails = &protocol.Exception{Class: protocol.ClassException, Args: []any{
	"log jails are not available: this server reads no logs"}}

// jailMatches is how many failure messages banserver's jails keep with
// each failure (package jail's maxMatches): what get maxmatches answers
// until a client sets it.
const jailMatches = 10

// maxMaxLines bounds maxlines: the lines a failregex sees at once.
const maxMaxLines = 1000

// logExtra are the log settings fail2ban answers that logjail.Settings
// cannot tell apart (kept in jailExtra).
type logExtra struct {
	// maxMatches is maxmatches as set (banserver's jails keep
	// jailMatches whatever it is); maxMatchesSet once set.
	maxMatches    int
	maxMatchesSet bool
	// tzSet: logtimezone was set, to "" perhaps, which fail2ban answers
	// '' where an unset one is None.
	tzSet bool
	// ignoreCmdSet: ignorecommand '' was set (answered '' rather than
	// fail2ban's default False).
	ignoreCmdSet bool
}

// errUnchanged tells changeLogs that the settings stay as they are.
var errUnchanged = errors.New("unchanged")

// logSettingsOf returns the jail's log settings for a log command: the
// server must read logs and the jail exist.
func (s *Server) logSettingsOf(name string) (logjail.Settings, error) {
	if s.o.LogJails == nil {
		return logjail.Settings{}, errNoLogJails
	}
	if !s.o.Jails.Has(name) {
		return logjail.Settings{}, jailErr(name)
	}
	return s.logSettings(name), nil
}

// changeLogs applies change to the jail's log settings and configures the
// jail with them; change returning errUnchanged leaves them alone.
func (s *Server) changeLogs(name string, change func(*logjail.Settings) error) error {
	if s.o.LogJails == nil {
		return errNoLogJails
	}
	s.jailLife.Lock()
	defer s.jailLife.Unlock()
	if !s.o.Jails.Has(name) {
		return jailErr(name)
	}
	ls := s.logSettings(name)
	if err := change(&ls); err != nil {
		if err == errUnchanged {
			return nil
		}
		return err
	}
	if err := s.o.LogJails.Configure(name, ls); err != nil {
		return valueError(err.Error())
	}
	return nil
}

// changeExtra changes the jail's logExtra; the jail must exist.
func (s *Server) changeExtra(name string, change func(*logExtra)) error {
	s.jailLife.Lock()
	defer s.jailLife.Unlock()
	if !s.o.Jails.Has(name) {
		return jailErr(name)
	}
	s.mu.Lock()
	change(&s.extraLocked(name).logs)
	s.mu.Unlock()
	return nil
}

// logExtraOf returns the jail's logExtra.
func (s *Server) logExtraOf(name string) logExtra {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.extras[name]; e != nil {
		return e.logs
	}
	return logExtra{}
}

// readsJournal reports whether the settings read the systemd journal, as
// logjail decides it.
func readsJournal(ls logjail.Settings) bool { return strings.EqualFold(ls.Backend, "systemd") }

// logFilter is the jail's filter as its reader builds it; nil when it has
// none yet (no failregex nor filter file) or cannot be built. Only its
// accessors are used (Name, FailRegex, JournalMatch...), which read what
// never changes, so one filter serves every caller.
func logFilter(ls logjail.Settings) *filter.Filter {
	key := fmt.Sprintf("%#v", ls)
	filterMemo.Lock()
	f, ok := filterMemo.m[key]
	filterMemo.Unlock()
	if ok {
		return f
	}
	f, err := ls.Check()
	if err != nil {
		f = nil
	}
	filterMemo.Lock()
	if len(filterMemo.m) >= filterMemoSize {
		clear(filterMemo.m)
	}
	filterMemo.m[key] = f
	filterMemo.Unlock()
	return f
}

// filterMemo keeps the filters logFilter built, by their settings:
// building one reads its filter file and compiles every regex (about 10 ms
// for Debian's sshd), too much for status, which exporters poll. A filter
// file changed on disk is read again when the jail's settings change, as
// the jail's reader reads it again only then.
var filterMemo = struct {
	sync.Mutex
	m map[string]*filter.Filter
}{m: map[string]*filter.Filter{}}

const filterMemoSize = 256

// useDNS is the jail's usedns as fail2ban answers it.
func useDNS(ls logjail.Settings) string {
	if ls.UseDNS == "" {
		return "warn"
	}
	return ls.UseDNS
}

// Log paths.

// hasGlobMeta reports whether a path has the characters banserver's file
// follower reads as a glob.
func hasGlobMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// checkLogFile opens path for reading as fail2ban's FileContainer does,
// and answers Python's exception when it cannot: a missing file or a
// broken symlink is FileNotFoundError, a directory IsADirectoryError.
// The file is only opened and closed here; its reader opens it again.
func checkLogFile(path string) error {
	// O_NONBLOCK: a FIFO must not hold the command until a writer comes.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return osError(path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return osError(path, err)
	}
	if st.IsDir() {
		return osError(path, syscall.EISDIR)
	}
	return nil
}

// logPaths is the jail's log path list as fail2ban answers it: the
// paths in the order added; none for a journal jail.
func logPaths(ls logjail.Settings) []any {
	out := []any{}
	if readsJournal(ls) {
		return out
	}
	for _, p := range ls.LogPaths {
		out = append(out, p.Path)
	}
	return out
}

func hasLogPath(ls logjail.Settings, path string) bool {
	return slices.ContainsFunc(ls.LogPaths, func(p logjail.LogPath) bool { return p.Path == path })
}

// cmdAddLogPath is `set JAIL addlogpath FILE [head|tail]`. A journal jail
// ignores it, as fail2ban's; a path already there stays as it is.
func (s *Server) cmdAddLogPath(c *call) (result, error) {
	name := c.args[1]
	tail := false
	switch len(c.args) {
	case 4:
	case 5:
		switch strings.ToLower(c.args[4]) {
		case "tail":
			tail = true
		case "head":
		default:
			return result{}, valueError("File option must be 'head' or 'tail'")
		}
	default:
		return result{}, valueError("Only one file can be added at a time")
	}
	path, err := strArg(c, 3)
	if err != nil {
		// fail2ban opens an int as a file descriptor.
		return result{}, err
	}
	ls, err := s.logSettingsOf(name)
	if err != nil {
		return result{}, err
	}
	if readsJournal(ls) || hasLogPath(ls, path) {
		return ok(logPaths(ls))
	}
	if err := checkLogFile(path); err != nil {
		return result{}, err
	}
	if hasGlobMeta(path) {
		return result{}, valueError(fmt.Sprintf("log path %s has *, ?, [ or \\, which banserver reads as a glob: add the file by a path without them",
			protocol.ReprString(path)))
	}
	err = s.changeLogs(name, func(ls *logjail.Settings) error {
		if readsJournal(*ls) || hasLogPath(*ls, path) {
			return errUnchanged
		}
		ls.LogPaths = append(ls.LogPaths, logjail.LogPath{Path: path, Tail: tail})
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return s.cmdGetLogPath(c)
}

// cmdDelLogPath is `set JAIL dellogpath FILE`; a path not there is no
// error.
func (s *Server) cmdDelLogPath(c *call) (result, error) {
	name, path := c.args[1], c.args[3]
	err := s.changeLogs(name, func(ls *logjail.Settings) error {
		if readsJournal(*ls) || !hasLogPath(*ls, path) {
			return errUnchanged
		}
		ls.LogPaths = slices.DeleteFunc(ls.LogPaths, func(p logjail.LogPath) bool { return p.Path == path })
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return s.cmdGetLogPath(c)
}

func (s *Server) cmdGetLogPath(c *call) (result, error) {
	ls, err := s.logSettingsOf(c.args[1])
	if err != nil {
		return result{}, err
	}
	return ok(logPaths(ls))
}

// Dates.

// describeDates is fail2ban's getDatePattern of a datepattern: the
// (pattern, name) of its template when it has one or two (pattern None
// for Epoch and TAI64N), else (None, 'Default Detectors').
func describeDates(pattern string) any {
	deflt := protocol.Tuple{nil, "Default Detectors"}
	d, err := dates.New(dates.Options{Pattern: pattern})
	if err != nil {
		return deflt
	}
	ts := d.Describe()
	if len(ts) == 0 || len(ts) > 2 {
		return deflt
	}
	if !ts[0].HasPattern {
		return protocol.Tuple{nil, ts[0].Name}
	}
	return protocol.Tuple{ts[0].Pattern, ts[0].Name}
}

// cmdSetDatePattern is `set JAIL datepattern PATTERN`. banserver compiles
// the pattern at once and refuses one it cannot (fail2ban compiles a
// regular expression at the first line and refuses only a bad % code
// here).
func (s *Server) cmdSetDatePattern(c *call) (result, error) {
	v, err := strArg(c, 3)
	if err != nil {
		return result{}, err
	}
	err = s.changeLogs(c.args[1], func(ls *logjail.Settings) error {
		if _, err := dates.New(dates.Options{Pattern: v}); err != nil {
			msg := "Failed to set datepattern " + protocol.ReprString(v)
			if strings.Contains(err.Error(), "unsupported format character") {
				msg += " (may be an invalid format or unescaped percent char)"
			}
			return &protocol.Exception{Class: "builtins.TypeError", Args: []any{msg + ": " + err.Error()}}
		}
		ls.DatePattern = v
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return s.cmdGetDatePattern(c)
}

func (s *Server) cmdGetDatePattern(c *call) (result, error) {
	ls, err := s.logSettingsOf(c.args[1])
	if err != nil {
		return result{}, err
	}
	p := ls.DatePattern
	if p == "" {
		if f := logFilter(ls); f != nil {
			p = f.DatePattern()
		}
	}
	return ok(describeDates(p))
}

// cmdSetLogTimeZone is `set JAIL logtimezone TZ`: fail2ban's fixed
// offsets (UTC+0200, CET, Z); empty for the local zone.
func (s *Server) cmdSetLogTimeZone(c *call) (result, error) {
	name := c.args[1]
	v, err := strArg(c, 3)
	if err != nil {
		return result{}, err
	}
	err = s.changeLogs(name, func(ls *logjail.Settings) error {
		if v != "" {
			if _, err := dates.ParseZone(v); err != nil {
				return valueError("Unknown or unsupported time zone: " + protocol.ReprString(v))
			}
		}
		ls.LogTimeZone = v
		return nil
	})
	if err == nil {
		err = s.changeExtra(name, func(e *logExtra) { e.tzSet = true })
	}
	if err != nil {
		return result{}, err
	}
	return s.cmdGetLogTimeZone(c)
}

func (s *Server) cmdGetLogTimeZone(c *call) (result, error) {
	ls, err := s.logSettingsOf(c.args[1])
	if err != nil {
		return result{}, err
	}
	if ls.LogTimeZone == "" && !s.logExtraOf(c.args[1]).tzSet {
		return ok(nil)
	}
	return ok(ls.LogTimeZone)
}

// Numbers.

// cmdSetMaxLines is `set JAIL maxlines N`, 1..1000.
func (s *Server) cmdSetMaxLines(c *call) (result, error) {
	n, err := intArg(c, 3)
	if err != nil {
		return result{}, err
	}
	err = s.changeLogs(c.args[1], func(ls *logjail.Settings) error {
		if n <= 0 {
			return valueError("maxlines must be integer greater than zero")
		}
		if n > maxMaxLines {
			return valueError(fmt.Sprintf("maxlines %d: banserver takes 1 to %d lines", n, maxMaxLines))
		}
		ls.MaxLines = n
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return s.cmdGetMaxLines(c)
}

func (s *Server) cmdGetMaxLines(c *call) (result, error) {
	ls, err := s.logSettingsOf(c.args[1])
	if err != nil {
		return result{}, err
	}
	if ls.MaxLines > 0 {
		return ok(int64(ls.MaxLines))
	}
	if f := logFilter(ls); f != nil {
		return ok(int64(f.MaxLines()))
	}
	return ok(int64(1))
}

// cmdSetMaxMatches is `set JAIL maxmatches N`: accepted and answered as
// fail2ban does (any integer, -2 too), but banserver's jails keep the
// last jailMatches messages of each failure whatever it is, and the ban
// store keeps dbmaxmatches of them.
func (s *Server) cmdSetMaxMatches(c *call) (result, error) {
	n, err := intArg(c, 3)
	if err != nil {
		return result{}, err
	}
	if err := s.changeExtra(c.args[1], func(e *logExtra) { e.maxMatches, e.maxMatchesSet = n, true }); err != nil {
		return result{}, err
	}
	return ok(int64(n))
}

func (s *Server) cmdGetMaxMatches(c *call) (result, error) {
	if !s.o.Jails.Has(c.args[1]) {
		return result{}, jailErr(c.args[1])
	}
	if e := s.logExtraOf(c.args[1]); e.maxMatchesSet {
		return ok(int64(e.maxMatches))
	}
	return ok(int64(jailMatches))
}

// Encoding and DNS.

// logEncodingText is the jail's logencoding as fail2ban answers it: as
// set, and auto (the default) as the locale's preferred encoding.
func logEncodingText(v string) string {
	if v == "" || strings.EqualFold(v, "auto") {
		return preferredEncoding()
	}
	return v
}

// cmdSetLogEncoding is `set JAIL logencoding ENC`: auto (fail2ban then
// answers the locale's encoding), or an encoding banserver decodes
// (utf-8, latin-1, ascii and their Python names).
func (s *Server) cmdSetLogEncoding(c *call) (result, error) {
	v, err := strMethodArg(c, 3)
	if err != nil {
		return result{}, err
	}
	store := v
	if strings.EqualFold(v, "auto") {
		// fail2ban keeps the locale's encoding; banserver too when it
		// decodes it, else auto (utf-8).
		store = "auto"
		if pref := preferredEncoding(); pref != "" {
			if _, err := source.ParseEncoding(pref); err == nil {
				store = pref
			}
		}
	}
	err = s.changeLogs(c.args[1], func(ls *logjail.Settings) error {
		if _, err := source.ParseEncoding(store); err != nil || strings.TrimSpace(store) == "" {
			return &protocol.Exception{Class: "builtins.LookupError", Args: []any{
				"unknown encoding: " + v + " (banserver reads auto, utf-8, latin-1 and ascii)"}}
		}
		ls.LogEncoding = store
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return s.cmdGetLogEncoding(c)
}

func (s *Server) cmdGetLogEncoding(c *call) (result, error) {
	ls, err := s.logSettingsOf(c.args[1])
	if err != nil {
		return result{}, err
	}
	return ok(logEncodingText(ls.LogEncoding))
}

// cmdSetUseDNS is `set JAIL usedns yes|warn|no|raw`: any case; anything
// else is no, as in fail2ban (a pickled bool is yes or no). banserver
// resolves no names: with yes and warn a name matched by <HOST> is
// skipped (and logged), with no <HOST> matches addresses only.
func (s *Server) cmdSetUseDNS(c *call) (result, error) {
	var v string
	if b, isBool := c.item(3).(bool); isBool {
		v = "no"
		if b {
			v = "yes"
		}
	} else {
		x, err := strMethodArg(c, 3)
		if err != nil {
			return result{}, err
		}
		v = strings.ToLower(x)
	}
	switch v {
	case "yes", "warn", "no", "raw":
	default:
		v = "no"
	}
	err := s.changeLogs(c.args[1], func(ls *logjail.Settings) error {
		ls.UseDNS = v
		return nil
	})
	if err != nil {
		return result{}, err
	}
	return s.cmdGetUseDNS(c)
}

func (s *Server) cmdGetUseDNS(c *call) (result, error) {
	ls, err := s.logSettingsOf(c.args[1])
	if err != nil {
		return result{}, err
	}
	return ok(useDNS(ls))
}

// ignorecommand.

// cmdSetIgnoreCommand is `set JAIL ignorecommand ""`: fail2ban-client
// sends the empty command of every jail, accepted and answered; any other
// is refused, since banserver runs no commands.
func (s *Server) cmdSetIgnoreCommand(c *call) (result, error) {
	name, v := c.args[1], c.args[3]
	if !s.o.Jails.Has(name) {
		return result{}, jailErr(name)
	}
	if v != "" {
		return result{}, valueError(fmt.Sprintf("ignorecommand %s refused: banserver never runs commands; use ignoreip (set %s addignoreip), or an empty ignorecommand",
			protocol.ReprString(v), name))
	}
	if err := s.changeExtra(name, func(e *logExtra) { e.ignoreCmdSet = true }); err != nil {
		return result{}, err
	}
	return ok("")
}

// cmdGetIgnoreCommand answers fail2ban's default False, or the empty string once set.
func (s *Server) cmdGetIgnoreCommand(c *call) (result, error) {
	if !s.o.Jails.Has(c.args[1]) {
		return result{}, jailErr(c.args[1])
	}
	if s.logExtraOf(c.args[1]).ignoreCmdSet {
		return ok("")
	}
	return ok(false)
}

// filterStatus is the jail's file list, or its journal matches, for the
// Filter section of status JAIL.
func (s *Server) filterStatus(name string) protocol.Tuple {
	if s.o.LogJails == nil {
		return protocol.Tuple{"File list", []any{}}
	}
	ls := s.logSettings(name)
	if readsJournal(ls) {
		return journalStatus(ls)
	}
	files := []any{}
	for _, f := range s.o.LogJails.Files(name) {
		files = append(files, f)
	}
	return protocol.Tuple{"File list", files}
}
