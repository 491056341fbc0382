package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
)

// MaxJailName is the longest jail name, in bytes: the ban store keys its
// records by jail name and refuses longer ones.
const MaxJailName = 255

// maxSocketPath is the longest Unix socket path: sun_path holds 108 bytes,
// the last a NUL.
const maxSocketPath = 107

// maxID is the largest uid or gid: (uid_t)-1 means "unchanged" to chown.
const maxID = math.MaxUint32 - 1

// Ranges of the numeric settings. The reasons are in the README's
// configuration reference; in short:
var (
	// A ping pickle is about 30 bytes and the longest fixed-shape command
	// (set JAIL bantime.formula with a 255-byte jail name) about 400; 1 KiB
	// leaves room for a failure message. The reader buffers a whole
	// message per connection: 64 MiB bounds that.
	maxMessageRange = intRange{lo: 1 << 10, hi: 64 << 20}
	// Each entry is about 400 bytes: 10 million is 4 GB. Fewer than 100
	// entries over all jails forget attackers faster than they fail.
	maxFailuresRange  = intRange{lo: 100, hi: 10_000_000}
	maxAddressesRange = intRange{lo: 1, hi: 1_000_000, special: -1, what: "no limit"}
	rateBurstRange    = intRange{lo: 1, hi: 1_000_000, special: 0, what: "one second of rate_per_uid"}
	// Root and the daemon's user count towards max_conns: a handful of
	// connections must stay for them.
	maxConnsRange       = intRange{lo: 16, hi: 1 << 20, special: -1, what: "no limit"}
	maxConnsPerUIDRange = intRange{lo: 1, hi: 1 << 20, special: -1, what: "no limit"}
	maxJailsRange       = intRange{lo: 1, hi: 10_000, special: -1, what: "no limit"}
	dbMaxMatchesRange   = intRange{lo: 0, hi: 1000}
	// A failure spread over more lines than this is no failure of one
	// host's; fail2ban's filters use at most a few dozen.
	maxLinesRange = intRange{lo: 1, hi: 1000}
	maxRetryRange = intRange{lo: 1, hi: jail.MaxRetryLimit}
	// jail.checkPrefix6's rule: shorter than /16 bans much of the Internet.
	ipv6PrefixRange = intRange{lo: 16, hi: 128, special: 0, what: "per address"}
	idRange         = intRange{lo: 0, hi: maxID}

	idleTimeoutRange = durRange{lo: time.Second, hi: 24 * time.Hour}
	readTimeoutRange = durRange{lo: time.Second, hi: time.Hour}
)

// Rates of commands per uid: above a million a second the limit is no
// limit (the daemon answers about 140,000 a second on two cores).
const minRate, maxRate = 1, 1_000_000

// intRange is an inclusive range of whole numbers, and a special value
// outside it with its meaning, if what is set.
type intRange struct {
	lo, hi  int
	special int
	what    string
}

func (r intRange) String() string {
	s := fmt.Sprintf("%d..%d", r.lo, r.hi)
	if r.what != "" {
		s += fmt.Sprintf(", or %d (%s)", r.special, r.what)
	}
	return s
}

func (r intRange) check(p *problems, path string, v int) {
	if (v < r.lo || v > r.hi) && (r.what == "" || v != r.special) {
		p.invalid(path, "%d is out of range %v", v, r)
	}
}

// durRange is a range of Go durations, or -1 for never.
type durRange struct{ lo, hi time.Duration }

func (r durRange) String() string {
	return fmtDuration(r.lo) + ".." + fmtDuration(r.hi) + ", or -1 (never)"
}

func (r durRange) check(p *problems, path string, d time.Duration) {
	if (d < r.lo || d > r.hi) && d != -1 {
		p.invalid(path, "%s is out of range %v", fmtDuration(d), r)
	}
}

// fmtDuration writes d without zero minutes and seconds: 24h, not 24h0m0s.
func fmtDuration(d time.Duration) string {
	if d == -1 {
		return "-1"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// validate checks every setting, fills the jails' defaults and parses what
// the daemon would otherwise parse again.
func (c *Config) validate(p *problems, ch Checks) {
	c.validateSocket(p)
	c.validateLog(p, ch)
	c.validateLimits(p)
	if c.DB == "" {
		p.invalid("db", "empty: write the ban store's path, or none to keep bans in memory only")
	}
	if d, ok := fail2banDuration(p, "dbpurgeage", c.DBPurgeAge, false); ok {
		c.purgeAge = d
	}
	dbMaxMatchesRange.check(p, "dbmaxmatches", c.DBMaxMatches)
	if n := c.Kernel.NetNS; n != "" && !validNetNS(n) {
		p.invalid("kernel.netns", "%q: want an absolute path (/run/netns/NAME) or a name under /run/netns", n)
	}
	for i := range c.Access {
		c.Access[i].resolve(p, i)
	}
	for i, d := range c.FilterDirs {
		if !filepath.IsAbs(d) {
			p.invalid(fmt.Sprintf("filter_dirs[%d]", i), "%q: write an absolute path", d)
		}
	}
	c.validateJails(p, ch)
	c.validateCluster(p)
	c.validateMetrics(p)
}

// validateMetrics checks metrics.listen: a Unix socket's absolute path,
// or a TCP host:port whose port is a number (0: any free port) and whose
// host, when given, is an address or a name.
func (c *Config) validateMetrics(p *problems) {
	l := c.Metrics.Listen
	switch {
	case l == "":
	case c.Metrics.Unix():
		switch {
		case len(l) > maxSocketPath:
			p.invalid("metrics.listen", "%d bytes is too long for a Unix socket path (at most %d)", len(l), maxSocketPath)
		case strings.HasSuffix(l, "/"):
			p.invalid("metrics.listen", "%q names a directory: write the socket's path", l)
		case filepath.Clean(l) == filepath.Clean(c.Socket.Path):
			p.invalid("metrics.listen", "%q is socket.path: metrics need a socket of their own", l)
		}
	default:
		host, port, err := net.SplitHostPort(l)
		if err != nil {
			p.invalid("metrics.listen", "%q: write host:port (127.0.0.1:9650, [::1]:9650, :9650) or the absolute path of a Unix socket", l)
			return
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			p.invalid("metrics.listen", "%q: the port %q is not a number from 0 to 65535", l, port)
		}
		if host != "" && strings.ContainsAny(host, " \t/") {
			p.invalid("metrics.listen", "%q: the host %q is no address or name", l, host)
		}
	}
}

// validateCluster checks the cluster section: a shared jail needs a
// cluster to share with, and the node's name goes into every ban it
// shares.
func (c *Config) validateCluster(p *problems) {
	cl := &c.Cluster
	if cl.Redis == "" {
		if cl.Node != "" || (cl.Prefix != "" && cl.Prefix != "banserver") {
			p.invalid("cluster.redis", "missing: cluster.node and cluster.prefix need the Redis URL to share through")
		}
		for i, j := range c.Jails {
			if j.Shared {
				p.invalid(fmt.Sprintf("jails[%d].shared", i), "true without cluster.redis: set cluster.redis to the Redis URL, or remove shared")
			}
		}
		return
	}
	schemes := []string{"redis", "rediss", "unix", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster"}
	if u, err := url.Parse(cl.Redis); err != nil || !slices.Contains(schemes, u.Scheme) {
		p.invalid("cluster.redis", "%q is not a Redis URL: write redis://host:6379/0, rediss://host:6380, unix:///run/redis/redis.sock, redis+sentinel://host:26379,host2:26379/MASTER or redis+cluster://host:7000,host2:7000", redactURL(cl.Redis))
	}
	if cl.Node == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			p.invalid("cluster.node", "missing, and the hostname is unknown (%v): name this node", err)
		}
		cl.Node = h
	}
	if strings.ContainsAny(cl.Node, " \t\n|") || len(cl.Node) > 255 {
		p.invalid("cluster.node", "%q: write a name of up to 255 characters without spaces or |", cl.Node)
	}
	if cl.Prefix == "" {
		cl.Prefix = "banserver"
	} else if strings.ContainsAny(cl.Prefix, " \t\n{}") {
		p.invalid("cluster.prefix", "%q: write a name without spaces or braces", cl.Prefix)
	}
	for i := range c.Jails {
		c.Jails[i].parsed.Shared = c.Jails[i].Shared
	}
}

// redactURL hides a URL's password for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

func (c *Config) validateSocket(p *problems) {
	s := &c.Socket
	switch {
	case s.Path == "":
		p.invalid("socket.path", "empty: write the socket's path, such as %s", DefaultSocket)
	case len(s.Path) > maxSocketPath:
		p.invalid("socket.path", "%d bytes is too long for a Unix socket path (at most %d)", len(s.Path), maxSocketPath)
	}
	// YAML reads an unquoted 0660 as the number 432, which viper would
	// hand back as "432": take the digits as written.
	if k, ok := p.keys.at["socket.mode"]; ok && k.tag == "!!int" && envName("socket.mode") == "" {
		s.Mode = k.text
	}
	if _, err := s.FileMode(); err != nil {
		p.invalid("socket.mode", "%q is not permission bits: write octal digits in quotes, such as \"0660\" (at most 0777)", s.Mode)
	}
	if s.Owner != "" {
		checkID(p, "socket.owner", s.Owner, false)
	}
	if s.Group != "" {
		checkID(p, "socket.group", s.Group, true)
	}
}

// checkID checks a user or group name, or number, as the daemon resolves
// the socket's owner and group at start.
func checkID(p *problems, path, v string, group bool) {
	if n, err := strconv.Atoi(v); err == nil {
		idRange.check(p, path, n)
		return
	}
	if group {
		if _, err := user.LookupGroup(v); err != nil {
			p.invalid(path, "no group %q on this host%s", v, lookupDetail(err))
		}
		return
	}
	if _, err := user.Lookup(v); err != nil {
		p.invalid(path, "no user %q on this host%s", v, lookupDetail(err))
	}
}

// lookupDetail is what a failed user or group lookup adds to "no such
// user": nothing when there is none, else the reason.
func lookupDetail(err error) string {
	var u user.UnknownUserError
	var g user.UnknownGroupError
	if errors.As(err, &u) || errors.As(err, &g) {
		return ""
	}
	return ": " + err.Error()
}

// jailMessage is the jail package's error without what the path says
// already: "jail: invalid value: bantime.factor "-1": must be positive"
// at path ...bantime.factor is `"-1": must be positive`.
func jailMessage(err error, key string) string {
	s := err.Error()
	for _, prefix := range []string{"jail: " + key + ": ", jail.ErrInvalidValue.Error() + ": ", key + " ", key + ": "} {
		s = strings.TrimPrefix(s, prefix)
	}
	return s
}

func (c *Config) validateLog(p *problems, ch Checks) {
	switch c.Log.Format {
	case "console", "json":
	default:
		p.invalid("log.format", "%q is not a log format: want console or json", c.Log.Format)
	}
	if ch.LogLevel != nil {
		if err := ch.LogLevel(c.Log.Level); err != nil {
			p.invalid("log.level", "%q is not a log level: want one of fail2ban's levels (CRITICAL, ERROR, WARNING, NOTICE, INFO, DEBUG)", c.Log.Level)
		}
	}
}

func (c *Config) validateLimits(p *problems) {
	l := &c.Limits
	maxMessageRange.check(p, "limits.max_message", l.MaxMessage)
	idleTimeoutRange.check(p, "limits.idle_timeout", l.IdleTimeout)
	maxFailuresRange.check(p, "limits.max_failures", l.MaxFailures)
	maxAddressesRange.check(p, "limits.max_addresses", l.MaxAddresses)
	if r := l.RatePerUID; !(r >= minRate && r <= maxRate) && r != -1 {
		p.invalid("limits.rate_per_uid", "%g is out of range %d..%d, or -1 (no limit)", r, minRate, maxRate)
	}
	rateBurstRange.check(p, "limits.rate_burst", l.RateBurst)
	maxConnsRange.check(p, "limits.max_conns", l.MaxConns)
	maxConnsPerUIDRange.check(p, "limits.max_conns_per_uid", l.MaxConnsPerUID)
	readTimeoutRange.check(p, "limits.read_timeout", l.ReadTimeout)
	maxJailsRange.check(p, "limits.max_jails", l.MaxJails)
	if n := len(c.Jails); l.MaxJails >= maxJailsRange.lo && n > l.MaxJails {
		p.invalid("limits.max_jails", "%d is fewer than the %d jails configured: raise it, or -1 (no limit)", l.MaxJails, n)
	}
}

// fail2banDuration parses a time in fail2ban's syntax at path: at least a
// second and at most jail.MaxIncrementTime (a century), or -1 when forever
// may be. fail2ban keeps whole seconds, so a fraction of a second would
// read back as 0.
func fail2banDuration(p *problems, path, v string, forever bool) (time.Duration, bool) {
	rng, orForever := "1s..100y", ""
	if forever {
		orForever = ", or -1 (forever)"
		rng += orForever
	}
	if v == "" {
		p.invalid(path, "empty: write a time (600, 30m, 1h, 1d, 1w), or remove the key for the default")
		return 0, false
	}
	d, err := jail.ParseDuration(v)
	switch {
	case err != nil:
		p.invalid(path, "%q is not a time: write seconds (600) or a number and a unit (30m, 1h, 2d, 1w)%s", v, orForever)
		return 0, false
	case forever && d == jail.Forever:
		return d, true
	case d > 0 && d < time.Second:
		p.invalid(path, "%q is under a second: fail2ban keeps whole seconds and would read it back as 0; write at least 1", v)
		return 0, false
	case d < time.Second || d > jail.MaxIncrementTime:
		p.invalid(path, "%q is out of range %s", v, rng)
		return 0, false
	}
	return d, true
}

// validNetNS is route's rule for a netns: an absolute clean path, or a
// name under /run/netns.
func validNetNS(v string) bool {
	if filepath.IsAbs(v) {
		return filepath.Clean(v) == v
	}
	return !strings.Contains(v, "/") && v != "." && v != ".."
}

// checkJailName checks a jail name, in a jail or an access rule.
func checkJailName(p *problems, path, name string) bool {
	switch {
	case name == "":
		p.invalid(path, "empty: a jail needs a name")
	case name == "--all":
		p.invalid(path, "%q is reserved (the protocol's word for every jail): choose another name", name)
	case len(name) > MaxJailName:
		p.invalid(path, "%d bytes is too long: a jail name has at most %d", len(name), MaxJailName)
	default:
		return true
	}
	return false
}

func (c *Config) validateJails(p *problems, ch Checks) {
	seen := map[string]int{}
	for i := range c.Jails {
		j := &c.Jails[i]
		base := fmt.Sprintf("jails[%d]", i)
		if p.keys.refused(base) {
			continue
		}
		at := func(key string) string { return base + "." + key }
		has := func(key string) bool { return p.keys.present(at(key)) }

		switch {
		case j.Name == "" && !has("name"):
			p.invalid(at("name"), "missing: every jail needs a name")
		case checkJailName(p, at("name"), j.Name):
			if first, dup := seen[j.Name]; dup {
				p.invalid(at("name"), "%q is defined twice (also jails[%d]): rename one, or merge them", j.Name, first)
			} else {
				seen[j.Name] = i
			}
		}
		if !has("maxretry") {
			j.MaxRetry = DefaultMaxRetry
		}
		maxRetryRange.check(p, at("maxretry"), j.MaxRetry)
		if !has("findtime") {
			j.FindTime = DefaultFindTime
		}
		if !has("bantime") {
			j.BanTime = DefaultBanTime
		}
		parsed := jail.Config{Name: j.Name, MaxRetry: j.MaxRetry, IPv6Prefix: j.IPv6Prefix, IgnoreSelf: true}
		parsed.FindTime, _ = fail2banDuration(p, at("findtime"), j.FindTime, true)
		parsed.BanTime, _ = fail2banDuration(p, at("bantime"), j.BanTime, true)
		for k, s := range j.IgnoreIP {
			pfx, err := jail.ParseIgnore(s)
			if err != nil {
				hint := ""
				if strings.ContainsAny(s, " \t,") {
					hint = ": write one address or CIDR per list item"
				}
				p.invalid(fmt.Sprintf("%s[%d]", at("ignoreip"), k), "%q is not an address or a CIDR (host names are not resolved)%s", s, hint)
				continue
			}
			parsed.IgnoreIP = append(parsed.IgnoreIP, pfx)
		}
		if j.IgnoreSelf == nil {
			on := true
			j.IgnoreSelf = &on
		}
		parsed.IgnoreSelf = *j.IgnoreSelf
		for k, spec := range j.Actions {
			path := fmt.Sprintf("%s[%d]", at("actions"), k)
			if _, _, err := actions.ParseSpec(spec); err != nil {
				detail := err.Error()
				for _, prefix := range []string{actions.ErrBadOptions.Error() + ": ", actions.ErrUnknownAction.Error() + " ", strconv.Quote(spec) + ": "} {
					detail = strings.TrimPrefix(detail, prefix)
				}
				p.invalid(path, "%q is not an action: %s; write name or name[key=value, ...]", spec, detail)
				continue
			}
			if ch.Action != nil {
				if err := ch.Action(spec); err != nil {
					p.invalid(path, "%v", err)
				}
			}
		}
		ipv6PrefixRange.check(p, at("ipv6prefix"), j.IPv6Prefix)
		for _, kv := range j.BanTimeExtra() {
			path := at("bantime." + kv[0])
			switch kv[0] {
			case "increment", "overalljails":
				if !isBool(kv[1]) {
					p.invalid(path, "%q is not true or false (fail2ban also reads yes/no, on/off, 1/0)", kv[1])
					continue
				}
			case "maxtime", "rndtime":
				if _, err := jail.ParseDuration(kv[1]); err != nil {
					p.invalid(path, "%q is not a time: write seconds (600) or a number and a unit (30m, 1h, 2d, 1w)", kv[1])
					continue
				}
			}
			if _, err := parsed.Increment.Set(kv[0], kv[1]); err != nil {
				p.invalid(path, "%s", jailMessage(err, "bantime."+kv[0]))
			}
		}
		j.parsed = parsed
		c.validateLogJail(p, ch, j, at)
	}
}

// validateLogJail checks a jail's log settings: what the config can see
// here, and the filter and its regexes through the daemon's check.
func (c *Config) validateLogJail(p *problems, ch Checks, j *Jail, at func(string) string) {
	if !j.ReadsLogs() {
		return
	}
	before := len(p.errs)
	for k, lp := range j.LogPath {
		f := strings.Fields(lp)
		if len(f) == 0 || len(f) > 2 || len(f) == 2 && f[1] != "head" && f[1] != "tail" {
			p.invalid(fmt.Sprintf("%s[%d]", at("logpath"), k), "%q: write a path or a glob, optionally followed by head or tail", lp)
		}
	}
	if len(j.LogPath) == 0 && !strings.EqualFold(j.Backend, "systemd") {
		p.invalid(at("logpath"), "missing: the jail has a filter but reads nothing: give logpath, or backend: systemd for the journal")
	}
	if len(j.LogPath) > 0 && strings.EqualFold(j.Backend, "systemd") {
		p.invalid(at("backend"), "systemd reads the journal, not logpath: drop one of them")
	}
	if j.Filter == "" && len(j.FailRegex) == 0 {
		p.invalid(at("filter"), "missing: a jail that reads logs needs a filter (a fail2ban filter name) or failregex")
	}
	if p.keys.present(at("maxlines")) {
		maxLinesRange.check(p, at("maxlines"), j.MaxLines)
	}
	if ch.LogJail != nil && len(p.errs) == before {
		if err := ch.LogJail(*j, c.FilterDirs); err != nil {
			p.invalid(at("filter"), "%v", err)
		}
	}
}

// isBool reports whether fail2ban's _as_bool reads s as it was meant:
// jail.ParseBool takes anything but its true words as false, so a
// misspelt "ture" would silently be false.
func isBool(s string) bool {
	switch strings.ToLower(s) {
	case "1", "on", "true", "yes", "0", "off", "false", "no":
		return true
	}
	return false
}

// resolve checks the rule and resolves its names.
func (r *AccessRule) resolve(p *problems, i int) {
	base := fmt.Sprintf("access[%d]", i)
	if p.keys.refused(base) {
		return
	}
	at := func(key string) string { return base + "." + key }
	var set []string
	for _, f := range []struct {
		key string
		on  bool
	}{{"user", r.User != ""}, {"uid", r.UID != nil}, {"group", r.Group != ""}, {"gid", r.GID != nil}} {
		if f.on {
			set = append(set, f.key)
		}
	}
	switch len(set) {
	case 0:
		p.invalid(base, "names no peer: want exactly one of user, uid, group, gid")
	case 1:
	default:
		p.invalid(base, "names %s: want exactly one of user, uid, group, gid (write a rule for each)", strings.Join(set, " and "))
	}
	r.uid, r.gid = -1, -1
	switch {
	case r.User != "":
		u, err := user.Lookup(r.User)
		if err != nil {
			p.invalid(at("user"), "no user %q on this host%s", r.User, lookupDetail(err))
			break
		}
		r.uid, _ = strconv.Atoi(u.Uid)
	case r.UID != nil:
		idRange.check(p, at("uid"), *r.UID)
		r.uid = *r.UID
	case r.Group != "":
		g, err := user.LookupGroup(r.Group)
		if err != nil {
			p.invalid(at("group"), "no group %q on this host%s", r.Group, lookupDetail(err))
			break
		}
		r.gid, _ = strconv.Atoi(g.Gid)
	case r.GID != nil:
		idRange.check(p, at("gid"), *r.GID)
		r.gid = *r.GID
	}
	if len(set) > 1 {
		r.uid, r.gid = -1, -1
	}
	if len(r.Classes) == 0 {
		p.invalid(at("classes"), "%s: list one or more of read, report, ban, unban, admin", missingOrEmpty(p, at("classes")))
	}
	r.classes = r.classes[:0]
	for k, name := range r.Classes {
		c, err := protocol.ParseClass(name)
		if err != nil {
			p.invalid(fmt.Sprintf("%s[%d]", at("classes"), k), "%q is not a command class: want read, report, ban, unban or admin", name)
			continue
		}
		r.classes = append(r.classes, c)
	}
	if len(r.Jails) == 0 {
		p.invalid(at("jails"), "%s: list jail names, or \"*\" for every jail", missingOrEmpty(p, at("jails")))
	}
	for k, name := range r.Jails {
		checkJailName(p, fmt.Sprintf("%s[%d]", at("jails"), k), name)
	}
}

// missingOrEmpty says whether the file lacks the key at path or has it
// with nothing in it.
func missingOrEmpty(p *problems, path string) string {
	if p.keys.present(path) {
		return "empty"
	}
	return "missing"
}
