package jail

import (
	"strings"
	"sync/atomic"
)

// Bounds on the failure messages (matches) the jails keep, so that a
// client allowed only to report attempts cannot grow the daemon's memory
// by sending long messages: fail2ban keeps matched log lines, which are
// short.
const (
	// DefaultMaxMatchLen is the default of Options.MaxMatchLen: each kept
	// message is cut to this many bytes.
	DefaultMaxMatchLen = 1024
	// DefaultMatchBudget is the default of Options.MatchBudget: the bytes
	// of messages kept in all (tracked failures and live bans together).
	DefaultMatchBudget = 32 << 20
)

// matchBudget counts the bytes of kept messages against the budget.
type matchBudget struct {
	maxLen int
	limit  int64 // negative: no limit
	held   atomic.Int64
}

// keep returns msg as a message to hold, cut to maxLen bytes and copied (a
// request's words share its whole buffer, which must not stay alive for a
// few bytes of it), or shared with last when it is the same text, and
// counts it; ok is false, and nothing is kept, when the budget is spent.
func (b *matchBudget) keep(msg, last string) (kept string, ok bool) {
	if len(msg) > b.maxLen {
		msg = msg[:b.maxLen]
	}
	n := int64(len(msg))
	if b.limit >= 0 && b.held.Add(n) > b.limit {
		b.held.Add(-n)
		return "", false
	}
	if b.limit < 0 {
		b.held.Add(n)
	}
	if msg == last {
		return last, true
	}
	return strings.Clone(msg), true
}

// same reports whether keeping msg in place of old, which it would
// replace, changes nothing: msg, cut as keep cuts it, is old's text, and
// keep would accept it now. The caller then keeps old where it is, and
// spends neither keep's count nor free's on the shared counter (most
// attempts repeat their client's message).
func (b *matchBudget) same(msg, old string) bool {
	if len(msg) > b.maxLen {
		msg = msg[:b.maxLen]
	}
	return msg == old && (b.limit < 0 || b.held.Load()+int64(len(msg)) <= b.limit)
}

// free gives n bytes back.
func (b *matchBudget) free(n int64) {
	if n != 0 {
		b.held.Add(-n)
	}
}

// holdMatches counts a restored ban's messages (or a cluster's) for
// entry e, and returns them, or nil when the budget is spent; j.mu is held.
func (m *Manager) holdMatches(e *banEntry, ms []string) []string {
	e.held = 0
	var n int64
	for _, s := range ms {
		n += int64(len(s))
	}
	if n == 0 {
		return ms
	}
	b := &m.matches
	if b.limit >= 0 && b.held.Add(n) > b.limit {
		b.held.Add(-n)
		return nil
	}
	if b.limit < 0 {
		b.held.Add(n)
	}
	e.held = int32(n)
	return ms
}

// MatchBytes returns the bytes of failure messages the jails hold now.
func (m *Manager) MatchBytes() int64 { return m.matches.held.Load() }
