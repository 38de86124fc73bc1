#!/usr/bin/env python3
"""check.py - the systemd drop-in of examples/systemd, as far as it can be tried here.

systemd does not run as PID 1 in the test sandbox, so no unit is started. What runs:
  - `systemd-analyze verify` on a small unit with examples/systemd/sockleak.conf as its
    drop-in: no warning, and the loaded unit (its debug dump) has the environment the
    service would get, with the %%p escapes turned into the shim's %p, and LogsDirectory;
  - that environment, taken from the dump, given to a real process (a small service) with
    the paths moved into a temporary directory (the library, /var/log/sockleak, and
    /dev/log, replaced by a datagram socket bound by this script): the options parse
    without a warning, `sockleak dump PID` (the drop-in's report trigger) gets a report
    into PID.jsonl, the exit report follows, and each report sends one syslog line.
Prints one line per check and "N passed, N failed" (SKIP without systemd-analyze).
"""
import glob
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
results = []


def check(name, ok, detail=""):
    results.append(ok)
    print("%s [systemd] %s" % ("PASS" if ok else "FAIL", name))
    if not ok and detail:
        print("  " + str(detail).replace("\n", "\n  ")[:3000])


def main():
    if not shutil.which("systemd-analyze"):
        print("SKIP [systemd] systemd-analyze missing\nsystemd: 0 passed, 0 failed, 1 skipped")
        return 0
    tmp = tempfile.mkdtemp(prefix="sockleak-systemd-")
    try:
        return run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp):
    unit = os.path.join(tmp, "demo.service")
    with open(unit, "w") as f:
        f.write("[Unit]\nDescription=a service run under sockleak\n\n[Service]\nExecStart=/bin/sleep 1000\n")
    os.mkdir(unit + ".d")
    shutil.copy(os.path.join(ROOT, "examples", "systemd", "sockleak.conf"), unit + ".d")
    v = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, cwd=tmp)
    check("systemd-analyze verify: the unit with the drop-in loads without a warning",
          v.returncode == 0 and not v.stdout.strip() and not v.stderr.strip(), v.stdout + v.stderr)
    d = subprocess.run(["systemd-analyze", "verify", unit], capture_output=True, text=True, cwd=tmp,
                       env=dict(os.environ, SYSTEMD_LOG_LEVEL="debug"))
    dump = d.stdout + d.stderr
    env = dict(re.findall(r"^\s*Environment: (\w+)=(.*)$", dump, re.M))
    opts = env.get("SOCKLEAK_OPTIONS", "")
    check("the service's SOCKLEAK_OPTIONS keeps the shim's %p (written %%p)",
          "log_path=/var/log/sockleak/%p.jsonl" in opts, opts or dump[-2000:])
    check("LD_PRELOAD points at the installed library", env.get("LD_PRELOAD") == "/usr/local/lib/libsockleak.so",
          env)
    check("LogsDirectory=sockleak", re.search(r"^\s*LogsDirectory: sockleak$", dump, re.M) is not None)

    # the same environment, paths moved into tmp, on a real process
    logs = os.path.join(tmp, "log", "sockleak")
    os.makedirs(logs)
    devlog = os.path.join(tmp, "dev-log")
    rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    rx.bind(devlog)
    rx.settimeout(5)
    opts = opts.replace("/var/log/sockleak", logs).replace("syslog=1", "syslog=" + devlog)
    opts += ":close_wait_after=200ms:scan_interval=100ms"  # the example's leaks are young
    penv = dict(os.environ, SOCKLEAK_OPTIONS=opts, LD_PRELOAD=os.path.join(ROOT, "build", "libsockleak.so"))
    # the service: holds a connected unix socket pair and sleeps (Python's sleep goes on
    # after the dump signal's handler, as a service's main loop would)
    service = "import socket, time; a, b = socket.socketpair(); print('up', flush=True); time.sleep(2)"
    p = subprocess.Popen([sys.executable, "-c", service], env=penv, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    p.stdout.readline()
    time.sleep(0.3)
    dump_cmd = subprocess.run([os.path.join(ROOT, "scripts", "sockleak"), "dump", str(p.pid)], capture_output=True,
                              text=True)
    check("sockleak dump MAINPID asks the service for a report", dump_cmd.returncode == 0,
          dump_cmd.stdout + dump_cmd.stderr)
    out, err = p.communicate(timeout=20)
    check("the options parse without a warning", "sockleak:" not in err, err)
    reports = []
    for f in glob.glob(os.path.join(logs, "*.jsonl")):
        reports += [json.loads(line) for line in open(f)]
    reasons = [r["reason"] for r in reports if r["pid"] == p.pid]
    check("reports in /var/log/sockleak/PID.jsonl: the dump's, then the exit's", reasons == ["dump", "exit"],
          "%s\n%s" % (reasons, os.listdir(logs)))
    check("the dump's report lists the service's socket pair",
          len(reports) == 2 and reports[0]["summary"]["live"] >= 2, reports[:1] and reports[0]["summary"])
    lines = []
    try:
        while len(lines) < 2:
            lines.append(rx.recv(4096).decode())
    except socket.timeout:
        pass
    rx.close()
    want = "sockleak[%d]: %s (pid %d): " % (p.pid, os.path.basename(sys.executable), p.pid)
    check("one syslog line per report, naming the report file",
          len(lines) == 2 and all(want in x for x in lines) and ("%s/%d.jsonl" % (logs, p.pid)) in lines[-1],
          "\n".join(lines))
    passed = sum(results)
    print("systemd: %d passed, %d failed" % (passed, len(results) - passed))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
