package protocol

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ErrEmptyCommand reports a command list with no items; fail2ban answers it
// with an IndexError.
var ErrEmptyCommand = errors.New("protocol: empty command")

// Class is what a command may do, for access control: a client allowed to
// report attempts must not be able to unban or reconfigure. The server's
// command table gives each command its class.
type Class int

// The command classes, from least to most powerful.
const (
	ClassRead   Class = iota + 1 // ping, version, status, get, banned, echo, help, server-status
	ClassReport                  // set JAIL attempt
	ClassBan                     // set JAIL banip
	ClassUnban                   // set JAIL unbanip, unban
	ClassAdmin                   // everything else
)

var classNames = [...]string{ClassRead: "read", ClassReport: "report", ClassBan: "ban", ClassUnban: "unban", ClassAdmin: "admin"}

// String returns the class's name as the configuration spells it.
func (c Class) String() string {
	if c > 0 && int(c) < len(classNames) {
		return classNames[c]
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// ParseClass returns the class called name.
func ParseClass(name string) (Class, error) {
	for c, n := range classNames {
		if n != "" && n == name {
			return Class(c), nil
		}
	}
	return 0, fmt.Errorf("protocol: unknown command class %q", name)
}

// Command is a decoded request: its words as fail2ban's transmitter sees
// them. What the words mean (which command, its access class, the jail it
// names) is the server's command table's business.
type Command struct {
	// Args holds every item as a string, converted the way Python's str()
	// would (ints in decimal, floats in repr form, True/False/None).
	// Nested lists appear as "" here and are kept in Nested.
	Args []string
	// Nested holds the items that were lists, by index into Args.
	Nested map[int][]any
}

// ParseCommand turns a decoded request list into a Command.
func ParseCommand(items []any) (Command, error) {
	if len(items) == 0 {
		return Command{}, ErrEmptyCommand
	}
	c := Command{Args: make([]string, len(items))}
	for i, it := range items {
		s, nested, err := word(it)
		if err != nil {
			return Command{}, fmt.Errorf("protocol: item %d: %w", i, err)
		}
		if nested != nil {
			if c.Nested == nil {
				c.Nested = make(map[int][]any)
			}
			c.Nested[i] = nested
		}
		c.Args[i] = s
	}
	return c, nil
}

// word converts one item to the string fail2ban would see.
func word(it any) (string, []any, error) {
	switch v := it.(type) {
	case string:
		return v, nil, nil
	case []byte:
		return string(v), nil, nil
	case int64:
		return strconv.FormatInt(v, 10), nil, nil
	case int:
		return strconv.Itoa(v), nil, nil
	case float64:
		return PyFloat(v), nil, nil
	case bool:
		if v {
			return "True", nil, nil
		}
		return "False", nil, nil
	case nil:
		return "None", nil, nil
	case []any:
		if v == nil {
			v = []any{}
		}
		return "", v, nil
	}
	return "", nil, fmt.Errorf("unsupported item type %T", it)
}

// PyFloat formats f as Python's repr does: shortest round-trip digits, with
// ".0" on integral values, "inf" and "nan" spelled Python's way.
func PyFloat(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-4 || abs >= 1e16) {
		s := strconv.FormatFloat(f, 'e', -1, 64)
		// Go writes e+16, Python e+16: same; Go writes e-05, Python e-05.
		return s
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}
