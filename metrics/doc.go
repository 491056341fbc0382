// Package metrics serves banserver's Prometheus metrics. It keeps no
// counters of its own: its collector reads, at scrape time, what the
// other packages count anyway (jail.Manager.Counters, server.Server.Stats,
// actions.Queue.ActionStats, store.DB.CommitStats, logjail.Manager.FileStats,
// cluster.Node.Status), so a scrape costs the daemon's hot paths nothing
// and a daemon without metrics pays nothing for them. Those counters are
// atomics or fields under locks the packages take anyway; latencies are
// kept in package latency's lock-free histograms.
//
// Names follow Prometheus' conventions: the banserver_ prefix, _total
// for counters, seconds for times. The Go runtime's and the process's
// metrics (go_*, process_*) come from client_golang's collectors.
package metrics
