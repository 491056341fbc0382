#!/usr/bin/python3
"""Python's own answers for the pyre tests (the oracle).

Run by the Go tests with Debian's /usr/bin/python3, which has fail2ban
installed. Nothing of fail2ban is copied here: its filters, corpus and code
are read from the installed package at run time.

Modes (the answer is JSON on stdout):

  corpus   every failregex, prefregex and ignoreregex of every stock filter,
           for every option set its sample log uses; for each, Python's
           re.search over every corpus line (as is, and with the "\\n"
           fail2ban appends), and over the exact buffers fail2ban's own
           Filter.processLine searched (date cut out, "\\n" appended,
           multi-line buffers, prefregex content).
  match    stdin: [{"pattern", "multiline", "subject", "op"}]; op is
           "search" or "match". Python's answer for each.
  tags     stdin: [{"pattern", "usedns", "subject"?}]; fail2ban's
           Regex(...)._regex for each (or the error it raises), and with a
           subject, its getGroups() after a search.
  decode   stdin: [hex string]; bytes.decode("utf-8", "replace") of each.
  time     stdin: {"pattern", "subject"}; seconds re.search took.
  unicode  stdin: [pattern]; Python's \\w, \\d, \\s, its case tables, and the
           code points each one-character pattern matches, as ranges.

Offsets in answers are UTF-8 byte offsets, as Go sees the same string; a
group that did not participate is [-1, -1].
"""

import json
import os
import re
import sys
import time

FAIL2BAN_TESTS = None


def spans(m, s):
    """The byte spans of every group of match m in str s, flattened."""
    if m is None:
        return None
    # Byte offset of each code-point offset, computed lazily for non-ASCII.
    ascii_ = s.isascii()
    out = []
    for g in range(m.re.groups + 1):
        a, b = m.span(g)
        if a >= 0 and not ascii_:
            a = len(s[:a].encode("utf-8", "surrogatepass"))
            b = len(s[:b].encode("utf-8", "surrogatepass"))
        out += [a, b]
    return out


def compile_py(pattern, multiline):
    return re.compile(pattern, re.MULTILINE if multiline else 0)


def mode_match():
    out = []
    for q in json.load(sys.stdin):
        try:
            r = compile_py(q["pattern"], q.get("multiline", False))
        except re.error as e:
            out.append({"error": str(e)})
            continue
        except (OverflowError, RecursionError, ValueError) as e:
            out.append({"error": "%s: %s" % (type(e).__name__, e)})
            continue
        f = r.match if q.get("op") == "match" else r.search
        m = f(q["subject"])
        out.append({
            "spans": spans(m, q["subject"]),
            "names": r.groupindex and dict(r.groupindex) or {},
            "groups": r.groups,
        })
    json.dump(out, sys.stdout)


def mode_tags():
    from fail2ban.server.failregex import Regex, RegexException
    out = []
    for q in json.load(sys.stdin):
        try:
            r = Regex(q["pattern"], multiline=q.get("multiline", False),
                      useDns=q.get("usedns", "yes"))
            out.append({"regex": r._regex, "names": sorted(r._regexObj.groupindex),
                        "fields": None})
        except RegexException as e:
            out.append({"error": str(e)})
            continue
        # fail2ban's own group extraction, when a subject is given.
        if "subject" in q:
            r.search(q["subject"], [q["subject"]])
            if r.hasMatched():
                g = r.getGroups()
                out[-1]["fields"] = {k: (v if isinstance(v, str) or v is None else str(v))
                                     for k, v in g.items()}
    json.dump(out, sys.stdout)


def mode_decode():
    out = []
    for h in json.load(sys.stdin):
        out.append(bytes.fromhex(h).decode("utf-8", "replace"))
    json.dump(out, sys.stdout)


def mode_time():
    q = json.load(sys.stdin)
    r = compile_py(q["pattern"], q.get("multiline", False))
    t0 = time.perf_counter()
    m = r.search(q["subject"])
    json.dump({"seconds": time.perf_counter() - t0, "matched": m is not None}, sys.stdout)


def ranges(points):
    out = []
    for c in points:
        if out and out[-1][1] == c - 1:
            out[-1][1] = c
        else:
            out.append([c, c])
    return out


def mode_unicode():
    import _sre
    from re._casefix import _EXTRA_CASES
    everything = "".join(map(chr, range(sys.maxunicode + 1)))

    def members(pattern):
        return ranges([m.start() for m in re.finditer(pattern, everything)])

    lower = {}
    cased = []
    for c in range(sys.maxunicode + 1):
        lo = _sre.unicode_tolower(c)
        if lo != c:
            lower[c] = lo
        if _sre.unicode_iscased(c):
            cased.append(c)
    out = {
        "unidata": __import__("unicodedata").unidata_version,
        "word": members(r"\w"), "digit": members(r"\d"), "space": members(r"\s"),
        "assigned": ranges([c for c in range(sys.maxunicode + 1)
                            if __import__("unicodedata").category(chr(c)) != "Cn"]),
        "lower": lower, "cased": ranges(cased),
        "extra": {k: list(v) for k, v in _EXTRA_CASES.items()},
        "classes": {p: members(p) for p in json.load(sys.stdin)},
    }
    json.dump(out, sys.stdout)


# --- corpus mode -----------------------------------------------------------

OPTS_RE = re.compile(r"^#+ ?(failJSON|(?:file|filter)Options|addFILE):(.+)$")


def corpus_lines(path):
    """The lines fail2ban's sample test feeds to its filter, decoded as its
    FileContainer does (UTF-8, strict, falling back to 'replace')."""
    with open(path, "rb") as f:
        raw = f.read().split(b"\n")
    if raw and raw[-1] == b"":
        raw.pop()
    out = []
    for b in raw:
        try:
            s = b.decode("utf-8", "strict")
        except UnicodeDecodeError:
            s = b.decode("utf-8", "replace")
        out.append(s)
    return out


def option_blocks(logs, name):
    """Yields (options, lines) for the sample log of filter name: the option
    sets its filterOptions comments select, with the lines they apply to."""
    files = [name]
    common = {}
    blocks = []            # list of [opts list, lines]
    current = None
    i = 0
    while i < len(files):
        path = os.path.join(logs, files[i])
        i += 1
        for line in corpus_lines(path):
            m = OPTS_RE.match(line)
            if m:
                data = json.loads(m.group(2))
                kind = m.group(1)
                if kind == "fileOptions":
                    common = data
                elif kind == "addFILE":
                    files.append(data)
                elif kind == "filterOptions":
                    sets = []
                    for o in (data if isinstance(data, list) else [data]):
                        merged = dict(common)
                        merged.update(o)
                        cond = merged.get("test.condition")
                        if cond and not eval(cond, {"name": name}):
                            continue
                        sets.append(merged)
                    current = [sets, []]
                    blocks.append(current)
                continue
            if line.startswith("#") or not line.strip():
                continue
            if current is None:
                current = [[dict(common)] if common else [{}], []]
                blocks.append(current)
            current[1].append(line.rstrip("\r\n"))
    return blocks


def test_filters(tests):
    """A temporary config directory with fail2ban's zzz-* test filters. Their
    'before' include points into fail2ban's source tree, which Debian does not
    ship: the copy includes the installed common.conf instead."""
    import atexit
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="pyre-oracle-")
    atexit.register(shutil.rmtree, d, True)
    os.mkdir(os.path.join(d, "filter.d"))
    src = os.path.join(tests, "config", "filter.d")
    os.symlink("/etc/fail2ban/filter.d/common.conf", os.path.join(d, "filter.d", "common.conf"))
    for f in os.listdir(src):
        if not f.startswith("zzz-"):
            continue
        with open(os.path.join(src, f)) as fh:
            text = fh.read()
        text = re.sub(r"(?m)^before\s*=.*common\.conf\s*$", "before = common.conf", text)
        with open(os.path.join(d, "filter.d", f), "w") as fh:
            fh.write(text)
    return d


def mode_corpus():
    global FAIL2BAN_TESTS
    import fail2ban
    from fail2ban.client.filterreader import FilterReader
    from fail2ban.server.failregex import Regex, RegexException
    from fail2ban.server.filter import Filter
    from fail2ban.server.mytime import MyTime

    pkg = os.path.dirname(fail2ban.__file__)
    tests = os.path.join(pkg, "tests")
    logs = os.path.join(tests, "files", "logs")
    test_now = 1124013600
    test_now_str = "2005-08-14T10:00:00"
    os.environ["TZ"] = "Europe/Zurich"
    time.tzset()
    MyTime.setTime(test_now)

    filter_dirs = [("/etc/fail2ban", lambda f: f.endswith(".conf") and not f.endswith("common.conf")),
                   (test_filters(tests), lambda f: f.startswith("zzz-") and f.endswith(".conf"))]

    subjects = []
    subject_idx = {}

    def subject(s):
        i = subject_idx.get(s)
        if i is None:
            i = subject_idx[s] = len(subjects)
            subjects.append(s)
        return i

    # Every corpus line, as is and with fail2ban's trailing newline.
    line_subjects = []
    for f in sorted(os.listdir(logs)):
        p = os.path.join(logs, f)
        if not os.path.isfile(p):
            continue
        for line in corpus_lines(p):
            if line.startswith("#") or not line.strip():
                continue
            line = line.rstrip("\r\n")
            line_subjects.append(subject(line))
            line_subjects.append(subject(line + "\n"))
    line_subjects = sorted(set(line_subjects))

    patterns = []      # dicts
    pattern_idx = {}   # (raw, usedns, multiline) -> index
    buffers = {}       # pattern index -> set of subject indexes

    def add_pattern(raw, usedns, multiline, where, regex_obj):
        key = (raw, usedns, multiline)
        i = pattern_idx.get(key)
        if i is None:
            i = pattern_idx[key] = len(patterns)
            patterns.append({"raw": raw, "usedns": usedns, "multiline": multiline,
                             "where": [], "regex": regex_obj._regex,
                             "groups": regex_obj._regexObj.groups,
                             "names": dict(regex_obj._regexObj.groupindex)})
            buffers[i] = set()
        if where not in patterns[i]["where"]:
            patterns[i]["where"].append(where)
        return i

    # Record every buffer fail2ban searches with each regex object.
    recording = {}
    orig_search = Regex.search

    def search(self, tupleLines, orgLines=None):
        i = recording.get(id(self))
        if i is not None:
            buf = tupleLines if isinstance(tupleLines, str) else Regex._tupleLinesBuf(tupleLines)
            buffers[i].add(subject(buf))
        return orig_search(self, tupleLines, orgLines)

    Regex.search = search

    filters_seen = []
    for basedir, keep in filter_dirs:
        for fn in sorted(os.listdir(os.path.join(basedir, "filter.d"))):
            if not keep(fn):
                continue
            name = fn[:-len(".conf")]
            filters_seen.append(name)
            log = os.path.join(logs, name)
            blocks = option_blocks(logs, name) if os.path.isfile(log) else [[[{}], []]]
            built = {}
            for sets, lines in blocks:
                for opts in sets:
                    fopts = dict((k, v) for k, v in opts.items() if not k.startswith("test."))
                    label = name + (json.dumps(fopts, sort_keys=True) if fopts else "")
                    flt = built.get(label)
                    if flt is None:
                        flt = Filter(None)
                        flt.returnRawHost = True
                        flt.checkAllRegex = True
                        flt.checkFindTime = False
                        flt.active = True
                        reader = FilterReader(name, "jail", dict(fopts), basedir=basedir)
                        reader.read()
                        reader.getOptions({})
                        for opt in reader.convert():
                            vals = opt[3] if opt[0] == "multi-set" else [opt[3]]
                            for v in vals:
                                what = opt[2]
                                if what == "usedns":
                                    flt.setUseDns(v)
                                elif what == "maxlines":
                                    flt.setMaxLines(v)
                                elif what == "datepattern":
                                    flt.setDatePattern(v)
                                elif what == "prefregex":
                                    flt.prefRegex = v
                                    recording[id(flt.prefRegex)] = add_pattern(
                                        v, flt.getUseDns(), False, label + " prefregex", flt.prefRegex)
                                elif what == "addfailregex":
                                    flt.addFailRegex(v)
                                    r = flt._Filter__failRegex[-1]
                                    n = len(flt._Filter__failRegex) - 1
                                    recording[id(r)] = add_pattern(
                                        v, flt.getUseDns(), flt.getMaxLines() > 1,
                                        "%s failregex %d" % (label, n), r)
                                elif what == "addignoreregex":
                                    flt.addIgnoreRegex(v)
                                    r = flt._Filter__ignoreRegex[-1]
                                    n = len(flt._Filter__ignoreRegex) - 1
                                    recording[id(r)] = add_pattern(
                                        v, flt.getUseDns(), False,
                                        "%s ignoreregex %d" % (label, n), r)
                        built[label] = flt
                    for line in lines:
                        try:
                            if opts.get("logtype") != "journal":
                                flt.processLine(line)
                            else:
                                if opts.get("test.prefix-line"):
                                    line = opts.get("test.prefix-line") + line
                                flt.processLine(("", test_now_str, line), test_now)
                        except Exception:
                            pass
    Regex.search = orig_search

    t0 = time.perf_counter()
    results = []
    searches = 0
    for i, p in enumerate(patterns):
        r = compile_py(p["regex"], p["multiline"])
        todo = sorted(set(line_subjects) | buffers[i])
        found = []
        for si in todo:
            s = subjects[si]
            m = r.search(s)
            searches += 1
            if m is not None:
                found.append([si] + spans(m, s))
        results.append(found)
        p["buffers"] = sorted(buffers[i])
    elapsed = time.perf_counter() - t0

    json.dump({
        "python": sys.version.split()[0],
        "unidata": __import__("unicodedata").unidata_version,
        "fail2ban": __import__("fail2ban.version").version.version,
        "filters": filters_seen,
        "subjects": subjects,
        "lines": line_subjects,
        "patterns": patterns,
        "results": results,
        "searches": searches,
        "seconds": elapsed,
    }, sys.stdout)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else ""
    {"corpus": mode_corpus, "match": mode_match, "tags": mode_tags,
     "decode": mode_decode, "time": mode_time, "unicode": mode_unicode}[mode]()


if __name__ == "__main__":
    main()
