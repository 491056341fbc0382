package server

import "testing"

// SkipDirCheck turns off Listen's socket directory check until t ends, so
// that a racer in a directory another user owns exercises the creation
// mechanism itself instead of being refused at the door. Tests that call it
// must not run in parallel with other Listen tests.
func SkipDirCheck(t testing.TB) {
	t.Helper()
	skipDirCheck.Store(true)
	t.Cleanup(func() { skipDirCheck.Store(false) })
}
