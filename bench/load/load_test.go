package load_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/banserver/banserver/bench/floor"
	"github.com/banserver/banserver/bench/load"
	"github.com/banserver/banserver/protocol"
)

// startFloor serves the do-nothing server on a socket in a temp dir for
// the test's lifetime.
func startFloor(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "floor.sock")
	ln, err := floor.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- floor.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("floor.Serve: %v", err)
		}
	})
	return path
}

func TestRunAgainstFloor(t *testing.T) {
	sock := startFloor(t)
	tests := []struct {
		name    string
		clients int
		mode    load.Mode
		cmd     string
		n       int64
		warmup  int64
		verify  bool
	}{
		{name: "persistent attempts", clients: 8, mode: load.Persistent, cmd: load.CmdAttempt, n: 5000},
		{name: "one client", clients: 1, mode: load.Persistent, cmd: load.CmdPing, n: 1000},
		{name: "connect per request", clients: 16, mode: load.Connect, cmd: load.CmdAttempt, n: 2000},
		{name: "mix with warmup", clients: 4, mode: load.Persistent, cmd: load.CmdMix, n: 3001, warmup: 500},
		{name: "more clients than requests", clients: 8, mode: load.Connect, cmd: load.CmdBanIP, n: 3},
		{name: "verify replies", clients: 2, mode: load.Persistent, cmd: load.CmdAttempt, n: 500, verify: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := load.Run(context.Background(), load.Config{
				Socket: sock, Clients: tt.clients, Mode: tt.mode, Cmd: tt.cmd,
				Jail: "api", Pool: 1000, N: tt.n, Warmup: tt.warmup, Verify: tt.verify,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != tt.n || res.Replies != tt.n || res.OK != tt.n {
				t.Errorf("requests/replies/ok = %d/%d/%d, want %d each", res.Requests, res.Replies, res.OK, tt.n)
			}
			if res.ErrorReplies != 0 || res.Refused != 0 || res.IOErrors != 0 {
				t.Errorf("errors: %+v", res)
			}
			if res.P50 <= 0 || res.P50 > res.P99 || res.P99 > res.Max {
				t.Errorf("latencies out of order: p50 %v p99 %v max %v", res.P50, res.P99, res.Max)
			}
		})
	}
}

// TestRefusedCounted checks that a socket nobody listens on shows as
// refusals, one per request, and not as I/O errors or a hang.
func TestRefusedCounted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "dead.sock")
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	// Leave the file behind with no listener: connect gets ECONNREFUSED.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	for _, mode := range []load.Mode{load.Persistent, load.Connect} {
		t.Run(string(mode), func(t *testing.T) {
			res, err := load.Run(context.Background(), load.Config{
				Socket: path, Clients: 3, Mode: mode, Cmd: load.CmdPing, Pool: 1, N: 50,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Refused != 50 || res.Replies != 0 || res.IOErrors != 0 {
				t.Errorf("refused/replies/io = %d/%d/%d, want 50/0/0 (%s)", res.Refused, res.Replies, res.IOErrors, res.FirstError)
			}
		})
	}
}

func TestDurationBounds(t *testing.T) {
	sock := startFloor(t)
	// N = 0 with a duration: the run ends by the clock, whatever the count.
	res, err := load.Run(context.Background(), load.Config{
		Socket: sock, Clients: 2, Mode: load.Persistent, Cmd: load.CmdPing, Pool: 1, Duration: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Replies == 0 || res.Replies != res.Requests {
		t.Errorf("replies %d of %d requests", res.Replies, res.Requests)
	}
}

func TestBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  load.Config
	}{
		{name: "unbounded", cfg: load.Config{Socket: "x", Clients: 1, Mode: load.Persistent, Cmd: load.CmdPing, Pool: 1}},
		{name: "no clients", cfg: load.Config{Socket: "x", Mode: load.Persistent, Cmd: load.CmdPing, Pool: 1, N: 1}},
		{name: "bad mode", cfg: load.Config{Socket: "x", Clients: 1, Mode: "udp", Cmd: load.CmdPing, Pool: 1, N: 1}},
		{name: "bad command", cfg: load.Config{Socket: "x", Clients: 1, Mode: load.Connect, Cmd: "stop", Pool: 1, N: 1}},
		{name: "empty pool", cfg: load.Config{Socket: "x", Clients: 1, Mode: load.Connect, Cmd: load.CmdAttempt, N: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := load.Run(context.Background(), tt.cfg); !errors.Is(err, load.ErrBadConfig) {
				t.Errorf("err = %v, want ErrBadConfig", err)
			}
		})
	}
}

func TestPoolAddr(t *testing.T) {
	tests := []struct {
		name string
		i    int
		want string
	}{
		{name: "first", i: 0, want: "192.0.2.1"},
		{name: "end of first /24", i: 253, want: "192.0.2.254"},
		{name: "second range", i: 254, want: "198.51.100.1"},
		{name: "last IPv4", i: 761, want: "203.0.113.254"},
		{name: "first IPv6", i: 762, want: "2001:db8::1"},
		{name: "large", i: 762 + 65535, want: "2001:db8::1:0"},
	}
	seen := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := load.PoolAddr(tt.i).String(); got != tt.want {
				t.Errorf("PoolAddr(%d) = %s, want %s", tt.i, got, tt.want)
			}
		})
	}
	for i := range 5000 {
		s := load.PoolAddr(i).String()
		if seen[s] {
			t.Fatalf("PoolAddr(%d) = %s repeats", i, s)
		}
		seen[s] = true
	}
}

// TestRequestsLoadInPython checks the pre-encoded requests against the
// real peer: python3's pickle must read each as the list fail2ban expects.
func TestRequestsLoadInPython(t *testing.T) {
	py := needTool(t, "python3")
	reqs, err := load.BuildRequests(load.CmdMix, "api", 763)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 8, 9, 762} {
		var w string
		switch i % 10 {
		case 8:
			w = "['set', 'api', 'banip', '" + load.PoolAddr(i).String() + "']"
		case 9:
			w = "['ping']"
		default:
			w = "['set', 'api', 'attempt', '" + load.PoolAddr(i).String() + "', 'banbench: bad token']"
		}
		msg := strings.TrimSuffix(string(reqs[i]), "<F2B_END_COMMAND>")
		cmd := exec.Command(py, "-c", "import pickle,sys; print(repr(pickle.loads(sys.stdin.buffer.read())))")
		cmd.Stdin = strings.NewReader(msg)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("python3 on request %d: %v", i, err)
		}
		if got := strings.TrimSpace(string(out)); got != w {
			t.Errorf("request %d loads as %s, want %s", i, got, w)
		}
	}
}

func TestBuildBanIPBatches(t *testing.T) {
	reqs, err := load.BuildBanIPBatches("api", 1000, 300)
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4 (300+300+300+100)", len(reqs))
	}
	seen := 0
	for _, r := range reqs {
		args, _, err := protocol.Decode(bytes.TrimSuffix(r, []byte(protocol.EndCommand)))
		if err != nil {
			t.Fatal(err)
		}
		if args[0] != "set" || args[1] != "api" || args[2] != "banip" {
			t.Fatalf("request %v", args[:3])
		}
		for _, a := range args[3:] {
			if a != load.PoolAddr(seen).String() {
				t.Fatalf("address %d is %v, want %v", seen, a, load.PoolAddr(seen))
			}
			seen++
		}
	}
	if seen != 1000 {
		t.Fatalf("%d addresses, want 1000", seen)
	}
	if _, err := load.BuildBanIPBatches("api", 10, 0); !errors.Is(err, load.ErrBadConfig) {
		t.Fatalf("per 0: %v", err)
	}
}
