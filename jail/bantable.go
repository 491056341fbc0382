package jail

import (
	"math"
	"net/netip"
	"runtime"
	"time"
)

// A jail holds its live bans in a banTable: compact entries without
// pointers, so a million bans cost tens of megabytes rather than hundreds
// and the garbage collector has nothing in them to scan. An entry is 64
// bytes, in pages of 4096 outside the Go heap (pages.go); the index finding it by key 4 to 10 bytes per
// ban (banIndex); the expiry heap 4. The Ban handed out (events, BanList)
// is built from an entry when asked for; failure messages, which bans made
// by banip do not have, are kept aside by the entry's seq.

// banKey is a ban's prefix as a map key without the pointer a netip.Addr
// keeps for its zone (a prefix never has one).
type banKey struct {
	addr [16]byte
	bits uint8
	is4  bool
}

func keyOf(p netip.Prefix) banKey {
	a := p.Addr()
	return banKey{addr: a.As16(), bits: uint8(p.Bits()), is4: a.Is4()}
}

func (k banKey) prefix() netip.Prefix {
	a := netip.AddrFrom16(k.addr)
	if k.is4 {
		a = a.Unmap()
	}
	return netip.PrefixFrom(a, int(k.bits))
}

// entryMatches marks an entry whose failure messages are in
// banTable.matches.
const entryMatches = 1

// banEntry is one live ban, or one lifted ban kept by a transaction's undo.
type banEntry struct {
	key     banKey
	loc     uint8 // Start's location: banTable.locs[loc]
	flags   uint8
	count   int32         // Ban.Count, at most math.MaxInt32
	sec     int64         // Start: unix seconds
	nsec    int32         // and nanoseconds
	ver     uint32        // bumped by each change (ban, prolong), so an undo knows it is still its own
	banTime time.Duration // Forever or positive
	seq     uint64        // order of banning, for the lists fail2ban keeps in that order; never 0
	held    int32         // bytes of the messages counted against Options.MatchBudget (at most 10 KiB)
	hpos    int32         // position in banTable.heap; -1 when not in it (a ban forever)
}

func (e *banEntry) forever() bool { return e.banTime == Forever }

// end returns the unix nanoseconds the ban ends at (Start.Add(BanTime)); a
// ban forever has none.
func (e *banEntry) end() int64 { return e.sec*1e9 + int64(e.nsec) + int64(e.banTime) }

// start returns Start in unix nanoseconds.
func (e *banEntry) startNano() int64 { return e.sec*1e9 + int64(e.nsec) }

// Pages of entries: a table grows a page at a time, so a million bans
// never need one large array copied (and held twice) as it doubles.
const (
	pageBits = 12
	pageSize = 1 << pageBits
	pageMask = pageSize - 1
)

// banTable is one jail's live bans; the jail's mu guards it. Entries are
// dense in [0, n): removing one moves the last into its place.
type banTable struct {
	index   banIndex
	pages   *pageList
	n       int32
	heap    []int32             // entry numbers, earliest end first (bans forever are not in it)
	matches map[uint64][]string // messages of the entries that have some, by seq
	locs    []*time.Location    // the locations of the starts (one, as a rule)
}

// newBanTable returns j's empty table; what it maps outside the heap is
// given back when j is gone (or at once by release).
func newBanTable(j *jail) *banTable {
	t := &banTable{pages: &pageList{}}
	t.index.reset(0)
	runtime.AddCleanup(j, (*banTable).release, t)
	return t
}

// release gives back the table's memory; only a table without bans (a
// stopped jail's) may be released while in use.
func (t *banTable) release() {
	t.pages.free()
	t.index.reset(0) // a few bytes of heap, should a ban ever follow
	freeWords(t.heap)
	t.heap = nil
}

// presize makes the index of an empty table ready for n bans at once.
func (t *banTable) presize(n int) {
	if t.n == 0 {
		t.index.reset(n)
	}
}

// len returns the number of live bans.
func (t *banTable) len() int { return int(t.n) }

// at returns entry i, valid until the table next changes.
func (t *banTable) at(i int32) *banEntry { return &t.pages.p[i>>pageBits][i&pageMask] }

// find returns the entry number of the ban of p.
func (t *banTable) find(p netip.Prefix) (int32, bool) {
	k := keyOf(p)
	s := t.index.find(t, &k)
	if s < 0 {
		return 0, false
	}
	return int32(t.index.slots[s] - 1), true
}

// entry makes an entry for b (its Prefix valid) numbered seq.
func (t *banTable) entry(b *Ban, seq uint64) banEntry {
	e := banEntry{key: keyOf(b.Prefix), seq: seq, ver: 1, banTime: b.BanTime, hpos: -1}
	e.count = int32(min(max(b.Count, math.MinInt32), math.MaxInt32))
	e.setStart(t, b.Start)
	return e
}

func (e *banEntry) setStart(t *banTable, s time.Time) {
	e.sec, e.nsec = s.Unix(), int32(s.Nanosecond())
	loc := s.Location()
	for i, l := range t.locs {
		if l == loc {
			e.loc = uint8(i)
			return
		}
	}
	if len(t.locs) <= math.MaxUint8 {
		t.locs = append(t.locs, loc)
		e.loc = uint8(len(t.locs) - 1)
	} else {
		e.loc = 0 // 256 zones in one jail: only the instant is kept
	}
}

// insert adds e, its messages and, unless it is forever, its expiry; it
// returns the entry's number and whether it ends before every other.
func (t *banTable) insert(e banEntry, matches []string) (int32, bool) {
	i := t.n
	if int(i>>pageBits) == len(t.pages.p) {
		t.pages.grow()
	}
	e.flags &^= entryMatches
	if len(matches) > 0 {
		e.flags |= entryMatches
		if t.matches == nil {
			t.matches = make(map[uint64][]string)
		}
		t.matches[e.seq] = matches
	}
	e.hpos = -1
	*t.at(i) = e
	t.n++
	t.index.add(t, i)
	first := false
	if !e.forever() {
		t.heapPush(i)
		first = t.at(i).hpos == 0
	}
	return i, first
}

// remove takes entry i out of the table, its expiry and its messages, and
// returns it (with its messages) as it was.
func (t *banTable) remove(i int32) (banEntry, []string) {
	e := *t.at(i)
	if e.hpos >= 0 {
		t.heapRemove(e.hpos)
	}
	var ms []string
	if e.flags&entryMatches != 0 {
		ms = t.matches[e.seq]
		delete(t.matches, e.seq)
	}
	t.index.delete(t, t.index.find(t, &e.key))
	last := t.n - 1
	if i != last {
		moved := *t.at(last)
		t.index.slots[t.index.find(t, &moved.key)] = uint32(i) + 1
		*t.at(i) = moved
		if moved.hpos >= 0 {
			t.heap[moved.hpos] = i
		}
	}
	*t.at(last) = banEntry{}
	t.n--
	t.shrink()
	e.hpos = -1
	return e, ms
}

// shrink gives back what a jail that held many more bans than it does now
// keeps: pages beyond the one in use and a spare, and the index and heap
// once they are far too big.
func (t *banTable) shrink() {
	for len(t.pages.p) > 2 && int(t.n) <= (len(t.pages.p)-2)*pageSize {
		t.pages.drop()
	}
	if cap(t.heap) > 1024 && len(t.heap) < cap(t.heap)/4 {
		t.heapResize(2 * len(t.heap))
	}
	t.index.shrink(t)
}

// messages returns entry e's failure messages.
func (t *banTable) messages(e *banEntry) []string {
	if e.flags&entryMatches == 0 {
		return nil
	}
	return t.matches[e.seq]
}

// dropMessages forgets e's failure messages.
func (t *banTable) dropMessages(e *banEntry) {
	if e.flags&entryMatches != 0 {
		delete(t.matches, e.seq)
		e.flags &^= entryMatches
	}
}

// ban returns entry i as a Ban; its Matches are the table's, shared.
func (t *banTable) ban(i int32) Ban {
	e := t.at(i)
	p := e.key.prefix()
	start := time.Unix(e.sec, int64(e.nsec))
	if int(e.loc) < len(t.locs) {
		start = start.In(t.locs[e.loc])
	}
	return Ban{
		Addr:    p.Addr(),
		Prefix:  p,
		Start:   start,
		BanTime: e.banTime,
		Count:   int(e.count),
		Matches: t.messages(e),
	}
}

// setBanTime gives entry i a new ban time, moving it in (or out of) the
// expiry heap; it returns whether the ban now ends before every other.
func (t *banTable) setBanTime(i int32, d time.Duration) bool {
	e := t.at(i)
	e.banTime = d
	switch {
	case d == Forever:
		if e.hpos >= 0 {
			t.heapRemove(e.hpos)
		}
		return false
	case e.hpos < 0:
		t.heapPush(i)
	default:
		t.heapFix(e.hpos)
	}
	return t.at(i).hpos == 0
}

// The expiry heap: entry numbers ordered by end, each entry knowing its
// place (hpos) so a lifted ban leaves it in O(log n). Written out rather
// than with container/heap, whose Push boxes every number.

func (t *banTable) less(a, b int) bool { return t.at(t.heap[a]).end() < t.at(t.heap[b]).end() }

func (t *banTable) swap(a, b int) {
	t.heap[a], t.heap[b] = t.heap[b], t.heap[a]
	t.at(t.heap[a]).hpos = int32(a)
	t.at(t.heap[b]).hpos = int32(b)
}

func (t *banTable) up(k int) {
	for k > 0 {
		p := (k - 1) / 2
		if !t.less(k, p) {
			return
		}
		t.swap(k, p)
		k = p
	}
}

func (t *banTable) down(k int) bool {
	k0, n := k, len(t.heap)
	for {
		c := 2*k + 1
		if c >= n || c < 0 {
			break
		}
		if r := c + 1; r < n && t.less(r, c) {
			c = r
		}
		if !t.less(c, k) {
			break
		}
		t.swap(k, c)
		k = c
	}
	return k > k0
}

// heapResize moves the heap to an array of size (at least its length).
func (t *banTable) heapResize(size int) {
	h := allocWords[int32](size)[:len(t.heap)]
	copy(h, t.heap)
	freeWords(t.heap)
	t.heap = h
}

func (t *banTable) heapPush(i int32) {
	if len(t.heap) == cap(t.heap) {
		t.heapResize(max(2*cap(t.heap), 64))
	}
	t.heap = append(t.heap, i)
	k := len(t.heap) - 1
	t.at(i).hpos = int32(k)
	t.up(k)
}

func (t *banTable) heapRemove(k int32) {
	last := len(t.heap) - 1
	i := t.heap[k]
	if int(k) != last {
		t.swap(int(k), last)
	}
	t.heap = t.heap[:last]
	t.at(i).hpos = -1
	if int(k) != last {
		t.heapFix(k)
	}
}

func (t *banTable) heapFix(k int32) {
	if !t.down(int(k)) {
		t.up(int(k))
	}
}

// due returns the entry ending first if it ends at or before now.
func (t *banTable) due(now int64) (int32, bool) {
	if len(t.heap) == 0 || t.at(t.heap[0]).end() > now {
		return 0, false
	}
	return t.heap[0], true
}

// next returns the earliest end, if any.
func (t *banTable) next() (int64, bool) {
	if len(t.heap) == 0 {
		return 0, false
	}
	return t.at(t.heap[0]).end(), true
}
