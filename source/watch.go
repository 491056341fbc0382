package source

import (
	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// watcher is the inotify side of the inotify backend: watches on the
// directories of the followed paths (a watch on the directory sees the
// file's writes, its rename, and a new file created in its place).
type watcher struct {
	w    *fsnotify.Watcher
	dirs map[string]bool // directories watched now
}

// startWatcher is newWatcher; a test makes it fail to see the fallback.
var startWatcher = newWatcher

func newWatcher() (*watcher, error) {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, errorf("inotify: %w", err)
	}
	return &watcher{w: w, dirs: make(map[string]bool)}, nil
}

// sync adds watches on the directories in want not watched yet. A
// directory that cannot be watched (absent, out of watches) is polled by
// the caller until a later sync succeeds.
func (w *watcher) sync(want map[string]bool, log *zap.Logger) {
	for d := range want {
		if w.dirs[d] {
			continue
		}
		if err := w.w.Add(d); err != nil {
			log.Debug("source: cannot watch directory, polling it", zap.String("dir", d), zap.Error(err))
			continue
		}
		w.dirs[d] = true
	}
	for d := range w.dirs {
		if !want[d] {
			_ = w.w.Remove(d)
			delete(w.dirs, d)
		}
	}
}

// watched reports whether events cover dir.
func (w *watcher) watched(dir string) bool { return w != nil && w.dirs[dir] }

// forget drops dir after it was removed or renamed (its watch is gone).
func (w *watcher) forget(dir string) {
	if w.dirs[dir] {
		_ = w.w.Remove(dir)
		delete(w.dirs, dir)
	}
}

func (w *watcher) close() { _ = w.w.Close() }
