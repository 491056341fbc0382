package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

const (
	exitOK   = 0
	exitFail = 255 // fail2ban-client exits 255 on every failure

	defaultSocket  = "/run/ban.sock"
	defaultTimeout = 30 * time.Second
)

// options are banctl's command-line options.
type options struct {
	socket       string        // -s; empty: from -c, else defaultSocket
	config       string        // -c/--config: banserver's YAML config
	output       string        // -o: "text" or "json"
	verbose      int           // 1 by default, -v adds, -q takes away
	timeout      time.Duration // --timeout; 0 waits forever
	help         bool          // -h/--help
	version      bool          // --version
	versionShort bool          // -V
}

// errUsage marks a command line banctl cannot parse.
var errUsage = errors.New("banctl: bad usage")

// parseArgs reads options up to the first word that is not one, as
// fail2ban-client's getopt does: "unban --all" keeps its --all.
func parseArgs(argv []string) (options, []string, error) {
	o := options{output: "text", verbose: 1, timeout: defaultTimeout}
	bad := func(format string, a ...any) (options, []string, error) {
		return o, nil, fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, a...))
	}
	i := 0
	for ; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		// value fetches an option's argument: attached (-sX, --socket=X)
		// or the next word.
		value := func(name, attached string, hasAttached bool) (string, bool) {
			if hasAttached {
				return attached, true
			}
			if i+1 < len(argv) {
				i++
				return argv[i], true
			}
			return "", false
		}
		if strings.HasPrefix(a, "--") {
			name, val, has := strings.Cut(a[2:], "=")
			switch name {
			case "socket", "config", "output", "timeout":
				v, ok := value(name, val, has)
				if !ok {
					return bad("option --%s needs an argument", name)
				}
				if err := o.set(name, v); err != nil {
					return o, nil, err
				}
			case "help":
				o.help = true
			case "version":
				o.version = true
			default:
				return bad("unknown option --%s", name)
			}
			continue
		}
		// A cluster of short options: -vv, -qs SOCK, -sSOCK.
		for j := 1; j < len(a); j++ {
			switch c := a[j]; c {
			case 's', 'c', 'o':
				name := map[byte]string{'s': "socket", 'c': "config", 'o': "output"}[c]
				v, ok := value(name, a[j+1:], j+1 < len(a))
				if !ok {
					return bad("option -%c needs an argument", c)
				}
				if err := o.set(name, v); err != nil {
					return o, nil, err
				}
				j = len(a)
			case 'v':
				o.verbose++
			case 'q':
				o.verbose--
			case 'h':
				o.help = true
			case 'V':
				o.versionShort = true
			case 'i':
				return bad("interactive mode (-i) is not supported; run one command per call")
			default:
				return bad("unknown option -%c", c)
			}
		}
	}
	return o, argv[i:], nil
}

func (o *options) set(name, v string) error {
	switch name {
	case "socket":
		o.socket = v
	case "config":
		o.config = v
	case "output":
		if v != "text" && v != "json" {
			return fmt.Errorf("%w: -o must be text or json, not %q", errUsage, v)
		}
		o.output = v
	case "timeout":
		d, err := parseSeconds(v)
		if err != nil {
			return fmt.Errorf("%w: --timeout: %v", errUsage, err)
		}
		o.timeout = d
	}
	return nil
}

// parseSeconds reads a number of seconds, fractions allowed; 0 means no
// timeout.
func parseSeconds(s string) (time.Duration, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsNaN(f) || math.IsInf(f, 0) || f > 1e9 {
		return 0, fmt.Errorf("want a number of seconds, got %q", s)
	}
	return time.Duration(f * float64(time.Second)), nil
}

func writeLine(w io.Writer, s string) {
	io.WriteString(w, s+"\n")
}

// usage prints banctl's help. The command list is the part of
// fail2ban-client's that a running server answers.
func usage(w io.Writer) {
	io.WriteString(w, `Usage: banctl [OPTIONS] <COMMAND>

banctl talks to banserver (or fail2ban-server) over its Unix socket and
prints replies as fail2ban-client does.

Options:
    -s, --socket <FILE>     socket path (default: from --config, else `+defaultSocket+`)
    -c, --config <FILE>     banserver's YAML config, to read the socket path from
    -o, --output text|json  output format (default text, as fail2ban-client)
    --timeout <SECONDS>     give up on the server after this long (default 30, 0: never)
    -v                      increase verbosity
    -q                      decrease verbosity
    -h, --help              display this help message
    -V, --version           print the version (-V returns machine-readable short format)

Command (as fail2ban-client; see fail2ban-client --help for the full list):
    ping [TIMEOUT]                          tests if the server is alive
    version                                 return the server version
    status [JAIL [short]]                   server or jail status
    banned [IP ...]                         jails with banned IPs
    unban --all | unban IP ...              unban in all jails
    add JAIL [BACKEND] / start JAIL / stop JAIL / stop
    set JAIL banip|unbanip [--report-absent] IP ...
    set JAIL attempt IP [MSG ...]
    set JAIL maxretry|findtime|bantime VALUE
    set JAIL addignoreip|delignoreip IP     set JAIL ignoreself true|false
    set JAIL idle on|off                    set loglevel LEVEL
    get JAIL banip [SEP|--with-time]        get JAIL banned [IP ...]
    get JAIL maxretry|findtime|bantime|ignoreip|ignoreself|actions
    get loglevel                            echo WORDS / server-status

    set|get JAIL bantime.increment|factor|multipliers|maxtime|rndtime|overalljails VALUE
    set|get JAIL ipv6prefix LEN             get|set dbfile|dbpurgeage|dbmaxmatches

banctl's own:
    import-fail2ban [--db PATH] [--dry-run] [--jail NAME...] FILE
                                            load a fail2ban SQLite database's live
                                            bans and history into banserver's store
                                            (banserver stopped; see import-fail2ban --help)

Not supported (fail2ban-client runs these itself): start, restart, reload, -i.

Exit status: 0 on success, 255 when the server answered with an error or
could not be reached.
`)
}
