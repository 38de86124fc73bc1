"""SOCKLEAK_OPTIONS and signals, read as the shim reads them (src/options.c).

The launcher builds SOCKLEAK_OPTIONS; the tool reads it back to decide what the shim in
a process will do: where the reports of a run go (the --fail-on-leak gate) and which
signal the shim in a running process listens to (dump). option_value() parses as the
shim does: key=value pairs separated by ':' or white space, a value may be quoted with
'...' or "...", the last occurrence of a key wins, text that is not key=value is
skipped, an unterminated quote ends the parse. parse_signal() accepts what the shim's
dump_signal accepts; signal_name() names a signal as `kill -l` does (USR2, RTMIN+4).
"""
import re
import signal

SEPARATORS = ": \t\n\r"

# the shim's table (src/options.c), in its order; POLL is IO's other name
SIGNALS = {"HUP": 1, "INT": 2, "QUIT": 3, "ILL": 4, "TRAP": 5, "ABRT": 6, "BUS": 7, "FPE": 8, "KILL": 9,
           "USR1": 10, "SEGV": 11, "USR2": 12, "PIPE": 13, "ALRM": 14, "TERM": 15, "STKFLT": 16, "CHLD": 17,
           "CONT": 18, "STOP": 19, "TSTP": 20, "TTIN": 21, "TTOU": 22, "URG": 23, "XCPU": 24, "XFSZ": 25,
           "VTALRM": 26, "PROF": 27, "WINCH": 28, "IO": 29, "POLL": 29, "PWR": 30, "SYS": 31}
NAMES = {n: name for name, n in SIGNALS.items() if name != "POLL"}
RTMIN = int(getattr(signal, "SIGRTMIN", 34))
RTMAX = int(getattr(signal, "SIGRTMAX", 64))
NSIG = RTMAX + 1
# never borrowed for dumps: cannot be caught, or report a fault in the current instruction
REFUSED = {SIGNALS[n] for n in ("KILL", "STOP", "SEGV", "BUS", "FPE", "ILL", "TRAP", "SYS")}


def options(text):
    """[(key, value)] of a SOCKLEAK_OPTIONS string, in order, as the shim's parser sees them."""
    out, i, n = [], 0, len(text)
    while i < n:
        if text[i] in SEPARATORS:
            i += 1
            continue
        k = i
        while i < n and text[i] != "=" and text[i] not in SEPARATORS:
            i += 1
        key = text[k:i]
        if i >= n or text[i] != "=":
            continue  # not key=value: the shim warns and goes on
        i += 1
        if i < n and text[i] in "'\"":
            q = text[i]
            end = text.find(q, i + 1)
            if end < 0:
                break  # unterminated quote: the shim ignores the rest
            value, i = text[i + 1:end], end + 1
        else:
            v = i
            while i < n and text[i] not in SEPARATORS:
                i += 1
            value = text[v:i]
        out.append((key, value))
    return out


def option_value(text, key, default=None):
    """The value key has in the SOCKLEAK_OPTIONS string text (the last one wins), else default."""
    found = default
    for k, v in options(text or ""):
        if k == key:
            found = v
    return found


def quote_value(v):
    """v as the shim's parser must see it: quoted if it holds a separator or starts with a
    quote. None if it holds both quote characters (the shim cannot read it)."""
    if any(c in v for c in ": \t\n\r\v\f") or v.startswith(("'", '"')):
        if "'" not in v:
            return "'%s'" % v
        if '"' not in v:
            return '"%s"' % v
        return None
    return v


def _parse_long(s, lo, hi):
    if not re.fullmatch(r"\s*[+-]?[0-9]+", s):
        return None
    v = int(s)
    return v if lo <= v <= hi else None


def parse_signal(s):
    """The signal number a dump_signal value names (0 for "0" or "none": dumps disabled),
    or None for what the shim refuses (unknown names, signals it never borrows)."""
    if s == "0" or s.lower() == "none":
        return 0
    if s[:1].isdigit():
        n = _parse_long(s, 1, NSIG - 1)
        return n if n is not None and n not in REFUSED else None
    name = s[3:] if s[:3].upper() == "SIG" else s
    up = name.upper()
    if up.startswith(("RTMIN", "RTMAX")):
        is_max, rest = up.startswith("RTMAX"), name[5:]
        off = 0
        if rest:
            if rest[0] != ("-" if is_max else "+"):
                return None
            off = _parse_long(rest[1:], 0, RTMAX - RTMIN)
            if off is None:
                return None
        n = RTMAX - off if is_max else RTMIN + off
    else:
        n = SIGNALS.get(up, 0)
    return n if n and n not in REFUSED else None


def signal_name(n):
    """The name `kill -l N` gives, without SIG: USR2, RTMIN+4, RTMAX-2; the number for others."""
    if n in NAMES:
        return NAMES[n]
    if n == RTMIN:
        return "RTMIN"
    if n == RTMAX:
        return "RTMAX"
    if RTMIN < n <= (RTMIN + RTMAX) // 2:
        return "RTMIN+%d" % (n - RTMIN)
    if (RTMIN + RTMAX) // 2 < n < RTMAX:
        return "RTMAX-%d" % (RTMAX - n)
    return str(n)
