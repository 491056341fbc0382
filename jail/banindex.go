package jail

import "hash/maphash"

// banIndex finds a jail's ban entry by key: an open-addressing table of
// entry numbers (linear probing, deletion by shifting back, no tombstones)
// whose keys are read from the entries themselves, so a ban costs 4 to 8
// bytes of index where a map of keys to numbers costs over 50. The hash is
// seeded per table, so addresses chosen to collide cannot be computed in
// advance.
type banIndex struct {
	slots []uint32 // entry number + 1; 0 is empty. Holds every entry of the table.
	seed  maphash.Seed
}

const minIndexSlots = 16

// indexSize returns the slots for n keys: at most three quarters full.
func indexSize(n int) int {
	size := minIndexSlots
	for size*3/4 < n {
		size *= 2
	}
	return size
}

// reset empties the index, sized for n keys.
func (x *banIndex) reset(n int) {
	freeWords(x.slots)
	x.slots = allocWords[uint32](indexSize(n))
	x.seed = maphash.MakeSeed()
}

func (x *banIndex) home(k *banKey) int {
	h := maphash.Bytes(x.seed, k.addr[:]) // cheaper than maphash.Comparable on the struct
	h ^= uint64(k.bits) << 1
	if k.is4 {
		h ^= 1
	}
	return int(h & uint64(len(x.slots)-1))
}

// find returns the slot holding k's entry number, or -1.
func (x *banIndex) find(t *banTable, k *banKey) int {
	if t.n == 0 {
		return -1 // the attempt path of a jail without bans, hashing nothing
	}
	mask := len(x.slots) - 1
	for s := x.home(k); ; s = (s + 1) & mask {
		v := x.slots[s]
		if v == 0 {
			return -1
		}
		if t.at(int32(v-1)).key == *k {
			return s
		}
	}
}

// add records entry i, the table's last, under its key.
func (x *banIndex) add(t *banTable, i int32) {
	if int(t.n)*4 > len(x.slots)*3 {
		x.rebuild(t, len(x.slots)*2) // places i too
		return
	}
	x.place(t, i)
}

func (x *banIndex) place(t *banTable, i int32) {
	mask := len(x.slots) - 1
	s := x.home(&t.at(i).key)
	for x.slots[s] != 0 {
		s = (s + 1) & mask
	}
	x.slots[s] = uint32(i) + 1
}

// delete empties slot s, shifting back the entries after it that would
// otherwise no longer be found.
func (x *banIndex) delete(t *banTable, s int) {
	mask := len(x.slots) - 1
	for {
		x.slots[s] = 0
		next := s
		for {
			next = (next + 1) & mask
			v := x.slots[next]
			if v == 0 {
				return
			}
			h := x.home(&t.at(int32(v - 1)).key)
			// The entry at next may fill s unless its home lies
			// cyclically in (s, next].
			if (next > s && (h <= s || h > next)) || (next < s && h <= s && h > next) {
				x.slots[s] = v
				s = next
				break
			}
		}
	}
}

// shrink halves the index (or more) once it is eight times larger than
// its n keys need, leaving room to grow back.
func (x *banIndex) shrink(t *banTable) {
	if len(x.slots) > 1024 && int(t.n)*8 < len(x.slots) {
		x.rebuild(t, 2*indexSize(int(t.n)))
	}
}

// rebuild remakes the index with size slots from the table's entries.
func (x *banIndex) rebuild(t *banTable, size int) {
	freeWords(x.slots)
	x.slots = allocWords[uint32](size)
	for i := range t.n {
		x.place(t, i)
	}
}
