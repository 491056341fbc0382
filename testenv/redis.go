package testenv

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Redis is a redis-server the test started: Debian's, on a Unix socket in
// its own directory, no TCP port, its data in an append-only file written
// on every command, so that a kill -9 keeps what it acknowledged.
type Redis struct {
	Dir    string // the server's directory: its config, socket and data
	Socket string // its Unix socket

	t    testing.TB
	path string
	cmd  *exec.Cmd
	done chan struct{}
}

// StartRedis starts redis-server for t and stops it when t ends; it skips
// (fails in CI) when redis-server is not installed. Lines of conf are added
// to its configuration and win over the defaults above (benchmarks pass
// "appendonly no", Debian's own default, to measure without an fsync per
// write).
func StartRedis(t testing.TB, conf ...string) *Redis {
	t.Helper()
	r := &Redis{t: t, path: Tool(t, "redis-server"), Dir: t.TempDir()}
	// Unix socket paths are limited to 108 bytes; t.TempDir's can be long.
	r.Socket = filepath.Join(r.Dir, "r.sock")
	if len(r.Socket) > 100 {
		d, err := os.MkdirTemp("", "redis")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		r.Dir, r.Socket = d, filepath.Join(d, "r.sock")
	}
	text := fmt.Sprintf(`port 0
unixsocket %s
unixsocketperm 700
dir %s
daemonize no
save ""
appendonly yes
appendfsync always
logfile %s
`, r.Socket, r.Dir, filepath.Join(r.Dir, "redis.log"))
	for _, l := range conf {
		text += l + "\n"
	}
	if err := os.WriteFile(filepath.Join(r.Dir, "redis.conf"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Start()
	t.Cleanup(r.Kill)
	return r
}

// PID is the running server's process id (0 when stopped).
func (r *Redis) PID() int {
	if r.cmd == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// URL is the server's address as banserver's cluster.redis takes it.
func (r *Redis) URL() string { return "unix://" + r.Socket }

// Start starts the server again after Kill, with whatever data its
// directory holds, and waits until it answers.
func (r *Redis) Start() {
	r.t.Helper()
	if r.cmd != nil {
		r.t.Fatal("testenv: redis-server already running")
	}
	os.Remove(r.Socket)
	cmd := exec.Command(r.path, filepath.Join(r.Dir, "redis.conf"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		r.t.Fatalf("testenv: start redis-server: %v", err)
	}
	r.cmd, r.done = cmd, make(chan struct{})
	go func() { cmd.Wait(); close(r.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := r.Do("PING"); err == nil {
			return
		}
		select {
		case <-r.done:
			log, _ := os.ReadFile(filepath.Join(r.Dir, "redis.log"))
			r.t.Fatalf("testenv: redis-server exited at start:\n%s", log)
		default:
		}
		if time.Now().After(deadline) {
			r.t.Fatal("testenv: redis-server did not answer within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill stops the server with SIGKILL; its data stays in its directory.
func (r *Redis) Kill() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Kill()
	<-r.done
	r.cmd = nil
}

// Wipe removes the server's data; call it between Kill and Start for a
// server that comes back empty.
func (r *Redis) Wipe() {
	r.t.Helper()
	for _, name := range []string{"appendonlydir", "appendonly.aof", "dump.rdb"} {
		if err := os.RemoveAll(filepath.Join(r.Dir, name)); err != nil {
			r.t.Fatal(err)
		}
	}
}

// Do sends one command over a fresh connection and returns the reply as
// text: simple strings, errors ("ERR ..." comes back as an error),
// integers and bulk strings as themselves, arrays one element per line.
// It is for tests that look at what the server holds, without a client
// library of their own.
func (r *Redis) Do(args ...string) (string, error) {
	c, err := net.DialTimeout("unix", r.Socket, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := c.Write([]byte(b.String())); err != nil {
		return "", err
	}
	var out []string
	if err := readReply(bufio.NewReader(c), &out); err != nil {
		return "", err
	}
	return strings.Join(out, "\n"), nil
}

// readReply reads one RESP2 reply, appending its scalars to out.
func readReply(br *bufio.Reader, out *[]string) error {
	line, err := br.ReadString('\n')
	if err != nil {
		return err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return fmt.Errorf("testenv: empty redis reply")
	}
	switch line[0] {
	case '+', ':':
		*out = append(*out, line[1:])
	case '-':
		return fmt.Errorf("redis: %s", line[1:])
	case '$':
		var n int
		fmt.Sscanf(line[1:], "%d", &n)
		if n < 0 {
			*out = append(*out, "")
			return nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return err
		}
		*out = append(*out, string(buf[:n]))
	case '*':
		var n int
		fmt.Sscanf(line[1:], "%d", &n)
		for range max(n, 0) {
			if err := readReply(br, out); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("testenv: unexpected redis reply %q", line)
	}
	return nil
}
