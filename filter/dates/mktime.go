package dates

// localNaive converts an instant to the zone's wall-clock time, as
// localtime(3) (and so Python's datetime.fromtimestamp) does.
func (z *Zone) localNaive(t int64) naive { return z.localNaiveIn(t, nil) }

// localNaiveIn is localNaive with a cache of the zone's switches (nil: none).
func (z *Zone) localNaiveIn(t int64, ys *yearSwitches) naive {
	_, off, _ := z.lookupIn(t, ys)
	return naiveFromSeconds(t + int64(off))
}

// mktime converts wall-clock time in the zone to an instant as the GNU C
// library's mktime does with tm_isdst = -1 (what Python's time.mktime
// passes for a naive datetime): it probes with the offset of its previous
// result (*guess, which it updates), so a time in an autumn overlap is read
// with whichever offset was used last, and a time in a spring gap is moved
// by the size of the gap. ok is false where the C library fails.
func (z *Zone) mktime(n naive, guess *int64) (t int64, ok bool) { return z.mktimeIn(n, guess, nil) }

// mktimeIn is mktime with a cache of the zone's switches (nil: none).
func (z *Zone) mktimeIn(n naive, guess *int64, ys *yearSwitches) (t int64, ok bool) {
	return z.mktimeSecs(n.seconds(), guess, ys)
}

// mktimeSecs is mktimeIn for the wall-clock time as naive seconds.
func (z *Zone) mktimeSecs(target int64, guess *int64, ys *yearSwitches) (t int64, ok bool) {
	t0 := target + *guess
	t, t1, t2 := t0, t0, t0
	dst2 := 0
	probes := 6
	for {
		_, off, isDst := z.lookupIn(t, ys)
		dt := target - (t + int64(off))
		if dt == 0 {
			break
		}
		dst := 0
		if isDst {
			dst = 1
		}
		// Oscillating between two values: the time is in a gap; take the
		// probe whose DST flag is set if only one of them has it.
		if t == t1 && t != t2 && dst2 <= dst {
			break
		}
		probes--
		if probes == 0 {
			return 0, false
		}
		t1, t2, t, dst2 = t2, t, t+dt, dst
	}
	*guess = t - target
	return t, true
}
