"""check: the CI gate. Each process's reports against the limits.

Every report of each process is read, and the one with the most leaked sockets stands
for the process: a runtime that closes everything at shutdown (CPython's finalization)
leaves an exit report with fewer leaks than the interval reports before it. A report
fails when it holds more leaked sockets than --max-leaked (leaked counts the sockets
leaked now and those that leaked and were closed later, summary.leaked_closed, as the
contract says verdicts do), or more live ones than --max-live. A scoped report
(sockleak_report_since: the sockets made since a checkpoint) is a part of the process's
sockets, never the one that stands for it while it wrote a whole report; --all checks
every report, scoped ones too. One FAIL line per failing report names the process and
its worst stack; else one OK line. Exit status 1 on a failure, 0 otherwise (2 for usage
and input errors, raised as Failure).
"""
import sys

from .frames import where_text
from .reading import load, whole
from .values import plural


def leaked_count(rep):
    """Leaked sockets for a verdict: leaked now, plus leaked then closed."""
    s = rep.summary()
    return s["leaked"] + s["leaked_closed"]


def worst_per_process(reps):
    """One report per process (file and pid): of its whole reports (its scoped ones if it
    wrote no other), the one with the most leaks, the later on a tie."""
    worst = {}
    for r in whole(reps):
        key = (r.source, r.pid)
        if key not in worst or leaked_count(r) >= leaked_count(worst[key]):
            worst[key] = r
    return list(worst.values())


def since(r):
    return " since checkpoint %d" % r.checkpoint if r.scoped else ""


def verdict(reps, max_leaked, max_live=None):
    """(FAIL lines, OK line) of the reports against the limits; the OK line is for no failure."""
    bad = []
    worst_leaked = worst_live = 0
    for r in reps:
        s, gs, stacks = r.summary(), r.groups(), r.stacks()
        leaked = leaked_count(r)
        worst_leaked, worst_live = max(worst_leaked, leaked), max(worst_live, s["live"])
        if leaked > max_leaked:
            g = next((x for x in gs if x.leaked), None)
            msg = "%s: %d leaked %s" % (r.label(), leaked, plural(leaked, "socket", "sockets"))
            if s["leaked_closed"]:
                msg += " (%d of them closed later)" % s["leaked_closed"]
            msg += ", more than %d allowed" % max_leaked
            if g is not None:
                msg += "; worst: %d at %s [stack %s]" % (g.leaked, where_text(stacks.get(g.stack, [])), g.stack)
            bad.append("%s (%s report%s, %s)" % (msg, r.reason, since(r), r.where_from()))
        if max_live is not None and s["live"] > max_live:
            g = max(gs, key=lambda x: x.count, default=None)
            live = s["live"]
            msg = "%s: %d live %s, more than %d allowed" % (
                r.label(), live, plural(live, "socket", "sockets"), max_live)
            if g is not None:
                msg += "; most: %d at %s [stack %s]" % (g.count, where_text(stacks.get(g.stack, [])), g.stack)
            bad.append("%s (%s report%s, %s)" % (msg, r.reason, since(r), r.where_from()))
    procs = {(r.source, r.pid) for r in reps}
    limits = "at most %d leaked (limit %d)" % (worst_leaked, max_leaked)
    if max_live is not None:
        limits += ", at most %d live (limit %d)" % (worst_live, max_live)
    ok = "%d %s of %d %s, %s" % (len(reps), plural(len(reps), "report", "reports"), len(procs),
                                 plural(len(procs), "process", "processes"), limits)
    return bad, ok


def check_command(a, out=None):
    """sockleak report check; its lines go to out (stdout by default)."""
    out = out or sys.stdout
    reps = load(a.files, every=True, since=a.since, pids=a.pid, none_ok=a.no_report_ok)
    if not reps:
        out.write("sockleak check: OK: no report to check\n")
        return 0
    if not a.all:
        reps = worst_per_process(reps)
    bad, ok = verdict(reps, a.max_leaked, a.max_live)
    for b in bad:
        out.write("sockleak check: FAIL: %s\n" % b)
    if bad:
        return 1
    out.write("sockleak check: OK: %s\n" % ok)
    return 0
