package dates_test

import (
	"fmt"
	"time"

	"github.com/banserver/banserver/filter/dates"
)

func Example() {
	// The zone and clock of fail2ban's test suite.
	local, err := dates.ZoneFromTZ("CET-01CEST-02,M3.5.0,M10.5.0")
	if err != nil {
		panic(err)
	}
	now := func() time.Time { return time.Unix(1124013600, 0) } // 2005-08-14 12:00 CEST
	d, err := dates.New(dates.Options{Pattern: "{^LN-BEG}", Local: local, Now: now})
	if err != nil {
		panic(err)
	}
	line := "Dec 24 23:00:00 host sshd[1234]: Failed password for root from 192.0.2.1"
	f, ok := d.Find(line)
	if !ok || f.Err != nil {
		panic("no date")
	}
	// The engine runs failregex on the line without its date text.
	rest := line[:f.Start] + line[f.End:]
	fmt.Println(f.Time.UTC())
	fmt.Printf("%q\n", rest)
	// Output:
	// 2004-12-24 22:00:00 +0000 UTC
	// " host sshd[1234]: Failed password for root from 192.0.2.1"
}
