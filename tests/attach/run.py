#!/usr/bin/env python3
"""run.py - sockleak inspect, attach and detach on processes started without the shim
(make check-attach, part of make test).

Each test is one function named for the behaviour it checks. The processes are
started here without LD_PRELOAD: build/tests/attach/leaky_service (fetch_user() leaks
connections into CLOSE_WAIT, driven line by line on its stdin), pause_probe (threads
that measure how long they were stopped), python3, java, nginx.
A test needing what this machine lacks (root, gdb, setpriv, nginx, wrk, java) says SKIP
with the reason; it never prints the values it would have checked. Each test runs
under a time limit. Prints PASS/FAIL/SKIP per test and "N passed, N failed, N skipped".
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
B = os.path.join(ROOT, "build")
LIB = os.path.join(B, "libsockleak.so")
SOCKLEAK = os.path.join(ROOT, "scripts", "sockleak")
SERVICE = os.path.join(B, "tests", "attach", "leaky_service")
SERVICE_NOW = os.path.join(B, "tests", "attach", "leaky_service_now")
STATIC = os.path.join(B, "tests", "attach", "static_holder")
PROBE = os.path.join(B, "tests", "attach", "pause_probe")
API_DLOPEN = os.path.join(B, "tests", "integration", "api_dlopen")
TESTS = []


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def test(*needs, timeout=60):
    def wrap(fn):
        TESTS.append((fn, needs, timeout))
        return fn
    return wrap


def missing(needs):
    for n in needs:
        if n == "root" and os.geteuid() != 0:
            return "needs root"
        if n != "root" and not shutil.which(n):
            return "needs %s on PATH" % n
    return None


def check(cond, what):
    if not cond:
        raise Fail(what)


def plain_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "SOCKLEAK_OPTIONS")}
    env.update(extra)
    return env


def as_user(user):
    import pwd
    pw = pwd.getpwnam(user)
    return ["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid), "--clear-groups", "--"]


def sockleak(*args, user=None, env=None, timeout=60):
    argv = [SOCKLEAK] + list(args)
    if user:
        argv = as_user(user) + argv
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env or plain_env())


class Service:
    """leaky_service, started without the shim."""

    def __init__(self, prog=SERVICE, user=None):
        argv = [prog] if not user else as_user(user) + [prog]
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=plain_env())
        line = self.p.stdout.readline()
        self.mdwe = None
        if line.startswith("mdwe="):
            self.mdwe = line.strip() == "mdwe=1"
            line = self.p.stdout.readline()
        m = re.match(r"ready pid=(\d+) port=(\d+) backend=(\d+)", line)
        check(m, "the service starts (%r)" % line)
        self.pid, self.port, self.backend = (int(x) for x in m.groups())

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def leak(self, n):
        out = self.cmd("leak %d" % n)
        m = re.match(r"leaked \d+ total=\d+ fds=([\d,]+)$", out)
        check(m, "the service leaks (%r)" % out)
        return [int(x) for x in m.group(1).split(",")]

    def quit(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.close()
        self.p.stdout.read()
        return self.p.wait(20)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def ss_states(pid):
    """{state: count} of pid's TCP sockets, as ss -tanp says."""
    out = subprocess.run(["ss", "-tanpH"], capture_output=True, text=True, check=True).stdout
    names = {"ESTAB": "ESTABLISHED", "SYN-SENT": "SYN_SENT", "SYN-RECV": "SYN_RECV", "FIN-WAIT-1": "FIN_WAIT1",
             "FIN-WAIT-2": "FIN_WAIT2", "TIME-WAIT": "TIME_WAIT", "UNCONN": "CLOSE", "CLOSE-WAIT": "CLOSE_WAIT",
             "LAST-ACK": "LAST_ACK", "LISTEN": "LISTEN", "CLOSING": "CLOSING"}
    counts = {}
    for line in out.splitlines():
        if re.search(r"pid=%d," % pid, line):
            st = names.get(line.split()[0], line.split()[0])
            counts[st] = counts.get(st, 0) + len(re.findall(r"pid=%d," % pid, line))
    return counts


def inspect_json(pid, **kw):
    r = sockleak("inspect", "--json", str(pid), **kw)
    check(r.returncode == 0, "inspect %d exits 0 (%s)" % (pid, r.stderr.strip()))
    return json.loads(r.stdout)


def inspect_states(rep):
    counts = {}
    for s in rep["sockets"]:
        if s.get("protocol") == "tcp" and s.get("state") and s["state"] != "CLOSE":
            counts[s["state"]] = counts.get(s["state"], 0) + 1
    return counts


def control(pid, request):
    """The shim's answer on its control socket, as fields."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect("\0sockleak.%d" % pid)
    s.sendall(request.encode() + b"\n")
    data = b""
    while b"\n" not in data:
        c = s.recv(65536)
        if not c:
            break
        data += c
    s.close()
    return data.split(b"\n", 1)[0].decode().split("\t")


def reports(path):
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def attach(pid, tmp, *extra):
    log = os.path.join(tmp, "sl.%p.jsonl")
    r = sockleak("attach", "--lib", LIB, "--json", "--log", log, *extra, str(pid))
    check(r.returncode == 0, "attach %d exits 0 (%s%s)" % (pid, r.stdout.strip(), r.stderr.strip()))
    check("attached to %d" % pid in r.stdout, "attach says it attached (%s)" % r.stdout.strip())
    return log.replace("%p", str(pid)), r


def dump(pid, log):
    """sockleak dump PID, as a user asks: it says where the report went."""
    r = sockleak("dump", str(pid))
    check(r.returncode == 0 and r.stdout.endswith(": report written to %s\n" % log),
          "sockleak dump: the report went to %s (%s%s)" % (log, r.stdout.strip(), r.stderr.strip()))
    return reports(log)[-1]


def frames(rep, sock):
    for st in rep["stacks"]:
        if st["id"] == sock["stack"]:
            return [f.get("function") for f in st["frames"]]
    return []


# ---- inspect ----

@test("ss")
def inspect_counts_match_ss():
    svc = Service()
    try:
        svc.leak(40)
        svc.cmd("ok 5")
        before = ss_states(svc.pid)
        rep = inspect_json(svc.pid)
        after = ss_states(svc.pid)
        check(before == after, "ss says the same before and after (%s, %s)" % (before, after))
        check(inspect_states(rep) == before, "inspect's TCP states %s are ss -tanp's %s" % (inspect_states(rep), before))
        check(rep["reason"] == "inspect" and rep["summary"]["close_wait"] == before.get("CLOSE_WAIT"),
              "the summary counts CLOSE_WAIT as ss does")
        check(all(s["origin"] == "unseen" and s["stack"] == "none" for s in rep["sockets"]), "origin unseen, no stack")
        cw = [s for s in rep["sockets"] if s["state"] == "CLOSE_WAIT"]
        check(all(s["peer"] == "127.0.0.1:%d" % svc.backend and s["direction"] == "outgoing" for s in cw),
              "every CLOSE_WAIT socket names its peer, the backend, outgoing")
        check(all(s["unread_bytes"] == 9 and not s["eof_read"] for s in cw),
              "each holds the 9 bytes and the end of file never read")
        text = sockleak("inspect", str(svc.pid)).stdout
        check(re.search(r"sockleak inspect: 40 sockets in CLOSE_WAIT \(outgoing to 127\.0\.0\.1:%d\), 40 of them "
                        r"with data never read" % svc.backend, text), "the headline names the peer:\n" + text)
        for port in (svc.port, svc.backend):
            check(re.search(r"^  127\.0\.0\.1:%d \(fd \d+\)" % port, text, re.M), "listener %d listed:\n%s" % (port, text))
        check(re.search(r"^SUMMARY: sockleak inspect: \d+ sockets in leaky_service", text, re.M), "SUMMARY line")
    finally:
        svc.kill()


@test("python3", "ss")
def inspect_python_process():
    code = textwrap.dedent("""
        import socket, sys, time
        l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(64)
        keep = [socket.create_connection(l.getsockname()) for _ in range(12)]
        acc = [l.accept()[0] for _ in range(12)]
        for a in acc[:7]: a.close()
        a, b = socket.socketpair()
        print("ready", flush=True); time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=plain_env())
    try:
        check(p.stdout.readline().strip() == "ready", "the python program starts")
        time.sleep(0.2)
        rep = inspect_json(p.pid)
        check(inspect_states(rep) == ss_states(p.pid), "inspect %s = ss %s" % (inspect_states(rep), ss_states(p.pid)))
        check(rep["summary"]["close_wait"] == 7, "7 in CLOSE_WAIT")
        check(sum(1 for s in rep["sockets"] if s["family"] == "unix") == 2, "the socket pair")
    finally:
        p.kill()
        p.wait()


@test("java", "ss", timeout=90)
def inspect_java_process():
    tmp = tempfile.mkdtemp()
    src = os.path.join(tmp, "Hold.java")
    with open(src, "w") as f:
        f.write(textwrap.dedent("""
            import java.net.*; import java.util.*;
            public class Hold { public static void main(String[] a) throws Exception {
                ServerSocket l = new ServerSocket(0, 64, InetAddress.getLoopbackAddress());
                List<Socket> keep = new ArrayList<>();
                for (int i = 0; i < 10; i++) keep.add(new Socket(InetAddress.getLoopbackAddress(), l.getLocalPort()));
                for (int i = 0; i < 10; i++) { Socket s = l.accept(); if (i < 4) s.close(); else keep.add(s); }
                System.out.println("ready"); System.out.flush(); Thread.sleep(60000); } }
        """))
    p = subprocess.Popen(["java", src], stdout=subprocess.PIPE, text=True, env=plain_env())
    try:
        check(p.stdout.readline().strip() == "ready", "the java program starts")
        time.sleep(0.3)
        rep = inspect_json(p.pid)
        check(inspect_states(rep) == ss_states(p.pid), "inspect %s = ss %s" % (inspect_states(rep), ss_states(p.pid)))
        check(rep["summary"]["close_wait"] == 4 and rep["summary"]["listening"] >= 1, "4 in CLOSE_WAIT, a listener")
    finally:
        p.kill()
        p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


@test("python3", timeout=60)
def inspect_18000_sockets_under_a_second():
    code = textwrap.dedent("""
        import resource, socket, time
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(4096)
        keep = []
        for _ in range(9000):
            c = socket.create_connection(l.getsockname()); keep += [c, l.accept()[0]]
        for s in keep[1::2][:3000]: s.shutdown(socket.SHUT_WR)   # 3000 of the clients go to CLOSE_WAIT
        print("ready", flush=True); time.sleep(60)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=plain_env())
    try:
        line = p.stdout.readline().strip()
        if line != "ready":
            raise Skip("cannot open 18,000 sockets here (RLIMIT_NOFILE)")
        time.sleep(0.3)
        took = []
        for _ in range(2):  # the better of two: a machine still busy with the sockets of an earlier test
            t0 = time.time()
            r = sockleak("inspect", "--json", str(p.pid))
            took.append(time.time() - t0)
        rep = json.loads(r.stdout)
        tcp = sum(1 for s in rep["sockets"] if s.get("protocol") == "tcp")
        check(tcp == 18001 and rep["summary"]["close_wait"] == 3000, "18,001 TCP sockets, 3,000 in CLOSE_WAIT")
        check(min(took) < 1.0, "inspected in under a second (took %.2f s, %.2f s)" % tuple(took))
        print("  (18,001 sockets inspected in %.2f s and %.2f s, launcher and python start included)" % tuple(took))
    finally:
        p.kill()
        p.wait()


@test()
def inspect_static_program():
    p = subprocess.Popen([STATIC], stdout=subprocess.PIPE, text=True, env=plain_env())
    try:
        check(p.stdout.readline().strip() == "ready", "the static program starts")
        rep = inspect_json(p.pid)
        check(rep["summary"]["listening"] == 1 and sum(s["family"] == "unix" for s in rep["sockets"]) == 2,
              "a listener and a socket pair")
        if shutil.which("gdb"):
            r = sockleak("attach", "--lib", LIB, str(p.pid))
            check(r.returncode == 1 and "static program" in r.stderr and "inspect" in r.stderr,
                  "attach says a static program cannot load it (%s)" % r.stderr.strip())
    finally:
        p.kill()
        p.wait()


@test("root", "setpriv")
def permission_another_user():
    svc = Service()
    try:
        r = sockleak("inspect", str(svc.pid), user="nobody")
        check(r.returncode == 1 and "runs as user root and you are nobody" in r.stderr,
              "inspect names the users (%s)" % r.stderr.strip())
        r = sockleak("attach", "--lib", LIB, str(svc.pid), user="nobody")
        check(r.returncode == 1 and "runs as user root and you are nobody" in r.stderr,
              "attach names the users (%s)" % r.stderr.strip())
    finally:
        svc.kill()


@test("root", "setpriv")
def permission_no_cap_sys_ptrace():
    svc = Service(user="nobody")
    try:
        argv = ["setpriv", "--inh-caps=-sys_ptrace", "--bounding-set=-sys_ptrace", "--", SOCKLEAK, "inspect",
                str(svc.pid)]
        r = subprocess.run(argv, capture_output=True, text=True, env=plain_env(), timeout=30)
        check(r.returncode == 1 and "without CAP_SYS_PTRACE" in r.stderr, "says root lacks CAP_SYS_PTRACE (%s)"
              % r.stderr.strip())
    finally:
        svc.kill()


@test("root", "setpriv", "python3")
def permission_not_dumpable():
    code = "import ctypes, time; ctypes.CDLL(None).prctl(4, 0); print('ready', flush=True); time.sleep(60)"
    p = subprocess.Popen(as_user("nobody") + [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                         env=plain_env())
    try:
        check(p.stdout.readline().strip() == "ready", "the program starts")
        r = sockleak("inspect", str(p.pid), user="nobody")
        check(r.returncode == 1 and "is not dumpable" in r.stderr, "says it is not dumpable (%s)" % r.stderr.strip())
    finally:
        p.kill()
        p.wait()


@test()
def permission_messages_from_facts():
    """The causes this machine cannot show (Yama, a container), from made-up facts."""
    import importlib.machinery
    import importlib.util
    loader = importlib.machinery.SourceFileLoader("live", os.path.join(ROOT, "scripts", "sockleak-live"))
    live = importlib.util.module_from_spec(importlib.util.spec_from_loader("live", loader))
    loader.exec_module(live)
    all_caps, no_ptrace = (1 << 41) - 1, ((1 << 41) - 1) & ~(1 << 19)
    base = {"pid": 42, "comm": "svc", "exists": True, "uids": [1000] * 3, "my_uid": 1000, "cap_eff": 0,
            "cap_bnd": all_caps, "proc_owner": 1000, "yama": None, "container": False}
    check(live.explain(base, True) is None, "same user, dumpable, no Yama: allowed")
    for scope, words in ((1, "ancestors"), (2, "only CAP_SYS_PTRACE"), (3, "until the next reboot")):
        msg = live.explain(dict(base, yama=scope), True) or ""
        check("ptrace_scope is %d" % scope in msg and words in msg, "Yama %d explained (%s)" % (scope, msg))
        check(live.explain(dict(base, yama=scope), False) is None, "inspect does not need ptrace (Yama %d)" % scope)
    check(live.explain(dict(base, yama=1, cap_eff=all_caps, my_uid=0), True) is None, "root passes Yama 1")
    msg = live.explain(dict(base, my_uid=0, cap_eff=no_ptrace, cap_bnd=no_ptrace, container=True), False) or ""
    check("container was started without it" in msg and "SYS_PTRACE" in msg, "a container without SYS_PTRACE: " + msg)


# ---- attach and detach ----

@test("gdb", timeout=90)
def attach_names_the_leaking_function():
    svc = Service()
    tmp = tempfile.mkdtemp()
    try:
        pre = svc.leak(15)
        log, r = attach(svc.pid, tmp)
        print("  (%s)" % r.stdout.splitlines()[0])
        post = svc.leak(10)
        rep = dump(svc.pid, log)
        check(rep["reason"] == "dump" and rep["attached"] and rep["attached"]["pre_attach"] >= 17,
              "the header says when it attached and how many sockets were open then (%s)" % rep.get("attached"))
        by_fd = {s["fd"]: s for s in rep["sockets"]}
        old = [by_fd.get(fd) for fd in pre]
        new = [by_fd.get(fd) for fd in post]
        check(all(s and s["origin"] == "pre-attach" and s["stack"] == "none" for s in old),
              "the 15 leaked before attach are pre-attach, without a stack (%s)"
              % [(s["fd"], s["origin"], s["stack"]) if s else None for s in old])
        check(all(s and s["origin"] == "socket" and "fetch_user" in frames(rep, s) for s in new),
              "the 10 leaked after attach name fetch_user")
        text = sockleak("report", "render", log).stdout
        check(re.search(r"attached \(at \S+; \d+ sockets were open then, listed as pre-attach\)", text) and
              "open when sockleak attached:\n    (no stack: created before sockleak attached)" in text,
              "report render says when it attached and lists the pre-attach sockets without a stack")
        time.sleep(1.2)  # close_wait_after=1s below: the next dump counts them leaked
        check(svc.leak(1), "the service still works")
        check(svc.quit() == 0, "the service runs to its end and exits 0")
        last = reports(log)[-1]
        check(last["reason"] == "exit", "an exit report after the dump")
    finally:
        svc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


@test("gdb", timeout=120)
def detach_then_attach_again():
    svc = Service()
    tmp = tempfile.mkdtemp()
    try:
        log, _ = attach(svc.pid, tmp)
        first = svc.leak(5)
        r = sockleak("attach", "--lib", LIB, str(svc.pid))
        check(r.returncode == 1 and "attached already" in r.stderr, "a second attach is refused (%s)" % r.stderr)
        r = sockleak("detach", str(svc.pid))
        check(r.returncode == 0 and "detached from %d" % svc.pid in r.stdout and "put back" in r.stdout,
              "detach says what it put back (%s%s)" % (r.stdout, r.stderr))
        between = svc.leak(5)
        r = sockleak("detach", str(svc.pid))
        check(r.returncode == 1 and "not attached" in r.stderr, "a second detach says it is not attached (%s)"
              % r.stderr.strip())
        log, _ = attach(svc.pid, tmp)
        again = svc.leak(5)
        rep = dump(svc.pid, log)
        by_fd = {s["fd"]: s for s in rep["sockets"]}

        def origins(fds):
            return {by_fd[fd]["origin"] if fd in by_fd else None for fd in fds}
        check(origins(first) == {"socket"}, "sockets of the first attach keep their stacks (%s)" % origins(first))
        check(origins(between) == {"pre-attach"}, "those made while detached are pre-attach (%s)" % origins(between))
        check(origins(again) == {"socket"}, "those made after attaching again have stacks (%s)" % origins(again))
        sockleak("detach", str(svc.pid))
        check(svc.quit() == 0, "the service exits 0")
    finally:
        svc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


@test("gdb", timeout=90)
def attach_full_relro_and_mdwe():
    svc = Service(SERVICE_NOW)
    tmp = tempfile.mkdtemp()
    try:
        if not svc.mdwe:
            raise Skip("the kernel has no PR_SET_MDWE (Linux 6.3)")
        maps_before = [l for l in open("/proc/%d/maps" % svc.pid) if "leaky_service_now" in l]
        log, r = attach(svc.pid, tmp)
        check("refused" in r.stdout and " 0 refused" in r.stdout, "no slot refused (%s)" % r.stdout)
        new = svc.leak(3)
        rep = dump(svc.pid, log)
        check(all("fetch_user" in frames(rep, s) for s in rep["sockets"] if s["fd"] in new),
              "-z now, MemoryDenyWriteExecute: still names fetch_user")
        maps_after = list(open("/proc/%d/maps" % svc.pid))  # (the shim maps the file again to read symbols)
        check(all(l in maps_after for l in maps_before), "the program's pages have their protections back:\n%s\n%s"
              % ("".join(maps_before), "".join(maps_after)))
        check(svc.quit() == 0, "the service exits 0")
    finally:
        svc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


@test("gdb", "python3", timeout=90)
def attach_python_process():
    code = textwrap.dedent("""
        import socket, sys, time
        l = socket.socket(); l.bind(("127.0.0.1", 0)); l.listen(64)
        def leak_connections(n):
            return [socket.create_connection(l.getsockname()) for _ in range(n)]
        keep = leak_connections(3)
        print("ready", flush=True)
        for line in sys.stdin:
            keep += leak_connections(int(line))
            print("fds", keep[-1].fileno(), flush=True)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=plain_env())
    tmp = tempfile.mkdtemp()
    try:
        check(p.stdout.readline().strip() == "ready", "the python program starts")
        log, _ = attach(p.pid, tmp)
        p.stdin.write("4\n")
        p.stdin.flush()
        last = int(p.stdout.readline().split()[1])
        rep = dump(p.pid, log)
        s = [x for x in rep["sockets"] if x["fd"] == last][0]
        frames = [f for st in rep["stacks"] if st["id"] == s["stack"] for f in st["frames"]]
        mods = [f.get("module") or "" for f in frames if not f.get("lang")]
        check(s["origin"] == "socket" and mods, "a socket made after attach has a stack (%s)" % s["origin"])
        check(any("python" in os.path.basename(m) for m in mods[:3]),
              "its first native frames are the interpreter's, whose calls go through its own GOT (%s)" % mods[:3])
        check("leak_connections" in [f["function"] for f in frames if f.get("lang") == "python"],
              "its Python frames name the function that made it")
        sockleak("detach", str(p.pid))
    finally:
        p.kill()
        p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


@test("gdb", "nginx", "wrk", timeout=120)
def attach_nginx_under_wrk():
    tmp = tempfile.mkdtemp()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write("daemon off; master_process on; worker_processes 1; error_log %s/error.log; pid %s/nginx.pid;\n"
                "events { worker_connections 1024; }\n"
                "http { access_log off; client_body_temp_path %s; proxy_temp_path %s; fastcgi_temp_path %s;\n"
                "  uwsgi_temp_path %s; scgi_temp_path %s;\n"
                "  server { listen 127.0.0.1:%d; location / { return 200 'ok'; } } }\n"
                % ((tmp,) * 7 + (port,)))
    nginx = subprocess.Popen(["nginx", "-c", conf, "-p", tmp], env=plain_env(), stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        kids = open("/proc/%d/task/%d/children" % (nginx.pid, nginx.pid)).read().split()
        check(kids, "nginx has a worker")
        worker = int(kids[0])
        results = {}

        def load():
            results["wrk"] = subprocess.run(["wrk", "-t2", "-c32", "-d4s", "http://127.0.0.1:%d/" % port],
                                            capture_output=True, text=True, env=plain_env(), timeout=60).stdout
        t = threading.Thread(target=load)
        t.start()
        time.sleep(1)
        log, r = attach(worker, tmp, "--signal", "none")
        time.sleep(1)
        rep = dump(worker, log)
        check(rep["summary"]["listening"] >= 1, "the worker's report lists the listener")
        d = sockleak("detach", str(worker))
        check(d.returncode == 0, "detach from the worker (%s)" % d.stderr)
        t.join()
        out = results.get("wrk", "")
        m = re.search(r"Requests/sec:\s+([\d.]+)", out)
        check(m and float(m.group(1)) > 0, "wrk ran (%s)" % out)
        check("Socket errors" not in out and "Non-2xx" not in out, "zero request errors:\n" + out)
        print("  (%s requests/s through attach and detach)" % m.group(1))
    finally:
        nginx.send_signal(signal.SIGQUIT)
        try:
            nginx.wait(10)
        except subprocess.TimeoutExpired:
            nginx.kill()
        shutil.rmtree(tmp, ignore_errors=True)


class Probe:
    """pause_probe: two threads that wake every millisecond and keep their longest gap."""

    def __init__(self):
        self.p = subprocess.Popen([PROBE, "20"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  env=plain_env())
        m = re.match(r"ready pid=(\d+)", self.p.stdout.readline())
        check(m, "the probe starts")
        self.pid = int(m.group(1))

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def longest(self):
        """(longest gap, longest time stopped) in ms since the last reset."""
        m = re.match(r"max_gap_us=(\d+) max_stopped_us=(\d+)", self.cmd("max"))
        check(m, "the probe answers")
        return int(m.group(1)) / 1000, int(m.group(2)) / 1000

    def quit(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.close()
        return self.p.wait(20)

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


PAUSE_BOUND_MS = 15


@test("root", "gdb", timeout=120)
def attach_and_detach_stop_the_process_a_few_ms():
    """What the issue allows: a pause of a few milliseconds at attach and at detach. Two
    threads of pause_probe wake every millisecond; after an attach, then after a detach,
    the longest time one of them was stopped: its gap between two wake-ups less the 1 ms
    it slept and less the time it waited for a CPU (on this shared two-core machine, the
    load of other work, not the attach; both are printed). gdb stops every thread ~1 ms
    to attach, and the thread at the safe point ~4 ms more for its four calls; detach is
    one request to the shim's own thread. The bound, 15 ms, leaves room for the machine
    itself: a virtual CPU is sometimes taken away for up to ~9 ms with nothing attached
    at all, which the guest cannot tell from being stopped; so the best of up to three
    attach/detach cycles counts."""
    probe = Probe()
    tmp = tempfile.mkdtemp()
    tries = []
    try:
        time.sleep(0.3)
        for _ in range(3):
            probe.cmd("reset")
            log, r = attach(probe.pid, tmp)
            time.sleep(0.3)
            at = probe.longest()
            m = re.search(r"gdb stopped it (\d+) ms at the attach and (\d+) ms at the safe point", r.stdout)
            check(m, "attach says how long gdb had the process stopped (%s)" % r.stdout.strip())
            probe.cmd("reset")
            d = sockleak("detach", str(probe.pid))
            check(d.returncode == 0, "detach (%s)" % d.stderr.strip())
            time.sleep(0.3)
            de = probe.longest()
            tries.append((at, de, m.group(1), m.group(2)))
            if max(at[1], de[1]) <= PAUSE_BOUND_MS:
                break
        best = min(tries, key=lambda x: max(x[0][1], x[1][1]))
        print("  (attach: stopped %.1f ms (longest gap %.1f ms; gdb: %s ms attaching, %s ms at the safe point), "
              "detach: stopped %.1f ms (gap %.1f ms)%s)" % (
                  best[0][1], best[0][0], best[2], best[3], best[1][1], best[1][0],
                  "; %d tries: %s" % (len(tries), ", ".join("%.1f/%.1f" % (x[0][1], x[1][1]) for x in tries))
                  if len(tries) > 1 else ""))
        check(best[0][1] <= PAUSE_BOUND_MS, "attach stops the process at most %d ms (%.1f ms)"
              % (PAUSE_BOUND_MS, best[0][1]))
        check(best[1][1] <= PAUSE_BOUND_MS, "detach stops the process at most %d ms (%.1f ms)"
              % (PAUSE_BOUND_MS, best[1][1]))
        check(probe.quit() == 0, "the probe exits 0")
    finally:
        probe.kill()
        shutil.rmtree(tmp, ignore_errors=True)


@test("gdb", timeout=60)
def dlopen_under_a_debugger_without_attach():
    """A program that dlopens the shim itself while a debugger is attached to it looks,
    to the shim's start-up, like an attach: that start-up leaves the rest (the sockets
    open, the thread) to an attach that never comes, and the program's first API call
    does it. api_dlopen (tests/integration) run under gdb says what it says without."""
    if not os.path.exists(API_DLOPEN):
        raise Skip("%s is not built (make all)" % API_DLOPEN)
    tmp = tempfile.mkdtemp()
    try:
        env = plain_env(SOCKLEAK_OPTIONS="format=json:log_path=%s/r.%%p.jsonl:scan_interval=0" % tmp)
        plain = subprocess.run([API_DLOPEN, LIB], capture_output=True, text=True, env=env, timeout=30)
        traced = subprocess.run(["gdb", "-nx", "-nh", "-batch", "-ex", "set startup-with-shell off", "-ex",
                                 "run", "--args", API_DLOPEN, LIB], capture_output=True, text=True, env=env,
                                timeout=30)
        lines = lambda out: [l for l in out.splitlines() if re.match(r"^[a-z_0-9]+=", l)]
        check(plain.returncode == 0 and lines(plain.stdout), "api_dlopen runs (%s)" % plain.stderr.strip())
        check(lines(traced.stdout) == lines(plain.stdout), "under gdb, the same:\n%s\nwithout:\n%s"
              % ("\n".join(lines(traced.stdout)) or traced.stdout + traced.stderr, "\n".join(lines(plain.stdout))))
        check("exited normally" in traced.stdout, "it exits 0 under gdb (%s)" % traced.stdout[-300:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@test()
def attach_without_gdb_says_how_to_install_it():
    svc = Service()
    try:
        bindir = tempfile.mkdtemp()
        for tool in ("python3", "env", "readlink", "dirname", "cat", "bash"):
            path = shutil.which(tool)
            if path:
                os.symlink(path, os.path.join(bindir, tool))
        env = plain_env(PATH=bindir)
        r = subprocess.run([SOCKLEAK, "attach", "--lib", LIB, str(svc.pid)], capture_output=True, text=True,
                           env=env, timeout=30)
        shutil.rmtree(bindir)
        check(r.returncode == 1 and "apt-get install gdb" in r.stderr, "names the package (%s)" % r.stderr.strip())
    finally:
        svc.kill()


@test("gdb", timeout=60)
def attach_refuses_a_preloaded_process():
    p = subprocess.Popen([SERVICE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=plain_env(LD_PRELOAD=LIB, SOCKLEAK_OPTIONS="report_at_exit=0"))
    try:
        pid = int(re.search(r"pid=(\d+)", p.stdout.readline()).group(1))
        r = sockleak("attach", "--lib", LIB, str(pid))
        check(r.returncode == 1 and "runs under the shim already" in r.stderr, "refused (%s)" % r.stderr.strip())
    finally:
        p.kill()
        p.wait()


def main():
    only = sys.argv[1:]
    passed = failed = skipped = 0
    for fn, needs, limit in TESTS:
        name = fn.__name__
        if only and name not in only:
            continue
        why = missing(needs)
        if why:
            print("SKIP %s (%s)" % (name, why))
            skipped += 1
            continue
        t0 = time.time()
        result = {}

        def run():
            try:
                fn()
                result["ok"] = True
            except Skip as e:
                result["skip"] = str(e)
            except Exception as e:  # a failure, or a bug in the test: both fail it
                result["fail"] = "%s: %s" % (type(e).__name__, e) if not isinstance(e, Fail) else str(e)
                result["tb"] = traceback.format_exc() if not isinstance(e, Fail) else ""
        t = threading.Thread(target=run, daemon=True)
        t.start()
        t.join(limit)
        took = time.time() - t0
        if t.is_alive():
            print("FAIL %s (timed out after %d s)" % (name, limit))
            failed += 1
        elif "skip" in result:
            print("SKIP %s (%s)" % (name, result["skip"]))
            skipped += 1
        elif "fail" in result:
            print("FAIL %s (%.1f s): %s%s" % (name, took, result["fail"], "\n" + result["tb"] if result["tb"] else ""))
            failed += 1
        else:
            print("PASS %s (%.1f s)" % (name, took))
            passed += 1
        sys.stdout.flush()
    print("attach: %d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
