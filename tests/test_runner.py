#!/usr/bin/env python3
"""test_runner.py - tests/run_integration.py itself: a runner that passes what it did not
run, or hangs on a test that hangs, makes every other test worthless.

Each case is a made-up test in a temporary directory (its header, and an executable
shell script as its program) run by the real runner: a test without any check fails, a
REQUIRES that is not met skips with the reason and is counted, an unknown capability
fails, and a test that hangs fails at its TIMEOUT with everything it started killed.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNNER = os.path.join(ROOT, "tests", "run_integration.py")


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False


class Runner(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="sockleak-runner-")
        os.mkdir(os.path.join(self.tmp, "src"))
        os.mkdir(os.path.join(self.tmp, "bin"))

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def add(self, name, header, script="#!/bin/sh\necho hello=1\n"):
        with open(os.path.join(self.tmp, "src", name + ".c"), "w") as f:
            f.write(header + "\nint main(void) { return 0; }\n")
        prog = os.path.join(self.tmp, "bin", name)
        with open(prog, "w") as f:
            f.write(script)
        os.chmod(prog, 0o755)

    def run_all(self, *names):
        p = subprocess.run([sys.executable, RUNNER, "--srcdir", os.path.join(self.tmp, "src"), "--bindir",
                            os.path.join(self.tmp, "bin"), "--lib", "/nonexistent/libsockleak.so"] + list(names),
                           capture_output=True, text=True, timeout=120)
        return p.returncode, p.stdout

    def test_a_test_that_checks_nothing_fails(self):
        self.add("nothing", "// EXIT: 0")
        rc, out = self.run_all("nothing")
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL [shim] nothing", out)
        self.assertIn("no EXPECT, CHECK or STDOUT line", out)

    def test_unmet_requires_skip_with_the_reason_and_are_counted(self):
        self.add("needs_tool", "// REQUIRES: sockleak-no-such-tool\n// STDOUT: ^hello=1$")
        self.add("plain", "// STDOUT: ^hello=1$")
        rc, out = self.run_all("needs_tool", "plain")
        self.assertEqual(rc, 0, out)
        self.assertIn("SKIP [shim] needs_tool (needs sockleak-no-such-tool (not on PATH))", out)
        self.assertIn("PASS [shim] plain", out)
        self.assertTrue(out.rstrip().endswith("1 passed, 0 failed, 1 skipped"), out)

    def test_several_requirements_on_a_line_are_all_checked(self):
        self.add("two", "// REQUIRES: sh, sockleak-no-such-tool\n// STDOUT: ^hello=1$")
        rc, out = self.run_all("two")
        self.assertIn("SKIP [shim] two (needs sockleak-no-such-tool (not on PATH))", out)
        self.assertEqual(rc, 0, out)

    def test_root_requirement(self):
        self.add("as_root", "// REQUIRES: root\n// STDOUT: ^hello=1$")
        rc, out = self.run_all("as_root")
        if os.geteuid() == 0:
            self.assertIn("PASS [shim] as_root", out)
        else:
            self.assertIn("SKIP [shim] as_root (needs root)", out)

    def test_an_unknown_capability_fails_rather_than_skips(self):
        self.add("typo", "// REQUIRES: CAP_SYS_RESOURCES\n// STDOUT: ^hello=1$")
        rc, out = self.run_all("typo")
        self.assertEqual(rc, 1, out)
        self.assertIn("unknown capability CAP_SYS_RESOURCES", out)

    def test_a_hang_fails_and_its_process_group_is_killed(self):
        pidfile = os.path.join(self.tmp, "child.pid")
        self.add("hang", "// TIMEOUT: 1\n// RUN: sleep 300 & echo $! > %s ; sleep 300\n// STDOUT: never" % pidfile)
        t0 = time.time()
        rc, out = self.run_all("hang")
        self.assertLess(time.time() - t0, 60)
        self.assertEqual(rc, 1, out)
        self.assertIn("timed out after 1s: process group killed", out)
        with open(pidfile) as f:
            child = int(f.read())
        for _ in range(100):  # killed; reaped by whoever inherited it
            if not alive(child):
                break
            time.sleep(0.05)
        else:
            os.kill(child, 9)
            self.fail("the hung test's background child %d is still running" % child)

    def test_the_summary_line(self):
        self.add("ok", "// STDOUT: ^hello=1$")
        self.add("bad", "// STDOUT: ^hello=2$")
        rc, out = self.run_all("ok", "bad")
        self.assertEqual(rc, 1)
        self.assertRegex(out, re.compile(r"^1 passed, 1 failed, 0 skipped$", re.M))


if __name__ == "__main__":
    unittest.main()
