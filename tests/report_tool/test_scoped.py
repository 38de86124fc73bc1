"""Scoped reports (sockleak_report_since: "checkpoint"): the sockets made since a
checkpoint and still open, a part of a process's sockets. The scoped run writes a whole
report, then two scoped ones (2 leaked of 4; then none), and no exit report."""
import json

from shim_reports import R, ToolTest
from sockleak_report.reading import load
from sockleak_report.text import render_text


def reports():
    return load([R.path("scoped")], every=True)


class Render(ToolTest):
    def test_the_scoped_headlines_are_the_shims(self):
        cp = [r.checkpoint for r in reports()]
        self.assertEqual(cp[0], None)
        heads = [render_text(r, 10).splitlines()[0].split("==", 2)[2] for r in reports()]
        self.assertRegex(heads[1], r"^sockleak: 4 sockets left open since checkpoint %d, opened at leak_in_test "
                                   r"\(scoped\.c:\d+\) and elsewhere; end-of-file read at read_reply \(scoped\.c:\d+\)$"
                         % cp[1])
        self.assertEqual(heads[2], "sockleak: no socket made since checkpoint %d is still open" % cp[2])

    def test_a_stack_not_leaked_was_left_open_since_the_checkpoint(self):
        out = render_text(reports()[1], 10)
        self.assertRegex(out, r"\n1 live socket, left open since the checkpoint, opened by socket\(\):\n"
                              r"    #0 0x[0-9a-f]+ in keep_open ")
        self.assertIn("\n1 live socket, left open since the checkpoint, accepted:\n", out)

    def test_without_all_a_process_is_its_last_whole_report(self):
        rc, out, err = self.run_tool("render", R.path("scoped"))
        self.assertEqual(rc, 0, err)
        self.assertRegex(out.splitlines()[0], r"^==\d+==sockleak: 1 socket stuck in CLOSE_WAIT for \S+, opened at "
                                              r"early_conn ")
        self.assertEqual(out.count("==sockleak: "), 1)
        self.assertEqual(self.run_tool("render", "--all", R.path("scoped"))[1].count("==sockleak: "), 3)

    def test_markdown_says_it_is_scoped(self):
        rc, out, err = self.run_tool("render", "--all", "--format", "markdown", R.path("scoped"))
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"\n## sockleak: 4 sockets left open since checkpoint \d+, opened at `leak_in_test`")
        self.assertRegex(out, r"A scoped report \(sockleak\\_report\\_since\): only the sockets made since "
                              r"checkpoint \d+ and still open\.")
        self.assertRegex(out, r"\n#### `[0-9a-f]{16}`: 1 live, left open since the checkpoint, accepted\n")


class Verdicts(ToolTest):
    def test_check_takes_the_whole_report_not_a_scoped_one(self):
        rc, out, _err = self.run_tool("check", "--max-leaked", "1", R.path("scoped"))
        self.assertEqual((rc, out), (0, "sockleak check: OK: 1 report of 1 process, at most 1 leaked (limit 1)\n"))

    def test_check_all_checks_the_scoped_reports_too(self):
        rc, out, _err = self.run_tool("check", "--all", "--max-leaked", "1", R.path("scoped"))
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"FAIL: scoped \(pid \d+\): 2 leaked sockets, more than 1 allowed; worst: 2 at "
                              r"leak_in_test \(scoped\.c:\d+\) \[stack [0-9a-f]{16}\] \(api report since checkpoint "
                              r"\d+, \S+:2\)")

    def test_a_process_that_wrote_only_scoped_reports_is_checked_by_them(self):
        with open(R.path("scoped"), encoding="utf-8") as f:
            lines = f.read().splitlines()
        rc, out, _err = self.run_tool("check", "--max-leaked", "1", self.write("scoped.jsonl", *lines[1:]))
        self.assertEqual(rc, 1)
        self.assertIn(": 2 leaked sockets, more than 1 allowed", out)

    def test_merge_sums_whole_reports(self):
        rc, out, err = self.run_tool("merge", "--json", R.path("scoped"))
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual((doc["reports"], doc["live"], doc["leaked"]), (1, 2, 1))
        rc, out, err = self.run_tool("merge", "--json", "--all", R.path("scoped"))
        self.assertEqual((json.loads(out)["reports"], json.loads(out)["leaked"]), (3, 3))

    def test_diff_of_one_file_compares_whole_reports(self):
        rc, _out, err = self.run_tool("diff", R.path("scoped"))
        self.assertEqual(rc, 2)
        self.assertIn("holds one whole report: nothing to compare it with; give two files (or --all: its 2 scoped "
                      "reports too)", err)
        rc, out, err = self.run_tool("diff", "--all", R.path("scoped"))
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"\n               B = scoped \(pid \d+\), api report since checkpoint \d+ at ")
