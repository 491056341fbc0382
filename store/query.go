package store

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// view runs f in a read transaction, guarded against a damaged file, with
// bbolt's closed-database error turned into ErrClosed.
func (d *DB) view(f func(tx *bolt.Tx) error) error {
	d.mu.Lock()
	closing := d.closing
	d.mu.Unlock()
	if closing {
		return ErrClosed
	}
	err := guard(func() error { return d.bolt.View(f) })
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Live returns the live bans of jail (all jails when jail == ""): every
// committed ban whose End is after now, or that never ends. They come in
// order of jail, then family (IPv4 first), address and prefix length.
// Changes still queued are not included. Live reads them all in one read
// transaction, one snapshot, into one list: what a test or a tool checking
// the file wants. The daemon's restore reads LiveChunks instead, which
// never holds a million bans in the heap at once.
func (d *DB) Live(jail string, now time.Time) ([]Ban, error) {
	if len(jail) > maxJailLen {
		return nil, fmt.Errorf("%w: jail name of %d bytes", ErrInvalid, len(jail))
	}
	nowN := timeToNanos(now)
	var out []Ban
	scan := func(name string, b *bolt.Bucket) error {
		// Size the result once: growing it by appends copied ~1 GB per
		// million bans and took a third of the time. KeyN counts ended
		// bans too, an upper bound until Purge.
		out = slices.Grow(out, b.Stats().KeyN)
		pages := scanPages{d: d}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			pages.read()
			var err error
			if out, err = appendLive(out, name, k, v, nowN); err != nil {
				return err
			}
		}
		return nil
	}
	err := d.view(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketBans)
		if jail != "" {
			if b := root.Bucket([]byte(jail)); b != nil {
				return scan(jail, b)
			}
			return nil
		}
		return root.ForEachBucket(func(name []byte) error {
			return scan(string(name), root.Bucket(name))
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: live bans: %w", err)
	}
	return out, nil
}

// appendLive appends the ban of record (k, v) of jail name to out, unless
// it ended by nowN.
func appendLive(out []Ban, name string, k, v []byte, nowN int64) ([]Ban, error) {
	start, bt, err := banTimes(v)
	if err != nil {
		return out, fmt.Errorf("%w: jail %q: %w", ErrCorrupt, name, err)
	}
	if end, ends := endNanos(start, bt); ends && end <= nowN {
		return out, nil
	}
	p, err := decodeKey(k)
	if err != nil {
		return out, fmt.Errorf("%w: jail %q: %w", ErrCorrupt, name, err)
	}
	out = append(out, Ban{Jail: name, Prefix: p})
	if err := decodeBan(v, &out[len(out)-1]); err != nil {
		return out, fmt.Errorf("%w: jail %q, %v: %w", ErrCorrupt, name, p, err)
	}
	return out, nil
}

// liveChunk is how many bans LiveChunks hands over at a time.
const liveChunk = 1 << 14

// LiveChunks calls f with the live bans of jail, as Live returns them, a
// chunk at a time, so that a restart with a million stored bans never
// holds them all in the heap at once (Live's list and the jail's copy of it
// took 400 MiB beside the 90 the jail keeps). The chunk's slice is reused:
// f must not keep it.
//
// Each chunk is read in its own read transaction, and f runs outside any:
// it may wait for the store's commits. A change committed meanwhile shows
// in the later chunks if it comes after the last ban handed over.
func (d *DB) LiveChunks(jail string, now time.Time, f func(chunk []Ban) error) error {
	if jail == "" || len(jail) > maxJailLen {
		return fmt.Errorf("store: live bans: %w: jail name of %d bytes", ErrInvalid, len(jail))
	}
	nowN := timeToNanos(now)
	var (
		chunk []Ban
		after []byte // the key of the last ban read; nil: none yet
		pages = scanPages{d: d}
	)
	for {
		done := false
		chunk = chunk[:0]
		err := d.view(func(tx *bolt.Tx) error {
			b := tx.Bucket(bucketBans).Bucket([]byte(jail))
			if b == nil {
				done = true
				return nil
			}
			c := b.Cursor()
			k, v := c.First()
			if after != nil {
				if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			for ; k != nil && len(chunk) < liveChunk; k, v = c.Next() {
				pages.read()
				var err error
				if chunk, err = appendLive(chunk, jail, k, v, nowN); err != nil {
					return err
				}
				after = append(after[:0], k...)
			}
			done = k == nil
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: live bans: %w", err)
		}
		if len(chunk) > 0 {
			if err := f(chunk); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
	}
}

// overlay is a change History applies over its snapshot, with the txid that
// will (or did) commit it.
type overlay struct {
	tx int
	c  Change // a copy: the committer reuses its queue arrays
}

// History returns the past bans of prefix in jail, or over all jails when
// jail == "" (bantime.overalljails: then Count is the sum and Last* the
// latest). It includes changes queued but not yet committed, since the jail
// asks right before banning, and it does not wait for the disk.
func (d *DB) History(jail string, p netip.Prefix) (History, error) {
	if len(jail) > maxJailLen {
		return History{}, fmt.Errorf("%w: jail name of %d bytes", ErrInvalid, len(jail))
	}
	if !p.IsValid() || p.Addr().Zone() != "" {
		return History{}, fmt.Errorf("%w: prefix %v", ErrInvalid, p)
	}
	p = p.Masked()
	match := func(c *Change) bool {
		switch c.Op {
		case OpBan, OpProlong, OpForgive:
			return (jail == "" || c.Ban.Jail == jail) && c.Ban.Prefix == p
		case OpForget:
			return jail == "" || c.Ban.Jail == jail
		case opPurge:
			return true
		}
		return false
	}

	// Every write transaction is the committer's, and it takes all that is
	// pending: the inflight batch goes into inflightTx, what is pending now
	// into the transaction after it. A snapshot whose txid has reached a
	// batch's already holds that batch; the others are applied over it.
	d.mu.Lock()
	var over []overlay
	// Most calls concern a prefix nothing queued touches: skip the scan.
	if d.unsettled[p] != 0 || d.unsettledOps != 0 {
		nextTx := d.committedTx + 1
		if len(d.inflight) > 0 {
			for i := range d.inflight {
				if c := &d.inflight[i].c; match(c) {
					over = append(over, overlay{d.inflightTx, *c})
				}
			}
			nextTx = d.inflightTx + 1
		}
		for i := range d.pending {
			if c := &d.pending[i].c; match(c) {
				over = append(over, overlay{nextTx, *c})
			}
		}
	}
	d.mu.Unlock()

	per := map[string]History{}
	snap := 0
	key := prefixKey(nil, p)
	err := d.view(func(tx *bolt.Tx) error {
		snap = tx.ID()
		root := tx.Bucket(bucketHist)
		read := func(name string, b *bolt.Bucket) error {
			v := b.Get(key)
			if v == nil {
				return nil
			}
			h, err := decodeHistory(v)
			if err != nil {
				return fmt.Errorf("%w: jail %q, %v: %w", ErrCorrupt, name, p, err)
			}
			per[name] = h
			return nil
		}
		if jail != "" {
			if b := root.Bucket([]byte(jail)); b != nil {
				return read(jail, b)
			}
			return nil
		}
		return root.ForEachBucket(func(name []byte) error {
			return read(string(name), root.Bucket(name))
		})
	})
	if err != nil {
		return History{}, fmt.Errorf("store: history of %v: %w", p, err)
	}

	for _, o := range over {
		if o.tx <= snap {
			continue // the snapshot holds it
		}
		switch b := &o.c.Ban; o.c.Op {
		case OpBan:
			per[b.Jail] = nextHistory(per[b.Jail], b)
		case OpProlong:
			per[b.Jail] = prolongHistory(per[b.Jail], b)
		case OpForget, OpForgive:
			delete(per, b.Jail)
		case opPurge:
			before := timeToNanos(b.Start)
			for j, h := range per {
				if h.endedBefore(before) {
					delete(per, j)
				}
			}
		}
	}

	var h History
	for _, x := range per {
		h.Count = min(h.Count+x.Count, maxCount)
		if h.LastStart.IsZero() || x.LastStart.After(h.LastStart) {
			h.LastStart, h.LastBanTime = x.LastStart, x.LastBanTime
		}
	}
	return h, nil
}

// KernelStates lists the kernel state specs recorded with OpKernelUse and
// not dropped since, sorted: what the daemon may have left in the kernel.
func (d *DB) KernelStates() ([]string, error) {
	var out []string
	err := d.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKernel).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("store: kernel states: %w", err)
	}
	return out, nil
}

// Positions returns the recorded positions of the log sources whose names
// start with prefix (a jail's, say), by name.
func (d *DB) Positions(prefix string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := d.view(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketPos).Cursor()
		for k, v := c.Seek([]byte(prefix)); k != nil && strings.HasPrefix(string(k), prefix); k, v = c.Next() {
			out[string(k)] = bytes.Clone(v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: positions: %w", err)
	}
	return out, nil
}
