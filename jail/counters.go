package jail

import (
	"cmp"
	"slices"
)

// Counters are one jail's counters, for metrics.
type Counters struct {
	Name string
	// Failures counts failures since the jail was added, as Status's
	// TotalFailed (one per Attempt counted).
	Failures int
	// Bans counts bans since the jail was added, restored ones included,
	// as Status's TotalBanned; Unbans counts bans lifted since, for any
	// cause (a command, expiry, the cluster, the jail stopped).
	Bans, Unbans int
	// Failed is the addresses with failures being tracked; Banned the
	// live bans.
	Failed, Banned int
}

// Counters returns every jail's counters, sorted by name. Like Status it
// drops failures older than findtime first, so Failed is current; unlike
// it, it lists no bans, so a scrape costs the same with a million bans.
func (m *Manager) Counters() []Counters {
	m.sweepFailures(m.now())
	js := m.snapshot()
	out := make([]Counters, 0, len(js))
	for _, j := range js {
		j.mu.Lock()
		if j.removed {
			j.mu.Unlock()
			continue
		}
		c := Counters{Name: j.name, Failures: j.failTotal, Bans: j.banTotal, Unbans: j.unbanTotal, Banned: j.bans.len()}
		m.fails.mu.Lock()
		c.Failed = j.nfailed
		m.fails.mu.Unlock()
		j.mu.Unlock()
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Counters) int { return cmp.Compare(a.Name, b.Name) })
	return out
}
