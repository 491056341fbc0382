package logjail

import (
	"cmp"
	"slices"
	"sync"
	"sync/atomic"
)

// Journal is the file name FileStats gives the journal's lines.
const Journal = "journal"

// fileCounts count one file's lines in one jail.
type fileCounts struct {
	read, matched, ignored, errors atomic.Uint64
}

// lineCounts are a jail's fileCounts by file. A file's entry stays while
// the jail does: a jail reads the files its globs match, so they are few.
type lineCounts struct {
	mu    sync.Mutex // guards files
	files map[string]*fileCounts
}

// get returns the counts of file, made on its first line.
func (c *lineCounts) get(file string) *fileCounts {
	c.mu.Lock()
	defer c.mu.Unlock()
	fc := c.files[file]
	if fc == nil {
		if c.files == nil {
			c.files = make(map[string]*fileCounts)
		}
		fc = &fileCounts{}
		c.files[file] = fc
	}
	return fc
}

// fileCounts returns the counts of the file a line came from; r.mu is
// held. Consecutive lines mostly come from one file: the last one's are
// kept, and counts' lock is only taken when the file changes.
func (r *reader) fileCounts(file string) *fileCounts {
	if r.counts == nil {
		if r.last == nil {
			r.last = &fileCounts{} // a reader made alone: counted nowhere
		}
		return r.last
	}
	if file == "" {
		file = Journal
	}
	if r.last == nil || r.lastFile != file {
		r.last, r.lastFile = r.counts.get(file), file
	}
	return r.last
}

// FileStats count what a jail read from one file.
type FileStats struct {
	Jail string
	// File is the path the lines came from (the configured one, also for
	// lines drained from a rotated file), or Journal.
	File string
	// Read counts the lines read. Matched counts those that gave a
	// failure the jail counted; Ignored those that gave failures but
	// none the jail counted (an ignored or unbannable address, an idle
	// jail, a line older than findtime, a host that is no address).
	// Errors counts the lines the filter failed on (a regex over its
	// budget). A line no failregex matches, or an ignoreregex matched,
	// is only read.
	Read, Matched, Ignored, Errors uint64
}

// FileStats returns every log jail's counts per file, by jail then file.
// They last as long as the jail, over changes of its settings.
func (m *Manager) FileStats() []FileStats {
	m.mu.Lock()
	type jc struct {
		name string
		c    *lineCounts
	}
	var cs []jc
	for name, js := range m.jails {
		if js.lines != nil {
			cs = append(cs, jc{name, js.lines})
		}
	}
	m.mu.Unlock()
	var out []FileStats
	for _, c := range cs {
		c.c.mu.Lock()
		for file, fc := range c.c.files {
			out = append(out, FileStats{Jail: c.name, File: file, Read: fc.read.Load(), Matched: fc.matched.Load(),
				Ignored: fc.ignored.Load(), Errors: fc.errors.Load()})
		}
		c.c.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b FileStats) int {
		return cmp.Or(cmp.Compare(a.Jail, b.Jail), cmp.Compare(a.File, b.File))
	})
	return out
}
