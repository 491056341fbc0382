package main

import (
	"bytes"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on any machine

	"github.com/banserver/banserver/protocol"
)

// jsonCases are replies as the codec decodes them. Each one's -o json
// output, indented, is the golden file testdata/json/NAME.json (go test
// -update rewrites them); JSON.md shows the same shapes.
var jsonCases = []struct {
	name  string
	words []string
	code  int // 0 result, 1 exception, -1 a bare "ERROR: ..." string
	reply any
}{
	{name: "status", words: []string{"status"},
		reply: []any{protocol.Tuple{"Number of jail", int64(2)}, protocol.Tuple{"Jail list", "api, sshd"}}},
	{name: "status-empty", words: []string{"status"},
		reply: []any{protocol.Tuple{"Number of jail", int64(0)}, protocol.Tuple{"Jail list", ""}}},
	{name: "status-jail", words: []string{"status", "api"}, reply: []any{
		protocol.Tuple{"Filter", []any{protocol.Tuple{"Currently failed", int64(1)}, protocol.Tuple{"Total failed", int64(7)}, protocol.Tuple{"File list", []any{"/var/log/api.log"}}}},
		protocol.Tuple{"Actions", []any{protocol.Tuple{"Currently banned", int64(2)}, protocol.Tuple{"Total banned", int64(3)}, protocol.Tuple{"Banned IP list", []any{"192.0.2.1", "2001:db8::/64"}}}},
	}},
	{name: "status-jail-short", words: []string{"status", "api", "short"}, reply: []any{
		protocol.Tuple{"Filter", []any{protocol.Tuple{"Currently failed", int64(0)}, protocol.Tuple{"Total failed", int64(3)}, protocol.Tuple{"File list", []any{}}}},
		protocol.Tuple{"Actions", []any{protocol.Tuple{"Currently banned", int64(1)}, protocol.Tuple{"Total banned", int64(1)}}},
	}},
	{name: "status-jail-action-failures", words: []string{"status", "api"}, reply: []any{
		protocol.Tuple{"Filter", []any{protocol.Tuple{"Currently failed", int64(0)}, protocol.Tuple{"Total failed", int64(3)}, protocol.Tuple{"File list", []any{}}}},
		protocol.Tuple{"Actions", []any{protocol.Tuple{"Currently banned", int64(1)}, protocol.Tuple{"Total banned", int64(1)}, protocol.Tuple{"Banned IP list", []any{"192.0.2.1"}}, protocol.Tuple{"Action failures", int64(4)}}},
	}},
	{name: "status-jail-cymru-journal", words: []string{"status", "sshd", "cymru"}, reply: []any{
		protocol.Tuple{"Filter", []any{protocol.Tuple{"Currently failed", int64(0)}, protocol.Tuple{"Total failed", int64(0)}, protocol.Tuple{"Journal matches", []any{"_SYSTEMD_UNIT=sshd.service", "+", "_COMM=sshd"}}}},
		protocol.Tuple{"Actions", []any{protocol.Tuple{"Currently banned", int64(1)}, protocol.Tuple{"Total banned", int64(1)}, protocol.Tuple{"Banned IP list", []any{"192.0.2.1"}},
			protocol.Tuple{"Banned ASN list", []any{"64496"}}, protocol.Tuple{"Banned Country list", []any{"ZZ"}}, protocol.Tuple{"Banned RIR list", []any{"ripencc"}}}},
	}},
	{name: "status-jail-bad-shape", words: []string{"status", "api"}, reply: []any{"x"}},
	{name: "status-all", words: []string{"status", "--all", "short"}, reply: []any{
		protocol.Tuple{"Number of jail", int64(2)}, protocol.Tuple{"Jail list", "api, sshd"},
		protocol.Dict{
			{Key: "api", Value: []any{
				protocol.Tuple{"Filter", []any{protocol.Tuple{"Currently failed", int64(1)}, protocol.Tuple{"Total failed", int64(7)}, protocol.Tuple{"File list", []any{}}}},
				protocol.Tuple{"Actions", []any{protocol.Tuple{"Currently banned", int64(2)}, protocol.Tuple{"Total banned", int64(3)}}},
			}},
			{Key: "sshd", Value: []any{
				protocol.Tuple{"Filter", []any{protocol.Tuple{"Currently failed", int64(0)}, protocol.Tuple{"Total failed", int64(0)}, protocol.Tuple{"File list", []any{}}}},
				protocol.Tuple{"Actions", []any{protocol.Tuple{"Currently banned", int64(0)}, protocol.Tuple{"Total banned", int64(0)}}},
			}},
		},
	}},
	{name: "status-all-empty", words: []string{"status", "--all"}, reply: []any{
		protocol.Tuple{"Number of jail", int64(0)}, protocol.Tuple{"Jail list", ""}, protocol.Dict{},
	}},
	{name: "stats", words: []string{"stats"}, reply: protocol.Dict{
		{Key: "api", Value: []any{"polling", protocol.Tuple{int64(1), int64(7)}, protocol.Tuple{int64(2), int64(3)}}},
		{Key: "sshd", Value: []any{"systemd", protocol.Tuple{int64(0), int64(0)}, protocol.Tuple{int64(0), int64(0)}}},
	}},
	{name: "stats-empty", words: []string{"stats"}, reply: protocol.Dict{}},
	{name: "banned", words: []string{"banned"},
		reply: []any{protocol.Dict{{Key: "api", Value: []any{"192.0.2.1", "198.51.100.2"}}}, protocol.Dict{{Key: "sshd", Value: []any{}}}}},
	{name: "banned-no-jails", words: []string{"banned"}, reply: []any{}},
	{name: "banned-ips", words: []string{"banned", "192.0.2.1", "203.0.113.7"},
		reply: []any{[]any{"api", "sshd"}, []any{}}},
	{name: "banned-ips-repeated", words: []string{"banned", "192.0.2.1", "192.0.2.1"},
		reply: []any{[]any{"api"}, []any{"api"}}},
	{name: "get-banned", words: []string{"get", "api", "banned"}, reply: []any{"192.0.2.1", "198.51.100.2"}},
	{name: "get-banned-ip", words: []string{"get", "api", "banned", "192.0.2.1"}, reply: int64(1)},
	{name: "get-banned-ips", words: []string{"get", "api", "banned", "192.0.2.1", "203.0.113.7"}, reply: []any{int64(1), int64(0)}},
	{name: "get-banip", words: []string{"get", "api", "banip"}, reply: []any{"192.0.2.1", "198.51.100.1"}},
	{name: "get-banip-separator", words: []string{"get", "api", "banip", ", "}, reply: []any{"192.0.2.1", "198.51.100.1"}},
	{name: "get-banip-with-time", words: []string{"get", "api", "banip", "--with-time"}, reply: []any{
		"192.0.2.1 \t2026-01-02 03:04:05 + 3600 = 2026-01-02 04:04:05",
		"2001:db8::/64 \t2026-07-02 03:04:05 + 86400 = 2026-07-03 03:04:05",
		"198.51.100.1 \t2026-01-02 03:04:06 + -1 = 2038-01-19 04:14:07",
	}},
	// 2026-10-25 02:30 happens twice in Berlin; the end tells which.
	{name: "get-banip-with-time-dst", words: []string{"get", "api", "banip", "--with-time"}, reply: []any{
		"192.0.2.1 \t2026-10-25 02:30:00 + 3600 = 2026-10-25 02:30:00",
		"192.0.2.2 \t2026-10-25 02:30:00 + 3600 = 2026-10-25 03:30:00",
	}},
	{name: "get-banip-with-time-empty", words: []string{"get", "api", "banip", "--with-time"}, reply: []any{}},
	{name: "get-banip-with-time-unparsed", words: []string{"get", "api", "banip", "--with-time"},
		reply: []any{"192.0.2.1 \tsome day + 3600 = later"}},
	{name: "get-ignoreip", words: []string{"get", "api", "ignoreip"}, reply: []any{"203.0.113.0/24", "2001:db8::/32"}},
	{name: "get-actions", words: []string{"get", "api", "actions"}, reply: []any{"blackhole", "log"}},
	{name: "get-maxretry", words: []string{"get", "api", "maxretry"}, reply: int64(3)},
	{name: "get-ignoreself", words: []string{"get", "api", "ignoreself"}, reply: true},
	{name: "get-dbfile-none", words: []string{"get", "dbfile"}, reply: nil},
	{name: "get-loglevel", words: []string{"get", "loglevel"}, reply: "INFO"},
	{name: "get-datepattern", words: []string{"get", "api", "datepattern"}, reply: protocol.Tuple{nil, "Default Detectors"}},
	{name: "ping", words: []string{"ping"}, reply: "pong"},
	{name: "echo", words: []string{"echo", "hello", "world"}, reply: []any{"hello", "world"}},
	{name: "help", words: []string{"help"}, reply: []any{"ping                                  tests if the server is alive"}},
	{name: "reload", words: []string{"reload"}, reply: "OK"},
	{name: "generic-values", words: []string{"get", "api", "x"}, reply: []any{
		true, int64(-3), 1.5, 1e-07, nan(), inf(1), inf(-1), []byte("b\xff"), "a<b>&\"\\\n\x01é\xff",
		new(big.Int).Lsh(big.NewInt(1), 70), protocol.Tuple{}, protocol.Dict{{Key: int64(1), Value: "a"}, {Key: nil, Value: "b"}},
		protocol.Dict{{Key: "z", Value: int64(1)}, {Key: "a", Value: int64(2)}},
		&protocol.Exception{Class: protocol.ClassKeyError, Args: []any{"k"}},
	}},
	{name: "error-unknown-jail", words: []string{"status", "nojail"}, code: 1,
		reply: &protocol.Exception{Class: protocol.ClassUnknownJail, Args: []any{"nojail"}}},
	{name: "error-invalid-command", words: []string{"foo"}, code: 1,
		reply: &protocol.Exception{Class: protocol.ClassException, Args: []any{"Invalid command"}}},
	{name: "error-value", words: []string{"set", "api", "unbanip", "--report-absent", "203.0.113.99"}, code: 1,
		reply: &protocol.Exception{Class: protocol.ClassValueError, Args: []any{"not banned: ['203.0.113.99']"}}},
	{name: "error-permission", words: []string{"set", "api", "banip", "192.0.2.1"}, code: 1,
		reply: &protocol.Exception{Class: "builtins.PermissionError", Args: []any{"permission denied: uid 1000 (php) may not use ban commands on jail 'api' (set)"}}},
	{name: "error-no-args", words: []string{"foo"}, code: 1, reply: &protocol.Exception{Class: protocol.ClassException}},
	{name: "error-bare-string", words: []string{"ping"}, code: -1, reply: "ERROR: could not load the command"},
}

// replyOutput is what banctl -o json prints for a reply, without the
// newline.
func replyOutput(words []string, code int, reply any, loc *time.Location) []byte {
	switch code {
	case 0:
		return resultJSON(words, reply, loc)
	case 1:
		return errorJSON(exceptionError(words, reply))
	}
	return errorJSON(serverError(reply))
}

func TestJSONGolden(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range jsonCases {
		t.Run(tc.name, func(t *testing.T) {
			out := replyOutput(tc.words, tc.code, tc.reply, berlin)
			if !json.Valid(out) {
				t.Fatalf("not valid JSON: %s", out)
			}
			var compact bytes.Buffer
			json.Compact(&compact, out)
			if !bytes.Equal(compact.Bytes(), out) {
				t.Errorf("not compact (one line): %s", out)
			}
			var pretty bytes.Buffer
			json.Indent(&pretty, out, "", "  ")
			pretty.WriteByte('\n')
			golden := filepath.Join("testdata", "json", tc.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if pretty.String() != string(want) {
				t.Errorf("banctl -o json %q differs from %s (go test -update to accept):\n%s",
					tc.words, golden, lineDiff(string(want), pretty.String()))
			}
		})
	}
}

// TestJSONWithTimeFields decodes --with-time output as a program would and
// checks the fields agree with each other, in zones either side of UTC.
func TestJSONWithTimeFields(t *testing.T) {
	lines := []any{
		"192.0.2.1 \t2026-01-02 03:04:05 + 3600 = 2026-01-02 04:04:05",
		"198.51.100.1 \t2026-01-02 03:04:06 + -1 = 2038-01-19 03:14:07",
	}
	type ban struct {
		Address   string  `json:"address"`
		Start     string  `json:"start"`
		StartUnix int64   `json:"start_unix"`
		Bantime   int64   `json:"bantime"`
		End       *string `json:"end"`
		EndUnix   *int64  `json:"end_unix"`
	}
	tests := []struct {
		name string
		loc  *time.Location
	}{
		{name: "utc", loc: time.UTC},
		{name: "east", loc: time.FixedZone("", 5*3600+1800)},
		{name: "west", loc: time.FixedZone("", -8*3600)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var bans []ban
			out := resultJSON([]string{"get", "api", "banip", "--with-time"}, lines, tc.loc)
			if err := json.Unmarshal(out, &bans); err != nil || len(bans) != 2 {
				t.Fatalf("%s: %v", out, err)
			}
			b := bans[0]
			start, err := time.Parse(time.RFC3339, b.Start)
			if err != nil || start.Unix() != b.StartUnix || start.In(tc.loc).Format(withTimeLayout) != "2026-01-02 03:04:05" {
				t.Errorf("start %q, start_unix %d: want 2026-01-02 03:04:05 local (%v)", b.Start, b.StartUnix, err)
			}
			if b.End == nil || b.EndUnix == nil || *b.EndUnix != b.StartUnix+3600 || b.Bantime != 3600 {
				t.Fatalf("end %v, end_unix %v, bantime %d: want an hour after the start", b.End, b.EndUnix, b.Bantime)
			}
			if end, err := time.Parse(time.RFC3339, *b.End); err != nil || end.Unix() != *b.EndUnix {
				t.Errorf("end %q does not match end_unix %d", *b.End, *b.EndUnix)
			}
			if f := bans[1]; f.Bantime != -1 || f.End != nil || f.EndUnix != nil {
				t.Errorf("forever ban: bantime %d, end %v, end_unix %v; want -1, null, null", f.Bantime, f.End, f.EndUnix)
			}
		})
	}
}

func TestStatusKey(t *testing.T) {
	tests := []struct {
		name, label, want string
	}{
		{name: "two words", label: "Currently failed", want: "currently_failed"},
		{name: "the list", label: "Banned IP list", want: "banned"},
		{name: "three words", label: "Banned ASN list", want: "banned_asn_list"},
		{name: "punctuation", label: " Action  failures (kernel) ", want: "action_failures_kernel"},
		{name: "digits", label: "IPv6 prefix", want: "ipv6_prefix"},
		{name: "no letters", label: "--", want: "--"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := statusKey(tc.label); got != tc.want {
				t.Errorf("statusKey(%q) = %q, want %q", tc.label, got, tc.want)
			}
		})
	}
}
