package server_test

import (
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/logjail"
	"github.com/banserver/banserver/protocol"
	"github.com/banserver/banserver/server"
)

// This file: the log jail commands (cmd_logs.go). The replies are
// fail2ban-server 1.0.2's for the same commands (measured over its
// socket), or banserver's own refusals where it refuses on purpose, said
// so in the case's name.

// fail2ban's <HOST> and <ADDR> after Regex._resolveHostTag.
const (
	addrRE = `\[?(?:(?:::f{4,6}:)?(?P<ip4>(?:\d{1,3}\.){3}\d{1,3})|(?P<ip6>(?:[0-9a-fA-F]{1,4}::?|::){1,7}(?:[0-9a-fA-F]{1,4}|(?<=:):)))\]?`
	hostRE = `(?:` + addrRE + `|(?P<dns>[\w\-.^_]*\w))`
)

// ok0 is the repr of a (0, v) reply; exc of a (1, Class(args...)) one.
func ok0(v any) string { return protocol.Repr(protocol.Tuple{int64(0), v}) }

func exc(class string, args ...any) string {
	return protocol.Repr(protocol.Tuple{int64(1), &protocol.Exception{Class: class, Args: args}})
}

func valueErr(msg string) string { return exc(protocol.ClassValueError, msg) }

// excPrefix wants an exception of class whose message starts with prefix.
func excPrefix(class, prefix string) string { return "exception " + class + " " + prefix }

// startLogJails runs a server whose log jails are a logjail.Manager that
// runs (readers start), failures going to the server's jails; the journal
// is read from an empty directory.
func startLogJails(t *testing.T, jails ...jail.Config) (*daemon, *logjail.Manager) {
	t.Helper()
	var jm atomic.Pointer[jail.Manager]
	lm := logjail.New(logjail.Options{
		Attempt: func(name string, addr netip.Addr, at time.Time, msgs []string) (int, error) {
			return jm.Load().AttemptAt(name, addr, at, msgs)
		},
		JournalDirectory: t.TempDir(),
	})
	d := start(t, server.Options{LogJails: lm}, jails...)
	jm.Store(d.jails)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { lm.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return d, lm
}

// logCase is one row's case: steps sent to a fresh jail J (added with
// backend, polling by default, and stopped after), each reply's repr
// compared with its want (or, for an excPrefix want, the exception's
// class and the start of its message).
type logCase struct {
	name    string
	backend string
	steps   []exchange
}

func x(want string, args ...any) exchange { return exchange{args: args, want: want} }

func runLogCases(t *testing.T, cl *client, cases []logCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cl.t = t
			backend := tc.backend
			if backend == "" {
				backend = "polling"
			}
			if got := cl.replyRepr("add", "J", backend); got != "(0, 'J')" {
				t.Fatalf("add J %s: %s", backend, got)
			}
			defer cl.replyRepr("stop", "J")
			for _, st := range tc.steps {
				if class, prefix, ok := strings.Cut(strings.TrimPrefix(st.want, "exception "), " "); ok && strings.HasPrefix(st.want, "exception ") {
					code, v := cl.cmd(st.args...)
					e, isExc := v.(*protocol.Exception)
					if code != 1 || !isExc || e.Class != class || len(e.Args) != 1 || !strings.HasPrefix(e.Args[0].(string), prefix) {
						t.Errorf("%s\n got (%d, %s)\nwant %s(%q...)", protocol.Repr(st.args), code, protocol.Repr(v), class, prefix)
					}
					continue
				}
				if got := cl.replyRepr(st.args...); got != st.want {
					t.Errorf("%s\n got %s\nwant %s", protocol.Repr(st.args), got, st.want)
				}
			}
		})
	}
}

// logFiles makes two empty log files, a directory, a broken symlink and
// a file whose name has glob characters, in a temporary directory.
func logFiles(t *testing.T) (f1, f2, dir, broken, globby string) {
	t.Helper()
	dir = t.TempDir()
	f1, f2, globby = filepath.Join(dir, "one.log"), filepath.Join(dir, "two.log"), filepath.Join(dir, "a[1].log")
	for _, f := range []string{f1, f2, globby} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	broken = filepath.Join(dir, "broken.slink")
	if err := os.Symlink(filepath.Join(dir, "nowhere"), broken); err != nil {
		t.Fatal(err)
	}
	return f1, f2, dir, broken, globby
}

func TestLogPathCommands(t *testing.T) {
	d, _ := startLogJails(t)
	cl := dial(t, d.sock)
	f1, f2, dir, broken, globby := logFiles(t)
	missing := filepath.Join(dir, "missing.log")
	runLogCases(t, cl, []logCase{
		{name: "get logpath of a new jail", steps: []exchange{x(ok0([]any{}), "get", "J", "logpath")}},
		{name: "addlogpath", steps: []exchange{
			x(ok0([]any{f1}), "set", "J", "addlogpath", f1),
			x(ok0([]any{f1}), "get", "J", "logpath"),
		}},
		{name: "addlogpath twice keeps one", steps: []exchange{
			x(ok0([]any{f1}), "set", "J", "addlogpath", f1),
			x(ok0([]any{f1}), "set", "J", "addlogpath", f1, "tail"),
		}},
		{name: "addlogpath in order", steps: []exchange{
			x(ok0([]any{f2}), "set", "J", "addlogpath", f2, "tail"),
			x(ok0([]any{f2, f1}), "set", "J", "addlogpath", f1, "HEAD"),
		}},
		{name: "addlogpath bad mode", steps: []exchange{x(valueErr("File option must be 'head' or 'tail'"), "set", "J", "addlogpath", f1, "badger")}},
		{name: "addlogpath more words", steps: []exchange{x(valueErr("Only one file can be added at a time"), "set", "J", "addlogpath", f1, f1, f1)}},
		{name: "addlogpath without file", steps: []exchange{x(exc(protocol.ClassIndexError, "list index out of range"), "set", "J", "addlogpath")}},
		{name: "addlogpath missing file", steps: []exchange{
			x(exc("builtins.FileNotFoundError", int64(2), "No such file or directory", missing), "set", "J", "addlogpath", missing),
			x(ok0([]any{}), "get", "J", "logpath"),
		}},
		{name: "addlogpath broken symlink", steps: []exchange{x(exc("builtins.FileNotFoundError", int64(2), "No such file or directory", broken), "set", "J", "addlogpath", broken)}},
		{name: "addlogpath directory", steps: []exchange{x(exc("builtins.IsADirectoryError", int64(21), "Is a directory", dir), "set", "J", "addlogpath", dir)}},
		{name: "addlogpath glob characters refused (banserver)", steps: []exchange{x(valueErr("log path "+protocol.ReprString(globby)+" has *, ?, [ or \\, which banserver reads as a glob: add the file by a path without them"), "set", "J", "addlogpath", globby)}},
		{name: "addlogpath of an int is fail2ban's TypeError, not a descriptor", steps: []exchange{x(exc("builtins.TypeError", "expected string or bytes-like object, got 'int'"), "set", "J", "addlogpath", int64(5))}},
		{name: "addlogpath unknown jail", steps: []exchange{x(exc(protocol.ClassUnknownJail, "nojail"), "set", "nojail", "addlogpath", f1)}},
		{name: "addlogpath on the journal is ignored", backend: "systemd", steps: []exchange{
			x(ok0([]any{}), "set", "J", "addlogpath", f1),
			x(ok0([]any{}), "get", "J", "logpath"),
		}},
		{name: "dellogpath", steps: []exchange{
			x(ok0([]any{f1}), "set", "J", "addlogpath", f1),
			x(ok0([]any{f1, f2}), "set", "J", "addlogpath", f2),
			x(ok0([]any{f2}), "set", "J", "dellogpath", f1),
		}},
		{name: "dellogpath of a path not there", steps: []exchange{
			x(ok0([]any{f1}), "set", "J", "addlogpath", f1),
			x(ok0([]any{f1}), "set", "J", "dellogpath", f2),
		}},
		{name: "dellogpath unknown jail", steps: []exchange{x(exc(protocol.ClassUnknownJail, "nojail"), "set", "nojail", "dellogpath", f1)}},
		{name: "get logpath unknown jail", steps: []exchange{x(exc(protocol.ClassUnknownJail, "nojail"), "get", "nojail", "logpath")}},
	})
}

func TestRegexCommands(t *testing.T) {
	d, _ := startLogJails(t)
	cl := dial(t, d.sock)
	const mlfid = `^<F-MLFID>\S+</F-MLFID> <F-CONTENT>.+</F-CONTENT>$`
	runLogCases(t, cl, []logCase{
		{name: "get failregex of a new jail", steps: []exchange{x(ok0([]any{}), "get", "J", "failregex")}},
		{name: "addfailregex resolves HOST", steps: []exchange{
			x(ok0([]any{"auth failure from " + hostRE}), "set", "J", "addfailregex", "auth failure from <HOST>"),
			x(ok0([]any{"auth failure from " + hostRE}), "get", "J", "failregex"),
		}},
		{name: "addfailregex with usedns no", steps: []exchange{
			x(ok0("no"), "set", "J", "usedns", "no"),
			x(ok0([]any{"bad token " + addrRE}), "set", "J", "addfailregex", "bad token <HOST>"),
		}},
		{name: "addfailregex F-ID", steps: []exchange{x(ok0([]any{`^(?P<fid>\S+) failed`}), "set", "J", "addfailregex", `^<F-ID>\S+</F-ID> failed`)}},
		{name: "addfailregex without host", steps: []exchange{
			x(valueErr("No failure-id group in 'nothing to ban'"), "set", "J", "addfailregex", "nothing to ban"),
			x(ok0([]any{}), "get", "J", "failregex"),
		}},
		{name: "addfailregex takes the prefregex's id", steps: []exchange{
			x(ok0(`^(?P<mlfid>\S+) (?P<content>.+)$`), "set", "J", "prefregex", mlfid),
			x(ok0([]any{"^session closed"}), "set", "J", "addfailregex", "^session closed"),
		}},
		{name: "addfailregex empty", steps: []exchange{x(valueErr("Cannot add empty regex"), "set", "J", "addfailregex", " ")}},
		{name: "addfailregex that does not compile", steps: []exchange{x(valueErr("Unable to compile regular expression 'x [y "+hostRE+"':\nunbalanced parenthesis at position 94"), "set", "J", "addfailregex", "x [y <HOST>")}},
		{name: "addfailregex of an int", steps: []exchange{x(exc("builtins.TypeError", "expected string or bytes-like object, got 'int'"), "set", "J", "addfailregex", int64(654))}},
		{name: "addfailregex unknown jail", steps: []exchange{x(exc(protocol.ClassUnknownJail, "nojail"), "set", "nojail", "addfailregex", "x <HOST>")}},
		{name: "multi-set addfailregex", steps: []exchange{
			x(ok0(true), "multi-set", "J", "addfailregex", []any{"a <HOST>", "b <ADDR>"}),
			x(ok0([]any{"a " + hostRE, "b " + addrRE}), "get", "J", "failregex"),
		}},
		{name: "multi-set addfailregex adds all or none (banserver)", steps: []exchange{
			x(valueErr("No failure-id group in 'no host'"), "multi-set", "J", "addfailregex", []any{"a <HOST>", "no host"}),
			x(ok0([]any{}), "get", "J", "failregex"),
		}},
		{name: "multi-set addfailregex of a string (banserver)", steps: []exchange{x(valueErr("multi-set addfailregex takes a list of regexes"), "multi-set", "J", "addfailregex", "a <HOST>")}},
		{name: "multi-set addfailregex of an int item", steps: []exchange{x(exc("builtins.TypeError", "expected string or bytes-like object, got 'int'"), "multi-set", "J", "addfailregex", []any{"a <HOST>", int64(5)})}},
		{name: "multi-set of another setting is the set", steps: []exchange{x(ok0(int64(3)), "multi-set", "J", "maxretry", "3")}},
		{name: "multi-set of an unknown setting", steps: []exchange{x(exc(protocol.ClassException, "Invalid command 'nosuch' (no set action or not yet implemented)"), "multi-set", "J", "nosuch", "3")}},
		{name: "multi-set unknown jail", steps: []exchange{x(exc(protocol.ClassUnknownJail, "nojail"), "multi-set", "nojail", "addfailregex", []any{"x <HOST>"})}},
		{name: "delfailregex by index", steps: []exchange{
			x(ok0(true), "multi-set", "J", "addfailregex", []any{"a <ADDR>", "b <ADDR>", "c <ADDR>"}),
			x(ok0([]any{"a " + addrRE, "c " + addrRE}), "set", "J", "delfailregex", "1"),
			x(ok0([]any{"a " + addrRE}), "set", "J", "delfailregex", int64(-1)),
			x(ok0([]any{"a " + addrRE}), "set", "J", "delfailregex", "9"),
			x(ok0([]any{}), "set", "J", "delfailregex", 0),
		}},
		{name: "delfailregex Duck", steps: []exchange{x(valueErr("invalid literal for int() with base 10: 'Duck'"), "set", "J", "delfailregex", "Duck")}},
		{name: "addignoreregex needs no host", steps: []exchange{
			x(ok0([]any{"user john"}), "set", "J", "addignoreregex", "user john"),
			x(ok0([]any{"user john", "from " + hostRE}), "set", "J", "addignoreregex", "from <HOST>"),
			x(ok0([]any{"user john", "from " + hostRE}), "get", "J", "ignoreregex"),
			x(ok0([]any{"from " + hostRE}), "set", "J", "delignoreregex", "0"),
		}},
		{name: "addignoreregex that does not compile", steps: []exchange{x(valueErr("Unable to compile regular expression 'x [y':\nunterminated character set at position 2"), "set", "J", "addignoreregex", "x [y")}},
		{name: "multi-set addignoreregex", steps: []exchange{
			x(ok0(true), "multi-set", "J", "addignoreregex", []any{"x", "y"}),
			x(ok0([]any{"x", "y"}), "get", "J", "ignoreregex"),
		}},
		{name: "get prefregex of a new jail", steps: []exchange{x(ok0(""), "get", "J", "prefregex")}},
		{name: "prefregex", steps: []exchange{
			x(ok0("^Test (?P<content>.+)$"), "set", "J", "prefregex", "^Test <F-CONTENT>.+</F-CONTENT>$"),
			x(ok0("^Test (?P<content>.+)$"), "get", "J", "prefregex"),
			x(valueErr("Unable to compile regular expression 'bad [':\nunterminated character set at position 4"), "set", "J", "prefregex", "bad ["),
			x(ok0("^Test (?P<content>.+)$"), "get", "J", "prefregex"),
			x(ok0(""), "set", "J", "prefregex", ""),
		}},
		{name: "prefregex of an int", steps: []exchange{x(exc("builtins.TypeError", "expected string or bytes-like object, got 'int'"), "set", "J", "prefregex", int64(5))}},
	})
}

func TestDateAndNumberCommands(t *testing.T) {
	d, _ := startLogJails(t)
	cl := dial(t, d.sock)
	deflt := ok0(protocol.Tuple{nil, "Default Detectors"})
	runLogCases(t, cl, []logCase{
		{name: "get datepattern of a new jail", steps: []exchange{x(deflt, "get", "J", "datepattern")}},
		{name: "datepattern", steps: []exchange{
			x(ok0(protocol.Tuple{"%Y-%m-%d %H:%M:%S", "Year-Month-Day 24hour:Minute:Second"}), "set", "J", "datepattern", "%Y-%m-%d %H:%M:%S"),
			x(ok0(protocol.Tuple{"%Y-%m-%d %H:%M:%S", "Year-Month-Day 24hour:Minute:Second"}), "get", "J", "datepattern"),
		}},
		{name: "datepattern Epoch", steps: []exchange{x(ok0(protocol.Tuple{nil, "Epoch"}), "set", "J", "datepattern", "Epoch")}},
		{name: "datepattern ^Epoch", steps: []exchange{x(ok0(protocol.Tuple{nil, "{^LN-BEG}Epoch"}), "set", "J", "datepattern", "^Epoch")}},
		{name: "datepattern TAI64N", steps: []exchange{x(ok0(protocol.Tuple{nil, "TAI64N"}), "set", "J", "datepattern", "TAI64N")}},
		{name: "datepattern line start", steps: []exchange{x(ok0(protocol.Tuple{"{^LN-BEG}%d/%b/%Y", "{^LN-BEG}Day/MON/Year"}), "set", "J", "datepattern", "{^LN-BEG}%d/%b/%Y")}},
		{name: "datepattern {^LN-BEG} is the defaults", steps: []exchange{x(deflt, "set", "J", "datepattern", "{^LN-BEG}")}},
		{name: "datepattern {NONE}", steps: []exchange{x(ok0(protocol.Tuple{"{UNB}^", "^"}), "set", "J", "datepattern", "{NONE}")}},
		{name: "datepattern of two lines answers the first", steps: []exchange{x(ok0(protocol.Tuple{"%H:%M:%S", "24hour:Minute:Second"}), "set", "J", "datepattern", "%H:%M:%S\n%d")}},
		{name: "datepattern empty", steps: []exchange{x(deflt, "set", "J", "datepattern", "")}},
		{name: "datepattern bad code", steps: []exchange{
			x(excPrefix("builtins.TypeError", "Failed to set datepattern '%Cat' (may be an invalid format or unescaped percent char): "), "set", "J", "datepattern", "%Cat"),
			x(deflt, "get", "J", "datepattern"),
		}},
		{name: "datepattern bad regex refused at once (banserver)", steps: []exchange{x(excPrefix("builtins.TypeError", "Failed to set datepattern '[(': "), "set", "J", "datepattern", "[(")}},
		{name: "datepattern unknown jail", steps: []exchange{x(exc(protocol.ClassUnknownJail, "nojail"), "set", "nojail", "datepattern", "Epoch")}},
		{name: "get logtimezone of a new jail", steps: []exchange{x(ok0(nil), "get", "J", "logtimezone")}},
		{name: "logtimezone", steps: []exchange{
			x(ok0("UTC+0400"), "set", "J", "logtimezone", "UTC+0400"),
			x(valueErr("Unknown or unsupported time zone: 'Europe/Berlin'"), "set", "J", "logtimezone", "Europe/Berlin"),
			x(ok0("UTC+0400"), "get", "J", "logtimezone"),
			x(ok0("CET"), "set", "J", "logtimezone", "CET"),
		}},
		{name: "logtimezone lower case", steps: []exchange{x(valueErr("Unknown or unsupported time zone: 'utc'"), "set", "J", "logtimezone", "utc")}},
		{name: "logtimezone empty", steps: []exchange{
			x(ok0(""), "set", "J", "logtimezone", ""),
			x(ok0(""), "get", "J", "logtimezone"),
		}},
		{name: "get maxlines of a new jail", steps: []exchange{x(ok0(int64(1)), "get", "J", "maxlines")}},
		{name: "maxlines", steps: []exchange{
			x(ok0(int64(5)), "set", "J", "maxlines", "5"),
			x(ok0(int64(7)), "set", "J", "maxlines", " 7 "),
			x(ok0(int64(2)), "set", "J", "maxlines", int64(2)),
			x(ok0(int64(5)), "set", "J", "maxlines", 5.5),
			x(ok0(int64(10)), "set", "J", "maxlines", "1_0"),
			x(ok0(int64(10)), "get", "J", "maxlines"),
		}},
		{name: "maxlines -2", steps: []exchange{
			x(valueErr("maxlines must be integer greater than zero"), "set", "J", "maxlines", "-2"),
			x(ok0(int64(1)), "get", "J", "maxlines"),
		}},
		{name: "maxlines Duck", steps: []exchange{x(valueErr("invalid literal for int() with base 10: 'Duck'"), "set", "J", "maxlines", "Duck")}},
		{name: "maxlines over 1000 (banserver)", steps: []exchange{x(valueErr("maxlines 1001: banserver takes 1 to 1000 lines"), "set", "J", "maxlines", "1001")}},
		{name: "maxlines unknown jail", steps: []exchange{x(exc(protocol.ClassUnknownJail, "nojail"), "set", "nojail", "maxlines", "2")}},
		{name: "get maxmatches: what the jail keeps (banserver)", steps: []exchange{x(ok0(int64(10)), "get", "J", "maxmatches")}},
		{name: "maxmatches", steps: []exchange{
			x(ok0(int64(5)), "set", "J", "maxmatches", "5"),
			x(ok0(int64(-2)), "set", "J", "maxmatches", "-2"),
			x(valueErr("invalid literal for int() with base 10: 'Duck'"), "set", "J", "maxmatches", "Duck"),
			x(ok0(int64(-2)), "get", "J", "maxmatches"),
			x(ok0(int64(1)), "set", "J", "maxmatches", true),
		}},
		{name: "maxmatches unknown jail", steps: []exchange{x(exc(protocol.ClassUnknownJail, "nojail"), "set", "nojail", "maxmatches", "5")}},
	})
}

// f2bPreferredEncoding is fail2ban's PREFER_ENC in this environment: what
// it answers for logencoding auto.
func f2bPreferredEncoding(t *testing.T) string {
	t.Helper()
	out, err := exec.Command(debianPython(t), "-c", "from fail2ban.helpers import PREFER_ENC; print(PREFER_ENC)").Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	return strings.TrimSpace(string(out))
}

func TestEncodingDNSCommands(t *testing.T) {
	pref := f2bPreferredEncoding(t)
	d, _ := startLogJails(t)
	cl := dial(t, d.sock)
	unknown := func(v string) string {
		return exc("builtins.LookupError", "unknown encoding: "+v+" (banserver reads auto, utf-8, latin-1 and ascii)")
	}
	runLogCases(t, cl, []logCase{
		{name: "get logencoding of a new jail is the locale's", steps: []exchange{x(ok0(pref), "get", "J", "logencoding")}},
		{name: "logencoding", steps: []exchange{
			x(ok0("UTF-8"), "set", "J", "logencoding", "UTF-8"),
			x(ok0("ascii"), "set", "J", "logencoding", "ascii"),
			x(ok0("latin-1"), "set", "J", "logencoding", "latin-1"),
			x(ok0("utf8"), "set", "J", "logencoding", "utf8"),
			x(ok0("utf8"), "get", "J", "logencoding"),
			x(ok0(pref), "set", "J", "logencoding", "auto"),
			x(ok0(pref), "set", "J", "logencoding", "AUTO"),
		}},
		{name: "logencoding Monkey", steps: []exchange{
			x(unknown("Monkey"), "set", "J", "logencoding", "Monkey"),
			x(ok0(pref), "get", "J", "logencoding"),
		}},
		{name: "logencoding empty", steps: []exchange{x(unknown(""), "set", "J", "logencoding", "")}},
		{name: "logencoding Python knows, banserver does not", steps: []exchange{x(unknown("cp1252"), "set", "J", "logencoding", "cp1252")}},
		{name: "logencoding of an int", steps: []exchange{x(exc("builtins.AttributeError", "'int' object has no attribute 'lower'"), "set", "J", "logencoding", int64(5))}},
		{name: "get usedns of a new jail", steps: []exchange{x(ok0("warn"), "get", "J", "usedns")}},
		{name: "usedns", steps: []exchange{
			x(ok0("yes"), "set", "J", "usedns", "YES"),
			x(ok0("raw"), "set", "J", "usedns", "raw"),
			x(ok0("raw"), "get", "J", "usedns"),
			x(ok0("no"), "set", "J", "usedns", "Fish"),
			x(ok0("warn"), "set", "J", "usedns", "warn"),
			x(ok0("no"), "set", "J", "usedns", ""),
		}},
		{name: "usedns of a bool", steps: []exchange{
			x(ok0("yes"), "set", "J", "usedns", true),
			x(ok0("no"), "set", "J", "usedns", false),
		}},
		{name: "usedns of an int", steps: []exchange{x(exc("builtins.AttributeError", "'int' object has no attribute 'lower'"), "set", "J", "usedns", int64(5))}},
		{name: "usedns unknown jail", steps: []exchange{x(exc(protocol.ClassUnknownJail, "nojail"), "set", "nojail", "usedns", "no")}},
		{name: "get ignorecommand of a new jail", steps: []exchange{x(ok0(false), "get", "J", "ignorecommand")}},
		{name: "ignorecommand empty", steps: []exchange{
			x(ok0(""), "set", "J", "ignorecommand", ""),
			x(ok0(""), "get", "J", "ignorecommand"),
		}},
		{name: "ignorecommand refused (banserver)", steps: []exchange{
			x(valueErr("ignorecommand '/bin/true <ip>' refused: banserver never runs commands; use ignoreip (set J addignoreip), or an empty ignorecommand"), "set", "J", "ignorecommand", "/bin/true <ip>"),
			x(ok0(false), "get", "J", "ignorecommand"),
		}},
		{name: "ignorecommand unknown jail", steps: []exchange{x(exc(protocol.ClassUnknownJail, "nojail"), "set", "nojail", "ignorecommand", "")}},
	})
}

func TestJournalMatchCommands(t *testing.T) {
	d, _ := startLogJails(t)
	cl := dial(t, d.sock)
	const (
		unit = "_SYSTEMD_UNIT=api.service"
		comm = "_COMM=api"
		host = "_HOSTNAME=host.example"
	)
	groups := func(gs ...[]any) string { return ok0(append([]any{}, toAny(gs)...)) }
	runLogCases(t, cl, []logCase{
		{name: "get journalmatch of a new jail", backend: "systemd", steps: []exchange{x(groups(), "get", "J", "journalmatch")}},
		{name: "addjournalmatch", backend: "systemd", steps: []exchange{
			x(groups([]any{unit}), "set", "J", "addjournalmatch", unit),
			x(groups([]any{unit}, []any{comm}), "set", "J", "addjournalmatch", comm),
			x(groups([]any{unit}, []any{comm}), "get", "J", "journalmatch"),
			x(groups([]any{comm}), "set", "J", "deljournalmatch", unit),
		}},
		{name: "addjournalmatch twice", backend: "systemd", steps: []exchange{
			x(groups([]any{comm}), "set", "J", "addjournalmatch", comm),
			x(groups([]any{comm}, []any{comm}), "set", "J", "addjournalmatch", comm),
			x(groups([]any{comm}), "set", "J", "deljournalmatch", comm),
			x(groups(), "set", "J", "deljournalmatch", comm),
		}},
		{name: "addjournalmatch groups", backend: "systemd", steps: []exchange{
			x(groups([]any{comm}, []any{unit, host}), "set", "J", "addjournalmatch", comm, "+", unit, host),
			x(groups([]any{comm}), "set", "J", "deljournalmatch", unit, host),
		}},
		{name: "addjournalmatch with blanks", backend: "systemd", steps: []exchange{
			x(groups([]any{"MESSAGE=it's a test"}), "set", "J", "addjournalmatch", "MESSAGE=it's a test"),
			x(groups([]any{"MESSAGE=it's a test"}), "get", "J", "journalmatch"),
		}},
		{name: "addjournalmatch invalid", backend: "systemd", steps: []exchange{
			x(valueErr("Invalid journal match \"This isn't valid!\": want FIELD=VALUE, FIELD of A-Z, 0-9 and _"), "set", "J", "addjournalmatch", "This isn't valid!"),
			x(groups(), "get", "J", "journalmatch"),
		}},
		{name: "addjournalmatch lone +", backend: "systemd", steps: []exchange{x(valueErr("Invalid journal match '+ _COMM=api': \"+\" must separate two groups of FIELD=VALUE"), "set", "J", "addjournalmatch", "+", comm)}},
		{name: "deljournalmatch not there", backend: "systemd", steps: []exchange{x(valueErr("Match ['FIELD=NotPresent'] not found"), "set", "J", "deljournalmatch", "FIELD=NotPresent")}},
		{name: "deljournalmatch of nothing", backend: "systemd", steps: []exchange{x(valueErr("Match [] not found"), "set", "J", "deljournalmatch")}},
		{name: "journal match with options", backend: "systemd[journalflags=2]", steps: []exchange{x(groups([]any{unit}), "set", "J", "addjournalmatch", unit)}},
		{name: "addjournalmatch on a file jail is ignored", steps: []exchange{
			x(groups(), "set", "J", "addjournalmatch", unit),
			x(groups(), "get", "J", "journalmatch"),
			x(groups(), "set", "J", "deljournalmatch", unit),
		}},
		{name: "status shows the journal matches", backend: "systemd", steps: []exchange{
			x(groups([]any{comm}, []any{unit, host}), "set", "J", "addjournalmatch", comm, "+", unit, host),
			x(ok0([]any{
				protocol.Tuple{"Filter", []any{protocol.Tuple{"Currently failed", int64(0)}, protocol.Tuple{"Total failed", int64(0)},
					protocol.Tuple{"Journal matches", []any{comm + " + " + unit + " " + host}}}},
				protocol.Tuple{"Actions", []any{protocol.Tuple{"Currently banned", int64(0)}, protocol.Tuple{"Total banned", int64(0)}, protocol.Tuple{"Banned IP list", []any{}}}},
			}), "status", "J"),
		}},
		{name: "addjournalmatch unknown jail", steps: []exchange{x(exc(protocol.ClassUnknownJail, "nojail"), "set", "nojail", "addjournalmatch", unit)}},
	})
}

func toAny(gs [][]any) []any {
	out := make([]any, len(gs))
	for i, g := range gs {
		out[i] = g
	}
	return out
}

// TestLogCommandsWithoutLogJails: a server without log readers answers
// every log command so; status keeps fail2ban's empty file list.
func TestLogCommandsWithoutLogJails(t *testing.T) {
	d := start(t, server.Options{}, apiJail(3))
	cl := dial(t, d.sock)
	none := exc(protocol.ClassException, "log jails are not available: this server reads no logs")
	for _, args := range [][]any{
		{"set", "api", "addlogpath", "/var/log/auth.log"}, {"set", "api", "dellogpath", "/var/log/auth.log"}, {"get", "api", "logpath"},
		{"set", "api", "addfailregex", "x <HOST>"}, {"multi-set", "api", "addfailregex", []any{"x <HOST>"}}, {"set", "api", "delfailregex", "0"}, {"get", "api", "failregex"},
		{"set", "api", "addignoreregex", "x"}, {"set", "api", "delignoreregex", "0"}, {"get", "api", "ignoreregex"},
		{"set", "api", "prefregex", "x"}, {"get", "api", "prefregex"}, {"set", "api", "datepattern", "Epoch"}, {"get", "api", "datepattern"},
		{"set", "api", "logtimezone", "UTC"}, {"get", "api", "logtimezone"}, {"set", "api", "maxlines", "2"}, {"get", "api", "maxlines"},
		{"set", "api", "logencoding", "utf-8"}, {"get", "api", "logencoding"}, {"set", "api", "usedns", "no"}, {"get", "api", "usedns"},
		{"set", "api", "addjournalmatch", "_COMM=x"}, {"set", "api", "deljournalmatch", "_COMM=x"}, {"get", "api", "journalmatch"},
	} {
		if got := cl.replyRepr(args...); got != none {
			t.Errorf("%s: %s, want %s", protocol.Repr(args), got, none)
		}
	}
	runExchanges(t, cl, []exchange{
		{[]any{"set", "api", "maxmatches", "3"}, ok0(int64(3))},
		{[]any{"set", "api", "ignorecommand", ""}, ok0("")},
		{[]any{"status", "api", "short"}, "(0, [('Filter', [('Currently failed', 0), ('Total failed', 0), ('File list', [])]), ('Actions', [('Currently banned', 0), ('Total banned', 0)])])"},
	})
}

// waitStatus polls status JAIL until its repr contains want.
func waitStatus(t *testing.T, cl *client, name, want string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		got := cl.replyRepr("status", name)
		if strings.Contains(got, want) {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("status %s: %s\nwant it to contain %s", name, got, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestStatusFileList: a started jail reading a file lists it in status,
// bans from its lines, and forgets it at stop.
func TestStatusFileList(t *testing.T) {
	d, lm := startLogJails(t)
	cl := dial(t, d.sock)
	f1, _, _, _, _ := logFiles(t)
	runExchanges(t, cl, []exchange{
		{[]any{"add", "web", "polling"}, "(0, 'web')"},
		{[]any{"set", "web", "maxretry", "2"}, "(0, 2)"},
		{[]any{"set", "web", "addlogpath", f1, "head"}, ok0([]any{f1})},
		{[]any{"set", "web", "datepattern", "{^LN-BEG}Epoch"}, ok0(protocol.Tuple{nil, "{^LN-BEG}Epoch"})},
		{[]any{"set", "web", "addfailregex", "^ bad token from <ADDR>$"}, ok0([]any{"^ bad token from " + addrRE + "$"})},
		{[]any{"start", "web"}, "(0, None)"},
	})
	waitStatus(t, cl, "web", protocol.Repr(protocol.Tuple{"File list", []any{f1}}))
	now := strconv.FormatInt(time.Now().Unix(), 10)
	line := func(ip string) string { return now + " bad token from " + ip + "\n" }
	f, err := os.OpenFile(f1, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(line("192.0.2.40") + line("192.0.2.40"))
	f.Close()
	waitStatus(t, cl, "web", "('Banned IP list', ['192.0.2.40'])")
	runExchanges(t, cl, []exchange{{[]any{"stop", "web"}, "(0, None)"}})
	if _, ok := lm.Settings("web"); ok {
		t.Error("the log jail outlived its jail")
	}
}

// filterFile is a filter of our own, in fail2ban's format.
const filterFile = `[Definition]
prefregex = ^<F-MLFID>svc\[\d+\]:</F-MLFID> <F-CONTENT>.+</F-CONTENT>$
failregex = ^bad password from <HOST>$
            ^bad user from <ADDR>$
ignoreregex = ^from the office$
datepattern = {^LN-BEG}%%Y-%%m-%%d %%H:%%M:%%S
maxlines = 2
journalmatch = _SYSTEMD_UNIT=svc.service + _COMM=svc
`

// TestFilterFileJail: a jail of the configuration reading a filter file
// answers the file's values, and a change over the socket starts from
// them (fail2ban's jail holds the file's values as its own).
func TestFilterFileJail(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "svc.conf"), []byte(filterFile), 0o644); err != nil {
		t.Fatal(err)
	}
	d, lm := startLogJails(t, apiJail(3), jail.Config{Name: "jrnl", MaxRetry: 3, FindTime: time.Minute, BanTime: time.Hour})
	for name, backend := range map[string]string{"api": "polling", "jrnl": "systemd"} {
		if err := lm.Configure(name, logjail.Settings{Filter: "svc", FilterDirs: []string{dir}, Backend: backend}); err != nil {
			t.Fatal(err)
		}
	}
	cl := dial(t, d.sock)
	pass, user := "^bad password from "+hostRE+"$", "^bad user from "+addrRE+"$"
	runExchanges(t, cl, []exchange{
		{[]any{"get", "api", "failregex"}, ok0([]any{pass, user})},
		{[]any{"get", "api", "ignoreregex"}, ok0([]any{"^from the office$"})},
		{[]any{"get", "api", "prefregex"}, ok0(`^(?P<mlfid>svc\[\d+\]:) (?P<content>.+)$`)},
		{[]any{"get", "api", "datepattern"}, ok0(protocol.Tuple{"{^LN-BEG}%Y-%m-%d %H:%M:%S", "{^LN-BEG}Year-Month-Day 24hour:Minute:Second"})},
		{[]any{"get", "api", "maxlines"}, ok0(int64(2))},
		{[]any{"set", "api", "addfailregex", "^locked out <HOST>$"}, ok0([]any{pass, user, "^locked out " + hostRE + "$"})},
		{[]any{"set", "api", "delfailregex", "0"}, ok0([]any{user, "^locked out " + hostRE + "$"})},
		{[]any{"set", "api", "delfailregex", "0"}, ok0([]any{"^locked out " + hostRE + "$"})},
		{[]any{"set", "api", "delfailregex", "0"}, valueErr("cannot remove the last failregex of a jail whose filter 'svc' has its own: banserver would go back to the filter's")},
		{[]any{"get", "api", "failregex"}, ok0([]any{"^locked out " + hostRE + "$"})},
		{[]any{"set", "api", "delignoreregex", "0"}, valueErr("cannot remove the last ignoreregex of a jail whose filter 'svc' has its own: banserver would go back to the filter's")},
		{[]any{"set", "api", "maxlines", "3"}, ok0(int64(3))},
		{[]any{"get", "jrnl", "journalmatch"}, ok0([]any{[]any{"_SYSTEMD_UNIT=svc.service"}, []any{"_COMM=svc"}})},
		{[]any{"set", "jrnl", "deljournalmatch", "_COMM=svc"}, ok0([]any{[]any{"_SYSTEMD_UNIT=svc.service"}})},
		{[]any{"set", "jrnl", "deljournalmatch", "_SYSTEMD_UNIT=svc.service"}, valueErr("cannot remove the last journal match of a jail whose filter 'svc' has its own: banserver would go back to the filter's")},
		{[]any{"set", "jrnl", "addjournalmatch", "_UID=0"}, ok0([]any{[]any{"_SYSTEMD_UNIT=svc.service"}, []any{"_UID=0"}})},
	})
	ls, _ := lm.Settings("api")
	if ls.Filter != "svc" || ls.MaxLines != 3 || len(ls.FailRegex) != 1 {
		t.Errorf("settings after the changes: %+v", ls)
	}
}
