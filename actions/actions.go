// Package actions is what a ban does: each Action applies bans and unbans
// (a log line, a kernel route, an nftables set element). Actions run off
// the request path: a Queue takes events from the jail manager, coalesces
// several events for the same address, and applies them in the background,
// in batches where an action can take many targets per kernel call.
//
// Actions are named as fail2ban names them, `name` or
// `name[key=value, key=value]`; only the daemon's built-in names exist, so a
// client can never name a shell command.
package actions

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"
)

// ErrUnknownAction reports an action name the daemon has not built in.
var ErrUnknownAction = errors.New("actions: unknown action")

// ErrBadOptions reports options an action does not accept.
var ErrBadOptions = errors.New("actions: bad action options")

// Target is what one ban or unban applies to.
type Target struct {
	Jail string
	// Prefix is a host prefix (/32, /128) for a single address, or a wider
	// IPv6 prefix for jails that ban whole networks.
	Prefix  netip.Prefix
	Start   time.Time
	BanTime time.Duration // negative: forever
}

// End returns when the ban ends, or the zero time for a forever ban.
func (t Target) End() time.Time {
	if t.BanTime < 0 {
		return time.Time{}
	}
	return t.Start.Add(t.BanTime)
}

// Action applies bans and unbans. The Queue calls an action from one
// goroutine at a time; Ban and Unban must be idempotent (a retried or
// repeated call is harmless), and an action used by several jails must keep
// an address banned while any jail still bans it.
type Action interface {
	// Name is the action's canonical spec, as `get JAIL actions` shows it.
	Name() string
	Ban(ctx context.Context, t Target) error
	Unban(ctx context.Context, t Target) error
}

// BatchAction is implemented by actions that apply many targets per kernel
// call (netlink batches, nftables transactions); the Queue then hands them
// whole batches. A returned error means some targets may not be applied:
// the Queue retries the batch, which idempotence makes safe.
type BatchAction interface {
	Action
	BanBatch(ctx context.Context, ts []Target) error
	UnbanBatch(ctx context.Context, ts []Target) error
}

// Reconciler is implemented by actions that keep kernel state: at start the
// daemon hands them every live ban, and they remove the entries of theirs no
// live ban needs and add the missing ones.
type Reconciler interface {
	Reconcile(ctx context.Context, live []Target) (added, removed int, err error)
}

// Stateful is implemented by actions that keep kernel state (routes, set
// elements). State names that state as a spec with every option written
// out (the network namespace included, "" for the daemon's own), so that
// two specs owning the same state name it alike, and Lookup(State())
// rebuilds an action owning it after a restart, even when no configured
// action names it any more. The Registry keeps one action per state: two
// actions reconciling the same routes apart would delete each other's.
type Stateful interface {
	Action
	State() string
}

// Closer is implemented by actions that hold kernel handles. flush removes
// every entry the action added (the operator asked for it at stop);
// otherwise kernel state stays, so bans outlive a restart.
type Closer interface {
	Close(ctx context.Context, flush bool) error
}

// Factory builds an action from its options. spec is the canonical spec the
// action must return from Name.
type Factory func(spec string, opts map[string]string) (Action, error)

// Registry builds and caches the daemon's actions by spec, one action per
// kernel state (see Stateful).
type Registry struct {
	mu        sync.Mutex // guards the fields below
	factories map[string]Factory
	built     map[string]Action // by canonical spec
	byState   map[string]Action // Stateful actions by State
}

// NewRegistry returns a registry; acts are ready-made actions registered
// under their names (options not accepted).
func NewRegistry(acts ...Action) *Registry {
	r := &Registry{factories: make(map[string]Factory), built: make(map[string]Action), byState: make(map[string]Action)}
	for _, a := range acts {
		a := a
		r.factories[a.Name()] = func(spec string, opts map[string]string) (Action, error) {
			if len(opts) > 0 {
				return nil, fmt.Errorf("%w: %s takes no options", ErrBadOptions, a.Name())
			}
			return a, nil
		}
	}
	return r
}

// Register adds a factory for the action called name.
func (r *Registry) Register(name string, f Factory) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.factories[name] = f
}

// Lookup returns the action for spec, building it on first use. Specs that
// differ only in spacing or option order name the same action, and so do
// specs whose actions would own the same kernel state (blackhole and
// blackhole[table=main]): the first built serves them all.
func (r *Registry) Lookup(spec string) (Action, error) {
	name, opts, err := ParseSpec(spec)
	if err != nil {
		return nil, err
	}
	canon := FormatSpec(name, opts)
	r.mu.Lock()
	defer r.mu.Unlock()
	if a, ok := r.built[canon]; ok {
		return a, nil
	}
	f, ok := r.factories[name]
	if !ok {
		return nil, fmt.Errorf("%w %q (built in: %s)", ErrUnknownAction, name, strings.Join(r.namesLocked(), ", "))
	}
	a, err := f(canon, opts)
	if err != nil {
		return nil, fmt.Errorf("actions: %s: %w", canon, err)
	}
	if st, ok := a.(Stateful); ok {
		if have, dup := r.byState[st.State()]; dup {
			// Another spec's action owns this state already: use it, and
			// let the new one go without touching the kernel.
			if c, ok := a.(Closer); ok {
				c.Close(context.Background(), false)
			}
			a = have
		} else {
			r.byState[st.State()] = a
		}
	}
	r.built[canon] = a
	return a, nil
}

// Canonical returns spec's canonical form, or an error if it is malformed
// or names no built-in action.
func (r *Registry) Canonical(spec string) (string, error) {
	name, opts, err := ParseSpec(spec)
	if err != nil {
		return "", err
	}
	if _, err := r.Lookup(spec); err != nil {
		return "", err
	}
	return FormatSpec(name, opts), nil
}

// Built returns the actions built so far, each once, for reconciliation
// and close.
func (r *Registry) Built() []Action {
	r.mu.Lock()
	defer r.mu.Unlock()
	seen := make(map[Action]bool, len(r.built))
	out := make([]Action, 0, len(r.built))
	for _, a := range r.built {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out
}

// Forget drops a from the registry (every spec naming it): the daemon has
// closed it, its kernel state cleaned. A later Lookup builds it anew.
func (r *Registry) Forget(a Action) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for spec, b := range r.built {
		if b == a {
			delete(r.built, spec)
		}
	}
	for st, b := range r.byState {
		if b == a {
			delete(r.byState, st)
		}
	}
}

// Names returns the built-in action names, sorted.
func (r *Registry) Names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.namesLocked()
}

func (r *Registry) namesLocked() []string {
	names := make([]string, 0, len(r.factories))
	for n := range r.factories {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// ParseSpec parses `name` or `name[key=value, key=value]`.
func ParseSpec(spec string) (string, map[string]string, error) {
	spec = strings.TrimSpace(spec)
	name, rest, hasOpts := strings.Cut(spec, "[")
	name = strings.TrimSpace(name)
	if name == "" || strings.ContainsAny(name, " \t\n/=],") {
		return "", nil, fmt.Errorf("%w %q", ErrUnknownAction, spec)
	}
	if !hasOpts {
		return name, nil, nil
	}
	body, ok := strings.CutSuffix(strings.TrimSpace(rest), "]")
	if !ok {
		return "", nil, fmt.Errorf("%w: %q: missing ]", ErrBadOptions, spec)
	}
	opts := map[string]string{}
	for _, kv := range strings.Split(body, ",") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || strings.ContainsAny(k+v, "[]") {
			return "", nil, fmt.Errorf("%w: %q: want key=value", ErrBadOptions, kv)
		}
		opts[k] = v
	}
	return name, opts, nil
}

// FormatSpec writes the canonical spec: options sorted by key.
func FormatSpec(name string, opts map[string]string) string {
	if len(opts) == 0 {
		return name
	}
	keys := make([]string, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('[')
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(opts[k])
	}
	b.WriteByte(']')
	return b.String()
}
