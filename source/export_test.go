package source

import "testing"

// journalctlPID returns the pid of the journalctl Run runs now (0: none).
func (j *Journal) journalctlPID() int { return int(j.pid.Load()) }

// failWatcher makes the inotify backend fail to start until the test ends.
func failWatcher(t testing.TB) {
	startWatcher = func() (*watcher, error) { return nil, errorf("inotify: test says no") }
	t.Cleanup(func() { startWatcher = newWatcher })
}
