#!/usr/bin/env python3
"""run.py - the sockleak benchmark suite behind `make bench`; prints one table.

Every figure is measured in the same run as its baseline: the variants of a workload
(without the shim, with it, ...) run alternately, one after the other in each round,
and a ratio is the median over the rounds of that round's variant / baseline. Absolute
figures (medians) are shown only as context. Progress goes to stderr, the table to
stdout.

The machine may be shared (other builds and tests on the same two cores), so the ratios
that carry a budget also come as CPU time, which leaves out time spent waiting for a
CPU: micro-benchmark ratios are CPU time (user + system, the whole process), with the
wall-clock ratio in the note column; server rows give throughput as asked, with the
server's CPU time per request (every thread of every server process, from
/proc/PID/task/TID/schedstat) as a ratio in the note column.

Rows:
  1 micro    bench/micro.c: socket+close (1 and 2 threads), accept+connect+close over
             loopback, dup+close, open+close of a regular file, read of a pipe, recv of
             64 bytes on a loopback socket; native, with the shim, with the shim and
             stack_depth=0. Ratio = CPU time with / without.
  2 servers  nginx (bench/nginx.conf, wrk keep-alive and "Connection: close") and
             redis (redis-benchmark SET and GET) on 127.0.0.1. Ratio = throughput
             with / without.
  3 scale    bench/scale.c with 1k, 10k and 100k live TCP sockets (child processes
             above the per-process fd limit): shim memory per socket, wall time of
             one CLOSE_WAIT scan (sockleak_scan()), time of a text and of a JSON
             report. Runs first (see ROWS).
  4 start-up /bin/true with and without the preload (hyperfine, else a spawn loop).
  5 tools    socket+close and nginx keep-alive under valgrind --track-fds=yes and
             strace -f, beside the shim. Ratio as in rows 1 and 2.
  6 languages a loop of socket.socket()/close() in Debian's python3.11 (bench/lang/
             pyloop.py) and of SocketChannel.open()/close() in java (JavaLoop.java):
             without the shim, with it, and with it but Python (Java) frames off.
             Ratio = CPU time per round with / without; the language frames' own cost is
             the ratio with / frames off.
  7 attach   how long `sockleak attach` and `sockleak detach` stop a running process:
             tests/attach/pause_probe's two threads wake every millisecond; the
             longest time one was stopped (its gap less the 1 ms asked for and less the
             time it waited for a CPU: the machine's load), over the attach, over the
             detach, and over as long a time with neither (baseline). As root, with gdb.
  8 callgrind the instructions the shim adds to a socket+close and a dup+close, counted
             by valgrind's callgrind (bench/profile.py: deterministic, the same on any
             machine): with default options, and with stack_depth=0 (the bookkeeping
             without the stack).
Then a second table: each target of issue 16, its measured value (from the rows above),
ok or MISS.

Benchmarks print figures: nothing here fails on a figure. The budget column only marks
each target met (ok) or not (MISS).

usage: run.py [--quick] [--lib build/libsockleak.so] [--bin build/bench] [--only ROWS]
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

# How much work each row does. A micro run takes 0.1-0.3 s; "quick" is for development.
FULL = dict(micro_rounds=21, socket_iters=15000, socket2_iters=15000, accept_iters=1500,
            dup_iters=200000, open_iters=40000, read_iters=400000, recv_iters=200000,
            server_rounds=9, wrk_seconds=2, redis_requests=30000,
            scale_rounds=3, scale_sizes=(1000, 10000, 100000),
            startup_rounds=5, startup_runs=100,
            tool_rounds=3, tool_iters=15000,
            lang_rounds=9, py_iters=100000, java_iters=100000, attach_rounds=9, callgrind_iters=10000)
QUICK = dict(micro_rounds=3, socket_iters=10000, socket2_iters=10000, accept_iters=1000,
             dup_iters=100000, open_iters=20000, read_iters=200000, recv_iters=100000,
             server_rounds=1, wrk_seconds=1, redis_requests=10000,
             scale_rounds=1, scale_sizes=(1000, 10000, 100000),
             startup_rounds=1, startup_runs=50,
             tool_rounds=1, tool_iters=5000,
             lang_rounds=3, py_iters=30000, java_iters=30000, attach_rounds=3, callgrind_iters=5000)

SOCKETS_PER_PROCESS = 17000  # the shim's own fds and stdio fit below a 20,000 limit

START = time.monotonic()

# what the targets table reads, filled by the rows: name -> per-round ratios, or a value
MEASURED = {}


def log(msg):
    print(f"[{time.monotonic() - START:6.1f}s] {msg}", file=sys.stderr, flush=True)


def which(prog):
    return shutil.which(prog, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


# ---- environments ----

def base_env():
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("SOCKLEAK_OPTIONS", None)
    return env


def shim_env(lib, options=None):
    env = base_env()
    env["LD_PRELOAD"] = lib
    if options:
        env["SOCKLEAK_OPTIONS"] = options
    return env


# ---- statistics ----

def median(xs):
    return statistics.median(xs)


def quartiles(xs):
    if len(xs) < 2:
        return xs[0], xs[0]
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return q[0], q[2]


def ratios(base, other):
    """Per-round ratios other/base."""
    return [o / b for b, o in zip(base, other)]


def alternate(rounds, variants, run, what):
    """Run run(variant) for each variant in turn, rounds times; {variant: [values]}."""
    out = {v: [] for v in variants}
    for r in range(rounds):
        log(f"{what}: round {r + 1}/{rounds}")
        for v in variants:
            out[v].append(run(v))
    return out


# ---- the table ----

class Table:
    COLS = ("row", "workload", "baseline", "with", "ratio [IQR]", "budget", "", "note")

    def __init__(self):
        self.rows = []

    def add(self, row, workload, baseline="", measured="", ratio=None, budget=None, value=None, note=""):
        """ratio: list of per-round ratios (median shown with quartiles). budget:
        (op, limit, text) checked against value, or against the median ratio if value
        is None."""
        rtxt = ratio_text(ratio) if ratio else ""
        mark, btxt = "", ""
        if budget:
            op, limit, btxt = budget
            x = value if value is not None else median(ratio)
            met = x <= limit if op == "<=" else x >= limit
            mark = "ok" if met else "MISS"
        self.rows.append((row, workload, baseline, measured, rtxt, btxt, mark, note))

    def note(self, row, workload, text):
        self.rows.append((row, workload, text, "", "", "", "", ""))

    def render(self):
        widths = [max(len(str(r[i])) for r in self.rows + [self.COLS]) for i in range(len(self.COLS))]
        line = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
        out = [line(self.COLS), line(["-" * w for w in widths])]
        last = None
        for r in sorted(self.rows, key=lambda r: r[0]):  # stable: a row's lines keep their order
            if last is not None and r[0] != last:
                out.append("")
            out.append(line(r if r[0] != last else ("",) + tuple(r[1:])))
            last = r[0]
        return "\n".join(out)


def ratio_text(r):
    lo, hi = quartiles(r)
    return f"{median(r):.3f} [{lo:.2f}-{hi:.2f}]"


def us(ns):
    return f"{ns / 1000:.2f} us/op"


def rate(x):
    return f"{x / 1000:.1f}k req/s"


def ms(ns):
    return f"{ns / 1e6:.1f} ms"


# ---- row 1: micro ----

def run_micro(micro, mode, iters, env, prefix=()):
    p = subprocess.run(list(prefix) + [micro, mode, str(iters)], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"micro {mode} failed: {p.stderr.strip()[-300:]}")
    f = p.stdout.split()
    return {"wall": float(f[3]), "cpu": float(f[5])}  # ns per iteration


def row_micro(t, cfg, a):
    micro = os.path.join(a.bin, "micro")
    envs = {"native": base_env(), "shim": shim_env(a.lib), "stack0": shim_env(a.lib, "stack_depth=0")}
    # socket+close also with bench/floor_probe.c preloaded: the per-socket facts alone
    probe = os.path.join(a.bin, "floor_probe.so")
    probe_env = dict(base_env(), LD_PRELOAD=probe) if os.path.exists(probe) else None
    # socket, dup and recv also beside a native run with a second, idle thread: what the
    # shim's wrappers cost apart from its background thread, and what that thread alone
    # costs a program (glibc's cancellation path; see README, Performance)
    threaded = {"socket", "dup", "recv"}
    idle_thread = dict(base_env(), MICRO_IDLE_THREAD="1")
    workloads = [  # mode, iterations, label, budget (shim), budget (stack_depth=0)
        ("socket", cfg["socket_iters"], "socket+close, 1 thread", ("<=", 1.05, "<= 1.05"), ("<=", 1.02, "<= 1.02")),
        ("socket2", cfg["socket2_iters"], "socket+close, 2 threads", ("<=", 1.15, "<= 1.15"), None),
        ("accept", cfg["accept_iters"], "accept+connect+close, loopback", None, None),
        ("dup", cfg["dup_iters"], "dup+close of a socket", ("<=", 1.15, "<= 1.15"), None),
        ("open", cfg["open_iters"], "open+close of a file (untracked)", ("<=", 1.02, "<= 1.02"), None),
        ("read", cfg["read_iters"], "read of a pipe, 64 bytes", ("<=", 1.01, "<= 1.01"), None),
        ("recv", cfg["recv_iters"], "recv of 64 bytes, loopback TCP (tracked)", ("<=", 1.02, "<= 1.02"), None),
    ]
    res = {w[0]: {v: [] for v in list(envs) + ["thread", "probe"]} for w in workloads}
    for r in range(cfg["micro_rounds"]):
        log(f"micro: round {r + 1}/{cfg['micro_rounds']}")
        for mode, iters, *_ in workloads:
            for v, env in envs.items():
                res[mode][v].append(run_micro(micro, mode, iters, env))
            if mode in threaded:
                res[mode]["thread"].append(run_micro(micro, mode, iters, idle_thread))
            if mode == "socket" and probe_env:
                res[mode]["probe"].append(run_micro(micro, mode, iters, probe_env))
    for mode, iters, label, b_shim, b_zero in workloads:
        for v, suffix, budget in (("shim", "", b_shim), ("stack0", ", stack_depth=0", b_zero)):
            add_micro(t, "1 micro", label + suffix, res[mode]["native"], res[mode][v], budget)
            MEASURED[f"micro {mode} {v}"] = ratios([x["cpu"] for x in res[mode]["native"]],
                                                   [x["cpu"] for x in res[mode][v]])
        if mode in threaded:
            nat_cpu = [x["cpu"] for x in res[mode]["native"]]
            MEASURED[f"micro {mode} thread"] = ratios(nat_cpu, [x["cpu"] for x in res[mode]["thread"]])
            add_micro(t, "1 micro", label + ": native with an idle 2nd thread, no shim", res[mode]["native"],
                      res[mode]["thread"])
            for v, suffix, budget in (("shim", "", b_shim), ("stack0", ", stack_depth=0", b_zero)):
                if v == "stack0" and mode != "socket":
                    continue
                add_micro(t, "1 micro", label + suffix + ", baseline with an idle 2nd thread", res[mode]["thread"],
                          res[mode][v], budget)
        if res[mode]["probe"]:
            MEASURED[f"micro {mode} probe"] = ratios([x["cpu"] for x in res[mode]["native"]],
                                                     [x["cpu"] for x in res[mode]["probe"]])
            add_micro(t, "1 micro", label + ": floor probe (bench/floor_probe.c), no shim", res[mode]["native"],
                      res[mode]["probe"])


def add_micro(t, row, label, nat, other, budget=None, main="cpu"):
    """A micro-benchmark line: the ratio of one clock ("cpu" or "wall"), the other's as a note."""
    side = "wall" if main == "cpu" else "cpu"
    get = lambda xs, k: [x[k] for x in xs]
    t.add(row, label, us(median(get(nat, main))), us(median(get(other, main))),
          ratios(get(nat, main), get(other, main)), budget,
          note=f"{side} " + ratio_text(ratios(get(nat, side), get(other, side))))


# ---- servers ----

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def descendants(pid):
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def tree_cpu_ns(pid):
    """CPU time (ns) used so far by pid and its descendants, every thread of each."""
    total = 0
    for p in [pid] + descendants(pid):
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/schedstat") as f:
                    total += int(f.read().split()[0])
        except (OSError, ValueError):
            pass  # gone meanwhile
    return total


def wait_ready(proc, port, probe, reply, timeout=60):
    """Until the server on port answers probe with something starting with reply."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(probe)
                if s.recv(64).startswith(reply):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError("server did not come up")


def stop(proc, pid=None, timeout=30):
    """SIGTERM to pid (the server itself, under a tracer) or to proc; then wait."""
    try:
        os.kill(pid or proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


TOOLS = {
    "valgrind": ["valgrind", "-q", "--track-fds=yes", "--log-file=/dev/null"],
    "strace": ["strace", "-f", "-e", "trace=%network,close", "-o", "/dev/null"],
}


class Nginx:
    """One nginx (master + 1 worker) per start, on a fresh port, in a temporary prefix."""

    def __init__(self, tmp):
        self.prefix = os.path.join(tmp, "nginx")
        os.makedirs(os.path.join(self.prefix, "html"), exist_ok=True)
        with open(os.path.join(self.prefix, "html", "index.html"), "w") as f:
            f.write("x" * 611 + "\n")  # the size of nginx's welcome page
        with open(os.path.join(HERE, "nginx.conf")) as f:
            self.template = f.read()

    def start(self, env, prefix=()):
        self.port = free_port()
        user = ""
        if os.geteuid() == 0:
            import pwd
            user = f"user {pwd.getpwuid(os.getuid()).pw_name};"
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write(self.template.replace("@PREFIX@", self.prefix).replace("@PORT@", str(self.port))
                    .replace("@USER@", user))
        pidfile = os.path.join(self.prefix, "nginx.pid")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        self.proc = subprocess.Popen(list(prefix) + [which("nginx"), "-p", self.prefix, "-c", conf,
                                                     "-e", os.path.join(self.prefix, "error.log")],
                                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_ready(self.proc, self.port, b"GET / HTTP/1.0\r\n\r\n", b"HTTP/1.1 200")

    def stop(self):
        try:
            with open(os.path.join(self.prefix, "nginx.pid")) as f:
                pid = int(f.read())
        except (OSError, ValueError):
            pid = None
        stop(self.proc, pid)

    def wrk(self, seconds, close):
        """{"rps": requests per second, "cpu": nginx's CPU ns per request}"""
        cmd = [which("wrk"), "-t1", "-c16", f"-d{seconds}s"]
        if close:
            cmd += ["-H", "Connection: close"]
        cpu0 = tree_cpu_ns(self.proc.pid)
        p = subprocess.run(cmd + [f"http://127.0.0.1:{self.port}/index.html"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=seconds + 60)
        cpu = tree_cpu_ns(self.proc.pid) - cpu0
        m = re.search(r"(\d+) requests in .*\n(?:.*\n)*?Requests/sec:\s*([\d.]+)", p.stdout)
        if not m:
            raise RuntimeError(f"wrk: {p.stdout[-300:]}")
        if "Non-2xx" in p.stdout:
            raise RuntimeError(f"wrk saw errors: {p.stdout[-300:]}")
        return {"rps": float(m.group(2)), "cpu": cpu / int(m.group(1))}


def add_server(t, row, label, nat, other, budget=None):
    """A server line: throughput ratio; the server's CPU time per request as a note."""
    rps = lambda xs: [x["rps"] for x in xs]
    cpu = lambda xs: [x["cpu"] for x in xs]
    t.add(row, label, rate(median(rps(nat))), rate(median(rps(other))), ratios(rps(nat), rps(other)), budget,
          note=f"CPU/req {median(cpu(nat)) / 1000:.1f} us, ratio " + ratio_text(ratios(cpu(nat), cpu(other))))


def row_nginx(t, cfg, a, tmp):
    envs = {"native": base_env(), "shim": shim_env(a.lib, "dump_signal=none")}
    if which("nginx") and which("wrk"):
        ngx = Nginx(tmp)

        def one(v):
            ngx.start(envs[v])
            try:
                return ngx.wrk(cfg["wrk_seconds"], False), ngx.wrk(cfg["wrk_seconds"], True)
            finally:
                ngx.stop()

        res = alternate(cfg["server_rounds"], envs, one, "nginx")
        for i, (label, budget) in enumerate((("nginx keep-alive, wrk -c16", (">=", 0.99, ">= 0.99")),
                                             ("nginx Connection: close", (">=", 0.99, ">= 0.99")))):
            add_server(t, "2 servers", label, [x[i] for x in res["native"]], [x[i] for x in res["shim"]], budget)
            MEASURED[label] = ratios([x[i]["rps"] for x in res["native"]], [x[i]["rps"] for x in res["shim"]])
    else:
        t.note("2 servers", "nginx", "n/a: nginx or wrk not installed")


def row_redis(t, cfg, a, tmp):
    envs = {"native": base_env(), "shim": shim_env(a.lib)}
    if which("redis-server") and which("redis-benchmark"):
        def bench(proc, port, test):
            n = cfg["redis_requests"]
            cpu0 = tree_cpu_ns(proc.pid)
            p = subprocess.run([which("redis-benchmark"), "-q", "-h", "127.0.0.1", "-p", str(port),
                                "-t", test, "-n", str(n)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
            cpu = tree_cpu_ns(proc.pid) - cpu0
            m = re.search(r"%s: ([\d.]+) requests per second" % test.upper(), p.stdout)
            if not m:
                raise RuntimeError(f"redis-benchmark: {p.stdout[-300:]}")
            return {"rps": float(m.group(1)), "cpu": cpu / n}

        def one(v):
            port = free_port()
            proc = subprocess.Popen([which("redis-server"), "--port", str(port), "--bind", "127.0.0.1",
                                     "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", tmp],
                                    env=envs[v], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            try:
                wait_ready(proc, port, b"PING\r\n", b"+PONG")
                return bench(proc, port, "set"), bench(proc, port, "get")
            finally:
                stop(proc)

        res = alternate(cfg["server_rounds"], envs, one, "redis")
        for i, label in enumerate(("redis-benchmark SET", "redis-benchmark GET")):
            add_server(t, "2 servers", label, [x[i] for x in res["native"]], [x[i] for x in res["shim"]],
                       (">=", 0.99, ">= 0.99"))
            MEASURED[label] = ratios([x[i]["rps"] for x in res["native"]], [x[i]["rps"] for x in res["shim"]])
    else:
        t.note("2 servers", "redis", "n/a: redis-server or redis-benchmark not installed")


# ---- row 3: scale ----

def parse_kv(line):
    return {k: int(v) for k, v in re.findall(r"(\w+)=(-?\d+)", line)}


def row_scale(t, cfg, a):
    scale = os.path.join(a.bin, "scale")
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    per_proc = SOCKETS_PER_PROCESS if hard == resource.RLIM_INFINITY else min(SOCKETS_PER_PROCESS, hard - 200)
    interval_ms = 250
    # fd_threshold=0: near the 20,000-fd limit the fd trigger would write a report while the
    # pairs are made, and its one-time cost (libdw loaded) would count as per-socket memory
    measured_opts = f"scan_interval={interval_ms}ms:fd_threshold=0:log_path=/dev/null:report_at_exit=0:format="
    envs = {"native": base_env(), "text": shim_env(a.lib, measured_opts + "text"),
            "json": shim_env(a.lib, measured_opts + "json")}
    scan_points = []  # (sockets of the process, TCP sockets in the kernel, scan time)
    for total in cfg["scale_sizes"]:
        nprocs = math.ceil(total / per_proc)
        pairs = math.ceil(total / nprocs / 2)
        name = f"{total // 1000}k"
        helpers = []
        try:
            for _ in range(nprocs - 1):  # the other processes hold the rest, under the shim too
                helpers.append(subprocess.Popen([scale, "hold", str(pairs)], env=shim_env(a.lib, "report_at_exit=0:fd_threshold=0"),
                                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                stderr=subprocess.DEVNULL, text=True))
            for h in helpers:
                if not h.stdout.readline().startswith("ready"):
                    raise RuntimeError("scale helper failed")

            def one(v):
                p = subprocess.run([scale, "measure", str(pairs)], env=envs[v], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, timeout=300)
                if p.returncode != 0:
                    raise RuntimeError(f"scale measure failed: {p.stderr.strip()[-300:]}")
                return parse_kv(p.stdout)

            res = alternate(cfg["scale_rounds"], envs, one, f"scale {name}")
        finally:
            for h in helpers:
                h.stdin.close()
            for h in helpers:
                h.wait()
        nat, shim = res["native"], res["text"] + res["json"]
        sockets = nat[0]["sockets"]
        where = f"{name}: {sockets} in 1 process" if nprocs == 1 else \
            f"{name}: {sockets} in 1 of {nprocs} processes"
        kernel = int(median([r["kernel_tcp"] for r in shim]))
        tw = int(median([r["kernel_tw"] for r in shim]))
        growth = lambda r, k: (r[k] - r["rss0_kb"]) * 1024
        base_b = median([growth(r, "rss2_kb") for r in nat]) / sockets
        per_sock = [(growth(r, "rss2_kb") - median([growth(n, "rss2_kb") for n in nat])) / sockets for r in shim]
        after = [(growth(r, "rss3_kb") - median([growth(n, "rss2_kb") for n in nat])) / sockets for r in shim]
        big = total >= 100000
        row = "3 scale"
        t.note(row, f"{where} (kernel: {kernel} TCP sockets, {tw} in TIME_WAIT)", "")
        t.add(row, "  shim memory per socket", f"+{base_b:.0f} B/socket", f"{median(per_sock):.0f} B/socket",
              budget=("<=", 128, "<= 128 B") if big else None, value=median(per_sock))
        MEASURED["memory"] = (median(per_sock), sockets)
        t.add(row, "  ... after 3 reports (malloc keeps)", "", f"{median(after):.0f} B/socket")
        scan = median([r["scan_ns"] for r in shim])
        note = ""
        if nprocs > 1:
            # A scan has a part per socket of the process (its records) and a part per
            # socket of the kernel (the sock_diag dump walks them all, whoever owns them):
            # from this line and one with all sockets in one process (scan = (a + b) * n),
            # scan = a * kernel + b * own; all in one process: (a + b) * total.
            one = [p for p in scan_points if p[0] >= 0.9 * p[1]]
            est, basis = scan / sockets * total, "at this line's cost a socket"
            if one:
                n1, k1, s1 = one[-1]
                a_coef = (scan - s1 / n1 * sockets) / (kernel - sockets) if kernel > sockets else -1
                if 0 <= a_coef <= s1 / n1:  # the model fits both lines
                    est, basis = s1 / n1 * total, f"at the {n1 // 1000}k line's cost a socket"
            note = f"all {total} in one process: ~{ms(est)} ({basis})"
        scan_points.append((sockets, kernel, scan))
        t.add(row, "  one CLOSE_WAIT scan (sockleak_scan())", "", f"{ms(scan)} ({scan / sockets:.0f} ns/socket)",
              budget=("<=", 50e6, "<= 50 ms") if big else None, value=scan, note=note)
        for fmt, limit in (("text", 0.5), ("json", 1.0)):
            rep = median([r["report_ns"] for r in res[fmt]])
            t.add(row, f"  {fmt} report (log_path=/dev/null)", "", ms(rep),
                  budget=("<=", limit * 1e9, f"<= {limit} s") if big else None, value=rep)


# ---- row 4: start-up ----

def spawn_times(argv, env, runs):
    """Median wall time (ns) of fork+exec+wait of argv, our own loop."""
    ts = []
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        pid = os.posix_spawn(argv[0], argv, env)
        os.waitpid(pid, 0)
        ts.append(time.perf_counter_ns() - t0)
    return median(ts)


def row_startup(t, cfg, a):
    true = shutil.which("true", path="/bin:/usr/bin")
    hyperfine = which("hyperfine")
    how = "hyperfine -N" if hyperfine else "spawn loop"

    def one(_):
        if not hyperfine:
            return (spawn_times([true], base_env(), cfg["startup_runs"]),
                    spawn_times([true], shim_env(a.lib), cfg["startup_runs"]))
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            subprocess.run([hyperfine, "-N", "--style", "none", "--warmup", "10", "--runs", str(cfg["startup_runs"]),
                            "--export-json", out.name, f"env -u LD_PRELOAD {true}",
                            f"env LD_PRELOAD={a.lib} {true}"],
                           env=base_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            r = json.load(open(out.name))["results"]
            return r[0]["median"] * 1e9, r[1]["median"] * 1e9

    res = alternate(cfg["startup_rounds"], ["both"], one, "start-up")["both"]
    nat, shim = [x[0] for x in res], [x[1] for x in res]
    delta = median([s - n for n, s in zip(nat, shim)])
    t.add("4 start-up", f"/bin/true ({how}), delta +{delta / 1e6:.2f} ms", ms(median(nat)), ms(median(shim)),
          ratios(nat, shim), ("<=", 2e6, "<= +2 ms"), value=delta)


# ---- row 5: other tools ----

def row_tools(t, cfg, a, tmp):
    tools = [x for x in TOOLS if which(x)]
    variants = ["native", "sockleak"] + tools
    micro = os.path.join(a.bin, "micro")

    def one_micro(v):
        if v in TOOLS:
            return run_micro(micro, "socket", cfg["tool_iters"], base_env(), TOOLS[v])
        return run_micro(micro, "socket", cfg["tool_iters"], base_env() if v == "native" else shim_env(a.lib))

    res = alternate(cfg["tool_rounds"], variants, one_micro, "tools: socket+close")
    for v in variants[1:]:
        add_micro(t, "5 tools", f"socket+close, 1 thread: {v}", res["native"], res[v], main="wall")

    if not (which("nginx") and which("wrk")):
        t.note("5 tools", "nginx keep-alive", "n/a: nginx or wrk not installed")
        return
    ngx = Nginx(tmp)

    def one_nginx(v):
        env = shim_env(a.lib, "dump_signal=none") if v == "sockleak" else base_env()
        ngx.start(env, TOOLS.get(v, ()))
        try:
            return ngx.wrk(cfg["wrk_seconds"], False)
        finally:
            ngx.stop()

    res = alternate(cfg["tool_rounds"], variants, one_nginx, "tools: nginx")
    for v in variants[1:]:
        add_server(t, "5 tools", f"nginx keep-alive: {v}", res["native"], res[v])


# ---- row 7: attach ----

class PauseProbe:
    def __init__(self, path):
        self.p = subprocess.Popen([path, "20"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  env=base_env())
        self.pid = int(re.match(r"ready pid=(\d+)", self.p.stdout.readline()).group(1))

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def longest(self):
        """(longest gap, longest time stopped) in ns since the last reset."""
        m = re.match(r"max_gap_us=(\d+) max_stopped_us=(\d+)", self.cmd("max"))
        return int(m.group(1)) * 1000, int(m.group(2)) * 1000

    def close(self):
        self.p.kill()
        self.p.wait()


def row_attach(t, cfg, a):
    label = "7 attach"
    if os.geteuid() != 0 or not which("gdb") or not os.path.exists(a.probe):
        t.note(label, "attach, detach", "n/a: needs root, gdb and %s" % a.probe)
        return
    live = os.path.join(os.path.dirname(HERE), "scripts", "sockleak-live")
    probe = PauseProbe(a.probe)
    gdb_ms = []

    def one(v):
        probe.cmd("reset")
        if v == "idle":
            time.sleep(0.3)
            return probe.longest()
        cmd = [live, v, "--lib", a.lib, "--log", os.devnull, str(probe.pid)] if v == "attach" else \
            [live, v, str(probe.pid)]
        r = subprocess.run(cmd, capture_output=True, text=True, env=base_env(), timeout=60)
        if r.returncode != 0:
            raise RuntimeError("%s: %s" % (v, r.stderr.strip()))
        m = re.search(r"gdb stopped it (\d+) ms at the attach and (\d+) ms at the safe point", r.stdout)
        if m:
            gdb_ms.append((int(m.group(1)), int(m.group(2))))
        time.sleep(0.1)
        return probe.longest()

    try:
        time.sleep(0.3)
        res = alternate(cfg["attach_rounds"], ["idle", "attach", "detach"], one, "attach")
    finally:
        probe.close()
    idle = [x[1] for x in res["idle"]]
    for v, budget in (("attach", 10e6), ("detach", 2e6)):
        stopped, gaps = [x[1] for x in res[v]], [x[0] for x in res[v]]
        note = "longest gap %s (idle %s); worst of %d: %s" % (
            ms(median(gaps)), ms(median([x[0] for x in res["idle"]])), len(stopped), ms(max(stopped)))
        if v == "attach" and gdb_ms:
            note += "; gdb: %.0f ms attaching, %.0f ms at the safe point" % (
                median([x[0] for x in gdb_ms]), median([x[1] for x in gdb_ms]))
        t.add(label, "pause_probe: longest stop of a thread, %s" % v, ms(median(idle)), ms(median(stopped)),
              budget=("<=", budget, "<= %.0f ms" % (budget / 1e6)), value=median(stopped), note=note)


# ---- main ----

# ---- row 6: language runtimes ----

def run_lang(argv, env):
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed: {p.stderr.strip()[-300:]}")
    f = p.stdout.split()
    return {"wall": float(f[1]), "cpu": float(f[3])}  # ns per round


def lang_row(t, cfg, a, label, argv, off_option, budget_shim, budget_frames):
    envs = {"native": base_env(), "shim": shim_env(a.lib), "off": shim_env(a.lib, off_option)}
    res = alternate(cfg["lang_rounds"], envs, lambda v: run_lang(argv, envs[v]), label)
    add_micro(t, "6 languages", label, res["native"], res["shim"], budget_shim)
    add_micro(t, "6 languages", label + ", " + off_option, res["native"], res["off"])
    get = lambda xs: [x["cpu"] for x in xs]
    t.add("6 languages", label + ": the frames' own cost (shim / " + off_option + ")", us(median(get(res["off"]))),
          us(median(get(res["shim"]))), ratios(get(res["off"]), get(res["shim"])), budget_frames)


def row_python(t, cfg, a):
    python = "/usr/bin/python3.11"
    if not os.access(python, os.X_OK):
        t.note("6 languages", "python", "no /usr/bin/python3.11")
        return
    lang_row(t, cfg, a, "python3.11 socket()+close()", [python, os.path.join(HERE, "lang", "pyloop.py"),
             str(cfg["py_iters"])], "python_frames=0", ("<=", 1.20, "<= 1.20"), ("<=", 1.10, "<= 1.10"))


def row_java(t, cfg, a, tmp):
    if not which("java") or not which("javac"):
        t.note("6 languages", "java", "no java or javac on PATH")
        return
    subprocess.run(["javac", "-d", tmp, os.path.join(HERE, "lang", "JavaLoop.java")], check=True, timeout=300)
    lang_row(t, cfg, a, "java SocketChannel open+close", ["java", "-cp", tmp, "JavaLoop", str(cfg["java_iters"])],
             "java_frames=0", None, None)


# ---- row 8: callgrind ----

def load_profile():
    """bench/profile.py, as a module (not the standard library's profile)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("sl_profile", os.path.join(HERE, "profile.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CANCEL_BRACKET = ("__pthread_enable_asynccancel", "__pthread_disable_asynccancel")


def row_callgrind(t, cfg, a, tmp):
    if not (which("valgrind") and which("callgrind_annotate")):
        t.note("8 callgrind", "callgrind", "n/a: valgrind not installed")
        return
    prof = load_profile()
    micro = os.path.join(a.bin, "micro")
    n = cfg["callgrind_iters"]
    row = "8 callgrind"
    got = {}
    idle = {"MICRO_IDLE_THREAD": "1"}
    probe = os.path.join(a.bin, "floor_probe.so")
    for mode, opts in (("socket", None), ("socket", "thread"), ("socket", "probe"), ("socket", ""),
                       ("socket", "stack_depth=0"), ("dup", None), ("dup", "")):
        log(f"callgrind: {mode} {'native' if opts is None else opts or 'default options'}")
        if opts == "thread":  # no shim: a second thread that only sleeps
            got[(mode, opts)] = prof.measure(tmp, micro, mode, "", "", n, idle)
        elif opts == "probe":  # no shim: bench/floor_probe.c, the facts alone
            got[(mode, opts)] = prof.measure(tmp, micro, mode, probe, "", n) if os.path.exists(probe) else (0, {})
        else:
            got[(mode, opts)] = prof.measure(tmp, micro, mode, "" if opts is None else a.lib, opts or "", n)
    nat, (shim, funcs), (zero, zfuncs) = got[("socket", None)][0], got[("socket", "")], got[("socket", "stack_depth=0")]
    # glibc brackets close() with two atomic updates once the process has a second
    # thread (the shim's): libc's instructions, counted in what the shim adds
    bracket = sum(v[0] for k, v in zfuncs.items() if k.split(" (")[0] in CANCEL_BRACKET)
    thread, floor = got[("socket", "thread")][0], got[("socket", "probe")][0]
    MEASURED["callgrind"] = {"native": nat, "shim": shim, "zero": zero, "bracket": bracket, "thread": thread,
                             "probe": floor}
    per = "instr/iter"
    t.add(row, "socket+close: instructions added (default options)", f"{nat:.0f} {per}", f"{shim:.0f} {per}",
          budget=("<=", 450, "<= +450"), value=shim - nat, note=f"+{shim - nat:.0f}")
    t.add(row, "  bookkeeping: with stack_depth=0", "", f"{zero:.0f} {per}", budget=("<=", 150, "<= +150"),
          value=zero - nat, note=f"+{zero - nat:.0f}, of which libc's cancellation bracket {bracket:.0f}")
    t.add(row, "  the stack at depth 16: the difference", "", "", budget=("<=", 300, "<= +300"), value=shim - zero,
          note=f"+{shim - zero:.0f}")
    t.add(row, "socket+close: native with an idle 2nd thread, no shim", f"{nat:.0f} {per}", f"{thread:.0f} {per}",
          note=f"+{thread - nat:.0f}: glibc's cancellation path, the floor of any shim with a thread")
    if floor:
        t.add(row, "socket+close: floor probe (bench/floor_probe.c), no shim", f"{nat:.0f} {per}",
              f"{floor:.0f} {per}", note=f"+{floor - nat:.0f}: the per-socket facts alone, the thread's path included")
    dn, ds = got[("dup", None)][0], got[("dup", "")][0]
    t.add(row, "dup+close: instructions added (default options)", f"{dn:.0f} {per}", f"{ds:.0f} {per}",
          note=f"+{ds - dn:.0f}")


# ---- the targets of issue 16 ----

def targets_table():
    """One line per target: measured value, target, ok or MISS; '-' where a row did not run."""
    lines = []

    def line(name, measured, target, ok, note=""):
        lines.append((name, measured, target, "" if ok is None else ("ok" if ok else "MISS"), note))

    def ratio_line(name, key, op, limit, note=""):
        r = MEASURED.get(key)
        if not r:
            return line(name, "-", f"{op} {limit}", None, "not measured")
        m = median(r)
        line(name, ratio_text(r), f"{op} {limit:.2f}", m <= limit if op == "<=" else m >= limit, note)

    def thread_note(mode, probe=False):
        r, p = MEASURED.get(f"micro {mode} thread"), MEASURED.get(f"micro {mode} probe")
        note = f"native with an idle 2nd thread: {ratio_text(r)}" if r else ""
        return note + (f"; the floor probe: {ratio_text(p)}" if probe and p else "")

    ratio_line("socket+close, default options, CPU-time ratio", "micro socket shim", "<=", 1.05, thread_note("socket"))
    ratio_line("socket+close, stack_depth=0, CPU-time ratio", "micro socket stack0", "<=", 1.02,
               thread_note("socket", probe=True))
    cg = MEASURED.get("callgrind")
    if cg:
        added, zero = cg["shim"] - cg["native"], cg["zero"] - cg["native"]
        line("instructions added per socket+close (callgrind)", f"+{added:.0f}", "<= 450", added <= 450,
             f"native {cg['native']:.0f}, with the shim {cg['shim']:.0f} per iteration")
        floor = f"; the floor probe: +{cg['probe'] - cg['native']:.0f}" if cg["probe"] else ""
        line("  of which bookkeeping without stacks", f"+{zero:.0f}", "<= 150", zero <= 150,
             f"stack_depth=0: {cg['zero']:.0f}; an idle 2nd thread alone: +{cg['thread'] - cg['native']:.0f}{floor}")
        line("  of which the stack at depth 16", f"+{added - zero:.0f}", "<= 300", added - zero <= 300)
    else:
        line("instructions added per socket+close (callgrind)", "-", "<= 450", None, "not measured")
    ratio_line("dup+close of a socket, CPU-time ratio", "micro dup shim", "<=", 1.15, thread_note("dup"))
    for key in ("nginx Connection: close", "redis-benchmark SET", "redis-benchmark GET"):
        ratio_line(f"{key}, throughput ratio", key, ">=", 0.99)
    mem = MEASURED.get("memory")
    if mem:
        line("memory per tracked socket", f"{mem[0]:.0f} B", "<= 128 B", mem[0] <= 128,
             f"resident set growth over {mem[1]} sockets in one process, less the program's own")
    else:
        line("memory per tracked socket", "-", "<= 128 B", None, "not measured")
    cols = ("target (issue 16)", "measured", "target", "", "note")
    widths = [max(len(str(r[i])) for r in lines + [cols]) for i in range(len(cols))]
    fmt = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()
    return "\n".join([fmt(cols), fmt(["-" * w for w in widths])] + [fmt(r) for r in lines])


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"machine: {os.cpu_count()} cores ({model}), Linux {platform.release()}, {now}, load average {load}"


# name: (row label, function, wants a temporary directory), in the order they run; the
# table is printed in the order of the labels. The scale row runs first: the other
# rows' hundred thousand loopback connections stay in the kernel's table in TIME_WAIT
# for a minute, and a sock_diag dump walks them all (as `ss` does).
ROWS = {
    "scale": ("3 scale", row_scale, False),
    "micro": ("1 micro", row_micro, False),
    "startup": ("4 start-up", row_startup, False),
    "nginx": ("2 servers", row_nginx, True),
    "redis": ("2 servers", row_redis, True),
    "tools": ("5 tools", row_tools, True),
    "python": ("6 languages", row_python, False),
    "java": ("6 languages", row_java, True),
    "attach": ("7 attach", row_attach, False),
    "callgrind": ("8 callgrind", row_callgrind, True),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a few seconds per row, for development")
    ap.add_argument("--lib", default="build/libsockleak.so")
    ap.add_argument("--bin", default="build/bench", help="where micro and scale are")
    ap.add_argument("--probe", default="build/tests/attach/pause_probe", help="the attach row's program")
    ap.add_argument("--only", default=",".join(ROWS), help="comma-separated: " + ",".join(ROWS))
    a = ap.parse_args()
    a.lib = os.path.abspath(a.lib)
    a.probe = os.path.abspath(a.probe)
    cfg = QUICK if a.quick else FULL
    only = a.only.split(",")
    t = Table()
    header = machine()
    with tempfile.TemporaryDirectory(prefix="sockleak-bench.") as tmp:
        os.chmod(tmp, 0o755)  # nginx's worker reads its files
        for name, (label, fn, wants_tmp) in ROWS.items():
            if name not in only:
                continue
            log(f"row: {name}")
            try:
                fn(t, cfg, a, tmp) if wants_tmp else fn(t, cfg, a)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                msg = " ".join(str(e).split())
                t.note(label, f"{name}: error", msg[:160])
                log(f"{name}: {msg}")
    took = time.monotonic() - START
    print(f"sockleak benchmarks{' (quick)' if a.quick else ''}")
    print(header + f" (at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    print(t.render())
    print()
    print(targets_table())
    print(f"""
ratio: median over the rounds of (with / baseline), [first-third quartile] of those ratios.
  row 1: CPU time per iteration (lower is better); note: the same for wall-clock time.
  row 2, nginx in row 5: throughput (higher is better); note: the server's CPU time per
    request without the shim, and its ratio (lower is better).
  row 4: wall time of fork+exec+exit; the budget applies to the difference.
  socket+close in row 5: wall-clock time (a tracer's own process is not in the CPU time).
  row 7: milliseconds a thread of the process was stopped (median over the rounds; the
    baseline: as long with nothing attached); note: the same with the time it waited
    for a CPU (the longest gap), and the worst round.
  row 8: user-space instructions per iteration of the program's thread (callgrind), in
    the steady state; note: what the shim adds.
{took:.0f} s in all.""")
    log(f"done in {took:.0f} s")


if __name__ == "__main__":
    main()
