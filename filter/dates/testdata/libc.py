#!/usr/bin/python3
"""What the C library makes of a TZ value, for the Go tests of package
dates: reads a JSON list of jobs on stdin, prints results as JSON.

Job: {"tz": TZ value, "instants": [unix seconds], "years": [years],
      "naive": [[y, m, d, H, M, S], ...]}
Result: {"local": {"<t>": [gmtoff, abbr, isdst]} for the instants and for
         the switches the C library makes in the given years (found by
         scanning), each with the second before and after;
         "mktime": [seconds or null] for the naive times, converted in order
         by one process's mktime, whose offset guess starts at 0.}
"""
import calendar
import json
import os
import sys
import time


def local(t):
    lt = time.localtime(t)
    return [lt.tm_gmtoff, lt.tm_zone, lt.tm_isdst]


def switches(years):
    out = []
    for y in years:
        t = calendar.timegm((y, 1, 1, 0, 0, 0)) - 2 * 86400
        end = t + 367 * 86400
        prev = local(t)
        while t < end:
            n = t + 1800
            cur = local(n)
            if cur != prev:
                lo, hi = t, n
                while hi - lo > 1:
                    mid = (lo + hi) // 2
                    if local(mid) == prev:
                        lo = mid
                    else:
                        hi = mid
                out.append(hi)
            prev, t = cur, n
    return out


def main():
    res = []
    for job in json.load(sys.stdin):
        os.environ['TZ'] = 'UTC0'
        time.tzset()
        time.mktime((2000, 1, 1, 0, 0, 0, 0, 0, -1))  # offset guess := 0
        os.environ['TZ'] = job['tz']
        time.tzset()
        out = {'local': {}, 'mktime': []}
        ts = list(job.get('instants', []))
        for c in switches(job.get('years', [])):
            ts += [c - 1, c, c + 1]
        for t in ts:
            out['local'][str(t)] = local(t)
        for n in job.get('naive', []):
            try:
                out['mktime'].append(int(time.mktime(tuple(n) + (0, 0, -1))))
            except (OverflowError, ValueError):
                out['mktime'].append(None)
        res.append(out)
    json.dump(res, sys.stdout)


if __name__ == '__main__':
    main()
