package pyre

import (
	"errors"
	"fmt"
	"time"

	"github.com/dlclark/regexp2/v2"
)

// The budget of a match on regexp2 is a time limit (regexp2's
// MatchTimeout, checked at every step of its interpreter against a clock
// that ticks every timeoutCheckPeriod) and a bound on its backtracking
// stack. A match over either is an error matching ErrBudget, after one
// retry (see find2). Go's regexp needs no budget: it is linear in the
// subject.

// DefaultBudget is the time one match may take when Options.Budget is 0.
const DefaultBudget = 100 * time.Millisecond

// backtrackSlots bounds regexp2's backtracking stack per match (8 bytes a
// slot): far above what a sane pattern needs on a long line, far below
// what a runaway one would take.
const backtrackSlots = 1 << 20

// timeoutCheckPeriod is how often regexp2's clock ticks; a match stops
// within about two periods after its budget.
const timeoutCheckPeriod = 10 * time.Millisecond

func init() {
	// Must run before any match with a timeout; regexp2's default of
	// 100ms would let a 10ms budget run for 200ms.
	regexp2.SetTimeoutCheckPeriod(timeoutCheckPeriod)
}

func compileNET(src string, budget time.Duration) (*regexp2.Regexp, error) {
	re, err := regexp2.Compile(src, regexp2.OptionMaxBacktrackingStackSize(backtrackSlots))
	if err != nil {
		return nil, err
	}
	re.MatchTimeout = budget
	return re, nil
}

func (r *Regex) budgetError(err error, n int) error {
	if errors.Is(err, regexp2.ErrBacktrackingStackLimit) {
		return fmt.Errorf("%w: backtracking stack over %d slots on a %d-byte subject", ErrBudget, backtrackSlots, n)
	}
	// regexp2's only other error is its timeout; its message quotes the
	// whole subject, which may be long and hostile: leave it out.
	return fmt.Errorf("%w: over %v on a %d-byte subject", ErrBudget, r.budget, n)
}
