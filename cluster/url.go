package cluster

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// PasswordEnv names the environment variable New reads the Redis password
// from when the URL carries none: a password kept out of the config file
// (a systemd credential, an EnvironmentFile readable by root only).
const PasswordEnv = "BANSERVER_REDIS_PASSWORD"

// The URL forms cluster.redis takes:
//
//	redis://[user[:password]@]host[:port][/db]          one server (port 6379)
//	rediss://...                                        the same over TLS
//	unix://[user[:password]@]/path/to/socket[?db=N]     one server on a Unix socket
//	redis+sentinel://[user[:password]@]host[:port][,host[:port]...]/master[/db]
//	                                                    Sentinel (port 26379); rediss+sentinel: TLS
//	redis+cluster://[user[:password]@]host[:port][,host[:port]...]
//	                                                    Redis Cluster (seed nodes); rediss+cluster: TLS
//
// The password is the one in the URL, or else $BANSERVER_REDIS_PASSWORD.

// parseURL turns cluster.redis into go-redis's options and the URL to show
// (without its password). getenv reads the environment.
func parseURL(raw string, getenv func(string) string) (*redis.UniversalOptions, string, error) {
	fail := func(format string, args ...any) (*redis.UniversalOptions, string, error) {
		return nil, "", fmt.Errorf("cluster: redis URL: "+format, args...)
	}
	if raw == "" {
		return fail("empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url's error quotes the whole URL, password included: name the
		// part only.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fail("not a URL: %v", err)
	}
	if u.Opaque != "" {
		return fail("want scheme://..., not %s:...", u.Scheme)
	}
	if u.Fragment != "" {
		return fail("unexpected #fragment")
	}
	o := &redis.UniversalOptions{}
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
	}
	if o.Password == "" && getenv != nil {
		o.Password = getenv(PasswordEnv)
	}
	shown := *u
	if u.User != nil {
		shown.User = nil
		if o.Username != "" {
			shown.User = url.User(o.Username)
		}
	}
	q := u.Query()
	for k := range q {
		if k != "db" || u.Scheme != "unix" {
			return fail("unknown parameter %q", k)
		}
	}
	scheme, mode, _ := strings.Cut(u.Scheme, "+")
	switch scheme {
	case "redis", "rediss":
	case "unix":
		if mode != "" {
			return fail("unknown scheme %q", u.Scheme)
		}
	case "":
		return fail("no scheme: want redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://")
	default:
		return fail("unknown scheme %q: want redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://", u.Scheme)
	}
	if scheme == "unix" {
		if u.Host != "" {
			return fail("unix:// takes a path (unix:///run/redis.sock), not the host %q", u.Host)
		}
		if u.Path == "" || u.Path[0] != '/' {
			return fail("unix:// without a socket path")
		}
		o.Addrs = []string{u.Path}
		if v := q.Get("db"); v != "" {
			db, err := parseDB(v)
			if err != nil {
				return fail("%v", err)
			}
			o.DB = db
		}
		return o, shown.String(), nil
	}
	port := "6379"
	if mode == "sentinel" {
		port = "26379"
	}
	switch mode {
	case "", "sentinel", "cluster":
	default:
		return fail("unknown scheme %q", u.Scheme)
	}
	if u.Host == "" {
		return fail("no host")
	}
	for _, h := range strings.Split(u.Host, ",") {
		addr, err := hostPort(h, port)
		if err != nil {
			return fail("%v", err)
		}
		o.Addrs = append(o.Addrs, addr)
	}
	if len(o.Addrs) > 1 && mode == "" {
		return fail("several hosts: use redis+sentinel:// or redis+cluster://")
	}
	path := strings.Trim(u.Path, "/")
	switch mode {
	case "":
		if path != "" {
			db, err := parseDB(path)
			if err != nil {
				return fail("%v", err)
			}
			o.DB = db
		}
	case "sentinel":
		master, db, hasDB := strings.Cut(path, "/")
		if master == "" {
			return fail("redis+sentinel:// without a master name (redis+sentinel://host:26379/mymaster)")
		}
		o.MasterName = master
		if hasDB {
			n, err := parseDB(db)
			if err != nil {
				return fail("%v", err)
			}
			o.DB = n
		}
	case "cluster":
		if path != "" {
			return fail("redis+cluster:// takes no path (a cluster has no databases)")
		}
		o.IsClusterMode = true
	}
	if scheme == "rediss" {
		host, _, _ := net.SplitHostPort(o.Addrs[0])
		o.TLSConfig = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	}
	return o, shown.String(), nil
}

// hostPort checks host[:port], adding the default port.
func hostPort(h, port string) (string, error) {
	if h == "" {
		return "", errors.New("an empty host")
	}
	host, p, err := net.SplitHostPort(h)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			host, p = strings.Trim(h, "[]"), port
		} else {
			return "", fmt.Errorf("host %q: %v", h, err)
		}
	}
	if host == "" {
		return "", fmt.Errorf("host %q without a name", h)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("port %q: want 1..65535", p)
	}
	return net.JoinHostPort(host, p), nil
}

// parseDB reads a database number.
func parseDB(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 || n > 1<<20 {
		return 0, fmt.Errorf("database %q: want a number from 0", s)
	}
	return n, nil
}
