#!/usr/bin/python3
"""Oracle for package dates: runs lines through the installed fail2ban's own
DateDetector and prints what it finds as JSON, for the Go tests to compare.

It imports fail2ban (GPL) at test time and copies nothing of it.

Usage:
  oracle.py corpus TZ NOW LOGDIR [LOGDIR...]   every log line of fail2ban's
      sample corpus, with the default templates, with the datepatterns of
      the matching filter (and its filterOptions), and with every
      datepattern of /etc/fail2ban/filter.d
  oracle.py lines TZ NOW < jobs.json            jobs given on stdin:
      [{"pattern": str or null, "logtimezone": str or null, "lines": [str]}]

TZ is set before fail2ban is loaded; NOW (seconds) is fail2ban's MyTime, as
its test suite fixes it.
"""

import glob
import json
import os
import re
import sys
import time

CONFIG_DIR = '/etc/fail2ban'


def setup(tz, now):
    os.environ['TZ'] = tz
    time.tzset()
    from fail2ban.server.mytime import MyTime
    MyTime.setAlternateNow(now)
    MyTime.setTime(now)
    from fail2ban.server.datedetector import DateDetector
    # Build fail2ban's default template cache first, as a running server
    # does, so that shared templates carry their weights.
    DateDetector._defCache.templates
    return DateDetector


def reset_mktime():
    """Reset the C library's mktime offset guess to its initial 0, so that
    each job starts as a fresh Go detector does."""
    saved = os.environ['TZ']
    os.environ['TZ'] = 'UTC0'
    time.tzset()
    time.mktime((2000, 1, 1, 0, 0, 0, 0, 0, -1))
    os.environ['TZ'] = saved
    time.tzset()


def split_patterns(pattern):
    # as Filter.setDatePattern
    return list(filter(bool, map(str.strip, re.split('\n+', pattern))))


def blen(s):
    return len(s.encode('utf-8', 'surrogatepass'))


def run_job(DateDetector, pattern, logtz, lines):
    reset_mktime()
    dd = DateDetector()
    try:
        if logtz is not None:
            dd.default_tz = logtz
        if pattern is not None:
            for p in split_patterns(pattern):
                dd.appendTemplate(p)
        if not dd.templates:
            dd.addDefaultTemplate()
        # fail2ban counts matches on templates shared by the whole process;
        # start from zero, as a fresh process (and a Go detector) does.
        for t in dd.templates:
            t.template.hits = 0
    except Exception as e:
        return {'error': '%s: %s' % (type(e).__name__, e)}
    out = []
    for line in lines:
        r = {'found': False}
        try:
            m, tmpl = dd.matchTime(line)
            if m is not None:
                r['found'] = True
                r['template'] = tmpl.name
                s, e = m.start(1), m.end(1)
                if s < 0:
                    r['start'] = r['end'] = -1
                else:
                    r['start'], r['end'] = blen(line[:s]), blen(line[:e])
                text = line[s:e]
                if text:
                    date = dd.getTime(text, (m, tmpl))
                    if date is None:
                        r['err'] = 'bad'
                    else:
                        r['time'] = float(date[0])
        except Exception as e:
            r['found'] = True
            r['err'] = 'fail'
            r['exc'] = '%s: %s' % (type(e).__name__, e)
        out.append(r)
    return {'results': out}


def decode_line(b):
    # as FileContainer.decode_line with UTF-8
    try:
        return b.decode('utf-8', 'strict')
    except UnicodeDecodeError as e:
        if e.end == len(b) and b[e.start:e.start + 1] in (b'\r', b'\n'):
            return b[0:e.start].decode('utf-8', 'replace')
        return b.decode('utf-8', 'replace')


def read_log(path):
    with open(path, 'rb') as f:
        data = f.read()
    raw = data.split(b'\n')
    if raw and raw[-1] == b'':
        raw.pop()
    lines, options = [], [{}]
    common = {}
    for b in raw:
        line = decode_line(b + b'\n').rstrip('\r\n')
        m = re.match(r"^#+ ?(failJSON|(?:file|filter)Options|addFILE):(.+)$", line)
        if m and m.group(1) in ('fileOptions', 'filterOptions'):
            try:
                opts = json.loads(m.group(2))
            except ValueError:
                opts = {}
            if m.group(1) == 'fileOptions':
                common = opts
                options.append(dict(common))
            else:
                for o in (opts if isinstance(opts, list) else [opts]):
                    merged = dict(common)
                    merged.update(o)
                    options.append(merged)
        if line.startswith('#'):
            continue
        lines.append(line)
    return lines, options


def filter_datepattern(name, opts):
    """The datepattern fail2ban's FilterReader gives filter name with the
    options, or None."""
    from fail2ban.client.filterreader import FilterReader
    opts = dict((k, v) for k, v in opts.items() if not k.startswith('test.'))
    try:
        r = FilterReader(name, 'jail', opts, basedir=CONFIG_DIR)
        r.read()
        r.getOptions({})
        for opt in r.convert():
            if opt[2] == 'datepattern':
                return opt[3]
    except Exception:
        return None
    return None


def corpus(DateDetector, dirs):
    files = {}
    for d in dirs:
        for path in sorted(glob.glob(os.path.join(d, '*'))):
            if os.path.isfile(path):
                files[os.path.relpath(path, d)] = path
    all_patterns = set()
    for conf in sorted(glob.glob(os.path.join(CONFIG_DIR, 'filter.d', '*.conf'))):
        p = filter_datepattern(os.path.basename(conf)[:-5], {})
        if p is not None:
            all_patterns.add(p)
    logs, own = {}, {}
    for name, path in files.items():
        lines, options = read_log(path)
        logs[name] = lines
        base = os.path.basename(name)
        pats = set()
        if os.path.exists(os.path.join(CONFIG_DIR, 'filter.d', base + '.conf')):
            for o in options:
                p = filter_datepattern(base, o)
                if p is not None:
                    pats.add(p)
        own[name] = pats
        all_patterns |= pats
    jobs = []
    for name in files:
        seen = set()
        for pattern, kind in [(None, 'default')] + \
                [(p, 'filter') for p in sorted(own[name])] + \
                [(p, 'filter.d') for p in sorted(all_patterns)]:
            if pattern in seen:
                continue
            seen.add(pattern)
            job = {'file': name, 'kind': kind, 'pattern': pattern}
            job.update(run_job(DateDetector, pattern, None, logs[name]))
            jobs.append(job)
    return {'logs': logs, 'jobs': jobs}


def main():
    mode, tz, now = sys.argv[1], sys.argv[2], float(sys.argv[3])
    DateDetector = setup(tz, now)
    if mode == 'corpus':
        out = corpus(DateDetector, sys.argv[4:])
    elif mode == 'lines':
        out = [run_job(DateDetector, j.get('pattern'), j.get('logtimezone'), j['lines'])
               for j in json.load(sys.stdin)]
    else:
        sys.exit('unknown mode %r' % mode)
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
