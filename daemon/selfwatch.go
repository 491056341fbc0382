package daemon

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"go.uber.org/zap"

	"github.com/banserver/banserver/jail"
)

// Bounds of the wait before subscribing again to address changes after a
// subscription failed or ended: doubling from the first to the second,
// back to the first once a subscription has lasted the second (so one
// that keeps ending at once is retried, and logged, at most that often).
const (
	selfWatchMinBackoff = 500 * time.Millisecond
	selfWatchMaxBackoff = 30 * time.Second
)

// watchSelf keeps ignoreself's view of this host's addresses current: the
// jails cache the addresses for attempts (the hot path) and reread them
// every five minutes, so without it an address added meanwhile could be
// banned. It follows the kernel's address changes (netlink) in the
// daemon's network namespace and, when netnsPath is set (kernel.netns, as
// selfAddrs reads it), in that namespace too, and has the jails reread
// their addresses after each. A subscription that fails or ends is made
// again with backoff, logged once until it works again; after every
// subscription the addresses are reread, for the changes missed while
// there was none. It returns nil when ctx ends.
func watchSelf(ctx context.Context, netnsPath string, jails *jail.Manager, log *zap.Logger) error {
	spaces := []string{""} // "": the daemon's own namespace
	if netnsPath != "" {
		spaces = append(spaces, netnsFile(netnsPath))
	}
	var wg sync.WaitGroup
	for _, ns := range spaces {
		wg.Add(1)
		go func() {
			defer wg.Done()
			watchAddrs(ctx, ns, jails.RefreshSelf, log)
		}()
	}
	wg.Wait()
	return nil
}

// netnsFile is the file of a kernel.netns value: a path, or a name of
// `ip netns`.
func netnsFile(v string) string {
	if !strings.Contains(v, "/") {
		return "/run/netns/" + v
	}
	return v
}

// watchAddrs calls refresh after every address change in the namespace at
// path ("" the daemon's own), until ctx ends.
func watchAddrs(ctx context.Context, path string, refresh func(), log *zap.Logger) {
	where := zap.String("netns", path)
	if path == "" {
		where = zap.String("netns", "daemon's own")
	}
	backoff := selfWatchMinBackoff
	failing := false
	for {
		var made time.Time
		err := followAddrs(ctx, path, refresh, func() {
			made = time.Now()
			if failing {
				log.Info("following address changes for ignoreself again", where)
				failing = false
			}
		})
		if ctx.Err() != nil {
			return
		}
		if !made.IsZero() && time.Since(made) >= selfWatchMaxBackoff {
			// It worked for a while: this is a new failure, not the
			// same one flapping.
			backoff = selfWatchMinBackoff
		}
		if !failing {
			log.Warn("cannot follow address changes for ignoreself; own addresses are reread every 5 minutes until it can",
				where, zap.Error(err))
			failing = true
		} else {
			log.Debug("still cannot follow address changes for ignoreself", where, zap.Error(err))
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, selfWatchMaxBackoff)
	}
}

// followAddrs subscribes once and calls subscribed, then refresh, once the
// subscription is made, and refresh after each batch of changes (also
// when the subscription ends: changes may have come before the end). It
// returns why the subscription failed or ended, or nil when ctx ended.
func followAddrs(ctx context.Context, path string, refresh, subscribed func()) error {
	var (
		mu      sync.Mutex
		lastErr error // the receiver's last error; guarded by mu
	)
	opts := netlink.AddrSubscribeOptions{ErrorCallback: func(err error) {
		mu.Lock()
		lastErr = err
		mu.Unlock()
	}}
	if path != "" {
		ns, err := netns.GetFromPath(path)
		if err != nil {
			return fmt.Errorf("open namespace: %w", err)
		}
		// The socket stays in its namespace: the handle is only needed
		// to make it.
		defer ns.Close()
		opts.Namespace = &ns
	}
	// netlink's receiving goroutine sends on ch until it closes ch, which
	// it does once done has closed the socket: ch is drained until then.
	ch := make(chan netlink.AddrUpdate, 64)
	done := make(chan struct{})
	if err := netlink.AddrSubscribeWithOptions(ch, done, opts); err != nil {
		close(done) // ends the goroutine waiting to close the socket, if any
		return fmt.Errorf("subscribe to address changes: %w", err)
	}
	defer func() {
		close(done)
		for range ch {
		}
	}()
	subscribed()
	refresh()
	for {
		select {
		case <-ctx.Done():
			return nil
		case _, ok := <-ch:
			// Changes already queued are covered by one reread.
			for more := ok; more; {
				select {
				case _, ok = <-ch:
					more = ok
				default:
					more = false
				}
			}
			refresh()
			if !ok {
				mu.Lock()
				err := lastErr
				mu.Unlock()
				if err == nil {
					err = errors.New("subscription ended")
				}
				return fmt.Errorf("address changes: %w", err)
			}
		}
	}
}
