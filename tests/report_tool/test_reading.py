"""Reading reports: JSON Lines files and stdin, the last report per process or --all,
%p patterns, --since and --pid, and lines that are not reports."""
import os

from shim_reports import R, ToolTest
from sockleak_report.errors import Failure
from sockleak_report.reading import MAX_BAD_LINES, load
from sockleak_report.values import parse_time


def lines_of(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n") for line in f]


class Reading(ToolTest):
    def test_the_last_report_of_each_process_in_a_file(self):
        reps = load([R.path("fork_one_file")])
        want = {d["pid"]: d["reason"] for d in R.reports("fork_one_file")}
        self.assertEqual(sorted(r.pid for r in reps), sorted(want))

    def test_the_last_report_of_a_process_that_wrote_two(self):
        reps = load([R.path("growth")])
        self.assertEqual([r.reason for r in reps], ["exit"])

    def test_all_takes_every_report(self):
        reps = load([R.path("growth")], every=True)
        self.assertEqual([r.reason for r in reps], ["api", "exit"])

    def test_the_same_pid_in_two_files_is_two_processes(self):
        a = self.write("host-a.jsonl", *lines_of(R.path("leaky")))
        b = self.write("host-b.jsonl", *lines_of(R.path("leaky")))
        reps = load([a, b])
        self.assertEqual(len(reps), 2)
        self.assertEqual(reps[0].pid, reps[1].pid)

    def test_percent_p_stands_for_the_file_of_every_process(self):
        reps = load([R.pattern("fork_tree")])
        self.assertEqual(len(reps), len(R.files("fork_tree")))

    def test_a_file_named_with_percent_p_is_read_as_it_is(self):
        path = self.write("x%p.jsonl", *lines_of(R.path("leaky")))
        self.assertEqual(len(load([path])), 1)

    def test_percent_p_matching_nothing_is_an_error_unless_none_is_ok(self):
        pattern = os.path.join(self.dir, "none.%p.jsonl")
        with self.assertRaises(Failure):
            load([pattern])
        self.assertEqual(load([pattern], none_ok=True), [])

    def test_bad_lines_are_named_with_file_and_line_and_skipped(self):
        real = lines_of(R.path("leaky"))[0]
        f = self.write("r.jsonl", "garbage", "", real[: len(real) // 2], "[1, 2]", '{"tool": "other"}', real,
                       "==5==sockleak: a text report line")
        rc, out, err = self.run_tool("check", "--max-leaked", "99", f)
        self.assertEqual(rc, 0, err)
        for n in (1, 3, 4, 5, 7):
            self.assertIn("%s:%d: skipped: " % (f, n), err)
        self.assertNotIn("%s:2:" % f, err)  # a blank line is no error
        self.assertIn("1 report of 1 process", out)

    def test_many_bad_lines_are_counted_not_listed(self):
        f = self.write("r.jsonl", *(["nope"] * 20 + lines_of(R.path("leaky"))))
        rc, _out, err = self.run_tool("render", f)
        self.assertEqual(rc, 0)
        self.assertEqual(err.count("skipped: not JSON"), MAX_BAD_LINES)
        self.assertIn("15 more bad lines skipped", err)

    def test_the_shims_text_report_is_not_a_report_for_the_tool(self):
        rc, _out, err = self.run_tool("render", R.path("leaky_text"))
        self.assertEqual(rc, 2)
        self.assertIn("no sockleak report in %s" % R.path("leaky_text"), err)

    def test_an_unreadable_file_is_one_line_and_status_2(self):
        rc, _out, err = self.run_tool("check", os.path.join(self.dir, "absent.jsonl"))
        self.assertEqual(rc, 2)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("No such file or directory", err)

    def test_invalid_utf8_is_replaced_not_fatal(self):
        path = os.path.join(self.dir, "r.jsonl")
        line = lines_of(R.path("leaky"))[0].replace('"program":"leaky_client"', '"program":"leaky_\udcff"')
        with open(path, "wb") as f:
            f.write(line.encode("utf-8", "surrogateescape") + b"\n")
        rc, out, _err = self.run_tool("render", path)
        self.assertEqual(rc, 0)
        self.assertIn("exit of leaky_\ufffd (pid", out)

    def test_stdin(self):
        with open(R.path("leaky"), "rb") as f:
            data = f.read()
        rc, out, _err = self.run_tool("check", "--max-leaked", "99", "-", stdin=data)
        self.assertEqual(rc, 0)
        self.assertIn("sockleak check: OK: 1 report of 1 process", out)

    def test_stdin_given_twice_is_an_error(self):
        rc, _out, err = self.run_tool("check", "-", "-", stdin=b"")
        self.assertEqual(rc, 2)
        self.assertIn("'-' (stdin) given more than once", err)

    def test_since_keeps_the_reports_written_at_or_after_it(self):
        api, end = R.reports("growth")
        reps = load([R.path("growth")], every=True, since=parse_time(end["timestamp"]))
        self.assertEqual([r.reason for r in reps], ["exit"])
        reps = load([R.path("growth")], every=True, since=parse_time(api["timestamp"]))
        self.assertEqual(len(reps), 2)

    def test_since_wants_an_rfc3339_time(self):
        rc, _out, err = self.run_tool("check", "--since", "yesterday", R.path("leaky"))
        self.assertEqual(rc, 2)
        self.assertIn("is not an RFC 3339 time", err)

    def test_pid_keeps_one_process(self):
        pid = R.reports("fork_one_file")[1]["pid"]
        reps = load([R.path("fork_one_file")], pids=[pid])
        self.assertEqual([r.pid for r in reps], [pid])

    def test_a_report_has_the_shims_pid_program_and_reason(self):
        d = R.last("leaky")
        rep = load([R.path("leaky")])[0]
        self.assertEqual((rep.pid, rep.program, rep.reason, rep.timestamp),
                         (d["pid"], "leaky_client", "exit", d["timestamp"]))
        self.assertEqual(rep.where_from(), "%s:1" % R.path("leaky"))

    def test_the_summary_is_the_shims(self):
        d = R.last("kinds")
        s = load([R.path("kinds")])[0].summary()
        for k in ("live", "close_wait", "leaked", "listening", "ignored", "opened", "closed"):
            self.assertEqual(s[k], d["summary"][k], k)

    def test_leaked_closed_is_zero_when_the_report_does_not_say(self):
        d = R.last("leaky")
        d["summary"].pop("leaked_closed", None)  # (a shim that does not write it)
        self.assertEqual(load([self.write("r.jsonl", d)])[0].summary()["leaked_closed"], 0)

    def test_a_summary_without_counts_is_completed_from_the_groups(self):
        d = R.last("leaky")
        del d["summary"]
        rep = load([self.write("r.jsonl", d)])[0]
        self.assertEqual((rep.summary()["live"], rep.summary()["leaked"]), (3, 3))
