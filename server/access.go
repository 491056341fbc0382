package server

import (
	"fmt"
	"os"
	"slices"

	"github.com/banserver/banserver/protocol"
)

// AllJails in a Rule's Jails grants its classes on every jail and on the
// commands that name no jail (status, banned, unban, get loglevel, ...).
const AllJails = "*"

// Rule grants command classes to the peers it matches. A peer that no
// rule matches, other than root and the daemon's own user, may only send
// the commands in openCommands.
type Rule struct {
	// UID matches the peer's user id; -1 matches by group only.
	UID int
	// GID matches a peer whose primary group it is, or whose user has it
	// as a supplementary group; -1 matches by user only.
	GID int
	// Classes are what the rule allows.
	Classes []protocol.Class
	// Jails limit the classes to commands on these jails; AllJails is every
	// jail and the commands that name none.
	Jails []string
}

// openCommands may be sent by anyone who can open the socket: they answer
// constants and say nothing of jails or bans, and fail2ban-client pings
// before some commands.
var openCommands = map[string]bool{"ping": true, "version": true, "server-status": true}

const nClasses = int(protocol.ClassAdmin) + 1

// grant is what one peer may do, compiled once per connection so that the
// check per command is a few array and map lookups.
type grant struct {
	peer Peer
	name string // user name, or ""
	// all: root or the daemon's own user, which may do everything.
	all bool
	// anyJail[c]: class c on every jail and on jail-less commands.
	anyJail [nClasses]bool
	// jails[c]: the jails class c is allowed on, when not anyJail[c].
	jails [nClasses]map[string]bool
}

// newGrant compiles the rules for peer p; id is p's user database entry.
func newGrant(rules []Rule, p Peer, id identity, self uint32) *grant {
	g := new(grant)
	g.compile(rules, p, id, self)
	return g
}

// compile is newGrant into g, which it overwrites: a connection's grant
// lives in its session, and costs no allocation of its own.
func (g *grant) compile(rules []Rule, p Peer, id identity, self uint32) {
	*g = grant{peer: p, name: id.name}
	if !p.Known {
		return
	}
	if p.UID == 0 || p.UID == self {
		g.all = true
		return
	}
	for _, r := range rules {
		if !r.matches(p, id) {
			continue
		}
		all := slices.Contains(r.Jails, AllJails)
		for _, c := range r.Classes {
			if c <= 0 || int(c) >= nClasses {
				continue
			}
			if all {
				g.anyJail[c] = true
				continue
			}
			if g.jails[c] == nil {
				g.jails[c] = make(map[string]bool, len(r.Jails))
			}
			for _, j := range r.Jails {
				g.jails[c][j] = true
			}
		}
	}
}

func (r Rule) matches(p Peer, id identity) bool {
	if r.UID >= 0 && uint32(r.UID) == p.UID {
		return true
	}
	if r.GID >= 0 {
		gid := uint32(r.GID)
		return gid == p.GID || slices.Contains(id.groups, gid)
	}
	return false
}

// check returns nil when the peer may send cmd, else a PermissionError
// exception naming what was refused and why.
func (g *grant) check(r *request) error {
	if g.all || openCommands[r.Args[0]] {
		return nil
	}
	if r.row != nil && r.row.self {
		return &protocol.Exception{Class: protocol.ClassPermissionError, Args: []any{
			fmt.Sprintf("permission denied: %s may not use %s: only root and the daemon's own user may (the daemon opens the target with its own rights)", g.who(), r.row.name)}}
	}
	c := r.class
	if c > 0 && int(c) < nClasses {
		if g.anyJail[c] {
			return nil
		}
		if r.jail != "" && g.jails[c][r.jail] {
			return nil
		}
	}
	return g.refusal(r)
}

// refusal is the exception for a refused command. PermissionError is a
// builtin that fail2ban-client can load; it prints its message.
func (g *grant) refusal(r *request) *protocol.Exception {
	who := g.who()
	what := fmt.Sprintf("%s commands", r.class)
	if r.jail != "" {
		what += fmt.Sprintf(" on jail '%s'", r.jail)
	} else {
		what += " that name no jail"
	}
	return &protocol.Exception{Class: protocol.ClassPermissionError, Args: []any{
		fmt.Sprintf("permission denied: %s may not use %s (%s)", who, what, r.Args[0])}}
}

// who names the peer in refusals: "uid 33 (www-data)", "an unknown peer".
func (g *grant) who() string {
	if !g.peer.Known {
		return "an unknown peer"
	}
	who := fmt.Sprintf("uid %d", g.peer.UID)
	if g.name != "" {
		who += " (" + g.name + ")"
	}
	return who
}

// selfUID is the daemon's own user, trusted like root: it could open the
// socket file's directory and the ban store anyway.
var selfUID = uint32(os.Getuid())
