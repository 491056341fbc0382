package server

import (
	"time"

	"github.com/banserver/banserver/protocol"
)

// Settings are what a reload of the configuration changes in a running
// server. They apply to connections made from then on; connections open
// keep the ones they started with.
type Settings struct {
	Access      []Rule
	Limits      Limits
	MaxMessage  int
	IdleTimeout time.Duration
}

// settings is Settings with the defaults filled in, as connections read
// them (one atomic load per connection).
type settings struct {
	access     []Rule
	limits     Limits
	maxMessage int
	idle       time.Duration
}

func newSettings(st Settings) *settings {
	if st.MaxMessage <= 0 {
		st.MaxMessage = DefaultMaxMessage
	}
	return &settings{access: st.Access, limits: st.Limits.withDefaults(), maxMessage: st.MaxMessage, idle: st.IdleTimeout}
}

// Reconfigure gives the server new access rules and limits (a reload of
// the configuration).
func (s *Server) Reconfigure(st Settings) { s.live.Store(newSettings(st)) }

// settings returns the settings now.
func (s *Server) settings() *settings { return s.live.Load() }

// SetLogLevel sets the log level as `set loglevel` does (a reload of the
// configuration), so that `get loglevel` answers it.
func (s *Server) SetLogLevel(level string) error {
	_, err := s.cmdSetLogLevel(&call{args: []string{"set", "loglevel", level}})
	if e, ok := err.(*protocol.Exception); ok {
		return e
	}
	return err
}
