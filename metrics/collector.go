package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/cluster"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/logjail"
	"github.com/banserver/banserver/metrics/latency"
	"github.com/banserver/banserver/server"
	"github.com/banserver/banserver/store"
	"github.com/banserver/banserver/version"
)

// Sources are what the metrics read. A nil field's metrics are left out:
// no store, no store metrics; no cluster, no cluster metrics.
type Sources struct {
	Jails  *jail.Manager
	Server *server.Server
	Queue  *actions.Queue
	Store  *store.DB
	// Restores returns the latest restore of each jail's stored bans.
	Restores func() []Restore
	// LogJails are the log jails' readers; their metrics appear once a
	// log jail has read a line.
	LogJails *logjail.Manager
	// Cluster returns the cluster node's state.
	Cluster func() cluster.Status
}

// Restore is the latest restore of one jail's stored bans.
type Restore struct {
	Jail string
	// Took is how long reading and restoring the bans took.
	Took time.Duration
	// Bans is how many came back (ended ones and those the jail would
	// not make now are not restored).
	Bans int
}

// The metrics, by source.
var (
	buildInfo = prometheus.NewDesc("banserver_build_info", "Always 1; version is banserver's version.", []string{"version"}, nil)

	jailFailures = prometheus.NewDesc("banserver_jail_failures_total", "Failures counted by the jail since it was added (fail2ban's Total failed).", []string{"jail"}, nil)
	jailBans     = prometheus.NewDesc("banserver_jail_bans_total", "Bans made by the jail since it was added, restored ones included (fail2ban's Total banned).", []string{"jail"}, nil)
	jailUnbans   = prometheus.NewDesc("banserver_jail_unbans_total", "Bans lifted by the jail since it was added, for any cause: a command, expiry, the cluster.", []string{"jail"}, nil)
	jailFailed   = prometheus.NewDesc("banserver_jail_failed", "Addresses with failures being tracked by the jail now (fail2ban's Currently failed).", []string{"jail"}, nil)
	jailBanned   = prometheus.NewDesc("banserver_jail_banned", "Live bans of the jail (fail2ban's Currently banned).", []string{"jail"}, nil)

	commands        = prometheus.NewDesc("banserver_commands_total", "Commands answered, by table row and access class; result is ok or error (an exception). Refused commands are not counted here.", []string{"command", "class", "result"}, nil)
	commandDuration = prometheus.NewDesc("banserver_command_duration_seconds", "Time from a command's message read to its reply encoded.", []string{"command", "class"}, nil)
	refusals        = prometheus.NewDesc("banserver_refusals_total", "Commands and connections refused, by reason: access (rules), rate (rate_per_uid), limits (max_addresses, max_message), connections (max_conns, max_conns_per_uid), malformed (no command).", []string{"reason"}, nil)
	connections     = prometheus.NewDesc("banserver_connections_total", "Connections accepted on the socket, those refused over a connection limit included.", nil, nil)
	connectionsOpen = prometheus.NewDesc("banserver_connections_open", "Connections open on the socket now.", nil, nil)

	queueDepth     = prometheus.NewDesc("banserver_action_queue_depth", "Bans and unbans waiting for the actions worker (one per jail and address).", nil, nil)
	actionChanges  = prometheus.NewDesc("banserver_action_changes_total", "Bans and unbans an action applied to the kernel or its log, by action and op.", []string{"action", "op"}, nil)
	actionFailures = prometheus.NewDesc("banserver_action_failures_total", "Calls of an action that failed, each retry counted, by action and op.", []string{"action", "op"}, nil)

	commitDuration = prometheus.NewDesc("banserver_store_commit_duration_seconds", "Time of each ban store commit: one transaction with its fsync, carrying every change queued meanwhile.", nil, nil)
	commitFailures = prometheus.NewDesc("banserver_store_commit_failures_total", "Ban store commits that failed; their changes were refused.", nil, nil)
	storeChanges   = prometheus.NewDesc("banserver_store_changes_total", "Changes the ban store's commits carried.", nil, nil)
	storeFailing   = prometheus.NewDesc("banserver_store_failing", "1 while the ban store's latest commit failed, else 0.", nil, nil)
	restoreTime    = prometheus.NewDesc("banserver_store_restore_duration_seconds", "Time the latest restore of the jail's stored bans took.", []string{"jail"}, nil)
	restoredBans   = prometheus.NewDesc("banserver_store_restored_bans", "Bans the latest restore brought back to the jail.", []string{"jail"}, nil)

	logRead    = prometheus.NewDesc("banserver_log_lines_read_total", "Log lines read by the jail, by file (journal for the systemd journal).", []string{"jail", "file"}, nil)
	logMatched = prometheus.NewDesc("banserver_log_lines_matched_total", "Log lines that gave a failure the jail counted.", []string{"jail", "file"}, nil)
	logIgnored = prometheus.NewDesc("banserver_log_lines_ignored_total", "Log lines that gave failures the jail did not count: an ignored address, an idle jail, a line older than findtime, a host that is no address.", []string{"jail", "file"}, nil)
	logErrors  = prometheus.NewDesc("banserver_log_line_errors_total", "Log lines the filter failed on (a regex over its budget).", []string{"jail", "file"}, nil)

	clusterConnected = prometheus.NewDesc("banserver_cluster_connected", "1 while the node is connected to the cluster's Redis, else 0.", nil, nil)
	clusterLag       = prometheus.NewDesc("banserver_cluster_lag_seconds", "How late the latest event from another node arrived: its Redis stream time to its application here.", nil, nil)
	clusterQueued    = prometheus.NewDesc("banserver_cluster_queued", "Failures and changes queued for the cluster, not yet sent.", nil, nil)
	clusterDropped   = prometheus.NewDesc("banserver_cluster_dropped_total", "Failures and changes the node's queues dropped when full, by kind.", []string{"kind"}, nil)
	clusterResyncs   = prometheus.NewDesc("banserver_cluster_resyncs_total", "Full resyncs of the node with the cluster.", nil, nil)
)

// collector is the banserver collector: it reads Sources at each scrape.
type collector struct{ src Sources }

// NewCollector returns a collector reading src.
func NewCollector(src Sources) prometheus.Collector { return collector{src} }

// Describe sends the descriptions of the metrics src can give.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- buildInfo
	send := func(on bool, ds ...*prometheus.Desc) {
		if on {
			for _, d := range ds {
				ch <- d
			}
		}
	}
	send(c.src.Jails != nil, jailFailures, jailBans, jailUnbans, jailFailed, jailBanned)
	send(c.src.Server != nil, commands, commandDuration, refusals, connections, connectionsOpen)
	send(c.src.Queue != nil, queueDepth, actionChanges, actionFailures)
	send(c.src.Store != nil, commitDuration, commitFailures, storeChanges, storeFailing)
	send(c.src.Restores != nil, restoreTime, restoredBans)
	send(c.src.LogJails != nil, logRead, logMatched, logIgnored, logErrors)
	send(c.src.Cluster != nil, clusterConnected, clusterLag, clusterQueued, clusterDropped, clusterResyncs)
}

// Collect reads the sources.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	histogram := func(d *prometheus.Desc, s latency.Snapshot, labels ...string) {
		ch <- prometheus.MustNewConstHistogram(d, s.Count, s.Sum, s.Buckets(), labels...)
	}
	gauge(buildInfo, 1, version.Version)
	if c.src.Jails != nil {
		for _, j := range c.src.Jails.Counters() {
			counter(jailFailures, float64(j.Failures), j.Name)
			counter(jailBans, float64(j.Bans), j.Name)
			counter(jailUnbans, float64(j.Unbans), j.Name)
			gauge(jailFailed, float64(j.Failed), j.Name)
			gauge(jailBanned, float64(j.Banned), j.Name)
		}
	}
	if c.src.Server != nil {
		st := c.src.Server.Stats()
		for _, cs := range st.Commands {
			class := cs.Class.String()
			counter(commands, float64(cs.Latency.Count-min(cs.Errors, cs.Latency.Count)), cs.Name, class, "ok")
			counter(commands, float64(cs.Errors), cs.Name, class, "error")
			histogram(commandDuration, cs.Latency, cs.Name, class)
		}
		for _, r := range st.Refusals {
			counter(refusals, float64(r.Count), r.Reason.String())
		}
		counter(connections, float64(st.Accepted))
		gauge(connectionsOpen, float64(st.Open))
	}
	if c.src.Queue != nil {
		gauge(queueDepth, float64(c.src.Queue.Depth()))
		for _, a := range c.src.Queue.ActionStats() {
			counter(actionChanges, float64(a.Applied), a.Action, a.Op.String())
			counter(actionFailures, float64(a.Failed), a.Action, a.Op.String())
		}
	}
	if c.src.Store != nil {
		cs := c.src.Store.CommitStats()
		histogram(commitDuration, cs.Latency)
		counter(commitFailures, float64(cs.Failed))
		counter(storeChanges, float64(cs.Changes))
		gauge(storeFailing, boolValue(c.src.Store.Health().Failing))
	}
	if c.src.Restores != nil {
		for _, r := range c.src.Restores() {
			gauge(restoreTime, r.Took.Seconds(), r.Jail)
			gauge(restoredBans, float64(r.Bans), r.Jail)
		}
	}
	if c.src.LogJails != nil {
		for _, f := range c.src.LogJails.FileStats() {
			counter(logRead, float64(f.Read), f.Jail, f.File)
			counter(logMatched, float64(f.Matched), f.Jail, f.File)
			counter(logIgnored, float64(f.Ignored), f.Jail, f.File)
			counter(logErrors, float64(f.Errors), f.Jail, f.File)
		}
	}
	if c.src.Cluster != nil {
		s := c.src.Cluster()
		gauge(clusterConnected, boolValue(s.Connected))
		gauge(clusterLag, s.Lag.Seconds())
		gauge(clusterQueued, float64(s.Pending))
		counter(clusterDropped, float64(s.DroppedFailures), "failures")
		counter(clusterDropped, float64(s.DroppedChanges), "changes")
		counter(clusterResyncs, float64(s.Resyncs))
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
