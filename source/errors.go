package source

import (
	"errors"
	"fmt"
)

var (
	// ErrNoPatterns is returned by NewFiles without any log path.
	ErrNoPatterns = errors.New("source: no log path")
	// ErrBackend is returned for a backend other than auto, polling and
	// inotify (files) or an option the journal cannot take.
	ErrBackend = errors.New("source: unknown backend")
	// ErrEncoding is returned for a logencoding this package cannot decode.
	ErrEncoding = errors.New("source: unsupported log encoding")
	// ErrMatch is returned for a journal match that is not FIELD=value or "+".
	ErrMatch = errors.New("source: invalid journal match")
	// ErrNoJournalctl is returned by NewJournal when journalctl is not
	// found.
	ErrNoJournalctl = errors.New("source: journalctl not found")
	// ErrRunning is returned by Run while another Run of the same follower
	// is still going.
	ErrRunning = errors.New("source: already running")
)

// errorf wraps an error with the package prefix.
func errorf(format string, args ...any) error {
	return fmt.Errorf("source: "+format, args...)
}
