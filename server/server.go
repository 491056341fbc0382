// Package server is banserver's socket side: it accepts connections on the
// Unix socket, frames and decodes fail2ban's pickled commands with package
// protocol, dispatches them to the jail manager, and writes the pickled
// replies. It joins protocol (bytes and Python objects) and jail (addresses
// and time); neither knows the other.
package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/version"
)

// ErrServerClosed is returned by Serve after Shutdown or a `stop` command.
var ErrServerClosed = errors.New("server: closed")

// Version is what the `version` command answers: the one version string
// of package version, named.
var Version = "banserver " + version.Version

// Options configure a Server.
type Options struct {
	Jails   *jail.Manager
	Actions *actions.Registry
	Queue   *actions.Queue // may be nil; its failure count shows in server-status
	Log     *zap.Logger
	// Level is the logger's level, changed by `set loglevel`.
	Level zap.AtomicLevel
	// LevelName is the initial fail2ban level name (INFO, DEBUG, ...).
	LevelName string
	// MaxMessage caps one framed message in bytes.
	MaxMessage int
	// IdleTimeout closes connections that send nothing for this long; 0: never.
	IdleTimeout time.Duration
	// Stop is called once, after the reply to a `stop` command is written.
	Stop func()
	// StoreHealth, when set, says what is wrong with the ban store ("" when
	// nothing): `status` shows it while it lasts. (Commands that change
	// bans wait for the store through the jails' Journal.)
	StoreHealth func() string
	// DB is what get/set dbfile, dbpurgeage and dbmaxmatches show and
	// change; nil when there is no ban store.
	DB *DBSettings
	// OnJailStart, when set, runs after `start JAIL` started the jail:
	// the daemon restores the jail's stored bans there, and makes the
	// kernel agree with them.
	OnJailStart func(jail string) error
	// SetActions, when set, gives a jail new actions (addaction,
	// delaction) in place of Jails.SetActions: the daemon records the
	// kernel state they use first and reconciles after.
	SetActions func(jail string, specs []string) error
	// Logs, when set, is the daemon's log output, which `set logtarget`,
	// `set syslogsocket` and `flushlogs` change; without it they answer
	// that log targets are not available (flushlogs syncs Log).
	Logs LogControl
	// Reload, when set, rereads the daemon's configuration file: for
	// every jail when jail is "", else for that jail (`reload`, `reload
	// JAIL`, `reload --all`). Without it `reload` answers that it is not
	// available.
	Reload func(jail string) error
	// Access grants command classes to peers other than root and the
	// daemon's own user, which may do everything; anyone else may only
	// ping, ask the version and server-status.
	Access []Rule
	// Limits bound what clients can cost; zero fields take defaults.
	Limits Limits
	// LogJails, when set, are the daemon's log readers: the log jail
	// commands (addlogpath, addfailregex, datepattern, ...) change their
	// settings, start and stop start and stop them. Without it those
	// commands answer that log jails are not available.
	LogJails LogJails
	// Cluster, when set, is the state of the daemon's cluster node:
	// `status` shows its summary, `cluster` all of it.
	Cluster func() ClusterStatus
}

// Server serves fail2ban's protocol.
type Server struct {
	o Options

	mu        sync.Mutex // guards levelName and extras
	levelName string
	// extras are what the server keeps beside each jail that package jail
	// does not: see jailExtra.
	extras map[string]*jailExtra
	// jailLife serializes add and stop of jails, so that a jail's extras
	// are made and dropped with it. Lock order: jailLife, then mu.
	jailLife sync.Mutex

	stopOnce sync.Once

	live  atomic.Pointer[settings] // access rules and limits; Reconfigure swaps them
	users *users
	conns connTable
	stats *stats // counters for metrics (stats.go)
}

// New returns a Server.
func New(o Options) *Server {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.LevelName == "" {
		o.LevelName = "INFO"
	}
	s := &Server{o: o, levelName: o.LevelName, extras: map[string]*jailExtra{}, users: newUsers(), stats: newStats()}
	s.Reconfigure(Settings{Access: o.Access, Limits: o.Limits, MaxMessage: o.MaxMessage, IdleTimeout: o.IdleTimeout})
	return s
}

// Serve accepts connections on ln until ctx ends, serving each on a
// goroutine of its own. It returns nil when ctx is cancelled; connections
// still open are closed. The caller owns ln's socket file.
//
// A goroutine that has served a connection waits, up to maxIdleWorkers of
// them, for the next one rather than exit: a client that connects per
// request (PHP-FPM workers) then costs no goroutine start, and no growth
// of a new goroutine's stack to what serving takes.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var open openConns
	open.init()
	stop := context.AfterFunc(ctx, func() {
		ln.Close()
		open.closeAll()
	})
	defer stop()
	handoff := make(chan net.Conn) // to a goroutine waiting for a connection
	quit := make(chan struct{})    // closed when no more connections come
	var idle atomic.Int32          // goroutines waiting on handoff
	var tempDelay time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				close(quit)
				wg.Wait()
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
				// Out of file descriptors or similar: back off rather than spin,
				// as net/http does.
				if tempDelay == 0 {
					tempDelay = 5 * time.Millisecond
				} else if tempDelay *= 2; tempDelay > time.Second {
					tempDelay = time.Second
				}
				s.o.Log.Warn("accept", zap.Error(err), zap.Duration("retry_in", tempDelay))
				time.Sleep(tempDelay)
				continue
			}
			close(quit)
			wg.Wait()
			return fmt.Errorf("server: accept: %w", err)
		}
		tempDelay = 0
		s.stats.accepted.Add(1)
		select {
		case handoff <- c:
			continue
		default:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			se := new(session)
			for {
				s.serveConn(ctx, se, &open, c)
				if idle.Add(1) > maxIdleWorkers {
					idle.Add(-1)
					return
				}
				select {
				case c = <-handoff:
					idle.Add(-1)
				case <-quit:
					idle.Add(-1)
					return
				}
			}
		}()
	}
}

// maxIdleWorkers bounds the goroutines kept waiting for a connection.
const maxIdleWorkers = 64

// conn is one client connection's state: who the peer is, what it may
// do, and its uid's share of the limits.
type conn struct {
	grant *grant
	uid   *uidState
	// limited: the uid's rate applies (not root or the daemon's user).
	limited bool
	// set are the settings the connection started with.
	set *settings
	// call is where each command's call is built (see Server.run).
	call call
}

// session is what a serving goroutine keeps for the connection it
// serves, in one allocation reused for every connection it serves after:
// the connection's state, its timed connection, the reader with its
// buffer, and the replies held for a pipelining client.
type session struct {
	cs   conn
	g    grant
	peer peerReader
	tc   timedConn
	r    protocol.Reader
	out  []byte
	// prev and next link the session into its Serve's openConns while it
	// serves a connection.
	prev, next *session
}

// maxKeptOut is the largest reply buffer a session keeps for its next
// connection (a large status reply's is given back): at most 64 idle
// goroutines keep one each.
const maxKeptOut = maxHeld

// openConns are the sessions one Serve is serving, so that the end of its
// context closes their connections: one list under a mutex the
// connection's start and end take briefly, rather than a context.AfterFunc
// per connection.
type openConns struct {
	mu     sync.Mutex // guards the fields below
	root   session    // sentinel of the circular list
	closed bool       // the context ended: no more are added
}

func (o *openConns) init() {
	o.root.next = &o.root
	o.root.prev = &o.root
}

// add links se, serving c, in; false when the context has already ended
// (c is then closed).
func (o *openConns) add(se *session) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		se.tc.Conn.Close()
		return false
	}
	se.prev = &o.root
	se.next = o.root.next
	o.root.next.prev = se
	o.root.next = se
	return true
}

func (o *openConns) remove(se *session) {
	o.mu.Lock()
	se.prev.next = se.next
	se.next.prev = se.prev
	se.prev, se.next = nil, nil
	o.mu.Unlock()
}

// closeAll closes every connection served and those added after.
func (o *openConns) closeAll() {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.closed = true
	for se := o.root.next; se != &o.root; se = se.next {
		se.tc.Conn.Close()
	}
}

// serveConn answers the commands of one connection until it closes, sends
// the close command, idles out, or ctx ends (open then closes c). se is
// the serving goroutine's session, reused.
func (s *Server) serveConn(ctx context.Context, se *session, open *openConns, c net.Conn) {
	defer c.Close()
	se.tc = timedConn{Conn: c, tail: se.tc.tail[:0]}
	if !open.add(se) {
		return
	}
	defer func() {
		open.remove(se)
		// Nothing of the connection stays alive in the idle session.
		se.cs = conn{}
		se.g = grant{}
		se.tc.Conn = nil
		se.r.Reset(nil, 0)
		if cap(se.out) > maxKeptOut {
			se.out = nil
		}
	}()
	peer, err := se.peer.peerOf(c)
	if err != nil {
		s.o.Log.Warn("peer credentials", zap.Error(err))
	}
	var id identity
	if peer.Known {
		id = s.users.get(peer.UID)
	}
	st := s.settings() // this connection's, whatever a reload does meanwhile
	se.g.compile(st.access, peer, id, selfUID)
	g := &se.g
	uid, admitted := s.conns.open(peer, g.all, st.limits)
	if !admitted {
		s.o.Log.Warn("refused connection: too many connections", peerFields(peer, id.name)...)
		s.stats.refuse(RefusedConnections)
		s.refuseConn(c)
		return
	}
	defer s.conns.close(uid)
	se.cs = conn{grant: g, uid: uid, limited: !g.all && st.limits.RatePerUID > 0, set: st}
	cs := &se.cs
	tc := &se.tc
	tc.idle, tc.read = st.idle, st.limits.ReadTimeout
	r := &se.r
	r.Reset(tc, st.maxMessage)
	// out holds replies not yet written: while the client has pipelined
	// further complete messages, their replies join it and go out in one
	// write when no complete message is left to answer (or out is large).
	out := se.out[:0]
	defer func() { se.out = out[:0] }()
	for {
		msg, err := r.ReadMessage()
		if err != nil {
			if errors.Is(err, protocol.ErrTooLarge) {
				s.stats.refuse(RefusedLimits)
				out, _ = protocol.AppendReply(out, protocol.ReplyProtocol, 1, &protocol.Exception{
					Class: protocol.ClassValueError,
					Args:  []any{fmt.Sprintf("message larger than %d bytes", st.maxMessage)},
				})
				if out, err = s.flush(tc, r, out, time.Now()); err != nil {
					return
				}
				continue
			}
			// EOF, the close command, an idle or read timeout, or shutdown;
			// replies still held are written first (the close command
			// arrives pipelined after the requests it closes).
			// (A write that times out ends the connection below.)
			if len(out) > 0 {
				tc.Write(out)
			}
			return
		}
		var stop bool
		var end time.Time
		out, stop, end = s.handle(ctx, cs, out, msg)
		if stop {
			// Only now: the client that said `stop` waits for its reply.
			tc.writeAt(out, end)
			s.stopOnce.Do(func() {
				if s.o.Stop != nil {
					s.o.Stop()
				}
			})
			return
		}
		if out, err = s.flush(tc, r, out, end); err != nil {
			return
		}
	}
}

// maxHeld bounds the replies held for a pipelining client before they are
// written anyway.
const maxHeld = 16 << 10

// flush writes the replies in out unless another complete message is
// already buffered in r (and out is not large): a client that pipelines
// gets its replies in one write. It returns out emptied, or the write's
// error. now is the time, for the write deadline.
func (s *Server) flush(tc *timedConn, r *protocol.Reader, out []byte, now time.Time) ([]byte, error) {
	if len(out) < maxHeld && r.Buffered() {
		return out, nil
	}
	_, err := tc.writeAt(out, now)
	return out[:0], err
}

// refuseConn answers a connection over a connection limit with one
// "ERROR: too many connections" (fail2ban's shape for a request it
// refuses) and closes it. It first waits briefly for the request, so the
// client reads the reply rather than failing to write to a closed socket.
func (s *Server) refuseConn(c net.Conn) {
	c.SetDeadline(time.Now().Add(time.Second))
	proto := protocol.ReplyProtocol
	if msg, err := protocol.NewReader(c, s.settings().maxMessage).ReadMessage(); err == nil && len(msg) > 1 && msg[0] == 0x80 {
		proto = int(msg[1])
	}
	c.Write(protocol.AppendLoadError(nil, proto, errTooManyConns))
}

// handle decodes one message, runs it, and appends the framed reply to dst.
// stop reports a `stop` command: the daemon shuts down after the reply;
// end is when the reply was encoded.
func (s *Server) handle(ctx context.Context, cs *conn, dst, msg []byte) (out []byte, stop bool, end time.Time) {
	start := time.Now()
	var req request
	var items []any
	words, proto, fast := protocol.DecodeWords(msg)
	var err error
	if fast {
		// Nearly every request: a list of strings, decoded without
		// boxing each into an interface.
		req = parseWords(words)
	} else {
		items, proto, err = protocol.Decode(msg)
		if err != nil {
			// fail2ban answers a message it cannot load with a bare pickled
			// string "ERROR: ..." rather than a (1, exception) tuple; clients
			// expect that shape.
			s.stats.refuse(RefusedMalformed)
			s.o.Log.Warn("refused message", append(peerFields(cs.grant.peer, cs.grant.name), zap.Error(err), zap.Int("bytes", len(msg)))...)
			return protocol.AppendLoadError(dst, proto, err), false, time.Now()
		}
		req, err = parseRequest(items)
	}
	if err != nil {
		s.stats.refuse(RefusedMalformed)
	} else {
		err = s.admit(cs, &req, start)
	}
	if err != nil {
		out, _ = protocol.AppendReply(dst, proto, 1, toException(err))
		return out, false, time.Now()
	}
	res, err := s.runAt(ctx, &req, items, &cs.call, start)
	failed := err != nil
	n := len(dst)
	if err != nil {
		out, err = protocol.AppendReply(dst, proto, 1, toException(err))
	} else {
		out, err = protocol.AppendReply(dst, proto, 0, res.value)
	}
	if err != nil {
		// A result we cannot encode is a bug of ours; say so rather than hang the client.
		s.o.Log.Error("encode reply", zap.Error(err))
		out, _ = protocol.AppendReply(dst[:n], proto, 1, &protocol.Exception{Class: protocol.ClassException, Args: []any{"internal error: " + err.Error()}})
		failed = true
	}
	end = time.Now()
	s.stats.answered(&req, failed, end.Sub(start))
	return out, res.stop, end
}

// admit is the one place that decides whether a parsed command runs:
// access rules, then the uid's rate, then the per-command limits. A
// refusal is logged with the peer; state-changing commands that pass are
// logged with it too (attempts only at debug: they are the hot path).
func (s *Server) admit(cs *conn, r *request, now time.Time) error {
	g := cs.grant
	if err := g.check(r); err != nil {
		s.stats.refuse(RefusedAccess)
		s.o.Log.Warn("refused command", append(peerFields(g.peer, g.name), zap.Strings("args", r.Args), zap.Stringer("class", r.class), zap.Error(err))...)
		return err
	}
	if cs.limited && !cs.uid.bucket.take(now, cs.set.limits.RatePerUID, cs.set.limits.RateBurst) {
		// Not logged per command: a client over its rate would flood the
		// log at the rate it is refused.
		s.stats.refuse(RefusedRate)
		return errRate(g.peer, cs.set.limits)
	}
	if err := limitCommand(r, cs.set.limits); err != nil {
		s.stats.refuse(RefusedLimits)
		s.o.Log.Warn("refused command", append(peerFields(g.peer, g.name), zap.String("command", r.Args[0]), zap.Int("words", len(r.Args)), zap.Error(err))...)
		return err
	}
	if r.class != protocol.ClassRead && r.class != protocol.ClassReport {
		s.o.Log.Info("command", append(peerFields(g.peer, g.name), zap.Strings("args", r.Args), zap.Stringer("class", r.class))...)
	} else if ce := s.o.Log.Check(zapcore.DebugLevel, "command"); ce != nil {
		ce.Write(append(peerFields(g.peer, g.name), zap.Strings("args", r.Args))...)
	}
	return nil
}
