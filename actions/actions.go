// Package actions is what a ban does: each Action applies bans and unbans
// (a log line now; kernel routes and nftables sets later). Actions run off
// the request path: a Queue takes events from the jail manager, coalesces
// several events for the same address, and applies them in the background.
package actions

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"time"
)

// ErrUnknownAction reports an action name the daemon has not built in. Actions
// are never shell commands, so a name is all a client may give.
var ErrUnknownAction = errors.New("actions: unknown action")

// Target is what one ban or unban applies to.
type Target struct {
	Jail    string
	Prefix  netip.Prefix // a host prefix (/32, /128) for a single address
	Start   time.Time
	BanTime time.Duration // negative: forever
}

// Action applies bans and unbans. Implementations must be safe for use by
// one goroutine at a time (the Queue's worker); they need not be concurrent.
type Action interface {
	// Name is the name clients use in `set JAIL addaction NAME`.
	Name() string
	Ban(ctx context.Context, t Target) error
	Unban(ctx context.Context, t Target) error
}

// Registry holds the daemon's built-in actions by name.
type Registry struct {
	mu     sync.RWMutex // guards byName
	byName map[string]Action
}

// NewRegistry returns a registry holding the given actions.
func NewRegistry(acts ...Action) *Registry {
	r := &Registry{byName: make(map[string]Action)}
	for _, a := range acts {
		r.byName[a.Name()] = a
	}
	return r
}

// Lookup returns the action called name, or ErrUnknownAction.
func (r *Registry) Lookup(name string) (Action, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	a, ok := r.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (built in: %v)", ErrUnknownAction, name, r.namesLocked())
	}
	return a, nil
}

// Names returns the built-in action names, sorted.
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.namesLocked()
}

func (r *Registry) namesLocked() []string {
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
