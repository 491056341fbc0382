package jail

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Sentinel errors; callers tell them apart with errors.Is.
var (
	// ErrUnknownJail means no jail has the given name.
	ErrUnknownJail = errors.New("jail: unknown jail")
	// ErrDuplicateJail means a jail with that name already exists.
	ErrDuplicateJail = errors.New("jail: jail already exists")
	// ErrNotBanned means one or more addresses to unban were not banned.
	ErrNotBanned = errors.New("jail: not banned")
	// ErrInvalidAddress means an address could not be parsed or may not be
	// used (a zone, the zero Addr, loopback for BanIP).
	ErrInvalidAddress = errors.New("jail: invalid address")
	// ErrInvalidValue means a setting was out of range or unparsable.
	ErrInvalidValue = errors.New("jail: invalid value")
)

// UnknownJailError is returned when a jail name is not known; it matches
// ErrUnknownJail with errors.Is and carries the name for the caller's reply.
type UnknownJailError struct {
	Name string
}

// Error implements error.
func (e *UnknownJailError) Error() string {
	return fmt.Sprintf("%v: %q", ErrUnknownJail, e.Name)
}

// Unwrap lets errors.Is(err, ErrUnknownJail) succeed.
func (e *UnknownJailError) Unwrap() error { return ErrUnknownJail }

// UnknownJailName returns the jail name carried by err when err is (or wraps)
// an *UnknownJailError.
func UnknownJailName(err error) (string, bool) {
	var u *UnknownJailError
	if errors.As(err, &u) {
		return u.Name, true
	}
	return "", false
}

// NotBannedError lists the addresses an unban did not find; it matches
// ErrNotBanned with errors.Is.
type NotBannedError struct {
	Addrs []netip.Addr
}

// Error implements error.
func (e *NotBannedError) Error() string {
	s := make([]string, len(e.Addrs))
	for i, a := range e.Addrs {
		s[i] = a.String()
	}
	return fmt.Sprintf("%v: %s", ErrNotBanned, strings.Join(s, ", "))
}

// Is reports whether target is ErrNotBanned.
func (e *NotBannedError) Is(target error) bool { return target == ErrNotBanned }

func unknownJail(name string) error { return &UnknownJailError{Name: name} }

func invalidValue(what string, v any) error {
	return fmt.Errorf("%w: %s %v", ErrInvalidValue, what, v)
}
