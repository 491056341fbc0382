package server

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/banserver/banserver/jail"
	"github.com/banserver/banserver/protocol"
)

// This file: fail2ban's database settings, dbfile, dbpurgeage and
// dbmaxmatches, over the ban store.

// DBSettings are the ban store's settings that clients read and change,
// as fail2ban's dbfile, dbpurgeage and dbmaxmatches.
type DBSettings struct {
	mu         sync.Mutex // guards the fields below
	file       string
	purgeAge   time.Duration
	maxMatches int
}

// NewDBSettings returns the settings of the store at file.
func NewDBSettings(file string, purgeAge time.Duration, maxMatches int) *DBSettings {
	return &DBSettings{file: file, purgeAge: purgeAge, maxMatches: maxMatches}
}

// PurgeAge returns how long ended bans and history are kept.
func (d *DBSettings) PurgeAge() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.purgeAge
}

// MaxMatches returns how many failure messages a stored ban keeps.
func (d *DBSettings) MaxMatches() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.maxMatches
}

// cmdGetDB answers get dbfile|dbpurgeage|dbmaxmatches as fail2ban does:
// None without a database.
func (s *Server) cmdGetDB(c *call) (result, error) {
	d := s.o.DB
	if d == nil {
		return ok(nil)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	switch c.args[1] {
	case "dbfile":
		return ok(d.file)
	case "dbpurgeage":
		return ok(seconds(d.purgeAge))
	}
	return ok(int64(d.maxMatches))
}

// cmdSetDBFile is `set dbfile FILE|None`. The store is chosen at start
// (--db): moving a live store under running jails would risk the bans it
// is there to keep. So the command confirms the file in use (or None
// without a store), answers fail2ban's RuntimeError while jails exist,
// and otherwise says how to change the store.
func (s *Server) cmdSetDBFile(c *call) (result, error) {
	v := c.args[2]
	file := "none"
	if d := s.o.DB; d != nil {
		d.mu.Lock()
		file = d.file
		d.mu.Unlock()
		if v == file {
			return ok(file)
		}
	} else if strings.ToLower(v) == "none" {
		return ok(nil)
	}
	if len(s.o.Jails.Jails()) > 0 {
		return result{}, &protocol.Exception{Class: protocol.ClassRuntimeError, Args: []any{
			"Cannot change database when there are jails present"}}
	}
	want := v
	if strings.ToLower(v) == "none" {
		want = "none"
	}
	return result{}, &protocol.Exception{Class: protocol.ClassException, Args: []any{
		fmt.Sprintf("banserver's ban store is chosen at start (--db %s): restart banserver with --db %s to change it", file, want)}}
}

func (s *Server) cmdSetDBPurgeAge(c *call) (result, error) {
	d := s.o.DB
	if d == nil {
		return ok(nil)
	}
	v := c.args[2]
	age, err := jail.ParseDuration(v)
	if err != nil {
		return result{}, err
	}
	if age <= 0 {
		return result{}, fmt.Errorf("%w: dbpurgeage %q", jail.ErrInvalidValue, v)
	}
	d.mu.Lock()
	d.purgeAge = age
	d.mu.Unlock()
	return ok(seconds(age))
}

func (s *Server) cmdSetDBMaxMatches(c *call) (result, error) {
	d := s.o.DB
	if d == nil {
		return ok(nil)
	}
	v := c.args[2]
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return result{}, fmt.Errorf("%w: dbmaxmatches %q", jail.ErrInvalidValue, v)
	}
	d.mu.Lock()
	d.maxMatches = n
	d.mu.Unlock()
	return ok(int64(n))
}
