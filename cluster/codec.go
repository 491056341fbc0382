package cluster

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/banserver/banserver/jail"
)

// What Redis holds, as text:
//
//	ban field    jail|prefix                  ("|" before the prefix: jail names may hold one, prefixes never)
//	ban value    start|bantime|count|node   (unix microseconds, microseconds or -1: forever;
//	             node last: it may hold "|")
//	stream entry op (ban, prolong, unban), jail, prefix, node, src (the node's run id),
//	             for ban and prolong: start, bantime, count, jc and oc (the cluster's
//	             ban counts of the prefix in the jail and overall); for unban: at.
//
// Everything read back is checked here: a Redis that holds garbage (another
// program's keys, a bad prefix) makes the entry skipped and logged, never a
// panic and never a ban of something else.

// errBadValue is what the parsers return for text that is not theirs.
var errBadValue = errors.New("cluster: malformed value from redis")

// Stream operations.
const (
	opBan     = "ban"
	opProlong = "prolong"
	opUnban   = "unban"
)

// field returns the Redis field naming prefix in the jail.
func field(jailName string, p netip.Prefix) string {
	return jailName + "|" + p.String()
}

// parseField is the inverse of field.
func parseField(s string) (string, netip.Prefix, error) {
	i := strings.LastIndexByte(s, '|')
	if i <= 0 {
		return "", netip.Prefix{}, fmt.Errorf("%w: ban field %q", errBadValue, s)
	}
	j, err := checkJail(s[:i])
	if err != nil {
		return "", netip.Prefix{}, err
	}
	p, err := parsePrefix(s[i+1:])
	if err != nil {
		return "", netip.Prefix{}, err
	}
	return j, p, nil
}

func checkJail(s string) (string, error) {
	if s == "" || len(s) > jail.MaxNameLen {
		return "", fmt.Errorf("%w: jail name of %d bytes", errBadValue, len(s))
	}
	return s, nil
}

// parsePrefix accepts a prefix in its canonical form only (masked, no
// zone), so that the field a node writes is the field every node reads.
func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || p != p.Masked() || p.Addr().Zone() != "" || p.String() != s {
		return netip.Prefix{}, fmt.Errorf("%w: prefix %q", errBadValue, s)
	}
	return p, nil
}

// banValue is a ban as the bans hash holds it.
type banValue struct {
	Start   int64 // unix microseconds
	BanTime int64 // microseconds, -1 forever
	Count   int
	Node    string
}

// formatBanValue is the inverse of parseBanValue (the scripts write the
// same form).
func formatBanValue(v banValue) string {
	return strconv.FormatInt(v.Start, 10) + "|" + strconv.FormatInt(v.BanTime, 10) + "|" + strconv.Itoa(v.Count) + "|" + v.Node
}

// parseBanValue reads "start|bantime|count|node".
func parseBanValue(s string) (banValue, error) {
	parts := strings.SplitN(s, "|", 4)
	if len(parts) != 4 {
		return banValue{}, fmt.Errorf("%w: ban value %q", errBadValue, s)
	}
	start, err1 := parseMicros(parts[0])
	bt, err2 := parseBanTime(parts[1])
	count, err3 := parseCount(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return banValue{}, fmt.Errorf("%w: ban value %q", errBadValue, s)
	}
	return banValue{Start: start, BanTime: bt, Count: count, Node: parts[3]}, nil
}

// maxMicros bounds times and durations read from Redis so that converting
// them to time.Time and time.Duration never overflows: the year 2262.
const maxMicros = int64(1<<63-1) / int64(time.Microsecond) / 2

// parseMicros reads a non-negative number of microseconds, written as
// strconv writes it.
func parseMicros(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxMicros || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("%w: number %q", errBadValue, s)
	}
	return n, nil
}

// parseBanTime reads a ban time in microseconds: positive, or -1 (forever).
func parseBanTime(s string) (int64, error) {
	if s == "-1" {
		return -1, nil
	}
	n, err := parseMicros(s)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%w: ban time %q", errBadValue, s)
	}
	return n, nil
}

// parseCount reads a ban count (0 up, at most a million: more is not a count).
func parseCount(s string) (int, error) {
	n, err := parseMicros(s)
	if err != nil || n > 1_000_000 {
		return 0, fmt.Errorf("%w: count %q", errBadValue, s)
	}
	return int(n), nil
}

// ban turns v into the jail's Ban of p.
func (v banValue) ban(p netip.Prefix) jail.Ban {
	b := jail.Ban{Addr: p.Addr(), Prefix: p, Start: time.UnixMicro(v.Start), BanTime: jail.Forever, Count: max(v.Count, 1)}
	if v.BanTime >= 0 {
		b.BanTime = time.Duration(v.BanTime) * time.Microsecond
	}
	return b
}

// micros is a time as the scripts take it.
func micros(t time.Time) int64 { return t.UnixMicro() }

// banTimeMicros is a ban time as the scripts take it: the difference of
// the end and the start, each cut to the microsecond, so that every node
// computes the same end from start and ban time.
func banTimeMicros(start time.Time, d time.Duration) string {
	if d == jail.Forever || d < 0 {
		return "-1"
	}
	return strconv.FormatInt(max(start.Add(d).UnixMicro()-start.UnixMicro(), 1), 10)
}

// entry is one event of the stream.
type entry struct {
	ID     string
	Op     string
	Jail   string
	Prefix netip.Prefix
	Node   string // the node's name, for logs
	Src    string // the node's run id: its own entries are skipped
	Ban    banValue
	At     int64 // unban: unix microseconds of the unban
	JC, OC int   // ban, prolong: the cluster's counts after it
}

// parseEntry reads a stream entry's fields.
func parseEntry(id string, f map[string]string) (entry, error) {
	e := entry{ID: id, Op: f["op"], Node: f["node"], Src: f["src"]}
	if _, err := parseID(id); err != nil {
		return entry{}, err
	}
	var err error
	if e.Jail, err = checkJail(f["jail"]); err != nil {
		return entry{}, err
	}
	if e.Prefix, err = parsePrefix(f["prefix"]); err != nil {
		return entry{}, err
	}
	switch e.Op {
	case opBan, opProlong:
		var e1, e2, e3, e4, e5 error
		e.Ban.Start, e1 = parseMicros(f["start"])
		e.Ban.BanTime, e2 = parseBanTime(f["bantime"])
		e.Ban.Count, e3 = parseCount(f["count"])
		e.JC, e4 = parseCount(f["jc"])
		e.OC, e5 = parseCount(f["oc"])
		e.Ban.Node = e.Node
		if err := errors.Join(e1, e2, e3, e4, e5); err != nil {
			return entry{}, fmt.Errorf("%w: entry %s: %v", errBadValue, id, err)
		}
	case opUnban:
		if e.At, err = parseMicros(f["at"]); err != nil {
			return entry{}, fmt.Errorf("%w: entry %s: %v", errBadValue, id, err)
		}
	default:
		return entry{}, fmt.Errorf("%w: entry %s: op %q", errBadValue, id, e.Op)
	}
	return e, nil
}

// streamID is a stream entry id, ms-seq.
type streamID struct{ ms, seq uint64 }

// parseID reads a stream id.
func parseID(s string) (streamID, error) {
	a, b, ok := strings.Cut(s, "-")
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return streamID{}, fmt.Errorf("%w: stream id %q", errBadValue, s)
	}
	return streamID{ms, seq}, nil
}
