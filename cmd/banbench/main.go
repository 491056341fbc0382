// Command banbench is a load generator for fail2ban-protocol Unix sockets
// (banserver, fail2ban-server, banfloor). It sends pre-encoded requests
// from several clients, persistent or one connection per request as PHP
// workers do, and prints requests, rate, p50/p99/max latency and failures
// as a table line or JSON.
//
//	banbench -socket /run/ban.sock -clients 8 -cmd attempt -n 200000
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/banserver/banserver/bench/load"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "banbench:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
}

func run(args []string, out io.Writer) error {
	fs := flag.NewFlagSet("banbench", flag.ContinueOnError)
	var (
		cfg    load.Config
		mode   string
		asJSON bool
		label  string
	)
	fs.StringVar(&cfg.Socket, "socket", "/run/ban.sock", "Unix socket `path` of the server")
	fs.IntVar(&cfg.Clients, "clients", 8, "concurrent clients")
	fs.StringVar(&mode, "mode", string(load.Persistent), "persistent (one connection per client) or connect (one connection per request)")
	fs.StringVar(&cfg.Cmd, "cmd", load.CmdAttempt, "attempt, banip, ping or mix (8 attempt, 1 banip, 1 ping per 10)")
	fs.StringVar(&cfg.Jail, "jail", "api", "jail named in attempt and banip")
	fs.Int64Var(&cfg.N, "n", 100000, "total requests (0: bounded by -duration only)")
	fs.DurationVar(&cfg.Duration, "duration", time.Minute, "longest run (0: bounded by -n only); the run ends at whichever comes first")
	fs.IntVar(&cfg.Pool, "pool", 10000, "distinct addresses, from 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24, then 2001:db8::/32")
	fs.IntVar(&cfg.PerBanIP, "per", 1, "addresses per banip request (bulk ban lists)")
	fs.Int64Var(&cfg.Warmup, "warmup", 0, "requests sent before the measured run, not counted")
	fs.BoolVar(&cfg.Verify, "verify", false, "fully decode every reply (slower client)")
	fs.BoolVar(&asJSON, "json", false, "print the result as JSON")
	fs.StringVar(&label, "label", "", "name printed with the result")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	cfg.Mode = load.Mode(mode)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := load.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(out)
		return enc.Encode(struct {
			Label   string `json:"label,omitempty"`
			Clients int    `json:"clients"`
			Mode    string `json:"mode"`
			Cmd     string `json:"cmd"`
			load.Result
		}{label, cfg.Clients, mode, cfg.Cmd, res})
	}
	if label != "" {
		label += " "
	}
	_, err = fmt.Fprintf(out, "%sclients=%d mode=%s cmd=%s %s\n", label, cfg.Clients, mode, cfg.Cmd, res)
	if res.FirstError != "" {
		fmt.Fprintln(os.Stderr, "banbench: first error:", res.FirstError)
	}
	return err
}
