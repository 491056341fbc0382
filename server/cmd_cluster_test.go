package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/server"
)

// TestClusterCommand: with a cluster, `status` carries its one-line
// summary and `cluster` every field; without one, `status` keeps
// fail2ban's two lines and `cluster` says how to set one up.
func TestClusterCommand(t *testing.T) {
	since := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name        string
		st          *server.ClusterStatus
		status      string
		clusterCode int
		cluster     string
	}{
		{name: "none", status: "[[Number of jail 1] [Jail list api]]", clusterCode: 1, cluster: "no cluster: set cluster.redis"},
		{name: "connected",
			st:      &server.ClusterStatus{Node: "web1", Redis: "unix:///run/redis.sock", Connected: true, Since: since, Lag: 1500 * time.Microsecond, Pending: 2},
			status:  "[Cluster connected to unix:///run/redis.sock as web1, lag 1.5ms]",
			cluster: "[[Node web1] [Redis unix:///run/redis.sock] [Connected true] [Since 2026-11-30T12:00:00Z] [Lag (ms) 1.5] [Pending 2] [Dropped 0] [Last error ]]"},
		{name: "disconnected",
			st:      &server.ClusterStatus{Node: "web1", Redis: "redis://r:6379", Since: since, Pending: 7, LastError: "dial tcp: connection refused"},
			status:  "[Cluster disconnected from redis://r:6379 since 2026-11-30T12:00:00Z, counting and banning locally (7 to send): dial tcp: connection refused]",
			cluster: "[Connected false]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var o server.Options
			if c.st != nil {
				st := *c.st
				o.Cluster = func() server.ClusterStatus { return st }
			}
			cl := dial(t, start(t, o, apiJail(3)).sock)
			if code, v := cl.cmd("status"); code != 0 || !strings.Contains(fmt.Sprint(v), c.status) {
				t.Errorf("status = (%d, %v), want it to hold %s", code, v, c.status)
			}
			code, v := cl.cmd("cluster")
			if code != c.clusterCode || !strings.Contains(fmt.Sprint(v), c.cluster) {
				t.Errorf("cluster = (%d, %v), want (%d, ...%s...)", code, v, c.clusterCode, c.cluster)
			}
		})
	}
}
