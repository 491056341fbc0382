package jail

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of a jail created without settings, as fail2ban's Filter and
// BanManager start out.
const (
	DefaultMaxRetry = 3
	DefaultFindTime = 600 * time.Second
	DefaultBanTime  = 600 * time.Second
)

// DefaultMaxFailures is the default of Options.MaxFailures.
const DefaultMaxFailures = 100_000

// MaxRetryLimit is the largest maxretry accepted: each tracked address keeps
// the times of its last maxretry failures, so this bounds an entry's size.
const MaxRetryLimit = 1000

// selfTTL is how long this host's addresses are cached, as fail2ban's
// DNSUtils cache keeps them five minutes.
const selfTTL = 5 * time.Minute

// Config is one jail's settings.
type Config struct {
	Name string
	// MaxRetry is how many failures within FindTime ban an address
	// (1..MaxRetryLimit; 0 in Add means DefaultMaxRetry).
	MaxRetry int
	// FindTime is the sliding window failures are counted in (0 in Add
	// means DefaultFindTime).
	FindTime time.Duration
	// BanTime is how long a ban lasts; Forever never expires (0 in Add
	// means DefaultBanTime).
	BanTime time.Duration
	// IgnoreIP lists addresses and networks whose failures are not counted.
	IgnoreIP []netip.Prefix
	// IgnoreSelf ignores this host's own addresses (fail2ban's default is
	// on; see DefaultConfig).
	IgnoreSelf bool
	// Actions names the actions run on ban and unban; opaque to this
	// package, passed along in Events.
	Actions []string
	// Increment lengthens bans of repeat offenders (bantime.increment);
	// it needs Options.History.
	Increment Increment
	// IPv6Prefix, when between 1 and 127, counts and bans IPv6 attackers by
	// their whole prefix of that length (64: the /64 a host usually gets)
	// instead of by address; 0 or 128 is per address. A prefix that would
	// cover an ignored or own address falls back to the single address.
	IPv6Prefix int
	// Shared counts the jail's failures and makes its bans with the other
	// nodes of a cluster: see Options.OnFailure and cluster.go.
	Shared bool
}

// DefaultConfig returns the settings fail2ban gives a jail created with
// `add` and nothing else: maxretry 3, findtime and bantime 600s, ignoreself on.
func DefaultConfig(name string) Config {
	return Config{
		Name:       name,
		MaxRetry:   DefaultMaxRetry,
		FindTime:   DefaultFindTime,
		BanTime:    DefaultBanTime,
		IgnoreSelf: true,
	}
}

// EventKind tells a ban from an unban.
type EventKind int

// Event kinds.
const (
	EventBan   EventKind = iota + 1
	EventUnban           // Ban is the ban lifted
	// EventProlong: a live ban got a later end (banip of a banned
	// address); Ban is the ban with its new BanTime. Actions apply it as
	// a ban, the store as the same ban's new end.
	EventProlong
	// EventForget: a command forgot the jail's ban history (unban --all),
	// before its unbans. Only a Journal sees it; OnEvent never does.
	EventForget
)

// String returns "ban", "unban", "prolong" or "forget".
func (k EventKind) String() string {
	switch k {
	case EventBan:
		return "ban"
	case EventUnban:
		return "unban"
	case EventProlong:
		return "prolong"
	case EventForget:
		return "forget"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is what actions get, delivered through Options.OnEvent outside any
// jail lock, in order per jail (so in order per address). Actions and
// Ban.Matches are shared: read them, do not modify them.
type Event struct {
	Kind    EventKind
	Jail    string
	Ban     Ban
	Actions []string
	// Cause says why: a ban store records command bans and unbans, but not
	// restored bans (already stored), expiries (the stored ban has ended on
	// its own) or a stopped jail's unbans (its bans come back when it
	// starts again, as fail2ban's do).
	Cause Cause
}

// Cause is why an Event happened.
type Cause int

// Causes of events.
const (
	CauseCommand     Cause = iota // an attempt reaching maxretry, banip, unbanip, unban
	CauseExpired                  // the ban's time ran out
	CauseJailStopped              // the jail was stopped
	CauseRestored                 // Restore brought a stored ban back
	CauseCluster                  // another node of the cluster made the change
)

// String returns the cause's name.
func (c Cause) String() string {
	switch c {
	case CauseExpired:
		return "expired"
	case CauseJailStopped:
		return "jail stopped"
	case CauseRestored:
		return "restored"
	case CauseCluster:
		return "cluster"
	}
	return "command"
}

// Ban is one live ban.
type Ban struct {
	// Addr is the banned address, or the first address of Prefix when the
	// jail bans IPv6 prefixes.
	Addr netip.Addr
	// Prefix is what the ban covers: Addr's host prefix (/32, /128), or a
	// wider IPv6 prefix in a jail with IPv6Prefix set.
	Prefix  netip.Prefix
	Start   time.Time
	BanTime time.Duration // Forever or positive
	Count   int           // how many times the address was banned (1 until bantime.increment)
	Matches []string      // the last failure messages that led to the ban (at most 10)
}

// End returns when the ban ends, or the zero time for a ban that never does.
func (b Ban) End() time.Time {
	if b.BanTime == Forever {
		return time.Time{}
	}
	return b.Start.Add(b.BanTime)
}

// Options configures a Manager; the zero value is usable.
type Options struct {
	// Now returns the current time; default time.Now. Tests inject a clock.
	Now func() time.Time
	// MaxFailures caps tracked failure entries over all jails (default
	// DefaultMaxFailures); when full the least recently seen is evicted.
	MaxFailures int
	// OnEvent receives bans and unbans; may be nil. See the package doc
	// for what it may call.
	OnEvent func(Event)
	// SelfAddrs returns this host's addresses for ignoreself; default:
	// the interface addresses. Cached for five minutes; see RefreshSelf.
	SelfAddrs func() []netip.Addr
	// History returns how many times prefix was banned before, in jail or
	// (overall) in every jail, for bantime.increment; nil: never before.
	// It is called with the jail's lock held, so it must be quick and must
	// not call back into the Manager.
	History func(jail string, prefix netip.Prefix, overall bool) int
	// Rand returns a number in [0, 1) for bantime.rndtime; default
	// math/rand/v2.Float64.
	Rand func() float64
	// Journal, when set, stores what commands change before they take
	// effect outside the jails (see Journal and the package doc).
	Journal Journal
	// MaxMatchLen cuts each failure message kept (default
	// DefaultMaxMatchLen); MatchBudget bounds the bytes of messages kept
	// in all (default DefaultMatchBudget, negative: none), beyond which
	// failures are still counted but their messages not kept.
	MaxMatchLen int
	MatchBudget int64
	// OnFailure receives each failure counted in a shared jail (see
	// Config.Shared), for the cluster; may be nil. It is called with the
	// jail's lock held, on the attempt's path: it must only queue, never
	// block or call back into the Manager.
	OnFailure func(Failure)
}

// Manager holds the jails. All methods are safe for concurrent use.
type Manager struct {
	now     func() time.Time
	onEvent func(Event)
	selfFn  func() []netip.Addr
	history func(jail string, prefix netip.Prefix, overall bool) int
	rnd     func() float64
	journal Journal
	onFail  func(Failure)
	// realClock: now is time.Now (Options.Now unset), so a caller's own
	// reading of the clock may stand in for it (AttemptNow).
	realClock bool

	mu    sync.RWMutex // guards jails; taken before any jail.mu
	jails map[string]*jail

	fails   failTable
	kick    chan struct{} // wakes Run when a ban becomes the earliest of its jail to end
	self    selfCache
	matches matchBudget
	banSeq  atomic.Uint64 // numbers bans in the order they are made
}

// jail is one jail's state.
type jail struct {
	name string

	mu         sync.Mutex // guards the fields below
	cfg        Config     // cfg.Actions and cfg.IgnoreIP are replaced, never modified in place
	ignoreSet  map[netip.Addr]struct{}
	ignoreNets []netip.Prefix
	idle       bool
	started    bool
	removed    bool // stopped: the jail is gone from Manager.jails
	bans       *banTable
	failTotal  int
	banTotal   int
	unbanTotal int // bans lifted, for any cause (see Counters)

	findTime atomic.Int64 // cfg.FindTime in nanoseconds, for failTable.sweep, which cannot take mu
	nfailed  int          // tracked failure entries; guarded by failTable.mu

	evMu    sync.Mutex // guards pending; taken after mu
	pending []pendingEvent

	deliverMu sync.Mutex // held while delivering, so batches go out in order
}

// NewManager returns a Manager with no jails.
func NewManager(opts Options) *Manager {
	m := &Manager{
		now:     opts.Now,
		onEvent: opts.OnEvent,
		selfFn:  opts.SelfAddrs,
		history: opts.History,
		rnd:     opts.Rand,
		journal: opts.Journal,
		onFail:  opts.OnFailure,
		jails:   make(map[string]*jail),
	}
	if m.now == nil {
		m.now = time.Now
		m.realClock = true
	}
	if m.rnd == nil {
		m.rnd = rand.Float64
	}
	if m.selfFn == nil {
		m.selfFn = interfaceAddrs
	}
	max := opts.MaxFailures
	if max <= 0 {
		max = DefaultMaxFailures
	}
	m.matches.maxLen = opts.MaxMatchLen
	if m.matches.maxLen <= 0 {
		m.matches.maxLen = DefaultMaxMatchLen
	}
	m.matches.limit = opts.MatchBudget
	if m.matches.limit == 0 {
		m.matches.limit = DefaultMatchBudget
	}
	m.fails.init(max, &m.matches)
	m.kick = make(chan struct{}, 1)
	return m
}

// interfaceAddrs returns this host's interface addresses.
func interfaceAddrs() []netip.Addr {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	out := make([]netip.Addr, 0, len(as))
	for _, a := range as {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok {
				out = append(out, ip.Unmap())
			}
		}
	}
	return out
}

// MaxNameLen is the longest jail name: the ban store keys jails by name.
const MaxNameLen = 255

// validName refuses names the protocol reserves, and names too long to
// store (a ban in a jail that cannot be stored would be lost on a crash).
func validName(name string) error {
	if name == "" || name == "--all" {
		return invalidValue("jail name", fmt.Sprintf("%q", name))
	}
	if len(name) > MaxNameLen {
		return fmt.Errorf("%w: jail name of %d bytes: at most %d", ErrInvalidValue, len(name), MaxNameLen)
	}
	return nil
}

// Add creates a jail. Zero MaxRetry, FindTime and BanTime take fail2ban's
// defaults; the name may not be empty or "--all".
func (m *Manager) Add(cfg Config) error {
	cfg, err := checkConfig(cfg)
	if err != nil {
		return err
	}
	j := &jail{name: cfg.Name}
	j.bans = newBanTable(j)
	j.configure(cfg)

	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.jails[cfg.Name]; ok {
		return fmt.Errorf("%w: %q", ErrDuplicateJail, cfg.Name)
	}
	m.jails[cfg.Name] = j
	return nil
}

// checkConfig fills cfg's zero settings with the defaults and checks it.
func checkConfig(cfg Config) (Config, error) {
	if err := validName(cfg.Name); err != nil {
		return cfg, err
	}
	if cfg.MaxRetry == 0 {
		cfg.MaxRetry = DefaultMaxRetry
	}
	if cfg.FindTime == 0 {
		cfg.FindTime = DefaultFindTime
	}
	if cfg.BanTime == 0 {
		cfg.BanTime = DefaultBanTime
	}
	for _, err := range []error{checkMaxRetry(cfg.MaxRetry), checkPrefix6(cfg.IPv6Prefix), checkFindTime(cfg.FindTime), checkBanTime(cfg.BanTime)} {
		if err != nil {
			return cfg, err
		}
	}
	for _, p := range cfg.IgnoreIP {
		if !p.IsValid() || p.Addr().Zone() != "" {
			return cfg, fmt.Errorf("%w: ignoreip %v", ErrInvalidAddress, p)
		}
	}
	return cfg, nil
}

// configure gives j the settings cfg (checked); j.mu is held, or j is new.
func (j *jail) configure(cfg Config) {
	j.cfg = cfg
	j.cfg.Actions = slices.Clone(cfg.Actions)
	j.cfg.Increment.Multipliers = slices.Clone(cfg.Increment.Multipliers)
	j.setIgnore(cfg.IgnoreIP)
	j.findTime.Store(window(cfg.FindTime))
}

// Reconfigure gives a running jail new settings (a reload of the
// configuration), keeping its bans and failure counts: the new maxretry
// and findtime apply to the failures already counted, the new bantime to
// bans made from now on (live bans keep their end), the new ignore list to
// failures from now on. Zero settings take the defaults, as in Add.
func (m *Manager) Reconfigure(cfg Config) error {
	cfg, err := checkConfig(cfg)
	if err != nil {
		return err
	}
	return m.locked(cfg.Name, func(j *jail) error {
		j.configure(cfg)
		return nil
	})
}

func checkMaxRetry(n int) error {
	if n < 1 || n > MaxRetryLimit {
		return invalidValue("maxretry", n)
	}
	return nil
}

func checkPrefix6(n int) error {
	if n < 0 || n > 128 || n > 0 && n < 16 {
		// A prefix shorter than /16 would ban a good part of the Internet
		// on one attacker's failures: certainly a typo.
		return invalidValue("ipv6prefix (0, or 16..128)", n)
	}
	return nil
}

// SetIPv6Prefix sets the prefix length IPv6 attackers are counted and
// banned by, for failures and bans from now on (0 or 128: per address).
func (m *Manager) SetIPv6Prefix(name string, n int) error {
	if err := checkPrefix6(n); err != nil {
		return err
	}
	return m.locked(name, func(j *jail) error { j.cfg.IPv6Prefix = n; return nil })
}

// keyLocked returns the ban key of addr in j: addr itself, or for IPv6 in a
// jail with IPv6Prefix its prefix, unless the prefix would cover an ignored
// or own address; j.mu is held.
func (m *Manager) keyLocked(j *jail, addr netip.Addr, now int64) netip.Prefix {
	bits := j.cfg.IPv6Prefix
	if !addr.Is6() || bits == 0 || bits >= 128 {
		return netip.PrefixFrom(addr, addr.BitLen())
	}
	p := netip.PrefixFrom(addr, bits).Masked()
	for _, n := range j.ignoreNets {
		if n.Overlaps(p) {
			return netip.PrefixFrom(addr, 128)
		}
	}
	for a := range j.ignoreSet {
		if p.Contains(a) {
			return netip.PrefixFrom(addr, 128)
		}
	}
	for _, a := range m.selfAddrs(now) {
		if p.Contains(a) {
			return netip.PrefixFrom(addr, 128)
		}
	}
	return p
}

// checkFindTime accepts whole seconds from 1 up, or Forever.
func checkFindTime(d time.Duration) error {
	return checkSeconds("findtime", d)
}

// checkSeconds refuses a findtime or bantime that is not a whole number of
// seconds from 1 up, or Forever (-1). fail2ban keeps whole seconds (its
// int()), so 0.4 would read back as 0; and a time of 0 or below, other
// than -1, would ban for nothing or never forget.
func checkSeconds(what string, d time.Duration) error {
	if d == Forever || d >= time.Second && d%time.Second == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s %s: want whole seconds from 1 up, or -1 for %s", ErrInvalidValue, what, SecondsText(d),
		map[string]string{"findtime": "never forgetting failures", "bantime": "a ban that never ends"}[what])
}

// SecondsText writes d as fail2ban's seconds: 600, -60, 0.4.
func SecondsText(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
}

// window is findtime in nanoseconds for comparisons: Forever (fail2ban's
// findtime -1) is a window no failure ever leaves, so failures are only
// forgotten when the entry is evicted or the address banned.
func window(d time.Duration) int64 {
	if d == Forever {
		return math.MaxInt64
	}
	return int64(d)
}

// checkBanTime accepts whole seconds from 1 up, or Forever.
func checkBanTime(d time.Duration) error {
	return checkSeconds("bantime", d)
}

// lookup returns the named jail.
func (m *Manager) lookup(name string) (*jail, error) {
	m.mu.RLock()
	j := m.jails[name]
	m.mu.RUnlock()
	if j == nil {
		return nil, unknownJail(name)
	}
	return j, nil
}

// locked runs f with the named jail locked, failing when it does not
// exist or was stopped meanwhile; events f queues are delivered after.
func (m *Manager) locked(name string, f func(j *jail) error) error {
	j, err := m.lookup(name)
	if err != nil {
		return err
	}
	j.mu.Lock()
	if j.removed {
		j.mu.Unlock()
		return unknownJail(name)
	}
	err = f(j)
	j.mu.Unlock()
	m.deliver(j)
	return err
}

// lockedNoDeliver is locked without the delivery: the caller's
// transaction delivers when it finishes.
func (m *Manager) lockedNoDeliver(name string, f func(j *jail) error) error {
	j, err := m.lookup(name)
	if err != nil {
		return err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.removed {
		return unknownJail(name)
	}
	return f(j)
}

// Start marks the jail started and wakes it from idle, as fail2ban's
// startJail does.
func (m *Manager) Start(name string) error {
	return m.locked(name, func(j *jail) error {
		j.started = true
		j.idle = false
		return nil
	})
}

// Started reports whether the jail was started.
func (m *Manager) Started(name string) (bool, error) {
	var on bool
	err := m.locked(name, func(j *jail) error { on = j.started; return nil })
	return on, err
}

// Stop removes the jail (fail2ban's `stop JAIL` deletes it): each of its
// bans is lifted with an EventUnban and its failures are forgotten.
func (m *Manager) Stop(name string) error {
	m.mu.Lock()
	j := m.jails[name]
	delete(m.jails, name)
	m.mu.Unlock()
	if j == nil {
		return unknownJail(name)
	}
	j.mu.Lock()
	j.removed = true
	m.unbanAllLocked(j, CauseJailStopped, nil)
	j.bans.release() // mapped outside the heap: not left for the cleanup
	m.fails.dropJail(j)
	j.mu.Unlock()
	m.deliver(j)
	return nil
}

// StopAll stops every jail.
func (m *Manager) StopAll() {
	for _, name := range m.Jails() {
		_ = m.Stop(name) // a concurrent Stop may have won; nothing to report
	}
}

// Jails returns the jail names, sorted.
func (m *Manager) Jails() []string {
	m.mu.RLock()
	names := make([]string, 0, len(m.jails))
	for n := range m.jails {
		names = append(names, n)
	}
	m.mu.RUnlock()
	slices.Sort(names)
	return names
}

// Has reports whether the jail exists.
func (m *Manager) Has(name string) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	_, ok := m.jails[name]
	return ok
}

// snapshot returns the live jails.
func (m *Manager) snapshot() []*jail {
	m.mu.RLock()
	js := make([]*jail, 0, len(m.jails))
	for _, j := range m.jails {
		js = append(js, j)
	}
	m.mu.RUnlock()
	return js
}

// Config returns a copy of the jail's settings.
func (m *Manager) Config(name string) (Config, error) {
	var c Config
	err := m.locked(name, func(j *jail) error {
		c = j.cfg
		c.IgnoreIP = slices.Clone(j.cfg.IgnoreIP)
		c.Actions = slices.Clone(j.cfg.Actions)
		return nil
	})
	return c, err
}

// SetMaxRetry sets maxretry (1..MaxRetryLimit); tracked addresses keep
// their most recent failures.
func (m *Manager) SetMaxRetry(name string, n int) error {
	if err := checkMaxRetry(n); err != nil {
		return err
	}
	return m.locked(name, func(j *jail) error { j.cfg.MaxRetry = n; return nil })
}

// SetFindTime sets findtime: positive, or Forever (failures never age out).
func (m *Manager) SetFindTime(name string, d time.Duration) error {
	if err := checkFindTime(d); err != nil {
		return err
	}
	return m.locked(name, func(j *jail) error {
		j.cfg.FindTime = d
		j.findTime.Store(window(d))
		return nil
	})
}

// SetBanTime sets bantime (positive or Forever) for bans made from now on.
func (m *Manager) SetBanTime(name string, d time.Duration) error {
	if err := checkBanTime(d); err != nil {
		return err
	}
	return m.locked(name, func(j *jail) error { j.cfg.BanTime = d; return nil })
}

// AddIgnore adds an ignoreip entry; duplicates are ignored.
func (m *Manager) AddIgnore(name string, p netip.Prefix) error {
	if !p.IsValid() || p.Addr().Zone() != "" {
		return fmt.Errorf("%w: %v", ErrInvalidAddress, p)
	}
	return m.locked(name, func(j *jail) error { j.addIgnore(p); return nil })
}

// DelIgnore removes an ignoreip entry; one not present is ErrInvalidValue,
// as fail2ban's list.remove raises ValueError.
func (m *Manager) DelIgnore(name string, p netip.Prefix) error {
	if !p.IsValid() {
		return fmt.Errorf("%w: %v", ErrInvalidAddress, p)
	}
	p = normPrefix(p)
	return m.locked(name, func(j *jail) error {
		i := slices.Index(j.cfg.IgnoreIP, p)
		if i < 0 {
			return invalidValue("ignoreip not in list", p)
		}
		j.setIgnore(slices.Delete(slices.Clone(j.cfg.IgnoreIP), i, i+1))
		return nil
	})
}

// SetIgnoreSelf turns ignoreself on or off.
func (m *Manager) SetIgnoreSelf(name string, on bool) error {
	return m.locked(name, func(j *jail) error { j.cfg.IgnoreSelf = on; return nil })
}

// SetIdle turns idle on or off; an idle jail counts no failures.
func (m *Manager) SetIdle(name string, on bool) error {
	return m.locked(name, func(j *jail) error { j.idle = on; return nil })
}

// Idle reports whether the jail is idle.
func (m *Manager) Idle(name string) (bool, error) {
	var on bool
	err := m.locked(name, func(j *jail) error { on = j.idle; return nil })
	return on, err
}

// SetActions replaces the action names passed along in Events.
func (m *Manager) SetActions(name string, names []string) error {
	names = slices.Clone(names)
	return m.locked(name, func(j *jail) error { j.cfg.Actions = names; return nil })
}

// Ignored reports whether Attempt would skip addr in the jail: loopback,
// ignoreip or (with ignoreself) one of this host's addresses.
func (m *Manager) Ignored(name string, addr netip.Addr) (bool, error) {
	var ign bool
	err := m.locked(name, func(j *jail) error {
		addr, err := checkAddr(addr)
		if err != nil {
			return err
		}
		ign = addr.IsLoopback() || m.ignoredLocked(j, addr, m.now().UnixNano())
		return nil
	})
	return ign, err
}

// RefreshSelf rereads this host's addresses for ignoreself now, rather
// than when the five-minute cache runs out (after an address change).
func (m *Manager) RefreshSelf() {
	m.self.refresh(m.selfFn, m.now().UnixNano(), true)
}

// setIgnore replaces the ignore list and rebuilds its lookup structures:
// single addresses go to a set, networks to a short list, as fail2ban does.
func (j *jail) setIgnore(ps []netip.Prefix) {
	j.cfg.IgnoreIP = nil
	j.ignoreSet = make(map[netip.Addr]struct{})
	j.ignoreNets = nil
	for _, p := range ps {
		j.addIgnore(p)
	}
}

// addIgnore appends p unless already present; j.cfg.IgnoreIP is copied
// first because Config copies may share its array.
func (j *jail) addIgnore(p netip.Prefix) {
	p = normPrefix(p)
	if slices.Contains(j.cfg.IgnoreIP, p) {
		return
	}
	j.cfg.IgnoreIP = append(slices.Clip(j.cfg.IgnoreIP), p)
	if p.IsSingleIP() {
		j.ignoreSet[p.Addr()] = struct{}{}
	} else {
		j.ignoreNets = append(j.ignoreNets, p)
	}
}

// ignoredLocked reports whether addr is ignored by ignoreip or ignoreself
// at now (unix nanoseconds); j.mu is held.
func (m *Manager) ignoredLocked(j *jail, addr netip.Addr, now int64) bool {
	if _, ok := j.ignoreSet[addr]; ok {
		return true
	}
	for _, p := range j.ignoreNets {
		if p.Contains(addr) {
			return true
		}
	}
	return j.cfg.IgnoreSelf && m.isSelf(addr, now)
}

// checkAddr normalises an address handed to the Manager: mapped IPv4
// becomes IPv4; the zero Addr and zoned addresses are refused.
func checkAddr(a netip.Addr) (netip.Addr, error) {
	if !a.IsValid() || a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("%w: %q", ErrInvalidAddress, a.String())
	}
	return a.Unmap(), nil
}

// selfCache holds this host's addresses for ignoreself.
type selfCache struct {
	cur atomic.Pointer[selfAddrs] // read lock-free on the hot path
	mu  sync.Mutex                // serialises refreshes; taken after jail.mu
}

type selfAddrs struct {
	at    int64
	addrs []netip.Addr
}

func (m *Manager) isSelf(addr netip.Addr, now int64) bool {
	return slices.Contains(m.selfAddrs(now), addr)
}

// selfAddrs returns this host's addresses, refreshed every selfTTL.
func (m *Manager) selfAddrs(now int64) []netip.Addr {
	s := m.self.cur.Load()
	if s == nil || now-s.at >= int64(selfTTL) || now < s.at {
		s = m.self.refresh(m.selfFn, now, false)
	}
	return s.addrs
}

// refresh rereads the addresses, unless (without force) another goroutine
// refreshed them while this one waited for the lock.
func (c *selfCache) refresh(fn func() []netip.Addr, now int64, force bool) *selfAddrs {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.cur.Load(); !force && s != nil && now-s.at < int64(selfTTL) && now >= s.at {
		return s
	}
	raw := fn()
	s := &selfAddrs{at: now, addrs: make([]netip.Addr, 0, len(raw))}
	for _, a := range raw {
		s.addrs = append(s.addrs, a.Unmap().WithZone(""))
	}
	c.cur.Store(s)
	return s
}

// SetBanTimeExtra applies `set JAIL bantime.OPT VALUE` (increment, factor,
// formula, multipliers, maxtime, rndtime, overalljails) and returns what
// `get JAIL bantime.OPT` answers afterwards, as fail2ban's setBanTimeExtra.
func (m *Manager) SetBanTimeExtra(name, opt, value string) (any, error) {
	var out any
	err := m.locked(name, func(j *jail) error {
		inc := j.cfg.Increment
		inc.Multipliers = slices.Clone(inc.Multipliers)
		v, err := inc.Set(opt, value)
		if err != nil {
			return err
		}
		j.cfg.Increment = inc
		out = v
		return nil
	})
	return out, err
}

// BanTimeExtra answers `get JAIL bantime.OPT`.
func (m *Manager) BanTimeExtra(name, opt string) (any, error) {
	var out any
	err := m.locked(name, func(j *jail) error {
		v, err := j.cfg.Increment.Get(opt)
		out = v
		return err
	})
	return out, err
}
