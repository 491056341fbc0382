package main

import "github.com/banserver/banserver/protocol"

// fail2ban-client prints replies with Python's print(), that is str(): the
// beautifier's output must be written as CPython would. repr() lives in
// protocol (protocol.Repr); str() differs from it only for strings and
// exceptions, which is all this file adds.

// pyStr is Python's str(v): strings as they are, exceptions as their
// message, everything else as repr.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case *protocol.Exception:
		if x != nil {
			return excStr(x)
		}
	}
	return protocol.Repr(v)
}

// excStr is Python's str(exception): "" without arguments, the argument's
// str with one (its repr for KeyError and its subclasses, which fail2ban's
// UnknownJailException is), the repr of the argument tuple otherwise.
func excStr(e *protocol.Exception) string {
	switch len(e.Args) {
	case 0:
		return ""
	case 1:
		if isKeyError(e) {
			return protocol.Repr(e.Args[0])
		}
		return pyStr(e.Args[0])
	}
	return protocol.Repr(protocol.Tuple(e.Args))
}

func isKeyError(e *protocol.Exception) bool {
	switch e.Name() {
	case "KeyError", "UnknownJailException":
		return true
	}
	return false
}
