package bench

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/banserver/banserver/bench/floor"
	"github.com/banserver/banserver/bench/load"
	"github.com/banserver/banserver/testenv"
)

// benchPool spreads attempts so no address nears maxretry, while staying
// under banserver's default cap on tracked addresses (100,000), so the
// benchmark measures the attempt path and not eviction.
const benchPool = 50000

// bannerConfig gives the benchmark's banserver a jail that never bans on
// attempts (maxretry at jail.MaxRetryLimit), so the workload measures the
// attempt path, not ban handling.
const bannerConfig = `socket:
  mode: "0600"
log:
  level: warning
jails:
  - name: api
    maxretry: 1000
    findtime: 30m
    bantime: 1h
    actions: []
`

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// banserverBinary builds cmd/banserver once per test binary.
func banserverBinary() (string, error) {
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "banbench-")
		if buildErr != nil {
			return
		}
		bin := filepath.Join(buildDir, "banserver")
		out, err := exec.Command("go", "build", "-o", bin, "github.com/banserver/banserver/cmd/banserver").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build cmd/banserver: %v\n%s", err, out)
		}
	})
	return filepath.Join(buildDir, "banserver"), buildErr
}

// startBanserver runs the built daemon on a fresh socket until the
// benchmark ends, or skips when it cannot be built yet.
func startBanserver(b *testing.B) string {
	b.Helper()
	sock, _ := runBanserver(b, nil, bannerConfig, func(sock string) bool {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return sock
}

// runBanserver starts the built daemon under the command wrap (ip netns
// exec NAME, which execs it in the same process) with config, on a fresh
// socket and no store, stops it when the benchmark ends, and waits until
// ready(sock) holds; it returns the socket and the daemon's pid.
func runBanserver(b *testing.B, wrap []string, config string, ready func(sock string) bool) (string, int) {
	b.Helper()
	bin, err := banserverBinary()
	if err != nil {
		testenv.Missingf(b, "banserver cannot be built yet: %v", err)
	}
	dir := b.TempDir()
	conf := filepath.Join(dir, "banserver.yaml")
	if err := os.WriteFile(conf, []byte(config), 0o600); err != nil {
		b.Fatal(err)
	}
	sock := filepath.Join(dir, "ban.sock")
	argv := append(append([]string{}, wrap...), bin, "--config", conf, "--socket", sock, "--db", "none")
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	// Readiness, not a timing assertion: wait until it is ready or exits.
	for deadline := time.Now().Add(30 * time.Second); ; {
		if ready(sock) {
			return sock, cmd.Process.Pid
		}
		select {
		case err := <-exited:
			b.Fatalf("banserver exited before it was ready: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Fatal("banserver was not ready within 30s")
		}
	}
}

// startFloor serves bench/floor in-process until the benchmark ends.
func startFloor(b *testing.B) string {
	b.Helper()
	sock := filepath.Join(b.TempDir(), "floor.sock")
	ln, err := floor.Listen(sock)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- floor.Serve(ctx, ln) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	return sock
}

// drive sends b.N attempts from the given clients and reports req/s and
// latency percentiles. Failures fail the benchmark: a rate that includes
// refusals or error replies would flatter the server.
func drive(b *testing.B, sock string, clients int, mode load.Mode) {
	b.Helper()
	reqs, err := load.BuildRequests(load.CmdAttempt, "api", benchPool)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	res, err := load.Run(context.Background(), load.Config{
		Socket: sock, Clients: clients, Mode: mode, N: int64(b.N), Requests: reqs,
	})
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if res.OK != int64(b.N) {
		b.Fatalf("%d of %d requests ok: %v (first error: %s)", res.OK, b.N, res, res.FirstError)
	}
	b.ReportMetric(res.Rate, "req/s")
	b.ReportMetric(float64(res.P50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(res.P99.Microseconds()), "p99-µs")
}

func BenchmarkFloor8(b *testing.B) { drive(b, startFloor(b), 8, load.Persistent) }

func BenchmarkFloor1(b *testing.B) { drive(b, startFloor(b), 1, load.Persistent) }

func BenchmarkFloorConnect64(b *testing.B) { drive(b, startFloor(b), 64, load.Connect) }

func BenchmarkBanserver8(b *testing.B) { drive(b, startBanserver(b), 8, load.Persistent) }

func BenchmarkBanserver1(b *testing.B) { drive(b, startBanserver(b), 1, load.Persistent) }

func BenchmarkBanserverConnect64(b *testing.B) { drive(b, startBanserver(b), 64, load.Connect) }
