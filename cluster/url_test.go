package cluster

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	env := func(pw string) func(string) string {
		return func(k string) string {
			if k == PasswordEnv {
				return pw
			}
			return ""
		}
	}
	tests := []struct {
		name, url, envPW string
		wantErr          string // substring; "" means no error
		addrs            []string
		db               int
		user, pw         string
		master           string
		cluster, tls     bool
		shown            string
	}{
		{name: "tcp default port", url: "redis://10.0.0.1", addrs: []string{"10.0.0.1:6379"}, shown: "redis://10.0.0.1"},
		{name: "tcp db and password", url: "redis://u:s3cret@h:6380/2", addrs: []string{"h:6380"}, db: 2, user: "u", pw: "s3cret", shown: "redis://u@h:6380/2"},
		{name: "password only", url: "redis://:s3cret@h", addrs: []string{"h:6379"}, pw: "s3cret", shown: "redis://h"},
		{name: "password from env", url: "redis://h", envPW: "fromenv", addrs: []string{"h:6379"}, pw: "fromenv", shown: "redis://h"},
		{name: "URL password beats env", url: "redis://:inurl@h", envPW: "fromenv", addrs: []string{"h:6379"}, pw: "inurl", shown: "redis://h"},
		{name: "tls", url: "rediss://h:6390", addrs: []string{"h:6390"}, tls: true, shown: "rediss://h:6390"},
		{name: "ipv6", url: "redis://[2001:db8::1]:6379", addrs: []string{"[2001:db8::1]:6379"}, shown: "redis://[2001:db8::1]:6379"},
		{name: "unix", url: "unix:///run/redis/r.sock", addrs: []string{"/run/redis/r.sock"}, shown: "unix:///run/redis/r.sock"},
		{name: "unix db password", url: "unix://:pw@/run/r.sock?db=3", addrs: []string{"/run/r.sock"}, db: 3, pw: "pw", shown: "unix:///run/r.sock?db=3"},
		{name: "sentinel", url: "redis+sentinel://s1,s2:26380/mymaster/1", addrs: []string{"s1:26379", "s2:26380"}, master: "mymaster", db: 1, shown: "redis+sentinel://s1,s2:26380/mymaster/1"},
		{name: "cluster", url: "rediss+cluster://:pw@c1:7000,c2:7001", addrs: []string{"c1:7000", "c2:7001"}, cluster: true, tls: true, pw: "pw", shown: "rediss+cluster://c1:7000,c2:7001"},
		{name: "cluster one seed", url: "redis+cluster://c1:7000", addrs: []string{"c1:7000"}, cluster: true, shown: "redis+cluster://c1:7000"},

		{name: "empty", url: "", wantErr: "empty"},
		{name: "no scheme", url: "localhost:6379", wantErr: "scheme"},
		{name: "no scheme path", url: "/run/r.sock", wantErr: "no scheme"},
		{name: "unknown scheme", url: "http://h", wantErr: `unknown scheme "http"`},
		{name: "unknown mode", url: "redis+foo://h", wantErr: `unknown scheme "redis+foo"`},
		{name: "no host", url: "redis://", wantErr: "no host"},
		{name: "bad port", url: "redis://h:99999", wantErr: `port "99999"`},
		{name: "port not a number", url: "redis://h:abc", wantErr: "not a URL"},
		{name: "bad db", url: "redis://h/x", wantErr: `database "x"`},
		{name: "negative db", url: "redis://h/-1", wantErr: `database "-1"`},
		{name: "unknown parameter", url: "redis://h?timeout=3", wantErr: `unknown parameter "timeout"`},
		{name: "unix without path", url: "unix://", wantErr: "without a socket path"},
		{name: "unix with host", url: "unix://host/run/r.sock", wantErr: `not the host "host"`},
		{name: "unix bad db", url: "unix:///r.sock?db=x", wantErr: `database "x"`},
		{name: "several hosts plain", url: "redis://a,b", wantErr: "several hosts"},
		{name: "sentinel without master", url: "redis+sentinel://s1:26379", wantErr: "master name"},
		{name: "cluster with db", url: "redis+cluster://c1/2", wantErr: "takes no path"},
		{name: "empty host in list", url: "redis+cluster://c1,,c2", wantErr: "empty host"},
		{name: "fragment", url: "redis://h#x", wantErr: "fragment"},
		{name: "password not in error", url: "redis://:topsecret@h:0", wantErr: `port "0"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, shown, err := ParseURL(tt.url, env(tt.envPW))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v; want one containing %q", err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "cluster: ") || strings.Contains(err.Error(), "topsecret") {
					t.Fatalf("err = %q: want the cluster: prefix and no password", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(o.Addrs, " ") != strings.Join(tt.addrs, " ") || o.DB != tt.db || o.Username != tt.user || o.Password != tt.pw ||
				o.MasterName != tt.master || o.IsClusterMode != tt.cluster || (o.TLSConfig != nil) != tt.tls {
				t.Fatalf("got addrs %v db %d user %q pw %q master %q cluster %v tls %v", o.Addrs, o.DB, o.Username, o.Password, o.MasterName, o.IsClusterMode, o.TLSConfig != nil)
			}
			if shown != tt.shown {
				t.Fatalf("shown URL %q, want %q", shown, tt.shown)
			}
		})
	}
}
