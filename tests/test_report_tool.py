#!/usr/bin/env python3
"""test_report_tool.py - unit tests of scripts/sockleak-report (`sockleak report`).

The edge cases of reading reports (several per file, bad lines, missing and unknown
keys), what the renderers say, Markdown escaping, ELF build-id reading, the batching of
addr2line calls, and the time it takes to render a report of 100,000 sockets. The
integration tests (tests/integration/report_*.c) run the tool on real reports; these
build small ones shaped like them. Run by `make unit`; stdlib unittest only.
"""
import contextlib
import copy
import importlib.machinery
import importlib.util
import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOOL = os.path.join(ROOT, "scripts", "sockleak-report")


def load_tool():
    loader = importlib.machinery.SourceFileLoader("sockleak_report", TOOL)
    spec = importlib.util.spec_from_loader("sockleak_report", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


T = load_tool()
EXE = "/work/build/examples/leaky_client"
LIBC = "/lib/x86_64-linux-gnu/libc.so.6"


def frame(fn, off, module=EXE, fo="0x3c", bid="6a93f3bb3367eee6ee05662a9992ce8a21506720", **extra):
    f = {"ip": "0x5565%08x" % int(off, 16), "function": fn, "function_offset": fo if fn else None, "module": module,
         "module_offset": off, "build_id": bid}
    f.update(extra)
    return f


FETCH = [frame("fetch_user", "0x1537"), frame("main", "0x18cb", fo="0x22b"),
         frame("__libc_start_call_main", "0x2724a", LIBC, "0x7a", "93ac61ec5a8eb1396f9fbd350e3169a558528a40")]
LISTEN = [frame("serve", "0x1400", fo="0x10"), frame("main", "0x1800", fo="0x20")]


def sock(fd, stack, state="CLOSE_WAIT", leak="close_wait", cw=3000, peer="127.0.0.1:38191", **extra):
    s = {"fd": fd, "family": "inet", "type": "stream", "protocol": "tcp", "state": state,
         "local": "127.0.0.1:%d" % (40000 + fd), "peer": peer, "origin": "socket", "age_ms": 3000,
         "close_wait_ms": cw if state == "CLOSE_WAIT" else None, "leak": leak, "stack": stack, "origin_stack": None,
         "inode": 1000 + fd, "thread": 1}
    s.update(extra)
    return s


def report(pid=100, reason="exit", leaked=3, ts="2026-11-21T11:55:39.290Z", extra_socks=(), **top):
    """A report shaped like the shim's (leaky_client's exit report)."""
    socks = [sock(4 + i, "30a8c560e714e12a") for i in range(leaked)] + list(extra_socks)
    groups = {}
    for s in socks:
        g = groups.setdefault(s["stack"], {"stack": s["stack"], "count": 0, "leaked": 0, "close_wait": 0,
                                           "max_close_wait_ms": None, "oldest_ms": 0, "origin": "socket",
                                           "states": {}})
        g["count"] += 1
        g["leaked"] += bool(s["leak"])
        g["close_wait"] += s["state"] == "CLOSE_WAIT"
        if s["close_wait_ms"] is not None:
            g["max_close_wait_ms"] = max(g["max_close_wait_ms"] or 0, s["close_wait_ms"])
        g["oldest_ms"] = max(g["oldest_ms"], s["age_ms"])
        if s["state"]:
            g["states"][s["state"]] = g["states"].get(s["state"], 0) + 1
    d = {"tool": "sockleak", "version": "0.1.0", "pid": pid, "ppid": 1, "program": "leaky_client", "reason": reason,
         "timestamp": ts, "uptime_ms": 3002, "unwinder": "libunwind",
         "options": {"close_wait_after_ms": 1000, "scan_interval_ms": 1000, "stack_depth": 16},
         "summary": {"live": len(socks), "close_wait": sum(s["state"] == "CLOSE_WAIT" for s in socks),
                     "leaked": sum(bool(s["leak"]) for s in socks), "listening": 0, "stacks": len(groups),
                     "opened": 11, "closed": 8},
         "coverage": {"untracked": 0, "untracked_nomem": 0, "closed_behind_back": 0, "stacks_dropped": 0,
                      "truncated": False},
         "sockets": socks,
         "stacks": [{"id": "30a8c560e714e12a", "frames": copy.deepcopy(FETCH)},
                    {"id": "11112222aaaabbbb", "frames": copy.deepcopy(LISTEN)}],
         "groups": sorted(groups.values(), key=lambda g: -g["leaked"])}
    d.update(top)
    return d


class ToolCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sockleak-report-test-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, *lines):
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            for x in lines:
                f.write((x if isinstance(x, str) else json.dumps(x)) + "\n")
        return path

    def run_tool(self, *argv):
        """(status, stdout, stderr) of the tool's main(), in this process."""
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = T.main(list(argv))
        return rc, out.getvalue(), err.getvalue()


class Reading(ToolCase):
    def test_several_reports_per_file_last_of_each_pid(self):
        f = self.write("r.jsonl", report(1, "signal", 1), report(2, "exit", 2), report(1, "signal", 2),
                       report(1, "exit", 3))
        reps = T.load([f])
        self.assertEqual([(r.pid, r.summary()["leaked"]) for r in reps], [(2, 2), (1, 3)])
        self.assertEqual(len(T.load([f], every=True)), 4)

    def test_same_pid_in_two_files_is_two_processes(self):
        a = self.write("host-a.jsonl", report(7, leaked=1))
        b = self.write("host-b.jsonl", report(7, leaked=2))
        self.assertEqual(len(T.load([a, b])), 2)

    def test_bad_lines_are_named_with_file_and_line_and_skipped(self):
        f = self.write("r.jsonl", "garbage", "", '{"tool": "sockleak", "pid": 1', "[1, 2]", '{"tool": "other"}',
                       report(5, leaked=2), "==5==sockleak: a text report line")
        rc, out, err = self.run_tool("check", "--max-leaked", "2", f)
        self.assertEqual(rc, 0, err)
        for n in (1, 3, 4, 5, 7):
            self.assertIn("%s:%d: skipped: " % (f, n), err)
        self.assertNotIn("%s:2:" % f, err)  # a blank line is no error
        self.assertIn("1 report of 1 process", out)

    def test_many_bad_lines_are_counted_not_listed(self):
        f = self.write("r.jsonl", *(["nope"] * 20 + [json.dumps(report())]))
        rc, _out, err = self.run_tool("render", f)
        self.assertEqual(rc, 0)
        self.assertEqual(err.count("skipped: not JSON"), T.MAX_BAD_LINES)
        self.assertIn("15 more bad lines skipped", err)

    def test_a_file_without_any_report_is_an_input_error(self):
        f = self.write("r.jsonl", "not json at all")
        rc, _out, err = self.run_tool("render", f)
        self.assertEqual(rc, 2)
        self.assertIn("no sockleak report in %s" % f, err)
        rc, _out, err = self.run_tool("check", os.path.join(self.dir, "absent.jsonl"))
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_invalid_utf8_is_replaced_not_fatal(self):
        path = os.path.join(self.dir, "r.jsonl")
        d = report()
        d["program"] = "PROGNAME"
        with open(path, "wb") as f:
            f.write(json.dumps(d).replace("PROGNAME", "bad\udcff".encode("utf-8", "surrogatepass").decode("latin-1"))
                    .encode("latin-1") + b"\n")
        rc, out, _err = self.run_tool("render", path)
        self.assertEqual(rc, 0)
        self.assertIn("exit of bad", out)

    def test_percent_p_stands_for_every_pid(self):
        self.write("r.11.jsonl", report(11))
        self.write("r.12.jsonl", report(12))
        self.write("x%p.jsonl", report(13))  # a real file with %p in its name is taken as it is
        reps = T.load([os.path.join(self.dir, "r.%p.jsonl")])
        self.assertEqual(sorted(r.pid for r in reps), [11, 12])
        self.assertEqual([r.pid for r in T.load([os.path.join(self.dir, "x%p.jsonl")])], [13])
        with self.assertRaises(T.Failure):
            T.load([os.path.join(self.dir, "none.%p.jsonl")])
        self.assertEqual(T.load([os.path.join(self.dir, "none.%p.jsonl")], none_ok=True), [])

    def test_since_keeps_later_reports(self):
        f = self.write("r.jsonl", report(1, ts="2026-01-01T00:00:00.000Z"), report(2, ts="2026-01-01T00:00:01.500Z"))
        reps = T.load([f], since=T.parse_time("2026-01-01T00:00:01Z"))
        self.assertEqual([r.pid for r in reps], [2])
        rc, _out, err = self.run_tool("check", "--since", "yesterday", f)
        self.assertEqual(rc, 2)
        self.assertIn("is not an RFC 3339 time", err)

    def test_stdin(self):
        old = sys.stdin
        sys.stdin = io.TextIOWrapper(io.BytesIO((json.dumps(report(9)) + "\n").encode()))
        try:
            rc, out, _err = self.run_tool("check", "--max-leaked", "5", "-")
        finally:
            sys.stdin = old
        self.assertEqual(rc, 0)
        self.assertIn("OK", out)


class Rendering(ToolCase):
    def test_text_headline_as_the_shim_writes_it(self):
        rc, out, _err = self.run_tool("render", self.write("r.jsonl", report(18266)))
        self.assertEqual(rc, 0)
        lines = out.splitlines()
        self.assertEqual(lines[0], "==18266==sockleak: 3 sockets stuck in CLOSE_WAIT for 3.0s, opened at fetch_user "
                                   "(leaky_client+0x1537)")
        self.assertTrue(lines[1].startswith("==18266==report: exit of leaky_client (pid 18266) at "
                                            "2026-11-21T11:55:39.290Z, after 3.0s; 3 live, 3 in CLOSE_WAIT, 3 leaked "
                                            "(CLOSE_WAIT for 1.0s or more), 0 listening"), lines[1])
        self.assertIn("    #0 0x556500001537 in fetch_user+0x3c (%s+0x1537)" % EXE, lines)
        self.assertIn("  peers: 127.0.0.1:38191 (3)", lines)
        self.assertIn("  fds: 4 5 6", lines)
        self.assertEqual(lines[-1], "SUMMARY: sockleak: 3 leaked sockets in 1 stack; 3 live in 1 stack; "
                                    "11 opened, 8 closed since start.")

    def test_durations_as_the_shim_writes_them(self):
        self.assertEqual([T.duration(x) for x in (0, 850, 3000, 59999, 192000, 7500000, -5)],
                         ["0ms", "850ms", "3.0s", "59.9s", "3m12s", "2h05m", "0ms"])

    def test_file_and_line_are_used_when_frames_have_them(self):
        d = report()
        d["stacks"][0]["frames"][0].update(file="/src/client.c", line=42)
        rc, out, _err = self.run_tool("render", self.write("r.jsonl", d))
        self.assertIn("opened at fetch_user (client.c:42)\n", out)
        self.assertIn(" in fetch_user+0x3c /src/client.c:42 (", out)
        rc, md, _err = self.run_tool("render", "--format", "markdown", self.write("r2.jsonl", d))
        self.assertIn("| `fetch_user` (client.c:42) |", md)

    def test_only_the_contract_keys(self):
        d = {"tool": "sockleak", "version": "1", "pid": 3, "reason": "signal", "timestamp": "2026-11-21T11:55:39Z",
             "summary": {"live": 2, "close_wait": 1, "leaked": 1},
             "sockets": [{"fd": 5, "family": "inet", "type": "stream", "state": "CLOSE_WAIT", "local": None,
                          "peer": "10.0.0.1:80", "origin": "accept", "age_ms": 10, "close_wait_ms": 9000,
                          "leak": "close_wait", "stack": "aa"},
                         {"fd": 6, "family": "unix", "type": "stream", "state": None, "local": "/run/x", "peer": None,
                          "origin": "socket", "age_ms": 10, "close_wait_ms": None, "leak": None, "stack": "bb"}],
             "stacks": [{"id": "aa", "frames": [{"ip": "0x1", "function": None, "module": "/bin/srv",
                                                 "module_offset": "0x10"}]},
                        {"id": "bb", "frames": []}],
             "groups": [{"stack": "aa", "count": 1, "leaked": 1}, {"stack": "bb", "count": 1, "leaked": 0}]}
        f = self.write("r.jsonl", d)
        rc, out, err = self.run_tool("render", f)
        self.assertEqual(rc, 0, err)
        self.assertIn("==3==sockleak: 1 socket stuck in CLOSE_WAIT for 9.0s, opened at srv+0x10\n", out)
        self.assertIn("  states: CLOSE_WAIT 1\n", out)  # from the sockets: groups lack states
        self.assertIn("  states: unix stream 1\n", out)
        self.assertIn("(no stack: not captured)", out)
        rc, md, err = self.run_tool("render", "--format", "markdown", f)
        self.assertEqual(rc, 0, err)
        self.assertIn("| unix stream | 1 |", md)
        for cmd in (["merge", f], ["merge", "--json", f], ["diff", f, f], ["check", f]):
            rc, _out, err = self.run_tool(*cmd)
            self.assertIn(rc, (0, 1), (cmd, err))

    def test_without_groups_they_are_built_from_the_sockets(self):
        d = report(leaked=2, extra_socks=[sock(9, "11112222aaaabbbb", "ESTABLISHED", None)])
        del d["groups"]
        rep = T.load([self.write("r.jsonl", d)])[0]
        self.assertEqual([(g.stack, g.count, g.leaked) for g in rep.groups()],
                         [("30a8c560e714e12a", 2, 2), ("11112222aaaabbbb", 1, 0)])

    def test_next_to_nothing(self):
        f = self.write("r.jsonl", {"tool": "sockleak"}, {"tool": "sockleak", "pid": "x", "sockets": "odd",
                                                        "stacks": [None, {"id": 5, "frames": None}],
                                                        "groups": [{"stack": None, "count": "many"}],
                                                        "summary": [], "options": None, "environment": 3})
        for cmd in (["render", "--all", f], ["render", "--all", "--format", "markdown", f], ["merge", "--all", f],
                    ["merge", "--json", "--all", f], ["check", "--all", f], ["diff", "--all", f, f]):
            rc, out, err = self.run_tool(*cmd)
            self.assertIn(rc, (0, 1), (cmd, err))
            self.assertTrue(out, cmd)
        rc, out, _err = self.run_tool("render", "--all", f)
        self.assertIn("==?==sockleak: 0 live sockets, none leaked", out)

    def test_forthcoming_keys_are_rendered(self):
        d = report(leaked=1, extra_socks=[sock(20, "11112222aaaabbbb", "ESTABLISHED", "idle", idle_ms=600000),
                                          sock(21, "11112222aaaabbbb", "ESTABLISHED", "max_age"),
                                          sock(22, "11112222aaaabbbb", "ESTABLISHED", "brand_new_kind")])
        d["summary"]["leaked"] = 4
        d["summary"]["suppressed"] = 7
        d["environment"] = {"kernel": "6.1.0-18-amd64", "nofile_soft": 1024, "nofile_hard": 524288, "open_fds": 12,
                            "sysctls": {"net.ipv4.tcp_keepalive_time": 7200, "net.ipv4.tcp_fin_timeout": "60"},
                            "cgroup": "/system.slice/x"}
        d["growth"] = [{"stack": "30a8c560e714e12a", "added": 5, "removed": 1, "added_total": 9, "removed_total": 2}]
        d["closed_late"] = [{"stack": "30a8c560e714e12a", "fd": 4}]
        d["unseen"] = {"io_uring": 2}
        d["something_new"] = {"nested": [1, 2]}
        f = self.write("r.jsonl", d)
        rc, out, err = self.run_tool("render", f)
        self.assertEqual(rc, 0, err)
        self.assertIn("4 leaked sockets (", out.splitlines()[0])
        self.assertIn("1 idle", out.splitlines()[0])
        self.assertIn("1 open too long", out.splitlines()[0])
        self.assertIn("1 brand_new_kind", out.splitlines()[0])
        self.assertIn(", 7 suppressed", out)
        self.assertIn("kernel 6.1.0-18-amd64", out)
        self.assertIn("file descriptors 12 open, soft limit 1024, hard limit 524288", out)
        self.assertIn("  idle: up to 10m00s", out)
        self.assertIn("+5 -1 (since start +9 -2)  30a8c560e714e12a  fetch_user (leaky_client+0x1537)", out)
        self.assertIn("closed late: 1 socket", out)
        self.assertIn("unseen: io_uring 2", out)
        rc, md, err = self.run_tool("render", "--format", "markdown", f)
        self.assertEqual(rc, 0, err)
        for row in ("| kernel | `6.1.0-18-amd64` |", "| net.ipv4.tcp_keepalive_time | `7200` |",
                    "| file descriptors | `12 open, soft limit 1024, hard limit 524288` |",
                    "| cgroup | `/system.slice/x` |", "### Growth since the previous report"):
            self.assertIn(row, md)

    def test_top_limits_the_stacks_shown(self):
        socks = [sock(100 + i, "%016x" % i, "ESTABLISHED", None) for i in range(30)]
        d = report(extra_socks=socks)
        f = self.write("r.jsonl", d)
        _rc, out, _err = self.run_tool("render", "--top", "5", f)
        self.assertEqual(out.count("  stack: "), 5)
        self.assertIn("... 26 more stacks (26 live, 0 leaked) not shown; --top 0 shows all", out)
        _rc, out, _err = self.run_tool("render", "--top", "0", f)
        self.assertEqual(out.count("  stack: "), 31)

    def test_render_to_a_file_per_process(self):
        f = self.write("r.jsonl", report(1), report(2))
        rc, _out, err = self.run_tool("render", "-o", os.path.join(self.dir, "out.%p.txt"), f)
        self.assertEqual(rc, 0, err)
        with open(os.path.join(self.dir, "out.2.txt"), encoding="utf-8") as fh:
            self.assertTrue(fh.read().startswith("==2==sockleak: "))


class Markdown(ToolCase):
    def cells(self, row):
        """The cells of a GFM table row: split on pipes not escaped by a backslash."""
        return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]

    def test_pipes_in_cxx_names_do_not_split_cells(self):
        d = report()
        d["stacks"][0]["frames"][0]["function"] = "Flags operator|(Flags, Flags)"
        d["program"] = "a|b"
        md = T.render_markdown(T.Report(d, "x", 1), 10)
        rows = [x for x in md.splitlines() if x.startswith("| `30a8")]
        self.assertEqual(len(rows), 1)
        self.assertEqual(len(self.cells(rows[0])), 5, rows[0])
        self.assertIn("`Flags operator\\|(Flags, Flags)`", rows[0])
        env = [x for x in md.splitlines() if x.startswith("| program |")]
        self.assertEqual(self.cells(env[0]), ["program", "`a\\|b`"])
        # outside tables a code span keeps its | as it is
        self.assertIn("#0 0x556500001537 in Flags operator|(Flags, Flags)+0x3c", md)
        self.assertIn("opened at `Flags operator|(Flags, Flags)` (", md.splitlines()[0])

    def test_backticks_and_markup_in_names(self):
        self.assertEqual(T.md_code("a`b"), "`` a`b ``")
        self.assertEqual(T.md_code("plain"), "`plain`")
        self.assertEqual(T.md_text("CLOSE_WAIT _x *y* [l](u) <b>"), "CLOSE_WAIT \\_x \\*y\\* \\[l\\](u) \\<b\\>")
        self.assertEqual(T.md_fence(["a ``` b"])[0], "````")

    def test_tables_and_sections(self):
        md = T.render_markdown(T.Report(report(), "x", 1), 10)
        lines = md.splitlines()
        self.assertTrue(lines[0].startswith("## sockleak: 3 sockets stuck in CLOSE_WAIT for 3.0s, opened at "
                                            "`fetch_user` (leaky_client+0x1537)"), lines[0])
        for x in ("| state | count |", "| CLOSE_WAIT | 3 |",
                  "| fingerprint | leaked | live | oldest CLOSE_WAIT | opened at |",
                  "| `30a8c560e714e12a` | 3 | 3 | 3.0s | `fetch_user` (leaky_client+0x1537) |",
                  "### Environment", "| reason | `exit` |", "| close_wait_after | `1.0s` |", "```"):
            self.assertIn(x, lines)


class Performance(ToolCase):
    def test_100k_sockets_render_fast_and_grouped(self):
        n = 100000
        socks = []
        for i in range(n):
            sid = "%016x" % (i % 40) if i % 2 else "30a8c560e714e12a"
            leaked = i % 2 == 0
            socks.append({"fd": 3 + i, "family": "inet", "type": "stream", "protocol": "tcp",
                          "state": "CLOSE_WAIT" if leaked else "ESTABLISHED", "local": "10.0.0.1:%d" % (1024 + i % 60000),
                          "peer": "10.1.%d.%d:%d" % (i % 4, i % 250, 1024 + i % 60000), "origin": "accept",
                          "age_ms": i, "close_wait_ms": 192000 + i if leaked else None,
                          "leak": "close_wait" if leaked else None, "stack": sid, "origin_stack": None,
                          "inode": i, "thread": 1})
        d = report(leaked=0)
        d["sockets"] = socks
        d["stacks"] += [{"id": "%016x" % k, "frames": LISTEN} for k in range(40)]
        del d["groups"]  # the worst case: everything from the sockets
        d["summary"] = {"live": n, "close_wait": n // 2, "leaked": n // 2, "listening": 0}
        f = self.write("big.jsonl", d)
        self.assertGreater(os.path.getsize(f), 20 * 1000 * 1000)
        outs = {}
        for fmt in ("text", "markdown"):
            t0 = time.monotonic()
            rc, outs[fmt], err = self.run_tool("render", "--format", fmt, f)
            took = time.monotonic() - t0
            self.assertEqual(rc, 0, err)
            self.assertLess(took, 5.0, "%s render of %d sockets took %.1fs" % (fmt, n, took))
            self.assertLess(len(outs[fmt].splitlines()), 300)  # grouped, never one line per socket
        out = outs["text"]
        self.assertIn("sockleak: 50000 sockets stuck in CLOSE_WAIT for 3m12s to 4m51s, opened at fetch_user", out)
        self.assertIn("  fds: 3 5 7 9 11 13 15 17 19 21 23 25 27 29 31 33 ... (49984 more)", out)
        self.assertIn("  peers: 10.1.0.0:* (", out)  # ephemeral ports summarized by host


def elf(is64, little, notes=b"", with_sections=True):
    """A minimal ELF file: a header, one note (as a SHT_NOTE section and a PT_NOTE
    segment), a .shstrtab."""
    e = "<" if little else ">"
    shstr = b"\0.note.gnu.build-id\0.shstrtab\0"
    ehsize, phentsize, shentsize = (64, 56, 64) if is64 else (52, 32, 40)
    phoff = ehsize
    note_off = phoff + phentsize
    shstr_off = note_off + len(notes)
    shoff = shstr_off + len(shstr)
    shoff += (-shoff) % 8
    nsec = 3 if with_sections else 0
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 1 if little else 2, 1]) + b"\0" * 9
    if is64:
        hdr = ident + struct.pack(e + "HHIQQQIHHHHHH", 3, 62, 1, 0, phoff, shoff if nsec else 0, 0, ehsize,
                                  phentsize, 1, shentsize, nsec, 2 if nsec else 0)
        ph = struct.pack(e + "IIQQQQQQ", 4, 4, note_off, 0, 0, len(notes), len(notes), 4)
        sec = [struct.pack(e + "IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
               struct.pack(e + "IIQQQQIIQQ", 1, 7, 2, 0, note_off, len(notes), 0, 0, 4, 0),
               struct.pack(e + "IIQQQQIIQQ", 20, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0)]
    else:
        hdr = ident + struct.pack(e + "HHIIIIIHHHHHH", 3, 3, 1, 0, phoff, shoff if nsec else 0, 0, ehsize,
                                  phentsize, 1, shentsize, nsec, 2 if nsec else 0)
        ph = struct.pack(e + "IIIIIIII", 4, note_off, 0, 0, len(notes), len(notes), 4, 4)
        sec = [struct.pack(e + "IIIIIIIIII", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
               struct.pack(e + "IIIIIIIIII", 1, 7, 2, 0, note_off, len(notes), 0, 0, 4, 0),
               struct.pack(e + "IIIIIIIIII", 20, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0)]
    body = hdr + ph + notes + shstr
    body += b"\0" * (shoff - len(body))
    return body + (b"".join(sec) if nsec else b"")


def note(e, name, ntype, desc):
    pad = lambda b: b + b"\0" * ((-len(b)) % 4)  # noqa: E731
    return struct.pack(e + "III", len(name), len(desc), ntype) + pad(name) + pad(desc)


class BuildId(ToolCase):
    def put(self, name, data):
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_every_class_and_byte_order(self):
        bid = bytes(range(1, 21))
        for is64 in (False, True):
            for little in (False, True):
                e = "<" if little else ">"
                notes = note(e, b"GNU\0", 1, b"\0" * 16) + note(e, b"GNU\0", 3, bid)  # ABI tag first
                info = T.elf_info(self.put("x", elf(is64, little, notes)))
                self.assertEqual(info.build_id, bid.hex(), (is64, little))
                # without section headers, from the PT_NOTE segment
                info = T.elf_info(self.put("y", elf(is64, little, notes, with_sections=False)))
                self.assertEqual(info.build_id, bid.hex(), (is64, little, "phdrs"))

    def test_odd_files_give_none_never_an_exception(self):
        good = elf(True, True, note("<", b"GNU\0", 3, b"\xab" * 20))
        self.assertIsNone(T.elf_info(self.put("text", b"#!/bin/sh\necho hi\n")))
        self.assertIsNone(T.elf_info(os.path.join(self.dir, "absent")))
        self.assertIsNone(T.elf_info(self.dir))
        for cut in (10, 60, 100, len(good) - 30):
            info = T.elf_info(self.put("cut", good[:cut]))
            self.assertTrue(info is None or info.build_id in (None, "ab" * 20))
        bogus = bytearray(good)
        struct.pack_into("<I", bogus, 64 + 56 + 4, 0xFFFFFFF0)  # descsz far past the end
        info = T.elf_info(self.put("bogus", bytes(bogus)))
        self.assertTrue(info is None or info.build_id in (None, "ab" * 20))

    @unittest.skipUnless(shutil.which("cc") and shutil.which("objcopy") and shutil.which("strip"), "needs cc, binutils")
    def test_a_real_binary_its_debug_file_and_its_stripped_copy(self):
        src = self.put("p.c", b"int main(void) { return 0; }\n")
        exe = os.path.join(self.dir, "p")
        subprocess.run(["cc", "-g", "-Wl,--build-id=0x00112233445566778899aabbccddeeff01234567", src, "-o", exe],
                       check=True)
        subprocess.run(["objcopy", "--only-keep-debug", exe, exe + ".debug"], check=True)
        shutil.copy(exe, exe + ".stripped")
        subprocess.run(["strip", "-s", exe + ".stripped"], check=True)
        want = "00112233445566778899aabbccddeeff01234567"
        info = T.elf_info(exe)
        self.assertEqual((info.build_id, info.has_debug, info.has_symtab), (want, True, True))
        info = T.elf_info(exe + ".debug")
        self.assertEqual((info.build_id, info.has_debug), (want, True))
        info = T.elf_info(exe + ".stripped")
        self.assertEqual((info.build_id, info.has_debug, info.has_symtab), (want, False, False))


class Symbolize(ToolCase):
    def test_addr2line_locations(self):
        P = T.parse_location
        self.assertEqual(P("/src/a.c:42:7"), ("/src/a.c", 42))
        self.assertEqual(P("/src/a.c:42 (discriminator 3)"), ("/src/a.c", 42))
        self.assertEqual(P("??:0"), (None, None))
        self.assertEqual(P("??:?"), (None, None))
        self.assertEqual(P("/src/a.c:?"), ("/src/a.c", None))
        self.assertEqual(P("/src/a.c:0"), ("/src/a.c", None))

    @unittest.skipUnless(shutil.which("cc"), "needs cc")
    def test_one_addr2line_call_per_module_and_keys_kept(self):
        exe = os.path.join(self.dir, "prog")
        src = self.write("prog.c", "int main(void) { return 0; }")
        subprocess.run(["cc", "-g", "-Wl,--build-id=0xfeedface00000000000000000000000000000001", src, "-o", exe],
                       check=True)
        log = os.path.join(self.dir, "calls.log")
        fake = os.path.join(self.dir, "fake-addr2line")
        with open(fake, "w", encoding="utf-8") as f:
            f.write("#!/bin/sh\necho \"$@\" >> %s\nwhile read a; do echo \"$a\" >> %s; echo \"fn_$a\"; "
                    "echo \"/src/prog.c:7:3\"; done\n" % (log, log))
        os.chmod(fake, 0o755)
        bid = "feedface00000000000000000000000000000001"
        frames = [frame(None, "0x1139", exe, bid=bid), frame("known", "0x1150", exe, bid=bid, extra_key="kept"),
                  frame(None, "0x1139", exe, bid=bid)]
        d = report()
        d["stacks"] = [{"id": "s1", "frames": frames[:2]}, {"id": "s2", "frames": frames[2:]},
                       {"id": "s3", "frames": [frame(None, "0x1", "/nowhere/lib.so", bid="00")]}]
        f = self.write("r.jsonl", "not a report", d)
        out = os.path.join(self.dir, "out.jsonl")
        rc, _o, err = self.run_tool("symbolize", "--addr2line", fake, "-o", out, f)
        self.assertEqual(rc, 0, err)
        self.assertIn("no file with build-id 00 for /nowhere/lib.so", err)
        with open(log, encoding="utf-8") as fh:
            calls = fh.read().splitlines()
        self.assertEqual(calls, ["-f -C -e %s" % exe, "0x1138", "0x114f"])  # one call, each offset once, minus 1
        with open(out, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        self.assertEqual(lines[0], "not a report")  # copied as it was
        got = json.loads(lines[1])
        self.assertEqual([s["id"] for s in got["stacks"]], ["s1", "s2", "s3"])
        f0, f1 = got["stacks"][0]["frames"]
        self.assertEqual((f0["function"], f0["file"], f0["line"]), ("fn_0x1138", "/src/prog.c", 7))
        self.assertEqual((f1["function"], f1["file"], f1["line"], f1["extra_key"]), ("known", "/src/prog.c", 7, "kept"))
        self.assertEqual({k: v for k, v in got.items() if k != "stacks"}, {k: v for k, v in d.items() if k != "stacks"})
        self.assertIsNone(got["stacks"][2]["frames"][0]["function"])

    @unittest.skipUnless(shutil.which("cc"), "needs cc")
    def test_a_file_of_another_build_is_refused(self):
        src = self.write("lib.c", "int f(void) { return 1; }")
        lib = os.path.join(self.dir, "lib.so")
        subprocess.run(["cc", "-g", "-shared", "-fPIC", "-Wl,--build-id=0x" + "01" * 20, src, "-o", lib], check=True)
        r = T.Resolver([self.dir], [])
        self.assertEqual(r.find("/elsewhere/lib.so", "01" * 20)[0], lib)  # DIR/NAME, same build-id
        self.assertIsNone(r.find("/elsewhere/lib.so", "02" * 20))  # same name, another build
        self.assertIsNone(r.find("/elsewhere/lib.so", None))  # cannot tell: not used
        self.assertEqual(r.find(lib, None)[0], lib)  # the module itself, on this machine

class Commands(ToolCase):
    def test_check(self):
        f = self.write("r.jsonl", report(1, leaked=3))
        rc, out, _err = self.run_tool("check", "--max-leaked", "2", f)
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"^sockleak check: FAIL: leaky_client \(pid 1\): 3 leaked sockets, more than 2 allowed; "
                              r"worst: 3 at fetch_user \(leaky_client\+0x1537\) \[stack 30a8c560e714e12a\]")
        self.assertEqual(self.run_tool("check", "--max-leaked", "3", f)[0], 0)
        self.assertEqual(self.run_tool("check", "--max-leaked", "-1", f)[0], 2)
        self.assertEqual(self.run_tool("check")[0], 2)
        self.assertEqual(self.run_tool("frobnicate", f)[0], 2)
        self.assertEqual(self.run_tool()[0], 2)

    def test_merge_counts_a_socket_shared_across_fork_once(self):
        parent = report(pid=100, leaked=2)
        child = report(pid=101, leaked=0, ppid=100,
                       extra_socks=[sock(4, "30a8c560e714e12a", forked=True), sock(9, "30a8c560e714e12a")])
        orphan = report(pid=102, leaked=0, ppid=999, extra_socks=[sock(4, "30a8c560e714e12a", forked=True)])
        rc, out, err = self.run_tool("merge", "--json", self.write("a.jsonl", parent, child, orphan))
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        # parent 2 + child's own 1 + the orphan's inherited one (its parent is not merged) = 4
        self.assertEqual((doc["live"], doc["leaked"]), (4, 4))
        self.assertEqual(doc["stacks"][0]["live"], 4)

    def test_diff_and_merge_on_small_reports(self):
        a = self.write("a.jsonl", report(1, leaked=1))
        b = self.write("b.jsonl", report(1, leaked=4, extra_socks=[sock(50, "11112222aaaabbbb", "LISTEN", None)]))
        rc, out, err = self.run_tool("diff", "--json", a, b)
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual([(x["stack"], x["delta"], x["leaked_delta"]) for x in doc["stacks"]],
                         [("30a8c560e714e12a", 3, 3), ("11112222aaaabbbb", 1, 0)])
        rc, out, err = self.run_tool("merge", "--json", a, b)
        doc = json.loads(out)
        self.assertEqual((doc["processes"], doc["leaked"], doc["stacks"][0]["processes"]), (2, 5, 2))
        self.assertEqual(self.run_tool("diff", a, b, a)[0], 2)


if __name__ == "__main__":
    unittest.main(verbosity=1)
