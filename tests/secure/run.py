#!/usr/bin/env python3
"""run.py - sockleak under secure execution (setuid programs).

A setuid-root program run by `nobody` is in secure-execution mode (AT_SECURE): ld.so
ignores LD_PRELOAD paths with a slash and preloads by name only libraries in the
standard directories that have the set-user-ID bit. So this check (root only; it is
run by CI through `make check-secure`) installs a copy of the shim as
/usr/lib/<multiarch>/libsockleak-securetest-PID.so, mode 4755, and a setuid-root copy of
tests/secure/secure_prog in a temporary directory, runs it as nobody with
SOCKLEAK_OPTIONS asking for JSON reports in a file, for another dump signal and a huge
stack depth, and checks that the shim is loaded and ignores the environment (secure_getenv):
the reports are the default text on stderr, the dump signal is the default SIGUSR2, and no
file appears. It removes both copies afterwards. Exits non-zero on failure.
"""
import glob
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def main():
    if os.geteuid() != 0:
        print("SKIP [secure] needs root (to install a setuid library and program)")
        return 0
    lib = os.path.join(ROOT, "build", "libsockleak.so")
    prog = os.path.join(ROOT, "build", "tests", "secure_prog")
    multiarch = sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu"
    libdir = "/usr/lib/" + multiarch
    name = "libsockleak-securetest-%d.so" % os.getpid()
    installed = os.path.join(libdir, name)
    tmp = tempfile.mkdtemp(prefix="sockleak-secure-")
    failures = []
    try:
        os.chmod(tmp, 0o755)
        shutil.copy(lib, installed)
        os.chmod(installed, 0o4755)
        sprog = os.path.join(tmp, "secure_prog")
        shutil.copy(prog, sprog)
        os.chown(sprog, 0, 0)
        os.chmod(sprog, 0o4755)
        env = {"PATH": "/usr/bin:/bin", "LD_PRELOAD": name,
               "SOCKLEAK_OPTIONS": "format=json:log_path=%s/report.%%p.jsonl:dump_signal=SIGUSR1:stack_depth=2:verbose=1"
                                   % tmp,
               "TMPDIR": tmp}
        p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sprog], env=env,
                           capture_output=True, text=True, timeout=60)
        print("stdout: " + p.stdout.strip())
        print("stderr (%d lines): %s" % (len(p.stderr.splitlines()), p.stderr.splitlines()[:2]))
        m = re.search(r"secure=(\d+) euid=(\d+) uid=(\d+) socket=(-?\d+) api=(-?\d+) shim=(\d)", p.stdout)
        if p.returncode != 0 or not m:
            failures.append("the program failed (status %d)" % p.returncode)
        else:
            secure, euid, uid, sock, api, shim = map(int, m.groups())
            if secure != 1 or euid != 0 or uid == 0:
                failures.append("not in secure-execution mode (AT_SECURE=%d euid=%d uid=%d)" % (secure, euid, uid))
            if shim != 1 or api != 0:
                failures.append("the shim was not loaded by name from %s (api=%d)" % (libdir, api))
        reports = re.findall(r"^==\d+==report: (\w+) of secure_prog", p.stderr, re.M)
        if sorted(reports) != ["api", "exit", "signal"]:
            failures.append("expected text reports for api, signal and exit on stderr, got %s" % reports)
        if '"tool":"sockleak"' in p.stderr:
            failures.append("a JSON report: SOCKLEAK_OPTIONS was read")
        if "active in secure_prog" in p.stderr:
            failures.append("verbose=1 was applied: SOCKLEAK_OPTIONS was read")
        frames = re.findall(r"^    #\d+ ", p.stderr, re.M)
        if len(frames) < 3 * 3:
            failures.append("stack_depth=2 was applied: SOCKLEAK_OPTIONS was read")
        left = sorted(os.listdir(tmp))
        if left != ["secure_prog"]:
            failures.append("files appeared: %s" % left)
    finally:
        for f in glob.glob(os.path.join(libdir, "libsockleak-securetest-*.so")):
            os.unlink(f)
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL: " + f)
    print("check-secure: %s" % ("FAILED" if failures else "passed: options ignored under secure execution"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
