package jail

import (
	"sync/atomic"
	"unsafe"
)

// mappedBytes counts the bytes mapped outside the heap, for tests.
var mappedBytes atomic.Int64

// pageBytes is the size of a page of ban entries.
const pageBytes = int(unsafe.Sizeof([pageSize]banEntry{}))

// pageList holds a table's pages of entries. On Unix they are mapped
// memory outside the Go heap (pages_unix.go): entries hold no pointers, so
// the collector need not see them, and keeping them out of the heap keeps
// them out of its pacing too. With GOGC at 100 the heap may grow to twice
// what is live before a collection, and the process's resident memory
// follows it: a million bans in the heap would cost twice their size.
// A page given back is returned to the system at once.
type pageList struct {
	p []*[pageSize]banEntry
}

// grow adds a zeroed page.
func (l *pageList) grow() {
	p := (*[pageSize]banEntry)(allocMapped(pageBytes))
	if p == nil {
		p = new([pageSize]banEntry)
	}
	l.p = append(l.p, p)
}

// drop gives back the last page.
func (l *pageList) drop() {
	last := len(l.p) - 1
	freeMapped(unsafe.Pointer(l.p[last]), pageBytes)
	l.p[last] = nil
	l.p = l.p[:last]
}

// free gives back every page.
func (l *pageList) free() {
	for len(l.p) > 0 {
		l.drop()
	}
}

// mapMin is the size from which allocWords maps memory rather than take
// it from the heap: a small jail's index and heap are not worth a system
// call, a million bans' (12 MB) are, and the old array of one that doubles
// goes back to the system at once rather than waiting for a collection.
const mapMin = 64 << 10

// allocWords returns n zeroed words, outside the heap when large.
func allocWords[T uint32 | int32](n int) []T {
	if n*4 >= mapMin {
		if p := allocMapped(n * 4); p != nil {
			return unsafe.Slice((*T)(p), n)
		}
	}
	return make([]T, n)
}

// freeWords gives back s, from allocWords with its full length.
func freeWords[T uint32 | int32](s []T) {
	if cap(s)*4 >= mapMin {
		freeMapped(unsafe.Pointer(unsafe.SliceData(s)), cap(s)*4)
	}
}
