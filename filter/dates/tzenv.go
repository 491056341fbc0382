package dates

import (
	"os"
	"strings"
)

// Reading a TZ value as the GNU C library's tzset does: an empty value is
// UTC; a leading colon is dropped; the value is first tried as a zone file
// (absolute, or under $TZDIR, default /usr/share/zoneinfo), then read as a
// POSIX rule string; with TZ unset, /etc/localtime is used, and UTC when it
// cannot be read.

const (
	defaultTZDir  = "/usr/share/zoneinfo"
	defaultTZFile = "/etc/localtime"
)

// ZoneFromTZ returns the zone the C library would use with TZ set to tz:
// "CET-01CEST-02,M3.5.0,M10.5.0", "<+0330>-3:30", "JST-9",
// "EST5EDT" (zone file), ":Europe/Paris", "Europe/Paris",
// "/usr/share/zoneinfo/UTC". Unlike the C library, which quietly falls
// back to UTC, it refuses a value that is neither a readable zone file nor
// a complete POSIX TZ string.
func ZoneFromTZ(tz string) (*Zone, error) {
	z, complete := zoneFromTZ(tz, true)
	if !complete {
		return nil, badZone("TZ %q is neither a zone file nor a POSIX TZ string", tz)
	}
	return z, nil
}

// LocalZone returns the process's local zone as the C library reads it
// from the TZ environment variable, accepting whatever the C library
// accepts (an unreadable value gives UTC, a partly valid rule string the
// C library's partial reading of it).
func LocalZone() *Zone {
	tz, set := os.LookupEnv("TZ")
	z, _ := zoneFromTZ(tz, set)
	return z
}

func zoneFromTZ(tz string, set bool) (*Zone, bool) {
	name := tz
	if set && tz == "" {
		tz = "Universal"
	}
	tz = strings.TrimPrefix(tz, ":")
	if !set {
		tz = defaultTZFile
		name = defaultTZFile
	}
	if f := readZoneFile(tz); f != nil {
		return &Zone{name: name, file: f}, true
	}
	if tz == "" || tz == defaultTZFile {
		return &Zone{name: name, posix: &posixTZ{stdName: "UTC", dstName: "UTC"}}, !set || tz == ""
	}
	p := parsePOSIX(tz)
	if p.noRules {
		if rules := readZoneFile("posixrules"); rules != nil {
			if f := rules.withRules(p.tz.stdName, p.tz.dstName, p.tz.stdOff, p.tz.dstOff); f != nil {
				return &Zone{name: name, file: f}, p.complete
			}
		}
	}
	return &Zone{name: name, posix: &p.tz}, p.complete
}

func readZoneFile(name string) *tzFile {
	if name == "" {
		return nil
	}
	path := name
	if !strings.HasPrefix(name, "/") {
		dir := os.Getenv("TZDIR")
		if dir == "" {
			dir = defaultTZDir
		}
		path = dir + "/" + name
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	f, err := parseTZif(data)
	if err != nil {
		return nil
	}
	return f
}
