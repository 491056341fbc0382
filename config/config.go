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
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
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
	DefaultMaxRetry    = 10
	DefaultFindTime    = "30m"
	DefaultBanTime     = "1h"
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
