"""The parts of a report beyond its stacks, as both renderers show them.

Where the report comes from (environment: program, options, kernel, limits, sysctls),
what the shim could not see (coverage, and "unseen": sockets found open but never seen
created, double closes), what triggered it (emfile/threshold), growth per stack since
the previous report, sockets closed late (flagged by an earlier report, closed since),
suppression rules. Each reader returns plain values; text.py and markdown.py lay them
out. Every part is optional: absent or odd, it is left out.
"""
from .values import dicts, duration, json_text, num, obj, plural, string


def environment(rep, host_only=False):
    """[(name, value)] describing where the report comes from, from what is present;
    host_only: only what the "environment" object says (kernel, limits, sysctls)."""
    d = rep.d
    if host_only:
        return host_rows(obj(d.get("environment")))
    rows = [("program", rep.program), ("pid", str(rep.pid) if rep.pid is not None else "?")]
    if num(d.get("ppid"), None) is not None:
        rows.append(("ppid", str(d["ppid"])))
    rows += [("reason", rep.reason), ("timestamp", rep.timestamp)]
    if num(d.get("uptime_ms"), None) is not None:
        rows.append(("uptime", duration(d["uptime_ms"])))
    att = obj(d.get("attached"))
    if string(att.get("at")):
        rows.append(("attached", "%s (%s open then)" % (att["at"], num(att.get("pre_attach"), 0))))
    if string(d.get("version")):
        rows.append(("sockleak", d["version"]))
    if string(d.get("unwinder")):
        rows.append(("unwinder", d["unwinder"]))
    opts = obj(d.get("options"))
    for k, v in opts.items():
        rows.append((k[:-3] if k.endswith("_ms") else k, duration(v) if k.endswith("_ms") else json_text(v)))
    trig = trigger_text(rep)
    if trig:
        rows.append(("trigger", trig))
    rows += host_rows(obj(d.get("environment")))
    cov = coverage_text(rep)
    if cov:
        rows.append(("coverage", cov))
    return rows


def host_rows(env):
    rows = []
    if string(env.get("kernel")):
        rows.append(("kernel", env["kernel"]))
    soft, hard, open_fds = (num(env.get(k), None) for k in ("nofile_soft", "nofile_hard", "open_fds"))
    if soft is not None or hard is not None or open_fds is not None:
        parts = []
        if open_fds is not None:
            parts.append("%d open" % open_fds)
        if soft is not None:
            parts.append("soft limit %d" % soft)
        if hard is not None:
            parts.append("hard limit %d" % hard)
        rows.append(("file descriptors", ", ".join(parts)))
    for k, v in sorted(obj(env.get("sysctls")).items()):
        rows.append((str(k), json_text(v)))
    for k, v in env.items():
        if k not in ("kernel", "nofile_soft", "nofile_hard", "open_fds", "sysctls") and v is not None:
            rows.append((str(k), json_text(v)))
    return rows


def coverage_text(rep):
    """What the shim could not see, or saw only indirectly; "" when nothing."""
    c, unseen, late = obj(rep.d.get("coverage")), obj(rep.d.get("unseen")), obj(rep.d.get("closed_late"))
    parts = []
    if num(c.get("untracked")):
        parts.append("%d sockets created but not tracked" % c["untracked"])
    if num(c.get("closed_behind_back")):
        parts.append("%d closed where the shim does not look (fclose(), glibc's own closes)" % c["closed_behind_back"])
    if num(unseen.get("found_open")):
        parts.append("%d found open but never seen created (%d still open, %d closed since)" % (
            unseen["found_open"], num(unseen.get("open_now")), num(unseen.get("closed"))))
    if num(unseen.get("double_closes")):
        n = unseen["double_closes"]
        parts.append("%d double %s" % (n, plural(n, "close", "closes")))
    lost = num(late.get("lost")) + num(unseen.get("events_lost"))
    if lost:
        parts.append("%d events lost (too many between reports)" % lost)
    if num(c.get("stacks_dropped")):
        parts.append("%d stacks not stored" % c["stacks_dropped"])
    if num(c.get("unwinder_mismatches")):
        parts.append("%d stacks where the fast unwinder and libunwind differed" % c["unwinder_mismatches"])
    if c.get("truncated") is True:
        parts.append("the report is incomplete (out of memory)")
    return "; ".join(parts)


def trigger_text(rep):
    """What made an emfile or threshold report, as the shim's first line says it; else None."""
    t = obj(rep.d.get("trigger"))
    if not t or rep.reason not in ("emfile", "threshold"):
        return None
    open_fds, soft = num(t.get("open_fds")), num(t.get("nofile_soft"))
    if rep.reason == "emfile":
        return "out of file descriptors (%s): %d open, limit %d" % (string(t.get("errno")) or "EMFILE", open_fds, soft)
    s = "threshold reached: %d fds open of %d" % (open_fds, soft)
    pct = num(obj(rep.d.get("options")).get("fd_threshold"), None)
    if pct is not None:
        s += " (fd_threshold %d%%)" % pct
    live, most = rep.summary()["live"], num(t.get("max_sockets"))
    s += ", %d live %s" % (live, plural(live, "socket", "sockets"))
    if most > 0 and live >= most:
        s += " (max_sockets reached)"
    return s


def growing(rep):
    """(ms since the previous report, [growth rows of the stacks that grew, most first]),
    or None: a first report (since_ms null), or nothing grew. A row is the shim's
    {stack, added, removed, net, added_total, removed_total}."""
    g = obj(rep.d.get("growth"))
    since = num(g.get("since_ms"), None)
    if since is None:
        return None
    rows = []
    for x in dicts(g.get("stacks")):
        net = num(x.get("net"), num(x.get("added")) - num(x.get("removed")))
        if net > 0:
            rows.append((net, len(rows), x))
    rows.sort(key=lambda t: (-t[0], t[1]))
    return (since, [x for _n, _i, x in rows]) if rows else None


def growth_row(x):
    """"+412 -0 (net +412; 1930 opened, 12 closed since start)"."""
    added, removed = num(x.get("added")), num(x.get("removed"))
    return "+%d -%d (net +%d; %d opened, %d closed since start)" % (
        added, removed, num(x.get("net"), added - removed), num(x.get("added_total")), num(x.get("removed_total")))


def closed_late(rep):
    """[socket] flagged as leaked by an earlier report and closed since ({fd, stack,
    leak, lifetime_ms, closed_after_report_ms}); [] when none."""
    return dicts(obj(rep.d.get("closed_late")).get("sockets"))


def late_row(x):
    """"fd 5 (max_age) closed 250ms after found leaked, open 550ms in all", or for a socket
    a runtime closed "fd 5 (unclosed) closed by the runtime's garbage collector or at
    shutdown, never by the program, open 550ms in all"."""
    fd = x.get("fd")
    fd = fd if isinstance(fd, int) else "?"
    if x.get("leak") == "unclosed":
        return "fd %s (unclosed) closed %s, open %s in all" % (fd, UNCLOSED_TEXT, duration(x.get("lifetime_ms")))
    return "fd %s (%s) closed %s after found leaked, open %s in all" % (
        fd, string(x.get("leak")) or "?", duration(x.get("closed_after_report_ms")), duration(x.get("lifetime_ms")))


def late_by_stack(rep):
    """The sockets closed late, one row per stack in the order the report first lists it,
    as the shim's text gives them: [(stack id, leak kind of its first, its fd, sockets,
    shortest and longest time from the report that found them leaked to the close)]."""
    rows, at = [], {}
    for x in closed_late(rep):
        sid = str(x.get("stack"))
        after = num(x.get("closed_after_report_ms"))
        if sid not in at:
            at[sid] = len(rows)
            rows.append([sid, string(x.get("leak")) or "?", x.get("fd") if isinstance(x.get("fd"), int) else "?", 0,
                         after, 0])
        r = rows[at[sid]]
        r[3] += 1
        r[4], r[5] = min(r[4], after), max(r[5], after)
    return [tuple(r) for r in rows]


UNCLOSED = "closed by the runtime's garbage collector or shutdown, never by the program"  # the shim's words
UNCLOSED_TEXT = "by the runtime's garbage collector or at shutdown, never by the program"


LATE_TITLE = "Leaked, then closed later (by a finalizer, at shutdown, or late)"


def double_closes(rep):
    """[{stack, count, fd}]: where a socket already closed was closed again."""
    return dicts(obj(rep.d.get("unseen")).get("double_close_sites"))


def double_close_title(x):
    n = num(x.get("count"))
    fd = x.get("fd")
    return "Double close of a socket already closed (%d %s, e.g. fd %s)" % (
        n, plural(n, "time", "times"), fd if isinstance(fd, int) else "?")


def suppressed_by(rep):
    """[(rule, count)] of the suppression rules that took sockets."""
    return [(str(x.get("rule")), int(num(x.get("count")))) for x in dicts(rep.d.get("suppressions"))
            if num(x.get("count"))]


def suppressed_text(rep):
    """"3 sockets (function:pool_*: 2, peer:10.0.0.5:5432: 1)", or None."""
    n, rules = rep.summary()["suppressed"] or 0, suppressed_by(rep)
    if not n and not rules:
        return None
    n = n or sum(c for _r, c in rules)
    s = "%d %s" % (n, plural(n, "socket", "sockets"))
    if rules:
        s += " (" + ", ".join("%s: %d" % rc for rc in rules) + ")"
    return s
