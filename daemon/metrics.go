package daemon

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/banserver/banserver/cluster"
	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/metrics"
	"github.com/banserver/banserver/server"
)

// metricsSocketMode is the metrics socket's mode: its owner and group (the
// control socket's) may scrape.
const metricsSocketMode = 0o660

// metricsListener is where the daemon serves its metrics: a TCP listener,
// or a Unix socket the daemon removes when it stops.
type metricsListener struct {
	ln   net.Listener
	path string // the Unix socket's path, "" for TCP
}

// listenMetrics opens metrics.listen, or returns nil when it is off. A
// Unix socket is made as the control socket is (server.Listen: a live
// daemon's is refused, a stale one replaced), with its owner and group;
// an address in use refuses the start.
func listenMetrics(c config.Metrics, sock config.Socket) (*metricsListener, error) {
	if !c.Enabled() {
		return nil, nil
	}
	if !c.Unix() {
		ln, err := net.Listen("tcp", c.Listen)
		if err != nil {
			return nil, fmt.Errorf("daemon: metrics.listen: %w", err)
		}
		return &metricsListener{ln: ln}, nil
	}
	uid, err := lookupID(sock.Owner, false)
	if err != nil {
		return nil, err
	}
	gid, err := lookupID(sock.Group, true)
	if err != nil {
		return nil, err
	}
	ln, err := server.Listen(server.SocketOptions{Path: c.Listen, Mode: metricsSocketMode, UID: uid, GID: gid})
	if err != nil {
		return nil, fmt.Errorf("daemon: metrics.listen: %w", err)
	}
	return &metricsListener{ln: ln, path: c.Listen}, nil
}

// addr names where the metrics are, for the log.
func (m *metricsListener) addr() string {
	if m.path != "" {
		return m.path
	}
	return "http://" + m.ln.Addr().String() + metrics.Path
}

// close closes the listener if serve never ran, and removes the socket.
func (m *metricsListener) close() {
	if m == nil {
		return
	}
	m.ln.Close()
	if m.path != "" {
		server.Unlink(m.path)
	}
}

// serveMetrics serves the daemon's metrics on m until ctx ends.
func (d *daemon) serveMetrics(ctx context.Context, m *metricsListener, node *cluster.Node) error {
	src := metrics.Sources{
		Jails:    d.jails,
		Server:   d.srv,
		Queue:    d.queue,
		LogJails: d.logs,
	}
	if d.bans != nil {
		src.Store = d.bans.db
		src.Restores = d.bans.restores.list
	}
	if node != nil {
		src.Cluster = node.Status
	}
	return metrics.Serve(ctx, m.ln, metrics.Handler(metrics.NewRegistry(src)))
}

// restoreTimes keep the latest restore of each jail's stored bans, for
// metrics.
type restoreTimes struct {
	mu sync.Mutex // guards m
	m  map[string]metrics.Restore
}

// note records a restore of the jail.
func (r *restoreTimes) note(jail string, took time.Duration, bans int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]metrics.Restore{}
	}
	r.m[jail] = metrics.Restore{Jail: jail, Took: took, Bans: bans}
}

// list returns the latest restores, by jail.
func (r *restoreTimes) list() []metrics.Restore {
	r.mu.Lock()
	out := make([]metrics.Restore, 0, len(r.m))
	for _, x := range r.m {
		out = append(out, x)
	}
	r.mu.Unlock()
	slices.SortFunc(out, func(a, b metrics.Restore) int { return strings.Compare(a.Jail, b.Jail) })
	return out
}

// logMetrics says where the metrics are served.
func logMetrics(log *zap.Logger, m *metricsListener) {
	if m != nil {
		log.Info("metrics served", zap.String("at", m.addr()))
	}
}
