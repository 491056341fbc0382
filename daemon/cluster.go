package daemon

import (
	"net/netip"

	"go.uber.org/zap"

	"github.com/banserver/banserver/cluster"
	"github.com/banserver/banserver/config"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/server"
)

// clusterHooks are the jail manager's doors to the cluster node, made
// before the node exists (the node needs the manager): they do nothing
// until set, which Run does before any jail is added.
type clusterHooks struct {
	node *cluster.Node // nil without a cluster; set once, before jails exist
}

// failure is jail.Options.OnFailure.
func (h *clusterHooks) failure(f jail.Failure) {
	if h.node != nil {
		h.node.Failure(f)
	}
}

// event hands the jails' events to the node, which shares the shared
// jails' own bans, unbans and prolongations.
func (h *clusterHooks) event(ev jail.Event) {
	if h.node != nil {
		h.node.Event(ev)
	}
}

// history is the ban count bantime.increment uses: the store's, or the
// cluster's when that is higher (bans made on other nodes, including
// those that ended while this node was away).
func (h *clusterHooks) history(store func(string, netip.Prefix, bool) int) func(string, netip.Prefix, bool) int {
	return func(name string, p netip.Prefix, overall bool) int {
		n := 0
		if store != nil {
			n = store(name, p, overall)
		}
		if h.node != nil {
			n = max(n, h.node.Count(name, p, overall))
		}
		return n
	}
}

// newClusterNode joins the cluster the config names, or returns nil.
func newClusterNode(c config.Cluster, jails *jail.Manager, log *zap.Logger) (*cluster.Node, error) {
	if !c.Enabled() {
		return nil, nil
	}
	return cluster.New(cluster.Options{URL: c.Redis, Node: c.Node, Prefix: c.Prefix, Log: log}, jails)
}

// clusterStatus is server.Options.Cluster.
func clusterStatus(n *cluster.Node) func() server.ClusterStatus {
	return func() server.ClusterStatus {
		st := n.Status()
		return server.ClusterStatus{
			Node:      st.Node,
			Redis:     st.URL,
			Connected: st.Connected,
			Since:     st.Since,
			Lag:       st.Lag,
			Pending:   st.Pending,
			Dropped:   int64(st.DroppedFailures + st.DroppedChanges),
			LastError: st.LastError,
		}
	}
}
