// Command banfloor is the do-nothing fail2ban-protocol server: it frames
// requests and answers every one with a constant (0, 1). Benchmarks run
// against it to learn what the socket and the machine allow, the floor
// under which no real server's latency can go.
//
//	banfloor -socket /tmp/floor.sock
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/banserver/banserver/bench/floor"
)

func main() {
	socket := flag.String("socket", "/tmp/banfloor.sock", "Unix socket `path` to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := floor.Listen(*socket)
	if err != nil {
		fmt.Fprintln(os.Stderr, "banfloor:", err)
		os.Exit(1)
	}
	// Remove the socket file on the way out so the next run finds no stale one.
	defer os.Remove(*socket)
	if err := floor.Serve(ctx, ln); err != nil {
		fmt.Fprintln(os.Stderr, "banfloor:", err)
		os.Exit(1)
	}
}
