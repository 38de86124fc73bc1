"""render --format markdown: a report for a ticket, with names that never format."""
import re

from shim_reports import R, ToolTest
from sockleak_report.markdown import md_code, md_fence, md_text, render_markdown
from sockleak_report.reading import load


def render(name, top=10):
    return render_markdown(load([R.path(name)])[0], top)


def cells(row):
    """The cells of a GFM table row: split on pipes not escaped by a backslash."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row)[1:-1]]


class Escaping(ToolTest):
    def test_a_code_span_holds_backticks(self):
        self.assertEqual(md_code("a`b"), "`` a`b ``")
        self.assertEqual(md_code("plain"), "`plain`")

    def test_text_that_could_format_is_escaped_but_not_underscores_inside_words(self):
        self.assertEqual(md_text("CLOSE_WAIT _x *y* [l](u) <b>"), "CLOSE_WAIT \\_x \\*y\\* \\[l\\](u) \\<b\\>")

    def test_a_fence_is_longer_than_any_inside(self):
        self.assertEqual(md_fence(["a ``` b"])[0], "````")

    def test_a_cxx_operator_pipe_does_not_split_a_table_cell(self):
        sym = self.dir + "/sym.jsonl"
        rc, _out, err = self.run_process("symbolize", "--debug-dir", R.debug_dir, "-o", sym, R.path("cxx_stripped"))
        self.assertEqual(rc, 0, err)
        md = render_markdown(load([sym])[0], 10)
        rows = [x for x in md.splitlines() if "operator" in x and x.startswith("| `")]
        self.assertEqual(len(rows), 1, md)
        self.assertEqual(len(cells(rows[0])), 5, rows[0])
        self.assertIn("`operator\\|(Flags, Flags)`", rows[0])
        self.assertIn("in operator|(Flags, Flags) ", md)  # in a fence, as it is

    def test_environment_values_are_code(self):
        md = render("leaky")
        self.assertIn("| program | `leaky_client` |", md.splitlines())


class Sections(ToolTest):
    def test_title_tables_and_frames(self):
        md = render("leaky")
        lines = md.splitlines()
        d = R.last("leaky")
        sid = d["groups"][0]["stack"]
        self.assertRegex(lines[0], r"^## sockleak: 3 sockets stuck in CLOSE_WAIT for \S+, opened at `fetch_user` "
                                   r"\(leaky\\?_client\.c:89\); end-of-file read at `read\\?_line` "
                                   r"\(leaky\\?_client\.c:45\)$")
        for x in ("| state | count |", "| CLOSE_WAIT | 3 |", "### Top leaking stacks",
                  "| fingerprint | leaked | live | oldest CLOSE_WAIT | opened at | end-of-file read at |",
                  "### Environment",
                  "| reason | `exit` |", "| close_wait_after | `0ms` |", "```"):
            self.assertIn(x, lines)
        self.assertTrue(any(x.startswith("| `%s` | 3 | 3 | " % sid) for x in lines), md)
        self.assertIn("#### `%s`: 3 leaked of 3 live, opened by socket()" % sid, lines)

    def test_the_totals_sentence(self):
        md = render("kinds")
        self.assertRegex(md, r"\n`kinds` \(pid \d+\): exit report at \S+, after \S+\. 7 live sockets, 1 in CLOSE_WAIT, "
                             r"\*\*2 leaked\*\* \(CLOSE_WAIT for 0ms or more\), 1 listening, 1 ignored ")

    def test_growth_table(self):
        md = render("growth")
        self.assertIn("### Growing since the previous report (", md)
        row = [x for x in md.splitlines() if x.startswith("| `") and "| +5 | -1 | +4 |" in x]
        self.assertEqual(len(row), 1, md)
        self.assertIn("`leaky` (growth.c:", row[0])

    def test_closed_late_table(self):
        md = render("closed_late")
        self.assertIn("### Leaked, then closed later", md)
        self.assertRegex(md, r"\n\| \d+ \| max_age \| \S+ after the report \| \S+ \| `slow_path` "
                             r"\(closed\\?_late\.c:\d+\) \|\n")

    def test_double_closes(self):
        md = render("double_close")
        self.assertIn("### Double closes", md)
        self.assertRegex(md, r"Double close of a socket already closed \(1 time, e\.g\. fd \d+\), at:\n\n```\n#0 .* in "
                             r"close\\?_again")

    def test_suppressions_table(self):
        self.assertIn("| `function:pool_*` | 2 |", render("suppressed").splitlines())

    def test_an_emfile_report_says_so_under_the_title(self):
        md = render_markdown(load([R.path("emfile")], every=True)[0], 10)
        self.assertRegex(md.splitlines()[2], r"^\*\*Out of file descriptors \(EMFILE\): \d+ open, limit 64\.\*\*$")

    def test_reports_are_separated_by_a_rule(self):
        rc, out, _err = self.run_tool("render", "--format", "markdown", R.path("fork_one_file"))
        self.assertEqual(rc, 0)
        self.assertEqual(out.count("\n---\n\n## sockleak: "), len(R.reports("fork_one_file")) - 1)
