//go:build race

package jail

// raceEnabled: the race detector adds allocations of its own (sync.Pool
// drops items at random under -race), so exact allocation counts are
// checked only in builds without it; make test runs both kinds.
const raceEnabled = true
