package server

import (
	"errors"
	"net/netip"
	"strings"

	"github.com/banserver/banserver/actions"
	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
)

// toException is the one place that turns Go errors into the Python
// exceptions fail2ban's clients expect. It lives here rather than in
// protocol so that protocol stays ignorant of jails.
func toException(err error) *protocol.Exception {
	var exc *protocol.Exception
	if errors.As(err, &exc) {
		return exc
	}
	if name, ok := jail.UnknownJailName(err); ok {
		return &protocol.Exception{Class: "fail2ban.exceptions.UnknownJailException", Args: []any{name}}
	}
	var nb *jail.NotBannedError
	if errors.As(err, &nb) {
		return &protocol.Exception{Class: "builtins.ValueError", Args: []any{"not banned: " + pyList(nb.Addrs)}}
	}
	if errors.Is(err, jail.ErrInvalidAddress) || errors.Is(err, jail.ErrInvalidValue) {
		return &protocol.Exception{Class: "builtins.ValueError", Args: []any{err.Error()}}
	}
	if errors.Is(err, actions.ErrUnknownAction) {
		return &protocol.Exception{Class: "builtins.ValueError", Args: []any{err.Error()}}
	}
	return &protocol.Exception{Class: "builtins.Exception", Args: []any{err.Error()}}
}

func pyList(as []netip.Addr) string {
	parts := make([]string, len(as))
	for i, a := range as {
		parts[i] = pyRepr(a.String())
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
