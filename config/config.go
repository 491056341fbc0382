// Package config loads banserver's YAML configuration through viper, with
// environment overrides, and turns it into the typed settings the daemon and
// banctl use.
//
// Jails are a list with a name field rather than a map keyed by name because
// viper lowercases map keys and jail names are case-sensitive.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/banserver/banserver/protocol"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration's text.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

// ErrInvalid reports a configuration value that cannot be used.
var ErrInvalid = errors.New("config: invalid value")

// EnvPrefix prefixes environment overrides: BANSERVER_SOCKET_PATH overrides socket.path.
const EnvPrefix = "BANSERVER"

// Config is the whole configuration.
type Config struct {
	Socket Socket `mapstructure:"socket"`
	Log    Log    `mapstructure:"log"`
	Limits Limits `mapstructure:"limits"`
	// DB is the ban store's path, or "none" for memory only.
	DB string `mapstructure:"db"`
	// DBPurgeAge is how long ended bans and ban history are kept, in
	// fail2ban's time syntax (its dbpurgeage; default 1d).
	DBPurgeAge string `mapstructure:"dbpurgeage"`
	// DBMaxMatches caps the failure messages kept with a stored ban.
	DBMaxMatches int    `mapstructure:"dbmaxmatches"`
	Kernel       Kernel `mapstructure:"kernel"`
	Jails        []Jail `mapstructure:"jails"`
	// Access grants command classes to peers other than root and the
	// daemon's own user (which may do everything); others may only ping.
	Access []AccessRule `mapstructure:"access"`
}

// AccessRule grants command classes on jails to the socket peers it
// matches: by user (name or uid) or by group (name or gid: the peer's
// primary group or a supplementary group of its user). Names are
// resolved at load, so an unknown user fails the load, not a request.
type AccessRule struct {
	User  string `mapstructure:"user"`
	UID   *int   `mapstructure:"uid"`
	Group string `mapstructure:"group"`
	GID   *int   `mapstructure:"gid"`
	// Classes: read, report, ban, unban, admin.
	Classes []string `mapstructure:"classes"`
	// Jails the classes apply to; "*" is every jail and the commands that
	// name no jail.
	Jails []string `mapstructure:"jails"`

	uid, gid int // resolved by validate; -1 when not matching by it
	classes  []protocol.Class
}

// PeerUID is the uid the rule matches, or -1.
func (r AccessRule) PeerUID() int { return r.uid }

// PeerGID is the gid the rule matches, or -1.
func (r AccessRule) PeerGID() int { return r.gid }

// CommandClasses are the rule's classes, parsed.
func (r AccessRule) CommandClasses() []protocol.Class { return r.classes }

// resolve checks the rule and resolves its names.
func (r *AccessRule) resolve(i int) error {
	n := 0
	for _, set := range []bool{r.User != "", r.UID != nil, r.Group != "", r.GID != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: access[%d]: want exactly one of user, uid, group, gid", ErrInvalid, i)
	}
	r.uid, r.gid = -1, -1
	switch {
	case r.User != "":
		u, err := user.Lookup(r.User)
		if err != nil {
			return fmt.Errorf("%w: access[%d]: user %q: %v", ErrInvalid, i, r.User, err)
		}
		r.uid, _ = strconv.Atoi(u.Uid)
	case r.UID != nil:
		if *r.UID < 0 {
			return fmt.Errorf("%w: access[%d]: uid %d", ErrInvalid, i, *r.UID)
		}
		r.uid = *r.UID
	case r.Group != "":
		g, err := user.LookupGroup(r.Group)
		if err != nil {
			return fmt.Errorf("%w: access[%d]: group %q: %v", ErrInvalid, i, r.Group, err)
		}
		r.gid, _ = strconv.Atoi(g.Gid)
	default:
		if *r.GID < 0 {
			return fmt.Errorf("%w: access[%d]: gid %d", ErrInvalid, i, *r.GID)
		}
		r.gid = *r.GID
	}
	if len(r.Classes) == 0 {
		return fmt.Errorf("%w: access[%d]: no classes", ErrInvalid, i)
	}
	r.classes = r.classes[:0]
	for _, name := range r.Classes {
		c, err := protocol.ParseClass(name)
		if err != nil {
			return fmt.Errorf("%w: access[%d]: %v (want read, report, ban, unban or admin)", ErrInvalid, i, err)
		}
		r.classes = append(r.classes, c)
	}
	if len(r.Jails) == 0 {
		return fmt.Errorf("%w: access[%d]: no jails (use \"*\" for all)", ErrInvalid, i)
	}
	for _, j := range r.Jails {
		if j == "" {
			return fmt.Errorf("%w: access[%d]: empty jail name", ErrInvalid, i)
		}
	}
	return nil
}

// Kernel configures the actions that change the kernel (routes, nftables).
type Kernel struct {
	// NetNS is the path of the network namespace kernel actions apply in
	// (e.g. /run/netns/edge); empty is the daemon's own. An action's own
	// netns option overrides it.
	NetNS string `mapstructure:"netns"`
	// FlushOnStop removes the daemon's routes and set elements when it
	// stops. Off by default: bans must outlive a restart or an upgrade.
	FlushOnStop bool `mapstructure:"flush_on_stop"`
}

// Socket is where and how the daemon listens.
type Socket struct {
	Path string `mapstructure:"path"`
	// Mode is the socket file's permission bits, in octal ("0660").
	Mode string `mapstructure:"mode"`
	// Owner and Group name (or number) the socket file's owner and group;
	// empty keeps the daemon's own.
	Owner string `mapstructure:"owner"`
	Group string `mapstructure:"group"`
}

// Log configures zap.
type Log struct {
	// Format is "console" or "json".
	Format string `mapstructure:"format"`
	// Level is a fail2ban level name (CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG).
	Level string `mapstructure:"level"`
}

// Limits bound what one client can cost the daemon.
type Limits struct {
	// MaxMessage caps one framed message, in bytes.
	MaxMessage int `mapstructure:"max_message"`
	// IdleTimeout closes a connection that sends nothing for this long.
	IdleTimeout time.Duration `mapstructure:"idle_timeout"`
	// MaxFailures caps tracked failure entries over all jails (oldest evicted first).
	MaxFailures int `mapstructure:"max_failures"`
	// MaxAddresses caps the addresses of one banip/unbanip/banned/unban.
	MaxAddresses int `mapstructure:"max_addresses"`
	// RatePerUID is the commands per second of one uid (root and the
	// daemon's user exempt), with bursts of RateBurst; -1 is unlimited.
	RatePerUID float64 `mapstructure:"rate_per_uid"`
	RateBurst  int     `mapstructure:"rate_burst"`
	// MaxConns caps open connections in all; MaxConnsPerUID per uid (root
	// and the daemon's user exempt). -1 is unlimited.
	MaxConns       int `mapstructure:"max_conns"`
	MaxConnsPerUID int `mapstructure:"max_conns_per_uid"`
	// ReadTimeout bounds the time from a message's first byte to its end.
	ReadTimeout time.Duration `mapstructure:"read_timeout"`
	// MaxJails caps the jails; `add` beyond it is refused.
	MaxJails int `mapstructure:"max_jails"`
}

// Jail is one jail's settings as written in the file. Durations keep
// fail2ban's syntax ("600", "30m", "1h30m", "-1") and are parsed by the jail
// package.
type Jail struct {
	Name     string   `mapstructure:"name"`
	MaxRetry int      `mapstructure:"maxretry"`
	FindTime string   `mapstructure:"findtime"`
	BanTime  string   `mapstructure:"bantime"`
	IgnoreIP []string `mapstructure:"ignoreip"`
	// IgnoreSelf defaults to true, as in fail2ban's jail.conf.
	IgnoreSelf *bool    `mapstructure:"ignoreself"`
	Actions    []string `mapstructure:"actions"`
	// IPv6Prefix, e.g. 64, counts and bans IPv6 attackers by prefix; 0 is
	// per address.
	IPv6Prefix int `mapstructure:"ipv6prefix"`
	// fail2ban's bantime.* options, spelled as in its jail.conf; values
	// in its syntax (booleans, factor, "1 2 4 8" multipliers, times).
	BanTimeIncrement    string `mapstructure:"bantime.increment"`
	BanTimeFactor       string `mapstructure:"bantime.factor"`
	BanTimeFormula      string `mapstructure:"bantime.formula"`
	BanTimeMultipliers  string `mapstructure:"bantime.multipliers"`
	BanTimeMaxTime      string `mapstructure:"bantime.maxtime"`
	BanTimeRndTime      string `mapstructure:"bantime.rndtime"`
	BanTimeOverallJails string `mapstructure:"bantime.overalljails"`
}

// BanTimeExtra returns the jail's bantime.* options that are set, by
// option name (increment, factor, ...), in the order fail2ban applies them.
func (j Jail) BanTimeExtra() [][2]string {
	var out [][2]string
	for _, kv := range [][2]string{
		{"increment", j.BanTimeIncrement}, {"factor", j.BanTimeFactor}, {"formula", j.BanTimeFormula},
		{"multipliers", j.BanTimeMultipliers}, {"maxtime", j.BanTimeMaxTime}, {"rndtime", j.BanTimeRndTime},
		{"overalljails", j.BanTimeOverallJails},
	} {
		if kv[1] != "" {
			out = append(out, kv)
		}
	}
	return out
}

// Defaults, applied under the file and the environment.
const (
	DefaultSocket      = "/run/ban.sock"
	DefaultDB          = "/var/lib/banserver/bans.db"
	DefaultMaxMessage  = 64 << 10
	DefaultIdleTimeout = 5 * time.Minute
	DefaultMaxFailures = 100_000
	// Limits on clients; server.Limits documents each.
	DefaultMaxAddresses   = 10_000
	DefaultRatePerUID     = 2000
	DefaultMaxConns       = 4096
	DefaultMaxConnsPerUID = 512
	DefaultReadTimeout    = 10 * time.Second
	DefaultMaxJails       = 100
	DefaultMaxRetry       = 10
	DefaultFindTime       = "30m"
	DefaultBanTime        = "1h"
)

func newViper() *viper.Viper {
	v := viper.New()
	v.SetConfigType("yaml")
	v.SetDefault("socket.path", DefaultSocket)
	v.SetDefault("socket.mode", "0660")
	v.SetDefault("socket.owner", "")
	v.SetDefault("socket.group", "")
	v.SetDefault("log.format", "console")
	v.SetDefault("log.level", "info")
	v.SetDefault("limits.max_message", DefaultMaxMessage)
	v.SetDefault("limits.idle_timeout", DefaultIdleTimeout)
	v.SetDefault("limits.max_failures", DefaultMaxFailures)
	v.SetDefault("limits.max_addresses", DefaultMaxAddresses)
	v.SetDefault("limits.rate_per_uid", DefaultRatePerUID)
	v.SetDefault("limits.rate_burst", 0) // 0: one second's worth
	v.SetDefault("limits.max_conns", DefaultMaxConns)
	v.SetDefault("limits.max_conns_per_uid", DefaultMaxConnsPerUID)
	v.SetDefault("limits.read_timeout", DefaultReadTimeout)
	v.SetDefault("limits.max_jails", DefaultMaxJails)
	v.SetDefault("db", DefaultDB)
	v.SetDefault("dbpurgeage", "1d")
	v.SetDefault("dbmaxmatches", 10)
	v.SetDefault("kernel.netns", "")
	v.SetDefault("kernel.flush_on_stop", false)
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	return v
}

// Load reads the configuration at path, or the embedded default when path
// is empty. An empty file is valid: it has no jails.
func Load(path string) (*Config, error) {
	v := newViper()
	var src []byte
	if path == "" {
		src = defaultYAML
	} else {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		src = b
	}
	if err := v.ReadConfig(bytes.NewReader(src)); err != nil {
		name := path
		if name == "" {
			name = "embedded default"
		}
		return nil, fmt.Errorf("config: %s: %w", name, err)
	}
	var c Config
	if err := v.Unmarshal(&c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

func (c *Config) validate() error {
	if c.Socket.Path == "" {
		return fmt.Errorf("%w: socket.path is empty", ErrInvalid)
	}
	if _, err := c.Socket.FileMode(); err != nil {
		return err
	}
	switch c.Log.Format {
	case "console", "json":
	default:
		return fmt.Errorf("%w: log.format %q (want console or json)", ErrInvalid, c.Log.Format)
	}
	if c.Limits.MaxMessage <= 0 {
		return fmt.Errorf("%w: limits.max_message must be positive", ErrInvalid)
	}
	for _, l := range []struct {
		key string
		v   float64
	}{
		{"max_addresses", float64(c.Limits.MaxAddresses)}, {"rate_per_uid", c.Limits.RatePerUID},
		{"max_conns", float64(c.Limits.MaxConns)}, {"max_conns_per_uid", float64(c.Limits.MaxConnsPerUID)},
		{"max_jails", float64(c.Limits.MaxJails)}, {"read_timeout", float64(c.Limits.ReadTimeout)},
	} {
		// 0 would mean "default" to the server; in the file the default is
		// written out already, so 0 is a mistake. -1 turns a limit off.
		if l.v == 0 || (l.v < 0 && l.v != -1) {
			return fmt.Errorf("%w: limits.%s must be positive, or -1 for no limit", ErrInvalid, l.key)
		}
	}
	if c.Limits.RateBurst < 0 {
		return fmt.Errorf("%w: limits.rate_burst must not be negative", ErrInvalid)
	}
	for i := range c.Access {
		if err := c.Access[i].resolve(i); err != nil {
			return err
		}
	}
	seen := map[string]bool{}
	for i := range c.Jails {
		j := &c.Jails[i]
		if j.Name == "" {
			return fmt.Errorf("%w: jails[%d] has no name", ErrInvalid, i)
		}
		if seen[j.Name] {
			return fmt.Errorf("%w: jail %q is defined twice", ErrInvalid, j.Name)
		}
		seen[j.Name] = true
		if j.MaxRetry == 0 {
			j.MaxRetry = DefaultMaxRetry
		}
		if j.MaxRetry < 0 {
			return fmt.Errorf("%w: jail %q: maxretry %d", ErrInvalid, j.Name, j.MaxRetry)
		}
		if j.FindTime == "" {
			j.FindTime = DefaultFindTime
		}
		if j.BanTime == "" {
			j.BanTime = DefaultBanTime
		}
		if j.IgnoreSelf == nil {
			on := true
			j.IgnoreSelf = &on
		}
	}
	return nil
}

// FileMode parses Mode as octal permission bits.
func (s Socket) FileMode() (os.FileMode, error) {
	m, err := strconv.ParseUint(s.Mode, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("%w: socket.mode %q (want octal like 0660)", ErrInvalid, s.Mode)
	}
	return os.FileMode(m), nil
}
