package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/protocol"
)

// maxReply caps one reply. A status of a jail with a million bans is a few
// tens of MiB; more than this is a broken or hostile peer.
const maxReply = 256 << 20

// pickleProtocol is the pickle protocol requests are written in. Python's
// fail2ban-client uses its HIGHEST_PROTOCOL (5 on 3.11); for a list of
// strings 4 and 5 differ only in the header byte and every server reads 4.
const pickleProtocol = 4

// Log levels, with Python logging's numbers.
const (
	levelDebug   = 10
	levelInfo    = 20
	levelWarning = 30
	levelError   = 40
	levelOff     = 100 // above every level: nothing is logged
)

// logger writes fail2ban-client's stderr lines:
// "2006-01-02 15:04:05,000 fail2ban                [PID]: ERROR   message".
// banctl's own errors do not go through it (see cliError); these lines are
// the extra detail -v asks for.
type logger struct {
	w     io.Writer
	level int // lines below it are dropped
}

// newLogger maps verbosity to a threshold as fail2ban-client does: 0 or
// less ERROR, 1 WARNING, 2 INFO, 3 and more DEBUG. import-fail2ban reports
// through it.
func newLogger(w io.Writer, verbose int) *logger {
	l := &logger{w: w}
	switch {
	case verbose <= 0:
		l.level = levelError
	case verbose == 1:
		l.level = levelWarning
	case verbose == 2:
		l.level = levelInfo
	default:
		l.level = levelDebug
	}
	return l
}

// newDetailLogger is the server commands' logger: their errors are
// banctl's own lines (cliError), so fail2ban-client's log lines are only
// the extra detail -v asks for: none by default, INFO and up with -v,
// DEBUG with -vv.
func newDetailLogger(w io.Writer, verbose int) *logger {
	if verbose <= 1 {
		return &logger{w: w, level: levelOff}
	}
	return newLogger(w, verbose)
}

func (l *logger) logf(level int, format string, a ...any) {
	if level < l.level {
		return
	}
	name := map[int]string{levelDebug: "DEBUG", levelInfo: "INFO", levelWarning: "WARNING", levelError: "ERROR"}[level]
	now := time.Now()
	// The logger name stays "fail2ban": scripts that parse
	// fail2ban-client's stderr then parse banctl's too.
	fmt.Fprintf(l.w, "%s,%03d %-24s[%d]: %-7s %s\n",
		now.Format("2006-01-02 15:04:05"), now.Nanosecond()/1e6,
		"fail2ban", os.Getpid(), name, fmt.Sprintf(format, a...))
}

// client runs one command against the server.
type client struct {
	opts   options
	stdout io.Writer
	stderr io.Writer
	log    *logger
	// loc is the zone `get JAIL banip --with-time` times are read in for
	// -o json: the server writes them in its local time.
	loc *time.Location
}

// errNotSupported is returned for the commands fail2ban-client executes
// itself rather than sending them to the server.
var errNotSupported = errors.New("banctl: command not supported")

// fail reports err, once: with -o json as an error object on stdout,
// else as one line on stderr. It returns the exit code.
func (c *client) fail(err error) int {
	var ce *cliError
	if !errors.As(err, &ce) {
		ce = &cliError{typ: "Error", msg: strings.TrimPrefix(err.Error(), "banctl: "), err: err}
	}
	if c.opts.output == "json" {
		c.stdout.Write(append(errorJSON(ce), '\n'))
	} else {
		writeLine(c.stderr, ce.Error())
	}
	return exitFail
}

// command runs the command words and returns the exit code.
func (c *client) command(words []string) int {
	if err := checkSupported(words); err != nil {
		return c.fail(&cliError{typ: "UsageError", msg: strings.TrimPrefix(err.Error(), "banctl: "), err: err})
	}
	sock, err := c.socketPath()
	if err != nil {
		return c.fail(&cliError{typ: "ConfigError", msg: strings.TrimPrefix(err.Error(), "banctl: "), err: err})
	}
	c.log.logf(levelInfo, "Using socket file %s", sock)
	timeout, waitHint := c.opts.timeout, "wait longer with --timeout SECONDS"
	if words[0] == "ping" && len(words) > 1 {
		// "ping 2" waits 2 seconds; the words still go out as strings.
		d, err := parseSeconds(words[1])
		if err != nil {
			return c.fail(&cliError{typ: "UsageError", msg: fmt.Sprintf(
				"ping: %s is not a number of seconds to wait", protocol.ReprString(words[1])), err: err})
		}
		timeout, waitHint = d, "give ping more seconds"
	}
	c.log.logf(levelDebug, "CMD: %s", protocol.Repr(stringsToList(words)))
	code, v, err := roundTrip(sock, words, timeout)
	if err != nil {
		c.log.logf(levelDebug, "socket error: %v", err)
		return c.fail(connError(sock, timeout, waitHint, err))
	}
	switch code {
	case 0:
		c.log.logf(levelDebug, "OK : %s", protocol.Repr(v))
		if c.opts.output == "json" {
			c.stdout.Write(append(resultJSON(words, v, c.loc), '\n'))
			return exitOK
		}
		out, err := renderText(words, v)
		if err != nil {
			c.log.logf(levelWarning, "Beautifier error. Please report the error")
			c.log.logf(levelError, "Beautify %s with %s failed", protocol.Repr(v), protocol.Repr(stringsToList(words)))
			// The text fail2ban-client falls back to still goes to
			// stdout: a script may be reading it.
			writeLine(c.stderr, fmt.Sprintf("banctl: warning: the reply to %s has an unexpected shape; printed as received",
				protocol.ReprString(strings.Join(words, " "))))
		}
		writeLine(c.stdout, out)
		return exitOK
	case 1:
		var args []any
		if e, ok := v.(*protocol.Exception); ok && e != nil {
			args = e.Args
		} else {
			args = []any{v}
		}
		c.log.logf(levelError, "NOK: %s", protocol.Repr(protocol.Tuple(args)))
		return c.fail(exceptionError(words, v))
	default:
		// A bare "ERROR: ..." string: the server could not even read the
		// request. fail2ban-client trips over it with an AttributeError;
		// the server's own words are more use to an operator.
		return c.fail(serverError(v))
	}
}

// renderText is the text output of a successful reply: fail2ban-client's
// (beautify), except for banserver's "help", whose list of lines is
// printed one per line rather than as a Python list.
func renderText(words []string, v any) (string, error) {
	if len(words) == 1 && words[0] == "help" {
		if lines, ok := strItems(v); ok && !isString(v) {
			return strings.Join(lines, "\n"), nil
		}
	}
	return beautify(words, v)
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

func stringsToList(words []string) []any {
	out := make([]any, len(words))
	for i, w := range words {
		out[i] = w
	}
	return out
}

// checkSupported refuses what fail2ban-client does locally: starting a
// server, or restarting it. (fail2ban-client's "reload" reads jail.conf in
// the client and streams it; banctl sends "reload" or "reload JAIL" and
// banserver rereads its own config.)
func checkSupported(words []string) error {
	switch {
	case len(words) == 1 && words[0] == "start":
		return fmt.Errorf("%w: 'start' starts a server; banserver is started by its service manager: systemctl start banserver", errNotSupported)
	case words[0] == "restart":
		return fmt.Errorf("%w: 'restart' restarts a server; use 'systemctl restart banserver', or 'banctl reload' to reread its config", errNotSupported)
	}
	return nil
}

// socketPath is -s, else the socket of the -c config, else the default.
func (c *client) socketPath() (string, error) {
	if c.opts.socket != "" {
		return c.opts.socket, nil
	}
	if c.opts.config != "" {
		cfg, err := config.Load(c.opts.config)
		if err != nil {
			return "", fmt.Errorf("banctl: reading the socket path from the config: %w", err)
		}
		if cfg.Socket.Path != "" {
			return cfg.Socket.Path, nil
		}
	}
	return defaultSocket, nil
}

// roundTrip sends one command and decodes its reply. Like fail2ban's
// CSocket it then says goodbye with CloseCommand, so the server can tell a
// finished client from a dropped one.
func roundTrip(sock string, words []string, timeout time.Duration) (code int, v any, err error) {
	d := net.Dialer{Timeout: timeout}
	conn, err := d.Dial("unix", sock)
	if err != nil {
		return 0, nil, err
	}
	defer conn.Close()
	if timeout > 0 {
		conn.SetDeadline(time.Now().Add(timeout))
	}
	req, err := protocol.AppendRequest(nil, pickleProtocol, stringsToList(words))
	if err != nil {
		return 0, nil, fmt.Errorf("banctl: encoding the command: %w", err)
	}
	if _, err := conn.Write(req); err != nil {
		return 0, nil, err
	}
	msg, err := protocol.NewReader(conn, maxReply).ReadMessage()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// What fail2ban's CSocket.receive raises on an early close.
			return 0, nil, syscall.ECONNRESET
		}
		return 0, nil, err
	}
	code, v, err = protocol.DecodeReply(msg)
	if err != nil {
		return 0, nil, fmt.Errorf("banctl: decoding the reply: %w", err)
	}
	// Best effort: after "stop" the server may already be gone.
	conn.Write([]byte(protocol.CloseCommand + protocol.EndCommand))
	return code, v, nil
}
