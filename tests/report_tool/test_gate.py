"""The --fail-on-leak gate: where a run's reports go, then the reports shown as asked and
the verdict (the launcher runs the command in between)."""
import io
import json
import os

from shim_reports import R, ToolTest, example, run_under_shim
from sockleak_report import gate
from sockleak_report.errors import Failure
from sockleak_report.shimopts import option_value


class Start(ToolTest):
    def test_reports_go_as_json_to_the_directory_after_the_users_options(self):
        opts = gate.start("close_wait_after=1s:format=text", self.dir)
        self.assertTrue(opts.startswith("close_wait_after=1s:format=text:"), opts)
        self.assertEqual(option_value(opts, "format"), "json")
        self.assertEqual(option_value(opts, "log_path"), os.path.join(self.dir, "sockleak.%p.jsonl"))

    def test_a_directory_with_a_colon_is_quoted_for_the_shim(self):
        d = os.path.join(self.dir, "a:b")
        os.mkdir(d)
        opts = gate.start("", d)
        self.assertIn("log_path='%s/sockleak.%%p.jsonl'" % d, opts)
        self.assertEqual(option_value(opts, "log_path"), os.path.join(d, "sockleak.%p.jsonl"))

    def test_a_directory_the_shim_cannot_read_is_an_error(self):
        d = os.path.join(self.dir, "a'b\"c d")
        os.mkdir(d)
        with self.assertRaises(Failure):
            gate.start("", d)

    def test_the_users_own_json_file_is_used(self):
        mine = os.path.join(self.dir, "mine.%p.jsonl")
        opts = "format=json:log_path=" + mine
        self.assertEqual(gate.start(opts, self.dir), opts)

    def test_json_to_stderr_still_goes_to_the_directory(self):
        opts = gate.start("format=json", self.dir)
        self.assertEqual(option_value(opts, "log_path"), os.path.join(self.dir, "sockleak.%p.jsonl"))


class Finish(ToolTest):
    def gate(self, user_opts, argv, max_leaked=0):
        """Run argv as `sockleak [user options] --fail-on-leak` would: (status, stdout, stderr)."""
        opts = gate.start(user_opts, self.dir)
        run_under_shim(opts, argv)
        out, err = io.StringIO(), io.StringIO()
        rc = gate.finish(self.dir, max_leaked, out, err)
        return rc, out.getvalue(), err.getvalue()

    def test_a_leak_fails_and_the_text_report_is_shown_on_stderr(self):
        rc, out, err = self.gate("close_wait_after=0", [example("leaky_client"), "5", "0"])
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertRegex(err, r"^==\d+==sockleak: 3 sockets stuck in CLOSE_WAIT for \S+, opened at fetch_user \(")
        self.assertRegex(err, r"\nsockleak check: FAIL: leaky_client \(pid \d+\): 3 leaked sockets, more than 0 "
                              r"allowed; worst: 3 at fetch_user")

    def test_no_leak_passes(self):
        rc, _out, err = self.gate("close_wait_after=0", [example("fixed_client"), "5", "0"])
        self.assertEqual(rc, 0)
        self.assertTrue(err.endswith("sockleak check: OK: 1 report of 1 process, at most 0 leaked (limit 0)\n"), err)

    def test_max_leaked(self):
        rc, _out, err = self.gate("close_wait_after=0", [example("leaky_client"), "5", "0"], max_leaked=3)
        self.assertEqual(rc, 0, err)

    def test_text_to_stdout(self):
        rc, out, err = self.gate("close_wait_after=0:log_path=stdout", [example("leaky_client"), "5", "0"])
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"^==\d+==sockleak: 3 sockets stuck")
        self.assertNotIn("==sockleak", err)

    def test_text_into_the_log_file_per_process(self):
        log = os.path.join(self.dir, "log.%p.txt")
        rc, _out, err = self.gate("close_wait_after=0:log_path=" + log, [example("leaky_client"), "5", "0"])
        self.assertEqual(rc, 1)
        written = [f for f in os.listdir(self.dir) if f.startswith("log.")]
        self.assertEqual(len(written), 1)
        with open(os.path.join(self.dir, written[0]), encoding="utf-8") as f:
            self.assertIn("3 sockets stuck in CLOSE_WAIT", f.read())
        self.assertNotIn("==sockleak", err)

    def test_json_reports_are_copied(self):
        rc, out, err = self.gate("close_wait_after=0:format=json:log_path=stdout", [example("leaky_client"), "5", "0"])
        self.assertEqual(rc, 1)
        self.assertEqual(json.loads(out.splitlines()[0])["program"], "leaky_client")
        self.assertIn("sockleak check: FAIL", err)

    def test_a_command_that_never_opened_a_socket_passes(self):
        rc, _out, err = self.gate("", ["true"])
        self.assertEqual((rc, err), (0, "sockleak check: OK: no report to check\n"))

    def test_in_the_users_own_file_only_the_reports_of_this_run_count(self):
        mine = os.path.join(self.dir, "mine.jsonl")
        with open(R.path("leaky"), encoding="utf-8") as f, open(mine, "w", encoding="utf-8") as out:
            out.write(f.read())  # an earlier run's leaks, in the same file
        rc, _out, err = self.gate("close_wait_after=0:format=json:log_path=" + mine,
                                  [example("fixed_client"), "5", "0"])
        self.assertEqual(rc, 0, err)
        self.assertIn("sockleak check: OK: 1 report of 1 process", err)

    def test_finish_without_start_is_an_error(self):
        with self.assertRaises(Failure):
            gate.finish(self.dir, 0, io.StringIO(), io.StringIO())
