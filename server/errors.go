package server

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
)

// errIndex is what fail2ban raises when a command lacks a word: its client
// prints "Sorry but the command is invalid".
var errIndex = &protocol.Exception{Class: protocol.ClassIndexError, Args: []any{"list index out of range"}}

// Fail2ban's own wording for commands it does not know.
var (
	errInvalid    = &protocol.Exception{Class: protocol.ClassException, Args: []any{"Invalid command"}}
	errInvalidGet = &protocol.Exception{Class: protocol.ClassException, Args: []any{"Invalid command (no get action or not yet implemented)"}}
)

func errInvalidSet(sub string) error {
	return &protocol.Exception{Class: protocol.ClassException, Args: []any{
		fmt.Sprintf("Invalid command %s (no set action or not yet implemented)", protocol.ReprString(sub))}}
}

func jailErr(name string) error { return &jail.UnknownJailError{Name: name} }

// toException is the one place that turns Go errors into the Python
// exceptions fail2ban's clients expect. It lives here rather than in
// protocol so that protocol stays ignorant of jails.
func toException(err error) *protocol.Exception {
	var exc *protocol.Exception
	if errors.As(err, &exc) {
		return exc
	}
	if name, ok := jail.UnknownJailName(err); ok {
		return &protocol.Exception{Class: protocol.ClassUnknownJail, Args: []any{name}}
	}
	var nb *jail.NotBannedError
	if errors.As(err, &nb) {
		return &protocol.Exception{Class: protocol.ClassValueError, Args: []any{"not banned: " + pyList(nb.Addrs)}}
	}
	if errors.Is(err, jail.ErrInvalidAddress) || errors.Is(err, jail.ErrInvalidValue) {
		return &protocol.Exception{Class: protocol.ClassValueError, Args: []any{err.Error()}}
	}
	if errors.Is(err, actions.ErrUnknownAction) {
		return &protocol.Exception{Class: protocol.ClassValueError, Args: []any{err.Error()}}
	}
	return &protocol.Exception{Class: protocol.ClassException, Args: []any{err.Error()}}
}

func pyList(as []netip.Addr) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = protocol.ReprString(a.String())
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
