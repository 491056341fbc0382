package route

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// capNetAdmin is CAP_NET_ADMIN's bit in the capability sets.
const capNetAdmin = 12

// CanChangeRoutes reports whether this process may change routes: whether
// CAP_NET_ADMIN is in its effective set (root has it unless a container or
// systemd dropped it, and a non-root service may be granted it alone, so
// the uid decides nothing). When not, the reason says why.
func CanChangeRoutes() (bool, string) {
	return canChangeRoutes("/proc/self/status")
}

func canChangeRoutes(status string) (bool, string) {
	capEff, err := readCapEff(status)
	if err != nil {
		return false, err.Error()
	}
	if capEff&(1<<capNetAdmin) == 0 {
		return false, fmt.Sprintf("route: CAP_NET_ADMIN is not in the effective capabilities (uid %d, CapEff %016x)", os.Geteuid(), capEff)
	}
	return true, ""
}

func readCapEff(status string) (uint64, error) {
	f, err := os.Open(status)
	if err != nil {
		return 0, fmt.Errorf("route: capabilities: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "CapEff:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("route: capabilities: CapEff %q: %w", v, err)
			}
			return n, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("route: capabilities: %w", err)
	}
	return 0, fmt.Errorf("route: capabilities: no CapEff line in %s", status)
}
