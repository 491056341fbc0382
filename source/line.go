package source

import (
	"sync"
	"time"
)

// Line is one log line as delivered to the callback.
type Line struct {
	// Text is the line without its newline (and trailing carriage
	// returns), decoded to UTF-8 per the log encoding. For the journal it
	// is fail2ban's "HOST IDENT[PID]: MESSAGE" form.
	Text string
	// Time is the journal entry's realtime timestamp; zero for files,
	// where the filter finds the date in Text.
	Time time.Time
	// File is the followed path the line came from (the configured path,
	// also for lines drained from a rotated file); empty for the journal.
	File string
	// Offset is the byte offset of the line's first byte in its file.
	Offset int64
	// Cursor is the journal entry's cursor; empty for files.
	Cursor string
}

// Position is where a follower resumes: for a file its identity and the
// offset just past the last delivered line, for the journal the cursor of
// the last delivered entry.
type Position struct {
	Dev    uint64 `json:"dev,omitempty"`
	Inode  uint64 `json:"ino,omitempty"`
	Hash   string `json:"hash,omitempty"`   // MD5 (hex) of the first line with its newline, as fail2ban's firstlinemd5
	Offset int64  `json:"offset,omitempty"` // start of the first line not yet delivered
	Cursor string `json:"cursor,omitempty"` // journal cursor of the last delivered entry
	// Time is the realtime timestamp of the last delivered journal entry:
	// the fallback (--since) when journalctl refuses the cursor.
	Time time.Time `json:"time,omitzero"`
}

// Positions stores positions by name: a file's path, or the journal
// follower's Name. Each jail has its own; the daemon backs it with its
// store. Save is called from the follower's goroutine after the callback
// returned nil for the lines up to p, so a saved position never points
// past an unhandled line; it must not block for long (queue the write).
type Positions interface {
	Load(name string) (Position, bool)
	Save(name string, p Position)
}

// MemoryPositions is a Positions kept in memory (a daemon without a store,
// banctl, tests).
type MemoryPositions struct {
	mu sync.Mutex // guards m
	m  map[string]Position
}

// Load returns the position saved under name.
func (m *MemoryPositions) Load(name string) (Position, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.m[name]
	return p, ok
}

// Save records p under name.
func (m *MemoryPositions) Save(name string, p Position) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = make(map[string]Position)
	}
	m.m[name] = p
}

// noPositions is the Positions of a follower given none.
type noPositions struct{}

func (noPositions) Load(string) (Position, bool) { return Position{}, false }
func (noPositions) Save(string, Position)        {}
