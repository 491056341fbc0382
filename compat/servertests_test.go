package compat

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/banserver/banserver/testenv"
)

// fail2ban 1.0.2's own server tests (fail2ban/tests/servertestcase.py,
// classes Transmitter and TransmitterLogging: 52 tests), imported from the
// installed Debian package by testdata/f2b_servertests.py and run with
// every command sent over a server's socket. Every test is named in
// exactly one of the tables below.
//
//	go test ./compat -run TestFail2banServerTests -v   # root; about 15 s
//
// By hand, against any server logging to LOG:
//
//	/usr/bin/python3 compat/testdata/f2b_servertests.py --socket SOCK --log LOG [--only testPing] [--no-stop] [--trace]

// f2bPasses is what fail2ban-server 1.0.2 passes through the harness: a
// check of the harness itself.
var f2bPasses = []string{
	"Transmitter.testAction",
	"Transmitter.testAddJail",
	"Transmitter.testDatabase",
	"Transmitter.testDatePattern",
	"Transmitter.testGetNOK",
	"Transmitter.testJailAttemptIP",
	"Transmitter.testJailBanIP",
	"Transmitter.testJailBanTime",
	"Transmitter.testJailFindTime",
	"Transmitter.testJailIdle",
	"Transmitter.testJailIgnoreCache",
	"Transmitter.testJailIgnoreCommand",
	"Transmitter.testJailIgnoreIP",
	"Transmitter.testJailIgnoreRegex",
	"Transmitter.testJailLogEncoding",
	"Transmitter.testJailLogPath",
	"Transmitter.testJailLogPathBrokenSymlink",
	"Transmitter.testJailLogPathInvalidFile",
	"Transmitter.testJailMaxLines",
	"Transmitter.testJailMaxMatches",
	"Transmitter.testJailMaxRetry",
	"Transmitter.testJailPrefRegex",
	"Transmitter.testJailRegex",
	"Transmitter.testJailStatus",
	"Transmitter.testJailStatusBasic",
	"Transmitter.testJailStatusBasicKwarg",
	"Transmitter.testJailStatusCymru",
	"Transmitter.testJailUseDNS",
	"Transmitter.testLogTimeZone",
	"Transmitter.testNOK",
	"Transmitter.testPing",
	"Transmitter.testPythonActionMethodsAndProperties",
	"Transmitter.testSetNOK",
	"Transmitter.testSleep",
	"Transmitter.testStartStopAllJail",
	"Transmitter.testStartStopJail",
	"Transmitter.testStatus",
	"Transmitter.testStatusNOK",
	"Transmitter.testStopServer",
	"Transmitter.testVersion",
	"TransmitterLogging.testBanTimeIncr",
	"TransmitterLogging.testLogLevel",
	"TransmitterLogging.testLogTarget",
	"TransmitterLogging.testSyslogSocket",
	"TransmitterLogging.testSyslogSocketNOK",
}

// wantPass is what banserver must pass. A test that starts passing is
// added here (the test says so).
var wantPass = []string{
	"Transmitter.testAddJail",
	"Transmitter.testDatePattern",
	"Transmitter.testGetNOK",
	"Transmitter.testJailIdle",
	"Transmitter.testJailIgnoreIP",
	"Transmitter.testJailIgnoreRegex",
	"Transmitter.testJailLogEncoding",
	"Transmitter.testJailLogPath",
	"Transmitter.testJailLogPathBrokenSymlink",
	"Transmitter.testJailLogPathInvalidFile",
	"Transmitter.testJailMaxLines",
	"Transmitter.testJailMaxMatches",
	"Transmitter.testJailPrefRegex",
	"Transmitter.testJailRegex",
	"Transmitter.testJailStatus",
	"Transmitter.testJailStatusBasic",
	"Transmitter.testJailStatusBasicKwarg",
	"Transmitter.testJailStatusCymru",
	"Transmitter.testJailUseDNS",
	"Transmitter.testJournalFlagsMatch", // see liftedSkips
	"Transmitter.testJournalMatch",      // see liftedSkips
	"Transmitter.testLogTimeZone",
	"Transmitter.testNOK",
	"Transmitter.testPing",
	"Transmitter.testSetNOK",
	"Transmitter.testSleep",
	"Transmitter.testStartStopAllJail",
	"Transmitter.testStartStopJail",
	"Transmitter.testStatus",
	"Transmitter.testStatusNOK",
	"Transmitter.testStopServer",
	"TransmitterLogging.testLogLevel",
	"TransmitterLogging.testLogTarget",
	"TransmitterLogging.testSyslogSocket",
	"TransmitterLogging.testSyslogSocketNOK",
}

// liftedSkips are tests fail2ban skips when a Python module its
// in-process Server would need is missing (python3-systemd, for a jail
// with the systemd backend), with why. Over the socket only the server
// under test needs anything, so for banserver the harness runs them again
// with fail2ban's skip lifted (liftScript) when they were skipped: they
// are in wantPass and must pass either way. fail2ban-server itself needs
// python3-systemd for them, so its run keeps the skip.
var liftedSkips = map[string]string{
	"Transmitter.testJournalMatch":      "skipped by fail2ban without python3-systemd (filtersystemd)",
	"Transmitter.testJournalFlagsMatch": "skipped by fail2ban without python3-systemd (filtersystemd)",
}

// liftScript runs the harness (its path and arguments follow) with
// fail2ban's test module seeing a filtersystemd module: a stand-in, which
// the tests only test for truth before they talk to the server.
const liftScript = `import runpy, sys, types
sys.modules.setdefault("fail2ban.server.filtersystemd", types.ModuleType("fail2ban.server.filtersystemd"))
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
`

// deliberate are the tests banserver does not pass by design, with why.
var deliberate = map[string]string{
	"Transmitter.testAction":                           "shell actions: actionstart/actionban/... cannot be set; actions are built-in names (addaction TestCaseAction is refused)",
	"Transmitter.testPythonActionMethodsAndProperties": "Python actions: addaction with a .py file is refused; nothing from the socket is executed",
	"Transmitter.testJailIgnoreCommand":                "ignorecommand is a shell command: never run",
	"Transmitter.testJailIgnoreCache":                  "ignorecache only caches ignorecommand's answers",
	"Transmitter.testJailBanIP":                        "banip Badger: an invalid address is refused (fail2ban bans any string); also no fail2ban-style 'Ban 192.0.2.1' log line",
	"Transmitter.testJailBanTime":                      "bantime -50: negative ban times other than -1 are refused",
	"Transmitter.testJailFindTime":                     "findtime -60: negative find times other than -1 are refused",
	"Transmitter.testJailMaxRetry":                     "maxretry -2: maxretry is 1..1000",
	"Transmitter.testVersion":                          "the version string is banserver's, not 1.0.2",
	"TransmitterLogging.testBanTimeIncr":               "a Python bantime.formula is refused (only fail2ban's default formula; bantime.multipliers for other curves)",
	"Transmitter.testDatabase":                         "set dbfile: the ban store is chosen at start (--db); without jails banserver answers how to change it instead of switching files (with jails: fail2ban's RuntimeError)",
}

// notYet are the tests banserver does not pass yet, with what is missing.
var notYet = map[string]string{
	// Server commands and details.
	"Transmitter.testJailAttemptIP":          "no fail2ban-style log lines: DEBUG 'Total # of detected failures ... 192.0.2.1:2' and NOTICE '[JAIL] Ban 192.0.2.2'",
	"TransmitterLogging.testLogTargetSYSLOG": "set logtarget SYSLOG (fail2ban skips it without /dev/log)",
}

// inProcess are the tests the harness does not run: they assert on the
// test process itself (see IN_PROCESS in testdata/f2b_servertests.py).
var inProcess = []string{
	"Transmitter.testServerIsNotStarted",
	"Transmitter.testSetIPv6",
	"Transmitter.testJailBanList",
	"TransmitterLogging.testFlushLogs",
}

// testResult is one line of the harness's output.
type testResult struct {
	Test   string      `json:"test"`
	Result string      `json:"result"`
	Reason string      `json:"reason"`
	Last   [][2]string `json:"last"`
}

func (r testResult) String() string {
	var b strings.Builder
	b.WriteString(r.Result + " " + r.Test)
	if r.Reason != "" {
		b.WriteString(": " + r.Reason)
	}
	for _, x := range r.Last {
		b.WriteString("\n    " + x[0] + " -> " + x[1])
	}
	return b.String()
}

// harnessServer is a server the harness runs against, logging to log.
type harnessServer struct {
	sock, log string
	done      chan struct{}
	err       error
}

// startLogged runs cmd in a network namespace of its own (the tests' 192.0.2.x
// addresses must not be this host's: banserver refuses to ban its own
// addresses), with its output appended to log, and waits until it answers.
func startLogged(t *testing.T, name string, cmd *exec.Cmd, sock, log string) *harnessServer {
	t.Helper()
	f, err := os.OpenFile(log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	s := &harnessServer{sock: sock, log: log, done: make(chan struct{})}
	go func() { s.err = cmd.Wait(); close(s.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			if b, err := os.ReadFile(log); err == nil {
				t.Logf("%s log (last 4 KiB):\n%s", name, tail(b, 4096))
			}
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for pingRaw(sock) != nil {
		select {
		case <-s.done:
			t.Fatalf("%s exited before answering: %v", name, s.err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer ping within 20s", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return s
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// harness runs testdata/f2b_servertests.py once with extra arguments and
// returns its results in the order the tests ran.
func harness(t *testing.T, python string, s *harnessServer, args ...string) []testResult {
	t.Helper()
	return harnessVia(t, python, nil, s, args...)
}

// harnessVia is harness with python's arguments before the script's
// path (["-c", liftScript] runs it with fail2ban's skips lifted).
func harnessVia(t *testing.T, python string, pre []string, s *harnessServer, args ...string) []testResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append(append(slices.Clone(pre), filepath.Join("testdata", "f2b_servertests.py"), "--socket", s.sock, "--log", s.log), args...)
	cmd := exec.CommandContext(ctx, python, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("f2b_servertests.py %s: %v\nstderr:\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var out []testResult
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r testResult
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("f2b_servertests.py printed %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// runHarness runs every test against s and returns the results by name, in
// the order they ran. A test of lift that was skipped is run again with
// fail2ban's skip lifted (liftScript), and that result counts. A test of
// mustPass that fails is run once more on its own (testSleep, for one,
// times a round trip and can miss its window on a loaded machine), and
// the second result counts. testStopServer runs last, after the retries,
// and the server must exit.
func runHarness(t *testing.T, python string, s *harnessServer, mustPass map[string]bool, lift map[string]string) (map[string]testResult, []string) {
	t.Helper()
	res := map[string]testResult{}
	var order []string
	add := func(rs []testResult) {
		for _, r := range rs {
			if _, seen := res[r.Test]; !seen {
				order = append(order, r.Test)
			}
			res[r.Test] = r
		}
	}
	add(harness(t, python, s, "--no-stop"))
	var lifted []string
	for _, n := range order {
		if _, ok := lift[n]; ok && res[n].Result == "SKIP" {
			t.Logf("running %s with fail2ban's skip lifted (%s)", n, lift[n])
			lifted = append(lifted, n)
		}
	}
	if len(lifted) > 0 {
		add(harnessVia(t, python, []string{"-c", liftScript}, s, "--no-stop", "--only", strings.Join(lifted, ",")))
	}
	var again []string
	for _, n := range order {
		if mustPass[n] && res[n].Result == "FAIL" {
			t.Logf("retrying %s", res[n])
			again = append(again, n)
		}
	}
	if len(again) > 0 {
		var plain, liftAgain []string
		for _, n := range again {
			if slices.Contains(lifted, n) {
				liftAgain = append(liftAgain, n)
			} else {
				plain = append(plain, n)
			}
		}
		if len(plain) > 0 {
			add(harness(t, python, s, "--no-stop", "--only", strings.Join(plain, ",")))
		}
		if len(liftAgain) > 0 {
			add(harnessVia(t, python, []string{"-c", liftScript}, s, "--no-stop", "--only", strings.Join(liftAgain, ",")))
		}
	}
	add(harness(t, python, s, "--only", stopTest))
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Errorf("the server still runs 20s after %s", stopTest)
	}
	return res, order
}

// stopTest sends "stop": it runs last.
const stopTest = "Transmitter.testStopServer"

// checkTables makes sure every test is in exactly one of banserver's tables.
func checkTables(t *testing.T) map[string]string {
	t.Helper()
	where := map[string]string{}
	put := func(name, table string) {
		if prev, ok := where[name]; ok {
			t.Errorf("%s is in %s and in %s", name, prev, table)
		}
		where[name] = table
	}
	for _, n := range wantPass {
		put(n, "wantPass")
	}
	for n := range deliberate {
		put(n, "deliberate")
	}
	for n := range notYet {
		put(n, "notYet")
	}
	for _, n := range inProcess {
		put(n, "inProcess")
	}
	return where
}

// TestFail2banServerTests runs fail2ban 1.0.2's Transmitter tests over the
// socket against fail2ban-server (which must pass f2bPasses: the harness
// works) and against banserver (which must pass wantPass).
func TestFail2banServerTests(t *testing.T) {
	testenv.Root(t, "fail2ban-server, and a network namespace for each server")
	f2bBin := testenv.Tool(t, "fail2ban-server")
	python := testenv.Tool(t, "/usr/bin/python3") // the interpreter Debian's fail2ban is installed for
	if out, err := exec.Command(python, "-c",
		"import importlib.util, sys; sys.exit(importlib.util.find_spec('fail2ban.tests.servertestcase') is None)").CombinedOutput(); err != nil {
		testenv.Missingf(t, "fail2ban's tests are not importable: %v\n%s", err, out)
	}
	where := checkTables(t)

	t.Run("fail2ban-server", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		sock, log := filepath.Join(dir, "f2b.sock"), filepath.Join(dir, "f2b.log")
		cmd := exec.Command(f2bBin, "--async", "-f", "-x", "-s", sock, "-p", filepath.Join(dir, "f2b.pid"),
			"--logtarget", log, "--loglevel", "DEBUG")
		s := startLogged(t, "fail2ban-server", cmd, sock, log)
		known := map[string]bool{}
		for _, n := range f2bPasses {
			known[n] = true
		}
		res, order := runHarness(t, python, s, known, nil)
		for _, n := range f2bPasses {
			r, ok := res[n]
			if !ok {
				t.Errorf("%s: not reported by the harness", n)
			} else if r.Result != "PASS" {
				t.Errorf("fail2ban-server no longer passes %s (a harness bug?):\n%s", n, r)
			}
		}
		for _, n := range order {
			if r := res[n]; r.Result == "PASS" && !known[n] {
				t.Logf("fail2ban-server also passes %s: add it to f2bPasses", n)
			}
		}
	})

	t.Run("banserver", func(t *testing.T) {
		t.Parallel()
		bin := buildGo(t, "./cmd/banserver")
		dir := t.TempDir()
		cfg := filepath.Join(dir, "empty.yaml")
		if err := os.WriteFile(cfg, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		sock, log := filepath.Join(dir, "ban.sock"), filepath.Join(dir, "ban.log")
		cmd := exec.Command(bin, "--config", cfg, "--socket", sock, "--db", "none")
		s := startLogged(t, "banserver", cmd, sock, log)
		must := map[string]bool{}
		for _, n := range wantPass {
			must[n] = true
		}
		res, order := runHarness(t, python, s, must, liftedSkips)

		var passing []string
		for _, n := range order {
			r := res[n]
			table, ok := where[n]
			switch {
			case !ok:
				t.Errorf("%s is in no table (a new fail2ban test?): add it to wantPass, deliberate or notYet:\n%s", n, r)
			case table == "wantPass" && r.Result != "PASS":
				t.Errorf("banserver must pass %s:\n%s", n, r)
			case table != "wantPass" && r.Result == "PASS":
				t.Errorf("banserver now passes %s: move it from %s to wantPass", n, table)
			case table == "deliberate":
				t.Logf("deliberate (%s): %s", deliberate[n], r)
			case table == "notYet":
				t.Logf("not yet (%s): %s", notYet[n], r)
			}
			if r.Result == "PASS" {
				passing = append(passing, n)
			}
		}
		for n, table := range where {
			if _, ok := res[n]; !ok {
				t.Errorf("%s (in %s) was not reported by the harness", n, table)
			}
		}
		sort.Strings(passing)
		t.Logf("banserver passes %d of %d: %s", len(passing), len(order), strings.Join(passing, " "))
	})
}
