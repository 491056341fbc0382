package route

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.uber.org/zap"
	"golang.org/x/sys/unix"

	"github.com/banserver/banserver/actions"
)

// Factory returns an actions.Factory for the action called name
// ("blackhole", "unreachable" or "prohibit"), reading these options of a
// spec such as `blackhole[table=100, protocol=241]`:
//
//   - table: a number, "main", "local", "default" or a name from
//     /etc/iproute2/rt_tables (and rt_tables.d/*.conf);
//   - protocol: the route protocol number, 5-255 (default DefaultProtocol);
//   - netns: a network namespace, an absolute path or a name under /run/netns.
//
// Any other option, or a bad value, is an actions.ErrBadOptions.
func Factory(name string, log *zap.Logger) actions.Factory {
	return func(spec string, opts map[string]string) (actions.Action, error) {
		o, err := parseOptions(name, opts)
		if err != nil {
			return nil, err
		}
		o.Log = log
		a, err := New(spec, o)
		if err != nil {
			return nil, err
		}
		return a, nil
	}
}

// typeNames maps action names to route types.
var typeNames = map[string]Type{
	"blackhole":   Blackhole,
	"unreachable": Unreachable,
	"prohibit":    Prohibit,
}

// rtTablesFiles lists where iproute2 keeps table names, in the order it reads them;
// a variable so tests can point it at testdata.
var rtTablesFiles = func() []string {
	files := []string{"/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables", "/usr/lib/iproute2/rt_tables"}
	more, _ := filepath.Glob("/etc/iproute2/rt_tables.d/*.conf")
	return append(files, more...)
}

// ParseOptions reads the options of the action called name as Factory
// does, without opening anything: a configuration check validates specs
// with it where Factory would open netlink sockets. The Options returned
// have no Log.
func ParseOptions(name string, opts map[string]string) (Options, error) {
	return parseOptions(name, opts)
}

func parseOptions(name string, opts map[string]string) (Options, error) {
	typ, ok := typeNames[name]
	if !ok {
		return Options{}, fmt.Errorf("%w %q: route actions are blackhole, unreachable, prohibit", actions.ErrUnknownAction, name)
	}
	o := Options{Type: typ, Table: unix.RT_TABLE_MAIN, Protocol: DefaultProtocol}
	for k, v := range opts {
		switch k {
		case "table":
			t, err := parseTable(v, rtTablesFiles())
			if err != nil {
				return Options{}, err
			}
			o.Table = t
		case "protocol":
			p, err := strconv.Atoi(v)
			if err == nil {
				err = checkProtocol(p)
			}
			if err != nil {
				return Options{}, fmt.Errorf("%w: protocol=%q: want a number 5-255", actions.ErrBadOptions, v)
			}
			o.Protocol = p
		case "netns":
			p, err := parseNetNS(v)
			if err != nil {
				return Options{}, err
			}
			o.NetNS = p
		default:
			return Options{}, fmt.Errorf("%w: %s takes table, protocol, netns; not %q", actions.ErrBadOptions, name, k)
		}
	}
	return o, nil
}

// parseTable reads a table number or name. Table 0 (unspec) is refused: the
// kernel takes it as main when adding but as "all tables" when listing.
func parseTable(v string, files []string) (int, error) {
	switch v {
	case "main":
		return unix.RT_TABLE_MAIN, nil
	case "local":
		return unix.RT_TABLE_LOCAL, nil
	case "default":
		return unix.RT_TABLE_DEFAULT, nil
	}
	if n, err := strconv.ParseUint(v, 0, 32); err == nil {
		if n == 0 {
			return 0, fmt.Errorf("%w: table=0 is no table", actions.ErrBadOptions)
		}
		return int(n), nil
	}
	for _, f := range files {
		if n, ok := lookupTable(f, v); ok {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: table=%q: not a number and not named in rt_tables", actions.ErrBadOptions, v)
}

// lookupTable finds name in one rt_tables file ("number name" lines, #
// comments).
func lookupTable(file, name string) (int, bool) {
	f, err := os.Open(file)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(line)
		if len(fields) < 2 || fields[1] != name {
			continue
		}
		n, err := strconv.ParseUint(fields[0], 0, 32)
		if err != nil || n == 0 {
			continue
		}
		return int(n), true
	}
	return 0, false
}

// parseNetNS accepts an absolute path or a bare name as `ip netns` makes
// them under /run/netns.
func parseNetNS(v string) (string, error) {
	switch {
	case v == "":
		return "", nil
	case filepath.IsAbs(v) && filepath.Clean(v) == v:
		return v, nil
	case !strings.ContainsAny(v, "/") && v != "." && v != "..":
		return "/run/netns/" + v, nil
	}
	return "", fmt.Errorf("%w: netns=%q: want an absolute path or a name under /run/netns", actions.ErrBadOptions, v)
}
