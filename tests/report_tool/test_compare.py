"""diff (stacks ranked by growth from A to B) and merge (reports summed per stack)."""
import json

from shim_reports import R, ToolTest
from sockleak_report.compare import tally
from sockleak_report.frames import where
from sockleak_report.reading import load


def lines_of(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def function_of(rep, sid):
    return where(rep.stacks()[sid])[0]


class Diff(ToolTest):
    def test_one_file_compares_its_first_and_last_report(self):
        rc, out, err = self.run_tool("diff", "--json", R.path("growth"))
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        top = doc["stacks"][0]
        self.assertEqual((top["live_a"], top["live_b"], top["delta"], top["leaked_delta"]), (3, 7, 4, 0))
        self.assertTrue(top["opened_at"].startswith("leaky (growth.c:"), top)
        self.assertEqual((doc["a"]["live"], doc["b"]["live"], doc["live_delta"]), (3, 7, 4))

    def test_two_files(self):
        api, end = lines_of(R.path("growth"))
        rc, out, err = self.run_tool("diff", "--json", self.write("a.jsonl", api), self.write("b.jsonl", end))
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["stacks"][0]["delta"], 4)

    def test_text_names_the_most_grown_stack_and_its_frames(self):
        rc, out, err = self.run_tool("diff", R.path("growth"))
        self.assertEqual(rc, 0, err)
        self.assertIn("live +4 (3 -> 7), leaked +0 (0 -> 0)\n", out)
        self.assertRegex(out, r"\nMost grown: [0-9a-f]{16} \(\+4\), opened at:\n    #0 0x[0-9a-f]+ in leaky[ +]")

    def test_nothing_changed(self):
        rc, out, _err = self.run_tool("diff", R.path("leaky"), R.path("leaky"))
        self.assertEqual(rc, 0)
        self.assertIn("  no stack changed\n", out)
        self.assertIn("1 stack unchanged", out)

    def test_a_file_of_several_processes_needs_pid(self):
        rc, _out, err = self.run_tool("diff", R.path("fork_one_file"))
        self.assertEqual(rc, 2)
        self.assertIn("holds reports of 4 processes", err)
        pid = R.reports("fork_one_file")[0]["pid"]
        self.assertEqual(self.run_tool("diff", "--pid", pid, R.path("fork_one_file"))[0], 2)  # one report of it

    def test_one_report_has_nothing_to_compare_with(self):
        rc, _out, err = self.run_tool("diff", R.path("leaky"))
        self.assertEqual(rc, 2)
        self.assertIn("holds one report: nothing to compare it with", err)

    def test_three_files_are_a_usage_error(self):
        f = R.path("leaky")
        rc, _out, err = self.run_tool("diff", f, f, f)
        self.assertEqual(rc, 2)
        self.assertIn("give two reports (A B) or one file holding both", err)


class Merge(ToolTest):
    def test_a_socket_inherited_across_fork_is_counted_once(self):
        reps = load([R.pattern("fork_tree")])
        fn = {sid: function_of(r, sid) for r in reps for sid in r.stacks()}
        by_fn = {fn[sid]: x for sid, x in tally(reps).items()}
        self.assertEqual((by_fn["parent_socket"].live, len(by_fn["parent_socket"].procs)), (1, 4))
        self.assertEqual((by_fn["child_leak"].live, len(by_fn["child_leak"].procs)), (6, 3))

    def test_without_the_parents_report_each_child_counts_its_copy(self):
        pids = {d["pid"] for d in R.reports("fork_tree")}
        parent = [d["pid"] for d in R.reports("fork_tree") if d["ppid"] not in pids]  # (pids may wrap around)
        self.assertEqual(len(parent), 1)
        parent = parent[0]
        children = [f for f in R.files("fork_tree") if not f.endswith(".%d.jsonl" % parent)]
        rc, out, err = self.run_tool("merge", "--json", *children)
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual((doc["processes"], doc["live"]), (3, 6 + 3))

    def test_json_totals(self):
        rc, out, err = self.run_tool("merge", "--json", R.pattern("fork_tree"))
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual((doc["reports"], doc["processes"], doc["files"], doc["live"], doc["leaked"]), (4, 4, 4, 7, 0))
        self.assertEqual(doc["programs"], {"fork_tree": 4})
        self.assertEqual(sorted(x["live"] for x in doc["stacks"]), [1, 6])

    def test_leaked_stacks_come_first(self):
        rc, out, err = self.run_tool("merge", "--json", R.path("leaky"), R.path("fixed"))
        self.assertEqual(rc, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc["stacks"][0]["leaked"], 3)
        self.assertTrue(doc["stacks"][0]["opened_at"].startswith("fetch_user ("))

    def test_text(self):
        rc, out, err = self.run_tool("merge", R.pattern("fork_tree"))
        self.assertEqual(rc, 0, err)
        self.assertIn("sockleak merge: 4 reports from 4 processes of fork_tree (4) in 4 files\n", out)
        self.assertIn("total: 0 leaked sockets in 0 stacks; 7 live in 2 stacks\n", out)
        self.assertRegex(out, r"\n       0     6          3                 -  [0-9a-f]{16}  child_leak "
                              r"\(fork_tree\.c:")

    def test_markdown(self):
        rc, out, err = self.run_tool("merge", "--format", "markdown", R.pattern("fork_tree"))
        self.assertEqual(rc, 0, err)
        self.assertTrue(out.startswith("## sockleak merge: 0 leaked sockets in 0 stacks; 7 live in 2 stacks\n"))
        self.assertIn("| fingerprint | leaked | live | processes | worst CLOSE_WAIT | opened at |", out)
        self.assertRegex(out, r"\n\| `[0-9a-f]{16}` \| 0 \| 6 \| 3 \| - \| `child\\?_leak` "
                              r"\(fork\\?_tree\.c:\d+\) \|\n")
