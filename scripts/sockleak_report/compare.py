"""Comparing and summing reports per stack: diff (growth from A to B) and merge (many
processes or hosts).

A stack id is the same for the same code in every process, run and host (a stack with
language frames has an id made from them), so reports add up per stack (tally), and so
do the places where their sockets read end-of-file (stacks too), and the bytes the
half-closed ones that never read it left unread. A socket a fork child inherited from
a parent whose report is merged too ("forked": true, same socket) is counted once, in
the parent. Of the frames seen for a stack, the ones that say the most (file:line,
names) are shown. A scoped report (sockleak_report_since) is a part of a process's
sockets: without --all, a process's whole reports are compared and merged.
"""
import collections
import json
import sys

from .errors import Failure
from .frames import frame_text, where_text
from .markdown import md_code, md_eof, md_fence, md_table, md_text, md_where
from .reading import input_name, load, whole
from .text import eof_lines, table_text
from .values import duration, num, plural


class Tally:
    """One stack over several reports."""
    __slots__ = ("stack", "live", "leaked", "close_wait", "cw_max", "procs", "pids", "frames", "eofs", "eof_frames",
                 "eof_never", "unread_bytes")

    def __init__(self, stack):
        self.stack = stack
        self.live = self.leaked = self.close_wait = 0
        self.cw_max = None
        self.procs = set()
        self.pids = []
        self.frames = []
        self.eofs = collections.Counter()  # end-of-file stack id -> sockets that read it there
        self.eof_frames = {}  # end-of-file stack id -> its frames
        self.eof_never = self.unread_bytes = 0  # half-closed sockets that never read it, their unread bytes

    def eof_places(self):
        """[(end-of-file stack id, sockets, None, None)], most sockets first (as Group.eofs, without times)."""
        return [(sid, n, None, None) for sid, n in sorted(self.eofs.items(), key=lambda kv: -kv[1])]  # ties: as seen

    def eof_where(self):
        """Where most of its sockets read end-of-file, or None."""
        places = self.eof_places()
        return where_text(self.eof_frames.get(places[0][0], [])) if places else None

    def eof_json(self):
        return [{"stack": sid, "sockets": n, "read_at": where_text(self.eof_frames.get(sid, [])),
                 "frames": self.eof_frames.get(sid, [])} for sid, n, _a, _b in self.eof_places()]


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
            for sid, n, _newest, _oldest in g.eofs:
                x.eofs[sid] += n
                x.eof_frames[sid] = better_frames(x.eof_frames.get(sid, []), stacks.get(sid, []))
            x.eof_never += g.eof_never
            x.unread_bytes += g.unread_bytes
    return t


def describe(reports):
    """"leaky_client (pid 12), exit report at T" or "3 reports of 3 processes (leaky x3)"."""
    if len(reports) == 1:
        r = reports[0]
        since = " since checkpoint %d" % r.checkpoint if r.scoped else ""
        return "%s, %s report%s at %s" % (r.label(), r.reason, since, r.timestamp)
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
        every = load(a.files, every=True, since=a.since, pids=a.pid)
        reps = every if a.all else whole(every)  # a scoped report is a part: with --all only
        procs = sorted({r.pid for r in reps}, key=lambda p: (p is None, p))
        if len(procs) > 1:
            raise Failure("%s holds reports of %d processes (pids %s): pick one with --pid, or give two files"
                          % (input_name(a.files[0]), len(procs), ", ".join(str(p) for p in procs[:10])))
        if len(reps) < 2:
            scoped = len(every) - len(reps)
            raise Failure("%s holds one %sreport: nothing to compare it with; give two files%s" % (
                input_name(a.files[0]), "whole " if scoped else "",
                " (or --all: its %d scoped %s too)" % (scoped, plural(scoped, "report", "reports")) if scoped else ""))
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
        eof = y if y and y.eofs else x  # where B's sockets read end-of-file, else A's
        rows.append({"stack": sid, "live_a": la, "live_b": lb, "delta": lb - la, "leaked_a": ka, "leaked_b": kb,
                     "leaked_delta": kb - ka, "opened_at": where_text(frames), "frames": frames,
                     "eof_read_at": eof.eof_where() if eof else None, "eof": eof.eof_json() if eof else [],
                     "unread_bytes_a": x.unread_bytes if x else 0, "unread_bytes_b": y.unread_bytes if y else 0})
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
        eofs = any(r["eof_read_at"] for r in shown)
        out += table_text(["delta", "leaked", "live A", "live B", "stack", "opened at"] +
                          ["end-of-file read at"] * eofs,
                          [[signed(r["delta"]), signed(r["leaked_delta"]), r["live_a"], r["live_b"], r["stack"],
                            r["opened_at"]] + [r["eof_read_at"] or "-"] * eofs for r in shown], [1, 1, 1, 1, 0, 0, 0])
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
        frames = {e["stack"]: e["frames"] for e in r["eof"]}
        out += eof_lines([(e["stack"], e["sockets"], None, None) for e in r["eof"]], lambda sid: frames[sid])
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
                           "opened_at": where_text(x.frames), "frames": x.frames, "eof_read_at": x.eof_where(),
                           "eof": x.eof_json(), "eof_never": x.eof_never, "unread_bytes": x.unread_bytes}
                          for x in t]}
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
    eofs = any(x.eofs for x in shown)  # a column for where they read end-of-file
    if fmt == "markdown":
        out = ["## sockleak merge: " + total, "", md_text(what) + ".", ""]
        out += md_table(["fingerprint", "leaked", "live", "processes", "worst CLOSE_WAIT", "opened at"] +
                        ["end-of-file read at"] * eofs,
                        [(md_code(x.stack), str(x.leaked), str(x.live), str(len(x.procs)),
                          duration(x.cw_max) if x.cw_max is not None else "-", md_where(x.frames)) +
                         (md_where(x.eof_frames.get(x.eof_places()[0][0], [])) if x.eofs else "-",) * eofs
                         for x in shown],
                        ["---", "---:", "---:", "---:", "---:", "---", "---"][:6 + eofs])
        if hidden:
            out += ["", "%d more %s not shown." % (hidden, plural(hidden, "stack", "stacks"))]
        out.append("")
        for x in shown:
            out += ["#### %s: %d leaked, %d live, in %d %s" % (
                md_code(x.stack), x.leaked, x.live, len(x.procs), plural(len(x.procs), "process", "processes")), ""]
            out += md_fence([frame_text(i, f) for i, f in enumerate(x.frames)] or ["(no stack recorded)"])
            out.append("")
            out += md_eof(x.eof_places(), lambda sid: x.eof_frames.get(sid, []), x.eof_never, x.unread_bytes)
        sys.stdout.write("\n".join(out))
        return 0
    out = ["sockleak merge: " + what, "total: " + total, ""]
    out += table_text(["leaked", "live", "processes", "worst CLOSE_WAIT", "stack", "opened at"] +
                      ["end-of-file read at"] * eofs,
                      [[x.leaked, x.live, len(x.procs), duration(x.cw_max) if x.cw_max is not None else "-", x.stack,
                        where_text(x.frames)] + [x.eof_where() or "-"] * eofs for x in shown], [1, 1, 1, 1, 0, 0, 0])
    if hidden:
        out += ["", "%d more %s not shown (--top 0 shows all)" % (hidden, plural(hidden, "stack", "stacks"))]
    for x in shown:
        pids = ", ".join(str(p) for p in x.pids[:8]) + (", ..." if len(x.pids) > 8 else "")
        out += ["", "Stack %s, in %d %s (%s %s):" % (
            x.stack, len(x.procs), plural(len(x.procs), "process", "processes"), plural(len(x.pids), "pid", "pids"),
            pids or "-")]
        out += ["    " + frame_text(i, f) for i, f in enumerate(x.frames)] or ["    (no stack recorded)"]
        out += eof_lines(x.eof_places(), lambda sid: x.eof_frames.get(sid, []), x.eof_never, x.unread_bytes)
    sys.stdout.write("\n".join(out) + "\n")
    return 0
