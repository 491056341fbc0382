// Package source follows logs for the log jails: files (tail with rotation,
// copytruncate and truncation, globs that pick up files appearing later) and
// the systemd journal (journalctl --follow -o json, no cgo). It hands each
// complete line to a callback with where it came from, and keeps the
// position just past the last line the callback accepted in a Positions
// store, so a restart resumes where the daemon stopped: no line is lost or
// delivered twice while it runs, and after a kill -9 only the lines after
// the last durable position are read again.
//
// The package knows bytes, files and journalctl; it knows nothing of
// regexes, dates or jails (package filter does).
package source
