// Command banctl is banserver's ops CLI: fail2ban-client's command grammar
// and output, spoken over the same Unix-socket protocol, so it drives
// banserver and fail2ban-server alike.
//
//	banctl [options] <command words...>
//
// It sends the words as a pickled list of strings, prints the reply the way
// fail2ban-client 1.0.2 does (or as JSON with -o json), and exits 0 when the
// server answered without an exception, 255 otherwise, as fail2ban-client.
// Commands fail2ban-client runs itself (start, restart, reload, -i) are not
// supported: banserver is started and reloaded by its service manager.
package main

import (
	"io"
	"os"

	"github.com/banserver/banserver/version"
)


func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code, so tests can
// drive the whole CLI in-process.
func run(argv []string, stdout, stderr io.Writer) int {
	opts, words, err := parseArgs(argv)
	if err != nil {
		writeLine(stderr, err.Error())
		writeLine(stderr, "Try 'banctl --help'.")
		return exitFail
	}
	switch {
	case opts.help:
		usage(stdout)
		return exitOK
	case opts.version:
		writeLine(stdout, "banctl "+version.Version)
		return exitOK
	case opts.versionShort:
		writeLine(stdout, version.Version)
		return exitOK
	}
	if len(words) == 0 {
		// fail2ban-client prints its usage on stdout and fails.
		usage(stdout)
		return exitFail
	}
	if words[0] == importCommand {
		return runImport(opts, words[1:], stdout, stderr)
	}
	c := &client{opts: opts, stdout: stdout, log: newLogger(stderr, opts.verbose)}
	return c.command(words)
}
