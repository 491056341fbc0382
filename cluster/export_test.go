package cluster

import "time"

// SetBackoff shortens the reconnect backoff for tests.
func (n *Node) SetBackoff(lo, hi time.Duration) { n.minBackoff, n.maxBackoff = lo, hi }

// Applied returns how many stream entries the node applied.
func (n *Node) Applied() int64 { return n.applied.Load() }

// ParseURL exposes parseURL.
var ParseURL = parseURL
