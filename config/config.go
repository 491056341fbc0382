// Package config loads banserver's YAML configuration through viper, with
// environment overrides, and turns it into the typed settings the daemon and
// banctl use.
//
// The configuration is strict: the file is walked against the Config
// struct's mapstructure tags before viper reads it (keys.go), so a typo,
// a key in the wrong place or a value of the wrong kind stops the load with
// the key's path as written, its line and the nearest known key; every
// value is then checked against its range (validate.go). Load reports every
// problem it finds at once (errors.go).
//
// Jails are a list with a name field rather than a map keyed by name because
// viper lowercases map keys and jail names are case-sensitive.
package config

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/server"
	"github.com/banserver/banserver/store"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration's text.
func DefaultYAML() []byte { return bytes.Clone(defaultYAML) }

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
	// FilterDirs are where jails' filters (fail2ban's filter.d files) are
	// looked up, in order: banserver's own first, then fail2ban's.
	FilterDirs []string `mapstructure:"filter_dirs"`
	// Cluster shares failures and bans of jails with shared: true with
	// other banserver nodes through Redis; without it nothing is shared.
	Cluster Cluster `mapstructure:"cluster"`
	// Metrics serves Prometheus metrics; off unless metrics.listen is set.
	Metrics Metrics `mapstructure:"metrics"`

	purgeAge time.Duration // DBPurgeAge, parsed by validate
}

// Cluster configures sharing with other nodes through Redis.
type Cluster struct {
	// Redis is the server's URL: redis://[user:password@]host:port/db,
	// rediss:// for TLS, unix:///path/to.sock,
	// redis+sentinel://host:26379,host2:26379/MASTER for Sentinel,
	// redis+cluster://host:7000,host2:7000 for Redis Cluster (see package
	// cluster); a password not in the URL is read from
	// BANSERVER_REDIS_PASSWORD. Empty: no cluster.
	Redis string `mapstructure:"redis"`
	// Node names this host in the cluster (default: the hostname).
	Node string `mapstructure:"node"`
	// Prefix is put before every Redis key (default banserver): clusters
	// sharing one Redis keep apart by it.
	Prefix string `mapstructure:"prefix"`
}

// Metrics configures the Prometheus endpoint.
type Metrics struct {
	// Listen is where /metrics is served: a TCP address (host:port,
	// [::1]:port, :port for every address) or the absolute path of a
	// Unix socket. Empty: no metrics.
	Listen string `mapstructure:"listen"`
}

// Enabled reports whether the daemon serves metrics.
func (m Metrics) Enabled() bool { return m.Listen != "" }

// Unix reports whether Listen is a Unix socket's path rather than a TCP
// address.
func (m Metrics) Unix() bool { return strings.HasPrefix(m.Listen, "/") }

// Enabled reports whether the config joins a cluster.
func (c Cluster) Enabled() bool { return c.Redis != "" }

// PurgeAge is dbpurgeage, parsed.
func (c *Config) PurgeAge() time.Duration { return c.purgeAge }

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
	// Shared counts the jail's failures and makes its bans with the
	// cluster's other nodes (needs cluster.redis).
	Shared bool `mapstructure:"shared"`
	// fail2ban's bantime.* options, spelled as in its jail.conf; values
	// in its syntax (booleans, factor, "1 2 4 8" multipliers, times).
	BanTimeIncrement    string `mapstructure:"bantime.increment"`
	BanTimeFactor       string `mapstructure:"bantime.factor"`
	BanTimeFormula      string `mapstructure:"bantime.formula"`
	BanTimeMultipliers  string `mapstructure:"bantime.multipliers"`
	BanTimeMaxTime      string `mapstructure:"bantime.maxtime"`
	BanTimeRndTime      string `mapstructure:"bantime.rndtime"`
	BanTimeOverallJails string `mapstructure:"bantime.overalljails"`

	// Log jails, with fail2ban's names: the jail reads these logs and
	// counts each line its filter matches as a failure at the line's own
	// time. A jail may read logs and take attempts over the socket.
	//
	// LogPath are files or globs, each optionally followed by " head"
	// (the default: a new file is read from its start) or " tail".
	LogPath []string `mapstructure:"logpath"`
	// Backend is auto, polling, inotify (also pyinotify, gamin) or
	// systemd (the journal, through journalctl).
	Backend string `mapstructure:"backend"`
	// Filter is a fail2ban filter name with options
	// ("sshd[mode=aggressive]"), looked up in filter_dirs.
	Filter string `mapstructure:"filter"`
	// FailRegex, IgnoreRegex, PrefRegex, DatePattern and MaxLines replace
	// the filter's (or make a filter of their own, without Filter).
	FailRegex   []string `mapstructure:"failregex"`
	IgnoreRegex []string `mapstructure:"ignoreregex"`
	PrefRegex   string   `mapstructure:"prefregex"`
	DatePattern string   `mapstructure:"datepattern"`
	MaxLines    int      `mapstructure:"maxlines"`
	// JournalMatch replaces the filter's journalmatch (backend systemd).
	JournalMatch string `mapstructure:"journalmatch"`
	// LogEncoding is auto (utf-8), utf-8, latin-1 or ascii.
	LogEncoding string `mapstructure:"logencoding"`
	// UseDNS is yes, warn (the default), no or raw.
	UseDNS string `mapstructure:"usedns"`
	// LogTimeZone is the zone of log dates that name none (UTC, UTC+0400).
	LogTimeZone string `mapstructure:"logtimezone"`

	parsed jail.Config // the settings above, parsed by validate
}

// ReadsLogs reports whether the jail reads logs (or has a filter of its
// own, which only makes sense with logs).
func (j Jail) ReadsLogs() bool {
	return len(j.LogPath) > 0 || strings.EqualFold(j.Backend, "systemd") || j.Filter != "" ||
		len(j.FailRegex) > 0
}

// Parsed returns the jail's settings as the jail package takes them,
// parsed and checked at load: durations, ignoreip prefixes, the bantime.*
// options. Actions is left empty: the daemon resolves the specs against
// its built-in actions.
func (j Jail) Parsed() jail.Config {
	c := j.parsed
	c.IgnoreIP = append([]netip.Prefix(nil), c.IgnoreIP...)
	return c
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

// DefaultFilterDirs are filter_dirs' default: banserver's own filters
// first, then fail2ban's.
var DefaultFilterDirs = []string{DefaultFilterDir, "/etc/fail2ban/filter.d"}

// Defaults, applied under the file and the environment. Those of a
// package's own setting are that package's constant, so each default is
// written once.
const (
	DefaultSocket      = "/run/ban.sock"
	DefaultDB          = "/var/lib/banserver/bans.db"
	DefaultMaxMessage  = server.DefaultMaxMessage
	DefaultIdleTimeout = server.DefaultIdleTimeout
	DefaultMaxFailures = jail.DefaultMaxFailures
	// Limits on clients; server.Limits documents each.
	DefaultMaxAddresses   = server.DefaultMaxAddresses
	DefaultRatePerUID     = server.DefaultRatePerUID
	DefaultMaxConns       = server.DefaultMaxConns
	DefaultMaxConnsPerUID = server.DefaultMaxConnsPerUID
	DefaultReadTimeout    = server.DefaultReadTimeout
	DefaultMaxJails       = server.DefaultMaxJails
	DefaultDBMaxMatches   = store.DefaultMaxMatches
	DefaultDBPurgeAge     = "1d"
	// Filters (filter_dirs): banserver's own, then fail2ban's.
	DefaultFilterDir = "/etc/banserver/filter.d"
	// A jail in the file without these settings gets them: the API jail
	// banserver is for (fail2ban's add, and jail.DefaultConfig, use 3,
	// 10m, 10m).
	DefaultMaxRetry = 10
	DefaultFindTime = "30m"
	DefaultBanTime  = "1h"
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
	v.SetDefault("dbpurgeage", DefaultDBPurgeAge)
	v.SetDefault("dbmaxmatches", DefaultDBMaxMatches)
	v.SetDefault("filter_dirs", DefaultFilterDirs)
	v.SetDefault("kernel.netns", "")
	v.SetDefault("kernel.flush_on_stop", false)
	v.SetDefault("metrics.listen", "")
	v.SetEnvPrefix(EnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	return v
}

// Checks are checks Load cannot make itself because they belong to
// packages config must not import; LoadWith runs them with its own and
// reports their problems under the key's path, with the others.
type Checks struct {
	// LogLevel checks log.level (the daemon passes server.ParseLogLevel's
	// verdict, so the list of fail2ban's level names lives in one place).
	LogLevel func(level string) error
	// Action checks one action spec of a jail, already well-formed: that
	// it names a built-in action and that its options are valid.
	Action func(spec string) error
	// LogJail checks a jail's log settings (its filter read, every regex
	// compiled) with the configuration's filter_dirs.
	LogJail func(j Jail, filterDirs []string) error
}

// Load reads the configuration at path, or the embedded default when path
// is empty. An empty file is valid: it has no jails. Keys are matched in
// any case. An unknown key, a value of the wrong kind or out of range
// stops the load: the error joins one *Error per problem, each naming the
// key's path as written and its line; all match ErrInvalid, unknown keys
// ErrUnknownKey too. Environment variables (BANSERVER_SOCKET_PATH, ...)
// override the file's keys and are checked the same way.
func Load(path string) (*Config, error) { return LoadWith(path, Checks{}) }

// LoadWith is Load with the checks ch as well.
func LoadWith(path string, ch Checks) (*Config, error) {
	name, src := path, defaultYAML
	if path == "" {
		name = "embedded default"
	} else {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("config: %w", err)
		}
		src = b
	}
	p := &problems{file: name, keys: newFileKeys()}
	clean, ok := p.walkFile(src)
	if !p.checkEnv() || !ok {
		return nil, p.err()
	}
	v := newViper()
	if err := v.ReadConfig(bytes.NewReader(clean)); err != nil {
		p.errs = append(p.errs, &Error{File: name, Msg: err.Error(), Err: ErrInvalid})
		return nil, p.err()
	}
	var c Config
	if err := v.Unmarshal(&c); err != nil {
		// The walk and checkEnv refused what viper cannot decode: this
		// is a mistake of theirs, said in viper's words.
		p.errs = append(p.errs, &Error{File: name, Msg: strings.Join(strings.Fields(err.Error()), " "), Err: ErrInvalid})
		return nil, p.err()
	}
	c.validate(p, ch)
	if err := p.err(); err != nil {
		return nil, err
	}
	return &c, nil
}

// FileMode parses Mode as octal permission bits ("0660", or "0o660").
func (s Socket) FileMode() (os.FileMode, error) {
	m, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(s.Mode, "0o"), "0O"), 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("%w: socket.mode %q (want octal like 0660)", ErrInvalid, s.Mode)
	}
	return os.FileMode(m), nil
}
