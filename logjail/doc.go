// Package logjail reads jails' logs: for each jail that has log paths (or
// the systemd journal) it follows its sources (package source), runs each
// line through the jail's filter (package filter, fail2ban's filter.d
// files) and reports every failure to the jail at the line's own time,
// through the same door the socket uses (jail.Manager.AttemptAt). It
// joins source, filter and jail; none of them knows the others.
//
// A jail reads once it is started and has something to read; a change of
// its log settings (a reload, a socket command) restarts its reader with
// the new settings, resuming every source from its stored position.
package logjail
