#!/usr/bin/env python3
"""run.py - real runtimes and odd programs under the launcher (make check-runtimes).

Each check runs a real program with scripts/sockleak, the way a user would, and reads
what the launcher, the shim and the report tool said:

  java-dump     a JVM (it handles SIGUSR2 itself) asked for a report five times with
                `sockleak dump PID` stays alive, and every dump lists its CLOSE_WAIT
                sockets; dump prints where each report went
  java-clean    a Java program that closes everything (blocking sockets, NIO with a
                selector, HTTP) passes --fail-on-leak: the JDK's own socketpair is a
                default suppression; with default_suppressions=0 the same run fails
  python-gate   a Python client holding 11 sockets in CLOSE_WAIT, which CPython's
                shutdown closes, fails --fail-on-leak, and `sockleak report check`
                of its JSON reports fails too; after Ctrl-C (SIGINT re-raised with the
                default action) its report is still written
  node-client   a Node client: 4 sockets leaked (CLOSE_WAIT), none closed behind the
                shim's back (libuv closes with syscall(SYS_close))
  node-server   a Node HTTP server answering 200 requests with Connection: close: every
                close seen (closed_behind_back 0)
  static        a statically linked program: the launcher says the shim cannot load
                there; --fail-on-leak exits 2 without running it, a plain run goes on
  setuid        a set-user-ID program of another user (root only): the same

A check whose program is missing (java, javac, node, a static libc) is SKIP with the
reason; .ci/run installs them. One line per check; exits non-zero on any failure.
"""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LAUNCHER = os.path.join(ROOT, "scripts", "sockleak")
FAST = ["--close-wait-after", "100ms", "--scan-interval", "50ms"]

failures = []
counts = {"ok": 0, "FAIL": 0, "SKIP": 0}


def say(kind, what):
    counts[kind] += 1
    print("%-4s %s" % (kind, what))
    sys.stdout.flush()
    if kind == "FAIL":
        failures.append(what)


def check(ok, what, detail=""):
    say("ok" if ok else "FAIL", what + ("" if ok or not detail else " -- " + detail))
    return ok


def skip(what, why):
    say("SKIP", "%s (%s)" % (what, why))


def env():
    e = dict(os.environ)
    for k in ("LD_PRELOAD", "SOCKLEAK_OPTIONS", "NODE_OPTIONS", "JAVA_TOOL_OPTIONS"):
        e.pop(k, None)
    return e


def run(argv, timeout=120, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env(), **kw)


def reports(d):
    """pid -> [report...] of the JSON Lines files in d."""
    out = {}
    for f in sorted(glob.glob(os.path.join(d, "*.jsonl"))):
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    r = json.loads(line)
                    out.setdefault(r["pid"], []).append(r)
    return out


def wait_line(p, want, timeout=60):
    """Read p's stdout until a line starting with want; the line, or None."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = p.stdout.readline()
        if not line:
            return None
        if line.startswith(want):
            return line.strip()
    return None


def java_classes(tmp):
    if not (shutil.which("java") and shutil.which("javac")):
        return None
    out = os.path.join(tmp, "classes")
    r = run(["javac", "-d", out, os.path.join(HERE, "Hold.java"), os.path.join(HERE, "Clean.java")])
    if r.returncode != 0:
        check(False, "javac compiles the Java programs", r.stderr.strip()[-300:])
        return None
    return out


def java_dump(tmp, classes):
    d = os.path.join(tmp, "java-dump")
    os.mkdir(d)
    log = os.path.join(d, "r.%p.jsonl")
    p = subprocess.Popen([LAUNCHER, "--json", "--log", log] + FAST + ["--", "java", "-cp", classes, "Hold", "60"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    try:
        if not check(wait_line(p, "ready") is not None, "java-dump: the JVM starts under the shim"):
            return
        time.sleep(0.5)  # past close_wait_after: the CLOSE_WAIT sockets count as leaked
        path = log.replace("%p", str(p.pid))
        answers = []
        for _ in range(5):
            r = run([LAUNCHER, "dump", str(p.pid)], timeout=60)
            answers.append((r.returncode, r.stdout, r.stderr))
            time.sleep(0.2)
        check(all(a[0] == 0 for a in answers), "java-dump: five dumps answered", repr(answers[-1]))
        check(answers[0][1] == "sockleak: %d (java): report written to %s\n" % (p.pid, path),
              "java-dump: dump says where the report went", repr(answers[0][1]))
        time.sleep(0.5)
        check(p.poll() is None, "java-dump: the JVM is alive after five dumps", "exit status %r" % p.poll())
        mine = reports(d).get(p.pid, [])
        dumps = [r for r in mine if r["reason"] == "dump"]
        check(len(dumps) == 5, "java-dump: five reports with reason dump", "%d" % len(dumps))
        check(bool(dumps) and all(r["summary"]["close_wait"] >= 3 for r in dumps),
              "java-dump: each lists the 3 sockets in CLOSE_WAIT",
              repr([r["summary"]["close_wait"] for r in dumps]))
    finally:
        p.terminate()
        try:
            _out, err = p.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            _out, err = p.communicate()
    check("hs_err" not in err and "SIGSEGV" not in err, "java-dump: no JVM crash on stderr", err[-300:])


def java_clean(tmp, classes):
    base = [LAUNCHER, "--fail-on-leak"] + FAST
    r = run(base + ["--", "java", "-cp", classes, "Clean"])
    check(r.returncode == 0 and "done" in r.stdout, "java-clean: a Java program that closes everything passes "
          "--fail-on-leak", "exit %d: %s" % (r.returncode, r.stderr.strip()[-400:]))
    r = run(base + ["-o", "default_suppressions=0", "--", "java", "-cp", classes, "Clean"])
    check(r.returncode == 1 and "Java_sun_nio_ch_FileDispatcherImpl_init" in r.stderr,
          "java-clean: without default_suppressions the JDK's NIO socketpair fails it",
          "exit %d: %s" % (r.returncode, r.stderr.strip()[-400:]))


def python_gate(tmp):
    py = sys.executable
    client = os.path.join(HERE, "py_client.py")
    r = run([LAUNCHER, "--fail-on-leak"] + FAST + ["--", py, client, "11"])
    check(r.returncode == 1, "python-gate: 11 CLOSE_WAIT sockets closed at interpreter shutdown fail --fail-on-leak",
          "exit %d: %s" % (r.returncode, r.stderr.strip()[-400:]))
    check("11" in r.stderr and "leaked" in r.stderr, "python-gate: the verdict names 11 leaked",
          r.stderr.strip()[-400:])

    d = os.path.join(tmp, "python-json")
    os.mkdir(d)
    r = run([LAUNCHER, "--json", "--log", os.path.join(d, "r.%p.jsonl")] + FAST + ["--", py, client, "11"])
    files = glob.glob(os.path.join(d, "*.jsonl"))
    c = run([LAUNCHER, "report", "check"] + files)
    check(r.returncode == 0 and c.returncode == 1, "python-gate: report check of its JSON reports fails",
          "run %d, check %d: %s" % (r.returncode, c.returncode, (c.stdout + c.stderr).strip()[-300:]))
    exits = [x for rs in reports(d).values() for x in rs if x["reason"] == "exit"]
    check(len(exits) == 1 and exits[0]["summary"]["leaked_closed"] == 11,
          "python-gate: the exit report counts the 11 in leaked_closed",
          repr([x["summary"] for x in exits]))

    d = os.path.join(tmp, "python-sigint")
    os.mkdir(d)
    p = subprocess.Popen([LAUNCHER, "--json", "--log", os.path.join(d, "r.%p.jsonl")] + FAST +
                         ["--", py, client, "11", "60"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env())
    ready = wait_line(p, "ready") is not None
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)  # as Ctrl-C: KeyboardInterrupt, then SIGINT re-raised at exit
    _out, err = p.communicate(timeout=60)
    mine = reports(d).get(p.pid, [])
    check(ready and p.returncode == -signal.SIGINT and [x["reason"] for x in mine][-1:] == ["exit"] and
          mine[-1]["summary"]["leaked"] + mine[-1]["summary"]["leaked_closed"] == 11,
          "python-gate: after Ctrl-C the exit report is written, with the 11 leaked",
          "status %r, reports %r %s" % (p.returncode, [(x["reason"], x["summary"]["leaked"],
                                                        x["summary"]["leaked_closed"]) for x in mine], err[-200:]))


def node_client(tmp):
    d = os.path.join(tmp, "node-client")
    os.mkdir(d)
    r = run([LAUNCHER, "--json", "--log", os.path.join(d, "r.%p.jsonl")] + FAST +
            ["--", "node", os.path.join(HERE, "node_client.js"), "500"])
    exits = [x for rs in reports(d).values() for x in rs if x["reason"] == "exit"]
    if not check(r.returncode == 0 and len(exits) == 1, "node-client: runs and writes one exit report",
                 "exit %d, %d exit reports: %s" % (r.returncode, len(exits), r.stderr[-300:])):
        return
    x = exits[0]
    check(x["coverage"]["closed_behind_back"] == 0, "node-client: no close behind the shim's back",
          repr(x["coverage"]))
    check(x["summary"]["leaked"] == 4 and x["summary"]["close_wait"] == 4, "node-client: the 4 leaked sockets",
          repr(x["summary"]))


def node_server(tmp):
    d = os.path.join(tmp, "node-server")
    os.mkdir(d)
    n = 200
    p = subprocess.Popen([LAUNCHER, "--json", "--log", os.path.join(d, "r.%p.jsonl"), "--",
                          "node", os.path.join(HERE, "node_server.js"), str(n)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env())
    line = wait_line(p, "port=")
    errors = 0
    if line:
        url = "http://127.0.0.1:%s/" % line.split("=", 1)[1]
        for _ in range(n):
            try:
                with urllib.request.urlopen(url, timeout=10) as resp:
                    errors += resp.read() != b"ok"
            except OSError:
                errors += 1
    try:
        p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
    exits = [x for rs in reports(d).values() for x in rs if x["reason"] == "exit"]
    if not check(line is not None and errors == 0 and p.returncode == 0 and len(exits) == 1,
                 "node-server: %d requests served, one exit report" % n,
                 "port %r, %d errors, exit %r, %d exit reports" % (line, errors, p.returncode, len(exits))):
        return
    x = exits[0]
    check(x["coverage"]["closed_behind_back"] == 0 and x["summary"]["closed"] >= n,
          "node-server: every close seen (closed_behind_back 0, %d closed)" % x["summary"]["closed"],
          repr((x["coverage"], x["summary"])))


def refused(tmp, name, prog, why):
    r = run([LAUNCHER, "--fail-on-leak", "--", prog, "marker"])
    check(r.returncode == 2 and r.stderr == "sockleak: %s %s; cannot check it (--fail-on-leak)\n" % (prog, why)
          and "ran" not in r.stdout, "%s: --fail-on-leak exits 2, cannot check" % name,
          "exit %d: %r %r" % (r.returncode, r.stdout, r.stderr))
    r = run([LAUNCHER, "--", prog, "marker"])
    check(r.returncode == 0 and r.stderr == "sockleak: %s %s; running it without sockleak\n" % (prog, why),
          "%s: a plain run says so in one line and runs it" % name, "exit %d: %r" % (r.returncode, r.stderr))


def static(tmp):
    cc = shutil.which("cc") or shutil.which("gcc")
    src = os.path.join(tmp, "static.c")
    with open(src, "w", encoding="utf-8") as f:
        f.write('#include <stdio.h>\n#include <sys/socket.h>\n#include <unistd.h>\n'
                'int main(void) { int s = socket(AF_INET, SOCK_STREAM, 0); (void)s; puts("ran"); return 0; }\n')
    prog = os.path.join(tmp, "static_prog")
    r = run([cc, "-static", "-o", prog, src]) if cc else None
    if r is None or r.returncode != 0:
        skip("static", "cannot link a static program (libc6-dev's libc.a)")
        return
    refused(tmp, "static", prog, "is statically linked: without a dynamic loader, nothing preloads the shim")


def setuid(tmp):
    if os.geteuid() != 0:
        skip("setuid", "needs root to make a set-user-ID program of another user")
        return
    top = tempfile.mkdtemp(prefix="sockleak-setuid-")
    try:
        os.chmod(top, 0o755)
        prog = shutil.copy(shutil.which("true"), os.path.join(top, "suid_true"))
        os.chown(prog, 65534, 65534)
        os.chmod(prog, 0o4755)
        refused(tmp, "setuid", prog, "is a set-user-ID or set-group-ID program of another user: the loader runs "
                "it in secure mode, which ignores LD_PRELOAD")
    finally:
        shutil.rmtree(top)


def main():
    if not os.path.exists(os.path.join(ROOT, "build", "libsockleak.so")):
        print("build/libsockleak.so missing: run make")
        return 2
    tmp = tempfile.mkdtemp(prefix="sockleak-runtimes-")
    try:
        classes = java_classes(tmp)
        if classes:
            java_dump(tmp, classes)
            java_clean(tmp, classes)
        else:
            skip("java", "java or javac missing (apt-get install openjdk-17-jdk-headless)")
        python_gate(tmp)
        if shutil.which("node"):
            node_client(tmp)
            node_server(tmp)
        else:
            skip("node", "node missing (apt-get install nodejs)")
        static(tmp)
        setuid(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("runtimes: %d passed, %d failed, %d skipped" % (counts["ok"], counts["FAIL"], counts["SKIP"]))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
