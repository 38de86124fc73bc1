"""Values read from a report, and how they read to people.

A report is untrusted input: every value may be missing, null or of another type than
the contract says. These readers never raise: they give a default instead. The
formatters write durations, plurals and JSON values as the shim's own text report does.
"""
import datetime
import json


def num(v, default=0):
    """v if it is a number (not a bool), else default."""
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else default


def integer(v):
    """v if it is an integer (not a bool), else None."""
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def dicts(v):
    """The dict members of a list, or [] if v is not a list."""
    return [x for x in v if isinstance(x, dict)] if isinstance(v, list) else []


def obj(v):
    """v if it is a dict (a JSON object), else {}."""
    return v if isinstance(v, dict) else {}


def string(v):
    """v if it is a non-empty string, else None."""
    return v if isinstance(v, str) and v else None


def plural(n, one, many):
    return one if n == 1 else many


def duration(ms):
    """A duration as the shim writes it: 850ms, 3.0s, 3m12s, 2h05m."""
    ms = int(max(0, num(ms)))
    if ms < 1000:
        return "%dms" % ms
    if ms < 60 * 1000:
        return "%d.%ds" % (ms // 1000, ms % 1000 // 100)
    if ms < 3600 * 1000:
        return "%dm%02ds" % (ms // 60000, ms // 1000 % 60)
    return "%dh%02dm" % (ms // 3600000, ms // 60000 % 60)


def cw_range(lo, hi):
    """"2.9s" or "1.0s to 3.0s", as the shim's headline."""
    if lo is None:
        lo = hi
    if hi is None:
        return duration(lo)
    return duration(lo) + (" to " + duration(hi) if hi - lo >= 100 else "")


def parse_time(s):
    """RFC 3339 -> aware datetime, or None."""
    if not isinstance(s, str):
        return None
    try:
        t = datetime.datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)


def json_text(v):
    """A value for a table or a line: strings as they are, anything else as JSON."""
    return v if isinstance(v, str) else json.dumps(v, sort_keys=True)
