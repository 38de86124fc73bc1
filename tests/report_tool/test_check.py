"""check: the CI gate, each process's last report against the limits."""
import json
import os

from shim_reports import R, ToolTest
from sockleak_report.check import leaked_count
from sockleak_report.reading import load


class Check(ToolTest):
    def test_a_leak_fails_naming_the_process_and_its_worst_stack(self):
        rc, out, _err = self.run_tool("check", R.path("leaky"))
        self.assertEqual(rc, 1)
        d = R.last("leaky")
        self.assertEqual(out, "sockleak check: FAIL: leaky_client (pid %d): 3 leaked sockets, more than 0 allowed; "
                              "worst: 3 at fetch_user (leaky_client.c:89) [stack %s] (exit report, %s:1)\n"
                         % (d["pid"], d["groups"][0]["stack"], R.path("leaky")))

    def test_no_leak_passes(self):
        rc, out, _err = self.run_tool("check", R.path("fixed"))
        self.assertEqual(rc, 0)
        self.assertEqual(out, "sockleak check: OK: 1 report of 1 process, at most 0 leaked (limit 0)\n")

    def test_max_leaked_allows_that_many(self):
        self.assertEqual(self.run_tool("check", "--max-leaked", "3", R.path("leaky"))[0], 0)
        self.assertEqual(self.run_tool("check", "--max-leaked", "2", R.path("leaky"))[0], 1)

    def test_max_live(self):
        rc, out, _err = self.run_tool("check", "--max-leaked", "9", "--max-live", "2", R.path("leaky"))
        self.assertEqual(rc, 1)
        self.assertIn(": 3 live sockets, more than 2 allowed; most: 3 at fetch_user (", out)
        rc, out, _err = self.run_tool("check", "--max-leaked", "9", "--max-live", "3", R.path("leaky"))
        self.assertEqual(rc, 0)
        self.assertIn(", at most 3 live (limit 3)", out)

    def test_every_process_is_checked(self):
        rc, out, _err = self.run_tool("check", "--max-leaked", "0", R.path("leaky"), R.path("fixed"))
        self.assertEqual(rc, 1)
        self.assertEqual(out.count("FAIL"), 1)

    def test_a_leak_closed_later_still_fails_the_gate(self):
        rc, out, _err = self.run_tool("check", R.path("closed_late"))  # flagged by the first, closed by the last
        self.assertEqual(rc, 1, out)
        self.assertIn("1 leaked socket (1 of them closed later), more than 0 allowed", out)

    def test_every_report_of_a_process_counts(self):
        # a runtime that closed its leaked sockets at shutdown without the shim seeing
        # them flagged: the earlier report had 3 leaked, the last none
        first = R.last("leaky")
        last = json.loads(json.dumps(first))
        last["summary"]["leaked"] = last["summary"]["leaked_closed"] = 0
        f = self.write("two.jsonl", first, last)
        rc, out, _err = self.run_tool("check", f)
        self.assertEqual(rc, 1, out)
        self.assertIn("3 leaked sockets", out)

    def test_no_report_is_an_error_unless_no_report_ok(self):
        pattern = os.path.join(self.dir, "none.%p.jsonl")
        self.assertEqual(self.run_tool("check", pattern)[0], 2)
        rc, out, _err = self.run_tool("check", "--no-report-ok", pattern)
        self.assertEqual((rc, out), (0, "sockleak check: OK: no report to check\n"))

    def test_usage_errors_are_status_2(self):
        f = R.path("leaky")
        self.assertEqual(self.run_tool("check", "--max-leaked", "-1", f)[0], 2)
        rc, _out, err = self.run_tool("check", "--max-leaked", "lots", f)
        self.assertEqual(rc, 2)
        self.assertIn("argument --max-leaked: 'lots' is not a count", err)
        self.assertEqual(self.run_tool("check")[0], 2)
        self.assertEqual(self.run_tool("frobnicate", f)[0], 2)
        self.assertEqual(self.run_tool()[0], 2)

    def test_leaked_and_closed_later_counts_as_the_contract_says(self):
        # the exit report of closed_late: the socket an earlier report found leaked is closed since
        d = R.last("closed_late")
        self.assertEqual((d["summary"]["leaked"], d["summary"]["leaked_closed"]), (0, 1))
        f = self.write("r.jsonl", d)
        self.assertEqual(leaked_count(load([f])[0]), 1)
        rc, out, _err = self.run_tool("check", f)
        self.assertEqual(rc, 1)
        self.assertIn(": 1 leaked socket (1 of them closed later), more than 0 allowed", out)
        self.assertEqual(self.run_tool("check", "--max-leaked", "1", f)[0], 0)
