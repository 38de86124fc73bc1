"""The report as Markdown for a ticket (GitHub Flavored Markdown).

A title naming the worst leak, one sentence of totals, a table of states, a table of
the top stacks (with where their sockets read end-of-file), each stack's frames in a
fence, and the frames of the code that read end-of-file and did not close, the later
sections (growth, closed late, double closes), and an Environment table. Names from the program (C++ operators,
paths) are escaped so they never format: text is backslash-escaped, code spans and
fences are made longer than any backtick run inside, and | is escaped in table cells.
"""
import re

from . import sections
from .frames import (MAX_EOF_PLACES_SHOWN, addr_summary, called, frame_text, headline, kinds_text, no_stack_text,
                     states_text, where)
from .grouping import state_counts
from .values import cw_range, duration, num, plural

MD_SPECIAL = re.compile(r"[\\`*\[\]<>|~#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def md_text(s):
    """Plain text for Markdown: punctuation that could format is backslash-escaped (an
    underscore inside a word cannot, so CLOSE_WAIT stays as it is)."""
    return MD_SPECIAL.sub(lambda m: "\\" + m.group(0), str(s).replace("\n", " "))


def md_code(s):
    """An inline code span holding s verbatim, whatever backticks it holds."""
    s = str(s).replace("\n", " ")
    runs = [len(m) for m in re.findall(r"`+", s)]
    fence = "`" * (max(runs) + 1 if runs else 1)
    pad = " " if runs else ""
    return fence + pad + s + pad + fence


def md_cell(s):
    """A table cell: a | splits cells in GFM tables, even inside code spans, so escape it."""
    return str(s).replace("|", "\\|")


def md_table(header, rows, align=None):
    align = align or ["---"] * len(header)
    out = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(md_cell(c) for c in r) + " |" for r in rows]
    return out


def md_fence(lines):
    body = "\n".join(lines)
    runs = [len(m) for m in re.findall(r"`{3,}", body)]
    fence = "`" * max(3, max(runs) + 1 if runs else 3)
    return [fence, body, fence] if lines else [fence, fence]


def md_where(frames):
    w = where(frames)
    if w is None:
        return "no stack recorded"
    return "%s (%s)" % (md_code(w[0]), md_text(w[1])) if w[0] else md_code(w[1])


def _headline_place(w):
    return "%s (%s)" % (md_code(w[0]), md_text(w[1])) if w[0] else md_text(w[1])


def _totals_sentence(rep):
    s = rep.summary()
    sentence = "%s (pid %s): %s report at %s" % (md_code(rep.program), rep.pid if rep.pid is not None else "?",
                                                 md_text(rep.reason), md_text(rep.timestamp))
    if num(rep.d.get("uptime_ms"), None) is not None:
        sentence += ", after " + duration(rep.d["uptime_ms"])
    live = s["live"]
    sentence += ". %d live %s, %d in CLOSE_WAIT, **%d leaked**" % (
        live, plural(live, "socket", "sockets"), s["close_wait"], s["leaked"])
    if rep.close_wait_after() is not None:
        sentence += " (CLOSE_WAIT for %s or more)" % duration(rep.close_wait_after())
    if s["leaked_closed"]:
        sentence += ", %d leaked and closed later" % s["leaked_closed"]
    if s["listening"] is not None:
        sentence += ", %d listening" % s["listening"]
    if s["ignored"]:
        sentence += ", %d ignored (sockleak\\_ignore)" % s["ignored"]
    if s["suppressed"]:
        sentence += ", %d suppressed" % s["suppressed"]
    if s["opened"] is not None and s["closed"] is not None:
        sentence += "; %d opened, %d closed since start" % (s["opened"], s["closed"])
    sentence += "."
    if rep.scoped:
        sentence += (" A scoped report (sockleak\\_report\\_since): only the sockets made since checkpoint %d and "
                     "still open." % rep.checkpoint)
    return sentence


def md_eof(places, frames_of, never=0, unread=0):
    """Where a stack's sockets read end-of-file and never closed them, each place with its
    frames in a fence (as many as the shim's text shows), then the half-closed ones that
    never read it. places: [(stack id, sockets, newest ms, oldest ms)] (times None: not said)."""
    out = []
    for k, (sid, n, newest, oldest) in enumerate(places):
        if k == MAX_EOF_PLACES_SHOWN:
            out += ["End-of-file read in %d more places." % (len(places) - k), ""]
            break
        frames = frames_of(sid)
        ago = ", %s ago" % cw_range(newest, oldest) if oldest is not None else ""
        out += ["End-of-file read at %s, never closed (%d %s%s):" % (
            md_where(frames), n, plural(n, "socket", "sockets"), ago), ""]
        out += md_fence([frame_text(i, f) for i, f in enumerate(frames)] or ["(no stack recorded)"])
        out.append("")
    if never:
        line = "End-of-file never read: %d %s" % (never, plural(never, "socket", "sockets"))
        if unread:
            line += ", %d %s never read" % (unread, plural(unread, "byte", "bytes"))
        out += [line + ".", ""]
    return out


def _stack_section(rep, g, frames):
    title = "#### %s: " % md_code(g.stack)
    title += ("%d leaked of %d live" % (g.leaked, g.count)) if g.leaked else "%d live" % g.count
    title += ", left open since the checkpoint" if rep.scoped and not g.leaked else ""
    out = [title + ", " + md_text(called(g.origin)), ""]
    facts = ["states: " + md_text(states_text(g))]
    if g.leaked and g.kinds and set(g.kinds) != {"close_wait"}:
        facts.append("leaked: " + md_text(kinds_text(g.kinds)))
    if g.cw_max is not None:
        facts.append("longest CLOSE_WAIT: " + duration(g.cw_max))
    if g.oldest is not None:
        facts.append("oldest: " + duration(g.oldest))
    if g.idle_max is not None:
        facts.append("idle: up to " + duration(g.idle_max))
    if g.peers:
        facts.append("peers: " + md_text(addr_summary(g.peers)))
    elif g.locals:
        facts.append("local: " + md_text(addr_summary(g.locals)))
    out += ["; ".join(facts) + ".", ""]
    out += md_fence([frame_text(i, f) for i, f in enumerate(frames)] or ["(no stack: %s)" % no_stack_text(rep, g)])
    out.append("")
    stacks = rep.stacks()
    return out + md_eof(g.eofs, lambda sid: stacks.get(sid, []), g.eof_never, g.unread_bytes)


def _later_sections(rep, top):
    out, stacks = [], rep.stacks()
    grown = sections.growing(rep)
    if grown:
        since, rows = grown
        out += ["### Growing since the previous report (%s ago)" % duration(since), ""]
        out += md_table(["fingerprint", "added", "removed", "net", "opened since start", "closed since start",
                         "opened at"],
                        [(md_code(str(x.get("stack"))), "+%d" % num(x.get("added")), "-%d" % num(x.get("removed")),
                          "+%d" % num(x.get("net"), num(x.get("added")) - num(x.get("removed"))),
                          str(num(x.get("added_total"))), str(num(x.get("removed_total"))),
                          md_where(stacks.get(str(x.get("stack")), []))) for x in rows[:top or None]],
                        ["---", "---:", "---:", "---:", "---:", "---:", "---"])
        out.append("")
    late = sections.closed_late(rep)
    if late:
        out += ["### Leaked, then closed later", "", "%d %s found leaked, then closed: by the program, after a report "
                "found them leaked, or (leak `unclosed`) by the runtime's garbage collector or at shutdown, never by "
                "the program. Verdicts count them as leaked." % (len(late), plural(len(late), "socket", "sockets")),
                ""]
        out += md_table(["fd", "leak", "closed", "open in all", "opened at"],
                        [(str(x.get("fd")), md_text(x.get("leak") or "?"),
                          md_text(sections.UNCLOSED_TEXT) if x.get("leak") == "unclosed" else
                          "%s after the report" % duration(x.get("closed_after_report_ms")),
                          duration(x.get("lifetime_ms")), md_where(stacks.get(str(x.get("stack")), [])))
                         for x in late[:top or None]],
                        ["---:", "---", "---", "---:", "---"])
        out.append("")
    sites = sections.double_closes(rep)
    if sites:
        out += ["### Double closes", ""]
        for x in sites:
            out += [md_text(sections.double_close_title(x)) + ", at:", ""]
            frames = stacks.get(str(x.get("stack")), [])
            out += md_fence([frame_text(i, f) for i, f in enumerate(frames)] or ["(no stack recorded)"])
            out.append("")
    sup = sections.suppressed_by(rep)
    if sup:
        out += ["### Suppressed", ""]
        out += md_table(["rule", "sockets"], [(md_code(r), str(n)) for r, n in sup], ["---", "---:"])
        out.append("")
    return out


def render_markdown(rep, top):
    """The report as Markdown; top: stacks shown (0: all)."""
    out = ["## sockleak: " + headline(rep, place=_headline_place), ""]
    trig = sections.trigger_text(rep)
    if trig:
        out += ["**" + md_text(trig[0].upper() + trig[1:]) + ".**", ""]
    out += [_totals_sentence(rep), ""]
    out += md_table(["state", "count"], [(md_text(k), str(n)) for k, n in state_counts(rep).most_common()],
                    ["---", "---:"])
    out.append("")

    s, gs, stacks = rep.summary(), rep.groups(), rep.stacks()
    shown = gs if top == 0 else gs[:top]
    out.append("### Top leaking stacks" if s["leaked"] else "### Stacks")
    out.append("")
    rows = [(md_code(g.stack), str(g.leaked), str(g.count), duration(g.cw_max) if g.cw_max is not None else "-",
             md_where(stacks.get(g.stack, []))) for g in shown]
    header = ["fingerprint", "leaked", "live", "oldest CLOSE_WAIT", "opened at"]
    align = ["---", "---:", "---:", "---:", "---"]
    if any(g.eofs for g in shown):  # the code that saw the peer hang up and did not close
        header.append("end-of-file read at")
        align.append("---")
        rows = [r + (md_where(stacks.get(g.eofs[0][0], [])) if g.eofs else "-",) for r, g in zip(rows, shown)]
    out += md_table(header, rows, align)
    hidden = gs[len(shown):]
    if hidden:
        out += ["", "%d more %s (%d live, %d leaked) not shown." % (
            len(hidden), plural(len(hidden), "stack", "stacks"), sum(g.count for g in hidden),
            sum(g.leaked for g in hidden))]
    out.append("")
    for g in shown:
        out += _stack_section(rep, g, stacks.get(g.stack, []))
    out += _later_sections(rep, top)
    out += ["### Environment", ""]
    out += md_table(["setting", "value"], [(md_text(k), md_code(v)) for k, v in sections.environment(rep)])
    return "\n".join(out) + "\n"
