#!/usr/bin/env python3
"""run_integration.py - run sockleak's integration tests: real programs under the shim.

Each test is one small program in tests/integration/ (built by `make` into
build/tests/integration/<name>) whose header comments say how to run it and what its
report must say, in the style of LLVM's lit/FileCheck:

  // OPTIONS: close_wait_after=200ms      SOCKLEAK_OPTIONS for the run (the runner adds
                                          format=json and a log_path in a fresh directory)
  // FORMAT: text                         ask for text reports instead (CHECK lines apply)
  // RUN: %t arg1 arg2                    the command (default: %t); a shell line.
                                          %t program, %lib shim, %preload the LD_PRELOAD
                                          value (sanitizer runtime + shim), %B build dir,
                                          %T temp dir, %sockleak the launcher
  // ENV: NAME=value                      extra environment
  // EXIT: 3                              expected exit status (default 0)
  // EXPECT: <python expression>          must be true; see the names below
  // CHECK: <regex>                       text reports: lines matched in order
  // CHECK-NOT: <regex>                   ... and this must not match anywhere
  // STDOUT: <regex>                      the program's stdout must match
  // TIMEOUT: 30                          seconds (default 30); when it runs out, the whole
                                          process group is killed and the test fails
  // REQUIRES: root, CAP_SYS_RESOURCE, setpriv
                                          what the test needs (several on a line, or several
                                          lines): root (euid 0), a capability in the runner's
                                          effective set (CAP_*), or a program on PATH. Without
                                          it the test is not run: SKIP, with the reason
  // ASAN: skip                           not run with the ASan build of the shim
  // PRELOAD: launcher                    the RUN lines use scripts/sockleak: the runner sets
                                          no LD_PRELOAD/SOCKLEAK_OPTIONS of its own, only
                                          SOCKLEAK_LIB (and the ASan runtime first)

Names available to EXPECT expressions:
  reports   every JSON report written, in order (list of dicts)
  r         the exit report of the main process (the process the runner started)
  mine      reports of the main process;  others: reports of other processes
  out, err  the program's stdout and stderr;  rc its exit status;  pid its pid
  sock(fd, rep=r)        the socket entry for fd (None if absent)
  stack(id, rep=r)       the frames of a stack id
  fn(sock_or_stack_id, i=0, rep=r)   function name of frame i of a socket's stack
  fns(sock_or_stack_id, rep=r)       all function names of that stack
  fds(rep=r)             set of reported fds
  v("name")              the integer the program printed as name=N on stdout
  j("name")              the JSON value the program printed on a line name=<json>
  truth(rep=r)           sorted [fd, inode] pairs of the reported sockets
  text                   the text report(s) concatenated (FORMAT: text)
  readf("name")          the contents of a file the RUN lines wrote in %T ("" if absent)
  jsonl("name")          the JSON objects of a JSON Lines file in %T (e.g. symbolize's output)
  version                the contents of the top-level VERSION file
A test must check something: a program without any EXPECT, CHECK or STDOUT line fails
(it would pass whatever it did). A test never prints the values its checks expect when
it cannot run: it says what it needs with REQUIRES and is skipped.
Prints one line per test (PASS, FAIL or SKIP [build] name (reason)) and a final
"N passed, N failed, N skipped".
--asan runs the tests with the ASan+UBSan build of the shim (the ASan runtime preloaded
first), --tsan with the ThreadSanitizer build (the TSan runtime preloaded after it; the
environment's TSAN_OPTIONS, if set, replace the runner's); a sanitizer report on stderr
fails the test. --bindir takes the test programs from elsewhere (built with TSan, say);
--srcdir the test sources (tests/test_runner.py tests the runner on its own).
"""
import argparse
import concurrent.futures
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = os.path.join(ROOT, "tests", "integration")
with open(os.path.join(ROOT, "VERSION"), encoding="utf-8") as _f:
    VERSION = _f.read().strip()


def parse_directives(path):
    d = {"options": [], "run": [], "env": {}, "exit": 0, "expect": [], "check": [], "check_not": [],
         "stdout": [], "timeout": 30, "format": "json", "asan": "run", "preload": "runner", "requires": []}
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"\s*//\s*([A-Z-]+):\s?(.*)$", line)
            if not m:
                continue
            key, val = m.group(1), m.group(2).rstrip()
            if key == "OPTIONS":
                d["options"].append(val)
            elif key == "RUN":
                d["run"].append(val)
            elif key == "ENV":
                k, _, v = val.partition("=")
                d["env"][k.strip()] = v.strip()
            elif key == "EXIT":
                d["exit"] = int(val)
            elif key == "EXPECT":
                d["expect"].append(val)
            elif key == "CHECK":
                d["check"].append(val)
            elif key == "CHECK-NOT":
                d["check_not"].append(val)
            elif key == "STDOUT":
                d["stdout"].append(val)
            elif key == "TIMEOUT":
                d["timeout"] = int(val)
            elif key == "FORMAT":
                d["format"] = val.strip()
            elif key == "ASAN":
                d["asan"] = val.split()[0] if val.split() else "run"
            elif key == "PRELOAD":
                d["preload"] = val.strip()
            elif key == "REQUIRES":
                d["requires"] += [x for x in re.split(r"[\s,]+", val) if x]
    return d


# capability numbers (linux/capability.h), for REQUIRES: CAP_*
CAPS = ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
        "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
        "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
        "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
        "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
        "CHECKPOINT_RESTORE"]


def effective_caps():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    return 0


def unmet(requires):
    """The reason a test's REQUIRES are not met here, or None. Raises ValueError for an
    unknown capability name (a typo must not turn into a silent skip)."""
    missing = []
    for req in requires:
        if req == "root":
            if os.geteuid() != 0:
                missing.append("root")
        elif req.startswith("CAP_"):
            if req[4:] not in CAPS:
                raise ValueError("REQUIRES: unknown capability %s" % req)
            if not effective_caps() >> CAPS.index(req[4:]) & 1:
                missing.append(req)
        elif not shutil.which(req):
            missing.append(req + " (not on PATH)")
    return "needs " + ", ".join(missing) if missing else None


def kill_group(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Ctx:
    """The names EXPECT expressions see."""

    def __init__(self, reports, main_pid, out, err, rc, text, tmp=None):
        self.tmp = tmp
        self.reports = reports
        self.pid = main_pid
        self.mine = [x for x in reports if x.get("pid") == main_pid]
        self.others = [x for x in reports if x.get("pid") != main_pid]
        exits = [x for x in self.mine if x.get("reason") == "exit"]
        self.r = exits[-1] if exits else (self.mine[-1] if self.mine else None)
        self.out, self.err, self.rc, self.text = out, err, rc, text

    def names(self):
        ctx = self

        def sock(fd, rep=None):
            rep = rep or ctx.r
            for s in rep["sockets"]:
                if s["fd"] == fd:
                    return s
            return None

        def stack(sid, rep=None):
            rep = rep or ctx.r
            for s in rep["stacks"]:
                if s["id"] == sid:
                    return s["frames"]
            return None

        def _sid(x):
            return x["stack"] if isinstance(x, dict) else x

        def fns(x, rep=None):
            return [f["function"] for f in (stack(_sid(x), rep) or [])]

        def fn(x, i=0, rep=None):
            f = fns(x, rep)
            return f[i] if i < len(f) else None

        def fds(rep=None):
            return {s["fd"] for s in (rep or ctx.r)["sockets"]}

        def v(key):
            m = re.search(r"\b%s=(-?\d+)" % re.escape(key), ctx.out)
            if not m:
                raise KeyError("program printed no %s=N" % key)
            return int(m.group(1))

        def j(key):
            m = re.search(r"^%s=(.*)$" % re.escape(key), ctx.out, re.M)
            if not m:
                raise KeyError("program printed no %s=<json> line" % key)
            return json.loads(m.group(1))

        def readf(name):
            try:
                with open(os.path.join(ctx.tmp, name), encoding="utf-8", errors="replace") as f:
                    return f.read()
            except OSError:
                return ""

        def jsonl(name):
            return [json.loads(x) for x in readf(name).splitlines() if x.strip()]

        def truth(rep=None):
            """(fd, inode) of every reported socket, to compare with j("truth")."""
            return sorted([s["fd"], s["inode"]] for s in (rep or ctx.r)["sockets"])

        return {"reports": ctx.reports, "r": ctx.r, "mine": ctx.mine, "others": ctx.others, "out": ctx.out,
                "err": ctx.err, "rc": ctx.rc, "pid": ctx.pid, "text": ctx.text, "sock": sock, "stack": stack,
                "fn": fn, "fns": fns, "fds": fds, "v": v, "j": j, "truth": truth, "readf": readf, "jsonl": jsonl, "re": re, "json": json, "len": len, "any": any, "all": all,
                "version": VERSION, "sorted": sorted, "set": set, "min": min, "max": max, "sum": sum, "range": range, "int": int,
                "str": str, "list": list, "isinstance": isinstance, "dict": dict, "zip": zip, "enumerate": enumerate,
                "tuple": tuple}


def run_test(name, binary, lib, asan, keep, tsan=False, verify_unwinder=False):
    path = next(p for p in (os.path.join(SRC, name + ".c"), os.path.join(SRC, name + ".cc")) if os.path.exists(p))
    d = parse_directives(path)
    if not (d["expect"] or d["check"] or d["stdout"]):
        return name, "fail", ("  no EXPECT, CHECK or STDOUT line: a test that checks nothing would pass whatever the "
                              "program did (an exit status alone is checked with EXIT plus an EXPECT on its output)")
    try:
        why = unmet(d["requires"])
    except ValueError as e:
        return name, "fail", "  %s" % e
    if why:
        return name, "skip", why
    if asan and d["asan"] == "skip":
        return name, "skip", "not run with the ASan shim"
    tmp = tempfile.mkdtemp(prefix="sockleak-it-%s-" % name)
    try:
        ext = "jsonl" if d["format"] == "json" else "txt"
        log = os.path.join(tmp, "report.%p." + ext)
        opts = ["format=%s" % d["format"], "log_path=" + log] + d["options"]
        if verify_unwinder:  # every stack taken by both unwinders; none may differ
            opts.append("unwinder=verify")
        env = dict(os.environ)
        env.pop("SOCKLEAK_OPTIONS", None)
        env.update({"SOCKLEAK_OPTIONS": ":".join(opts), "SOCKLEAK_TEST_DIR": tmp, "SOCKLEAK_LIB": lib})
        preload = lib
        if asan:
            runtime = subprocess.run(["gcc", "-print-file-name=libasan.so"], capture_output=True,
                                     text=True).stdout.strip()
            preload = runtime + " " + lib
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0:exitcode=97:handle_segv=1"
            env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1:exitcode=98"
        if tsan:
            # the TSan runtime after the shim: loaded first, its initialization would call
            # the shim's (instrumented) sigaction before TSan is ready; after it, the
            # shim's calls to libc go through TSan's interceptors, as the host's do
            runtime = subprocess.run(["gcc", "-print-file-name=libtsan.so"], capture_output=True,
                                     text=True).stdout.strip()
            preload = lib + " " + runtime
            # die_after_fork=0: a fork child of a threaded process may start threads (ours);
            # ignore_interceptors_accesses=1: races are looked for in the shim's own
            # (instrumented) code, not in libc calls: TSan's fd tracking would report the
            # test programs' deliberate races on fd numbers, and symbolizing those reports
            # calls close() through the shim from inside TSan, which deadlocks
            env.setdefault("TSAN_OPTIONS", "halt_on_error=1:exitcode=66:die_after_fork=0:"
                                           "ignore_interceptors_accesses=1:second_deadlock_stack=1")
        for k, v in d["env"].items():
            env[k] = v.replace("%T", tmp).replace("%B", os.path.join(ROOT, "build"))
        env["LD_PRELOAD"] = preload if "LD_PRELOAD" not in d["env"] else d["env"]["LD_PRELOAD"].replace(
            "%lib", preload)
        if d["preload"] == "launcher":
            env.pop("SOCKLEAK_OPTIONS")
            if asan:
                env["LD_PRELOAD"] = preload.split()[0]
            else:
                env.pop("LD_PRELOAD")
        cmd = " ; ".join(d["run"]) if d["run"] else "%t"
        B = os.path.join(ROOT, "build")
        cmd = (cmd.replace("%sockleak", os.path.join(ROOT, "scripts", "sockleak")).replace("%t", binary).replace("%preload", preload).replace("%lib", lib).replace("%B", B)
               .replace("%T", tmp)
               .replace("%S", SRC))
        start = time.time()
        argv = ["/bin/sh", "-c", cmd] if d["run"] else [binary]  # no shell in between unless asked
        p = subprocess.Popen(argv, env=env, cwd=tmp,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = p.communicate(timeout=d["timeout"])
        except subprocess.TimeoutExpired:
            kill_group(p.pid)  # the program and everything it started (start_new_session)
            try:
                out, err = p.communicate(timeout=10)
                note = ""
            except subprocess.TimeoutExpired:  # a process that left the group holds stdout/stderr
                p.kill()
                p.wait()
                out, err = b"", b""
                note = " (a process outside its process group kept stdout/stderr open)"
            return name, "fail", "  timed out after %ds: process group killed%s\n  stdout: %s\n  stderr: %s" % (
                d["timeout"], note, out.decode(errors="replace")[-2000:], err.decode(errors="replace")[-3000:])
        finally:
            kill_group(p.pid)  # nothing the test started outlives it
        out = out.decode(errors="replace")
        err = err.decode(errors="replace")
        elapsed = time.time() - start
        if keep:  # the whole output, beside the reports
            for fname, data in (("stdout.txt", out), ("stderr.txt", err)):
                with open(os.path.join(tmp, fname), "w") as fh:
                    fh.write(data)
        problems = []
        if p.returncode != d["exit"]:
            problems.append("exit status %d, expected %d" % (p.returncode, d["exit"]))
        if asan and ("ERROR: AddressSanitizer" in err or "runtime error:" in err):
            problems.append("sanitizer error")
        if tsan and "ThreadSanitizer" in err:
            problems.append("ThreadSanitizer report")
        reports, text = [], ""
        for f in sorted(glob.glob(os.path.join(tmp, "report.*." + ext)), key=os.path.getmtime):
            with open(f, "rb") as fh:
                data = fh.read().decode("utf-8", errors="strict")
            if d["format"] == "json":
                for i, line in enumerate(data.splitlines()):
                    try:
                        reports.append(json.loads(line))
                    except ValueError as e:
                        problems.append("%s line %d is not JSON: %s" % (os.path.basename(f), i + 1, e))
            else:
                text += data
        if verify_unwinder:
            bad = [x for x in reports if x.get("coverage", {}).get("unwinder_mismatches")]
            if bad:
                problems.append("the fast unwinder and libunwind differed on %d stacks"
                                % sum(x["coverage"]["unwinder_mismatches"] for x in bad))
        # the main process: the one the shell exec'd (RUN lines may run several)
        main_pid = p.pid
        if d["run"]:
            pids = [x["pid"] for x in reports if x.get("reason") == "exit"]
            main_pid = pids[-1] if pids else p.pid
        ctx = Ctx(reports, main_pid, out, err, p.returncode, text, tmp)
        names = ctx.names()
        names["__builtins__"] = {}
        for e in d["expect"]:
            try:
                ok = eval(e, names)  # one namespace, so comprehensions see the helpers
            except Exception as ex:  # noqa: BLE001 - report any failure of the expression
                problems.append("EXPECT %s raised %s: %s" % (e, type(ex).__name__, ex))
                continue
            if not ok:
                problems.append("EXPECT %s is false" % e)
        pos = 0
        for c in d["check"]:
            m = re.compile(c, re.M).search(text, pos)
            if not m:
                problems.append("CHECK %r not found (after offset %d)" % (c, pos))
                break
            pos = m.end()
        for c in d["check_not"]:
            if re.search(c, text, re.M):
                problems.append("CHECK-NOT %r matched" % c)
        for c in d["stdout"]:
            if not re.search(c, out, re.M):
                problems.append("STDOUT %r not found" % c)
        if problems:
            detail = "\n".join("  " + x for x in problems)
            detail += "\n  command: %s\n  stdout: %s\n  stderr: %s" % (cmd, out[-2000:], err[-3000:])
            if reports:
                detail += "\n  report: %s" % json.dumps(ctx.r or reports[-1])[:4000]
            if text:
                detail += "\n  text report:\n%s" % text[-4000:]
            return name, "fail", detail
        return name, "pass", "%.1fs" % elapsed
    finally:
        if not keep:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    global SRC
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", default=os.path.join(ROOT, "build", "libsockleak.so"))
    ap.add_argument("--asan", action="store_true", help="the shim is the ASan+UBSan build")
    ap.add_argument("--tsan", action="store_true", help="the shim is the ThreadSanitizer build")
    ap.add_argument("--keep", action="store_true", help="keep temporary directories")
    ap.add_argument("--verify-unwinder", action="store_true",
                    help="run with unwinder=verify and fail a test whose reports count a stack where the fast "
                         "unwinder and libunwind differed")
    ap.add_argument("--bindir", default=os.path.join(ROOT, "build", "tests", "integration"),
                    help="where the test programs are (make check-tsan builds some with TSan elsewhere)")
    ap.add_argument("--srcdir", default=SRC, help="where the test sources are (default tests/integration)")
    ap.add_argument("-j", type=int, default=4)
    ap.add_argument("tests", nargs="*", help="names (default: all)")
    a = ap.parse_args()
    SRC = os.path.abspath(a.srcdir)
    lib = os.path.abspath(a.lib)
    names = a.tests or sorted({os.path.splitext(os.path.basename(p))[0]
                               for p in glob.glob(os.path.join(SRC, "*.c")) + glob.glob(os.path.join(SRC, "*.cc"))
                               if not os.path.basename(p).startswith("so_")})
    binaries = {n: os.path.join(os.path.abspath(a.bindir), n) for n in names}
    missing = [n for n, b in binaries.items() if not os.path.exists(b)]
    if missing:
        print("missing test programs (run make): " + ", ".join(missing))
        return 2
    passed = failed = skipped = 0
    label = "asan" if a.asan else "tsan" if a.tsan else "shim"
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.j) as pool:
        futs = [pool.submit(run_test, n, binaries[n], lib, a.asan, a.keep, a.tsan, a.verify_unwinder) for n in names]
        for f in concurrent.futures.as_completed(futs):
            name, status, detail = f.result()
            if status == "pass":
                passed += 1
                print("PASS [%s] %s (%s)" % (label, name, detail))
            elif status == "skip":
                skipped += 1
                print("SKIP [%s] %s (%s)" % (label, name, detail))
            else:
                failed += 1
                print("FAIL [%s] %s\n%s" % (label, name, detail))
            sys.stdout.flush()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
