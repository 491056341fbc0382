// Command banserver is the ban daemon: it speaks fail2ban's socket protocol
// on a Unix socket and bans addresses that fail too often.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/banserver/banserver/daemon"
	"github.com/banserver/banserver/server"
)

func main() {
	var o daemon.Options
	flag.StringVar(&o.ConfigPath, "config", "", "YAML configuration `file` (default: the embedded default config)")
	flag.StringVar(&o.Socket, "socket", "", "Unix socket `path` (default: socket.path of the config, /run/ban.sock)")
	flag.StringVar(&o.DB, "db", "", "ban store `path`, or none for memory only (default: db of the config, /var/lib/banserver/bans.db)")
	version := flag.Bool("version", false, "print the version and exit")
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "banserver: unexpected arguments %q\n", flag.Args())
		os.Exit(2)
	}
	if *version {
		fmt.Println(server.Version)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := daemon.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "banserver:", err)
		os.Exit(1)
	}
}
