package server

import (
	"errors"

	"go.uber.org/zap"

	"github.com/banserver/banserver/protocol"
)

// This file: where the daemon logs, as fail2ban's logtarget,
// syslogsocket and flushlogs.

// LogControl is the daemon's log output as clients see and change it. The
// daemon provides it (Options.Logs); the server parses fail2ban's syntax
// and words the replies.
type LogControl interface {
	// Target is the log target as last set: STDERR, STDOUT, SYSLOG,
	// SYSTEMD-JOURNAL or a file's path, as the client spelled it.
	Target() string
	// SetTarget sends the log to target, fail2ban's target without its
	// [options]; on an error the target is unchanged. An error that is
	// a *protocol.Exception is the reply; any other is answered with
	// fail2ban's "Failed to change log target" and logged.
	SetTarget(target string) error
	// SyslogSocket is the syslog socket's path, "auto" until set or until
	// SYSLOG was tried (then the path auto stands for).
	SyslogSocket() string
	// SetSyslogSocket sets the syslog socket's path.
	SetSyslogSocket(path string) error
	// Flush flushes the log, reopening a file target (so that a file
	// logrotate moved away is created anew), and says which:
	// "rolled over" or "flushed", as fail2ban answers flushlogs.
	Flush() (string, error)
}

var (
	errLogTarget    = &protocol.Exception{Class: protocol.ClassException, Args: []any{"Failed to change log target"}}
	errSyslogSocket = &protocol.Exception{Class: protocol.ClassException, Args: []any{"Failed to change syslog socket"}}
	errNoLogs       = &protocol.Exception{Class: protocol.ClassException, Args: []any{"log targets are not available"}}
)

func (s *Server) cmdGetLogTarget(*call) (result, error) {
	if s.o.Logs == nil {
		return result{}, errNoLogs
	}
	return ok(s.o.Logs.Target())
}

// cmdSetLogTarget is `set logtarget TARGET[OPTIONS]`: the options are
// checked as fail2ban does and dropped.
func (s *Server) cmdSetLogTarget(c *call) (result, error) {
	name, err := extractOptions(c.args[2])
	if err != nil {
		return result{}, err
	}
	if s.o.Logs == nil {
		return result{}, errNoLogs
	}
	if err := s.o.Logs.SetTarget(name); err != nil {
		var exc *protocol.Exception
		if errors.As(err, &exc) {
			return result{}, exc
		}
		s.o.Log.Warn("log target unchanged", zap.String("target", name), zap.Error(err))
		return result{}, errLogTarget
	}
	return ok(s.o.Logs.Target())
}

func (s *Server) cmdGetSyslogSocket(*call) (result, error) {
	if s.o.Logs == nil {
		return result{}, errNoLogs
	}
	return ok(s.o.Logs.SyslogSocket())
}

func (s *Server) cmdSetSyslogSocket(c *call) (result, error) {
	if s.o.Logs == nil {
		return result{}, errNoLogs
	}
	if err := s.o.Logs.SetSyslogSocket(c.args[2]); err != nil {
		s.o.Log.Warn("syslog socket unchanged", zap.String("socket", c.args[2]), zap.Error(err))
		return result{}, errSyslogSocket
	}
	return ok(s.o.Logs.SyslogSocket())
}

// cmdFlushLogs is `flushlogs`, which logrotate's postrotate sends.
func (s *Server) cmdFlushLogs(*call) (result, error) {
	if s.o.Logs == nil {
		_ = s.o.Log.Sync() // stderr cannot always be synced; nothing to report
		return ok("flushed")
	}
	v, err := s.o.Logs.Flush()
	if err != nil {
		return result{}, err
	}
	return ok(v)
}
