// Command banctl is banserver's ops CLI. It speaks fail2ban-client's
// command grammar over the same Unix-socket protocol, so it drives banserver
// and fail2ban-server alike:
//
//	banctl [options] <command words...>
//
// It sends the words as a pickled list of strings and prints a successful
// reply the way fail2ban-client 1.0.2 does, so scripts written for
// fail2ban-client read its results unchanged; with -o json it prints the
// reply as structured JSON instead (JSON.md). Its own errors are one line
// on stderr naming what to do. It exits 0 when the server answered
// without an exception, 255 otherwise, as fail2ban-client.
//
// "regex" is fail2ban-regex's job done locally, on banserver's own filter
// engine, with fail2ban-regex's options and report (regex.go).
//
// "reload [JAIL]" is sent to the server, which rereads its own config;
// "start" (of the server), "restart" and -i, which fail2ban-client runs
// itself, are refused: banserver is run by its service manager.
package main

import (
	"io"
	"os"
	"time"

	"github.com/banserver/banserver/version"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code, so tests can
// drive the whole CLI in-process.
func run(argv []string, stdout, stderr io.Writer) int {
	if len(argv) > 0 && argv[0] == regexCommand {
		// banctl regex has fail2ban-regex's options, not banctl's.
		return runRegex(argv[1:], stdout, stderr)
	}
	opts, words, err := parseArgs(argv)
	if err != nil {
		writeLine(stderr, err.Error()+" (see 'banctl --help')")
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
	if words[0] == regexCommand {
		args := words[1:]
		if opts.output == "json" {
			args = append([]string{"-o", "json"}, args...)
		}
		return runRegex(args, stdout, stderr)
	}
	if words[0] == importCommand {
		return runImport(opts, words[1:], stdout, stderr)
	}
	c := &client{opts: opts, stdout: stdout, stderr: stderr, log: newDetailLogger(stderr, opts.verbose), loc: time.Local}
	return c.command(words)
}
