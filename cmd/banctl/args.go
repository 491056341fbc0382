package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/banserver/banserver/config"
)

const (
	exitOK   = 0
	exitFail = 255 // fail2ban-client exits 255 on every failure

	defaultSocket  = config.DefaultSocket
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
