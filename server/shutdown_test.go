package server_test

import (
	"io"
	"testing"
	"time"

	"github.com/banserver/banserver/server"
)

// TestShutdownClosesConnections: when Serve's context ends, every
// connection still open is closed, whatever it was doing (idle before its
// first message, inside a message, between messages on a goroutine that
// served an earlier connection), and Serve returns.
func TestShutdownClosesConnections(t *testing.T) {
	d := start(t, server.Options{}, apiJail(1000))
	// An earlier connection, closed: its goroutine waits for the next.
	first := dial(t, d.sock)
	if code, v := first.cmd("ping"); code != 0 || v != "pong" {
		t.Fatalf("ping = %d, %v", code, v)
	}
	first.c.Close()
	time.Sleep(50 * time.Millisecond) // let the goroutine finish with it (not needed for correctness)

	tests := []struct {
		name  string
		setup func(cl *client)
	}{
		{"idle before any message", func(*client) {}},
		{"inside a message", func(cl *client) { cl.c.Write([]byte("\x80\x04")) }},
		{"between messages", func(cl *client) {
			if code, _ := cl.cmd("set", "api", "attempt", "192.0.2.1"); code != 0 {
				t.Fatalf("attempt refused")
			}
		}},
	}
	clients := make([]*client, len(tests))
	for i, tt := range tests {
		clients[i] = dial(t, d.sock)
		tt.setup(clients[i])
	}
	d.stop()
	select {
	case err := <-d.done:
		if err != nil {
			t.Fatalf("Serve = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return within 10s of its context's end")
	}
	d.done <- nil // for the cleanup
	for i, tt := range tests {
		clients[i].c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if n, err := io.ReadAll(clients[i].c); err != nil || len(n) != 0 {
			t.Errorf("%s: read after shutdown: %d bytes, %v; want the connection closed", tt.name, len(n), err)
		}
	}
}
