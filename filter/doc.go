// Package filter is banserver's log filter engine: it turns log lines into
// failures the way fail2ban 1.0.2's Filter.processLine and findFailure do,
// with fail2ban's own filter files (read by filter/conf), its regular
// expressions (run with Python's meaning by filter/pyre) and its date
// detection (filter/dates).
//
// A Filter holds the state fail2ban keeps per log: the date detector's
// template order, the last date seen (reused for 60 seconds by lines
// without one), the multi-line buffer (maxlines) and the cache of
// multi-line failure ids (F-MLFID sessions). Use one Filter per log and
// feed it the lines in order; a Filter is not safe for concurrent use.
//
// For each line, Process
//
//   - finds the date and cuts its text out of the line: failregex sees the
//     text before the date joined to the text after it;
//   - keeps the last maxlines lines and searches them joined with new lines;
//   - runs prefregex (a line it does not match is not a failure; its
//     F-CONTENT group is what the failregexes then search);
//   - runs the failregexes in order, the first match winning, and the
//     ignoreregexes on what matched;
//   - merges F-MLFID sessions (F-NOFAIL, F-MLFGAINED, F-MLFFORGET, the
//     users of a session and its matched lines);
//   - returns the failures found, each with its id (F-ID, or the address or
//     host name matched by <HOST>), its time and the ticket fields fail2ban
//     would keep.
//
// Every failregex, ignoreregex and prefregex match is bounded by pyre's
// budget: a line that exhausts it is an error for that line (matching
// ErrLine and pyre.ErrBudget), never a hang. The date detector's own
// matches are filter/dates' to bound.
package filter
