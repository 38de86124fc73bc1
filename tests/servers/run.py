#!/usr/bin/env python3
"""run.py - real servers under sockleak, under load (make check-servers).

nginx (nginx-light), redis and memcached run on 127.0.0.1 (ephemeral free ports,
temporary directories, as the current user) with the shim preloaded, JSON reports
to one file per process. For each server:

  1. load: nginx with wrk (keep-alive, then `Connection: close`), redis with
     redis-benchmark (keep-alive and reconnecting), memcached with memcslap plus a
     small Python client that checks every value it reads back; zero errors allowed;
  2. a dump mid-load: `scripts/sockleak dump PID...` through the shim's control socket
     for nginx and redis (reason "dump"), `--signal SIGRTMIN+4` for memcached (reason
     "signal"; nginx uses SIGUSR2 itself, and nginx and redis write their process
     titles over their environment, where dump would read the signal): every process
     writes a report that parses, and the listener is in it as LISTEN on the port;
  3. a graceful stop (nginx -s quit, redis SHUTDOWN NOSAVE, memcached SIGTERM), after
     a snapshot of /proc/PID/fd of every server process: each process exits with
     exit() and writes an exit report, and every socket in it really existed (its
     (fd, inode) is in the snapshot: no phantom socket).

As root, nginx also runs as it does in production: started as root, its workers as
nobody, which cannot create their files in the root-owned log directory. No report
is lost: without a dump, each worker's exit report is in $TMPDIR/sockleak.PID.log
(stderr is nginx's error.log by then, which gets none); with one, `sockleak dump`
writes the workers' reports where they belonged, as nobody, and their exit reports
follow them there.

The same loads run first without the shim, for the throughput comparison printed at
the end (informational). Exits non-zero on any failure; prints one line per check.
"""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(ROOT, "build", "libsockleak.so")
LAUNCHER = os.path.join(ROOT, "scripts", "sockleak")
DUMP_SIGNAL = "SIGRTMIN+4"

failures = []
throughput = {}


def check(ok, what):
    print("%s %s" % ("ok  " if ok else "FAIL", what))
    sys.stdout.flush()
    if not ok:
        failures.append(what)
    return ok


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def need(*tools):
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        check(False, "tools present: missing %s (.ci/run installs them)" % ", ".join(missing))
    return not missing


def proc_sockets(pid):
    """{(fd, inode)} of the sockets /proc/PID/fd shows now."""
    out = set()
    d = "/proc/%d/fd" % pid
    try:
        names = os.listdir(d)
    except OSError:
        return out
    for n in names:
        try:
            t = os.readlink(os.path.join(d, n))
        except OSError:
            continue
        m = re.match(r"socket:\[(\d+)\]$", t)
        if m:
            out.add((int(n), int(m.group(1))))
    return out


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def reports(tmp):
    """pid -> list of reports; a line that does not parse is a failure."""
    out = {}
    for f in sorted(glob.glob(os.path.join(tmp, "sl.*.jsonl"))):
        with open(f, "rb") as fh:
            for i, line in enumerate(fh.read().splitlines()):
                try:
                    r = json.loads(line)
                except ValueError as e:
                    check(False, "%s line %d parses (%s)" % (os.path.basename(f), i + 1, e))
                    continue
                out.setdefault(r["pid"], []).append(r)
    return out


def shim_env(tmp):
    env = dict(os.environ)
    env["LD_PRELOAD"] = LIB
    env["SOCKLEAK_OPTIONS"] = "format=json:log_path=%s/sl.%%p.jsonl:dump_signal=%s" % (tmp, DUMP_SIGNAL)
    return env


def plain_env():
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.pop("SOCKLEAK_OPTIONS", None)
    return env


def run_load(name, argv, errors_of, label):
    """Run a load tool (never under the shim); errors_of(stdout) -> list of problems."""
    t0 = time.time()
    p = subprocess.run(argv, env=plain_env(), capture_output=True, text=True, timeout=300)
    problems = errors_of(p.stdout + p.stderr)
    if p.returncode != 0:
        problems.append("exit status %d" % p.returncode)
    check(not problems, "%s: %s, %s: zero errors %s" % (label, name, " ".join(os.path.basename(a) if i == 0 else a
                                                                         for i, a in enumerate(argv[:1])),
                                                    "(%s)" % "; ".join(problems) if problems else ""))
    return p.stdout, time.time() - t0


# ---- the loads ----

def wrk_errors(out):
    problems = []
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m and any(int(x) for x in m.groups()):
        problems.append(m.group(0))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        problems.append(m.group(0))
    if not re.search(r"Requests/sec:\s+[\d.]+", out):
        problems.append("no Requests/sec line")
    return problems


def wrk_rate(out):
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    return float(m.group(1)) if m else 0.0


def nginx_load(port, label, during=None):
    url = "http://127.0.0.1:%d/" % port
    rates = {}
    for mode, extra in (("keep-alive", []), ("Connection: close", ["-H", "Connection: close"])):
        t = threading.Timer(1.0, during) if during else None
        if t:
            t.start()
        out, _ = run_load("wrk %s" % mode, ["wrk", "-t2", "-c32", "-d3s"] + extra + [url], wrk_errors, label)
        if t:
            t.join()
        rates["nginx " + mode] = wrk_rate(out)
        during = None  # one dump per server is enough
    return rates


def redis_errors(out):
    problems = [l for l in out.splitlines() if re.search(r"error|refused|reset", l, re.I)]
    if not re.search(r'"(SET|GET)"', out):
        problems.append("no results")
    return problems[:3]


def redis_load(port, label, during=None):
    rates = {}
    for mode, k in (("keep-alive", "1"), ("reconnecting", "0")):
        t = threading.Timer(0.5, during) if during else None
        if t:
            t.start()
        out, _ = run_load("redis-benchmark %s" % mode,
                          ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "32", "-n",
                           "40000" if k == "1" else "8000", "-k", k, "-t", "set,get,incr,lpush", "--csv"],
                          redis_errors, label)
        if t:
            t.join()
        vals = [float(x) for x in re.findall(r'^"(?:SET|GET)","([\d.]+)"', out, re.M)]
        rates["redis " + mode] = sum(vals) / len(vals) if vals else 0.0
        during = None
    return rates


def memcslap_errors(out):
    problems = [l for l in out.splitlines() if re.search(r"fail|error|refused", l, re.I)]
    if not re.search(r"Time to (set|get)", out):
        problems.append("no timing lines")
    return problems[:3]


def memcached_client(port, n=2000):
    """Set and get n values, a new connection every 20 operations; every value read
    back must be the one written. Returns the problems."""
    problems = []
    s = None
    for i in range(n):
        if i % 20 == 0:
            if s:
                s.close()
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            f = s.makefile("rwb")
        key = b"k%d" % i
        val = b"v%d-%s" % (i, b"x" * (i % 300))
        f.write(b"set %s 0 0 %d\r\n%s\r\n" % (key, len(val), val))
        f.flush()
        if f.readline() != b"STORED\r\n":
            problems.append("set %s not stored" % key.decode())
        f.write(b"get %s\r\n" % key)
        f.flush()
        head = f.readline()
        if not head.startswith(b"VALUE "):
            problems.append("get %s: %r" % (key.decode(), head))
            continue
        data = f.read(int(head.split()[3]) + 2)[:-2]
        end = f.readline()
        if data != val or end != b"END\r\n":
            problems.append("get %s: wrong value" % key.decode())
    if s:
        s.close()
    return problems[:3]


def memcached_load(port, label, during=None):
    rates = {}
    t = threading.Timer(0.5, during) if during else None
    if t:
        t.start()
    for test in ("set", "get"):
        out, secs = run_load("memcslap %s" % test, ["memcslap", "-s", "127.0.0.1:%d" % port, "-c", "16", "-e", "4000",
                                                    "-t", test], memcslap_errors, label)
        m = re.search(r"Time to %s\s+(\d+) keys by\s+\d+ threads:\s+([\d.]+) seconds" % test, out)
        rates["memcached memcslap " + test] = int(m.group(1)) / float(m.group(2)) if m and float(m.group(2)) else 0.0
    if t:
        t.join()
    t0 = time.time()
    problems = memcached_client(port)
    rates["memcached python client"] = 4000 / (time.time() - t0)
    check(not problems, "%s: python memcached client, every value read back right %s" % (
        label, "(%s)" % "; ".join(problems) if problems else ""))
    return rates


# ---- the servers ----

class Server:
    def __init__(self, kind, tmp, shim):
        self.kind, self.tmp, self.shim = kind, tmp, shim
        self.port = free_port()
        self.env = shim_env(tmp) if shim else plain_env()
        self.proc = None

    def start(self):
        t, port = self.tmp, self.port
        if self.kind == "nginx":
            user = getattr(self, "user", None) or ("user root;" if os.geteuid() == 0 else "")
            conf = os.path.join(t, "nginx.conf")
            with open(conf, "w") as f:
                f.write("""%s
daemon off; master_process on; worker_processes 2; pid %s/nginx.pid; error_log %s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %s/body; proxy_temp_path %s/proxy; fastcgi_temp_path %s/fcgi;
  uwsgi_temp_path %s/uwsgi; scgi_temp_path %s/scgi;
  server { listen 127.0.0.1:%d; location / { return 200 "hello\\n"; } }
}
""" % (user, t, t, t, t, t, t, t, port))
            argv = ["nginx", "-p", t, "-c", conf, "-e", os.path.join(t, "error.log")]
        elif self.kind == "redis":
            argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", t, "--logfile", os.path.join(t, "redis.log"), "--daemonize", "no"]
        else:
            argv = ["memcached", "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-t", "2", "-c", "1024"]
            if os.geteuid() == 0:
                argv += ["-u", "root"]
        self.argv = argv
        self.out = open(os.path.join(t, "server.out"), "w")
        self.proc = subprocess.Popen(argv, env=self.env, stdout=self.out, stderr=subprocess.STDOUT, cwd=t)
        return wait_port(port)

    def pids(self):
        """The server's processes: nginx's master and workers; the others are one."""
        return [self.proc.pid] + (children(self.proc.pid) if self.kind == "nginx" else [])

    def prepare_stop(self):
        """What the stop needs before the /proc snapshot: redis is stopped through a
        connection, whose server side must be in the snapshot."""
        if self.kind == "redis":
            self.ctl = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            self.ctl.sendall(b"PING\r\n")
            self.ctl.recv(64)

    def stop(self):
        """Graceful stop; returns the exit status."""
        if self.kind == "nginx":
            subprocess.run(["nginx", "-p", self.tmp, "-c", os.path.join(self.tmp, "nginx.conf"), "-s", "quit"],
                           env=plain_env(), capture_output=True)
        elif self.kind == "redis":
            if getattr(self, "ctl", None):
                self.ctl.sendall(b"SHUTDOWN NOSAVE\r\n")
                self.ctl.close()
            else:
                subprocess.run(["redis-cli", "-p", str(self.port), "SHUTDOWN", "NOSAVE"], env=plain_env(),
                               capture_output=True)
        else:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return "hung (killed)"


def dump(pids, by_signal):
    """scripts/sockleak dump: through the control socket, or with --signal (nginx and
    redis write their process titles over their environment, so dump cannot read
    dump_signal there and must be told)."""
    argv = [LAUNCHER, "dump"] + (["--signal", DUMP_SIGNAL] if by_signal else []) + [str(x) for x in pids]
    p = subprocess.run(argv, env=plain_env(), capture_output=True, text=True)
    dump.status = p.returncode
    dump.output = (p.stdout + p.stderr).strip()


def run_server(kind, load):
    # without the shim: the baseline
    tmp = tempfile.mkdtemp(prefix="sockleak-srv-%s-plain-" % kind)
    try:
        s = Server(kind, tmp, shim=False)
        if not check(s.start(), "%s without the shim: listening on 127.0.0.1:%d" % (kind, s.port)):
            s.stop()
            return
        base = load(s.port, "%s plain" % kind)
        s.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # with the shim
    tmp = tempfile.mkdtemp(prefix="sockleak-srv-%s-shim-" % kind)
    os.chmod(tmp, 0o755)
    try:
        s = Server(kind, tmp, shim=True)
        if not check(s.start(), "%s under the shim: listening on 127.0.0.1:%d" % (kind, s.port)):
            s.stop()
            return
        pids = s.pids()
        dump.status, dump.output = None, ""
        by_signal = kind == "memcached"
        reason = "signal" if by_signal else "dump"
        shim_rates = load(s.port, "%s shim" % kind, during=lambda: dump(pids, by_signal))
        check(dump.status == 0, "%s: sockleak dump %s%s %s" % (kind, "--signal %s " % DUMP_SIGNAL if by_signal else "",
                                                                " ".join(map(str, pids)),
                                                                "" if dump.status == 0 else "-> %s" % dump.output))
        time.sleep(0.5)
        reps = reports(tmp)
        for pid in pids:
            sig = [r for r in reps.get(pid, []) if r["reason"] == reason]
            check(len(sig) >= 1, "%s pid %d: a %s report, parsed" % (kind, pid, reason))
            for r in sig[:1]:
                lst = [x for x in r["sockets"] if x["state"] == "LISTEN"]
                check(any(x["local"] == "127.0.0.1:%d" % s.port for x in lst),
                      "%s pid %d: the listener is in it as LISTEN on 127.0.0.1:%d (%s)"
                      % (kind, pid, s.port, [x["local"] for x in lst]))
        # just before the stop: what the kernel says each process holds
        s.prepare_stop()
        pids = s.pids()
        snap = {pid: proc_sockets(pid) for pid in pids}
        status = s.stop()
        check(status == 0, "%s: graceful stop, exit status %s" % (kind, status))
        time.sleep(0.3)
        reps = reports(tmp)
        for pid in pids:
            ex = [r for r in reps.get(pid, []) if r["reason"] == "exit"]
            if not check(len(ex) == 1, "%s pid %d: one exit report (the process ended with exit())" % (kind, pid)):
                continue
            got = {(x["fd"], x["inode"]) for x in ex[0]["sockets"]}
            phantom = got - snap[pid]
            check(not phantom, "%s pid %d: exit report lists %d sockets, no phantom (all in /proc/%d/fd before "
                  "the stop, which held %d) %s" % (kind, pid, len(got), pid, len(snap[pid]),
                                                   sorted(phantom) if phantom else ""))
        with open(os.path.join(tmp, "server.out")) as f:
            text = f.read()
        check("sockleak:" not in text,
              "%s: no message from the shim on the server's output %s" % (kind, text.strip()[:200]))
        for k, v in shim_rates.items():
            throughput[k] = (base.get(k, 0.0), v)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_privdrop():
    """nginx as root, workers as nobody: no report lost, with and without a dump."""
    for with_dump in (False, True):
        tmp = tempfile.mkdtemp(prefix="sockleak-srv-privdrop-")
        try:
            os.chmod(tmp, 0o755)
            logs, fallback = os.path.join(tmp, "logs"), os.path.join(tmp, "fallback")
            os.mkdir(logs, 0o755)  # root's: nobody cannot create files in it
            os.mkdir(fallback)
            os.chmod(fallback, 0o1777)
            s = Server("nginx", tmp, shim=True)
            s.user = "user nobody nogroup;"
            s.env["SOCKLEAK_OPTIONS"] = "format=json:log_path=%s/sl.%%p.jsonl" % logs
            s.env["TMPDIR"] = fallback
            what = "nginx as root, workers as nobody, %s" % ("dumped" if with_dump else "not dumped")
            if not check(s.start(), "%s: listening on 127.0.0.1:%d" % (what, s.port)):
                s.stop()
                continue
            for _ in range(20):
                with urllib.request.urlopen("http://127.0.0.1:%d/" % s.port, timeout=10) as resp:
                    resp.read()
            pids = s.pids()
            workers = pids[1:]
            if with_dump:
                p = subprocess.run([LAUNCHER, "dump"] + [str(x) for x in pids], env=plain_env(),
                                   capture_output=True, text=True)
                lines = p.stdout.splitlines()
                check(p.returncode == 0 and len(lines) == len(pids) and
                      all("by sockleak dump" in x for x in lines[1:]) and "by sockleak dump" not in lines[0],
                      "%s: dump writes the workers' reports for them, the master's itself %s"
                      % (what, "" if p.returncode == 0 else p.stdout + p.stderr))
                owners = {os.stat(os.path.join(logs, "sl.%d.jsonl" % w)).st_uid
                          for w in workers if os.path.exists(os.path.join(logs, "sl.%d.jsonl" % w))}
                check(owners == {65534}, "%s: the workers' files are nobody's (%s)" % (what, owners))
            status = s.stop()
            check(status == 0, "%s: graceful stop, exit status %s" % (what, status))
            time.sleep(0.3)
            found = {}
            for d, pattern in ((logs, "sl.*.jsonl"), (fallback, "sockleak.*.log")):
                for f in glob.glob(os.path.join(d, pattern)):
                    with open(f, "rb") as fh:
                        for line in fh.read().splitlines():
                            if line.startswith(b"{"):
                                r = json.loads(line)
                                found.setdefault(r["pid"], []).append((r["reason"], d == logs))
            for pid in pids:
                exits = [in_logs for reason, in_logs in found.get(pid, []) if reason == "exit"]
                want_logs = pid == pids[0] or with_dump
                check(exits == [want_logs], "%s: pid %d (%s): its exit report is in %s" % (
                    what, pid, "master" if pid == pids[0] else "worker",
                    "logs/" if want_logs else "$TMPDIR/sockleak.%d.log" % pid))
            with open(os.path.join(tmp, "error.log"), "rb") as f:
                check(b'"tool":"sockleak"' not in f.read(), "%s: nginx's error.log holds no report" % what)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    if not os.path.exists(LIB):
        print("build/libsockleak.so is missing: run make")
        return 2
    start = time.time()
    if need("nginx", "wrk"):
        run_server("nginx", nginx_load)
    if os.geteuid() == 0 and need("nginx"):
        run_privdrop()
    else:
        print("SKIP nginx as root with workers as nobody (needs root)")
    if need("redis-server", "redis-cli", "redis-benchmark"):
        run_server("redis", redis_load)
    if need("memcached", "memcslap"):
        run_server("memcached", memcached_load)
    print("\nthroughput (requests/s)          without shim     with shim")
    for k, (a, b) in throughput.items():
        print("  %-30s %12.0f  %12.0f  (%+.0f%%)" % (k, a, b, 100.0 * (b - a) / a if a else 0.0))
    print("\ncheck-servers: %d failures in %.0fs" % (len(failures), time.time() - start))
    for f in failures:
        print("  FAIL " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
