package daemon

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/testenv"
)

// This file: what a client allowed only to report attempts can make the
// daemon keep. Each kept failure message is cut to jail.DefaultMaxMatchLen
// and copied, all of them count against jail.DefaultMatchBudget, and the
// store keeps dbmaxmatches of them per ban, each cut the same way; before
// that, 15,000 attempts with 60 KB messages took a daemon from 23 MB to
// 937 MB resident, and 300 bans with 20 KB messages grew its store by
// 32 MiB.

// memBound is the resident peak (VmHWM) the daemon may reach at default
// limits whatever a report-only client sends.
const memBound = 256 << 20

// memMsgLen is the size of each hostile failure message: under the 64 KiB
// message cap with the request's other words and pickle framing.
const memMsgLen = 60_000

// memClientEnv, when set, makes the test binary the unprivileged client
// of TestMemoryBoundedByMessages (see init below); the other
// memClientEnv_* variables carry its job.
const memClientEnv = "BANSERVER_MEMTEST_CLIENT"

// memClientUID is the client's uid and gid: nobody.
const memClientUID = 65534

// memClientRate is the client's pace in commands per second, under the
// default limits.rate_per_uid of 2,000; replies that the rate limit
// refuses anyway are counted and retried.
const memClientRate = 1600

// init runs the client when the test binary is started as one. It is an
// init rather than a TestMain so that the package keeps TestMain free for
// whoever needs it.
func init() {
	if os.Getenv(memClientEnv) == "" {
		return
	}
	out, err := memClient()
	if err != nil {
		fmt.Fprintln(os.Stderr, "memory client:", err)
		os.Exit(1)
	}
	fmt.Println(out)
	os.Exit(0)
}

// memAddr is the i'th distinct documentation address of a phase: the
// first 512 of phase 0 from 198.51.100.0/24 and 203.0.113.0/24, the rest
// one per /64 of 2001:db8:PHASE::/48 (distinct however ipv6prefix is set).
func memAddr(phase, i int) string {
	if phase == 0 && i < 256 {
		return fmt.Sprintf("198.51.100.%d", i)
	}
	if phase == 0 && i < 512 {
		return fmt.Sprintf("203.0.113.%d", i-256)
	}
	return fmt.Sprintf("2001:db8:%x:%x::1", phase, i)
}

// memMessage is a failure message of n bytes, distinct per address and
// attempt.
func memMessage(n int, addr string, attempt int) string {
	head := fmt.Sprintf("Incorrect token used by %s (attempt %d): ", addr, attempt)
	return head + strings.Repeat("x", n-len(head))
}

// memJob is one run of the client.
type memJob struct {
	sock    string
	jail    string
	phase   int // memAddr's phase
	count   int // addresses
	repeat  int // attempts per address
	conns   int // persistent connections
	msgLen  int
	rate    float64 // commands per second; 0: as fast as replies come
	retries bool    // retry rate-limit refusals, else they are errors
}

func (j memJob) env() []string {
	return []string{
		memClientEnv + "=1",
		memClientEnv + "_SOCK=" + j.sock,
		memClientEnv + "_JAIL=" + j.jail,
		memClientEnv + "_PHASE=" + strconv.Itoa(j.phase),
		memClientEnv + "_COUNT=" + strconv.Itoa(j.count),
		memClientEnv + "_REPEAT=" + strconv.Itoa(j.repeat),
		memClientEnv + "_CONNS=" + strconv.Itoa(j.conns),
		memClientEnv + "_MSGLEN=" + strconv.Itoa(j.msgLen),
		memClientEnv + "_RATE=" + strconv.FormatFloat(j.rate, 'g', -1, 64),
	}
}

func memJobFromEnv() (memJob, error) {
	j := memJob{sock: os.Getenv(memClientEnv + "_SOCK"), jail: os.Getenv(memClientEnv + "_JAIL"), retries: true}
	for _, f := range []struct {
		name string
		to   *int
	}{{"PHASE", &j.phase}, {"COUNT", &j.count}, {"REPEAT", &j.repeat}, {"CONNS", &j.conns}, {"MSGLEN", &j.msgLen}} {
		n, err := strconv.Atoi(os.Getenv(memClientEnv + "_" + f.name))
		if err != nil {
			return j, fmt.Errorf("%s_%s: %v", memClientEnv, f.name, err)
		}
		*f.to = n
	}
	rate, err := strconv.ParseFloat(os.Getenv(memClientEnv+"_RATE"), 64)
	if err != nil {
		return j, fmt.Errorf("%s_RATE: %v", memClientEnv, err)
	}
	j.rate = rate
	return j, nil
}

// memResult counts a run's replies.
type memResult struct {
	ones, zeros, limited atomic.Int64
}

func (r *memResult) String() string {
	return fmt.Sprintf("ones %d zeros %d limited %d", r.ones.Load(), r.zeros.Load(), r.limited.Load())
}

// memClient is the body of the client process.
func memClient() (string, error) {
	j, err := memJobFromEnv()
	if err != nil {
		return "", err
	}
	var res memResult
	if err := j.run(&res); err != nil {
		return "", err
	}
	return res.String(), nil
}

// run sends j's attempts, address i on connection i % conns, each
// answered before the next on its connection, paced at j.rate over all
// connections. Every attempt must be answered 1 or 0; a rate-limit
// refusal is counted and the attempt sent again.
func (j memJob) run(res *memResult) error {
	start := time.Now()
	var slot atomic.Int64
	pace := func() {
		if j.rate <= 0 {
			return
		}
		n := slot.Add(1) - 1
		if d := time.Until(start.Add(time.Duration(float64(n) / j.rate * float64(time.Second)))); d > 0 {
			time.Sleep(d)
		}
	}
	errs := make(chan error, j.conns)
	var wg sync.WaitGroup
	for c := range j.conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("unix", j.sock)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			r := protocol.NewReader(conn, 1<<20)
			for i := c; i < j.count; i += j.conns {
				addr := memAddr(j.phase, i)
				for a := range j.repeat {
					req, err := protocol.AppendRequest(nil, 4, []any{"set", j.jail, "attempt", addr, memMessage(j.msgLen, addr, a)})
					if err != nil {
						errs <- err
						return
					}
					if err := j.attempt(conn, r, req, pace, res); err != nil {
						errs <- fmt.Errorf("attempt %d of %s: %w", a, addr, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// attempt sends req until it is answered other than by the rate limit.
func (j memJob) attempt(conn net.Conn, r *protocol.Reader, req []byte, pace func(), res *memResult) error {
	for tries := 0; ; tries++ {
		if tries == 1000 {
			return errors.New("refused by the rate limit 1,000 times")
		}
		pace()
		// Generous: a bound on a hung daemon, not a timing assertion.
		conn.SetDeadline(time.Now().Add(2 * time.Minute))
		if _, err := conn.Write(req); err != nil {
			return err
		}
		msg, err := r.ReadMessage()
		if err != nil {
			return err
		}
		code, v, err := protocol.DecodeReply(msg)
		if err != nil {
			return err
		}
		switch {
		case code == 0 && v == int64(1):
			res.ones.Add(1)
			return nil
		case code == 0 && v == int64(0):
			res.zeros.Add(1)
			return nil
		case code == 1 && j.retries && memRateLimited(v):
			res.limited.Add(1)
			time.Sleep(20 * time.Millisecond)
		default:
			return fmt.Errorf("reply (%d, %v)", code, v)
		}
	}
}

func memRateLimited(v any) bool {
	e, ok := v.(*protocol.Exception)
	return ok && strings.Contains(fmt.Sprint(e.Args...), "rate_per_uid")
}

// procHWM returns the resident peak of process pid, from /proc.
func procHWM(t *testing.T, pid int) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("daemon status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return n << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}

func memMiB(n int64) float64 { return float64(n) / (1 << 20) }

// memSocketDir makes a root-owned 0755 directory under a 0755 root of its
// own in the system's temporary directory (t.TempDir's parents are 0700:
// nobody could not reach a socket there), removed after the test.
func memSocketDir(t *testing.T) string {
	t.Helper()
	top, err := os.MkdirTemp("", "banserver-memory-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(top) })
	if err := os.Chmod(top, 0o755); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(top, "run")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return dir
}

// memCopyBinary copies the test binary where nobody may run it (the go
// build directory is root's 0700).
func memCopyBinary(t *testing.T, to string) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}

// memRunClient runs job in the client binary as uid 65534 while watching
// the daemon's VmHWM; the client is stopped as soon as the peak passes
// memBound (so a failing daemon does not take the machine's memory). It
// returns the client's summary line.
func memRunClient(t *testing.T, bin string, job memJob, daemonPID int) string {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = append(os.Environ(), job.env()...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: memClientUID, Gid: memClientUID}}
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	// Generous: 15,000 attempts at 1,600/s take about 10 s.
	deadline := time.After(5 * time.Minute)
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("client: %v\n%s", err, stderr.String())
			}
			return strings.TrimSpace(stdout.String())
		case <-tick.C:
			if hwm := procHWM(t, daemonPID); hwm > memBound {
				cmd.Process.Kill()
				<-done
				t.Fatalf("daemon VmHWM %.1f MiB over the %.0f MiB bound while the client ran (client stopped)",
					memMiB(hwm), memMiB(memBound))
			}
		case <-deadline:
			cmd.Process.Kill()
			<-done
			t.Fatalf("client did not finish within 5 minutes\n%s", stderr.String())
		}
	}
}

// TestMemoryBoundedByMessages: a client allowed only `report` on one jail
// sends 15,000 attempts from distinct addresses with 60 KB messages, then
// makes 1,000 addresses reach maxretry with such messages, so bans hold
// them too; the daemon's resident peak stays under 256 MiB at default
// limits.
func TestMemoryBoundedByMessages(t *testing.T) {
	testenv.Root(t, "the client runs as uid 65534")
	dir := memSocketDir(t)
	sock := filepath.Join(dir, "ban.sock")
	client := filepath.Join(filepath.Dir(dir), "client")
	memCopyBinary(t, client)
	cfg := writeConfig(t, `
socket:
  mode: "0666"
access:
  - uid: 65534
    classes: [report]
    jails: [api]
jails:
  - name: api
    maxretry: 3
    findtime: 30m
    bantime: 1h
    actions: []
`)
	p := startProc(t, cfg, sock, filepath.Join(t.TempDir(), "bans.db"))
	pid := p.cmd.Process.Pid
	start := procHWM(t, pid)
	t.Logf("VmHWM at start: %.1f MiB", memMiB(start))

	// Phase 1: 15,000 addresses, one attempt each.
	job := memJob{sock: sock, jail: "api", phase: 0, count: 15000, repeat: 1, conns: 4, msgLen: memMsgLen, rate: memClientRate}
	out := memRunClient(t, client, job, pid)
	t.Logf("15,000 attempts: %s", out)
	if !strings.HasPrefix(out, "ones 15000 zeros 0 ") {
		t.Fatalf("15,000 attempts from distinct addresses answered %q, want every one counted", out)
	}
	hwm := procHWM(t, pid)
	t.Logf("VmHWM after 15,000 attempts with %d-byte messages: %.1f MiB", memMsgLen, memMiB(hwm))
	if hwm > memBound {
		t.Fatalf("VmHWM %.1f MiB over the %.0f MiB bound", memMiB(hwm), memMiB(memBound))
	}

	// Phase 2: 1,000 addresses reach maxretry: bans holding the messages.
	job = memJob{sock: sock, jail: "api", phase: 1, count: 1000, repeat: 3, conns: 4, msgLen: memMsgLen, rate: memClientRate}
	out = memRunClient(t, client, job, pid)
	t.Logf("1,000 × 3 attempts: %s", out)
	if !strings.HasPrefix(out, "ones 3000 zeros 0 ") {
		t.Fatalf("3,000 attempts answered %q, want every one counted", out)
	}
	if n := len(banList(t, sock, "api")); n != 1000 {
		t.Fatalf("%d bans after 1,000 addresses reached maxretry, want 1000", n)
	}
	hwm = procHWM(t, pid)
	t.Logf("VmHWM after 1,000 bans with %d-byte messages: %.1f MiB (bound %.0f MiB)", memMsgLen, memMiB(hwm), memMiB(memBound))
	if hwm > memBound {
		t.Fatalf("VmHWM %.1f MiB over the %.0f MiB bound", memMiB(hwm), memMiB(memBound))
	}
}

// storeGrowthBound is what 300 bans may add to the store: each keeps at
// most dbmaxmatches (10) messages of at most 1 KiB, plus about 1 KiB of
// record and history (3.3 MB in all), and bbolt grows its file in
// doubling steps: 8 MiB.
const storeGrowthBound = 8 << 20

// TestStoreGrowthBoundedByBans: 300 bans, each reached by attempts with
// 20 KB messages, grow the store by what the bans themselves take, not by
// the messages' size.
func TestStoreGrowthBoundedByBans(t *testing.T) {
	dir := t.TempDir()
	cfg := writeConfig(t, `
jails:
  - name: api
    maxretry: 3
    findtime: 30m
    bantime: 1h
    actions: []
`)
	sock, db := filepath.Join(dir, "ban.sock"), filepath.Join(dir, "bans.db")
	startProc(t, cfg, sock, db)
	before := dbFileSize(t, db)

	// Root's commands are not rate limited: no pacing.
	job := memJob{sock: sock, jail: "api", phase: 2, count: 300, repeat: 3, conns: 2, msgLen: 20_000}
	var res memResult
	if err := job.run(&res); err != nil {
		t.Fatal(err)
	}
	if got := res.String(); got != "ones 900 zeros 0 limited 0" {
		t.Fatalf("900 attempts answered %q, want every one counted", got)
	}
	if n := len(banList(t, sock, "api")); n != 300 {
		t.Fatalf("%d bans, want 300", n)
	}
	// Each ban is stored before its reply: the file has them now.
	after := dbFileSize(t, db)
	t.Logf("store: %.2f MiB -> %.2f MiB (grew %.2f MiB, %d bytes) for 300 bans with 3 × 20,000-byte messages each",
		memMiB(before.size), memMiB(after.size), memMiB(after.size-before.size), after.size-before.size)
	t.Logf("store blocks on disk: %.2f MiB -> %.2f MiB (grew %.2f MiB)",
		memMiB(before.disk), memMiB(after.disk), memMiB(after.disk-before.disk))
	if grew := after.size - before.size; grew > storeGrowthBound {
		t.Fatalf("300 bans grew the store by %.2f MiB, over the %.0f MiB bound", memMiB(grew), memMiB(storeGrowthBound))
	}
}

// dbSizes is a file's length and what it takes on disk (bbolt grows its
// file by truncating it longer: a sparse file).
type dbSizes struct{ size, disk int64 }

func dbFileSize(t *testing.T, path string) dbSizes {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return dbSizes{size: st.Size, disk: st.Blocks * 512}
}
