"""Grouping: a report summarized per stack (fingerprint), in one pass over its sockets.

The shim's "groups" give the counts per stack; the sockets complete them (fds, peers,
leak kinds, sockets without a TCP state, CLOSE_WAIT ranges), and stand in for them
when a report has no groups. Counts a group lists win over the sockets'. 100,000
sockets stay readable: a report is shown by stack, never socket by socket. Within a
group, the sockets that read end-of-file are grouped again by where they read it (the
stack of that read), most sockets first, as the shim groups them; the half-closed ones
that never read it are counted, with the bytes they left unread.
"""
import collections

from .values import dicts, integer, num, obj, string

MAX_FDS_SHOWN = 16  # as the shim's text report


class Group:
    """What a report says about one stack: counts, states, ages, fds and peers."""
    __slots__ = ("stack", "order", "count", "leaked", "close_wait", "cw_max", "cw_lo", "cw_hi", "oldest", "origin",
                 "states", "other", "kinds", "fds", "peers", "locals", "idle_max", "listed", "eofs", "eof_never",
                 "unread_bytes", "half_lo", "half_hi", "peer_closed")
    # listed: the keys the report's group gave (its counts win over the sockets')

    def __init__(self, stack, order):
        self.stack = stack
        self.order = order
        self.count = self.leaked = self.close_wait = 0
        self.cw_max = None  # longest CLOSE_WAIT of any socket (ms)
        self.cw_lo = self.cw_hi = None  # CLOSE_WAIT range of the leaked ones
        self.half_lo = self.half_hi = None  # CLOSE_WAIT (or peer gone) range of every half-closed one, as the shim's
        self.peer_closed = 0
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
        # where its sockets read end-of-file: [(stack id, sockets, newest eof_ms, oldest eof_ms)], most first
        self.eofs = []
        self.eof_never = 0  # half-closed (CLOSE_WAIT, peer closed) sockets that never read it
        self.unread_bytes = 0  # the bytes those left unread


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


def _add_socket(G, s, eofs):
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
    eof = string(s.get("eof_stack"))
    if eof:
        at = integer(s.get("eof_ms"))
        e = eofs.setdefault((G.stack, eof), [0, None, None])
        e[0] += 1
        if at is not None:
            e[1] = at if e[1] is None else min(e[1], at)
            e[2] = at if e[2] is None else max(e[2], at)
    half = integer(s.get("close_wait_ms"))
    if half is None:
        half = integer(s.get("peer_closed_ms"))
        G.peer_closed += half is not None
    if half is not None:
        G.half_lo = half if G.half_lo is None else min(G.half_lo, half)
        G.half_hi = half if G.half_hi is None else max(G.half_hi, half)
    if eof:
        pass
    elif integer(s.get("close_wait_ms")) is not None or integer(s.get("peer_closed_ms")) is not None:
        G.eof_never += 1  # half-closed, and no read saw the end of it
        unread = integer(s.get("unread_bytes"))
        G.unread_bytes += unread if unread and unread > 0 else 0


def analyze(d):
    """The groups of the report object d, most leaked first: from "groups" when present,
    completed (fds, peers, leak kinds, non-TCP sockets) and, if need be, built from
    "sockets"."""
    by, eofs = {}, {}
    _from_groups(d, by)
    for s in d.get("sockets") if isinstance(d.get("sockets"), list) else ():
        if not isinstance(s, dict):
            continue
        sid = s.get("stack")
        sid = "none" if sid is None else str(sid)
        G = by.get(sid)
        if G is None:
            G = by[sid] = Group(sid, len(by))
        _add_socket(G, s, eofs)
    if eofs:  # most sockets first; on a tie, as the shim: the stack it listed first
        order = {}
        for i, st in enumerate(dicts(d.get("stacks"))):
            order.setdefault(str(st.get("id")), i)
        for (gid, eof), (n, newest, oldest) in sorted(eofs.items(), key=lambda kv: (
                -kv[1][0], order.get(kv[0][1], len(order)), kv[0][1])):
            by[gid].eofs.append((eof, n, newest, oldest))
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
