"""Where sockets read end-of-file (eof_stack, eof_ms, unread_bytes): under each stack in
text and Markdown, per stack in diff and merge."""
import json
import re

from shim_reports import R, ToolTest
from sockleak_report.markdown import render_markdown
from sockleak_report.reading import load
from sockleak_report.text import render_text

PLACES = ["reader_a", "reader_b", "reader_c", "reader_d"]  # shown; reader_e (1 socket, the last read) is not


def text():
    return render_text(load([R.path("eof")])[0], 0)


class Text(ToolTest):
    def test_each_place_with_its_frames_most_sockets_first(self):
        out = text()
        found = re.findall(r"\n  end-of-file read at (\w+) \(eof_places\.c:\d+\), never closed \((\d+) sockets?, \S+ "
                           r"ago\):\n    #0 0x[0-9a-f]+ in (\w+) \S+eof_places\.c:\d+ ", out)
        self.assertEqual(found, [(p, n, p) for p, n in zip(PLACES, ["3", "2", "1", "1"])])

    def test_places_beyond_four_are_counted(self):
        self.assertIn("\n  end-of-file read in 1 more places\n", text())
        self.assertNotIn("reader_e", text())

    def test_sockets_that_never_read_it_and_their_bytes(self):
        self.assertIn("\n  end-of-file never read: 2 sockets, 200 bytes never read\n  states: CLOSE_WAIT 10\n",
                      text())

    def test_no_bytes_left_unread_says_no_bytes(self):
        self.assertRegex(render_text(load([R.path("leaky")])[0], 0), r"\n  end-of-file never read: 2 sockets\n")

    def test_the_headline_names_where_most_read_it(self):
        self.assertRegex(text().splitlines()[0], r"opened at serve \(eof_places\.c:\d+\); end-of-file read at "
                                                 r"reader_a \(eof_places\.c:\d+\)$")


class Markdown(ToolTest):
    def test_the_top_stacks_table_has_where_end_of_file_was_read(self):
        md = render_markdown(load([R.path("eof")])[0], 10)
        self.assertIn("| fingerprint | leaked | live | oldest CLOSE_WAIT | opened at | end-of-file read at |", md)
        self.assertRegex(md, r"\n\| `[0-9a-f]{16}` \| 10 \| 10 \| \S+ \| `serve` \(eof\\?_places\.c:\d+\) \| "
                             r"`reader_a` \(eof\\?_places\.c:\d+\) \|\n")

    def test_each_place_s_frames_in_a_fence(self):
        md = render_markdown(load([R.path("eof")])[0], 10)
        self.assertRegex(md, r"\nEnd-of-file read at `reader_a` \(eof\\?_places\.c:\d+\), never closed \(3 sockets, "
                             r"\S+ ago\):\n\n```\n#0 0x[0-9a-f]+ in reader_a ")
        self.assertIn("\nEnd-of-file read in 1 more places.\n", md)
        self.assertIn("\nEnd-of-file never read: 2 sockets, 200 bytes never read.\n", md)

    def test_a_report_without_end_of_file_reads_has_no_such_column(self):
        self.assertNotIn("end-of-file read at |", render_markdown(load([R.path("kinds")])[0], 10))


class Compare(ToolTest):
    def test_merge_says_where_each_stack_read_end_of_file_and_sums_unread_bytes(self):
        rc, out, err = self.run_tool("merge", "--json", R.path("eof"), R.path("leaky"))
        self.assertEqual(rc, 0, err)
        stacks = {x["opened_at"].split(" ")[0]: x for x in json.loads(out)["stacks"]}
        eof = stacks["serve"]
        self.assertEqual([(e["read_at"].split(" ")[0], e["sockets"]) for e in eof["eof"]],
                         [("reader_a", 3), ("reader_b", 2), ("reader_c", 1), ("reader_d", 1), ("reader_e", 1)])
        self.assertEqual((eof["eof_never"], eof["unread_bytes"]), (2, 200))
        self.assertTrue(stacks["fetch_user"]["eof_read_at"].startswith("read_line (leaky_client.c:"))
        self.assertEqual(eof["eof"][0]["frames"][0]["function"], "reader_a")

    def test_merge_text_and_markdown_show_the_place(self):
        rc, out, _err = self.run_tool("merge", R.path("eof"))
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"  opened at\s+end-of-file read at\n.* serve \(eof_places\.c:\d+\)\s+reader_a ")
        self.assertIn("\n  end-of-file never read: 2 sockets, 200 bytes never read\n", out)
        rc, out, _err = self.run_tool("merge", "--format", "markdown", R.path("eof"))
        self.assertRegex(out, r"\nEnd-of-file read at `reader_b` \(eof\\?_places\.c:\d+\), never closed \(2 sockets\):")

    def test_diff_shows_the_place_and_unread_bytes(self):
        rc, out, err = self.run_tool("diff", "--json", R.path("kinds"), R.path("eof"))
        self.assertEqual(rc, 0, err)
        top = json.loads(out)["stacks"][0]
        self.assertEqual((top["delta"], top["unread_bytes_a"], top["unread_bytes_b"]), (10, 0, 200))
        self.assertTrue(top["eof_read_at"].startswith("reader_a (eof_places.c:"), top)
        rc, out, _err = self.run_tool("diff", R.path("kinds"), R.path("eof"))
        self.assertRegex(out, r"\n  end-of-file read at reader_a \(eof_places\.c:\d+\), never closed \(3 sockets\):\n"
                              r"    #0 0x[0-9a-f]+ in reader_a ")
