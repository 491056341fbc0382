package daemon

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/server"
)

// This file: the daemon's log output, which clients move at run time as
// fail2ban's are moved (set logtarget, set syslogsocket, flushlogs).

// Where the logs can go, as fail2ban names the targets.
const (
	targetStderr  = "STDERR"
	targetStdout  = "STDOUT"
	targetSysout  = "SYSOUT" // fail2ban's other name for STDOUT
	targetSyslog  = "SYSLOG"
	targetJournal = "SYSTEMD-JOURNAL"
	// targetInherited keeps the output as it is (fail2ban's test suite
	// sets it); only the name changes.
	targetInherited = "INHERITED"
)

// defaultSyslogSocket is what "auto" stands for on Linux.
const defaultSyslogSocket = "/dev/log"

// defaultJournalSocket is systemd-journald's native socket.
const defaultJournalSocket = "/run/systemd/journal/socket"

// logOutput is the daemon's log output: a zap core whose destination
// (stderr, stdout, a file, syslog, the journal) is switched at run time.
// It is the server's LogControl.
//
// Every log line takes sinkMu for reading while it writes; a switch takes
// it for writing, so the old destination is closed only once no line is
// being written to it. Lock order: mu, then sinkMu.
type logOutput struct {
	// mu serializes changes and guards the fields below.
	mu           sync.Mutex
	target       string // as the client spelled it
	syslogSocket string // "auto" until set or until SYSLOG was tried

	sinkMu sync.RWMutex
	sink   logSink // guarded by sinkMu

	// What the targets are on this machine; tests replace them.
	stdout, stderr io.Writer
	journalSocket  string
	pid            int

	log *zap.Logger // the logger writing here, for lines about changes
}

var _ server.LogControl = (*logOutput)(nil)

// newLogOutput builds the daemon's logger, logging to stderr, in format
// "console" or "json" at level, and the control that moves its output.
// It stands in for newLogger.
func newLogOutput(format string, level zap.AtomicLevel) (*zap.Logger, *logOutput, error) {
	var c zap.Config
	if format == "json" {
		c = zap.NewProductionConfig()
	} else {
		c = zap.NewDevelopmentConfig()
		c.Development = false
		c.DisableStacktrace = true
		c.EncoderConfig.EncodeTime = zapcore.TimeEncoderOfLayout(time.RFC3339)
	}
	o := &logOutput{
		target:        targetStderr,
		syslogSocket:  "auto",
		stdout:        os.Stdout,
		stderr:        os.Stderr,
		journalSocket: defaultJournalSocket,
		pid:           os.Getpid(),
	}
	o.sink = &streamSink{w: o.stderr}
	// syslog and the journal stamp each line themselves.
	bare := c.EncoderConfig
	bare.TimeKey = ""
	var enc, bareEnc zapcore.Encoder
	if format == "json" {
		enc, bareEnc = zapcore.NewJSONEncoder(c.EncoderConfig), zapcore.NewJSONEncoder(bare)
	} else {
		enc, bareEnc = zapcore.NewConsoleEncoder(c.EncoderConfig), zapcore.NewConsoleEncoder(bare)
	}
	// The options zap.Config.Build would give.
	opts := []zap.Option{zap.ErrorOutput(zapcore.Lock(os.Stderr)), zap.AddCaller()}
	if !c.DisableStacktrace {
		opts = append(opts, zap.AddStacktrace(zapcore.ErrorLevel))
	}
	l := zap.New(&outputCore{LevelEnabler: level, enc: enc, bare: bareEnc, out: o}, opts...)
	o.log = l.Named("log")
	return l, o, nil
}

// Target implements server.LogControl.
func (o *logOutput) Target() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.target
}

// SetTarget implements server.LogControl: target is STDERR, STDOUT (or
// SYSOUT), SYSLOG, SYSTEMD-JOURNAL in any case, or a file's path, opened
// for appending (and created, mode 0640). On an error the output stays
// where it was.
func (o *logOutput) SetTarget(target string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if target == o.target {
		return nil
	}
	var (
		s   logSink
		err error
	)
	switch strings.ToUpper(target) {
	case targetInherited:
		o.target = target
		return nil
	case targetStderr:
		s = &streamSink{w: o.stderr}
	case targetStdout, targetSysout:
		s = &streamSink{w: o.stdout}
	case targetSyslog:
		if o.syslogSocket == "auto" {
			o.syslogSocket = defaultSyslogSocket
		}
		s, err = openSyslog(o.syslogSocket, o.pid)
	case targetJournal:
		s, err = openJournal(o.journalSocket)
	default:
		s, err = openFileSink(target)
	}
	if err != nil {
		return err
	}
	o.log.Info("log target changing", zap.String("from", o.target), zap.String("to", target))
	o.swap(s)
	from := o.target
	o.target = target
	o.log.Info("log target changed", zap.String("from", from), zap.String("to", target), zap.String("version", server.Version))
	return nil
}

// SyslogSocket implements server.LogControl.
func (o *logOutput) SyslogSocket() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.syslogSocket
}

// SetSyslogSocket implements server.LogControl: any path is taken. While
// the logs go to syslog they move to the new socket when it answers, and
// stay on the old one (with a warning) when it does not.
func (o *logOutput) SetSyslogSocket(path string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if path == o.syslogSocket {
		return nil
	}
	o.syslogSocket = path
	if strings.ToUpper(o.target) != targetSyslog {
		return nil
	}
	sock := path
	if sock == "auto" {
		sock = defaultSyslogSocket
	}
	s, err := openSyslog(sock, o.pid)
	if err != nil {
		o.log.Warn("syslog socket set; the logs stay on the old socket", zap.String("socket", path), zap.Error(err))
		return nil
	}
	o.swap(s)
	return nil
}

// Flush implements server.LogControl: a file is reopened at its path (so
// that after logrotate moved it, the log goes to a new file there) and
// the answer is fail2ban's "rolled over"; other outputs are synced, and
// answer "flushed". As in fail2ban, only the targets spelled STDERR,
// STDOUT, SYSLOG and SYSTEMD-JOURNAL answer "flushed".
func (o *logOutput) Flush() (string, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sinkMu.RLock()
	f, isFile := o.sink.(*fileSink)
	o.sinkMu.RUnlock()
	if isFile {
		s, err := openFileSink(f.path)
		if err != nil {
			return "", fmt.Errorf("daemon: reopening the log file: %w", err)
		}
		o.swap(s)
		o.log.Info("log file reopened", zap.String("path", f.path))
	} else {
		o.sinkMu.RLock()
		_ = o.sink.sync() // stderr on a terminal or pipe cannot be synced: nothing to report
		o.sinkMu.RUnlock()
	}
	switch o.target {
	case targetStderr, targetStdout, targetSyslog, targetJournal:
		return "flushed", nil
	}
	return "rolled over", nil
}

// swap makes s the output and closes the old one, once no line is being
// written to it; o.mu is held.
func (o *logOutput) swap(s logSink) {
	o.sinkMu.Lock()
	old := o.sink
	o.sink = s
	o.sinkMu.Unlock()
	_ = old.close() // its lines are written; a close error loses nothing
}

// write writes one entry to the current output, encoded for it.
func (o *logOutput) write(ent zapcore.Entry, fields []zapcore.Field, enc, bare zapcore.Encoder) error {
	o.sinkMu.RLock()
	defer o.sinkMu.RUnlock()
	e := enc
	if o.sink.stamps() {
		e = bare
	}
	buf, err := e.EncodeEntry(ent, fields)
	if err != nil {
		return err
	}
	defer buf.Free()
	return o.sink.write(ent.Level, buf.Bytes())
}

func (o *logOutput) sync() error {
	o.sinkMu.RLock()
	defer o.sinkMu.RUnlock()
	return o.sink.sync()
}

// outputCore is the zap core over a logOutput: zapcore's ioCore, with the
// destination looked up per line and given the line's level (syslog and
// the journal carry it as the priority).
type outputCore struct {
	zapcore.LevelEnabler
	enc, bare zapcore.Encoder // bare: without the time, for outputs that stamp lines
	out       *logOutput
}

func (c *outputCore) With(fields []zapcore.Field) zapcore.Core {
	clone := &outputCore{LevelEnabler: c.LevelEnabler, enc: c.enc.Clone(), bare: c.bare.Clone(), out: c.out}
	for _, f := range fields {
		f.AddTo(clone.enc)
		f.AddTo(clone.bare)
	}
	return clone
}

func (c *outputCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

func (c *outputCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	if err := c.out.write(ent, fields, c.enc, c.bare); err != nil {
		return err
	}
	if ent.Level > zapcore.ErrorLevel {
		// As zapcore's ioCore: the process may be about to end.
		_ = c.out.sync()
	}
	return nil
}

func (c *outputCore) Sync() error { return c.out.sync() }

// logSink is one destination of the logs.
type logSink interface {
	// write writes one encoded line (ending in a newline) at level.
	write(level zapcore.Level, line []byte) error
	sync() error
	close() error
	// stamps reports that the destination stamps lines with the time
	// itself.
	stamps() bool
}

// streamSink is stdout or stderr (never closed: they are the process's).
type streamSink struct {
	mu sync.Mutex // keeps concurrent lines whole
	w  io.Writer
}

func (s *streamSink) write(_ zapcore.Level, line []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.w.Write(line)
	return err
}

func (s *streamSink) sync() error {
	if f, ok := s.w.(interface{ Sync() error }); ok {
		return f.Sync()
	}
	return nil
}

func (s *streamSink) close() error { return nil }
func (s *streamSink) stamps() bool { return false }

// fileSink is a log file, opened for appending: each line is one write,
// so lines from several writers, or another process appending, stay whole.
type fileSink struct {
	path string
	f    *os.File
}

func openFileSink(path string) (*fileSink, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("daemon: log file: %w", err)
	}
	return &fileSink{path: path, f: f}, nil
}

func (s *fileSink) write(_ zapcore.Level, line []byte) error {
	_, err := s.f.Write(line)
	return err
}

func (s *fileSink) sync() error  { return s.f.Sync() }
func (s *fileSink) close() error { return s.f.Close() }
func (s *fileSink) stamps() bool { return false }

// dgramSink writes each line as one datagram to a Unix socket (syslog's
// or the journal's), dialling again once when a write fails (the daemon
// at the other end restarted).
type dgramSink struct {
	path   string
	format func(level zapcore.Level, line []byte) []byte

	mu   sync.Mutex // guards conn
	conn net.Conn
}

func (s *dgramSink) write(level zapcore.Level, line []byte) error {
	msg := s.format(level, line)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		if _, err := s.conn.Write(msg); err == nil {
			return nil
		}
		s.conn.Close()
		s.conn = nil
	}
	c, err := dialDgram(s.path)
	if err != nil {
		return err
	}
	s.conn = c
	_, err = c.Write(msg)
	return err
}

func (s *dgramSink) sync() error { return nil }

func (s *dgramSink) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return nil
	}
	err := s.conn.Close()
	s.conn = nil
	return err
}

func (s *dgramSink) stamps() bool { return true }

// dialDgram connects to the Unix socket at path: a datagram socket, as
// /dev/log and the journal's are, else a stream one.
func dialDgram(path string) (net.Conn, error) {
	c, err := net.Dial("unixgram", path)
	if err == nil {
		return c, nil
	}
	if c, err2 := net.Dial("unix", path); err2 == nil {
		return c, nil
	}
	return nil, err
}

// checkSocket refuses a path that is not a Unix socket, as fail2ban does
// before it logs to syslog.
func checkSocket(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("daemon: %s is not a socket", path)
	}
	return nil
}

// syslogFacility is fail2ban's default facility, daemon.
const syslogFacility = 3

// syslogSeverity maps zap's levels onto syslog's severities.
func syslogSeverity(l zapcore.Level) int {
	switch {
	case l <= zapcore.DebugLevel:
		return 7
	case l == zapcore.InfoLevel:
		return 6
	case l == zapcore.WarnLevel:
		return 4
	case l == zapcore.ErrorLevel:
		return 3
	}
	return 2 // DPanic, Panic, Fatal: critical
}

// openSyslog logs to the syslog socket at path, in the local syslog
// format: "<PRI>Mmm dd hh:mm:ss banserver[PID]: message".
func openSyslog(path string, pid int) (logSink, error) {
	if err := checkSocket(path); err != nil {
		return nil, fmt.Errorf("daemon: syslog socket: %w", err)
	}
	c, err := dialDgram(path)
	if err != nil {
		return nil, fmt.Errorf("daemon: syslog socket: %w", err)
	}
	return &dgramSink{path: path, conn: c, format: func(level zapcore.Level, line []byte) []byte {
		msg := strings.TrimRight(string(line), "\n")
		return fmt.Appendf(nil, "<%d>%s banserver[%d]: %s", syslogFacility*8+syslogSeverity(level), time.Now().Format(time.Stamp), pid, msg)
	}}, nil
}

// maxJournalMessage bounds one entry's MESSAGE: the journal's native
// protocol takes one datagram per entry (larger ones need a memfd).
const maxJournalMessage = 48 << 10

// openJournal logs to systemd-journald's native socket at path: one
// datagram per line with MESSAGE, PRIORITY and SYSLOG_IDENTIFIER. fail2ban
// needs python3-systemd for this target; banserver speaks the protocol
// itself.
func openJournal(path string) (logSink, error) {
	if err := checkSocket(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &protocol.Exception{Class: protocol.ClassException, Args: []any{
				"the journal is not available: " + path + " is missing"}}
		}
		return nil, fmt.Errorf("daemon: journal socket: %w", err)
	}
	c, err := dialDgram(path)
	if err != nil {
		return nil, fmt.Errorf("daemon: journal socket: %w", err)
	}
	return &dgramSink{path: path, conn: c, format: journalEntry}, nil
}

// journalEntry is one entry of the journal's native protocol: KEY=value
// lines, and KEY, newline, a 64-bit little-endian length, the value and a
// newline for a value holding a newline.
func journalEntry(level zapcore.Level, line []byte) []byte {
	msg := strings.TrimRight(string(line), "\n")
	if len(msg) > maxJournalMessage {
		msg = msg[:maxJournalMessage]
	}
	var b []byte
	field := func(k, v string) {
		if !strings.Contains(v, "\n") {
			b = append(b, k+"="+v+"\n"...)
			return
		}
		b = append(b, k+"\n"...)
		b = binary.LittleEndian.AppendUint64(b, uint64(len(v)))
		b = append(b, v+"\n"...)
	}
	field("MESSAGE", msg)
	field("PRIORITY", fmt.Sprint(syslogSeverity(level)))
	field("SYSLOG_IDENTIFIER", "banserver")
	return b
}
