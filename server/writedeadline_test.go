package server_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banserver/banserver/protocol"
)

// TestIdleTimeoutNonReadingClient: a client that sends commands but never
// reads the replies is idle once its replies have filled the socket: the
// daemon's writes must give up after limits.idle_timeout, as its reads do,
// and close the connection, rather than hold it (and a goroutine) for ever.
// Run against a real daemon process, so the config's limit is the one
// that counts.
func TestIdleTimeoutNonReadingClient(t *testing.T) {
	if testing.Short() {
		t.Skip("waits twice the idle timeout")
	}
	const idle = 2 * time.Second
	d := startChild(t, buildDaemon(t), defaultHostileMax, "idle_timeout: 2s")
	c, err := net.Dial("unix", d.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	// Pings in batches, never reading, until a write blocks: the replies
	// have filled the socket's buffers and the daemon has stopped reading.
	ping, err := protocol.AppendRequest(nil, 4, []any{"ping"})
	if err != nil {
		t.Fatal(err)
	}
	batch := bytes.Repeat(ping, 1000)
	sent := 0
	for {
		if sent > 1<<30 {
			t.Fatalf("wrote %d bytes of pings without a write blocking", sent)
		}
		c.SetWriteDeadline(time.Now().Add(200 * time.Millisecond))
		n, err := c.Write(batch)
		sent += n
		if err == nil {
			continue
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("write %d bytes into the socket: %v, want a timeout once the buffers are full", sent, err)
		}
		break
	}
	t.Logf("writes blocked after %d bytes of pings", sent)

	// Idle for twice the timeout: the daemon must have let go of the
	// connection, so the next write fails at once rather than blocking.
	time.Sleep(2 * idle)
	c.SetWriteDeadline(time.Now().Add(idle))
	_, err = c.Write(batch)
	switch {
	case errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNRESET):
		// closed by the daemon
	case errors.Is(err, os.ErrDeadlineExceeded):
		t.Fatalf("write %s after the client stopped reading: timed out: the daemon still holds the connection (its writes have no deadline)", 2*idle)
	default:
		t.Fatalf("write %s after the client stopped reading: %v, want EPIPE or ECONNRESET (closed by the daemon)", 2*idle, err)
	}
	d.alive(t)
}

// TestIdleTimeoutAfterSlowReply: a client reading a large reply slowly is
// not idle; once it has read it all, its connection gets the whole idle
// timeout again for its next command, however long the reply took to
// drain. (The idle check before a read uses the clock reading taken as
// the reply was written, which is stale after a write that blocked.) Run
// against a real daemon process, as the timeout is the config's.
func TestIdleTimeoutAfterSlowReply(t *testing.T) {
	const (
		idle  = 4 * time.Second
		drain = 2 * time.Second // over a quarter of idle (the deadline is pushed back then), well under all of it
		reply = 1 << 20         // well over the socket's buffers
	)
	d := startChild(t, buildDaemon(t), 2*reply, "idle_timeout: 4s")
	c, err := net.Dial("unix", d.sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	echo, err := protocol.AppendRequest(nil, 4, []any{"echo", strings.Repeat("x", reply)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(echo); err != nil {
		t.Fatal(err)
	}
	// Read the reply in 64 steps spread over drain.
	start := time.Now()
	r := protocol.NewReader(&pacedReader{r: c, step: reply / 64, pause: drain / 64}, 4*reply)
	msg, err := r.ReadMessage()
	if err != nil {
		t.Fatalf("read the echo reply: %v", err)
	}
	if code, v, err := protocol.DecodeReply(msg); err != nil || code != 0 {
		t.Fatalf("echo reply (%d, %.40v), %v", code, v, err)
	}
	t.Logf("reply read in %v", time.Since(start))
	// Past the idle timeout counted from the request, within it counted
	// from the end of the reply.
	time.Sleep(idle - drain + 500*time.Millisecond)
	ping, err := protocol.AppendRequest(nil, 4, []any{"ping"})
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(idle))
	if _, err := c.Write(ping); err != nil {
		t.Fatalf("ping %v after the reply was read: %v: the daemon closed the connection as idle", idle-drain+500*time.Millisecond, err)
	}
	msg, err = r.ReadMessage()
	if err != nil {
		t.Fatalf("ping %v after the reply was read: %v: the daemon closed the connection as idle", idle-drain+500*time.Millisecond, err)
	}
	if code, v, err := protocol.DecodeReply(msg); err != nil || code != 0 || v != "pong" {
		t.Fatalf("ping reply (%d, %v), %v", code, v, err)
	}
	d.alive(t)
}

// pacedReader reads at most step bytes a call, pausing before each.
type pacedReader struct {
	r     io.Reader
	step  int
	pause time.Duration
}

func (p *pacedReader) Read(b []byte) (int, error) {
	time.Sleep(p.pause)
	return p.r.Read(b[:min(len(b), p.step)])
}
