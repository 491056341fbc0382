// Package pyre runs fail2ban's regular expressions with Python's meaning.
//
// fail2ban's filters are Python 3 re patterns with fail2ban's tags
// (<HOST>, <ADDR>, <F-USER>...</F-USER>, <SKIPLINES>, ...). Compile
// resolves the tags as fail2ban's failregex.py does, rewrites global
// inline flags to local ones as fail2ban does, parses the result as
// CPython 3.11's re parser does (refusing what Python refuses, with its
// message), and writes it out for github.com/dlclark/regexp2 with every
// character test spelled as an explicit code-point set, so that \w, \d,
// \s, (?i), $, \Z and \b keep Python's meaning rather than .NET's.
//
// Shortcuts give the same answers faster. A literal every match must
// contain is looked for first (most lines miss most failregexes). Then
// pyre's own matcher runs (backtrack.go): a backtracking machine over the
// pattern tree, on the subject's bytes, for the part of re where every
// backtracking engine agrees (no repeat over what can match empty, no
// back-reference under (?i)); it splits a pattern at the branches that
// decide a later conditional, so that each branch has its conditionals
// settled and first checks the strings it must match, and it gives up
// after a number of steps proportional to the subject. Where it does not
// serve the pattern, or gives up, Go's regexp serves where it provably
// agrees with Python (no lookaround, back-reference, conditional or
// atomic group, no repeat over an empty-matching body, and a subject it
// agrees on: ASCII when \b is used, no inner newline when $ is): it is
// linear, so such patterns cannot backtrack catastrophically. One-character
// lookbehinds the pattern already guarantees, like the (?<=:) of
// fail2ban's IPv6 expression, are dropped first, which puts <HOST> and
// <ADDR> patterns on that path. regexp2 answers the rest.
//
// Every regexp2 match runs under a budget (Options.Budget, a time limit,
// plus a bound on the backtracking stack); one that runs out returns an
// error matching ErrBudget instead of hanging the daemon.
//
// One difference from Python is known: a back-reference under (?i)
// compares with Unicode simple case folding (regexp2's), where Python
// compares lowercases; they disagree on a few code points (ſ and s, ς and
// σ, İ and I, ϐ and β, ...). No stock filter has such a back-reference.
//
// Match.Fields gives the ticket fields fail2ban would take from a match:
// named groups, alt_ and tuple_ groups merged, groups that did not take
// part left out. Decode turns a log line's bytes into the string fail2ban
// would search (UTF-8, invalid bytes replaced as Python replaces them).
package pyre
