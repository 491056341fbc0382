package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// TestLiveChunks: the chunks, one after the other, are Live's list: every
// live ban once, in order, ended ones left out, however the chunk
// boundaries fall; none is larger than liveChunk.
func TestLiveChunks(t *testing.T) {
	d := openTest(t, Options{})
	var cs []Change
	for i := range 2*liveChunk + 300 {
		bt := time.Hour
		if i%7 == 3 {
			bt = time.Minute // ended by now
		}
		cs = append(cs, ban("api", fmt.Sprintf("2001:db8::%x", i+1), t0, bt, 1, fmt.Sprintf("match %d", i)))
	}
	cs = append(cs, ban("api", "192.0.2.7", t0, -1, 2), ban("other", "192.0.2.8", t0, time.Hour, 1))
	putWait(t, d, cs...)
	now := t0.Add(2 * time.Minute)
	want, err := d.Live("api", now)
	if err != nil {
		t.Fatal(err)
	}
	var got []Ban
	calls := 0
	err = d.LiveChunks("api", now, func(chunk []Ban) error {
		calls++
		if len(chunk) == 0 || len(chunk) > liveChunk {
			t.Errorf("chunk %d: %d bans, want 1 to %d", calls, len(chunk), liveChunk)
		}
		got = append(got, chunk...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 {
		t.Fatalf("%d chunks for %d live bans: want more than one", calls, len(want))
	}
	if !slices.Equal(banStrings(got), banStrings(want)) {
		t.Fatalf("chunks hold %d bans, Live %d: they differ", len(got), len(want))
	}

	// A jail with nothing stored: no call.
	if err := d.LiveChunks("none", now, func([]Ban) error { t.Error("called for a jail with no bans"); return nil }); err != nil {
		t.Fatal(err)
	}
	// f's error ends the scan and comes back as it is.
	stop := errors.New("stop")
	calls = 0
	if err := d.LiveChunks("api", now, func([]Ban) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("f failing: %v after %d calls, want its error after 1", err, calls)
	}
	if err := d.LiveChunks("", now, func([]Ban) error { return nil }); !errors.Is(err, ErrInvalid) {
		t.Fatalf("no jail name: %v, want ErrInvalid", err)
	}
}

// TestLiveChunksWrites: f runs outside the store's transactions, so it may
// wait for commits, even ones that grow the file and move its map (which
// waits for every open read transaction); a ban stored meanwhile after the
// last one handed over comes in a later chunk.
func TestLiveChunksWrites(t *testing.T) {
	d := openTest(t, Options{})
	var cs []Change
	for i := range liveChunk + 10 {
		cs = append(cs, ban("api", fmt.Sprintf("2001:db8::%x", i+1), t0, time.Hour, 1))
	}
	putWait(t, d, cs...)
	seen := map[string]bool{}
	first := true
	err := d.LiveChunks("api", t0, func(chunk []Ban) error {
		for _, b := range chunk {
			seen[b.Prefix.String()] = true
		}
		if first {
			first = false
			// Enough new bans, each with a long match, to grow the file.
			var more []Change
			for i := range 5000 {
				more = append(more, ban("api", fmt.Sprintf("2001:db8:1::%x", i+1), t0, time.Hour, 1, string(make([]byte, 500))))
			}
			putWait(t, d, more...)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"2001:db8::1/128", fmt.Sprintf("2001:db8::%x/128", liveChunk+10), "2001:db8:1::1388/128"} {
		if !seen[p] {
			t.Errorf("%s not handed over", p)
		}
	}
}
