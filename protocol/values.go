package protocol

import (
	"fmt"
	"strings"
)

// Tuple is a Python tuple; AppendReply pickles it as one and DecodeReply
// returns tuples as Tuple.
type Tuple []any

// Dict is a Python dict kept in insertion order (Python dicts are ordered
// and fail2ban's replies depend on it).
type Dict []KV

// KV is one key/value pair of a Dict.
type KV struct{ Key, Value any }

// Exception is a Python exception object as fail2ban sends it: Class like
// "builtins.Exception", "builtins.ValueError", "builtins.KeyError",
// "fail2ban.exceptions.UnknownJailException",
// "fail2ban.exceptions.DuplicateJailException"; Args its args (usually one
// string).
type Exception struct {
	Class string
	Args  []any
}

// Error formats the exception the way Python prints it in a traceback's
// last line: "UnknownJailException: nojail".
func (e *Exception) Error() string {
	name := e.Class
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		name = name[i+1:]
	}
	switch len(e.Args) {
	case 0:
		return name
	case 1:
		return fmt.Sprintf("%s: %v", name, e.Args[0])
	}
	return fmt.Sprintf("%s: %v", name, e.Args)
}
