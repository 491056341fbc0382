#!/usr/bin/python3
"""Runs line sequences through fail2ban's own Filter (the installed
fail2ban 1.0.2) and prints what findFailure returned for each line, for
filter's TestOracle to compare with the engine.

stdin: a JSON list of scenarios:
  {"name", "tz", "now" (seconds), "checkall" (bool),
   "filter": {"name", "dir" (a filter.d), "opts"} or null,
   "pref", "fail" [..], "ignore" [..], "datepattern", "maxlines", "usedns",
   "lines": [{"line", "t" (seconds or null)}]}
stdout: a JSON list, one entry a scenario: {"error"} or {"lines": [...]},
each line {"error"} or {"failures": [{"regex", "host", "time", "matches",
"user", "users", "ip", "nofail"}]}.
"""
import json
import os
import sys
import time

scenarios = json.load(sys.stdin)
os.environ['TZ'] = scenarios[0]['tz'] if scenarios else 'UTC'
time.tzset()

from fail2ban.server.filter import Filter
from fail2ban.server.mytime import MyTime
from fail2ban.client.filterreader import FilterReader


def build(sc):
    f = Filter(None)
    f.checkFindTime = False
    f.checkAllRegex = sc.get('checkall', False)
    f.setUseDns(sc.get('usedns') or 'raw')
    fl = sc.get('filter')
    if fl:
        r = FilterReader(fl['name'], 'jail', dict(fl.get('opts') or {}), basedir=os.path.dirname(fl['dir'].rstrip('/')))
        if not r.read():
            raise Exception('cannot read filter %s' % fl['name'])
        r.getOptions({})
        for opt in r.convert():
            vals = opt[3] if opt[0] == 'multi-set' else [opt[3]]
            for v in vals:
                if opt[2] == 'prefregex':
                    f.prefRegex = v
                elif opt[2] == 'addfailregex':
                    f.addFailRegex(v)
                elif opt[2] == 'addignoreregex':
                    f.addIgnoreRegex(v)
                elif opt[2] == 'maxlines':
                    f.setMaxLines(v)
                elif opt[2] == 'datepattern':
                    f.setDatePattern(v)
        return f
    if sc.get('maxlines'):
        f.setMaxLines(sc['maxlines'])
    if sc.get('pref'):
        f.prefRegex = sc['pref']
    for r in sc.get('fail') or []:
        f.addFailRegex(r)
    for r in sc.get('ignore') or []:
        f.addIgnoreRegex(r)
    if sc.get('datepattern'):
        f.setDatePattern(sc['datepattern'])
    return f


def run(sc):
    MyTime.setTime(sc['now'])
    try:
        f = build(sc)
    except Exception as e:
        return {'error': repr(e)}
    out = []
    for ln in sc.get('lines') or []:
        try:
            if ln.get('t') is not None:
                ret = f.processLine(('', '', ln['line']), ln['t'])
            else:
                ret = f.processLine(ln['line'])
        except Exception as e:
            out.append({'error': repr(e)})
            continue
        fails = []
        for idx, fid, t, fail in ret:
            users = fail.get('users')
            fails.append({
                'regex': idx,
                'host': None if fid is None else str(fid),
                'time': t,
                'matches': len(fail.get('matches') or []),
                'user': fail.get('user'),
                'users': sorted(users) if users else None,
                'ip': None if fail.get('ip') is None else str(fail.get('ip')),
                'nofail': bool(fail.get('nofail')),
            })
        out.append({'failures': fails})
    return {'lines': out}


json.dump([run(sc) for sc in scenarios], sys.stdout)
