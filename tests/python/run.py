#!/usr/bin/env python3
"""run.py - CPython's own socket-heavy regression tests, without and with the shim
(make check-python).

Runs `python3 -m test test_socket test_selectors test_socketserver test_os
test_subprocess -u network -i '*VSOCK*' --timeout 300 -j2` twice, once plain and once
with the shim preloaded (JSON reports to files, so nothing is added to any test's
stderr), and compares the outcome of every single test case (from --junit-xml), not
just the exit status: the shim must change none. A difference is retried (both ways,
that test case alone, twice) before it counts, so a test that is flaky without the
shim is reported as such and not blamed on the shim. Every report the test processes
wrote must parse. Prints both summaries and the differences; exits non-zero on one.

The interpreter: the real one behind `python3` (a pyenv shim script resolves to its
sys.executable), or /usr/bin/python3, whichever has the test package (on Debian 12 it
comes from the libpython3.11-testsuite package). The *VSOCK* tests are excluded: they
hang on machines with /dev/vsock and no VSOCK peer.
"""
import glob
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LIB = os.path.join(ROOT, "build", "libsockleak.so")
TESTS = ["test_socket", "test_selectors", "test_socketserver", "test_os", "test_subprocess"]
ARGS = ["-u", "network", "-i", "*VSOCK*", "--timeout", "300"]


def find_python():
    candidates = []
    try:
        exe = subprocess.run(["python3", "-c", "import sys; print(sys.executable)"], capture_output=True, text=True,
                             timeout=60).stdout.strip()
        if exe:
            candidates.append(os.path.realpath(exe))
    except (OSError, subprocess.TimeoutExpired):
        pass
    candidates += ["/usr/bin/python3"]
    for c in candidates:
        if os.path.exists(c) and subprocess.run([c, "-c", "import test.libregrtest, test.test_socket"],
                                                capture_output=True).returncode == 0:
            return c
    return None


def plain_env():
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "SOCKLEAK_OPTIONS"):
        env.pop(k, None)
    return env


def shim_env(logdir):
    env = plain_env()
    env["LD_PRELOAD"] = LIB
    env["SOCKLEAK_OPTIONS"] = "format=json:log_path=%s/py.%%p.jsonl" % logdir
    return env


def outcomes(xml_path):
    """test id -> passed | failure | error | skipped"""
    out = {}
    root = ET.parse(xml_path).getroot()
    for tc in root.iter("testcase"):
        name = tc.get("name", "")
        if tc.get("classname"):
            name = "%s.%s" % (tc.get("classname"), name)
        state = "passed"
        for child in tc:
            if child.tag in ("failure", "error", "skipped"):
                state = child.tag
        if tc.get("status") == "skipped":
            state = "skipped"
        out[name] = state
    return out


def can_hide_fds():
    """The shim keeps libunwind's pipe just above the soft RLIMIT_NOFILE, out of sight
    of scans up to sysconf(_SC_OPEN_MAX). With soft == hard it must raise the hard limit
    for a moment, which needs CAP_SYS_RESOURCE; without it the pipe sits below the
    limit, and a test listing its fds that way sees two more (README, Limits)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard or hard == resource.RLIM_INFINITY:
        return True
    p = subprocess.run([sys.executable, "-c", "import resource as r; h = r.getrlimit(r.RLIMIT_NOFILE)[1]; "
                        "r.setrlimit(r.RLIMIT_NOFILE, (h + 16, h + 16))"], capture_output=True)
    return p.returncode == 0


LOWER_SOFT = None  # set when the soft limit must be lowered for both runs


def lower_soft_limit():
    if LOWER_SOFT:
        resource.setrlimit(resource.RLIMIT_NOFILE, (LOWER_SOFT, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))


def run(py, env, tmp, label, tests=None, match=None, jobs=2):
    xml = os.path.join(tmp, "%s.xml" % label)
    argv = [py, "-m", "test"] + (tests or TESTS) + ARGS + ["--junit-xml", xml]
    if jobs > 1:
        argv += ["-j%d" % jobs]
    if match:
        argv += ["-m", match]
    t0 = time.time()
    p = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=tmp, timeout=3600,
                       preexec_fn=lower_soft_limit)
    took = time.time() - t0
    summary = []
    lines = (p.stdout + p.stderr).splitlines()
    for i, line in enumerate(lines):
        if line.startswith("== Tests result") or line.startswith("Total duration") or \
                line.startswith("Tests result:") or (" tests OK." in line) or " test failed" in line or \
                " tests failed" in line or "tests skipped" in line or line.startswith("Result:"):
            summary.append(line.strip())
    res = outcomes(xml) if os.path.exists(xml) else {}
    return p.returncode, res, summary, took, p.stdout + p.stderr


def main():
    if not os.path.exists(LIB):
        print("build/libsockleak.so is missing: run make")
        return 2
    py = find_python()
    if not py:
        print("check-python: no interpreter with the test package (apt-get install libpython3.11-testsuite)")
        return 2
    tmp = tempfile.mkdtemp(prefix="sockleak-py-")
    logdir = os.path.join(tmp, "reports")
    os.mkdir(logdir)
    global LOWER_SOFT
    try:
        print("interpreter: %s" % py)
        if not can_hide_fds():
            soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            LOWER_SOFT = hard - 32
            print("note: RLIMIT_NOFILE soft == hard (%d) and no CAP_SYS_RESOURCE here: the shim could not keep its\n"
                  "  pipe above the limit, and fd scans up to it would see two more fds (test_pass_fds_redirected\n"
                  "  would differ; README, Limits). Both runs use a soft limit of %d, as on a usual system\n"
                  "  (soft < hard)." % (hard, LOWER_SOFT))
        print("tests: %s %s -j2" % (" ".join(TESTS), " ".join(ARGS)))
        rc0, plain, sum0, t0, out0 = run(py, plain_env(), tmp, "plain")
        print("\nwithout the shim (%.0fs, exit status %d, %d test cases):" % (t0, rc0, len(plain)))
        for line in sum0:
            print("  " + line)
        rc1, shim, sum1, t1, out1 = run(py, shim_env(logdir), tmp, "shim")
        print("\nwith the shim (%.0fs, exit status %d, %d test cases):" % (t1, rc1, len(shim)))
        for line in sum1:
            print("  " + line)
        problems = []
        if not plain or not shim:
            problems.append("no per-test results (junit xml missing)")
            print((out0 if not plain else out1)[-3000:])
        diff = sorted(t for t in set(plain) | set(shim) if plain.get(t) != shim.get(t))
        confirmed, flaky = [], []
        for t in diff:
            # retry that test case alone, both ways, twice: is it the shim or a flaky test?
            mod = next((m for m in TESTS if t.startswith("test.%s." % m) or t.startswith("%s." % m)), None)
            method = t.rsplit(".", 1)[-1]
            if not mod:
                confirmed.append((t, plain.get(t), shim.get(t), "?"))
                continue
            again = {"plain": set(), "shim": set()}
            for i in range(2):
                for label, env in (("plain", plain_env()), ("shim", shim_env(logdir))):
                    _, res, _, _, _ = run(py, env, tmp, "retry-%s-%d" % (label, i), tests=[mod], match=method, jobs=1)
                    again[label].add(res.get(t, "missing"))
            if again["plain"] == again["shim"] and len(again["plain"]) == 1:
                flaky.append((t, plain.get(t), shim.get(t), "retried: %s both ways" % next(iter(again["plain"]))))
            elif len(again["plain"]) > 1 or (plain.get(t) not in again["plain"]):
                flaky.append((t, plain.get(t), shim.get(t), "flaky without the shim too: %s" % sorted(again["plain"])))
            else:
                confirmed.append((t, plain.get(t), shim.get(t), "retried: plain %s, shim %s" % (
                    sorted(again["plain"]), sorted(again["shim"]))))
        if rc0 != rc1 and confirmed:
            problems.append("exit status %d without the shim, %d with it" % (rc0, rc1))
        print("\n%d test cases; %d differ (%d confirmed on retry, %d flaky)" % (
            len(set(plain) | set(shim)), len(diff), len(confirmed), len(flaky)))
        for t, a, b, why in flaky:
            print("  flaky, not the shim: %s: %s / %s (%s)" % (t, a, b, why))
        for t, a, b, why in confirmed:
            print("  DIFFERS: %s: %s without the shim, %s with it (%s)" % (t, a, b, why))
            problems.append("%s differs" % t)
        bad, nrep, pids = 0, 0, set()
        for f in glob.glob(os.path.join(logdir, "*.jsonl")):
            with open(f, "rb") as fh:
                for line in fh.read().splitlines():
                    try:
                        pids.add(json.loads(line)["pid"])
                        nrep += 1
                    except ValueError:
                        bad += 1
        print("reports written by the test processes: %d from %d processes, %d lines that do not parse" % (
            nrep, len(pids), bad))
        if bad:
            problems.append("%d report lines do not parse" % bad)
        if nrep == 0:
            problems.append("no report at all: was the shim loaded?")
        print("check-python: %s" % ("FAILED: " + "; ".join(problems) if problems else
                                    "passed: the same outcome for every test case with the shim"))
        return 1 if problems else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
