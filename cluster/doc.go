// Package cluster shares the failures and bans of shared jails between
// banserver nodes through Redis.
//
// Each node counts and bans locally first: the attempt's reply never waits
// for Redis. Failures are queued (Node.Failure, from jail.Options.OnFailure)
// and sent in pipelined batches to a script that keeps, per jail and key,
// one sorted set of failure times over all nodes: when the cluster's count
// reaches maxretry within findtime, the node whose failure completed it
// bans (jail.Manager.ClusterReached). Bans, prolongations and unbans this
// node made (Node.Event, from jail.Options.OnEvent) go to scripts that keep
// the cluster's live bans (the later end wins; an unban leaves a tombstone
// that rejects the ban's late republication) and append each change to a
// stream, which every node follows and applies through the jail's Cluster*
// methods, under its own rules (a node never bans its own addresses or its
// ignoreip, whatever the cluster says).
//
// A node starting, or one whose Redis came back empty (the epoch key
// changed), or one cut off for longer than the stream keeps, resyncs:
// republishes its live bans, then applies a snapshot of the cluster's. A
// node cut off for less replays the stream from the last entry it applied.
// While Redis is down or failing the node works alone, says so once in the
// log and in Status, and queues what it does (bounded: see Options).
//
// # Keys
//
// All under one hash tag (Options.Prefix, "{banserver}:" by default), so a
// Redis Cluster keeps them in one slot:
//
//	fail:JAIL|PREFIX   sorted set: one member per failure, scored by its time
//	bans               hash JAIL|PREFIX -> start|bantime|count|node
//	tombs              hash JAIL|PREFIX -> unban time|expiry
//	count:JAIL, counts hash PREFIX -> bans ever made (in the jail, in all), for bantime.increment
//	events             stream of ban, prolong and unban entries
//	epoch              random id, set when absent
//
// Times are unix microseconds from each node's clock: nodes are expected
// to keep their clocks in sync (NTP); ends agree to the microsecond.
package cluster
