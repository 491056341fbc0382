// Package dates finds and converts the date of a log line the way
// fail2ban 1.0.2's DateDetector does, so that a jail running fail2ban's own
// filter files sees the same time, and cuts the same date text out of the
// line, as fail2ban would.
//
// A Detector holds an ordered list of date templates: fail2ban's default
// templates, or the ones a filter's datepattern names (strftime-like codes,
// Epoch, TAI64N, {^LN-BEG}, {DATE}, {NONE}, {UNB}). Find tries them the way
// fail2ban does, including its habit of trying the last winner first and of
// moving templates that win often towards the front of the list, so the
// template that wins on a line depends on the lines before it: use one
// Detector per log (per filter), and feed it the lines in order.
//
// Year-less dates get the year of the reference clock, or the year before
// when they would lie more than a day in the future; times without a zone
// are read in the log's zone (logtimezone) when one is set, else in the
// process's local zone, which is read from TZ as the C library reads it,
// POSIX rule strings such as CET-01CEST-02,M3.5.0,M10.5.0 included.
//
// # What fail2ban's filter does with a date
//
// The engine must do as Filter.processLine (fail2ban 1.0.2) does with the
// detector's result. "now" is the reference clock; "the last date" is the
// time of the last line that had a date of its own (or a date given by
// the journal), kept with its date text.
//
//   - A date with a time (Err == nil, not Empty): the line is cut into
//     line[:Start], the date text and line[End:]; failregex and
//     ignoreregex run on line[:Start]+line[End:] (nothing else is
//     trimmed; with maxlines > 1 the buffer holds the cut lines joined by
//     "\n" with a final "\n"). The time and its text become the last date.
//   - An empty date (Empty): nothing is cut; the line gets the last date
//     if that is less than 60 seconds older than now (failregex then sees
//     the whole line), else now. The last date does not change. This is
//     not "no date": failures count.
//   - ErrBadDate ("findFailure failed to parse timeText" in fail2ban's
//     log): the line is cut as above, then treated as having no date.
//   - No date (Find returns false, or ErrBadDate): if the last date is less
//     than 60 s older than now, the line gets it and is not cut; else, when
//     the jail checks find time and is in operation (following new lines,
//     not reading the backlog at start), it gets now; else it has no time,
//     fail2ban warns "Found a match but no valid date/time found" and
//     ignores its failures.
//   - ErrLineFailed: fail2ban logs "Failed to process line" and drops the
//     line (it counts an error; 100 in a row make the jail idle).
//
// Then, when the jail checks find time: in operation, a time more than 60
// seconds away from now is replaced by now (with a warning about latency
// or time zones), and that becomes the last date; while reading the
// backlog, a line older than now minus findtime is ignored before
// failregex runs.
//
// Lines from the journal carry their own time: fail2ban does not run the
// detector on them at all (the filter's datepattern is not used), and
// their time becomes the last date.
// fail2ban also runs the same detector when it seeks to the start time in
// a large log at start-up; those probes move templates too.
package dates
