package config

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Sentinel errors; callers tell them apart with errors.Is. Every problem
// Load reports matches ErrInvalid; unknown keys match ErrUnknownKey too.
var (
	// ErrInvalid reports a configuration value that cannot be used.
	ErrInvalid = errors.New("config: invalid value")
	// ErrUnknownKey reports a key the configuration does not have.
	ErrUnknownKey = errors.New("config: unknown key")
)

// Error is one problem of a configuration: where it is and what to do.
// Load joins every problem it finds (errors.Join), each an *Error.
type Error struct {
	// File is the configuration's path, or "embedded default".
	File string
	// Line is the problem's line in File; 0 when the value did not come
	// from the file (a default, the environment).
	Line int
	// Path is the key's path as written, such as jails[0].maxretry; ""
	// for the file as a whole.
	Path string
	// Env is the environment variable the value came from, if it did.
	Env string
	// Msg says what is wrong and what to do.
	Msg string
	// Err is ErrUnknownKey or ErrInvalid.
	Err error
}

// Error formats the problem as "config: FILE:LINE: PATH: MSG".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	switch {
	case e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "" && e.Env == "":
		b.WriteString(e.File + ": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		if e.Env != "" {
			b.WriteString(" (from $" + e.Env + ")")
		}
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap returns the sentinel: ErrUnknownKey or ErrInvalid.
func (e *Error) Unwrap() error { return e.Err }

// Is makes every problem match ErrInvalid, unknown keys included.
func (e *Error) Is(target error) bool { return target == ErrInvalid }

// problems collects the problems of one load. Paths are canonical (keys
// lowercased, as viper and the Config struct's tags spell them); the
// walk's record of the file turns them back into the path as written,
// with its line.
type problems struct {
	file string
	keys *fileKeys
	errs []*Error
}

// add records a problem with the value at path (canonical), unless the
// walk already refused that value or one holding it.
func (p *problems) add(path string, kind error, format string, args ...any) {
	if p.keys.refused(path) {
		return
	}
	e := &Error{File: p.file, Path: path, Msg: fmt.Sprintf(format, args...), Err: kind}
	if env := envName(path); env != "" {
		e.Env = env
	} else if k, ok := p.keys.at[path]; ok {
		e.Path, e.Line = k.written, k.line
	} else if k, rest, ok := p.keys.nearest(path); ok {
		// A key the file lacks: at the line of what holds it.
		e.Path, e.Line = k.written+rest, k.line
	}
	p.errs = append(p.errs, e)
}

// invalid records a value that cannot be used.
func (p *problems) invalid(path, format string, args ...any) {
	p.add(path, ErrInvalid, format, args...)
}

// err returns the problems joined, in the order of the file (problems
// without a line last), or nil.
func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(p.errs, func(a, b *Error) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.Line, b.Line)
	})
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// envName returns the environment variable that overrides the key at
// path when it is set (viper ignores empty ones), else "". Keys inside
// lists have none.
func envName(path string) string {
	if path == "" || strings.Contains(path, "[") {
		return ""
	}
	name := EnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(path, ".", "_"))
	if os.Getenv(name) == "" {
		return ""
	}
	return name
}
