package server

import (
	"sync/atomic"
	"time"

	"github.com/banserver/banserver/metrics/latency"
	"github.com/banserver/banserver/protocol"
)

// Refusal is why the server refused a command or a connection, for metrics.
type Refusal int

// Reasons for refusals.
const (
	// RefusedAccess: the access rules do not grant the command's class.
	RefusedAccess Refusal = iota
	// RefusedRate: the peer's uid is over limits.rate_per_uid.
	RefusedRate
	// RefusedLimits: a command or message over a limit
	// (limits.max_addresses, limits.max_message).
	RefusedLimits
	// RefusedConnections: a connection over limits.max_conns or
	// limits.max_conns_per_uid.
	RefusedConnections
	// RefusedMalformed: a message that is no command (no pickle, a pickle
	// refused, items that are not a command's).
	RefusedMalformed
	nRefusals
)

var refusalNames = [nRefusals]string{"access", "rate", "limits", "connections", "malformed"}

// String returns the reason's name: access, rate, limits, connections, malformed.
func (r Refusal) String() string { return refusalNames[r] }

// rowStats count one command row's (or unknown commands') answers.
type rowStats struct {
	errs    atomic.Uint64     // answered with an exception
	latency latency.Histogram // every answer: its count is the commands answered
}

// stats are what the server counts for metrics: atomics only, so the
// command path takes no lock and allocates nothing for them.
type stats struct {
	rows     []rowStats         // by command index in commands
	unknown  [nClasses]rowStats // commands the table lacks, by class
	refused  [nRefusals]atomic.Uint64
	accepted atomic.Uint64 // connections accepted, refused ones included
}

func newStats() *stats { return &stats{rows: make([]rowStats, len(commands))} }

// answered counts a command that passed admission and was answered.
func (st *stats) answered(r *request, failed bool, d time.Duration) {
	var rs *rowStats
	switch {
	case r.row != nil:
		rs = &st.rows[r.row.index]
	case r.class > 0 && int(r.class) < nClasses:
		rs = &st.unknown[r.class]
	default:
		return
	}
	if failed {
		rs.errs.Add(1)
	}
	rs.latency.Observe(d)
}

func (st *stats) refuse(r Refusal) { st.refused[r].Add(1) }

// CommandStats are one command's counters.
type CommandStats struct {
	// Name is the command's row in the table, as help shows it ("set
	// <JAIL> attempt", "status"), or "unknown" for words the table lacks.
	Name  string
	Class protocol.Class
	// Errors counts the answers that were an exception.
	Errors uint64
	// Latency times each answer from the message read to the reply
	// encoded; its Count is the commands answered.
	Latency latency.Snapshot
}

// RefusalCount is how many times the server refused for one reason.
type RefusalCount struct {
	Reason Refusal
	Count  uint64
}

// Stats are what the server counted since it started.
type Stats struct {
	// Commands are the commands answered at least once, refused ones
	// not included, in the table's order and unknown ones last.
	Commands []CommandStats
	// Refusals has every reason, in Refusal order.
	Refusals []RefusalCount
	// Accepted counts the connections accepted (those refused over a
	// connection limit included); Open is those open now.
	Accepted uint64
	Open     int
}

// Stats returns the server's counters, for metrics. It takes no lock the
// command path takes, but the connection table's, briefly.
func (s *Server) Stats() Stats {
	st := s.stats
	var out Stats
	for i := range st.rows {
		if snap := st.rows[i].latency.Snapshot(); snap.Count > 0 {
			c := &commands[i]
			out.Commands = append(out.Commands, CommandStats{Name: c.name, Class: c.class, Errors: st.rows[i].errs.Load(), Latency: snap})
		}
	}
	for c := range st.unknown {
		if snap := st.unknown[c].latency.Snapshot(); snap.Count > 0 {
			out.Commands = append(out.Commands, CommandStats{Name: "unknown", Class: protocol.Class(c), Errors: st.unknown[c].errs.Load(), Latency: snap})
		}
	}
	for r := range nRefusals {
		out.Refusals = append(out.Refusals, RefusalCount{Reason: r, Count: st.refused[r].Load()})
	}
	out.Accepted = st.accepted.Load()
	s.conns.mu.Lock()
	out.Open = s.conns.total
	s.conns.mu.Unlock()
	return out
}
