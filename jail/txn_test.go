package jail

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// journal is a Journal for tests: it records what it is given and fails
// while failing is set.
type journal struct {
	mu      sync.Mutex // guards the fields below
	groups  [][]Event
	failing bool
	waited  int
}

var errDiskFull = errors.New("no space left on device")

func (j *journal) Record(evs []Event) uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.groups = append(j.groups, slices.Clone(evs))
	return uint64(len(j.groups))
}

func (j *journal) Wait(ticket uint64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.waited++
	if j.failing {
		return errDiskFull
	}
	return nil
}

func (j *journal) setFailing(on bool) {
	j.mu.Lock()
	j.failing = on
	j.mu.Unlock()
}

// kinds lists groups as "kind addr" strings.
func (j *journal) kinds() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for _, g := range j.groups {
		s := ""
		for i, e := range g {
			if i > 0 {
				s += ", "
			}
			s += e.Kind.String()
			if e.Ban.Prefix.IsValid() {
				s += " " + banText(e.Ban.Prefix)
			}
		}
		out = append(out, s)
	}
	return out
}

func banText(p netip.Prefix) string {
	if p.IsSingleIP() {
		return p.Addr().String()
	}
	return p.String()
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = banText(p)
	}
	return out
}

// TestJournal: each command's changes reach the journal as one group, in
// order; a command whose group cannot be stored fails, leaves no trace in
// the jail and delivers nothing; once the journal stores again, commands
// succeed.
func TestJournal(t *testing.T) {
	jr := &journal{}
	f := newFixture(t, Options{Journal: jr})
	f.add(t, Config{Name: "j", MaxRetry: 2, BanTime: time.Hour})
	a, b, c := mustAddr("192.0.2.1"), mustAddr("192.0.2.2"), mustAddr("192.0.2.3")

	if n, err := f.m.BanIP("j", []netip.Addr{a, b}); n != 2 || err != nil {
		t.Fatalf("BanIP = %d, %v", n, err)
	}
	f.clk.Advance(time.Minute)
	f.m.SetBanTime("j", 2*time.Hour)
	if n, err := f.m.BanIP("j", []netip.Addr{a}); n != 0 || err != nil {
		t.Fatalf("BanIP of a banned address = %d, %v", n, err)
	}

	// The journal fails: a ban, a prolongation, an unban and an attempt
	// that bans all fail and change nothing.
	jr.setFailing(true)
	before, _ := f.m.BanList("j")
	stBefore, _ := f.m.Status("j")
	events := len(f.rec.events())
	f.clk.Advance(time.Minute)
	f.m.SetBanTime("j", 3*time.Hour)
	if _, err := f.m.BanIP("j", []netip.Addr{c, a}); !errors.Is(err, errDiskFull) {
		t.Fatalf("BanIP while the journal fails: %v", err)
	}
	if _, err := f.m.UnbanIP("j", []netip.Addr{b}, true); !errors.Is(err, errDiskFull) {
		t.Fatalf("UnbanIP while the journal fails: %v", err)
	}
	f.m.Attempt("j", mustAddr("192.0.2.4"), []string{"bad token"})
	if n, err := f.m.Attempt("j", mustAddr("192.0.2.4"), []string{"bad token"}); n != 0 || !errors.Is(err, errDiskFull) {
		t.Fatalf("Attempt that bans while the journal fails = %d, %v", n, err)
	}
	if _, err := f.m.UnbanEverywhere(nil); !errors.Is(err, errDiskFull) {
		t.Fatalf("UnbanEverywhere while the journal fails: %v", err)
	}
	after, _ := f.m.BanList("j")
	if fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("bans after failed commands:\n%v\nwant unchanged:\n%v", after, before)
	}
	if st, _ := f.m.Status("j"); st.TotalBanned != stBefore.TotalBanned || st.CurrentlyBanned != stBefore.CurrentlyBanned {
		t.Fatalf("status after failed commands %+v, want the counts of %+v", st, stBefore)
	}
	if n := len(f.rec.events()); n != events {
		t.Fatalf("%d events delivered for failed commands", n-events)
	}

	// The journal stores again: commands succeed.
	jr.setFailing(false)
	if n, err := f.m.BanIP("j", []netip.Addr{c}); n != 1 || err != nil {
		t.Fatalf("BanIP once the journal stores = %d, %v", n, err)
	}
	if n, err := f.m.UnbanEverywhere(nil); n != 3 || err != nil {
		t.Fatalf("unban --all = %d, %v", n, err)
	}
	want := []string{
		"ban 192.0.2.1, ban 192.0.2.2",
		"prolong 192.0.2.1",
		"ban 192.0.2.3, prolong 192.0.2.1",         // failed
		"unban 192.0.2.2",                          // failed
		"ban 192.0.2.4",                            // failed
		"forget, unban 192.0.2.2, unban 192.0.2.1", // failed
		"ban 192.0.2.3",
		"forget, unban 192.0.2.2, unban 192.0.2.1, unban 192.0.2.3",
	}
	if got := jr.kinds(); !slices.Equal(got, want) {
		t.Fatalf("journal groups:\n%q\nwant:\n%q", got, want)
	}
	// Delivered: the stored changes only, never a forget.
	var delivered []string
	for _, e := range f.rec.events() {
		delivered = append(delivered, e.Kind.String()+" "+banText(e.Ban.Prefix))
	}
	wantDelivered := []string{"ban 192.0.2.1", "ban 192.0.2.2", "prolong 192.0.2.1", "ban 192.0.2.3",
		"unban 192.0.2.2", "unban 192.0.2.1", "unban 192.0.2.3"}
	if !slices.Equal(delivered, wantDelivered) {
		t.Fatalf("delivered %q, want %q", delivered, wantDelivered)
	}
}

// TestJournalHoldsDelivery: an event waits until the journal has stored
// it, and events behind it wait too, so actions apply changes in order.
func TestJournalHoldsDelivery(t *testing.T) {
	gate := &gatedJournal{release: make(chan struct{}), entered: make(chan struct{}, 1)}
	f := newFixture(t, Options{Journal: gate})
	f.add(t, Config{Name: "j", BanTime: time.Hour})
	a := mustAddr("192.0.2.1")
	done := make(chan error)
	go func() {
		_, err := f.m.BanIP("j", []netip.Addr{a})
		done <- err
	}()
	<-gate.entered
	// The ban is in the jail, not yet stored: nothing is delivered, and an
	// expiry-free read sees it.
	if n := len(f.rec.events()); n != 0 {
		t.Fatalf("%d events delivered before the journal stored them", n)
	}
	if b, _ := f.m.IsBanned("j", a); !b {
		t.Fatal("the ban is not in the jail while it is being stored")
	}
	close(gate.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := f.rec.count(EventBan); n != 1 {
		t.Fatalf("%d ban events after the journal stored the ban", n)
	}
}

// gatedJournal blocks Wait until release is closed.
type gatedJournal struct {
	release chan struct{}
	entered chan struct{}
}

func (g *gatedJournal) Record([]Event) uint64 { return 1 }
func (g *gatedJournal) Wait(uint64) error {
	g.entered <- struct{}{}
	<-g.release
	return nil
}

// TestUndoKeepsLaterChanges: when a command's group fails, a later change
// to the same ban by another command (already stored) stands.
func TestUndoKeepsLaterChanges(t *testing.T) {
	jr := &journal{}
	f := newFixture(t, Options{Journal: jr})
	f.add(t, Config{Name: "j", BanTime: time.Hour})
	a := mustAddr("192.0.2.1")
	f.m.BanIP("j", []netip.Addr{a})
	f.m.mu.RLock()
	j := f.m.jails["j"]
	f.m.mu.RUnlock()
	// An unban whose group failed, after another command banned anew.
	j.mu.Lock()
	i, _ := j.bans.find(netip.PrefixFrom(a, 32))
	m := f.m
	t1 := m.begin()
	m.unbanLocked(j, i, CauseCommand, t1)
	m.banLocked(j, netip.PrefixFrom(a, 32), f.clk.Now(), nil, 0, nil)
	j.mu.Unlock()
	m.undo(t1)
	if bans, _ := f.m.BanList("j"); len(bans) != 1 || bans[0].Start != f.clk.Now() {
		t.Fatalf("after undoing an unban superseded by a new ban: %+v, want the new ban", bans)
	}
}
