package logjail

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/banserver/banserver/filter"
	"github.com/banserver/banserver/source"
)

// ErrSettings reports log settings that cannot work.
var ErrSettings = errors.New("logjail: invalid settings")

// Backends fail2ban 1.0.2 accepts, lower case; banserver reads files by
// inotify (pyinotify's and gamin's job) or polling, and the journal
// through journalctl (systemd).
var Backends = []string{"auto", "polling", "inotify", "pyinotify", "gamin", "systemd"}

// LogPath is one log path of a jail: a file or a glob, read from its first
// line (fail2ban's head, the default) or from its end (tail).
type LogPath struct {
	Path string
	Tail bool
}

// Settings are a jail's log settings, with fail2ban's names.
type Settings struct {
	LogPaths []LogPath
	// Backend is auto (the default), polling, inotify (also pyinotify,
	// gamin) or systemd (the journal).
	Backend string
	// Filter is a filter name with options ("sshd[mode=aggressive]"),
	// looked up in FilterDirs; "" for the inline regexes only.
	Filter     string
	FilterDirs []string
	// The jail's own values, replacing the filter's when set.
	FailRegex   []string
	IgnoreRegex []string
	PrefRegex   string
	DatePattern string
	MaxLines    int
	// JournalMatch is the journal's match (fail2ban's journalmatch); ""
	// takes the filter's.
	JournalMatch string
	// LogEncoding is auto (utf-8), utf-8, latin-1 or ascii.
	LogEncoding string
	// UseDNS is yes, warn (the default), no or raw.
	UseDNS string
	// LogTimeZone is logtimezone: the zone of dates that name none.
	LogTimeZone string
}

// journal reports whether s reads the journal.
func (s *Settings) journal() bool { return strings.EqualFold(s.Backend, "systemd") }

// Reads reports whether the settings give the jail something to read and
// something to look for in it. A jail made over the socket gets its log
// paths and its failregex one command at a time; until it has both it
// reads nothing, as fail2ban's filter with no failregex finds nothing.
func (s Settings) Reads() bool {
	return (len(s.LogPaths) > 0 || s.journal()) && s.hasFilter()
}

// hasFilter reports whether the settings name a filter or a failregex.
func (s *Settings) hasFilter() bool { return s.Filter != "" || len(s.FailRegex) > 0 }

// backend is the source backend for files.
func (s *Settings) backend() string {
	switch strings.ToLower(s.Backend) {
	case "polling", "gamin":
		return "polling"
	case "inotify", "pyinotify":
		return "inotify"
	}
	return "auto"
}

// Check checks the settings as the reader would take them: the backend,
// the encoding, the filter (read and every regex compiled), the journal
// match. It returns the filter built, nil when there is none yet (no
// filter and no failregex: see Reads).
func (s Settings) Check() (*filter.Filter, error) {
	b := strings.ToLower(s.Backend)
	if name, _, _ := strings.Cut(b, "["); b != "" && !slices.Contains(Backends, name) {
		return nil, fmt.Errorf("%w: backend %q: want one of %s", ErrSettings, s.Backend, strings.Join(Backends, ", "))
	}
	if _, err := source.ParseEncoding(s.LogEncoding); err != nil {
		return nil, fmt.Errorf("%w: logencoding: %w", ErrSettings, err)
	}
	if s.JournalMatch != "" {
		if _, err := source.ParseJournalMatch(s.JournalMatch); err != nil {
			return nil, fmt.Errorf("%w: journalmatch: %w", ErrSettings, err)
		}
	}
	if !s.hasFilter() {
		return nil, nil
	}
	f, err := s.newFilter()
	if err != nil {
		return nil, err
	}
	if s.journal() && s.JournalMatch == "" {
		if _, err := source.ParseJournalMatch(s.journalMatch(f)); err != nil {
			return nil, fmt.Errorf("%w: journalmatch: %w", ErrSettings, err)
		}
	}
	return f, nil
}

// journalMatch is the jail's journalmatch, else the filter's.
func (s *Settings) journalMatch(f *filter.Filter) string {
	if s.JournalMatch != "" {
		return s.JournalMatch
	}
	return f.JournalMatch()
}

// newFilter builds the jail's filter.
func (s *Settings) newFilter() (*filter.Filter, error) {
	return filter.New(filter.Settings{
		Name:        s.Filter,
		Dirs:        s.FilterDirs,
		FailRegex:   s.FailRegex,
		IgnoreRegex: s.IgnoreRegex,
		PrefRegex:   s.PrefRegex,
		DatePattern: s.DatePattern,
		MaxLines:    s.MaxLines,
		UseDNS:      s.UseDNS,
		LogTimeZone: s.LogTimeZone,
		Journal:     s.journal(),
	})
}

// clone copies s, so a reader's settings are never changed under it.
func (s Settings) clone() Settings {
	s.LogPaths = slices.Clone(s.LogPaths)
	s.FilterDirs = slices.Clone(s.FilterDirs)
	s.FailRegex = slices.Clone(s.FailRegex)
	s.IgnoreRegex = slices.Clone(s.IgnoreRegex)
	return s
}

// equal reports whether two settings read the same way.
func (s Settings) equal(o Settings) bool {
	return slices.Equal(s.LogPaths, o.LogPaths) && s.Backend == o.Backend && s.Filter == o.Filter &&
		slices.Equal(s.FilterDirs, o.FilterDirs) && slices.Equal(s.FailRegex, o.FailRegex) &&
		slices.Equal(s.IgnoreRegex, o.IgnoreRegex) && s.PrefRegex == o.PrefRegex &&
		s.DatePattern == o.DatePattern && s.MaxLines == o.MaxLines && s.JournalMatch == o.JournalMatch &&
		s.LogEncoding == o.LogEncoding && s.UseDNS == o.UseDNS && s.LogTimeZone == o.LogTimeZone
}
