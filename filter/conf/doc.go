// Package conf reads fail2ban filter files (filter.d/*.conf) as fail2ban
// 1.0.2 reads them, and resolves the values a log filter needs: prefregex,
// the failregex and ignoreregex lists, datepattern, maxlines, journalmatch.
//
// The dialect is Python's configparser as fail2ban configures it
// (client/configparserinc.py, configreader.py, filterreader.py):
//
//   - sections in brackets, "name = value" or "name: value"; option names
//     are lowercased, section names are not; [DEFAULT] is seen from every
//     section;
//   - a value continues on lines indented deeper than its first line, blank
//     lines inside a value are kept, trailing ones dropped; full-line
//     comments start with # or ;, inline ones with ; after a space;
//   - [INCLUDES] before = and after = name other files (one a line,
//     relative to the including file) read before and after this one; each
//     file read is followed by its .local sibling when that exists; a later
//     file's value replaces an earlier one, and the replaced value stays
//     reachable as known/NAME;
//   - %(name)s, %(section/name)s, %(known/name)s and %(default/name)s are
//     interpolated when a value is read, %% is a percent sign;
//   - [Init] holds the filter's parameters, overridden by the options the
//     jail passes (filter = sshd[mode=aggressive], see ParseSpec);
//   - <name> and <known/name> in values are then replaced, recursively, by
//     options of that name; tags that name no option (fail2ban's regex
//     tags such as <HOST>, <ADDR>, <F-USER>) are left for the regex layer.
//
// Read follows the order of fail2ban's jail reader (client/jailreader.py):
// the filter's options are read once with every [Definition] option
// (Filter.Values), then the values fail2ban sends to its server (the
// other Filter fields), with the [Init] values as %(name)s variables. This
// is stricter than fail2ban-regex and fail2ban's sample tests, which read
// once: a [Definition] option that does not interpolate is an error even
// when no filter option uses it, and %(name)s in a filter option sees
// [Init]'s value of name before [Definition]'s and [DEFAULT]'s (their
// single pass sees only the latter two). The oracle
// tests compare Read with fail2ban's own FilterReader both ways, for every
// stock filter with every option set of fail2ban's sample corpus.
//
// Deliberate differences, all on inputs fail2ban accepts with a log line
// or silently: an include that does not exist is an error (fail2ban skips
// it) unless its name ends in .local; a file that is not UTF-8 is an error
// (fail2ban drops it); a maxlines that is not a positive integer is an
// error (fail2ban warns, or its server refuses it); only regular files are
// read; a file may be at most MaxFileSize bytes, a value at most
// MaxValueSize bytes, includes nested at most MaxIncludeDepth deep and
// MaxIncludes files in all.
package conf
