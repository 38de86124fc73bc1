"""How frames, places and stacks read: frame lines, "where" a socket was opened, the headline.

A frame is the shim's {ip, function, function_offset, module, module_offset, file,
line}: any of them may be missing (a stripped program has no function, a program
without debug info no file). A language frame ("lang": python, java or js) has a
function, file, line (and a column, in JavaScript) and no address or module; it prints
as the shim prints it, "#2 fetch_item /srv/app/client.py:9 (python)". where() names
frame #0, the code that made the call; in a stack with language frames, the first of
them that is the program's own code (not the runtime's: Python's standard library,
java.*, node:), as the shim's headline does (src/report/langframes.c). The headline is
the one sentence that names the worst leak and the code behind it.
"""
import collections
import re

from .values import cw_range, duration, integer, num, obj, plural, string

MAX_ADDRS_SHOWN = 4
MAX_EOF_PLACES_SHOWN = 4  # places a stack's sockets read end-of-file, as the shim's text shows them

ORIGIN_TEXT = {"socket": "opened by socket()", "socketpair": "opened by socketpair()", "accept": "accepted",
               "dup": "duplicated by dup()", "inherited": "inherited at start-up",
               "pre-attach": "open when sockleak attached"}
KIND_TEXT = {"close_wait": "in CLOSE_WAIT", "idle": "idle", "max_age": "open too long",
             "peer_closed": "with the peer gone"}
UNKNOWN_PLACE = "an unknown place (no stack recorded)"
JAVA_RUNTIME = ("java.", "javax.", "jdk.", "sun.", "com.sun.")  # by function (class) name
JS_RUNTIME = ("node:", "internal/")  # by file


def basename(path):
    return path.rstrip("/").rsplit("/", 1)[-1] if path else path


def frame_file_line(f, short=False):
    """"client.c:42" (or the full path), or None when the frame has no file."""
    file = string(f.get("file"))
    if not file:
        return None
    line = f.get("line")
    name = basename(file) if short else file
    return "%s:%d" % (name, line) if isinstance(line, int) and line > 0 else name


def frame_module(f, short=False):
    """"leaky_client+0x1537", or None."""
    mod = string(f.get("module"))
    off = string(f.get("module_offset"))
    if not mod:
        return None
    mod = basename(mod) if short else mod
    return "%s+%s" % (mod, off) if off else mod


def lang(f):
    """The frame's language ("python", "java", "js"), or None for a native frame."""
    return string(f.get("lang"))


def is_runtime(f):
    """Is language frame f the runtime's own code? Python's standard library (not what is
    installed beside it, in site-packages or dist-packages) and frozen modules; Java's
    java.*, javax.*, jdk.*, sun.*, com.sun.*; Node's node: and internal/ modules."""
    kind, file, fn = lang(f), string(f.get("file")), string(f.get("function"))
    if kind == "python":
        return bool(file) and (file.startswith("<frozen ") or ("/lib/python3" in file and "-packages/" not in file))
    if kind == "java":
        return bool(fn) and fn.startswith(JAVA_RUNTIME)
    if kind == "js":
        return bool(file) and file.startswith(JS_RUNTIME)
    return False


def headline_frame(frames):
    """The frame a stack is named by: the first language frame of the program's own
    code, else the first language frame, else frame #0; None without frames."""
    first = None
    for f in frames:
        if lang(f):
            if not is_runtime(f):
                return f
            first = first or f
    return first or (frames[0] if frames else None)


def where(frames):
    """(function or None, "client.c:42" or "leaky_client+0x1537") of the frame a stack is
    named by (headline_frame): frame #0, the code that made the call (module+offset in a
    stripped program, never a later frame that happens to have a name), or the
    program's language frame; None without frames."""
    f = headline_frame(frames)
    if f is None:
        return None
    fn = string(f.get("function"))
    if lang(f):  # as the shim: "fetch_item (client.py:9)", "Pool.grab (java)"
        file, line = string(f.get("file")), f.get("line")
        if fn and file:
            return fn, "%s:%d" % (basename(file), integer(line) or 0)
        return (fn, lang(f)) if fn else (None, "?+0x0")
    place = frame_file_line(f, True) or frame_module(f, True) or string(f.get("ip")) or "?"
    return fn, place


def place_text(w):
    """"fetch_user (client.c:42)" of a where() answer, or the place alone without a function."""
    return "%s (%s)" % w if w[0] else w[1]


def where_text(frames):
    w = where(frames)
    return UNKNOWN_PLACE if w is None else place_text(w)


def frame_text(i, f):
    """"#0 0x5565 in fetch_user+0x3c /src/client.c:89 (/bin/client+0x1537)", or for a
    language frame "#0 fetch_item /srv/app/client.py:9 (python)" ("(unnamed)" without a
    function; JavaScript adds the column: "app.js:8:17 (js)")."""
    if lang(f):
        s = "#%d %s" % (i, string(f.get("function")) or "(unnamed)")
        file, line, col = string(f.get("file")), integer(f.get("line")), integer(f.get("column"))
        if file:
            s += " " + file + (":%d" % line if line and line > 0 else "")
        if col and col > 0:
            s += ":%d" % col
        return s + " (%s)" % lang(f)
    s = "#%d %s" % (i, string(f.get("ip")) or "?")
    fn = string(f.get("function"))
    if fn and f.get("inlined") is True:
        s += " in " + fn + " (inlined)"
    elif fn:
        off = string(f.get("function_offset"))
        s += " in " + fn + ("+" + off if off and not frame_file_line(f) else "")
    fl = frame_file_line(f)
    if fl:
        s += " " + fl
    mod = frame_module(f)
    if mod:
        s += " (%s)" % mod
    return s


def no_stack_text(rep, g):
    """Why a group has no frames."""
    if g.origin == "inherited":
        return "the socket predates this program"
    if g.origin == "pre-attach":
        return "created before sockleak attached"
    if num(obj(rep.d.get("options")).get("stack_depth"), None) == 0:
        return "stack_depth=0"
    return "not captured"


def called(origin):
    return ORIGIN_TEXT.get(origin, "opened" if not origin else "opened by " + origin)


def kinds_text(kinds):
    """"3 in CLOSE_WAIT, 2 idle"."""
    return ", ".join("%d %s" % (n, KIND_TEXT.get(k, k)) for k, n in kinds.most_common())


def addr_summary(counter):
    """"127.0.0.1:8080 (3), 10.0.0.2:443 (1), and 5 more". Many distinct addresses of few
    hosts (ephemeral ports) read better by host: "10.0.0.2:* (60000)"."""
    if not counter:
        return ""
    distinct = len(counter)
    top = counter.most_common(MAX_ADDRS_SHOWN)
    if distinct > MAX_ADDRS_SHOWN and 2 * sum(n for _a, n in top) < sum(counter.values()):
        hosts = collections.Counter()
        for a, n in counter.items():
            m = re.match(r"^(.*):\d+$", a)
            hosts[(m.group(1) + ":*") if m else a] += n
        if len(hosts) < distinct:
            counter, distinct = hosts, len(hosts)
            top = counter.most_common(MAX_ADDRS_SHOWN)
    s = ", ".join("%s (%d)" % (a, n) for a, n in top)
    if distinct > len(top):
        s += ", and %d more" % (distinct - len(top))
    return s


def states_text(g):
    parts = ["%s %d" % (k, n) for k, n in g.states.most_common()]
    parts += ["%s %d" % (k, n) for k, n in g.other.most_common()]
    return ", ".join(parts) if parts else "-"


def headline(rep, place=place_text):
    """The sentence that names the worst leak and the code behind it. place(where) writes
    a place (Markdown gives its own)."""
    gs, s = rep.groups(), rep.summary()

    def at(g):
        w = where(rep.stacks().get(g.stack, []))
        return UNKNOWN_PLACE if w is None else place(w)

    def eof(g):
        """"; end-of-file read at PLACE" where most of g's sockets read it, as the shim says."""
        if not g.eofs:
            return ""
        w = where(rep.stacks().get(g.eofs[0][0], []))
        return "; end-of-file read at " + (UNKNOWN_PLACE if w is None else place(w))

    cp = rep.checkpoint
    if cp is not None and not s["live"]:  # scoped (sockleak_report_since): a part of the sockets
        return "no socket made since checkpoint %d is still open" % cp
    if cp is not None:
        g = gs[0] if gs else None
        h = "%d %s left open since checkpoint %d" % (s["live"], plural(s["live"], "socket", "sockets"), cp)
        if g is not None:
            h += ", opened at " + at(g) + (" and elsewhere" if len(gs) > 1 else "") + eof(g)
        return h
    if s["leaked"]:
        leaking = [g for g in gs if g.leaked]
        g = leaking[0] if leaking else gs[0] if gs else None
        kinds = collections.Counter()
        for x in gs:
            kinds.update(x.kinds)
        n = s["leaked"]
        if not kinds or set(kinds) == {"close_wait"}:
            lo = min((x.cw_lo for x in gs if x.cw_lo is not None), default=None)
            hi = max((x.cw_hi for x in gs if x.cw_hi is not None), default=None)
            if hi is None:
                hi = max((x.cw_max for x in leaking if x.cw_max is not None), default=None)
            h = "%d %s stuck in CLOSE_WAIT" % (n, plural(n, "socket", "sockets"))
            if hi is not None:
                h += " for " + cw_range(lo, hi)
        else:
            h = "%d leaked %s (%s)" % (n, plural(n, "socket", "sockets"), kinds_text(kinds))
        if g is not None:
            h += ", opened at " + at(g)
            if len(leaking) > 1:
                h += " and elsewhere"
            h += eof(g)
        return h
    if s["close_wait"]:
        half = [x for x in gs if x.close_wait]  # one with a stack first, as the shim picks
        g = next((x for x in half if rep.stacks().get(x.stack)), half[0] if half else None)
        live = s["live"]
        h = "%d live %s, none leaked yet: %d in CLOSE_WAIT" % (live, plural(live, "socket", "sockets"), s["close_wait"])
        if g is not None:
            if g.cw_max is not None:
                h += " for up to " + duration(g.cw_max)
            if rep.close_wait_after() is not None:
                h += " (leaked after %s)" % duration(rep.close_wait_after())
            h += ", opened at " + at(g) + eof(g)
        return h
    if s["leaked_closed"]:
        late = [x for x in obj(rep.d.get("closed_late")).get("sockets") or [] if isinstance(x, dict)]
        n = s["leaked_closed"]
        h = "%d %s leaked, then closed later (by a finalizer, at shutdown, or late)" % (
            n, plural(n, "socket", "sockets"))
        if late:
            w = where(rep.stacks().get(late[0].get("stack"), []))
            h += ", opened at " + (UNKNOWN_PLACE if w is None else place(w))
        return h
    return "%d live %s, none leaked" % (s["live"], plural(s["live"], "socket", "sockets"))
