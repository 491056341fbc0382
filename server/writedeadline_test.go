package server_test

import (
	"bytes"
	"errors"
	"net"
	"os"
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
