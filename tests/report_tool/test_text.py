"""render (text): the shim's own text report, rebuilt from its JSON."""
import os
import re
import time

from shim_reports import MANY, R, ToolTest
from sockleak_report.reading import load
from sockleak_report.text import render_text


def masked(line):
    """A report line without what differs between two runs: pids, times, durations, ports,
    addresses (the module offsets stay)."""
    line = re.sub(r"==\d+==", "==PID==", line)
    line = re.sub(r"\(pid \d+\)", "(pid PID)", line)
    line = re.sub(r"\d{4}-\d\d-\d\dT[0-9:.]+Z", "TIME", line)
    line = re.sub(r"^(    #\d+) 0x[0-9a-f]+", r"\1 ADDR", line)
    line = re.sub(r"\b\d+(\.\d)?(ms|s)\b|\b\d+m\d\ds\b", "DURATION", line)
    return line.replace("DURATION to DURATION", "DURATION")


# the lines the tool writes as the shim does: headline, totals, each stack's first line,
# frames, where end-of-file was read, sockets closed late, suppressed, environment, SUMMARY
SAID = re.compile(r"^(==PID==(sockleak|report|suppressed|environment): |    #\d+ |  end-of-file |"
                  r"Leak of |\d+ live sockets?, |  \(\d+ more from the same place|"
                  r"Leaked, then closed later |  \d+ \(\w+, e\.g\. fd |  \.\.\. and more places|SUMMARY: )")


LANG_FRAME = re.compile(r" \((python|java|js)\)$")


def said(text, lang_only=False):
    """The masked lines of a text report that the tool must write as the shim does;
    lang_only: of the frames, only language frames (a JVM's native frames vary by run)."""
    out = [masked(x) for x in text.splitlines()]
    return [x for x in out if SAID.match(x) and not (lang_only and x.startswith("    #") and not LANG_FRAME.search(x))]


def render(name, top=10, every=False):
    return "".join(render_text(r, top) for r in load([R.path(name)], every=every))


def shim_text(name):
    R.need(name)
    with open(R.path(name), encoding="utf-8") as f:
        return f.read()


class TextLikeTheShims(ToolTest):
    def test_the_headline_totals_and_summary_read_as_the_shims(self):
        with open(R.path("leaky_text"), encoding="utf-8") as f:
            shim = [masked(x) for x in f.read().splitlines()]
        tool = [masked(x) for x in render("leaky").splitlines()]
        self.assertEqual(tool[:2], shim[:2])
        self.assertEqual(tool[-1], shim[-1])

    def test_where_end_of_file_was_read_reads_as_the_shims(self):
        tool, shim = said(render("eof", top=0)), said(shim_text("eof_text"))
        self.assertIn("  end-of-file read in 1 more places", shim)
        self.assertEqual(tool, shim)

    def test_a_python_program_s_reports_read_as_the_shims(self):
        R.need("python")
        tool, shim = said(render("python", top=0, every=True)), said(shim_text("python_text"))
        self.assertTrue(any(x.endswith(" (python)") for x in shim), shim)
        self.assertTrue(any("closed by the runtime's garbage collector" in x for x in shim), shim)
        self.assertEqual(tool, shim)

    def test_a_java_program_s_report_reads_as_the_shims(self):
        R.need("java")
        tool, shim = said(render("java", top=0), True), said(shim_text("java_text"), True)
        self.assertTrue(any(x.endswith(" (java)") for x in shim), shim)
        self.assertEqual(tool, shim)

    def test_scoped_reports_read_as_the_shims(self):
        tool, shim = said(render("scoped", top=0, every=True)), said(shim_text("scoped_text"))
        self.assertTrue(any(" left open since checkpoint " in x for x in shim), shim)
        self.assertEqual(tool, shim)

    def test_the_headline_names_the_function_and_source_line(self):
        first = render("leaky").splitlines()[0]
        self.assertRegex(first, r"^==\d+==sockleak: 3 sockets stuck in CLOSE_WAIT for \S+, opened at fetch_user "
                                r"\(leaky_client\.c:89\); end-of-file read at read_line \(leaky_client\.c:45\)$")

    def test_a_clean_exit_is_one_line_as_the_shim_writes_it(self):
        r = R.last("fixed")
        self.assertEqual(render("fixed"), "==%d==sockleak: no leaks in fixed_client: %d sockets opened, all closed\n"
                         % (r["pid"], r["summary"]["opened"]))

    def test_a_report_without_leaks_says_so(self):
        self.assertRegex(render("no_stacks").splitlines()[0],
                         r"^==\d+==sockleak: 7 live sockets, none leaked yet: 1 in CLOSE_WAIT for up to \S+ "
                         r"\(leaked after 5\.0s\)")


class Stacks(ToolTest):
    def test_a_stack_block_has_frames_states_fds_peers_and_its_id(self):
        out = render("leaky")
        d = R.last("leaky")
        self.assertRegex(out, r"\n    #0 0x[0-9a-f]+ in fetch_user examples/leaky_client\.c:89 \(\S+/leaky_client"
                              r"\+0x1537\)\n")
        self.assertIn("  states: CLOSE_WAIT 3\n", out)
        self.assertIn("  fds: %s\n" % " ".join(str(s["fd"]) for s in d["sockets"]), out)
        self.assertIn("  peers: %s (3)\n" % d["sockets"][0]["peer"], out)
        self.assertIn("  stack: %s\n" % d["groups"][0]["stack"], out)

    def test_top_limits_the_stacks_shown(self):
        out = render("kinds", top=2)
        self.assertEqual(out.count("  stack: "), 2)
        self.assertRegex(out, r"\n\.\.\. \d+ more stacks \(\d+ live, 0 leaked\) not shown; --top 0 shows all\n")

    def test_top_0_shows_every_stack(self):
        self.assertEqual(render("kinds", top=0).count("  stack: "), len(R.last("kinds")["groups"]))

    def test_mixed_leak_kinds_are_named(self):
        first = render("kinds").splitlines()[0]
        self.assertIn("2 leaked sockets (1 in CLOSE_WAIT, 1 with the peer gone), opened at open_client (kinds.c:",
                      first)
        self.assertTrue(first.endswith(" and elsewhere"), first)

    def test_without_stacks_the_reason_is_given(self):
        out = render("no_stacks")
        self.assertIn("    (no stack: stack_depth=0)\n", out)
        self.assertIn("opened at an unknown place (no stack recorded)", out.splitlines()[0])

    def test_a_stripped_program_is_named_by_module_and_offset(self):
        self.assertRegex(render("stripped"), r"\n    #0 0x[0-9a-f]+ \(\S+/growth\.stripped\+0x[0-9a-f]+\)\n")


class Sections(ToolTest):
    def test_growth_since_the_previous_report(self):
        out = render("growth")
        self.assertRegex(out, r"\nGrowing since the previous report \(\S+ ago\):\n"
                              r"  \+5 -1 \(net \+4; 8 opened, 1 closed since start\) at leaky \(growth\.c:\d+\) "
                              r"\[[0-9a-f]{16}\]\n")

    def test_a_first_report_shows_no_growth(self):
        out = render("growth", every=True)
        self.assertEqual(out.count("Growing since the previous report"), 1)

    def test_sockets_closed_late(self):
        out = render("closed_late")
        self.assertIn("\nLeaked, then closed later (by a finalizer, at shutdown, or late): 1 socket\n", out)
        self.assertRegex(out, r"\n  1 \(max_age, e\.g\. fd \d+\) closed \S+ after found leaked, opened at "
                              r"slow_path \(closed_late\.c:\d+\) \[[0-9a-f]{16}\]\n")

    def test_double_closes(self):
        out = render("double_close")
        self.assertRegex(out, r"\nDouble close of a socket already closed \(1 time, e\.g\. fd \d+\), at:\n"
                              r"    #0 0x[0-9a-f]+ in close_again[ +]")
        self.assertRegex(out, r"\n==\d+==coverage: 1 double close\n")

    def test_nothing_unseen_says_nothing(self):
        out = render("leaky")
        self.assertNotIn("unseen", out)
        self.assertNotIn("coverage", out)
        self.assertNotIn("Double close", out)

    def test_suppressed_sockets_by_rule(self):
        out = render("suppressed")
        self.assertRegex(out, r"\n==\d+==suppressed: 2 sockets \(function:pool_\*: 2\)\n")
        self.assertNotIn("suppressed", out.splitlines()[1])  # as the shim: on their own line

    def test_ignored_sockets_are_counted(self):
        self.assertIn(", 1 ignored (sockleak_ignore)", render("kinds").splitlines()[1])

    def test_an_emfile_report_says_so_first(self):
        first = render("emfile", every=True).splitlines()[0]
        self.assertRegex(first, r"^==\d+==sockleak: out of file descriptors \(EMFILE\): \d+ open, limit 64$")

    def test_the_environment_line_is_the_shims(self):
        tool = [x for x in render("leaky").splitlines() if "==environment: " in x]
        with open(R.path("leaky_text"), encoding="utf-8") as f:
            shim = [x for x in f.read().splitlines() if "==environment: " in x]
        self.assertEqual(len(tool), 1)
        self.assertEqual(masked(tool[0]), masked(shim[0]))
        d = R.last("leaky")["environment"]
        self.assertIn("%s; %d fds open, limit %d" % (d["kernel"], d["open_fds"], d["nofile_soft"]), tool[0])


class Output(ToolTest):
    def test_render_to_a_file_per_process(self):
        out = os.path.join(self.dir, "out.%p.txt")
        rc, _out, err = self.run_tool("render", "-o", out, R.pattern("fork_tree"))
        self.assertEqual(rc, 0, err)
        files = sorted(os.listdir(self.dir))
        self.assertEqual(len(files), len(R.files("fork_tree")))
        for name in files:
            with open(os.path.join(self.dir, name), encoding="utf-8") as f:
                self.assertTrue(f.read().startswith("==%s==sockleak: " % name.split(".")[1]), name)

    def test_append_adds_to_the_file(self):
        out = os.path.join(self.dir, "out.txt")
        for _ in range(2):
            self.assertEqual(self.run_tool("render", "--append", "-o", out, R.path("leaky"))[0], 0)
        with open(out, encoding="utf-8") as f:
            self.assertEqual(f.read().count("SUMMARY: "), 2)

    def test_reports_of_several_processes_are_separated_by_a_blank_line(self):
        rc, out, _err = self.run_tool("render", R.path("fork_one_file"))
        self.assertEqual(rc, 0)
        self.assertEqual(out.count(".\n\n==") + 1, len(R.reports("fork_one_file")))


class Scale(ToolTest):
    def test_thousands_of_sockets_render_fast_and_by_stack(self):
        t0 = time.monotonic()
        out = render("many")
        took = time.monotonic() - t0
        self.assertLess(took, 5.0, "rendering %d sockets took %.1fs" % (MANY, took))
        self.assertLess(len(out.splitlines()), 60)  # by stack, never a line per socket
        self.assertIn("%d sockets stuck in CLOSE_WAIT for " % MANY, out.splitlines()[0])
        self.assertRegex(out, r"\n  fds: (\d+ ){16}\.\.\. \(%d more\)\n" % (MANY // 2 - 16))

    def test_many_peers_of_one_host_are_summarized_by_host(self):
        self.assertIn("  peers: 127.0.0.1:* (%d)\n" % (MANY // 2), render("many"))
