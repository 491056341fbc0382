package config

import (
	"errors"
	"reflect"
	"testing"
	"time"
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
				Limits: Limits{MaxMessage: DefaultMaxMessage, IdleTimeout: DefaultIdleTimeout, MaxFailures: DefaultMaxFailures},
				DB:     DefaultDB, DBPurgeAge: "1d", DBMaxMatches: 10,
				Jails: []Jail{{Name: "api", MaxRetry: 10, FindTime: "30m", BanTime: "1h", Actions: []string{"blackhole", "log"}, IgnoreSelf: &yes}},
			},
		},
		{
			name: "empty file has no jails",
			path: "testdata/empty.yaml",
			want: &Config{
				Socket: Socket{Path: "/run/ban.sock", Mode: "0660"},
				Log:    Log{Format: "console", Level: "info"},
				Limits: Limits{MaxMessage: DefaultMaxMessage, IdleTimeout: DefaultIdleTimeout, MaxFailures: DefaultMaxFailures},
				DB:     DefaultDB, DBPurgeAge: "1d", DBMaxMatches: 10,
			},
		},
		{
			name: "full file keeps jail names' case and fills defaults",
			path: "testdata/full.yaml",
			want: &Config{
				Socket: Socket{Path: "/tmp/x/ban.sock", Mode: "0620", Group: "www-data"},
				Log:    Log{Format: "json", Level: "debug"},
				Limits: Limits{MaxMessage: 1024, IdleTimeout: 10 * time.Second, MaxFailures: 50},
				DB:     DefaultDB, DBPurgeAge: "1d", DBMaxMatches: 10,
				Jails: []Jail{
					{Name: "API", MaxRetry: 3, FindTime: "600", BanTime: "-1", IgnoreIP: []string{"192.0.2.0/24", "2001:db8::1"}, IgnoreSelf: &yes},
					{Name: "api", MaxRetry: 10, FindTime: "30m", BanTime: "1h", IgnoreSelf: &yes},
				},
			},
		},
		{
			name: "environment overrides the file",
			path: "testdata/empty.yaml",
			env:  map[string]string{"BANSERVER_SOCKET_PATH": "/tmp/env.sock", "BANSERVER_LIMITS_MAX_MESSAGE": "99"},
			want: &Config{
				Socket: Socket{Path: "/tmp/env.sock", Mode: "0660"},
				Log:    Log{Format: "console", Level: "info"},
				Limits: Limits{MaxMessage: 99, IdleTimeout: DefaultIdleTimeout, MaxFailures: DefaultMaxFailures},
				DB:     DefaultDB, DBPurgeAge: "1d", DBMaxMatches: 10,
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
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load(%q) =\n%+v\nwant\n%+v", tt.path, got, tt.want)
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
