package server

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/banserver/banserver/protocol"
)

// Limits bound what clients can cost the daemon. A zero field takes its
// default; a negative one turns the limit off. Every limit is answered
// with an error reply; the daemon carries on.
type Limits struct {
	// MaxAddresses caps the addresses of one banip, unbanip, banned or
	// unban command (default 10,000): more get a ValueError before any work.
	MaxAddresses int
	// RatePerUID is the commands per second allowed to all connections of
	// one uid together (default 2,000), with bursts of RateBurst (default:
	// one second's worth). Root and the daemon's own user are exempt: they
	// can stop the daemon anyway. Over the rate a command gets an error
	// reply at once; the daemon never sleeps on a client's behalf.
	RatePerUID float64
	RateBurst  int
	// MaxConns caps open connections in all (default 4,096), root's
	// included: it protects the daemon's file descriptors.
	MaxConns int
	// MaxConnsPerUID caps one uid's open connections (default 512); root
	// and the daemon's own user are exempt.
	MaxConnsPerUID int
	// ReadTimeout bounds the time from a message's first byte to its
	// terminator (default 10s); the idle timeout covers the silence
	// between messages.
	ReadTimeout time.Duration
	// MaxJails caps the jails; `add` beyond it is refused (default 100).
	MaxJails int
}

// Default limits.
const (
	DefaultMaxMessage     = 64 << 10
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultMaxAddresses   = 10_000
	DefaultRatePerUID     = 2000
	DefaultMaxConns       = 4096
	DefaultMaxConnsPerUID = 512
	DefaultReadTimeout    = 10 * time.Second
	DefaultMaxJails       = 100
)

// withDefaults fills zero fields with the defaults.
func (l Limits) withDefaults() Limits {
	if l.MaxAddresses == 0 {
		l.MaxAddresses = DefaultMaxAddresses
	}
	if l.RatePerUID == 0 {
		l.RatePerUID = DefaultRatePerUID
	}
	if l.RateBurst == 0 {
		l.RateBurst = int(l.RatePerUID)
		if l.RateBurst < 1 {
			l.RateBurst = 1
		}
	}
	if l.MaxConns == 0 {
		l.MaxConns = DefaultMaxConns
	}
	if l.MaxConnsPerUID == 0 {
		l.MaxConnsPerUID = DefaultMaxConnsPerUID
	}
	if l.ReadTimeout == 0 {
		l.ReadTimeout = DefaultReadTimeout
	}
	if l.MaxJails == 0 {
		l.MaxJails = DefaultMaxJails
	}
	return l
}

// errTooManyConns is sent, as fail2ban's bare "ERROR: ..." string, to a
// connection over a connection limit before it is closed.
var errTooManyConns = fmt.Errorf("too many connections")

// bucket is a token bucket shared by all connections of one uid.
type bucket struct {
	mu     sync.Mutex // guards the fields below
	tokens float64
	last   time.Time
}

// take spends one token if there is one, refilling at rate up to burst.
func (b *bucket) take(now time.Time, rate float64, burst int) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last.IsZero() {
		b.tokens = float64(burst)
	} else if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens += dt * rate
		if b.tokens > float64(burst) {
			b.tokens = float64(burst)
		}
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// uidState is what the server tracks per uid. Entries are kept after the
// uid's last connection closes, so that reconnecting does not refill the
// bucket; there are only as many as there are users on the machine.
type uidState struct {
	conns  int // guarded by conns.mu
	bucket bucket
}

// connTable counts open connections, in all and per uid.
type connTable struct {
	mu    sync.Mutex // guards the fields below
	total int
	uids  map[uint32]*uidState
}

// open admits a connection from p, or reports that a limit is reached.
// exempt peers skip the per-uid limit.
func (t *connTable) open(p Peer, exempt bool, l Limits) (*uidState, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l.MaxConns > 0 && t.total >= l.MaxConns {
		return nil, false
	}
	if t.uids == nil {
		t.uids = make(map[uint32]*uidState)
	}
	key := p.UID
	if !p.Known {
		key = ^uint32(0) // all unknown peers share one entry
	}
	st := t.uids[key]
	if st == nil {
		st = &uidState{}
		t.uids[key] = st
	}
	if !exempt && l.MaxConnsPerUID > 0 && st.conns >= l.MaxConnsPerUID {
		return nil, false
	}
	st.conns++
	t.total++
	return st, true
}

func (t *connTable) close(st *uidState) {
	t.mu.Lock()
	st.conns--
	t.total--
	t.mu.Unlock()
}

// limitCommand applies the per-command limits the table knows of: the
// addresses one command carries.
func limitCommand(r *request, l Limits) error {
	if l.MaxAddresses > 0 {
		if n := r.addressCount(); n > l.MaxAddresses {
			return &protocol.Exception{Class: protocol.ClassValueError, Args: []any{
				fmt.Sprintf("too many addresses: %d in one command, limits.max_addresses is %d", n, l.MaxAddresses)}}
		}
	}
	return nil
}

// errRate is the reply to a command over its uid's rate.
func errRate(p Peer, l Limits) *protocol.Exception {
	return &protocol.Exception{Class: protocol.ClassException, Args: []any{
		fmt.Sprintf("rate limit: uid %d is over limits.rate_per_uid (%g commands/s)", p.UID, l.RatePerUID)}}
}

// timedConn is the connection as the server reads and writes it: it
// keeps the read deadline at the idle timeout while the stream is between
// messages and at the read timeout, counted from the message's first
// bytes, while a message is incomplete. It learns which by watching for
// the terminator at the end of what it has read, so the common case, a
// message that arrives in one read, costs no deadline update. Writes have
// the idle timeout too: a client that reads none of its replies for that
// long is idle, and must not hold its connection (and goroutine) for ever
// once the socket's buffers are full.
type timedConn struct {
	net.Conn
	idle, read time.Duration
	armed      time.Time // when the idle deadline was last pushed back
	partial    bool      // the bytes read so far end inside a message
	tail       []byte    // the last bytes read, to find a split terminator
	wArmed     time.Time // when the write deadline was last pushed back
	// clock is the time writeAt was given, a reading the server took as it
	// finished the reply, kept when the reply was small: the next Read's
	// idle check uses it rather than reading the clock again (a few µs
	// earlier only moves the deadline that much earlier). Zero: Read reads
	// the clock.
	clock time.Time
}

var endCommand = []byte(protocol.EndCommand)

// quickWrite is the largest reply after which Read trusts the clock
// reading its write was given (see timedConn.clock): the replies held for
// a pipelining client, far below a Unix socket's send buffer.
const quickWrite = maxHeld

// Read reads through net.Conn.Read, which tries the read system call
// before it waits for the poller. For a client that waits for each reply,
// that first try mostly finds the socket empty (EAGAIN): one system call
// in three or four per request. Waiting first when the last read drained
// the socket, through syscall.RawConn, is not safe: every read resets the
// poller's readiness for the descriptor before it starts (the runtime's
// poll reset), so bytes that arrived since the last read would wait for
// the next ones. Tried, it stalled a 1 MiB request until the read timeout
// (TestIdleTimeoutAfterSlowReply under load).
func (t *timedConn) Read(p []byte) (int, error) {
	now := t.clock
	t.clock = time.Time{}
	if !t.partial && t.idle > 0 {
		// Re-arming the deadline costs a timer update in the runtime's
		// poller; doing it only when a quarter of the timeout has passed
		// keeps it off the per-message path. A connection is thus closed
		// after between 3/4 and all of IdleTimeout of silence.
		if now.IsZero() {
			now = time.Now()
		}
		if now.Sub(t.armed) > t.idle/4 {
			t.Conn.SetReadDeadline(now.Add(t.idle))
			t.armed = now
		}
	}
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.observe(p[:n])
	}
	return n, err
}

// Write writes p with a deadline of the idle timeout, re-armed as the
// read side's is, only when a quarter of it has passed: a write that
// blocks is abandoned after between 3/4 and all of IdleTimeout, and a
// reply costs no timer update.
func (t *timedConn) Write(p []byte) (int, error) {
	if t.idle <= 0 {
		return t.Conn.Write(p)
	}
	return t.writeAt(p, time.Now())
}

// writeAt is Write when the caller has just read the clock: now.
func (t *timedConn) writeAt(p []byte, now time.Time) (int, error) {
	// A small reply fits the socket's buffer and goes at once, unless the
	// client has stopped reading (idle, as the timeout has it). A large
	// one drains as fast as the client reads, which may take most of the
	// timeout: now is stale after it.
	t.clock = time.Time{}
	if len(p) <= quickWrite {
		t.clock = now
	}
	if t.idle > 0 && now.Sub(t.wArmed) > t.idle/4 {
		t.Conn.SetWriteDeadline(now.Add(t.idle))
		t.wArmed = now
	}
	return t.Conn.Write(p)
}

// observe updates partial from newly read bytes b.
func (t *timedConn) observe(b []byte) {
	var ends bool
	if len(b) >= len(endCommand) {
		ends = bytes.HasSuffix(b, endCommand)
		t.tail = append(t.tail[:0], b[len(b)-len(endCommand)+1:]...)
	} else {
		t.tail = append(t.tail, b...)
		ends = bytes.HasSuffix(t.tail, endCommand)
		if k := len(endCommand) - 1; len(t.tail) > k {
			t.tail = append(t.tail[:0], t.tail[len(t.tail)-k:]...)
		}
	}
	switch {
	case !ends && !t.partial:
		t.partial = true
		if t.read > 0 {
			t.Conn.SetReadDeadline(time.Now().Add(t.read))
		}
		t.armed = time.Time{} // the idle deadline must be set again after
	case ends && t.partial:
		t.partial = false
		if t.idle <= 0 && t.read > 0 {
			t.Conn.SetReadDeadline(time.Time{})
		}
	}
}
