// Package load is the client side of the benchmarks: it drives a
// fail2ban-protocol Unix socket with pre-encoded requests from several
// clients, persistent or connecting per request, and summarises replies,
// failures and latency. cmd/banbench and the bench package's Go benchmarks
// both use it, so the two measure the same thing.
package load

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/banserver/banserver/protocol"
)

// Mode says how clients use connections.
type Mode string

// Connection modes.
const (
	// Persistent clients keep one connection for all their requests, as
	// fail2ban-client in interactive mode or a long-lived daemon would.
	Persistent Mode = "persistent"
	// Connect clients open one connection per request, as PHP-FPM workers
	// do: connect, send, read the reply, send the close command, close.
	Connect Mode = "connect"
)

// maxReply caps a reply; the benchmark's replies are tens of bytes.
const maxReply = 1 << 20

// refusedBackoff is how long a persistent client waits after a refused
// connect before it dials again.
const refusedBackoff = time.Millisecond

// closeMsg ends a session politely, as fail2ban's CSocket.close does.
var closeMsg = []byte(protocol.CloseCommand + protocol.EndCommand)

// Config describes one run. A run is always bounded: by N, by Duration,
// or by both (whichever comes first).
type Config struct {
	Socket  string // Unix socket path
	Clients int    // concurrent clients
	Mode    Mode   // Persistent or Connect
	Cmd     string // CmdAttempt, CmdBanIP, CmdPing or CmdMix
	Jail    string // jail named in attempt/banip
	Pool    int    // distinct addresses
	// PerBanIP is how many addresses one banip request carries (default
	// 1): bulk ban lists send many per command.
	PerBanIP int
	N        int64         // total requests (0: bounded by Duration only)
	Duration time.Duration // wall-time bound (0: bounded by N only)
	Warmup   int64         // requests sent first and not measured
	// Verify decodes every reply fully instead of only the leading code;
	// slower on the client, so off for throughput runs.
	Verify bool
	// Requests, when set, replaces the requests built from Cmd/Jail/Pool.
	Requests [][]byte
}

// Result summarises a run. Requests = Replies + Refused + IOErrors.
type Result struct {
	Requests     int64         `json:"requests"`      // requests tried
	Replies      int64         `json:"replies"`       // replies received, ok or not
	OK           int64         `json:"ok"`            // replies with code 0
	ErrorReplies int64         `json:"error_replies"` // replies with code 1 (exception) or -1 ("ERROR: ..." string)
	Refused      int64         `json:"refused"`       // connects refused (ECONNREFUSED, or EAGAIN: backlog full)
	IOErrors     int64         `json:"io_errors"`     // other connect, write or read failures
	Elapsed      time.Duration `json:"elapsed_ns"`
	Rate         float64       `json:"rate"` // replies per second
	P50          time.Duration `json:"p50_ns"`
	P99          time.Duration `json:"p99_ns"`
	Max          time.Duration `json:"max_ns"`
	// FirstError is the first non-refusal error seen, for diagnosis.
	FirstError string `json:"first_error,omitempty"`
}

// String renders the result as one table line.
func (r Result) String() string {
	return fmt.Sprintf("requests=%d replies=%d rate=%.0f/s p50=%v p99=%v max=%v error_replies=%d refused=%d io_errors=%d",
		r.Requests, r.Replies, r.Rate, r.P50, r.P99, r.Max, r.ErrorReplies, r.Refused, r.IOErrors)
}

func (c *Config) check() error {
	switch {
	case c.Socket == "":
		return fmt.Errorf("%w: no socket", ErrBadConfig)
	case c.Clients < 1:
		return fmt.Errorf("%w: clients %d < 1", ErrBadConfig, c.Clients)
	case c.Mode != Persistent && c.Mode != Connect:
		return fmt.Errorf("%w: mode %q", ErrBadConfig, c.Mode)
	case c.N <= 0 && c.Duration <= 0:
		return fmt.Errorf("%w: neither a request count nor a duration: the run would not end", ErrBadConfig)
	case c.N < 0 || c.Duration < 0 || c.Warmup < 0:
		return fmt.Errorf("%w: negative count or duration", ErrBadConfig)
	}
	return nil
}

// Run drives the socket as cfg says and returns what it saw. Failures of
// single requests are counted in the Result, not returned; the error is for
// a config that cannot run or a context ended before the run began. A
// context cancelled mid-run ends the run early with the counts so far.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.check(); err != nil {
		return Result{}, err
	}
	reqs := cfg.Requests
	if reqs == nil {
		var err error
		if cfg.Cmd == CmdBanIP && cfg.PerBanIP > 1 {
			reqs, err = BuildBanIPBatches(cfg.Jail, cfg.Pool, cfg.PerBanIP)
		} else {
			reqs, err = BuildRequests(cfg.Cmd, cfg.Jail, cfg.Pool)
		}
		if err != nil {
			return Result{}, err
		}
	}
	if len(reqs) == 0 {
		return Result{}, fmt.Errorf("%w: no requests", ErrBadConfig)
	}
	if cfg.Warmup > 0 {
		w := cfg
		w.N, w.Warmup, w.Requests = cfg.Warmup, 0, reqs
		if _, err := Run(ctx, w); err != nil {
			return Result{}, fmt.Errorf("load: warmup: %w", err)
		}
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("load: %w", err)
	}
	if cfg.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cfg.Duration)
		defer cancel()
	}

	r := &run{cfg: cfg, reqs: reqs, limit: cfg.N, ctx: ctx}
	if r.limit <= 0 {
		r.limit = 1<<63 - 1
	}
	workers := make([]worker, cfg.Clients)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &workers[i]
		w.r = r
		wg.Go(w.loop)
	}
	wg.Wait()
	elapsed := time.Since(start)

	var res Result
	var h Histogram
	for i := range workers {
		w := &workers[i]
		res.Requests += w.requests
		res.Replies += w.replies
		res.OK += w.ok
		res.ErrorReplies += w.errReplies
		res.Refused += w.refused
		res.IOErrors += w.ioErrors
		if res.FirstError == "" && w.firstErr != nil {
			res.FirstError = w.firstErr.Error()
		}
		h.Merge(&w.hist)
	}
	res.Elapsed = elapsed
	if elapsed > 0 {
		res.Rate = float64(res.Replies) / elapsed.Seconds()
	}
	res.P50, res.P99, res.Max = h.Percentile(50), h.Percentile(99), h.Max()
	return res, nil
}

// run is the state the workers share.
type run struct {
	cfg   Config
	reqs  [][]byte
	limit int64
	next  atomic.Int64 // next request index to hand out
	ctx   context.Context
}

// take hands out the next request, or false when the run is over.
func (r *run) take() ([]byte, bool) {
	if r.ctx.Err() != nil {
		return nil, false
	}
	i := r.next.Add(1) - 1
	if i >= r.limit {
		return nil, false
	}
	return r.reqs[i%int64(len(r.reqs))], true
}

// worker is one client. Its counters are its own, summed after the run,
// so the hot loop touches no shared cache line but the request index.
type worker struct {
	r *run

	conn net.Conn
	rd   *protocol.Reader

	requests, replies, ok, errReplies, refused, ioErrors int64
	firstErr                                             error
	hist                                                 Histogram
	_                                                    [64]byte // keep neighbours' counters off this cache line
}

func (w *worker) loop() {
	defer w.hangUp()
	for {
		req, ok := w.r.take()
		if !ok {
			return
		}
		w.requests++
		t0 := time.Now()
		var err error
		if w.r.cfg.Mode == Connect {
			err = w.once(req)
		} else {
			err = w.persistent(req)
		}
		if err != nil {
			w.fail(err)
			if w.r.cfg.Mode == Persistent && IsRefused(err) {
				// A persistent client that cannot get in waits a little
				// before dialling again, as a real one would: spinning
				// would steal the CPU the server needs to drain its
				// backlog (fail2ban's is 1) and turn one refusal into
				// thousands. Connect clients do not wait: a PHP worker
				// fails that request and moves on to the next.
				time.Sleep(refusedBackoff)
			}
			continue
		}
		w.hist.Record(time.Since(t0))
	}
}

// persistent sends req on the worker's connection, dialling it if needed.
// A refused dial is counted by the caller and not retried here: the next
// request dials again, so every refusal shows in the result.
func (w *worker) persistent(req []byte) error {
	if w.conn == nil {
		if err := w.dial(); err != nil {
			return err
		}
	}
	if err := w.roundTrip(req); err != nil {
		w.drop()
		return err
	}
	return nil
}

// once is one PHP-style session: connect, one command, close command, close.
func (w *worker) once(req []byte) error {
	if err := w.dial(); err != nil {
		return err
	}
	err := w.roundTrip(req)
	if err == nil {
		// Sent the way fail2ban's CSocket.close does; the server may
		// already be closing, so a failure here is not the request's.
		_, _ = w.conn.Write(closeMsg)
	}
	w.drop()
	return err
}

func (w *worker) dial() error {
	c, err := net.Dial("unix", w.r.cfg.Socket)
	if err != nil {
		return err
	}
	w.conn = c
	w.rd = protocol.NewReader(c, maxReply)
	return nil
}

func (w *worker) drop() {
	if w.conn != nil {
		w.conn.Close()
		w.conn, w.rd = nil, nil
	}
}

// hangUp ends a persistent session with the close command.
func (w *worker) hangUp() {
	if w.conn != nil {
		_, _ = w.conn.Write(closeMsg)
		w.drop()
	}
}

// errReply marks a reply that arrived but is not a success; it is not an
// I/O failure, so the connection stays up.
type errReply struct{ code int }

func (e errReply) Error() string { return fmt.Sprintf("load: reply code %d", e.code) }

func (w *worker) roundTrip(req []byte) error {
	if _, err := w.conn.Write(req); err != nil {
		return fmt.Errorf("load: write: %w", err)
	}
	msg, err := w.rd.ReadMessage()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF // the server hung up before replying
		}
		return fmt.Errorf("load: read reply: %w", err)
	}
	w.replies++
	code, err := replyCode(msg, w.r.cfg.Verify)
	if err != nil {
		w.errReplies++
		w.note(err)
		return nil
	}
	if code != 0 {
		w.errReplies++
		w.note(errReply{code})
		return nil
	}
	w.ok++
	return nil
}

func (w *worker) note(err error) {
	if w.firstErr == nil {
		w.firstErr = err
	}
}

// fail sorts a failed request into refused or other I/O errors.
func (w *worker) fail(err error) {
	if IsRefused(err) {
		w.refused++
		return
	}
	w.ioErrors++
	w.note(err)
}

// IsRefused tells a connect the server did not take: nobody listening
// (ECONNREFUSED) or a full listen backlog, which a Unix socket reports to
// a non-blocking connect as EAGAIN. fail2ban-server listens with a backlog
// of 1, so this is what PHP workers see from it under load.
func IsRefused(err error) bool {
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EAGAIN)
}

// replyCode returns a reply's code. Both fail2ban and banserver pickle
// (code, value) with protocol 2 or later, so the code is the first opcode
// after PROTO and an optional FRAME: BININT1 0 or 1. Reading just that
// keeps the client's cost per reply near zero on a 2-core machine shared
// with the server; anything else, or verify, goes through the full decoder.
func replyCode(msg []byte, verify bool) (int, error) {
	if !verify {
		p := msg
		if len(p) >= 2 && p[0] == 0x80 { // PROTO n
			p = p[2:]
		}
		if len(p) >= 9 && p[0] == 0x95 { // FRAME len8
			p = p[9:]
		}
		if len(p) >= 2 && p[0] == 'K' && (p[1] == 0 || p[1] == 1) {
			return int(p[1]), nil
		}
	}
	code, _, err := protocol.DecodeReply(msg)
	if err != nil {
		return 0, fmt.Errorf("load: decode reply: %w", err)
	}
	return code, nil
}
