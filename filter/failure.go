package filter

import (
	"net/netip"
	"time"
)

// Failure is one failure a line completed: fail2ban's (failregex index,
// id, time, data) as findFailure returns it.
type Failure struct {
	// Regex is the index of the failregex that matched (see
	// Filter.FailRegex).
	Regex int
	// Host is fail2ban's id of the failure: the F-ID text, or the address
	// matched (in canonical form, with a /plen suffix when a cidr group
	// made it a network), or the host name as matched (or, resolved, one
	// of its addresses). Empty when Pending.
	Host string
	// Addr is Host as an address (a prefix of its full length) or a
	// network; invalid when Host is no address.
	Addr netip.Prefix
	// Time is the line's time: its date, the date of a recent line when it
	// has none, or the time the source gave. Zero when the line has no
	// date and no recent line had one (fail2ban's None; in operation
	// fail2ban uses the current time).
	Time time.Time
	// Fields are the ticket's data as fail2ban keeps it: the named groups
	// of the match (and of prefregex) with their lowercase names, F-ID as
	// fid, alt_ and tuple_ groups merged (user from alt_user...), string
	// values; "users" ([]string, sorted) for an F-MLFID session's users;
	// "ip" (string) when a failure has both an F-ID and an address.
	Fields map[string]any
	// Matches are the lines that make up this failure (whole lines, with
	// their dates): fail2ban's matches. For an F-MLFID session they
	// accumulate; len(Matches) is what fail2ban's sample test calls
	// attempts.
	Matches []string
	// NoFail reports an F-NOFAIL or F-MLFGAINED match: no failure, only
	// returned with Settings.CheckAllRegex.
	NoFail bool
	// Pending reports an F-MLFID match whose session has no id yet: only
	// returned with Settings.CheckAllRegex.
	Pending bool

	rawID bool // Host is raw text (fail2ban's CIDR_RAW): equal as text only
}

// Attempts is the number of lines the failure is made of (len(Matches)).
func (f Failure) Attempts() int { return len(f.Matches) }
