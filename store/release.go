package store

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
)

// ReleaseMemory drops the pages of the file's memory map from the
// process's resident set. bbolt reads through a shared read-only map of the
// whole file; a scan such as Live's at a restart with a million bans faults
// in every page of the bans bucket (and the kernel maps the cached pages
// around each fault too), and those pages would then count in the daemon's
// RSS, as top shows it, for as long as it runs. MADV_DONTNEED on a shared
// file map only unmaps the pages: the data stays in the file and in the
// page cache, and a later read faults the page it needs back in.
//
// It runs inside a read transaction, which holds bbolt's map lock: the map
// cannot move (a remap as the file grows) while it is advised. Its length
// comes from /proc/self/maps, not from the file's size, which bbolt may grow
// past the map's end.
func (d *DB) ReleaseMemory() error {
	if err := d.view(func(*bolt.Tx) error { return d.dropPages() }); err != nil {
		return fmt.Errorf("store: release memory map: %w", err)
	}
	return nil
}

// dropPages advises the whole map MADV_DONTNEED. The caller holds a
// transaction, read or the committer's write, so the map cannot move
// meanwhile (bbolt remaps only in the writer's commit, under a lock its
// readers share).
func (d *DB) dropPages() error {
	start := d.bolt.Info().Data
	end, err := mapEnd(start)
	if err != nil {
		return err
	}
	// bbolt gives the map's address as a uintptr; the raw system call
	// takes it as one, so no Go pointer is made of it.
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}

// releaseEvery is how many records a scan of every ban (Live, LiveChunks,
// Purge) reads between two drops of the map's pages; a variable for the
// tests.
var releaseEvery = 1 << 16

// scanPages bounds the map's share of the resident set during a long scan:
// a restart's LiveChunks, or the purge the daemon runs as it starts, would
// otherwise fault in every page of the bans and history buckets (200 MiB
// for a million bans) and hold them until its end, while the socket
// serves. Dropping them every releaseEvery records keeps a few MiB
// resident at a time; a page read again faults back in from the page
// cache, the data unchanged (the map is of the file).
type scanPages struct {
	d *DB
	n int // records read since the last drop
}

// read counts one record read through the map.
func (s *scanPages) read() {
	if s.n++; s.n < releaseEvery {
		return
	}
	s.n = 0
	if err := s.d.dropPages(); err != nil {
		// Only memory is at stake, and ReleaseMemory after the scan
		// reports the same failure where the caller sees it.
		s.d.log.Debug("scan: dropping the map's pages", zap.Error(err))
	}
}

// errNoMap reports a map start /proc/self/maps does not list.
var errNoMap = errors.New("map not found in /proc/self/maps")

// mapEnd returns the end address of the mapping that begins at start.
func mapEnd(start uintptr) (uintptr, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	want := strconv.AppendUint(nil, uint64(start), 16)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "7ff705e00000-7ff706600000 r--s 00000000 fe:00 10427076 /path"
		line := sc.Bytes()
		lo, rest, ok := bytes.Cut(line, []byte("-"))
		if !ok || !bytes.Equal(lo, want) {
			continue
		}
		hi, _, _ := bytes.Cut(rest, []byte(" "))
		end, err := strconv.ParseUint(string(hi), 16, 64)
		if err != nil || uintptr(end) <= start {
			return 0, fmt.Errorf("/proc/self/maps: bad line %q", line)
		}
		return uintptr(end), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%w: %#x", errNoMap, start)
}
