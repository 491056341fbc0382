//go:build unix

package jail

import (
	"syscall"
	"unsafe"
)

// allocMapped maps n zeroed bytes outside the Go heap, or returns nil.
func allocMapped(n int) unsafe.Pointer {
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		return nil
	}
	mappedBytes.Add(int64(n))
	return unsafe.Pointer(&b[0])
}

// freeMapped unmaps n bytes at p; memory from the heap is left to the
// collector (Munmap finds a mapping by its address and refuses any other).
func freeMapped(p unsafe.Pointer, n int) {
	if syscall.Munmap(unsafe.Slice((*byte)(p), n)) == nil {
		mappedBytes.Add(-int64(n))
	}
}
