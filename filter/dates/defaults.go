package dates

// defaultPatterns are fail2ban 1.0.2's default date templates, in its
// order, which decides the winner when several match at the same place.
var defaultPatterns = []string{
	// ISO 8601 and simple dates: 2005-01-23T21:59:59.981746+01:00,
	// 2005/01/23 21:59:59, 2006.12.21 06:43:20 (syslog-ng)
	`%ExY(?P<_sep>[-/.])%m(?P=_sep)%d(?:T|  ?)%H:%M:%S(?:[.,]%f)?(?:\s*%z)?`,
	// asctime, optional weekday, fraction and year: Sun Jan 23 21:59:59.011 2005
	`(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
	// asctime with the year before the time: Sun Jan 23 2005 21:59:59.011
	`(?:%a )?%b %d %ExY %k:%M:%S(?:\.%f)?`,
	// day first, 2- or 4-digit year: 23/01/2005 21:59:59, 17-07-08 17:23:25
	`%d(?P<_sep>[-/])%m(?P=_sep)(?:%ExY|%Exy) %k:%M:%S`,
	// Apache and similar: [31/Oct/2006:09:22:55 -0000], 26-Jul-2007 15:20:52.252
	`%d(?P<_sep>[-/])%b(?P=_sep)%ExY[ :]?%H:%M:%S(?:\.%f)?(?: %z)?`,
	// CPanel: 05/20/2008:01:57:39
	`%m/%d/%ExY:%H:%M:%S`,
	// month first with dashes: 01-27-2012 16:22:44.252
	`%m-%d-%ExY %k:%M:%S(?:\.%f)?`,
	// seconds since the epoch
	`EPOCH`,
	// a time alone, at the start of the line
	`{^LN-BEG}%H:%M:%S`,
	// <09/16/08@05:03:30>
	`^<%m/%d/%Exy@%H:%M:%S>`,
	// MySQL: 130322 11:46:11
	`%Exy%Exm%Exd  ?%H:%M:%S`,
	// Apache Tomcat: Jan 23, 2005 9:59:59 PM
	`%b %d, %ExY %I:%M:%S %p`,
	// ASSP: Apr-27-13 02:33:06
	`^%b-%d-%Exy %k:%M:%S`,
	// compact ISO 8601: 20050123T215959, 20050123 215959
	`%ExY%Exm%Exd(?:T|  ?)%ExH%ExM%ExS(?:[.,]%f)?(?:\s*%z)?`,
	// asctime after a zone name (monit): PDT Apr 16 21:05:29
	`(?:%Z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
	// asctime after a zone offset: +00:00 Jan 23 21:59:59.011 2005
	`(?:%z )?(?:%a )?%b %d %k:%M:%S(?:\.%f)?(?: %ExY)?`,
	// TAI64N: @4000000041f4104f00000000
	`TAI64N`,
}
