package server

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

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
			out = append(out, c.items[i])
		}
	}
	return ok(out)
}

// cmdStatus is fail2ban's `status`: the number of jails and their names,
// and while the ban store fails, a line saying so (only then, so the
// output keeps fail2ban's shape while all is well).
func (s *Server) cmdStatus(*call) (result, error) {
	names := s.o.Jails.Jails()
	out := []any{
		protocol.Tuple{"Number of jail", int64(len(names))},
		protocol.Tuple{"Jail list", strings.Join(names, ", ")},
	}
	if s.o.StoreHealth != nil {
		if h := s.o.StoreHealth(); h != "" {
			out = append(out, protocol.Tuple{"Ban store", h})
		}
	}
	return ok(out)
}

// cmdStopServer stops the daemon once the reply is written.
func (s *Server) cmdStopServer(*call) (result, error) { return result{stop: true}, nil }

func (s *Server) cmdSetLogLevel(c *call) (result, error) {
	v := c.args[2]
	lvl, name, err := ParseLogLevel(v)
	if err != nil {
		return result{}, &protocol.Exception{Class: protocol.ClassValueError, Args: []any{"Invalid log level " + pyRepr(strings.ToUpper(v))}}
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
