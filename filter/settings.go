package filter

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/banserver/banserver/filter/conf"
	"github.com/banserver/banserver/filter/dates"
	"github.com/banserver/banserver/filter/pyre"
)

// Settings are a jail's filter settings.
type Settings struct {
	// Name is the jail's filter setting, a filter name with options
	// ("sshd[mode=aggressive]"), looked up in Dirs; "" for a filter made
	// of the inline values below only.
	Name string
	// Dirs are the filter directories searched in order (see conf.Options).
	Dirs []string
	// Vars are options passed to the filter, in addition to (and
	// replacing) those in Name's brackets.
	Vars map[string]string

	// FailRegex, IgnoreRegex, PrefRegex, DatePattern and MaxLines are the
	// jail's own values: when set they replace the filter's.
	FailRegex   []string
	IgnoreRegex []string
	PrefRegex   string
	DatePattern string
	MaxLines    int

	// UseDNS is usedns: "yes", "warn" (the default when empty), "no" or
	// "raw". "no" makes <HOST> match addresses only; "raw" keeps every
	// host as the text matched, never resolving it.
	UseDNS string
	// Resolve turns a host name matched by <HOST> (fail2ban's dns group)
	// into addresses when UseDNS is "yes" or "warn". nil: the name is kept
	// as the failure's host, unresolved.
	Resolve func(host string) []netip.Addr
	// LogTimeZone is logtimezone (see dates.ParseZone): the zone of dates
	// that have none. "": the local zone.
	LogTimeZone string
	// Local is the process's local zone. nil: read from TZ (dates.LocalZone).
	Local *dates.Zone
	// Journal says the lines come from the journal (fail2ban's logtype
	// journal): the filter is read with logtype=journal, and lines come
	// with their own time.
	Journal bool
	// Now is the clock: the age of the last date, year-less dates, the
	// expiry of F-MLFID sessions. nil: time.Now.
	Now func() time.Time
	// Budget bounds each regex match (pyre.Options.Budget); 0: pyre's
	// default.
	Budget time.Duration
	// CheckAllRegex runs every failregex on a line instead of stopping at
	// the first match, and returns no-failures (NoFail) and failures
	// still waiting for their id (Pending) too: fail2ban's checkAllRegex,
	// which its sample test and fail2ban-regex use.
	CheckAllRegex bool
}

// resolved are the values a Filter is built from, after the filter file
// and the jail's own values are combined.
type resolved struct {
	name        string
	prefRegex   string
	failRegex   []string
	ignoreRegex []string
	datePattern string
	maxLines    int
	useDNS      string
	journal     string // the filter's journalmatch
}

// resolve reads the filter file (when named) and applies the jail's values.
func (s *Settings) resolve() (*resolved, error) {
	r := &resolved{name: "inline filter", maxLines: 1}
	if s.Name != "" {
		name, opts, err := conf.ParseSpec(s.Name)
		if err != nil {
			return nil, settingsError(s.Name, "%v", err)
		}
		r.name = strings.TrimSpace(name)
		vars := make(map[string]string, len(opts)+len(s.Vars))
		for k, v := range opts {
			vars[k] = v
		}
		for k, v := range s.Vars {
			vars[k] = v
		}
		jail := map[string]string{}
		if len(s.FailRegex) > 0 {
			jail["failregex"] = strings.Join(s.FailRegex, "\n")
		}
		if len(s.IgnoreRegex) > 0 {
			jail["ignoreregex"] = strings.Join(s.IgnoreRegex, "\n")
		}
		if s.PrefRegex != "" {
			jail["prefregex"] = s.PrefRegex
		}
		if s.DatePattern != "" {
			jail["datepattern"] = s.DatePattern
		}
		if s.MaxLines > 0 {
			jail["maxlines"] = strconv.Itoa(s.MaxLines)
		}
		if s.UseDNS != "" {
			jail["usedns"] = s.UseDNS
		}
		o := conf.Options{Dirs: s.Dirs, Vars: vars, Jail: jail, LogType: "file"}
		if s.Journal {
			o.LogType = "journal"
		}
		c, err := conf.Read(name, o)
		if err != nil {
			return nil, settingsError(r.name, "%v", err)
		}
		r.prefRegex = c.PrefRegex
		r.failRegex = c.FailRegex
		r.ignoreRegex = c.IgnoreRegex
		r.datePattern = c.DatePattern
		if c.MaxLines > 0 {
			r.maxLines = c.MaxLines
		}
		r.useDNS = c.UseDNS
		r.journal = c.JournalMatch
	}
	if len(s.FailRegex) > 0 {
		r.failRegex = nonEmpty(s.FailRegex)
	}
	if len(s.IgnoreRegex) > 0 {
		r.ignoreRegex = nonEmpty(s.IgnoreRegex)
	}
	if s.PrefRegex != "" {
		r.prefRegex = s.PrefRegex
	}
	if s.DatePattern != "" {
		r.datePattern = s.DatePattern
	}
	if s.MaxLines < 0 {
		return nil, settingsError(r.name, "maxlines %d: must be greater than zero", s.MaxLines)
	}
	if s.MaxLines > 0 {
		r.maxLines = s.MaxLines
	}
	if s.UseDNS != "" {
		r.useDNS = s.UseDNS
	}
	r.useDNS = strings.ToLower(r.useDNS)
	switch r.useDNS {
	case "":
		r.useDNS = "warn"
	case "yes", "warn", "no", "raw":
	default:
		return nil, settingsError(r.name, "usedns %q: want yes, warn, no or raw", r.useDNS)
	}
	return r, nil
}

// nonEmpty drops empty regexes, as fail2ban's reader drops empty lines.
func nonEmpty(l []string) []string {
	out := make([]string, 0, len(l))
	for _, s := range l {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// compile compiles one regex of the filter, naming it in the error.
func compile(name, what string, i int, pattern string, o pyre.Options) (*pyre.Regex, error) {
	r, err := pyre.Compile(pattern, o)
	if err != nil {
		if i >= 0 {
			what += " " + strconv.Itoa(i)
		}
		return nil, settingsError(name, "%s %q: %v", what, pattern, err)
	}
	return r, nil
}
