package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/banserver/banserver/jail"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"
)

// Batch sizes: failures per script call, and what one pipeline carries.
const (
	failBatch    = 128
	failPipeline = 1024
	changeBatch  = 256
	readCount    = 512
	// foreverTomb is how long the tombstone of an unbanned forever ban
	// rejects its republication by a node cut off meanwhile.
	foreverTomb = 365 * 24 * time.Hour
)

var allScripts = []*redis.Script{failScript, banScript, unbanScript, snapshotScript, readScript}

// Run connects to Redis and shares failures and bans until ctx ends, then
// returns nil. Redis down or failing is not an error: the node keeps
// counting and banning locally, says so once in the log and in Status,
// retries with backoff (100ms doubling to 5s), and when Redis is back
// publishes what it queued and catches up on what it missed. Run may be
// called again after it returned; only one Run at a time.
func (n *Node) Run(ctx context.Context) error {
	n.mu.Lock()
	if n.running {
		n.mu.Unlock()
		return errors.New("cluster: Run already running")
	}
	n.running = true
	n.mu.Unlock()
	c := redis.NewUniversalClient(n.ropts)
	defer func() {
		c.Close()
		n.mu.Lock()
		n.running, n.connected = false, false
		n.mu.Unlock()
	}()
	backoff := n.minBackoff
	for {
		up, err := n.session(ctx, c)
		if ctx.Err() != nil {
			return nil
		}
		if up {
			backoff = n.minBackoff
		}
		n.setDown(err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, n.maxBackoff)
	}
}

// setDown records that Redis cannot be reached, logging it once per outage.
func (n *Node) setDown(err error) {
	if err == nil {
		err = errors.New("cluster: connection ended")
	}
	n.mu.Lock()
	first := n.connected || (!n.everUp && n.lastErr == "")
	if n.connected || n.since.IsZero() {
		n.since = n.now()
	}
	n.connected = false
	n.lastErr = err.Error()
	n.mu.Unlock()
	if first {
		n.log.Warn("cluster: redis unreachable; counting and banning locally until it is back", zap.String("redis", n.shown), zap.Error(err))
	} else {
		n.log.Debug("cluster: redis still unreachable", zap.Error(err))
	}
}

// setUp records that the node is connected and caught up.
func (n *Node) setUp() {
	n.mu.Lock()
	ever, down := n.everUp, n.since
	n.connected, n.everUp, n.since = true, true, n.now()
	n.mu.Unlock()
	if ever || !down.IsZero() {
		n.log.Info(fmt.Sprintf("cluster: connected again after %s", n.now().Sub(down).Round(time.Millisecond)), zap.String("redis", n.shown))
	} else {
		n.log.Info("cluster: connected", zap.String("redis", n.shown))
	}
}

// session connects, catches up and then sends and follows until an error
// or the end of ctx; up reports whether it got as far as connected.
func (n *Node) session(ctx context.Context, c redis.UniversalClient) (up bool, err error) {
	if err := c.Ping(ctx).Err(); err != nil {
		return false, fmt.Errorf("cluster: ping: %w", err)
	}
	for _, s := range allScripts {
		if err := s.Load(ctx, c).Err(); err != nil {
			return false, fmt.Errorf("cluster: load script: %w", err)
		}
	}
	if err := n.checkEpoch(ctx, c); err != nil {
		return false, err
	}
	// The queue first: an unban this node made while cut off must be in
	// Redis before the snapshot, or the snapshot would ban again here
	// what this node lifted.
	if err := n.flush(ctx, c); err != nil {
		return false, err
	}
	n.mu.Lock()
	resync := n.lastID == ""
	n.mu.Unlock()
	if n.evs.takeLost() {
		resync = true
	}
	if resync {
		if err := n.resync(ctx, c); err != nil {
			return false, err
		}
	}
	n.setUp()
	sctx, cancel := context.WithCancel(ctx)
	errc := make(chan error, 2)
	go func() { errc <- n.sendLoop(sctx, c) }()
	go func() { errc <- n.follow(sctx, c) }()
	err = <-errc
	cancel()
	if err2 := <-errc; err == nil {
		err = err2
	}
	return true, err
}

// checkEpoch reads the cluster's epoch, setting it when absent: a changed
// epoch means Redis came back empty, so this node must republish its live
// bans and resync (lastID "" makes session do both).
func (n *Node) checkEpoch(ctx context.Context, c redis.UniversalClient) error {
	var rb [16]byte
	rand.Read(rb[:])
	if err := c.SetNX(ctx, n.k.epoch, hex.EncodeToString(rb[:]), 0).Err(); err != nil {
		return fmt.Errorf("cluster: epoch: %w", err)
	}
	ep, err := c.Get(ctx, n.k.epoch).Result()
	if err != nil {
		return fmt.Errorf("cluster: epoch: %w", err)
	}
	n.mu.Lock()
	changed := n.epoch != "" && n.epoch != ep
	n.epoch = ep
	if changed {
		n.lastID = ""
	}
	n.mu.Unlock()
	if changed {
		n.log.Warn("cluster: redis came back without its data; republishing this node's bans")
	}
	return nil
}

// sendLoop sends what is queued whenever something is.
func (n *Node) sendLoop(ctx context.Context, c redis.UniversalClient) error {
	for {
		if err := n.flush(ctx, c); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-n.wake:
		}
	}
}

// flush sends the queues until they are empty; what it sent leaves them
// only once Redis answered.
func (n *Node) flush(ctx context.Context, c redis.UniversalClient) error {
	var fs []queuedFailure
	var chs []change
	for {
		fs = n.fails.peek(fs[:0], failPipeline)
		if len(fs) > 0 {
			if err := n.sendFailures(ctx, c, fs); err != nil {
				return err
			}
			n.fails.commit(fs[len(fs)-1].seq + 1)
		}
		var end uint64
		chs, end = n.evs.peek(chs[:0], changeBatch)
		if len(chs) > 0 {
			if err := n.sendChanges(ctx, c, chs); err != nil {
				return err
			}
			n.evs.commit(end)
		}
		if len(fs) == 0 && len(chs) == 0 {
			return nil
		}
	}
}

// findMicros is a findtime as the failure script takes it.
func findMicros(d time.Duration) int64 {
	if d == jail.Forever || d <= 0 {
		return -1
	}
	return d.Microseconds()
}

// sendFailures counts fs in the cluster, several script calls in one
// pipeline, and bans here the keys whose cluster count reached maxretry.
func (n *Node) sendFailures(ctx context.Context, c redis.UniversalClient, fs []queuedFailure) error {
	now := micros(n.now())
	member := n.opts.Node + ":" + n.run
	pipe := c.Pipeline()
	var cmds []*redis.Cmd
	for i := 0; i < len(fs); i += failBatch {
		b := fs[i:min(i+failBatch, len(fs))]
		keys := make([]string, 0, len(b)+1)
		keys = append(keys, n.k.bans)
		args := make([]any, 0, 2+6*len(b))
		args = append(args, now, member)
		for _, f := range b {
			fld := field(f.Jail, f.Key.Masked())
			keys = append(keys, n.k.fail(fld))
			args = append(args, fld, micros(f.At), max(f.Count, 1), f.MaxRetry, findMicros(f.FindTime), f.seq)
		}
		cmds = append(cmds, failScript.EvalSha(ctx, pipe, keys, args...))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("cluster: send failures: %w", err)
	}
	for bi, cmd := range cmds {
		r, err := cmd.Slice()
		if err != nil {
			return fmt.Errorf("cluster: send failures: %w", err)
		}
		b := fs[bi*failBatch : min((bi+1)*failBatch, len(fs))]
		for i := 0; i+1 < len(r); i += 2 {
			idx, ok1 := r[i].(int64)
			at, err := parseMicros(str(r[i+1]))
			if !ok1 || idx < 1 || int(idx) > len(b) || err != nil {
				n.log.Warn("cluster: unexpected reply to failures", zap.Any("reply", r[i:i+2]))
				continue
			}
			f := b[idx-1]
			if _, err := n.jails.ClusterReached(f.Jail, f.Key.Masked(), time.UnixMicro(at)); err != nil {
				n.applyErr(err, f.Jail, f.Key, "")
			}
		}
	}
	return nil
}

// sendChanges publishes this node's bans, prolongations and unbans.
func (n *Node) sendChanges(ctx context.Context, c redis.UniversalClient, chs []change) error {
	now := micros(n.now())
	pipe := c.Pipeline()
	cmds := make([]*redis.Cmd, len(chs))
	for i, ch := range chs {
		if ch.unban {
			cmds[i] = n.unbanCmd(ctx, pipe, ch, now)
		} else {
			cmds[i] = n.banCmd(ctx, pipe, ch.jail, jail.Ban{Prefix: ch.prefix, Start: ch.start, BanTime: ch.banTime, Count: ch.count}, now)
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("cluster: publish: %w", err)
	}
	for i, ch := range chs {
		r, err := cmds[i].Slice()
		if err != nil {
			return fmt.Errorf("cluster: publish: %w", err)
		}
		if ch.unban {
			n.unbanReply(ch.jail, ch.prefix, r)
		} else {
			n.banReply(ch.jail, ch.prefix, r)
		}
	}
	return nil
}

func (n *Node) banCmd(ctx context.Context, pipe redis.Pipeliner, name string, b jail.Ban, now int64) *redis.Cmd {
	p := b.Prefix.Masked()
	return banScript.EvalSha(ctx, pipe, []string{n.k.bans, n.k.tombs, n.k.jailCounts(name), n.k.counts, n.k.stream},
		field(name, p), micros(b.Start), banTimeMicros(b.Start, b.BanTime), max(b.Count, 1), n.opts.Node, now,
		n.opts.StreamMaxLen, name, p.String(), n.run)
}

func (n *Node) unbanCmd(ctx context.Context, pipe redis.Pipeliner, ch change, now int64) *redis.Cmd {
	end := int64(-1)
	if ch.banTime != jail.Forever {
		end = micros(ch.start.Add(ch.banTime))
	}
	p := ch.prefix.Masked()
	return unbanScript.EvalSha(ctx, pipe, []string{n.k.bans, n.k.tombs, n.k.stream},
		field(ch.jail, p), micros(ch.at), n.opts.Node, now, n.opts.StreamMaxLen, ch.jail, p.String(),
		end, foreverTomb.Microseconds(), n.run)
}

// banReply acts on the ban script's answer: the counts move; a ban held
// that ends later is applied here too; a rejection (unbanned elsewhere
// since the ban began) lifts the ban here.
func (n *Node) banReply(name string, p netip.Prefix, r []any) {
	code, _ := r[0].(int64)
	switch {
	case code == 1 && len(r) >= 4:
		jc, _ := r[2].(int64)
		oc, _ := r[3].(int64)
		n.counts.note(name, p, int(jc), int(oc))
	case code == 0 && len(r) >= 2:
		n.applyHeld(name, p, str(r[1]))
	case code == -1 && len(r) >= 2:
		ut, err := parseMicros(str(r[1]))
		if err != nil {
			n.log.Warn("cluster: unexpected reply to a ban", zap.Any("reply", r))
			return
		}
		if s, ok := n.liveStart(field(name, p)); ok && s <= ut {
			n.log.Info("cluster: ban lifted elsewhere since it began; lifting it here", zap.String("jail", name), zap.Stringer("prefix", p))
			if _, err := n.jails.ClusterUnban(name, p, time.UnixMicro(ut)); err != nil {
				n.applyErr(err, name, p, "")
			}
		}
	}
}

// unbanReply acts on the unban script's answer: a newer ban held in the
// cluster is applied here.
func (n *Node) unbanReply(name string, p netip.Prefix, r []any) {
	if code, _ := r[0].(int64); code == 0 && len(r) >= 2 {
		n.applyHeld(name, p, str(r[1]))
	}
}

// applyHeld applies a ban value the cluster holds.
func (n *Node) applyHeld(name string, p netip.Prefix, v string) {
	bv, err := parseBanValue(v)
	if err != nil {
		n.log.Warn("cluster: skipping a ban redis holds", zap.String("jail", name), zap.Error(err))
		return
	}
	n.applyBan(name, bv.ban(p), bv.Node)
}

// applyBan enforces a ban of the cluster here, under this node's rules.
func (n *Node) applyBan(name string, b jail.Ban, from string) {
	_, err := n.jails.ClusterBan(name, b)
	n.applyErr(err, name, b.Prefix, from)
}

// applyErr logs what the jails said to a change from the cluster: a
// refusal once per jail and prefix, at warn.
func (n *Node) applyErr(err error, name string, p netip.Prefix, from string) {
	var ref *jail.ClusterRefusedError
	switch {
	case err == nil:
	case errors.As(err, &ref):
		key := field(name, p)
		n.mu.Lock()
		seen := n.refused[key]
		if !seen {
			if len(n.refused) >= 100_000 {
				clear(n.refused) // bounded: at worst some refusals are logged again
			}
			n.refused[key] = true
		}
		n.mu.Unlock()
		if !seen {
			n.log.Warn(fmt.Sprintf("cluster: not enforcing the ban of %s in jail %q from node %s: %s", p, name, from, ref.Reason),
				zap.String("jail", name), zap.Stringer("prefix", p), zap.String("from", from))
		}
	case errors.Is(err, jail.ErrUnknownJail):
		n.log.Debug("cluster: no such jail here", zap.String("jail", name))
	default:
		n.log.Warn("cluster: applying a change from the cluster", zap.String("jail", name), zap.Stringer("prefix", p), zap.Error(err))
	}
}

// follow applies the stream's entries after the last one applied, waiting
// for new ones, and resyncs when the stream was trimmed past it.
func (n *Node) follow(ctx context.Context, c redis.UniversalClient) error {
	for ctx.Err() == nil {
		n.mu.Lock()
		last := n.lastID
		n.mu.Unlock()
		r, err := readScript.EvalSha(ctx, c, []string{n.k.stream}, last, readCount).Slice()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("cluster: read stream: %w", err)
		}
		if len(r) == 0 || str(r[0]) == "trimmed" {
			n.log.Info("cluster: missed events were trimmed from the stream; resyncing", zap.String("last", last))
			if err := n.resync(ctx, c); err != nil {
				return err
			}
			continue
		}
		var entries []any
		if len(r) > 1 {
			entries, _ = r[1].([]any)
		}
		if len(entries) == 0 {
			// Nothing new: wait for an entry (bounded, to notice ctx).
			err := c.XRead(ctx, &redis.XReadArgs{Streams: []string{n.k.stream, last}, Count: 1, Block: time.Second}).Err()
			if err != nil && !errors.Is(err, redis.Nil) {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("cluster: wait for events: %w", err)
			}
			continue
		}
		for _, x := range entries {
			id, fields, ok := streamEntry(x)
			if !ok {
				n.log.Warn("cluster: skipping a malformed stream entry", zap.Any("entry", x))
				continue
			}
			n.apply(id, fields)
			n.mu.Lock()
			n.lastID = id
			n.mu.Unlock()
		}
	}
	return nil
}

// apply applies one stream entry.
func (n *Node) apply(id string, fields map[string]string) {
	e, err := parseEntry(id, fields)
	if err != nil {
		n.log.Warn("cluster: skipping a stream entry", zap.String("id", id), zap.Error(err))
		return
	}
	n.applied.Add(1)
	if e.Op != opUnban {
		n.counts.note(e.Jail, e.Prefix, e.JC, e.OC)
	}
	if e.Src == n.run && e.Op != opUnban {
		return // this node's own
	}
	if e.Src != n.run {
		sid, _ := parseID(id)
		n.mu.Lock()
		n.lag = max(n.now().Sub(time.UnixMilli(int64(sid.ms))), 0)
		n.mu.Unlock()
	}
	if !n.isShared(e.Jail) {
		n.log.Debug("cluster: event of a jail not shared here", zap.String("jail", e.Jail))
		return
	}
	switch e.Op {
	case opBan, opProlong:
		n.applyBan(e.Jail, e.Ban.ban(e.Prefix), e.Node)
	case opUnban:
		// A ban here that began after the unban is a newer one (its
		// publication may be on its way): it stays. Own unbans are applied
		// too: a ban of another node applied here after this node's unban
		// was made, but before it reached Redis, goes with it.
		if s, ok := n.liveStart(field(e.Jail, e.Prefix)); ok && s > e.At {
			return
		}
		if _, err := n.jails.ClusterUnban(e.Jail, e.Prefix, time.UnixMicro(e.At)); err != nil {
			n.applyErr(err, e.Jail, e.Prefix, e.Node)
		}
	}
}

// resync brings this node and the cluster together from scratch: it
// republishes this node's live bans of shared jails (the scripts keep the
// later end and reject bans unbanned meanwhile), reads a snapshot of the
// cluster's live bans and the stream's last id at once, applies every ban
// of it, and lifts those of this node's bans the snapshot lacks (unbanned
// elsewhere). Following resumes after the snapshot's id.
func (n *Node) resync(ctx context.Context, c redis.UniversalClient) error {
	shared := n.sharedJails()
	type own struct {
		jail string
		ban  jail.Ban
	}
	var mine []own
	for _, name := range shared {
		bans, err := n.jails.BanList(name)
		if err != nil {
			continue // stopped meanwhile
		}
		for _, b := range bans {
			mine = append(mine, own{name, b})
		}
	}
	for i := 0; i < len(mine); i += changeBatch {
		chunk := mine[i:min(i+changeBatch, len(mine))]
		now := micros(n.now())
		pipe := c.Pipeline()
		cmds := make([]*redis.Cmd, len(chunk))
		for k, o := range chunk {
			cmds[k] = n.banCmd(ctx, pipe, o.jail, o.ban, now)
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("cluster: republish: %w", err)
		}
		for k, o := range chunk {
			r, err := cmds[k].Slice()
			if err != nil {
				return fmt.Errorf("cluster: republish: %w", err)
			}
			n.banReply(o.jail, o.ban.Prefix, r)
		}
	}
	snap, err := n.snapshot(ctx, c, shared)
	if err != nil {
		return err
	}
	isShared := make(map[string]bool, len(shared))
	for _, name := range shared {
		isShared[name] = true
	}
	live := make(map[string]bool, len(snap.bans))
	for _, sb := range snap.bans {
		if !isShared[sb.jail] {
			continue
		}
		live[field(sb.jail, sb.prefix)] = true
		n.applyBan(sb.jail, sb.v.ban(sb.prefix), sb.v.Node)
	}
	lifted := 0
	for _, o := range mine {
		fld := field(o.jail, o.ban.Prefix)
		if live[fld] {
			continue
		}
		if s, ok := n.liveStart(fld); ok && s == micros(o.ban.Start) {
			if ok, err := n.jails.ClusterUnban(o.jail, o.ban.Prefix, o.ban.Start); err != nil {
				n.applyErr(err, o.jail, o.ban.Prefix, "")
			} else if ok {
				lifted++
			}
		}
	}
	n.counts.replace(snap.jailCounts, snap.allCounts)
	n.mu.Lock()
	n.lastID = snap.last
	n.mu.Unlock()
	n.resyncs.Add(1)
	n.log.Info("cluster: resynced", zap.Int("republished", len(mine)), zap.Int("cluster_bans", len(snap.bans)), zap.Int("lifted", lifted), zap.String("stream_id", snap.last))
	return nil
}

// snap is what snapshotScript read.
type snap struct {
	last       string
	bans       []snapBan
	allCounts  map[netip.Prefix]int
	jailCounts map[string]map[netip.Prefix]int
}

type snapBan struct {
	jail   string
	prefix netip.Prefix
	v      banValue
}

// snapshot reads the cluster's live bans and counts with the stream's last
// id, in one script.
func (n *Node) snapshot(ctx context.Context, c redis.UniversalClient, shared []string) (snap, error) {
	keys := []string{n.k.bans, n.k.tombs, n.k.stream, n.k.counts}
	for _, name := range shared {
		keys = append(keys, n.k.jailCounts(name))
	}
	r, err := snapshotScript.EvalSha(ctx, c, keys, micros(n.now())).Slice()
	if err != nil {
		return snap{}, fmt.Errorf("cluster: snapshot: %w", err)
	}
	if len(r) != 3+len(shared) {
		return snap{}, fmt.Errorf("cluster: snapshot: %d parts in the reply, want %d", len(r), 3+len(shared))
	}
	s := snap{last: str(r[0]), jailCounts: make(map[string]map[netip.Prefix]int)}
	if _, err := parseID(s.last); err != nil {
		return snap{}, fmt.Errorf("cluster: snapshot: %w", err)
	}
	bad := 0
	pairs(r[1], func(k, v string) {
		name, p, err1 := parseField(k)
		bv, err2 := parseBanValue(v)
		if err1 != nil || err2 != nil {
			bad++
			return
		}
		s.bans = append(s.bans, snapBan{name, p, bv})
	})
	s.allCounts = countMap(r[2], &bad)
	for i, name := range shared {
		s.jailCounts[name] = countMap(r[3+i], &bad)
	}
	if bad > 0 {
		n.log.Warn("cluster: skipped malformed values in the snapshot", zap.Int("count", bad))
	}
	return s, nil
}

// countMap reads a counts hash.
func countMap(x any, bad *int) map[netip.Prefix]int {
	m := make(map[netip.Prefix]int)
	pairs(x, func(k, v string) {
		p, err1 := parsePrefix(k)
		c, err2 := parseCount(v)
		if err1 != nil || err2 != nil {
			*bad++
			return
		}
		m[p] = c
	})
	return m
}

// pairs calls f for each key and value of a flat array reply.
func pairs(x any, f func(k, v string)) {
	a, _ := x.([]any)
	for i := 0; i+1 < len(a); i += 2 {
		f(str(a[i]), str(a[i+1]))
	}
}

// streamEntry reads an entry of an XRANGE reply: {id, {field, value, ...}}.
func streamEntry(x any) (string, map[string]string, bool) {
	a, ok := x.([]any)
	if !ok || len(a) != 2 {
		return "", nil, false
	}
	id, ok := a[0].(string)
	if !ok {
		return "", nil, false
	}
	fields := make(map[string]string)
	pairs(a[1], func(k, v string) { fields[k] = v })
	return id, fields, true
}

// str returns a reply element as text ("" when it is none).
func str(x any) string {
	switch v := x.(type) {
	case string:
		return v
	case int64:
		return fmt.Sprint(v)
	}
	return ""
}
