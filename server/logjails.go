package server

import "github.com/banserver/banserver/logjail"

// This file: what the server needs of the daemon's log readers.

// LogJails are the daemon's log readers (package logjail's Manager): the
// log settings of each jail, which the log jail commands read and change,
// and the jails' lifecycle, which start and stop follow.
type LogJails interface {
	// Settings returns the jail's log settings; false when it has none.
	Settings(jail string) (logjail.Settings, bool)
	// Configure checks and applies new log settings; an error leaves the
	// old ones in place.
	Configure(jail string, s logjail.Settings) error
	// Start lets the jail read, once it has something to read.
	Start(jail string)
	// Remove stops the jail's reader and forgets its settings.
	Remove(jail string)
	// Files lists the files the jail reads now.
	Files(jail string) []string
}

// logSettings returns the jail's log settings, empty when it has none.
func (s *Server) logSettings(name string) logjail.Settings {
	if s.o.LogJails == nil {
		return logjail.Settings{}
	}
	ls, _ := s.o.LogJails.Settings(name)
	return ls
}

// forgetLogs stops the readers of the jails that no longer exist;
// s.jailLife is held.
func (s *Server) forgetLogs(before []string) {
	if s.o.LogJails == nil {
		return
	}
	for _, name := range before {
		if !s.o.Jails.Has(name) {
			s.o.LogJails.Remove(name)
		}
	}
}
