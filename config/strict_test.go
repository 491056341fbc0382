package config

import (
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/jail"
)

// loadCase is one configuration text and what Load must say of it.
type loadCase struct {
	name string
	yaml string
	env  map[string]string
	// want are parts of the error, each of which must appear; none: the
	// file must load.
	want []string
	// kind is the sentinel the error must match (default ErrInvalid).
	kind error
	// check, when set, inspects a configuration that loaded.
	check func(t *testing.T, c *Config)
}

// runLoadCases loads each case's text from a file of its own.
func runLoadCases(t *testing.T, tests []loadCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Load(writeYAML(t, tt.yaml))
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if tt.check != nil {
					tt.check(t, c)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded, want an error with %q", tt.want)
			}
			t.Log(err)
			kind := tt.kind
			if kind == nil {
				kind = ErrInvalid
			}
			if !errors.Is(err, kind) {
				t.Errorf("Load: %v\nwant errors.Is %v", err, kind)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Load: %v\nwant errors.Is ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Load error:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func writeYAML(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "banserver.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadUnknownKey: the audit's typos, and others, stop the load with
// the key's path as written and the nearest known key.
func TestLoadUnknownKey(t *testing.T) {
	runLoadCases(t, []loadCase{
		{name: "maxrety in a jail", kind: ErrUnknownKey,
			yaml: "jails:\n  - name: api\n    maxrety: 10\n",
			want: []string{"jails[0].maxrety: unknown key", "did you mean maxretry?"}},
		{name: "jail for jails", kind: ErrUnknownKey,
			yaml: "jail:\n  - name: api\n",
			want: []string{"jail: unknown key", "did you mean jails?"}},
		{name: "action for actions", kind: ErrUnknownKey,
			yaml: "jails:\n  - name: api\n    action: [blackhole]\n",
			want: []string{"jails[0].action: unknown key", "did you mean actions?"}},
		{name: "mdoe in socket", kind: ErrUnknownKey,
			yaml: "socket:\n  mdoe: \"0660\"\n",
			want: []string{"socket.mdoe: unknown key", "did you mean mode?"}},
		{name: "clases in the second access rule", kind: ErrUnknownKey,
			yaml: "access:\n  - uid: 33\n    classes: [report]\n    jails: [api]\n  - uid: 34\n    clases: [report]\n    classes: [read]\n    jails: [api]\n",
			want: []string{"access[1].clases: unknown key", "did you mean classes?"}},
		{name: "levle in log", kind: ErrUnknownKey,
			yaml: "log:\n  levle: debug\n",
			want: []string{"log.levle: unknown key", "did you mean level?"}},
		{name: "limits typo", kind: ErrUnknownKey,
			yaml: "limits:\n  max_mesage: 4096\n",
			want: []string{"limits.max_mesage: unknown key", "did you mean max_message?"}},
		{name: "kernel key without a near one lists the section's keys", kind: ErrUnknownKey,
			yaml: "kernel:\n  flush_on_exit: true\n",
			want: []string{"kernel.flush_on_exit: unknown key", "kernel has netns, flush_on_stop"}},
		{name: "bantime option typo", kind: ErrUnknownKey,
			yaml: "jails:\n  - name: api\n    bantime.incremnt: true\n",
			want: []string{"jails[0].bantime.incremnt: unknown key", "did you mean bantime.increment?"}},
		{name: "top-level typo", kind: ErrUnknownKey,
			yaml: "dbpurge_age: 1d\n",
			want: []string{"dbpurge_age: unknown key", "did you mean dbpurgeage?"}},
		{name: "the path keeps the case written", kind: ErrUnknownKey,
			yaml: "Socket:\n  MDOE: \"0660\"\n",
			want: []string{"Socket.MDOE: unknown key", "did you mean mode?"}},
		{name: "a jail's key at the top level", kind: ErrUnknownKey,
			yaml: "maxretry: 5\n",
			want: []string{"maxretry: unknown key", "jails[].maxretry"}},
		{name: "a dotted key at the top level", kind: ErrUnknownKey,
			yaml: "socket.path: /run/x.sock\n",
			want: []string{"socket.path: unknown key", "nested"}},
		{name: "the line of the key", kind: ErrUnknownKey,
			yaml: "db: none\njails:\n  - name: api\n    maxrety: 10\n",
			want: []string{"banserver.yaml:4: jails[0].maxrety"}},
		{name: "keys in any case are accepted",
			yaml: "Socket:\n  Mode: \"0600\"\nJAILS:\n  - Name: api\n    MaxRetry: 3\n    BanTime.Increment: true\n",
			check: func(t *testing.T, c *Config) {
				if c.Socket.Mode != "0600" || len(c.Jails) != 1 || c.Jails[0].MaxRetry != 3 || c.Jails[0].BanTimeIncrement != "1" {
					t.Errorf("loaded %+v", c)
				}
			}},
	})
}

// TestLoadWrongKind: a value of the wrong kind stops the load with its path.
func TestLoadWrongKind(t *testing.T) {
	runLoadCases(t, []loadCase{
		{name: "a mapping where the jails list belongs",
			yaml: "jails:\n  name: api\n",
			want: []string{"jails: want a list", "found a mapping"}},
		{name: "a list where a section belongs",
			yaml: "socket: [a, b]\n",
			want: []string{"socket: want a mapping", "found a list"}},
		{name: "a list for a number",
			yaml: "jails:\n  - name: api\n    maxretry: [1]\n",
			want: []string{"jails[0].maxretry: want a whole number", "found a list"}},
		{name: "a mapping for a string",
			yaml: "log:\n  level: {a: 1}\n",
			want: []string{"log.level: want a string", "found a mapping"}},
		{name: "a string for a list",
			yaml: "jails:\n  - name: api\n    actions: blackhole\n",
			want: []string{"jails[0].actions: want a list", "[blackhole]"}},
		{name: "a list item of the wrong kind",
			yaml: "jails:\n  - name: api\n    ignoreip: [192.0.2.1, {a: b}]\n",
			want: []string{"jails[0].ignoreip[1]: want a string"}},
		{name: "a word for a number",
			yaml: "limits:\n  max_conns: many\n",
			want: []string{`limits.max_conns: want a whole number, found "many"`}},
		{name: "a fraction for a whole number",
			yaml: "jails:\n  - name: api\n    maxretry: 2.5\n",
			want: []string{`jails[0].maxretry: want a whole number, found "2.5"`}},
		{name: "a bare number for a Go duration",
			yaml: "limits:\n  idle_timeout: 300\n",
			want: []string{"limits.idle_timeout: 300 has no unit", "300s"}},
		{name: "a quoted -1 for a Go duration",
			yaml: "limits:\n  read_timeout: \"-1\"\n",
			want: []string{"limits.read_timeout: write -1 without quotes"}},
		{name: "not a boolean",
			yaml: "kernel:\n  flush_on_stop: maybe\n",
			want: []string{`kernel.flush_on_stop: want true or false, found "maybe"`}},
		{name: "no value for a number",
			yaml: "jails:\n  - name: api\n    maxretry:\n",
			want: []string{"jails[0].maxretry: no value"}},
		{name: "a second YAML document",
			yaml: "db: none\n---\ndb: /tmp/x.db\n",
			want: []string{"one YAML document"}},
		{name: "the same key twice in different case",
			yaml: "jails:\n  - name: api\n    maxretry: 3\n    MaxRetry: 4\n",
			want: []string{"jails[0].MaxRetry: maxretry is already set"}},
		{name: "not a mapping at all",
			yaml: "- a\n- b\n",
			want: []string{"want a mapping"}},
		{name: "YAML syntax",
			yaml: "jails:\n  - name: [api\n",
			want: []string{"banserver.yaml"}},
	})
}

// TestLoadRange: values out of range stop the load, naming the key, the
// value and the range; values at the edges load.
func TestLoadRange(t *testing.T) {
	jail := func(kv string) string { return "jails:\n  - name: api\n    " + kv + "\n" }
	runLoadCases(t, []loadCase{
		{name: "maxretry 0 is refused, not defaulted", yaml: jail("maxretry: 0"),
			want: []string{"jails[0].maxretry: 0 is out of range 1..1000"}},
		{name: "maxretry over the limit", yaml: jail("maxretry: 1001"),
			want: []string{"jails[0].maxretry: 1001 is out of range 1..1000"}},
		{name: "maxretry negative", yaml: jail("maxretry: -1"),
			want: []string{"jails[0].maxretry: -1 is out of range 1..1000"}},
		{name: "maxretry at the edges", yaml: "jails:\n  - name: a\n    maxretry: 1\n  - name: b\n    maxretry: 1000\n",
			check: func(t *testing.T, c *Config) {
				if c.Jails[0].MaxRetry != 1 || c.Jails[1].MaxRetry != 1000 {
					t.Errorf("maxretry %d, %d", c.Jails[0].MaxRetry, c.Jails[1].MaxRetry)
				}
			}},
		{name: "max_message too small for a ping", yaml: "limits:\n  max_message: 1\n",
			want: []string{"limits.max_message: 1 is out of range 1024..67108864"}},
		{name: "max_message too large", yaml: "limits:\n  max_message: 67108865\n",
			want: []string{"limits.max_message: 67108865 is out of range 1024..67108864"}},
		{name: "max_message at the edges", yaml: "limits:\n  max_message: 1024\n"},
		{name: "max_message from the environment", yaml: "", env: map[string]string{"BANSERVER_LIMITS_MAX_MESSAGE": "99"},
			want: []string{"limits.max_message (from $BANSERVER_LIMITS_MAX_MESSAGE): 99 is out of range 1024..67108864"}},
		{name: "ipv6prefix too short", yaml: jail("ipv6prefix: 8"),
			want: []string{"jails[0].ipv6prefix: 8 is out of range 16..128, or 0"}},
		{name: "ipv6prefix too long", yaml: jail("ipv6prefix: 129"),
			want: []string{"jails[0].ipv6prefix: 129 is out of range"}},
		{name: "shared without a cluster", yaml: jail("shared: true"),
			want: []string{"jails[0].shared: true without cluster.redis"}},
		{name: "cluster node without redis", yaml: "cluster:\n  node: web1\n",
			want: []string{"cluster.redis: missing"}},
		{name: "cluster redis not a URL", yaml: "cluster:\n  redis: \"http://u:secret@h\"\n",
			want: []string{"cluster.redis: \"http://u:xxxxx@h\" is not a Redis URL"}},
		{name: "cluster node with a space", yaml: "cluster:\n  redis: redis://h:6379\n  node: web 1\n",
			want: []string{"cluster.node: \"web 1\""}},
		{name: "cluster with a shared jail", yaml: "cluster:\n  redis: unix:///run/redis/redis.sock\n  node: web1\n" + jail("shared: true"),
			check: func(t *testing.T, c *Config) {
				if c.Cluster.Prefix != "banserver" || c.Cluster.Node != "web1" || !c.Jails[0].Parsed().Shared {
					t.Errorf("cluster %+v, jail shared %v", c.Cluster, c.Jails[0].Parsed().Shared)
				}
			}},
		{name: "ipv6prefix 0 and 16", yaml: "jails:\n  - name: a\n    ipv6prefix: 0\n  - name: b\n    ipv6prefix: 16\n"},
		{name: "sub-second findtime", yaml: jail("findtime: 0.4"),
			want: []string{`jails[0].findtime: "0.4" is under a second`, "whole seconds"}},
		{name: "findtime 0", yaml: jail("findtime: 0"),
			want: []string{`jails[0].findtime: "0" is out of range 1s..100y, or -1 (forever)`}},
		{name: "empty findtime is refused, not defaulted", yaml: jail(`findtime: ""`),
			want: []string{"jails[0].findtime: empty"}},
		{name: "bantime -2", yaml: jail("bantime: -2"),
			want: []string{`jails[0].bantime: "-2" is out of range 1s..100y, or -1 (forever)`}},
		{name: "bantime past a century", yaml: jail("bantime: 101y"),
			want: []string{`jails[0].bantime: "101y" is out of range`}},
		{name: "bantime not a time", yaml: jail("bantime: soon"),
			want: []string{`jails[0].bantime: "soon" is not a time`}},
		{name: "bantime forever and findtime 1", yaml: jail("bantime: -1\n    findtime: 1")},
		{name: "dbpurgeage 0", yaml: "dbpurgeage: 0\n",
			want: []string{`dbpurgeage: "0" is out of range 1s..100y`}},
		{name: "dbpurgeage not a time", yaml: "dbpurgeage: often\n",
			want: []string{`dbpurgeage: "often" is not a time`}},
		{name: "ignoreip host name", yaml: jail("ignoreip: [192.0.2.1, example.com]"),
			want: []string{`jails[0].ignoreip[1]: "example.com" is not an address or a CIDR`}},
		{name: "ignoreip fail2ban-style in one item", yaml: jail(`ignoreip: ["192.0.2.1 192.0.2.2"]`),
			want: []string{"jails[0].ignoreip[0]", "one address or CIDR per list item"}},
		{name: "bantime.factor negative", yaml: jail("bantime.factor: -1"),
			want: []string{"jails[0].bantime.factor"}},
		{name: "bantime.formula other than the default", yaml: jail("bantime.formula: ban.Time * 2"),
			want: []string{"jails[0].bantime.formula"}},
		{name: "bantime.increment misspelt value", yaml: jail("bantime.increment: ture"),
			want: []string{`jails[0].bantime.increment: "ture" is not true or false`}},
		{name: "bantime.maxtime 0", yaml: jail("bantime.maxtime: 0"),
			want: []string{"jails[0].bantime.maxtime"}},
		{name: "jail name --all", yaml: "jails:\n  - name: --all\n",
			want: []string{`jails[0].name: "--all"`}},
		{name: "jail name too long", yaml: "jails:\n  - name: " + strings.Repeat("j", 256) + "\n",
			want: []string{"jails[0].name: 256 bytes", "at most 255"}},
		{name: "jail name missing", yaml: "jails:\n  - maxretry: 3\n",
			want: []string{"jails[0].name: missing"}},
		{name: "jail name twice", yaml: "jails:\n  - name: a\n  - name: a\n",
			want: []string{`jails[1].name: "a" is defined twice`}},
		{name: "malformed action spec", yaml: jail("actions: [\"blackhole[table=100\"]"),
			want: []string{"jails[0].actions[0]", "missing ]"}},
		{name: "log.format", yaml: "log:\n  format: xml\n",
			want: []string{`log.format: "xml"`, "console or json"}},
		{name: "socket.mode not octal", yaml: "socket:\n  mode: \"0778\"\n",
			want: []string{`socket.mode: "0778"`}},
		{name: "socket.mode too wide", yaml: "socket:\n  mode: \"01777\"\n",
			want: []string{`socket.mode: "01777"`}},
		{name: "socket.mode unquoted is read as written", yaml: "socket:\n  mode: 0640\n",
			check: func(t *testing.T, c *Config) {
				if m, err := c.Socket.FileMode(); err != nil || m != 0o640 {
					t.Errorf("FileMode = %o, %v; want 0640", m, err)
				}
			}},
		{name: "socket.path too long", yaml: "socket:\n  path: /" + strings.Repeat("s", 120) + "\n",
			want: []string{"socket.path: 121 bytes"}},
		{name: "socket.owner unknown", yaml: "socket:\n  owner: no-such-user-banserver\n",
			want: []string{`socket.owner: no user "no-such-user-banserver"`}},
		{name: "socket.group unknown", yaml: "socket:\n  group: no-such-group-banserver\n",
			want: []string{`socket.group: no group "no-such-group-banserver"`}},
		{name: "max_conns 0", yaml: "limits:\n  max_conns: 0\n",
			want: []string{"limits.max_conns: 0 is out of range 16..1048576, or -1 (no limit)"}},
		{name: "rate_per_uid 0", yaml: "limits:\n  rate_per_uid: 0\n",
			want: []string{"limits.rate_per_uid: 0 is out of range"}},
		{name: "rate_burst negative", yaml: "limits:\n  rate_burst: -1\n",
			want: []string{"limits.rate_burst: -1 is out of range"}},
		{name: "idle_timeout 0", yaml: "limits:\n  idle_timeout: 0s\n",
			want: []string{"limits.idle_timeout: 0s is out of range 1s..24h, or -1 (never)"}},
		{name: "read_timeout too long", yaml: "limits:\n  read_timeout: 2h\n",
			want: []string{"limits.read_timeout: 2h is out of range 1s..1h, or -1 (never)"}},
		{name: "max_failures too small", yaml: "limits:\n  max_failures: 10\n",
			want: []string{"limits.max_failures: 10 is out of range"}},
		{name: "max_jails under the jails configured", yaml: "limits:\n  max_jails: 1\njails:\n  - name: a\n  - name: b\n",
			want: []string{"limits.max_jails: 1 is fewer than the 2 jails configured"}},
		{name: "dbmaxmatches negative", yaml: "dbmaxmatches: -1\n",
			want: []string{"dbmaxmatches: -1 is out of range 0..1000"}},
		{name: "db empty", yaml: "db: \"\"\n",
			want: []string{"db: empty"}},
		{name: "kernel.netns relative", yaml: "kernel:\n  netns: run/netns/x\n",
			want: []string{`kernel.netns: "run/netns/x"`}},
		{name: "access uid negative", yaml: "access:\n  - uid: -5\n    classes: [report]\n    jails: [api]\n",
			want: []string{"access[0].uid: -5 is out of range"}},
		{name: "access class unknown", yaml: "access:\n  - uid: 33\n    classes: [report, write]\n    jails: [api]\n",
			want: []string{`access[0].classes[1]: "write" is not a command class`}},
		{name: "limits off with -1", yaml: "limits:\n  rate_per_uid: -1\n  max_conns: -1\n  idle_timeout: -1\n  read_timeout: -1\n  max_jails: -1\n  max_addresses: -1\n  max_conns_per_uid: -1\n"},
	})
}

// TestLoadReportsEveryProblem: one load reports every problem, each once,
// in the order of the file.
func TestLoadReportsEveryProblem(t *testing.T) {
	text := `socket:
  mdoe: "0660"
limits:
  max_message: 1
jails:
  - name: api
    maxrety: 10
    maxretry: 0
    findtime: 0.4
  - name: login
    action: [log]
access:
  - uid: 33
    clases: [report]
    jails: [api]
`
	_, err := Load(writeYAML(t, text))
	if err == nil {
		t.Fatal("Load succeeded")
	}
	want := []string{
		"socket.mdoe: unknown key",
		"limits.max_message: 1 is out of range",
		"jails[0].maxrety: unknown key",
		"jails[0].maxretry: 0 is out of range",
		"jails[0].findtime: \"0.4\" is under a second",
		"jails[1].action: unknown key",
		"access[0].classes: missing", // at the rule's line
		"access[0].clases: unknown key",
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(want) {
		t.Fatalf("Load reported %d problems, want %d:\n%v", len(lines), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("problem %d = %q, want it to contain %q", i, lines[i], w)
		}
	}
	if !errors.Is(err, ErrUnknownKey) || !errors.Is(err, ErrInvalid) {
		t.Errorf("errors.Is ErrUnknownKey %v, ErrInvalid %v; want both", errors.Is(err, ErrUnknownKey), errors.Is(err, ErrInvalid))
	}
}

// TestLoadIncrementMessages: the jail package's errors for bantime.*
// options read without repeating the key.
func TestLoadIncrementMessages(t *testing.T) {
	jail := func(kv string) string { return "jails:\n  - name: api\n    " + kv + "\n" }
	runLoadCases(t, []loadCase{
		{name: "factor", yaml: jail("bantime.factor: -1"),
			want: []string{`jails[0].bantime.factor: "-1": must be a positive number`}},
		{name: "maxtime not a time", yaml: jail("bantime.maxtime: soon"),
			want: []string{`jails[0].bantime.maxtime: "soon" is not a time`}},
		{name: "rndtime negative", yaml: jail("bantime.rndtime: -5"),
			want: []string{`jails[0].bantime.rndtime: "-5": must not be negative`}},
		{name: "multipliers", yaml: jail(`bantime.multipliers: "1 x 4"`),
			want: []string{`jails[0].bantime.multipliers: "1 x 4": "x" is not an integer`}},
	})
}

// TestLoadParsed: what validate parses is what the jail package takes.
func TestLoadParsed(t *testing.T) {
	c, err := Load("testdata/increment.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p := c.Jails[0].Parsed()
	if p.Name != "api" || p.MaxRetry != DefaultMaxRetry || p.BanTime != time.Hour || p.FindTime != 30*time.Minute || !p.IgnoreSelf {
		t.Errorf("Parsed = %+v", p)
	}
	if inc := p.Increment; !inc.Enabled || inc.Factor != 2 || inc.MaxTime != 7*24*time.Hour || !slices.Equal(inc.Multipliers, []int{1, 2, 4, 8}) || inc.OverallJails {
		t.Errorf("Parsed().Increment = %+v", inc)
	}
	if c.PurgeAge() != 24*time.Hour {
		t.Errorf("PurgeAge = %v, want 24h", c.PurgeAge())
	}
	c, err = Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("2001:db8::1/128")}
	if p := c.Jails[0].Parsed(); !slices.Equal(p.IgnoreIP, want) || p.BanTime != jail.Forever || p.FindTime != 600*time.Second {
		t.Errorf("Parsed = %+v", p)
	}
}

var update = flag.Bool("update", false, "rewrite testdata/*.golden from what Load reports")

// TestLoadGolden: the whole report for a file with every kind of problem,
// in testdata/invalid.golden (go test ./config -run TestLoadGolden -update
// rewrites it).
func TestLoadGolden(t *testing.T) {
	_, err := Load("testdata/invalid.yaml")
	if err == nil {
		t.Fatal("Load succeeded")
	}
	got := err.Error() + "\n"
	if *update {
		if err := os.WriteFile("testdata/invalid.golden", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/invalid.golden")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("Load(testdata/invalid.yaml) reports\n%s\nwant (testdata/invalid.golden)\n%s", got, want)
	}
}

// TestLoadMerge: YAML merge keys bring keys in as if written, and are
// checked as such.
func TestLoadMerge(t *testing.T) {
	runLoadCases(t, []loadCase{
		{name: "merged keys count as written",
			yaml: "jails:\n  - &d\n    name: api\n    maxretry: 5\n    bantime: 2h\n  - <<: *d\n    name: login\n",
			check: func(t *testing.T, c *Config) {
				if j := c.Jails[1]; j.Name != "login" || j.MaxRetry != 5 || j.BanTime != "2h" {
					t.Errorf("jails[1] = %+v", j)
				}
			}},
		{name: "a merged typo is reported where it is merged", kind: ErrUnknownKey,
			yaml: "jails:\n  - name: api\n    x: &d\n      maxrety: 5\n  - <<: *d\n    name: login\n",
			want: []string{"jails[0].x: unknown key", "jails[1].maxrety: unknown key (merged in by << at line 5); did you mean maxretry?"}},
		{name: "a merged value out of range",
			yaml: "jails:\n  - &d\n    name: api\n  - <<: *d\n    name: login\n    maxretry: 0\n",
			want: []string{"jails[1].maxretry: 0 is out of range"}},
		{name: "an environment value of the wrong kind", env: map[string]string{"BANSERVER_LIMITS_IDLE_TIMEOUT": "300", "BANSERVER_KERNEL_FLUSH_ON_STOP": "maybe"},
			want: []string{`limits.idle_timeout (from $BANSERVER_LIMITS_IDLE_TIMEOUT): want a duration such as 10s, 5m or 1h (or -1 for never), found "300"`,
				`kernel.flush_on_stop (from $BANSERVER_KERNEL_FLUSH_ON_STOP): want true or false, found "maybe"`}},
	})
}
