"""dump: a report asked through the shim's control socket, where it went, and one the
process could not write, written by dump; with --signal, which signal the shim in a
running process listens to, checked before sending it; and SOCKLEAK_OPTIONS and signal
names read as the shim reads them."""
import io
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from shim_reports import SHIM, R, ToolTest
from sockleak_report import dump
from sockleak_report.errors import Usage
from sockleak_report.shimopts import option_value, options, parse_signal, quote_value, signal_name


class Options(ToolTest):
    def test_pairs_split_on_colons_and_white_space(self):
        self.assertEqual(options("a=1:b=2 c=3\td=4\n"), [("a", "1"), ("b", "2"), ("c", "3"), ("d", "4")])

    def test_the_last_occurrence_wins(self):
        self.assertEqual(option_value("dump_signal=USR1:dump_signal=USR2", "dump_signal"), "USR2")

    def test_quoted_values_hold_separators(self):
        self.assertEqual(option_value("log_path='/a b:c':x=1", "log_path"), "/a b:c")
        self.assertEqual(option_value('log_path="it\'s"', "log_path"), "it's")

    def test_text_that_is_not_key_value_is_skipped(self):
        self.assertEqual(options("junk:a=1"), [("a", "1")])

    def test_an_unterminated_quote_ends_the_parse(self):
        self.assertEqual(options("a=1:b='x:c=3"), [("a", "1")])

    def test_an_absent_key_gives_the_default(self):
        self.assertIsNone(option_value("", "format"))
        self.assertEqual(option_value("a=1", "format", "text"), "text")

    def test_quote_value_round_trips(self):
        for v in ("/plain", "/a:b", "/a b", "it's", 'say "hi"', "'x"):
            self.assertEqual(option_value("k=" + quote_value(v), "k"), v, v)
        self.assertIsNone(quote_value("both ' and \""))


class Signals(ToolTest):
    def test_names_numbers_and_realtime_signals(self):
        for s, n in (("USR2", 12), ("SIGUSR2", 12), ("usr2", 12), ("12", 12), ("POLL", 29), ("IO", 29),
                     ("SIGRTMIN+4", signal.SIGRTMIN + 4), ("RTMAX-2", signal.SIGRTMAX - 2),
                     ("RTMAX", signal.SIGRTMAX), ("none", 0), ("0", 0)):
            self.assertEqual(parse_signal(s), n, s)

    def test_signals_the_shim_never_borrows_and_nonsense_are_refused(self):
        for s in ("KILL", "9", "SIGSEGV", "STOP", "bogus", "65", "RTMIN+99", "RTMIN-1", "RTMAX+1", "", "-12"):
            self.assertIsNone(parse_signal(s), s)

    @unittest.skipUnless(shutil.which("bash"), "needs bash (kill -l is the reference)")
    def test_names_are_those_of_kill_l(self):
        nums = [n for n in range(1, signal.SIGRTMAX + 1) if n not in (32, 33)]
        out = subprocess.run(["bash", "-c", "for n in %s; do kill -l $n; done" % " ".join(map(str, nums))],
                             capture_output=True, text=True, check=True).stdout.split()
        self.assertEqual([signal_name(n) for n in nums], out)


def ready(pid, comm, sockets):
    """Has pid exec'd (its environment is the new one) and opened that many sockets?"""
    try:
        with open("/proc/%d/comm" % pid, encoding="utf-8") as f:
            if f.read().strip() != comm:
                return False
        fds = "/proc/%d/fd" % pid
        return sum(os.readlink(os.path.join(fds, x)).startswith("socket:") for x in os.listdir(fds)) >= sockets
    except OSError:
        return False


class Process:
    """A real process for dump to look at: kinds (it opens sockets) under the shim, or a
    plain sleep; environment as given."""

    def __init__(self, options=None, shim=True, seconds=3):
        env = dict(os.environ)
        env.pop("SOCKLEAK_OPTIONS", None)
        env.pop("LD_PRELOAD", None)
        if options is not None:
            env["SOCKLEAK_OPTIONS"] = options
        if shim:
            env["LD_PRELOAD"] = SHIM
        argv = [os.path.join(R.programs, "kinds"), str(seconds * 1000)] if shim else ["sleep", str(seconds)]
        self.p = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.p.pid
        deadline = time.monotonic() + 10
        while not self.ready(os.path.basename(argv[0]), 7 if shim else 0) and time.monotonic() < deadline:
            time.sleep(0.02)

    def ready(self, comm, sockets):
        return ready(self.pid, comm, sockets)

    def stop(self):
        self.p.kill()
        self.p.wait()


class Dump(ToolTest):
    def process(self, *args, **kwargs):
        p = Process(*args, **kwargs)
        self.addCleanup(p.stop)
        return p

    def dump(self, *argv):
        """(status, stdout, stderr) of the launcher's dump."""
        return self.run_process("_dump", *argv)

    def test_the_signal_the_environment_names(self):
        p = self.process("report_at_exit=0:dump_signal=SIGRTMIN+4", shim=False)
        self.assertEqual(dump.target_signal(p.pid), signal.SIGRTMIN + 4)

    def test_sigusr2_when_the_shim_is_preloaded_without_dump_signal(self):
        self.assertEqual(dump.target_signal(self.process("report_at_exit=0").pid), 12)
        self.assertEqual(dump.target_signal(self.process(None).pid), 12)

    def test_sigusr2_when_the_value_is_one_the_shim_refuses(self):
        self.assertEqual(dump.target_signal(self.process("dump_signal=KILL", shim=False).pid), 12)

    def test_disabled_dumps(self):
        self.assertEqual(dump.target_signal(self.process("dump_signal=none", shim=False).pid), 0)

    def test_unknown_without_options_or_preload(self):
        self.assertEqual(dump.target_signal(self.process(None, shim=False).pid), dump.UNKNOWN)

    def test_the_shim_is_seen_in_the_maps(self):
        self.assertTrue(dump.maps_shim(self.process("report_at_exit=0").pid))
        self.assertFalse(dump.maps_shim(self.process(None, shim=False).pid))

    def test_a_process_under_the_shim_catches_its_dump_signal(self):
        self.assertTrue(dump.catches(self.process("report_at_exit=0").pid, 12))
        self.assertFalse(dump.catches(self.process(None, shim=False).pid, 12))

    def wait_for(self, path):
        deadline = time.monotonic() + 10
        while not (os.path.exists(path) and os.path.getsize(path)) and time.monotonic() < deadline:
            time.sleep(0.05)
        with open(path, encoding="utf-8") as f:
            return f.read()

    def test_a_process_is_asked_through_its_control_socket(self):
        log = os.path.join(self.dir, "r.%p.jsonl")
        p = self.process("format=json:report_at_exit=0:log_path=" + log, seconds=2)
        path = log.replace("%p", str(p.pid))
        rc, out, err = self.dump(p.pid)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "sockleak: %d (kinds): report written to %s\n" % (p.pid, path))
        with open(path, encoding="utf-8") as f:  # written before the answer
            self.assertIn('"reason":"dump"', f.read())
        self.assertIsNone(p.p.poll())  # alive

    def test_a_report_the_process_cannot_write_is_printed(self):
        # neither the process nor dump can create a file in a directory that is not there:
        # the report came back over the socket, and is printed rather than lost
        log = os.path.join(self.dir, "gone", "r.%p.jsonl")
        p = self.process("format=json:report_at_exit=0:log_path=" + log, seconds=2)
        rc, out, _err = self.dump(p.pid)
        self.assertEqual(rc, 0)
        first, rest = out.split("\n", 1)
        self.assertEqual(first, "sockleak: %d (kinds): neither it nor sockleak dump can write %s (No such file or "
                                "directory; No such file or directory); a copy went to its stderr; the report follows"
                         % (p.pid, log.replace("%p", str(p.pid))))
        r = json.loads(rest.splitlines()[-1])
        self.assertEqual((r["pid"], r["reason"]), (p.pid, "dump"))

    @unittest.skipUnless(os.geteuid() == 0, "needs root (a process of another user)")
    def test_a_report_is_written_for_a_process_that_dropped_privileges(self):
        top = tempfile.mkdtemp(prefix="sockleak-dump-")  # one nobody may enter (the tests' own is 0700)
        self.addCleanup(shutil.rmtree, top)
        os.chmod(top, 0o755)
        prog = shutil.copy(os.path.join(R.programs, "kinds"), top)
        locked = os.path.join(top, "locked")
        os.mkdir(locked, 0o755)  # root's: the process, as nobody, cannot create its file there
        log = os.path.join(locked, "r.%p.jsonl")
        env = dict(os.environ, SOCKLEAK_OPTIONS="format=json:report_at_exit=0:log_path=" + log, LD_PRELOAD=SHIM)
        p = subprocess.Popen([prog, "3000"], env=env, user=65534, group=65534,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(p.wait)
        self.addCleanup(p.kill)
        deadline = time.monotonic() + 10
        while not ready(p.pid, "kinds", 7) and time.monotonic() < deadline:
            time.sleep(0.02)
        path = log.replace("%p", str(p.pid))
        rc, out, err = self.dump(p.pid)
        self.assertEqual((rc, err), (0, ""))
        self.assertEqual(out, "sockleak: %d (kinds): report written to %s by sockleak dump (the process cannot write "
                              "there: Permission denied; a copy went to its stderr)\n" % (p.pid, path))
        st = os.stat(path)
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (65534, 0o600))  # the process's, for its next reports
        with open(path, encoding="utf-8") as f:
            self.assertEqual(json.loads(f.read())["reason"], "dump")

    def test_a_process_without_a_socket_has_no_control_socket(self):
        p = self.process("report_at_exit=0", shim=False)
        rc, _out, err = self.dump("--force", p.pid)  # --force: past the maps check (a plain sleep)
        self.assertEqual(rc, 1)
        self.assertIn("%d (sleep): no control socket: its shim has not started its thread" % p.pid, err)

    def test_a_process_is_asked_by_its_signal(self):
        log = os.path.join(self.dir, "r.%p.jsonl")
        p = self.process("format=json:report_at_exit=0:log_path=" + log, seconds=2)
        rc, out, err = self.dump("--signal", "USR2", p.pid)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out, "sockleak: asked %d (kinds) for a report with SIGUSR2 (written where its log_path "
                              "says)\n" % p.pid)
        self.assertIn('"reason":"signal"', self.wait_for(log.replace("%p", str(p.pid))))

    def test_a_process_without_the_shim_is_refused(self):
        p = self.process(None, shim=False)
        rc, _out, err = self.dump(p.pid)
        self.assertEqual(rc, 1)
        self.assertEqual(err, "sockleak: %d (sleep) does not run the shim (no libsockleak in /proc/%d/maps); not "
                              "asking it (--force to insist)\n" % (p.pid, p.pid))
        self.assertIsNone(p.p.poll())  # alive

    def test_disabled_dumps_are_refused(self):
        p = self.process("report_at_exit=0:dump_signal=none")
        rc, _out, err = self.dump("--signal", "USR2", p.pid)
        self.assertEqual(rc, 1)
        self.assertIn("has dumps disabled (dump_signal=none in its SOCKLEAK_OPTIONS)", err)

    def test_another_signal_than_the_process_listens_for_is_refused(self):
        p = self.process("report_at_exit=0")
        rc, _out, err = self.dump("--signal", "SIGRTMIN+3", p.pid)
        self.assertEqual(rc, 1)
        self.assertIn("(kinds) listens for SIGUSR2, not SIGRTMIN+3; not signalling it", err)

    def test_force_sends_without_checking(self):
        p = self.process(None, shim=False)
        rc, _out, err = self.dump("--force", "--signal", "USR1", p.pid)
        self.assertEqual(rc, 0, err)
        self.assertEqual(p.p.wait(timeout=10), -signal.SIGUSR1)  # --force: sent, and sleep died of it

    def test_no_such_process(self):
        rc, _out, err = self.dump("999999999")
        self.assertEqual((rc, err), (1, "sockleak: 999999999: no such process\n"))

    def test_usage_errors(self):
        for argv, msg in (([], "which process? give one or more PIDs"), (["-x", "1"], "unknown option '-x'"),
                          (["0x1"], "'0x1' is not a process id"), (["--signal"], "--signal needs a value"),
                          (["--signal", "KILL", "1"], "'KILL' is not a signal the shim can use"),
                          (["--signal=none", "1"], "--signal none sends nothing")):
            with self.assertRaises(Usage) as cm:
                dump.dump_command(argv, io.StringIO())
            self.assertEqual(str(cm.exception), "sockleak: dump: %s (see 'sockleak --help')" % msg)
