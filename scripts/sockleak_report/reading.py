"""Reading reports: JSON Lines files (or stdin), one report object per line.

A file may hold several reports, of one process or of several (they are appended).
load() takes the last report of each process (pid) in each file, or every report
(--all). A scoped report (sockleak_report_since: "checkpoint", only the sockets made
since then and still open) is a part of a process's sockets, never its last report
while the process wrote a whole one: it is taken with --all. A FILE holding %p, as
the shim's log_path does, stands for the files of every process. A line that is not a
sockleak report is named on stderr as FILE:LINE and skipped; the same pid in two files
is two processes (two hosts, two runs).

Report wraps one parsed object; its groups (grouping.analyze) are computed once, on
first use.
"""
import glob
import json
import os
import re
import sys

from .errors import Failure, warn
from .grouping import analyze
from .values import dicts, num, obj, parse_time, string

MAX_BAD_LINES = 5  # per file, named on stderr; the rest are counted


class Report:
    """One report (a parsed JSON object) and where it came from."""

    def __init__(self, d, source, lineno):
        self.d = d
        self.source = source
        self.lineno = lineno
        pid = d.get("pid")
        self.pid = pid if isinstance(pid, int) and not isinstance(pid, bool) else None
        self._groups = None
        self._stacks = None

    @property
    def program(self):
        return string(self.d.get("program")) or "?"

    @property
    def reason(self):
        return string(self.d.get("reason")) or "?"

    @property
    def timestamp(self):
        return string(self.d.get("timestamp")) or "?"

    @property
    def checkpoint(self):
        """The checkpoint of a scoped report (sockleak_report_since), else None."""
        cp = self.d.get("checkpoint")
        return cp if isinstance(cp, int) and not isinstance(cp, bool) else None

    @property
    def scoped(self):
        """Only the sockets made since a checkpoint and still open: a part, not the whole."""
        return self.checkpoint is not None

    def where_from(self):
        return "%s:%d" % (self.source, self.lineno)

    def label(self):
        """"leaky_client (pid 123)"."""
        return "%s (pid %s)" % (self.program, self.pid if self.pid is not None else "?")

    def stacks(self):
        """stack id -> list of frame dicts."""
        if self._stacks is None:
            self._stacks = {}
            for st in dicts(self.d.get("stacks")):
                if st.get("id") is not None:
                    self._stacks.setdefault(str(st["id"]), dicts(st.get("frames")))
        return self._stacks

    def groups(self):
        """The report's groups (grouping.Group), most leaked first."""
        if self._groups is None:
            self._groups = analyze(self.d)
        return self._groups

    def summary(self):
        """live, close_wait, leaked, leaked_closed, listening...: the report's summary,
        completed from its groups where the counts the contract requires are missing."""
        s = obj(self.d.get("summary"))
        gs = self.groups()
        out = {
            "live": num(s.get("live"), None),
            "close_wait": num(s.get("close_wait"), None),
            "leaked": num(s.get("leaked"), None),
            "leaked_closed": num(s.get("leaked_closed")),  # leaked, then closed: verdicts count them too
        }
        if out["live"] is None:
            out["live"] = sum(g.count for g in gs)
        if out["close_wait"] is None:
            out["close_wait"] = sum(g.close_wait for g in gs)
        if out["leaked"] is None:
            out["leaked"] = sum(g.leaked for g in gs)
        for k in ("listening", "stacks", "opened", "closed", "suppressed", "ignored"):
            out[k] = num(s.get(k), None)
        return out

    def close_wait_after(self):
        return num(obj(self.d.get("options")).get("close_wait_after_ms"), None)


def input_name(path):
    return "<stdin>" if path == "-" else path


def expand_inputs(paths, none_ok=False):
    """FILE arguments -> files: one holding %p (as log_path) stands for every pid's file."""
    out = []
    for p in paths:
        if p != "-" and "%p" in p and not os.path.exists(p):
            parts = re.split(r"(%%|%p)", p)
            if "%p" in parts:
                pattern = "".join("*" if x == "%p" else glob.escape("%" if x == "%%" else x) for x in parts)
                found = sorted(glob.glob(pattern))
                if not found and not none_ok:
                    raise Failure("no file matches %s (%%p stands for any pid)" % p)
                out.extend(found)
                continue
        out.append(p)
    if out.count("-") > 1:
        raise Failure("'-' (stdin) given more than once")
    return out


def expand_out(path, pid):
    """%p -> pid and %% -> %, as the shim expands log_path."""
    return re.sub(r"%%|%p", lambda m: "%" if m.group(0) == "%%" else str(pid if pid is not None else "unknown"), path)


def read_raw_lines(path):
    """[(lineno, bytes)] of a file, or of stdin for '-'. Raises Failure if unreadable."""
    try:
        if path == "-":
            return list(enumerate(sys.stdin.buffer, 1))
        with open(path, "rb") as f:
            return list(enumerate(f, 1))
    except OSError as e:
        raise Failure("cannot read %s: %s" % (input_name(path), e.strerror or e)) from None


def parse_line(raw):
    """(report dict, None), (None, why) for a bad line, or (None, None) for a blank one."""
    s = raw.decode("utf-8", errors="replace").strip()
    if not s:
        return None, None
    try:
        d = json.loads(s)
    except ValueError as e:
        return None, "not JSON (%s)" % e
    if not isinstance(d, dict) or d.get("tool") != "sockleak":
        return None, 'not a sockleak report (no "tool": "sockleak")'
    return d, None


def read_lines(paths, none_ok=False):
    """Every line of the given files: [(path, [(lineno, raw bytes, Report or None)])].
    Bad lines are named on stderr (the first few of each file, then a count)."""
    per_file = []
    for path in expand_inputs(paths, none_ok):
        bad = 0
        lines = []
        for lineno, raw in read_raw_lines(path):
            d, why = parse_line(raw)
            if why:
                bad += 1
                if bad <= MAX_BAD_LINES:
                    warn("%s:%d: skipped: %s" % (input_name(path), lineno, why))
            lines.append((lineno, raw, Report(d, input_name(path), lineno) if d is not None else None))
        if bad > MAX_BAD_LINES:
            warn("%s: %d more bad lines skipped" % (input_name(path), bad - MAX_BAD_LINES))
        per_file.append((path, lines))
    return per_file


def whole(reports):
    """The reports without the scoped ones of processes that wrote a whole report too."""
    procs = {(r.source, r.pid) for r in reports if not r.scoped}
    return [r for r in reports if not r.scoped or (r.source, r.pid) not in procs]


def load(paths, every=False, since=None, pids=None, none_ok=False):
    """The reports of the given files: the last of each process per file, or every one.

    Bad lines are named on stderr and skipped. Raises Failure for an unreadable file or
    when no report is left. With none_ok, no report (or no file matching a %p pattern)
    gives [] instead of a Failure."""
    per_file = read_lines(paths, none_ok)
    reports = [rep for _path, lines in per_file for _n, _raw, rep in lines if rep is not None]
    if since is not None:
        reports = [r for r in reports if (parse_time(r.d.get("timestamp")) or since) >= since]
    if pids:
        reports = [r for r in reports if r.pid in pids]
    if not every:
        last = {}
        for i, r in enumerate(reports):  # the last whole report; a scoped one if there is none
            key = (r.source, r.pid)
            if key not in last or not r.scoped or reports[last[key]].scoped:
                last[key] = i
        reports = [r for i, r in enumerate(reports) if last[(r.source, r.pid)] == i]
    if not reports and none_ok:
        return []
    if not reports:
        what = "no sockleak report"
        if since is not None or pids:
            what += " matching --since/--pid"
        raise Failure("%s in %s" % (what, ", ".join(input_name(p) for p, _l in per_file)))
    return reports
