package server

import (
	"fmt"
	"time"

	"github.com/banserver/banserver/protocol"
)

// This file: the cluster's state, in `status` and `cluster`.

// ClusterStatus is what the daemon's cluster node says of itself.
type ClusterStatus struct {
	Node      string // this node's name in the cluster
	Redis     string // the Redis URL, its password hidden
	Connected bool
	Since     time.Time     // when it last connected or lost the connection
	Lag       time.Duration // how late the last event applied from another node arrived
	Pending   int           // failures and bans made here, not yet sent
	Dropped   int64         // failures dropped from a full queue while Redis was away
	LastError string        // the last error talking to Redis ("" when none)
}

// Summary is the one line `status` shows.
func (c ClusterStatus) Summary() string {
	if c.Connected {
		return fmt.Sprintf("connected to %s as %s, lag %s", c.Redis, c.Node, c.Lag.Round(time.Microsecond))
	}
	s := fmt.Sprintf("disconnected from %s since %s, counting and banning locally (%d to send)",
		c.Redis, c.Since.Format(time.RFC3339), c.Pending)
	if c.LastError != "" {
		s += ": " + c.LastError
	}
	return s
}

// cmdCluster is banserver's `cluster`: the cluster's state, a line each.
func (s *Server) cmdCluster(*call) (result, error) {
	if s.o.Cluster == nil {
		return result{}, &protocol.Exception{Class: protocol.ClassException,
			Args: []any{"no cluster: set cluster.redis in the configuration and shared: true on the jails to share"}}
	}
	c := s.o.Cluster()
	since := ""
	if !c.Since.IsZero() {
		since = c.Since.Format(time.RFC3339)
	}
	return ok([]any{
		protocol.Tuple{"Node", c.Node},
		protocol.Tuple{"Redis", c.Redis},
		protocol.Tuple{"Connected", c.Connected},
		protocol.Tuple{"Since", since},
		protocol.Tuple{"Lag (ms)", float64(c.Lag.Microseconds()) / 1000},
		protocol.Tuple{"Pending", int64(c.Pending)},
		protocol.Tuple{"Dropped", c.Dropped},
		protocol.Tuple{"Last error", c.LastError},
	})
}
