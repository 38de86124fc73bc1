"""Comparing and summing reports per stack: diff (growth from A to B) and merge (many
processes or hosts).

A stack id is the same for the same code in every process, run and host, so reports
add up per stack (tally). A socket a fork child inherited from a parent whose report is
merged too ("forked": true, same socket) is counted once, in the parent. Of the frames
seen for a stack, the ones that say the most (file:line, names) are shown.
"""
import collections
import json
import sys

from .errors import Failure
from .frames import frame_text, where_text
from .markdown import md_code, md_fence, md_table, md_text, md_where
from .reading import input_name, load
from .text import table_text
from .values import duration, num, plural


class Tally:
    """One stack over several reports."""
    __slots__ = ("stack", "live", "leaked", "close_wait", "cw_max", "procs", "pids", "frames")

    def __init__(self, stack):
        self.stack = stack
        self.live = self.leaked = self.close_wait = 0
        self.cw_max = None
        self.procs = set()
        self.pids = []
        self.frames = []


def better_frames(old, new):
    """Keep the example frames that say the most (file:line, names)."""
    def score(fs):
        return sum(1 for f in fs if f.get("file")), sum(1 for f in fs if f.get("function")), len(fs)

    return new if new and (not old or score(new) > score(old)) else old


def inherited_from_merged(rep, pids):
    """Per stack, (live, leaked) of the sockets rep's process inherited across fork
    ("forked": true) from a parent whose report is merged too: the parent counts them."""
    live, leaked = collections.Counter(), collections.Counter()
    if num(rep.d.get("ppid"), None) not in pids:
        return live, leaked
    for s in rep.d.get("sockets") or []:
        if isinstance(s, dict) and s.get("forked") is True and isinstance(s.get("stack"), str):
            live[s["stack"]] += 1
            leaked[s["stack"]] += bool(s.get("leak"))
    return live, leaked


def tally(reports):
    t = {}
    pids = {r.pid for r in reports}
    for rep in reports:
        stacks = rep.stacks()
        dup_live, dup_leaked = inherited_from_merged(rep, pids)
        for g in rep.groups():
            x = t.get(g.stack)
            if x is None:
                x = t[g.stack] = Tally(g.stack)
            x.live += g.count - dup_live[g.stack]
            x.leaked += g.leaked - dup_leaked[g.stack]
            x.close_wait += g.close_wait
            if g.cw_max is not None and (x.cw_max is None or g.cw_max > x.cw_max):
                x.cw_max = g.cw_max
            if g.count:
                proc = (rep.source, rep.pid)
                if proc not in x.procs:
                    x.procs.add(proc)
                    x.pids.append(rep.pid)
            x.frames = better_frames(x.frames, stacks.get(g.stack, []))
    return t


def describe(reports):
    """"leaky_client (pid 12), exit report at T" or "3 reports of 3 processes (leaky x3)"."""
    if len(reports) == 1:
        r = reports[0]
        return "%s, %s report at %s" % (r.label(), r.reason, r.timestamp)
    procs = {(r.source, r.pid) for r in reports}
    progs = collections.Counter(r.program for r in reports)
    return "%d reports of %d %s (%s)" % (len(reports), len(procs), plural(len(procs), "process", "processes"),
                                         ", ".join("%s x%d" % (p, n) if n > 1 else p for p, n in progs.most_common()))


def totals(reports):
    live = leaked = 0
    pids = {r.pid for r in reports}
    for r in reports:
        s = r.summary()
        dup_live, dup_leaked = inherited_from_merged(r, pids)
        live += s["live"] - sum(dup_live.values())
        leaked += s["leaked"] - sum(dup_leaked.values())
    return live, leaked


def signed(n):
    return "%+d" % n


def diff_command(a):
    """sockleak report diff: stacks ranked by growth from A to B."""
    if len(a.files) == 1:
        reps = load(a.files, every=True, since=a.since, pids=a.pid)
        procs = sorted({r.pid for r in reps}, key=lambda p: (p is None, p))
        if len(procs) > 1:
            raise Failure("%s holds reports of %d processes (pids %s): pick one with --pid, or give two files"
                          % (input_name(a.files[0]), len(procs), ", ".join(str(p) for p in procs[:10])))
        if len(reps) < 2:
            raise Failure("%s holds one report: nothing to compare it with; give two files" % input_name(a.files[0]))
        A, B = [reps[0]], [reps[-1]]
    else:
        A = load([a.files[0]], every=a.all, since=a.since, pids=a.pid)
        B = load([a.files[1]], every=a.all, since=a.since, pids=a.pid)
    ta, tb = tally(A), tally(B)
    rows = []
    for sid in list(ta) + [s for s in tb if s not in ta]:
        x, y = ta.get(sid), tb.get(sid)
        la, lb = (x.live if x else 0), (y.live if y else 0)
        ka, kb = (x.leaked if x else 0), (y.leaked if y else 0)
        frames = better_frames(x.frames if x else [], y.frames if y else [])
        rows.append({"stack": sid, "live_a": la, "live_b": lb, "delta": lb - la, "leaked_a": ka, "leaked_b": kb,
                     "leaked_delta": kb - ka, "opened_at": where_text(frames), "frames": frames})
    rows.sort(key=lambda r: (-r["delta"], -r["leaked_delta"], -r["live_b"], r["stack"]))
    (live_a, leaked_a), (live_b, leaked_b) = totals(A), totals(B)
    if a.json:
        doc = {"a": {"describe": describe(A), "reports": [r.where_from() for r in A], "live": live_a,
                     "leaked": leaked_a},
               "b": {"describe": describe(B), "reports": [r.where_from() for r in B], "live": live_b,
                     "leaked": leaked_b},
               "live_delta": live_b - live_a, "leaked_delta": leaked_b - leaked_a, "stacks": rows}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
        return 0
    out = ["sockleak diff: A = %s" % describe(A), "               B = %s" % describe(B),
           "live %s (%d -> %d), leaked %s (%d -> %d)" % (
               signed(live_b - live_a), live_a, live_b, signed(leaked_b - leaked_a), leaked_a, leaked_b), ""]
    changed = [r for r in rows if r["delta"] or r["leaked_delta"]]
    shown = changed if a.top == 0 else changed[:a.top]
    if shown:
        out += table_text(["delta", "leaked", "live A", "live B", "stack", "opened at"],
                          [[signed(r["delta"]), signed(r["leaked_delta"]), r["live_a"], r["live_b"], r["stack"],
                            r["opened_at"]] for r in shown], [1, 1, 1, 1, 0, 0])
    else:
        out.append("  no stack changed")
    notes = []
    if len(changed) > len(shown):
        notes.append("%d more changed %s not shown (--top 0 shows all)" % (
            len(changed) - len(shown), plural(len(changed) - len(shown), "stack", "stacks")))
    if len(rows) > len(changed):
        notes.append("%d %s unchanged" % (len(rows) - len(changed), plural(len(rows) - len(changed), "stack",
                                                                           "stacks")))
    if notes:
        out += ["", "; ".join(notes)]
    if shown and shown[0]["delta"] > 0:
        r = shown[0]
        out += ["", "Most grown: %s (%s), opened at:" % (r["stack"], signed(r["delta"]))]
        out += ["    " + frame_text(i, f) for i, f in enumerate(r["frames"])] or ["    (no stack recorded)"]
    sys.stdout.write("\n".join(out) + "\n")
    return 0


def merge_command(a):
    """sockleak report merge: reports summed per stack, as text, Markdown or JSON."""
    reps = load(a.files, every=a.all, since=a.since, pids=a.pid)
    t = sorted(tally(reps).values(), key=lambda x: (-x.leaked, -x.live, x.stack))
    live, leaked = totals(reps)
    procs = {(r.source, r.pid) for r in reps}
    files = {r.source for r in reps}
    progs = collections.Counter(r.program for r in reps)
    fmt = "json" if a.json else a.format
    if fmt == "json":
        doc = {"reports": len(reps), "processes": len(procs), "files": len(files), "programs": dict(progs),
               "live": live, "leaked": leaked,
               "stacks": [{"stack": x.stack, "live": x.live, "leaked": x.leaked, "close_wait": x.close_wait,
                           "processes": len(x.procs), "pids": x.pids[:100], "worst_close_wait_ms": x.cw_max,
                           "opened_at": where_text(x.frames), "frames": x.frames} for x in t]}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=1) + "\n")
        return 0
    shown = t if a.top == 0 else t[:a.top]
    leaky = sum(1 for x in t if x.leaked)
    what = "%d %s from %d %s of %s in %d %s" % (
        len(reps), plural(len(reps), "report", "reports"), len(procs), plural(len(procs), "process", "processes"),
        ", ".join("%s (%d)" % (p, n) for p, n in progs.most_common(8)), len(files), plural(len(files), "file", "files"))
    total = "%d leaked %s in %d %s; %d live in %d %s" % (leaked, plural(leaked, "socket", "sockets"), leaky,
                                                         plural(leaky, "stack", "stacks"), live, len(t),
                                                         plural(len(t), "stack", "stacks"))
    hidden = len(t) - len(shown)
    if fmt == "markdown":
        out = ["## sockleak merge: " + total, "", md_text(what) + ".", ""]
        out += md_table(["fingerprint", "leaked", "live", "processes", "worst CLOSE_WAIT", "opened at"],
                        [(md_code(x.stack), str(x.leaked), str(x.live), str(len(x.procs)),
                          duration(x.cw_max) if x.cw_max is not None else "-", md_where(x.frames)) for x in shown],
                        ["---", "---:", "---:", "---:", "---:", "---"])
        if hidden:
            out += ["", "%d more %s not shown." % (hidden, plural(hidden, "stack", "stacks"))]
        out.append("")
        for x in shown:
            out += ["#### %s: %d leaked, %d live, in %d %s" % (
                md_code(x.stack), x.leaked, x.live, len(x.procs), plural(len(x.procs), "process", "processes")), ""]
            out += md_fence([frame_text(i, f) for i, f in enumerate(x.frames)] or ["(no stack recorded)"])
            out.append("")
        sys.stdout.write("\n".join(out))
        return 0
    out = ["sockleak merge: " + what, "total: " + total, ""]
    out += table_text(["leaked", "live", "processes", "worst CLOSE_WAIT", "stack", "opened at"],
                      [[x.leaked, x.live, len(x.procs), duration(x.cw_max) if x.cw_max is not None else "-", x.stack,
                        where_text(x.frames)] for x in shown], [1, 1, 1, 1, 0, 0])
    if hidden:
        out += ["", "%d more %s not shown (--top 0 shows all)" % (hidden, plural(hidden, "stack", "stacks"))]
    for x in shown:
        pids = ", ".join(str(p) for p in x.pids[:8]) + (", ..." if len(x.pids) > 8 else "")
        out += ["", "Stack %s, in %d %s (%s %s):" % (
            x.stack, len(x.procs), plural(len(x.procs), "process", "processes"), plural(len(x.pids), "pid", "pids"),
            pids or "-")]
        out += ["    " + frame_text(i, f) for i, f in enumerate(x.frames)] or ["    (no stack recorded)"]
    sys.stdout.write("\n".join(out) + "\n")
    return 0
