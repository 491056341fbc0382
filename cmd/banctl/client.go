package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
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
)

// logger writes fail2ban-client's stderr lines:
// "2006-01-02 15:04:05,000 fail2ban                [PID]: ERROR   message".
type logger struct {
	w     io.Writer
	level int // lines below it are dropped
}

// newLogger maps verbosity to a threshold as fail2ban-client does: 0 or
// less ERROR, 1 WARNING, 2 INFO, 3 and more DEBUG.
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
	log    *logger
}

// errNotSupported is returned for the commands fail2ban-client executes
// itself rather than sending them to the server.
var errNotSupported = errors.New("banctl: command not supported")

// command runs the command words and returns the exit code.
func (c *client) command(words []string) int {
	if err := checkSupported(words); err != nil {
		c.log.logf(levelError, "%v", err)
		return exitFail
	}
	sock, err := c.socketPath()
	if err != nil {
		c.log.logf(levelError, "%v", err)
		return exitFail
	}
	c.log.logf(levelInfo, "Using socket file %s", sock)
	timeout := c.opts.timeout
	if words[0] == "ping" && len(words) > 1 {
		// "ping 2" waits 2 seconds; the words still go out as strings.
		f, err := strconv.ParseFloat(words[1], 64)
		if err != nil {
			c.log.logf(levelError, "could not convert string to float: %s", pyRepr(words[1]))
			return exitFail
		}
		timeout = time.Duration(f * float64(time.Second))
	}
	c.log.logf(levelDebug, "CMD: %s", pyRepr(stringsToList(words)))
	code, v, err := roundTrip(sock, words, timeout)
	if err != nil {
		c.logSocketError(sock, words[0] == "ping", err)
		return exitFail
	}
	if c.opts.output == "json" {
		b, err := replyJSON(code, v)
		if err != nil {
			c.log.logf(levelError, "%v", err)
			return exitFail
		}
		c.stdout.Write(append(b, '\n'))
		if code != 0 {
			return exitFail
		}
		return exitOK
	}
	switch code {
	case 0:
		c.log.logf(levelDebug, "OK : %s", pyRepr(v))
		out, err := beautify(words, v)
		if err != nil {
			c.log.logf(levelWarning, "Beautifier error. Please report the error")
			c.log.logf(levelError, "Beautify %s with %s failed", pyRepr(v), pyRepr(stringsToList(words)))
		}
		writeLine(c.stdout, out)
		return exitOK
	case 1:
		var args []any
		if e, ok := v.(*protocol.Exception); ok {
			args = e.Args
		} else {
			args = []any{v}
		}
		c.log.logf(levelError, "NOK: %s", pyRepr(protocol.Tuple(args)))
		writeLine(c.stdout, beautifyError(v))
		return exitFail
	default:
		// A bare "ERROR: ..." string: the server could not even read the
		// request. fail2ban-client trips over it with an AttributeError;
		// the server's own words are more use to an operator.
		c.log.logf(levelError, "%s", pyStr(v))
		return exitFail
	}
}

func stringsToList(words []string) []any {
	out := make([]any, len(words))
	for i, w := range words {
		out[i] = w
	}
	return out
}

// checkSupported refuses what fail2ban-client does locally: starting a
// server, restarting it, or reading jail.conf to reload it.
func checkSupported(words []string) error {
	switch {
	case len(words) == 1 && words[0] == "start":
		return fmt.Errorf("%w: 'start' starts a server; start banserver with its service manager (systemctl start banserver)", errNotSupported)
	case words[0] == "restart":
		return fmt.Errorf("%w: 'restart' restarts a server; use the service manager (systemctl restart banserver)", errNotSupported)
	case words[0] == "reload":
		return fmt.Errorf("%w: 'reload' reads fail2ban's jail files in the client; reload banserver with its service manager (systemctl reload banserver, SIGHUP)", errNotSupported)
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

// logSocketError ports fail2ban-client's __logSocketError: which message
// depends on whether the socket file exists and is writable.
func (c *client) logSocketError(sock string, errorOnly bool, err error) {
	if _, statErr := os.Stat(sock); statErr != nil {
		c.log.logf(levelError, "Failed to access socket path: %s. Is fail2ban running?", sock)
		return
	}
	if syscall.Access(sock, 2 /* W_OK */) != nil {
		c.log.logf(levelError, "Permission denied to socket: %s, (you must be root)", sock)
		return
	}
	text := pySocketError(err)
	if errorOnly {
		c.log.logf(levelError, "%s", text)
		return
	}
	c.log.logf(levelError, "[%s] Unable to contact server. Is it running?", text)
}

// pySocketError writes err as Python's str() of the matching OSError:
// "[Errno 111] Connection refused", or "timed out".
func pySocketError(err error) string {
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return "timed out"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		msg := errno.Error()
		if msg != "" {
			msg = strings.ToUpper(msg[:1]) + msg[1:]
		}
		return fmt.Sprintf("[Errno %d] %s", int(errno), msg)
	}
	return err.Error()
}
