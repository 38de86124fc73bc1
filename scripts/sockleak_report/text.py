"""The report for people, as text: the shim's own text report, rebuilt from JSON.

"==PID==" lines carry the headline, the totals and the environment; then one block per
stack, most leaked first (--top N of them), with its frames, states, ages, fds and
peers, and where its sockets read end-of-file (the code that saw the peer hang up and
did not close); then growth, sockets closed late, double closes, coverage and
suppressions; a SUMMARY line last. table_text lays out the columns of diff and merge.
"""
import collections

from . import sections
from .frames import (KIND_TEXT, MAX_EOF_PLACES_SHOWN, addr_summary, called, frame_text, headline,
                     no_stack_text, states_text, where_text)
from .grouping import MAX_FDS_SHOWN
from .values import cw_range, duration, num, obj, plural, string

MAX_LATE_SHOWN = 10  # stacks of sockets closed late, as the shim's text report


def totals_text(rep):
    """"exit of leaky_client (pid 1) at T, after 3.0s; 3 live, 3 in CLOSE_WAIT, 3 leaked (...), 0 listening"."""
    s, d = rep.summary(), rep.d
    t = "%s of %s at %s" % (rep.reason, rep.label(), rep.timestamp)
    if num(d.get("uptime_ms"), None) is not None:
        t += ", after " + duration(d["uptime_ms"])
    att = obj(d.get("attached"))
    if string(att.get("at")):
        n = num(att.get("pre_attach"), 0)
        t += " attached (at %s; %d %s open then, listed as pre-attach)" % (
            att["at"], n, plural(n, "socket was", "sockets were"))
    t += "; %d live, %d in CLOSE_WAIT, %d leaked" % (s["live"], s["close_wait"], s["leaked"])
    if rep.close_wait_after() is not None:
        t += " (CLOSE_WAIT for %s or more)" % duration(rep.close_wait_after())
    if s["listening"] is not None:
        t += ", %d listening" % s["listening"]
    if s["ignored"]:
        t += ", %d ignored (sockleak_ignore)" % s["ignored"]
    return t  # (sockets leaked then closed: the SUMMARY line; suppressed: their own line)


def leak_phrase(rep, kind, g):
    """"stuck in CLOSE_WAIT for 2.0s to 3.0s", for one kind of leak, as the shim says it."""
    opts = obj(rep.d.get("options"))
    if kind == "close_wait":
        return "stuck in CLOSE_WAIT for " + cw_range(g.half_lo, g.half_hi)
    if kind == "peer_closed":
        return "held for %s after their peer closed" % cw_range(g.half_lo, g.half_hi)
    if kind == "idle":
        return "idle for idle_after (%s) or more" % duration(num(opts.get("idle_after_ms")))
    if kind == "max_age":
        return "open for max_age (%s) or more" % duration(num(opts.get("max_age_ms")))
    return KIND_TEXT.get(kind, kind)


def leak_summary(rep, n, kinds, g):
    """"3 sockets stuck in CLOSE_WAIT for 2.0s" or "5 sockets (3 stuck in ..., 2 open for ...)"."""
    h = "%d %s " % (n, plural(n, "socket", "sockets"))
    if len(kinds) == 1:
        return h + leak_phrase(rep, next(iter(kinds)), g)
    return h + "(" + ", ".join("%d %s" % (c, leak_phrase(rep, k, g)) for k, c in kinds.items()) + ")"


def group_header(rep, g):
    """The first line of a stack's block, the shim's (src/report/text.c group_block)."""
    cwa = rep.close_wait_after()
    if g.leaked:
        kinds = g.kinds or collections.Counter({"close_wait": g.leaked})
        order = ("close_wait", "peer_closed", "idle", "max_age")  # the shim's order of leak kinds
        kinds = collections.OrderedDict(sorted(kinds.items(), key=lambda kv: order.index(kv[0])
                                               if kv[0] in order else len(order)))
        return "Leak of %s, %s" % (leak_summary(rep, g.leaked, kinds, g), called(g.origin))
    if g.close_wait or g.peer_closed:
        n = g.close_wait + g.peer_closed
        what = "in CLOSE_WAIT" if g.close_wait else "with the peer gone"
        h = "%d live %s, %d %s (%s, not leaked yet" % (
            g.count, plural(g.count, "socket", "sockets"), n, what, cw_range(g.half_lo, g.half_hi))
        h += (": after %s" % duration(cwa) if cwa is not None else "")
        return h + "), %s" % called(g.origin)
    return "%d live %s, %s, %s" % (g.count, plural(g.count, "socket", "sockets"),
                                   "left open since the checkpoint" if rep.scoped else "not leaked", called(g.origin))


def eof_lines(places, frames_of, never=0, unread=0):
    """The lines under a stack that say where its sockets read end-of-file and never closed
    them, each place with its frames, most sockets first (as many as the shim shows),
    then its half-closed sockets no read saw the end of and the bytes they left unread.
    places: [(stack id, sockets, newest ms, oldest ms)] (times None: not said);
    frames_of(stack id) -> frames."""
    out = []
    for k, (sid, n, newest, oldest) in enumerate(places):
        if k == MAX_EOF_PLACES_SHOWN:
            out.append("  end-of-file read in %d more places" % (len(places) - k))
            break
        frames = frames_of(sid)
        ago = ", %s ago" % cw_range(newest, oldest) if oldest is not None else ""
        out.append("  end-of-file read at %s, never closed (%d %s%s):" % (
            where_text(frames), n, plural(n, "socket", "sockets"), ago))
        out += ["    " + frame_text(i, f) for i, f in enumerate(frames)]
    if never:
        line = "  end-of-file never read: %d %s" % (never, plural(never, "socket", "sockets"))
        if unread:
            line += ", %d %s never read" % (unread, plural(unread, "byte", "bytes"))
        out.append(line)
    return out


def group_block(rep, g, frames):
    out = [group_header(rep, g) + ":"]
    if g.count > g.leaked and g.leaked:
        out.append("  (%d more from the same place not leaked)" % (g.count - g.leaked))
    if not frames:
        out.append("    (no stack: %s)" % no_stack_text(rep, g))
    for i, f in enumerate(frames):
        out.append("    " + frame_text(i, f))
    stacks = rep.stacks()
    out += eof_lines(g.eofs, lambda sid: stacks.get(sid, []), g.eof_never, g.unread_bytes)
    out.append("  states: " + states_text(g))
    if g.oldest is not None:
        out.append("  oldest: " + duration(g.oldest))
    if g.idle_max is not None:
        out.append("  idle: up to " + duration(g.idle_max))
    if g.fds:
        more = len(g.fds) - MAX_FDS_SHOWN
        out.append("  fds: " + " ".join(str(x) for x in g.fds[:MAX_FDS_SHOWN]) +
                   (" ... (%d more)" % more if more > 0 else ""))
    if g.peers:
        out.append("  peers: " + addr_summary(g.peers))
    elif g.locals:
        out.append("  local: " + addr_summary(g.locals))
    out.append("  stack: " + g.stack)
    return out


def later_blocks(rep, top):
    """Growth, closed late and double closes: blocks of lines, each ending with a blank line."""
    out, stacks = [], rep.stacks()
    grown = sections.growing(rep)
    if grown:
        since, rows = grown
        out.append("Growing since the previous report (%s ago):" % duration(since))
        for x in rows[:top or None]:
            sid = str(x.get("stack"))
            out.append("  %s at %s [%s]" % (sections.growth_row(x), where_text(stacks.get(sid, [])), sid))
        out.append("")
    late = sections.closed_late(rep)
    if late:  # one line per stack, as the shim's
        out.append("%s: %d %s" % (sections.LATE_TITLE, len(late), plural(len(late), "socket", "sockets")))
        for k, (sid, leak, fd, n, lo, hi) in enumerate(sections.late_by_stack(rep)):
            if k == MAX_LATE_SHOWN:
                out.append("  ... and more places")
                break
            how = sections.UNCLOSED if leak == "unclosed" else "closed %s after found leaked" % cw_range(lo, hi)
            at = where_text(stacks.get(sid, []))
            out.append("  %d (%s, e.g. fd %s) %s, opened at %s [%s]" % (n, leak, fd, how, at, sid))
        out.append("")
    for x in sections.double_closes(rep):
        out.append(sections.double_close_title(x) + ", at:")
        frames = stacks.get(str(x.get("stack")), [])
        out += ["    " + frame_text(i, f) for i, f in enumerate(frames)] or ["    (no stack recorded)"]
        out.append("")
    return out


def environment_line(rep):
    """The shim's environment line: "Linux 6.1 x86_64; 8 fds open, limit 1024 (report at
    819); tcp_fin_timeout=60 ..." (sysctls in the report's order); "" without one."""
    env = obj(rep.d.get("environment"))
    if not env:
        return ""
    t = string(env.get("kernel")) or "?"
    open_fds, soft, at = (num(env.get(k), None) for k in ("open_fds", "nofile_soft", "threshold_fds"))
    if open_fds is not None or soft is not None:
        t += "; %s fds open, limit %s" % (open_fds if open_fds is not None else "?", soft if soft is not None else "?")
        if at:
            t += " (report at %d)" % at
    ctl = obj(env.get("sysctls"))
    if ctl:
        t += "; " + " ".join("%s=%s" % (k, v) for k, v in ctl.items())
    return t


def clean_exit(rep):
    """An exit with nothing live, nothing ever leaked, nothing missed: the shim's one line."""
    s, d = rep.summary(), rep.d
    late, dc, cov = obj(d.get("closed_late")), obj(d.get("unseen")), obj(d.get("coverage"))
    return (rep.reason == "exit" and not s["live"] and not s["suppressed"] and not num(late.get("total"), 0)
            and not num(dc.get("double_closes"), 0) and not num(cov.get("untracked"), 0)
            and not cov.get("truncated"))


def render_text(rep, top):
    """The report as text; top: stacks shown (0: all)."""
    pid = rep.pid if rep.pid is not None else "?"
    P = "==%s==" % pid
    if clean_exit(rep):
        n = rep.summary()["opened"] or 0
        return "%ssockleak: no leaks in %s: %d %s opened, all closed\n" % (
            P, rep.program, n, plural(n, "socket", "sockets"))
    out = []
    trig = sections.trigger_text(rep)
    if trig:
        out.append(P + "sockleak: " + trig)
    out += [P + "sockleak: " + headline(rep), P + "report: " + totals_text(rep)]
    out.append("")
    gs = rep.groups()
    shown = gs if top == 0 else gs[:top]
    stacks = rep.stacks()
    for g in shown:
        out += group_block(rep, g, stacks.get(g.stack, []))
        out.append("")
    hidden = gs[len(shown):]
    if hidden:
        out.append("... %d more %s (%d live, %d leaked) not shown; --top 0 shows all" % (
            len(hidden), plural(len(hidden), "stack", "stacks"), sum(g.count for g in hidden),
            sum(g.leaked for g in hidden)))
        out.append("")
    out += later_blocks(rep, top)
    cov = sections.coverage_text(rep)
    if cov:
        out.append(P + "coverage: " + cov)
    sup = sections.suppressed_text(rep)
    if sup:
        out.append(P + "suppressed: " + sup)
    env = environment_line(rep)
    if env:
        out.append(P + "environment: " + env)
    s = rep.summary()
    leaky = sum(1 for g in gs if g.leaked)
    line = "SUMMARY: sockleak: %d leaked %s in %d %s; " % (
        s["leaked"], plural(s["leaked"], "socket", "sockets"), leaky, plural(leaky, "stack", "stacks"))
    if s["leaked_closed"]:
        line += "%d leaked, then closed later; " % s["leaked_closed"]
    line += "%d live in %d %s" % (s["live"], len(gs), plural(len(gs), "stack", "stacks"))
    if s["opened"] is not None and s["closed"] is not None:
        line += "; %d opened, %d closed since start" % (s["opened"], s["closed"])
    out.append(line + ".")
    return "\n".join(out) + "\n"


def table_text(header, rows, right):
    """Columns padded to their widest cell; right-aligned where right[i]."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    out = []
    for r in [header] + rows:
        cells = [str(c).rjust(w) if right[i] else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  " + "  ".join(cells).rstrip())
    return out
