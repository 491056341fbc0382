package daemon

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.uber.org/zap"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/config"
)

// TestCheckConfig: CheckConfig finds what the daemon would refuse at start,
// all of it in one call, without privileges or sockets.
func TestCheckConfig(t *testing.T) {
	tests := []struct {
		name string
		path string // a file; "" with yaml empty: the embedded default
		yaml string // written to a file of its own when set
		want []string
	}{
		{name: "the example", path: "../examples/banserver.yaml"},
		{name: "the embedded default"},
		{name: "every kernel action with options",
			yaml: "kernel:\n  netns: /run/netns/edge\njails:\n  - name: api\n    actions: [\"blackhole[table=100, protocol=241]\", unreachable, \"prohibit[netns=other]\", \"nftables[table=bs2]\", log]\n"},
		{name: "an action that is not built in",
			yaml: "jails:\n  - name: api\n    actions: [\"iptables -I INPUT\", log]\n",
			want: []string{`jails[0].actions[0]: "iptables -I INPUT" is not an action`}},
		{name: "an unknown action name",
			yaml: "jails:\n  - name: api\n    actions: [log, iptables]\n",
			want: []string{`jails[0].actions[1]: "iptables" is not a built-in action: want blackhole, log, nftables, prohibit, unreachable`}},
		{name: "bad route options",
			yaml: "jails:\n  - name: api\n    actions: [\"blackhole[table=0]\", \"unreachable[protocol=300]\", \"prohibit[colour=red]\"]\n",
			want: []string{`jails[0].actions[0]: "blackhole[table=0]": bad options: table=0`,
				`jails[0].actions[1]: "unreachable[protocol=300]": bad options: protocol="300"`,
				`jails[0].actions[2]: "prohibit[colour=red]": bad options: prohibit takes table, protocol, netns; not "colour"`}},
		{name: "bad nftables options",
			yaml: "jails:\n  - name: api\n    actions: [\"nftables[tabel=x]\", \"nftables[table=a b]\"]\n",
			want: []string{`jails[0].actions[0]: "nftables[tabel=x]": bad options: nftables has no option "tabel"`,
				`jails[0].actions[1]: "nftables[table=a b]": bad options`}},
		{name: "log takes no options",
			yaml: "jails:\n  - name: api\n    actions: [\"log[level=debug]\"]\n",
			want: []string{`jails[0].actions[0]: "log[level=debug]": bad options: log takes no options`}},
		{name: "a log level the server does not know",
			yaml: "log:\n  level: loud\n",
			want: []string{`log.level: "loud" is not a log level`}},
		{name: "a log level in any case",
			yaml: "log:\n  level: Warning\n"},
		{name: "a log level as a number",
			yaml: "log:\n  level: 20\n"},
		{name: "kernel.netns that nftables cannot open",
			yaml: "kernel:\n  netns: edge\njails:\n  - name: api\n    actions: [blackhole, nftables]\n",
			want: []string{`jail "api": kernel.netns "edge"`, "want an absolute path"}},
		{name: "every problem at once",
			yaml: "log:\n  level: loud\njails:\n  - name: api\n    maxrety: 3\n    actions: [iptables]\n",
			want: []string{"log.level", "jails[0].maxrety: unknown key; did you mean maxretry?", `jails[0].actions[0]: "iptables" is not a built-in action`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if tt.yaml != "" {
				path = filepath.Join(t.TempDir(), "banserver.yaml")
				if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := CheckConfig(path)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("CheckConfig: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("CheckConfig succeeded, want %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("CheckConfig:\n%v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

// TestCheckConfigInvalid: what config.Load refuses, CheckConfig refuses as
// config.ErrInvalid.
func TestCheckConfigInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "banserver.yaml")
	if err := os.WriteFile(path, []byte("jails:\n  - name: api\n    maxretry: 0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := CheckConfig(path); !errors.Is(err, config.ErrInvalid) {
		t.Fatalf("CheckConfig = %v, want config.ErrInvalid", err)
	}
}

// TestCheckRegistryMatchesRun: the actions CheckConfig knows are the ones
// Run registers, so a spec it passes names an action the daemon has.
func TestCheckRegistryMatchesRun(t *testing.T) {
	run := actions.NewRegistry(actions.Log{L: zap.NewNop()})
	registerKernel(run, config.Kernel{}, zap.NewNop())
	if got, want := checkRegistry("").Names(), run.Names(); !slices.Equal(got, want) {
		t.Fatalf("CheckConfig's actions %v, Run's %v", got, want)
	}
}

// TestCheckConfigCommand runs the built banserver --check-config on a good
// and a bad file: the exit code, and what it prints.
func TestCheckConfigCommand(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "banserver")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/banserver/banserver/cmd/banserver").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("socket:\n  mdoe: \"0660\"\nlimits:\n  max_message: 1\njails:\n  - name: api\n    maxretry: 0\n    actions: [iptables]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr []string
	}{
		{name: "the example is valid", args: []string{"--check-config", "--config", "../examples/banserver.yaml"},
			wantStdout: "banserver: configuration ../examples/banserver.yaml is valid (4 jails)\n"},
		{name: "the embedded default is valid", args: []string{"--check-config"},
			wantStdout: "banserver: configuration (embedded default) is valid (1 jail)\n"},
		{name: "a bad file lists every problem", args: []string{"-check-config", "-config", bad}, wantCode: 1,
			wantStderr: []string{
				"banserver: configuration " + bad + " is invalid (4 problems):\n",
				"  config: " + bad + ":2: socket.mdoe: unknown key; did you mean mode?\n",
				"  config: " + bad + ":4: limits.max_message: 1 is out of range 1024..67108864\n",
				"  config: " + bad + ":7: jails[0].maxretry: 0 is out of range 1..1000\n",
				"  config: " + bad + ":8: jails[0].actions[0]: \"iptables\" is not a built-in action",
			}},
		{name: "a missing file", args: []string{"--check-config", "--config", filepath.Join(dir, "none.yaml")}, wantCode: 1,
			wantStderr: []string{"is invalid (1 problem)", "no such file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, &stdout, &stderr)
			}
			if stdout.String() != tt.wantStdout {
				t.Errorf("stdout %q, want %q", &stdout, tt.wantStdout)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr:\n%s\nwant it to contain %q", &stderr, w)
				}
			}
			if tt.wantStderr == nil && stderr.Len() > 0 {
				t.Errorf("stderr: %s", &stderr)
			}
		})
	}
}
