# Oracle for package filter/conf's tests: reads filters with fail2ban's own
# FilterReader (the fail2ban installed for /usr/bin/python3) and prints what
# it resolves, so the Go reader can be compared with it.
#
# stdin: a JSON list of cases, each
#   {"basedir": DIR, "name": NAME, "opts": {...}, "flow": "test" | "jail",
#    "jail": {...}, "backend": ""}
# "test" reads as fail2ban's tests/samplestestcase.py does
# (FilterReader(name, "jail", opts, basedir=...), read(), getOptions({}),
# convert()); "jail" as client/jailreader.py does (read(),
# applyAutoOptions(backend) when a backend is given, getOptions(jail,
# all=True), getCombined(), getOptions(jail), convert()).
# stdout: a JSON list of results, each {"error": "..."} or
#   {"stream": {...}, "values": {...}}; "stream" holds what convert() sent:
#   prefregex, failregex (list), ignoreregex (list), maxlines, datepattern,
#   journalmatch (list of word lists), usedns, and "other" for any other
#   option convert() sent; "values" (jail flow) the combined options.
#
# Also {"spec": "..."} cases: extractOptions(spec) -> {"name", "opts"}, and
# {"shlex": "..."} cases: shlex.split -> {"words"}.
import json
import logging
import resource
import shlex
import sys

from fail2ban.client.filterreader import FilterReader
from fail2ban.helpers import extractOptions

logging.getLogger("fail2ban").setLevel(logging.CRITICAL + 1)

# fail2ban does not bound how far <tag> substitution grows a value: a few
# tags that each repeat the next reach gigabytes. Cap this process so such
# a case fails with MemoryError, as the Go reader refuses it (MaxValueSize).
resource.setrlimit(resource.RLIMIT_AS, (128 << 20, 128 << 20))


def stream_dict(stream):
    out = {}
    for cmd in stream:
        kind, opt = cmd[0], cmd[2]
        if opt in ("addfailregex", "addignoreregex"):
            vals = cmd[3] if kind == "multi-set" else [cmd[3]]
            out.setdefault(opt[3:], []).extend(vals)
        elif opt == "addjournalmatch":
            out.setdefault("journalmatch", []).append(cmd[3:])
        elif opt in ("prefregex", "maxlines", "datepattern", "usedns"):
            out[opt] = cmd[3]
        else:
            out.setdefault("other", {})[opt] = str(cmd[3])
    return out


def run(case):
    if "spec" in case:
        name, opts = extractOptions(case["spec"])
        return {"name": name, "opts": opts}
    if "shlex" in case:
        return {"words": shlex.split(case["shlex"])}
    flt = FilterReader(case["name"], "jail", dict(case.get("opts") or {}),
                       basedir=case["basedir"])
    if not flt.read():
        return {"error": "not read"}
    res = {}
    if case["flow"] == "test":
        flt.getOptions({})
    else:
        if case.get("backend"):
            flt.applyAutoOptions(case["backend"])
        flt.getOptions(dict(case.get("jail") or {}), all=True)
        res["values"] = {k: str(v) for k, v in flt.getCombined().items()
                         if v is not None}
        flt.getOptions(dict(case.get("jail") or {}))
    res["stream"] = stream_dict(flt.convert())
    return res


def main():
    results = []
    for case in json.load(sys.stdin):
        try:
            results.append(run(case))
        except Exception as e:  # the Go side compares failing with failing
            results.append({"error": "%s: %s" % (type(e).__name__, e)})
    json.dump(results, sys.stdout)


main()
