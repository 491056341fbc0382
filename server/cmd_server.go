package server

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/banserver/banserver/protocol"
)

// This file: the commands about the server itself.

func (s *Server) cmdPing(*call) (result, error)         { return ok("pong") }
func (s *Server) cmdVersion(*call) (result, error)      { return ok(Version) }
func (s *Server) cmdServerStatus(*call) (result, error) { return ok("Server ready") }
func (s *Server) cmdHelp(*call) (result, error)         { return ok(helpLines()) }

// cmdEcho answers its words as sent: strings as strings, numbers as
// numbers, lists as lists.
func (s *Server) cmdEcho(c *call) (result, error) {
	out := make([]any, 0, len(c.args)-1)
	for i := 1; i < len(c.args); i++ {
		if n, isList := c.nested[i]; isList {
			out = append(out, n)
		} else {
			out = append(out, c.item(i))
		}
	}
	return ok(out)
}

// cmdStatus is fail2ban's `status`: the number of jails and their names,
// and while the ban store fails, a line saying so (only then, so the
// output keeps fail2ban's shape while all is well).
func (s *Server) cmdStatus(*call) (result, error) {
	return ok(s.statusLines(s.o.Jails.Jails()))
}

// statusLines are `status`'s lines for the jails names.
func (s *Server) statusLines(names []string) []any {
	out := []any{
		protocol.Tuple{"Number of jail", int64(len(names))},
		protocol.Tuple{"Jail list", strings.Join(names, ", ")},
	}
	if s.o.StoreHealth != nil {
		if h := s.o.StoreHealth(); h != "" {
			out = append(out, protocol.Tuple{"Ban store", h})
		}
	}
	if s.o.Cluster != nil {
		out = append(out, protocol.Tuple{"Cluster", s.o.Cluster().Summary()})
	}
	return out
}

// cmdStopServer stops the daemon once the reply is written.
func (s *Server) cmdStopServer(*call) (result, error) { return result{stop: true}, nil }

func (s *Server) cmdSetLogLevel(c *call) (result, error) {
	v := c.args[2]
	lvl, name, err := ParseLogLevel(v)
	if err != nil {
		return result{}, &protocol.Exception{Class: protocol.ClassValueError, Args: []any{"Invalid log level " + protocol.ReprString(strings.ToUpper(v))}}
	}
	if s.o.Level != (zap.AtomicLevel{}) {
		s.o.Level.SetLevel(lvl)
	}
	s.mu.Lock()
	s.levelName = name
	s.mu.Unlock()
	return ok(name)
}

func (s *Server) cmdGetLogLevel(*call) (result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return ok(s.levelName)
}

// ErrLogLevel reports a log level name fail2ban does not know.
var ErrLogLevel = errors.New("server: invalid log level")

// ParseLogLevel maps fail2ban's level names (CRITICAL, ERROR, WARNING,
// NOTICE, INFO, DEBUG, ...) or a logging number onto zap's levels, and
// returns the name as fail2ban reports it back (upper case). The config's
// log.level and `set loglevel` both go through it.
func ParseLogLevel(v string) (zapcore.Level, string, error) {
	name := strings.ToUpper(v)
	switch name {
	case "CRITICAL", "FATAL", "ERROR":
		return zapcore.ErrorLevel, name, nil
	case "WARNING", "WARN", "NOTICE":
		return zapcore.WarnLevel, name, nil
	case "INFO", "MSG":
		return zapcore.InfoLevel, name, nil
	case "DEBUG", "TRACEDEBUG", "HEAVYDEBUG", "NOTSET":
		return zapcore.DebugLevel, name, nil
	}
	n, err := strconv.Atoi(name)
	switch {
	case err != nil:
		return 0, "", fmt.Errorf("%w: %q", ErrLogLevel, v)
	case n >= 40:
		return zapcore.ErrorLevel, name, nil
	case n >= 30:
		return zapcore.WarnLevel, name, nil
	case n >= 20:
		return zapcore.InfoLevel, name, nil
	}
	return zapcore.DebugLevel, name, nil
}

// MaxSleep bounds `sleep`: a client must not park a connection's
// goroutine for longer.
const MaxSleep = 60 * time.Second

// cmdSleep is fail2ban's `sleep SECONDS` (float seconds), with Python's
// errors for what float() and time.sleep refuse, and a bound.
func (s *Server) cmdSleep(c *call) (result, error) {
	secs, err := pyFloat(c.item(1), c.args[1])
	if err != nil {
		return result{}, err
	}
	switch {
	case math.IsNaN(secs):
		return result{}, valueError("Invalid value NaN (not a number)")
	case secs < 0:
		return result{}, valueError("sleep length must be non-negative")
	case secs > MaxSleep.Seconds():
		return result{}, valueError(fmt.Sprintf("sleep %s: banserver sleeps at most %d seconds", c.args[1], int(MaxSleep.Seconds())))
	}
	t := time.NewTimer(time.Duration(secs * float64(time.Second)))
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.ctx.Done():
	}
	return ok(nil)
}

// pyFloat is Python's float(v) for a decoded item: numbers as they are, a
// string parsed (surrounding white space allowed, no hexadecimal), with
// Python's ValueError.
func pyFloat(item any, text string) (float64, error) {
	switch x := item.(type) {
	case float64:
		return x, nil
	case int64:
		return float64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, nil
	}
	bad := valueError("could not convert string to float: " + protocol.ReprString(text))
	t := strings.TrimSpace(text)
	if u := strings.TrimLeft(t, "+-"); len(u) > 1 && u[0] == '0' && (u[1] == 'x' || u[1] == 'X') {
		return 0, bad // Go reads hexadecimal floats; Python does not
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, bad
	}
	return f, nil
}

// cmdSetAllowIPv6 is `set allowipv6 yes|no|auto|...`: banserver makes no
// DNS lookups, so there is nothing to allow; it answers the value as
// fail2ban does, which is what fail2ban-client's configuration stream
// checks.
func (s *Server) cmdSetAllowIPv6(c *call) (result, error) {
	if n, isList := c.nested[2]; isList {
		return ok(n)
	}
	return ok(c.item(2))
}

var (
	errNoReload     = &protocol.Exception{Class: protocol.ClassException, Args: []any{"reload is not available"}}
	errReloadStream = &protocol.Exception{Class: protocol.ClassException, Args: []any{
		"banserver reloads from its own configuration file, not from fail2ban's jail.conf: send a bare 'reload' (banctl reload, or SIGHUP)"}}
)

// cmdReload is `reload`, `reload --all` or `reload JAIL`: the daemon
// rereads its configuration file. fail2ban-client's own reload sends the
// configuration it read from /etc/fail2ban along (['reload', '--all',
// [OPTS], [STREAM]]): banserver does not take a configuration over the
// socket, and says what to send instead.
func (s *Server) cmdReload(c *call) (result, error) {
	if len(c.args) > 2 || len(c.nested) > 0 {
		return result{}, errReloadStream
	}
	if s.o.Reload == nil {
		return result{}, errNoReload
	}
	name := ""
	if len(c.args) > 1 && c.args[1] != "--all" {
		name = c.args[1]
	}
	if err := s.o.Reload(name); err != nil {
		return result{}, err
	}
	return ok("OK")
}
