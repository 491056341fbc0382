package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
)

func TestLoad(t *testing.T) {
	yes := true
	tests := []struct {
		name    string
		path    string
		env     map[string]string
		want    *Config
		wantErr error
	}{
		{
			name: "embedded default",
			want: &Config{
				Socket: Socket{Path: "/run/ban.sock", Mode: "0660"},
				Log:    Log{Format: "console", Level: "info"},
				Limits: withLimits(DefaultMaxMessage, DefaultIdleTimeout, DefaultMaxFailures),
				DB:     DefaultDB, DBPurgeAge: "1d", DBMaxMatches: 10, FilterDirs: DefaultFilterDirs,
				Jails: []Jail{{Name: "api", MaxRetry: 10, FindTime: "30m", BanTime: "1h", Actions: []string{"blackhole", "log"}, IgnoreSelf: &yes}},
			},
		},
		{
			name: "empty file has no jails",
			path: "testdata/empty.yaml",
			want: &Config{
				Socket: Socket{Path: "/run/ban.sock", Mode: "0660"},
				Log:    Log{Format: "console", Level: "info"},
				Limits: withLimits(DefaultMaxMessage, DefaultIdleTimeout, DefaultMaxFailures),
				DB:     DefaultDB, DBPurgeAge: "1d", DBMaxMatches: 10, FilterDirs: DefaultFilterDirs,
			},
		},
		{
			name: "full file keeps jail names' case and fills defaults",
			path: "testdata/full.yaml",
			want: &Config{
				Socket: Socket{Path: "/tmp/x/ban.sock", Mode: "0620", Group: "www-data"},
				Log:    Log{Format: "json", Level: "debug"},
				Limits: withLimits(1024, 10*time.Second, 500),
				DB:     DefaultDB, DBPurgeAge: "1d", DBMaxMatches: 10, FilterDirs: DefaultFilterDirs,
				Jails: []Jail{
					{Name: "API", MaxRetry: 3, FindTime: "600", BanTime: "-1", IgnoreIP: []string{"192.0.2.0/24", "2001:db8::1"}, IgnoreSelf: &yes},
					{Name: "api", MaxRetry: 10, FindTime: "30m", BanTime: "1h", IgnoreSelf: &yes},
				},
			},
		},
		{
			name: "environment overrides the file",
			path: "testdata/empty.yaml",
			env:  map[string]string{"BANSERVER_SOCKET_PATH": "/tmp/env.sock", "BANSERVER_LIMITS_MAX_MESSAGE": "4096"},
			want: &Config{
				Socket: Socket{Path: "/tmp/env.sock", Mode: "0660"},
				Log:    Log{Format: "console", Level: "info"},
				Limits: withLimits(4096, DefaultIdleTimeout, DefaultMaxFailures),
				DB:     DefaultDB, DBPurgeAge: "1d", DBMaxMatches: 10, FilterDirs: DefaultFilterDirs,
			},
		},
		{name: "duplicate jail", path: "testdata/dup.yaml", wantErr: ErrInvalid},
		{name: "bad socket mode", path: "testdata/badmode.yaml", wantErr: ErrInvalid},
		{name: "jail without a name", path: "testdata/noname.yaml", wantErr: ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			got, err := Load(tt.path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Load(%q) error = %v, want %v", tt.path, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load(%q): %v", tt.path, err)
			}
			// What validate parses is checked by TestLoadParsed.
			got.purgeAge = 0
			for i := range got.Jails {
				got.Jails[i].parsed = jail.Config{}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load(%q) =\n%+v\nwant\n%+v", tt.path, got, tt.want)
			}
		})
	}
}

// withLimits is Limits with the given older fields and the client limits
// at their defaults.
func withLimits(maxMessage int, idle time.Duration, maxFailures int) Limits {
	return Limits{MaxMessage: maxMessage, IdleTimeout: idle, MaxFailures: maxFailures,
		MaxAddresses: DefaultMaxAddresses, RatePerUID: DefaultRatePerUID, MaxConns: DefaultMaxConns,
		MaxConnsPerUID: DefaultMaxConnsPerUID, ReadTimeout: DefaultReadTimeout, MaxJails: DefaultMaxJails}
}

func TestLoadAccess(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantUID int
		wantGID int
		want    []protocol.Class
		wantErr string // part of the error, "" for none
	}{
		{name: "user by name", yaml: "access:\n  - user: nobody\n    classes: [report]\n    jails: [api]\n", wantUID: 65534, wantGID: -1, want: []protocol.Class{protocol.ClassReport}},
		{name: "uid", yaml: "access:\n  - uid: 33\n    classes: [report, read]\n    jails: ['*']\n", wantUID: 33, wantGID: -1, want: []protocol.Class{protocol.ClassReport, protocol.ClassRead}},
		{name: "group by name", yaml: "access:\n  - group: nogroup\n    classes: [ban, unban]\n    jails: [api]\n", wantUID: -1, wantGID: 65534, want: []protocol.Class{protocol.ClassBan, protocol.ClassUnban}},
		{name: "gid", yaml: "access:\n  - gid: 0\n    classes: [admin]\n    jails: ['*']\n", wantUID: -1, wantGID: 0, want: []protocol.Class{protocol.ClassAdmin}},
		{name: "bad class", yaml: "access:\n  - uid: 33\n    classes: [write]\n    jails: [api]\n", wantErr: `access[0].classes[0]: "write" is not a command class`},
		{name: "unknown user", yaml: "access:\n  - user: no-such-user-banserver\n    classes: [report]\n    jails: [api]\n", wantErr: `access[0].user: no user "no-such-user-banserver"`},
		{name: "unknown group", yaml: "access:\n  - group: no-such-group-banserver\n    classes: [report]\n    jails: [api]\n", wantErr: `access[0].group: no group "no-such-group-banserver"`},
		{name: "user and group", yaml: "access:\n  - user: nobody\n    group: nogroup\n    classes: [report]\n    jails: [api]\n", wantErr: "access[0]: names user and group: want exactly one of"},
		{name: "nobody named", yaml: "access:\n  - classes: [report]\n    jails: [api]\n", wantErr: "access[0]: names no peer: want exactly one of"},
		{name: "no classes", yaml: "access:\n  - uid: 33\n    jails: [api]\n", wantErr: "access[0].classes: missing"},
		{name: "no jails", yaml: "access:\n  - uid: 33\n    classes: [report]\n", wantErr: "access[0].jails: missing"},
		{name: "negative uid", yaml: "access:\n  - uid: -5\n    classes: [report]\n    jails: [api]\n", wantErr: "access[0].uid: -5 is out of range 0..4294967294"},
		{name: "zero limit", yaml: "limits:\n  max_conns: 0\n", wantErr: "limits.max_conns: 0 is out of range"},
		{name: "limit off", yaml: "limits:\n  rate_per_uid: -1\n", wantUID: -2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(path)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load: %v, want ErrInvalid with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if tt.wantUID == -2 {
				if c.Limits.RatePerUID != -1 {
					t.Fatalf("rate_per_uid %v, want -1", c.Limits.RatePerUID)
				}
				return
			}
			r := c.Access[0]
			if r.PeerUID() != tt.wantUID || r.PeerGID() != tt.wantGID || !reflect.DeepEqual(r.CommandClasses(), tt.want) {
				t.Fatalf("rule uid %d gid %d classes %v, want %d %d %v", r.PeerUID(), r.PeerGID(), r.CommandClasses(), tt.wantUID, tt.wantGID, tt.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	if _, err := Load("testdata/does-not-exist.yaml"); err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
}

func TestLoadBanTimeExtra(t *testing.T) {
	c, err := Load("testdata/increment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := c.Jails[0].BanTimeExtra()
	// YAML booleans arrive as "1" and "0", which fail2ban's _as_bool (and
	// jail.Increment.Set) read as true and false.
	want := [][2]string{{"increment", "1"}, {"factor", "2"}, {"multipliers", "1 2 4 8"}, {"maxtime", "1w"}, {"overalljails", "0"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("BanTimeExtra = %v, want %v", got, want)
	}
}
