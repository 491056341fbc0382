// Command banserver is the ban daemon: it speaks fail2ban's socket protocol
// on a Unix socket and bans addresses that fail too often.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/daemon"
	"github.com/banserver/banserver/server"
)

func main() {
	var o daemon.Options
	fs, version, checkConfig := newFlags(&o)
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(os.Stdout, fs)
			return
		}
		fmt.Fprintf(os.Stderr, "banserver: %v (see banserver --help)\n", err)
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "banserver: unexpected arguments %q (see banserver --help)\n", fs.Args())
		os.Exit(2)
	}
	if *version {
		fmt.Println(server.Version)
		return
	}
	if *checkConfig {
		os.Exit(check(o.ConfigPath, os.Stdout, os.Stderr))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	// SIGHUP reloads the configuration file, as fail2ban's reload does.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	reload := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			default: // one is pending already
			}
		}
	}()
	o.Reload = reload
	if err := daemon.Run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "banserver:", err)
		os.Exit(1)
	}
}

// newFlags defines banserver's options on a flag set of their own: they
// set o, --version and --check-config. Their usage strings are the option
// list of --help and of banserver(8).
func newFlags(o *daemon.Options) (fs *flag.FlagSet, version, checkConfig *bool) {
	fs = flag.NewFlagSet("banserver", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // usage and errors are written by main
	fs.StringVar(&o.ConfigPath, "config", "", "YAML configuration `file` (default: the embedded default config)")
	fs.StringVar(&o.Socket, "socket", "", "Unix socket `path` (default: socket.path of the config, /run/ban.sock)")
	fs.StringVar(&o.DB, "db", "", "ban store `path`, or none for memory only (default: db of the config, /var/lib/banserver/bans.db)")
	version = fs.Bool("version", false, "print the version and exit")
	checkConfig = fs.Bool("check-config", false, "check the configuration (--config, or the embedded default) as the daemon would at start, start nothing, print every problem and exit: 0 if it is valid, 1 if not")
	return fs, version, checkConfig
}

// check is --check-config, like nginx -t: it reports the configuration at
// path valid on stdout and returns 0, or lists every problem on stderr and
// returns 1.
func check(path string, stdout, stderr io.Writer) int {
	name := path
	if name == "" {
		name = "(embedded default)"
	}
	if err := daemon.CheckConfig(path); err != nil {
		problems := flatten(err)
		noun := "problems"
		if len(problems) == 1 {
			noun = "problem"
		}
		fmt.Fprintf(stderr, "banserver: configuration %s is invalid (%d %s):\n", name, len(problems), noun)
		for _, p := range problems {
			fmt.Fprintf(stderr, "  %v\n", p)
		}
		return 1
	}
	cfg, err := config.Load(path) // valid: CheckConfig loaded it
	if err != nil {
		fmt.Fprintf(stderr, "banserver: %v\n", err)
		return 1
	}
	noun := "jails"
	if len(cfg.Jails) == 1 {
		noun = "jail"
	}
	fmt.Fprintf(stdout, "banserver: configuration %s is valid (%d %s)\n", name, len(cfg.Jails), noun)
	return 0
}

// flatten undoes errors.Join, at any depth: one error per problem.
func flatten(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, flatten(e)...)
	}
	return out
}
