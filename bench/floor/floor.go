// Package floor is the do-nothing fail2ban-protocol server: it frames
// requests and answers each with the same precomputed (0, 1) pickle. What
// the load generator measures against it is the floor set by the socket,
// the scheduler and the client itself — the most any real server could do
// on the same machine.
package floor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"

	"github.com/banserver/banserver/protocol"
)

// maxMessage caps one request, as a real server would; requests past it
// are answered anyway (the reader resynchronises).
const maxMessage = 64 << 10

// ErrInUse is returned by Listen when another server answers on the path.
var ErrInUse = errors.New("floor: socket in use")

// reply is (0, 1) pickled with protocol 4 plus the terminator: what
// fail2ban answers to an attempt.
var reply = func() []byte {
	b, err := protocol.AppendReply(nil, 4, 0, int64(1))
	if err != nil {
		panic("floor: precompute reply: " + err.Error())
	}
	return b
}()

// Listen opens the Unix socket at path. Like banserver it dials first: if
// someone answers, it refuses rather than steal the path; otherwise a stale
// file is removed. Go listens with the kernel's somaxconn as backlog
// (net.core.somaxconn, 4096 here), the large backlog fail2ban lacks.
func Listen(path string) (net.Listener, error) {
	if c, err := net.Dial("unix", path); err == nil {
		c.Close()
		return nil, fmt.Errorf("%w: %s", ErrInUse, path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("floor: remove stale socket: %w", err)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("floor: %w", err)
	}
	return ln, nil
}

// Serve answers connections on ln, one goroutine each, until ctx ends; it
// then closes ln and every open connection and returns nil. Any other
// accept failure is returned.
func Serve(ctx context.Context, ln net.Listener) error {
	var (
		mu    sync.Mutex // guards conns
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	closeAll := func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
	}
	stop := context.AfterFunc(ctx, closeAll)
	// However Serve ends, no connection goroutine outlives it.
	defer func() {
		stop()
		closeAll()
		wg.Wait()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("floor: accept: %w", err)
		}
		mu.Lock()
		if ctx.Err() != nil {
			mu.Unlock()
			c.Close()
			return nil
		}
		conns[c] = struct{}{}
		mu.Unlock()
		wg.Go(func() {
			handle(c)
			mu.Lock()
			delete(conns, c)
			mu.Unlock()
			c.Close()
		})
	}
}

// handle answers every framed message on c with the constant reply, until
// the close command, EOF or an error.
func handle(c net.Conn) {
	rd := protocol.NewReader(c, maxMessage)
	for {
		_, err := rd.ReadMessage()
		switch {
		case err == nil, errors.Is(err, protocol.ErrTooLarge):
		default: // ErrClose, EOF, a broken connection: the session is over.
			return
		}
		if _, err := c.Write(reply); err != nil {
			return
		}
	}
}
