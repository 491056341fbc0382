package server

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"syscall"

	"github.com/banserver/banserver/protocol"
)

// This file: command values taken as fail2ban's Python code takes them
// (int(), str methods), with Python's exceptions when they cannot be.

// pyInt is Python's int() of a str, fail2ban's conversion of numeric
// values: blanks around, a sign, decimal digits with single underscores
// between them.
func pyInt(v string) (int, error) {
	bad := valueError("invalid literal for int() with base 10: " + protocol.ReprString(v))
	t := strings.TrimSpace(v)
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg, t = t[0] == '-', t[1:]
	}
	if t == "" || t[0] == '_' || t[len(t)-1] == '_' || strings.Contains(t, "__") {
		return 0, bad
	}
	t = strings.ReplaceAll(t, "_", "")
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, bad
		}
	}
	n, err := strconv.Atoi(t)
	if err != nil || n > math.MaxInt32 {
		return 0, valueError(fmt.Sprintf("%s: out of range", v))
	}
	if neg {
		n = -n
	}
	return n, nil
}

// pyTypeName is Python's name of a decoded item's type.
func pyTypeName(v any) string {
	switch v.(type) {
	case string:
		return "str"
	case []byte:
		return "bytes"
	case int64, int:
		return "int"
	case float64:
		return "float"
	case bool:
		return "bool"
	case nil:
		return "NoneType"
	case []any:
		return "list"
	case protocol.Tuple:
		return "tuple"
	case protocol.Dict:
		return "dict"
	}
	return "object"
}

// item returns item i of the command as decoded, or its word.
func (c *call) item(i int) any {
	if i < len(c.items) {
		return c.items[i]
	}
	if i < len(c.args) {
		return c.args[i]
	}
	return nil
}

// strArg returns item i when it is a str (or bytes); anything else is
// the TypeError fail2ban's code raises where it runs a regex or opens a
// file on it.
func strArg(c *call, i int) (string, error) {
	return strItem(c.item(i))
}

func strItem(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	}
	return "", &protocol.Exception{Class: "builtins.TypeError", Args: []any{
		fmt.Sprintf("expected string or bytes-like object, got '%s'", pyTypeName(v))}}
}

// strMethodArg returns item i when it is a str; anything else is the
// AttributeError fail2ban's code raises when it calls .lower() on it.
func strMethodArg(c *call, i int) (string, error) {
	v := c.item(i)
	if s, err := strItem(v); err == nil {
		return s, nil
	}
	return "", &protocol.Exception{Class: "builtins.AttributeError", Args: []any{
		fmt.Sprintf("'%s' object has no attribute 'lower'", pyTypeName(v))}}
}

// intArg is Python's int() of item i: a str as pyInt, a float truncated,
// a bool 0 or 1.
func intArg(c *call, i int) (int, error) {
	switch v := c.item(i).(type) {
	case int64:
		if v < math.MinInt32 || v > math.MaxInt32 {
			return 0, valueError(fmt.Sprintf("%d: out of range", v))
		}
		return int(v), nil
	case bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case float64:
		switch {
		case math.IsNaN(v):
			return 0, valueError("cannot convert float NaN to integer")
		case math.IsInf(v, 0):
			return 0, &protocol.Exception{Class: "builtins.OverflowError", Args: []any{"cannot convert float infinity to integer"}}
		case math.Abs(v) > math.MaxInt32:
			return 0, valueError(fmt.Sprintf("%s: out of range", protocol.PyFloat(v)))
		}
		return int(math.Trunc(v)), nil
	case string:
		return pyInt(v)
	case []byte:
		return pyInt(string(v))
	default:
		return 0, &protocol.Exception{Class: "builtins.TypeError", Args: []any{
			fmt.Sprintf("int() argument must be a string, a bytes-like object or a real number, not '%s'", pyTypeName(v))}}
	}
}

// osError is the exception Python's open() raises for err on path:
// FileNotFoundError(2, 'No such file or directory', path) and the like
// (each an OSError: fail2ban's IOError).
func osError(path string, err error) error {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return &protocol.Exception{Class: "builtins.OSError", Args: []any{err.Error()}}
	}
	class := "builtins.OSError"
	switch errno {
	case syscall.ENOENT:
		class = "builtins.FileNotFoundError"
	case syscall.EACCES, syscall.EPERM:
		class = "builtins.PermissionError"
	case syscall.EISDIR:
		class = "builtins.IsADirectoryError"
	case syscall.ENOTDIR:
		class = "builtins.NotADirectoryError"
	}
	msg := errno.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return &protocol.Exception{Class: class, Args: []any{int64(errno), msg, path}}
}
