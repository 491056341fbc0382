package store

import (
	"bufio"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mapRSS returns the resident kilobytes of this process's maps of path,
// from /proc/self/smaps.
func mapRSS(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	kb, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 5 && strings.Contains(fields[0], "-") { // a map's first line
			in = len(fields) >= 6 && fields[5] == path
			continue
		}
		if in && len(fields) == 3 && fields[0] == "Rss:" {
			n, _ := strconv.Atoi(fields[1])
			kb += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kb
}

// TestReleaseMemory: a scan of every ban faults the map's pages in;
// ReleaseMemory takes them out of the resident set, and the store reads
// and writes as before.
func TestReleaseMemory(t *testing.T) {
	d := openTest(t, Options{})
	var cs []Change
	for i := range 20000 {
		cs = append(cs, ban("api", fmt.Sprintf("2001:db8::%x", i+1), t0, time.Hour, 1, "a match long enough to fill some pages"))
	}
	putWait(t, d, cs...)
	live, err := d.Live("api", t0)
	if err != nil || len(live) != len(cs) {
		t.Fatalf("Live: %d bans, %v", len(live), err)
	}
	before := mapRSS(t, d.Path())
	if before < 256 {
		t.Fatalf("%d KiB of the map resident after a scan of %d bans: want the pages the scan read", before, len(cs))
	}
	if err := d.ReleaseMemory(); err != nil {
		t.Fatal(err)
	}
	// The meta pages stay as the transaction reads them; little else.
	if after := mapRSS(t, d.Path()); after > before/8 {
		t.Fatalf("%d KiB of the map resident after ReleaseMemory, %d before", after, before)
	}
	again, err := d.Live("api", t0)
	if err != nil || len(again) != len(cs) || again[len(again)-1].Prefix != live[len(live)-1].Prefix {
		t.Fatalf("Live after ReleaseMemory: %d bans, %v", len(again), err)
	}
	putWait(t, d, unban("api", "2001:db8::1"))
	if live, _ := d.Live("api", t0); len(live) != len(cs)-1 {
		t.Fatalf("after an unban: %d live bans, want %d", len(live), len(cs)-1)
	}
	d.Close()
	if err := d.ReleaseMemory(); err == nil {
		t.Fatal("ReleaseMemory on a closed store: no error")
	}
}

// TestScansDropPages: Live and Purge read every record through the map,
// and drop its pages as they go (releaseEvery): a scan of a big store
// leaves only its last stretch resident, not every page it read, while
// the socket serves beside it, and reads the same records.
func TestScansDropPages(t *testing.T) {
	d := openTest(t, Options{})
	var cs []Change
	for i := range 20000 {
		bt := time.Hour
		if i%2 == 1 {
			bt = time.Minute // ended by the time of the scans
		}
		cs = append(cs, ban("api", fmt.Sprintf("2001:db8::%x", i+1), t0, bt, 1, "a match long enough to fill some pages"))
	}
	putWait(t, d, cs...)
	now := t0.Add(2 * time.Minute)
	defer func(n int) { releaseEvery = n }(releaseEvery)

	releaseEvery = 1 << 30 // no drop during the scan: the reference
	want, err := d.Live("api", now)
	if err != nil || len(want) != len(cs)/2 {
		t.Fatalf("Live: %d bans, %v; want %d", len(want), err, len(cs)/2)
	}
	whole := mapRSS(t, d.Path())
	if whole < 256 {
		t.Fatalf("%d KiB of the map resident after a scan of %d bans: want the pages the scan read", whole, len(cs))
	}
	if err := d.ReleaseMemory(); err != nil {
		t.Fatal(err)
	}

	releaseEvery = 500
	got, err := d.Live("api", now)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Live dropping pages: %d bans, %v; want the %d of a scan without", len(got), err, len(want))
	}
	if kb := mapRSS(t, d.Path()); kb > whole/4 {
		t.Fatalf("Live: %d KiB of the map resident at its end, %d KiB for a scan that keeps its pages", kb, whole)
	}
	if err := d.ReleaseMemory(); err != nil {
		t.Fatal(err)
	}
	// The ended bans and their history go; the live ones stay whole.
	if n, err := d.Purge(now); err != nil || n != len(cs) {
		t.Fatalf("Purge = %d, %v; want %d records (the ended bans and their history)", n, err, len(cs))
	}
	if kb := mapRSS(t, d.Path()); kb > whole/4 {
		t.Fatalf("Purge: %d KiB of the map resident at its end, %d KiB for a scan that keeps its pages", kb, whole)
	}
	if got, err := d.Live("api", now); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Live after Purge: %d bans, %v; want %d", len(got), err, len(want))
	}
}
