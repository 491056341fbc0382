package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The child process's side of the tests below: the test binary re-executed
// with -test.run=TestHelperProcess and STORE_HELPER set. A no-op otherwise.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv("STORE_HELPER")
	if mode == "" {
		return
	}
	path, jail := os.Getenv("STORE_PATH"), os.Getenv("STORE_JAIL")
	d, err := Open(path, Options{LockTimeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	switch mode {
	case "hold":
		// Hold the lock until the parent closes our stdin.
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		d.Close()
	case "ban":
		banLoop(d, jail)
	}
	os.Exit(0)
}

// Child goroutines and what each does with its i-th prefix: ban it 1 to 3
// times (Count 1, 2, 3), then unban it when i%4 == 0. Every line reaches
// stdout only after WaitFor said the change is durable.
const (
	killGoroutines = 4
	killMaxBans    = 3
)

func killPrefix(g, i int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, byte(g), 0, 0, 0, 0, 0, 0,
		byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}), 128)
}

func killBans(i int) int { return 1 + i%killMaxBans }

func banLoop(d *DB, jail string) {
	var out sync.Mutex
	say := func(format string, a ...any) {
		// One write per line: a line is either entirely in the pipe or not
		// at all when the kill comes.
		line := fmt.Appendf(nil, format+"\n", a...)
		out.Lock()
		os.Stdout.Write(line)
		out.Unlock()
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range killGoroutines {
		wg.Go(func() {
			for i := 0; ; i++ {
				p := killPrefix(g, i)
				for k := 1; k <= killBans(i); k++ {
					seq := d.Put(Change{Op: OpBan, Ban: Ban{Jail: jail, Prefix: p, Start: t0, BanTime: -1, Count: k,
						Matches: []string{fmt.Sprintf("g%d i%d k%d", g, i, k)}}})
					if err := d.WaitFor(ctx, seq); err != nil {
						say("E %v", err)
						return
					}
					say("B %d %d %d %d", g, i, k, seq)
				}
				if i%4 == 0 {
					if err := d.WaitFor(ctx, d.Put(Change{Op: OpUnban, Ban: Ban{Jail: jail, Prefix: p}})); err != nil {
						say("E %v", err)
						return
					}
					say("U %d %d", g, i)
				}
			}
		})
	}
	wg.Wait()
}

// helperCmd returns the command that runs TestHelperProcess in mode.
func helperCmd(t *testing.T, mode, path, jail string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.v=false")
	cmd.Env = append(os.Environ(), "STORE_HELPER="+mode, "STORE_PATH="+path, "STORE_JAIL="+jail)
	cmd.Stderr = os.Stderr
	return cmd
}

// acked is what a child acknowledged for one prefix.
type acked struct {
	bans    int  // highest Count acknowledged
	unbaned bool // the unban was acknowledged
}

// runKilled runs one ban child on path, kills it with SIGKILL after a random
// delay, and returns what it acknowledged, per goroutine and prefix index.
func runKilled(t *testing.T, path, jail string, delay time.Duration) map[[2]int]*acked {
	t.Helper()
	cmd := helperCmd(t, "ban", path, jail)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	got := map[[2]int]*acked{}
	handle := func(line string) {
		f := strings.Fields(line)
		if len(f) == 0 {
			return
		}
		if f[0] == "E" {
			t.Errorf("child: %s", line)
			return
		}
		g, _ := strconv.Atoi(f[1])
		i, _ := strconv.Atoi(f[2])
		a := got[[2]int{g, i}]
		if a == nil {
			a = &acked{}
			got[[2]int{g, i}] = a
		}
		switch f[0] {
		case "B":
			k, _ := strconv.Atoi(f[3])
			if k != a.bans+1 {
				t.Errorf("child acknowledged ban %d of %v after %d", k, killPrefix(g, i), a.bans)
			}
			a.bans = k
		case "U":
			a.unbaned = true
		}
	}
	// The clock starts at the first acknowledgement, so every run kills a
	// child that is in full flow.
	first, ok := <-lines
	if !ok {
		t.Fatal("child wrote nothing")
	}
	handle(first)
	timer := time.NewTimer(delay)
	defer timer.Stop()
loop:
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				break loop
			}
			handle(line)
		case <-timer.C:
			cmd.Process.Signal(syscall.SIGKILL)
			timer.Stop()
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, not by SIGKILL", err)
	}
	return got
}

// checkKilled checks a reopened store against what one child acknowledged
// in jail.
func checkKilled(t *testing.T, d *DB, jail string, got map[[2]int]*acked) {
	t.Helper()
	live, err := d.Live(jail, t0)
	if err != nil {
		t.Fatal(err)
	}
	byPrefix := map[netip.Prefix]Ban{}
	for _, b := range live {
		if _, dup := byPrefix[b.Prefix]; dup {
			t.Errorf("%s: two live records of %v", jail, b.Prefix)
		}
		byPrefix[b.Prefix] = b
	}
	// The highest index each goroutine reached: a prefix beyond it was
	// never Put, one at it may have been.
	top := map[int]int{}
	for gi := range got {
		top[gi[0]] = max(top[gi[0]], gi[1])
	}
	for b := range byPrefix {
		a := b.Addr().As16()
		g, i := int(a[5]), int(a[12])<<24|int(a[13])<<16|int(a[14])<<8|int(a[15])
		if i > top[g]+1 {
			t.Errorf("%s: %v is live, but goroutine %d never went past prefix %d", jail, b, g, top[g])
		}
	}
	for gi, a := range got {
		p := killPrefix(gi[0], gi[1])
		b, live := byPrefix[p]
		h, err := d.History(jail, p)
		if err != nil {
			t.Fatal(err)
		}
		// At most one unacknowledged change per prefix can have reached the
		// disk: the goroutine queues the next only after an ack.
		lastBan := a.bans == killBans(gi[1])
		switch {
		case a.unbaned:
			if live {
				t.Errorf("%s: %v unbanned (acknowledged) but still live: %s", jail, p, banString(b))
			}
		case !live:
			if a.bans > 0 && !(lastBan && gi[1]%4 == 0) {
				t.Errorf("%s: %v banned %d times (acknowledged) but not live", jail, p, a.bans)
			}
		default:
			if b.Count != a.bans && !(b.Count == a.bans+1 && !lastBan) {
				t.Errorf("%s: %v live with Count %d, acknowledged %d", jail, p, b.Count, a.bans)
			}
			if want := fmt.Sprintf("g%d i%d k%d", gi[0], gi[1], b.Count); len(b.Matches) != 1 || b.Matches[0] != want {
				t.Errorf("%s: %v has matches %q, want [%q]", jail, p, b.Matches, want)
			}
			if h.Count != b.Count {
				t.Errorf("%s: %v live with Count %d, history says %d", jail, p, b.Count, h.Count)
			}
		}
		if h.Count != a.bans && !(h.Count == a.bans+1 && !lastBan) {
			t.Errorf("%s: %v history Count %d, acknowledged %d bans", jail, p, h.Count, a.bans)
		}
	}
}

// TestKill9 is the point of the package: a ban whose WaitFor returned
// survives kill -9 at any moment, exactly once, with its history. Several
// children run one after another on the same file, each in a jail of its
// own, each killed at a random moment; after each, the file is reopened and
// every earlier run checked again.
func TestKill9(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bans.db")
	runs := 6
	if testing.Short() {
		runs = 2
	}
	var all []map[[2]int]*acked
	for run := range runs {
		jail := fmt.Sprintf("run%d", run)
		delay := time.Duration(rand.Int64N(int64(400*time.Millisecond))) + time.Millisecond
		got := runKilled(t, path, jail, delay)
		all = append(all, got)
		n := 0
		for _, a := range got {
			n += a.bans
		}
		t.Logf("%s: killed %v after the first ack; %d bans acknowledged over %d prefixes", jail, delay, n, len(got))

		d, err := Open(path, Options{LockTimeout: 10 * time.Second})
		if err != nil {
			t.Fatalf("reopen after kill: %v", err)
		}
		for r, got := range all {
			checkKilled(t, d, fmt.Sprintf("run%d", r), got)
		}
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		if t.Failed() {
			return
		}
	}
}

// TestLocked: a second process cannot open a store another one holds.
func TestLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bans.db")
	cmd := helperCmd(t, "hold", path, "")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	defer func() {
		if !waited {
			stdin.Close()
			cmd.Wait()
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	d, err := Open(path, Options{LockTimeout: 50 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		if d != nil {
			d.Close()
		}
		t.Fatalf("Open of a held store: %v, want ErrLocked", err)
	}
	// Once the holder closes, the store opens.
	stdin.Close()
	waited = true
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	d, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
}
