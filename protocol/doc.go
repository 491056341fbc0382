// Package protocol speaks fail2ban's Unix-socket wire format: messages are
// pickles terminated by EndCommand; requests are pickled lists of values and
// replies are pickled (code, value) tuples.
//
// Pickles from the socket are untrusted. Nothing here ever resolves a class
// by name or runs a callable: requests may only hold plain data (Check
// refuses every class/call opcode), and replies may name a short allow-list
// of classes that are decoded into plain Go values (*Exception, string,
// []byte). Every length, nesting level and memo reference is bounded by the
// message itself, so a hostile message costs at most a small multiple of its
// own size.
package protocol

import "errors"

// Framing markers of fail2ban's protocol (fail2ban.protocol.CSPROTO).
const (
	// EndCommand terminates every message in both directions.
	EndCommand = "<F2B_END_COMMAND>"
	// CloseCommand, sent as a message of its own, asks the server to close
	// the connection.
	CloseCommand = "<F2B_CLOSE_COMMAND>"
)

// Sentinel errors; callers tell them apart with errors.Is.
var (
	// ErrClose is returned by ReadMessage when the peer sent CloseCommand.
	ErrClose = errors.New("protocol: close command")
	// ErrTooLarge is returned by ReadMessage when a message exceeded the
	// cap; the reader has skipped to the next terminator (or EOF) and
	// stays usable.
	ErrTooLarge = errors.New("protocol: message too large")
	// ErrRefused means the pre-check met an opcode it never executes:
	// class and call opcodes, out-of-band buffers, unknown opcodes.
	ErrRefused = errors.New("protocol: refused pickle")
	// ErrMalformed means a pickle is truncated, inconsistent (lengths past
	// the end, bad memo references, odd dict items), too deep, or decodes
	// to a value outside the allowed types.
	ErrMalformed = errors.New("protocol: malformed pickle")
	// ErrNotList means a request decoded to something other than a list or
	// tuple.
	ErrNotList = errors.New("protocol: command is not a list")
	// ErrUnsupported means AppendReply or AppendRequest was given a Go
	// value that has no pickle form here (or nesting deeper than MaxDepth).
	ErrUnsupported = errors.New("protocol: unsupported value")
)

// Bounds enforced on every pickle; exported so callers and tests can
// reason about them.
const (
	// MaxDepth bounds the nesting of lists, tuples, dicts and sets and the
	// number of MARKs outstanding at once. fail2ban's deepest message
	// (server-stream of multi-set) nests 4 levels.
	MaxDepth = 64
	// MaxLongBytes bounds the byte length of LONG1/LONG4 integers; any int
	// that does not fit int64 is refused anyway.
	MaxLongBytes = 64
	// MaxStack bounds the number of values on the unpickling stack.
	// Python batches list items by 1000, so real pickles stay far below.
	MaxStack = 1 << 14
)

// Exception classes fail2ban-server answers with (and PermissionError,
// banserver's refusal of a command the peer may not send).
const (
	ClassException       = "builtins.Exception"
	ClassValueError      = "builtins.ValueError"
	ClassKeyError        = "builtins.KeyError"
	ClassIndexError      = "builtins.IndexError"
	ClassRuntimeError    = "builtins.RuntimeError"
	ClassPermissionError = "builtins.PermissionError"
	ClassUnknownJail     = "fail2ban.exceptions.UnknownJailException"
	ClassDuplicateJail   = "fail2ban.exceptions.DuplicateJailException"
)
