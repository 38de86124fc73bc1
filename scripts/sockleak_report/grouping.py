"""Grouping: a report summarized per stack (fingerprint), in one pass over its sockets.

The shim's "groups" give the counts per stack; the sockets complete them (fds, peers,
leak kinds, sockets without a TCP state, CLOSE_WAIT ranges), and stand in for them
when a report has no groups. Counts a group lists win over the sockets'. 100,000
sockets stay readable: a report is shown by stack, never socket by socket.
"""
import collections

from .values import dicts, num, obj, string

MAX_FDS_SHOWN = 16  # as the shim's text report


class Group:
    """What a report says about one stack: counts, states, ages, fds and peers."""
    __slots__ = ("stack", "order", "count", "leaked", "close_wait", "cw_max", "cw_lo", "cw_hi", "oldest", "origin",
                 "states", "other", "kinds", "fds", "peers", "locals", "idle_max", "listed")
    # listed: the keys the report's group gave (its counts win over the sockets')

    def __init__(self, stack, order):
        self.stack = stack
        self.order = order
        self.count = self.leaked = self.close_wait = 0
        self.cw_max = None  # longest CLOSE_WAIT of any socket (ms)
        self.cw_lo = self.cw_hi = None  # CLOSE_WAIT range of the leaked ones
        self.oldest = None
        self.origin = None
        self.states = collections.Counter()  # TCP states
        self.other = collections.Counter()  # sockets without a TCP state: "unix stream"
        self.kinds = collections.Counter()  # leak kinds: close_wait, idle, ...
        self.fds = []
        self.peers = collections.Counter()
        self.locals = collections.Counter()
        self.idle_max = None
        self.listed = frozenset()


def _from_groups(d, by):
    for g in dicts(d.get("groups")):
        sid = "none" if g.get("stack") is None else str(g.get("stack"))
        G = by.get(sid)
        if G is None:
            G = by[sid] = Group(sid, len(by))
        G.listed = frozenset(k for k in ("count", "leaked", "close_wait", "states") if k in g)
        G.count += int(num(g.get("count")))
        G.leaked += int(num(g.get("leaked")))
        G.close_wait += int(num(g.get("close_wait")))
        cw = num(g.get("max_close_wait_ms"), None)
        if cw is not None and (G.cw_max is None or cw > G.cw_max):
            G.cw_max = cw
        old = num(g.get("oldest_ms"), None)
        if old is not None and (G.oldest is None or old > G.oldest):
            G.oldest = old
        G.origin = G.origin or string(g.get("origin"))
        for k, v in obj(g.get("states")).items():
            G.states[str(k)] += int(num(v))


def _add_socket(G, s):
    state = s.get("state")
    leak = s.get("leak")
    cw = s.get("close_wait_ms")
    if not isinstance(cw, int) or isinstance(cw, bool):
        cw = None
    listed = G.listed
    if "count" not in listed:
        G.count += 1
    if leak and "leaked" not in listed:
        G.leaked += 1
    if state == "CLOSE_WAIT" and "close_wait" not in listed:
        G.close_wait += 1
    if state and "states" not in listed:
        G.states[str(state)] += 1
    if cw is not None and (G.cw_max is None or cw > G.cw_max):
        G.cw_max = cw
    age = s.get("age_ms")
    if isinstance(age, int) and (G.oldest is None or age > G.oldest):
        G.oldest = age
    if G.origin is None:
        G.origin = string(s.get("origin"))
    if not state:
        G.other["%s %s" % (s.get("family") or "other", s.get("type") or "other")] += 1
    if leak:
        G.kinds[str(leak)] += 1
        if leak == "close_wait" and cw is not None:
            if G.cw_lo is None or cw < G.cw_lo:
                G.cw_lo = cw
            if G.cw_hi is None or cw > G.cw_hi:
                G.cw_hi = cw
    fd = s.get("fd")
    if isinstance(fd, int):
        G.fds.append(fd)
    peer = s.get("peer")
    if peer:
        G.peers[str(peer)] += 1
    else:
        local = s.get("local")
        if local:
            G.locals[str(local)] += 1
    idle = s.get("idle_ms")
    if isinstance(idle, int) and (G.idle_max is None or idle > G.idle_max):
        G.idle_max = idle


def analyze(d):
    """The groups of the report object d, most leaked first: from "groups" when present,
    completed (fds, peers, leak kinds, non-TCP sockets) and, if need be, built from
    "sockets"."""
    by = {}
    _from_groups(d, by)
    for s in d.get("sockets") if isinstance(d.get("sockets"), list) else ():
        if not isinstance(s, dict):
            continue
        sid = s.get("stack")
        sid = "none" if sid is None else str(sid)
        G = by.get(sid)
        if G is None:
            G = by[sid] = Group(sid, len(by))
        _add_socket(G, s)
    groups = sorted(by.values(), key=lambda g: (-g.leaked, -g.count, g.order))
    for g in groups:
        if len(g.fds) > MAX_FDS_SHOWN:
            g.fds.sort()
    return groups


def state_counts(rep):
    """state -> number of sockets, over the whole report (non-TCP sockets by family and type)."""
    c = collections.Counter()
    for g in rep.groups():
        c.update(g.states)
        c.update(g.other)
    missing = rep.summary()["live"] - sum(c.values())
    if missing > 0:
        c["other (not TCP)"] += missing
    return c
