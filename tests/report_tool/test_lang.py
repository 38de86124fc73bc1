"""Language frames (Python, Java, Node): printed as the shim prints them, the program's
own frame in the headline, left alone by symbolize, counted by stack id in merge."""
import json
import re

from shim_reports import R, ToolTest
from sockleak_report.frames import frame_text, headline_frame, is_runtime, where
from sockleak_report.reading import load
from sockleak_report.text import render_text


def render(name, top=0, every=True):
    R.need(name)
    return "".join(render_text(r, top) for r in load([R.path(name)], every=every))


def api_report(name):
    R.need(name)
    return [r for r in load([R.path(name)], every=True) if r.reason == "api"][0]


def lang_frames(text):
    return [x for x in text.splitlines() if re.match(r"    #\d+ ", x) and x.endswith((" (python)", " (java)", " (js)"))]


class Python(ToolTest):
    def test_python_frames_print_as_the_shims_without_an_address(self):
        out = render("python")
        self.assertRegex(out, r"\n    #0 socket\.__init__ /\S+/socket\.py:\d+ \(python\)\n"
                              r"    #1 create_connection /\S+/socket\.py:\d+ \(python\)\n"
                              r"    #2 fetch_item /\S+/py_leak\.py:18 \(python\)\n")
        for line in lang_frames(out):
            self.assertNotIn(" 0x", line)
            self.assertNotIn("?", line)

    def test_native_frames_follow_the_python_frames(self):
        frames = api_report("python").stacks()[api_report("python").groups()[0].stack]
        text = [frame_text(i, f) for i, f in enumerate(frames)]
        first_native = next(i for i, f in enumerate(frames) if not f.get("lang"))
        self.assertTrue(all(f.get("lang") == "python" for f in frames[:first_native]), text)
        self.assertRegex(text[first_native], r"^#%d 0x[0-9a-f]+ " % first_native)

    def test_the_headline_names_the_program_s_frame_not_the_standard_library(self):
        first = render("python").splitlines()[0]
        self.assertRegex(first, r"^==\d+==sockleak: 3 sockets stuck in CLOSE_WAIT for \S+, opened at fetch_item "
                                r"\(py_leak\.py:18\) and elsewhere$")

    def test_where_an_accepted_socket_was_opened_is_the_program_s_line(self):
        rep = api_report("python")
        accepted = [g for g in rep.groups() if g.origin == "accept"][0]
        self.assertEqual(where(rep.stacks()[accepted.stack]), ("main", "py_leak.py:40"))

    def test_the_end_of_file_place_is_a_python_frame(self):
        out = render("python")
        self.assertRegex(out, r"\n  end-of-file read at handle \(py_leak\.py:22\), never closed \(1 socket, \S+ "
                              r"ago\):\n    #0 handle /\S+/py_leak\.py:22 \(python\)\n")

    def test_another_python_s_standard_library_is_the_runtime_too(self):
        # the python3 running the tests (pyenv's, a venv's...): its socket.py is elsewhere
        rep = api_report("python_path")
        frames = rep.stacks()[rep.groups()[0].stack]
        self.assertTrue(is_runtime(frames[0]), frames[0])
        self.assertEqual(where(frames), ("fetch_item", "py_leak.py:18"))

    def test_native_frames_none_shows_the_python_frames_only(self):
        out = render("python_lang_only")
        frames = [x for x in out.splitlines() if re.match(r"    #\d+ ", x)]
        self.assertTrue(frames)
        self.assertEqual([x for x in frames if not x.endswith(" (python)")], [])
        self.assertIn(", opened at fetch_item (py_leak.py:18) and elsewhere", out.splitlines()[0])
        # the same stacks, by the same ids
        self.assertEqual({g.stack for g in api_report("python_lang_only").groups()},
                         {g.stack for g in api_report("python").groups()})

    def test_a_socket_the_garbage_collector_closed_is_said_to_be_the_runtime_s_doing(self):
        out = render("python")  # the exit report: the interpreter's shutdown closed the rest
        self.assertRegex(out, r"\n  1 \(unclosed, e\.g\. fd \d+\) closed by the runtime's garbage collector or "
                              r"shutdown, never by the program, opened at drop_unclosed \(py_leak\.py:27\) "
                              r"\[[0-9a-f]{16}\]\n")
        self.assertRegex(out, r"\nSUMMARY: sockleak: 0 leaked sockets in 0 stacks; \d+ leaked, then closed later; ")

    def test_sockets_the_runtime_closed_fail_check(self):
        R.need("python")
        exit_report = R.last("python")
        self.assertEqual(exit_report["summary"]["leaked"], 0)
        n = exit_report["summary"]["leaked_closed"]
        self.assertGreaterEqual(n, 4)
        rc, out, _err = self.run_tool("check", R.path("python"))
        self.assertEqual(rc, 1)
        self.assertIn(": %d leaked sockets (%d of them closed later), more than 0 allowed" % (n, n), out)

    def test_symbolize_leaves_language_frames_and_stack_ids_as_they_are(self):
        R.need("python")
        rc, out, err = self.run_process("symbolize", R.path("python"))
        self.assertEqual(rc, 0, err)
        before, after = R.reports("python"), [json.loads(x) for x in out.splitlines()]
        self.assertEqual(len(before), len(after))
        for a, b in zip(before, after):
            self.assertEqual([s["id"] for s in a["stacks"]], [s["id"] for s in b["stacks"]])
            self.assertEqual([f for s in a["stacks"] for f in s["frames"] if f["lang"]],
                             [f for s in b["stacks"] for f in s["frames"] if f["lang"]])

    def test_merge_counts_a_python_stack_by_its_id_across_processes(self):
        R.need("python_lang_only")
        rc, out, err = self.run_tool("merge", "--json", "--pid", R.last("python")["pid"], "--pid",
                                     R.last("python_lang_only")["pid"], "--all", R.path("python"),
                                     R.path("python_lang_only"))
        self.assertEqual(rc, 0, err)
        top = json.loads(out)["stacks"][0]
        self.assertEqual((top["leaked"], top["processes"], top["opened_at"]), (4, 2, "fetch_item (py_leak.py:18)"))

    def test_markdown_names_the_python_frame(self):
        rc, out, err = self.run_tool("render", "--format", "markdown", R.path("python"), "--all")
        self.assertEqual(rc, 0, err)
        self.assertIn("opened at `fetch_item` (py_leak.py:18) and elsewhere", out)
        self.assertRegex(out, r"\n#2 fetch_item /\S+/py_leak\.py:18 \(python\)\n")
        self.assertRegex(out, r"\n\| \d+ \| unclosed \| by the runtime's garbage collector or at shutdown, never by "
                              r"the program \| \S+ \| `drop_unclosed` \(py_leak\.py:27\) \|\n")


class Java(ToolTest):
    def test_the_headline_names_the_program_s_method_below_the_jdk_s(self):
        first = render("java").splitlines()[0]
        self.assertRegex(first, r"opened at JavaLeak\.queryBackend \(JavaLeak\.java:19\); end-of-file read at "
                                r"JavaLeak\.readReply \(JavaLeak\.java:26\)$")

    def test_java_frames_print_as_the_shims(self):
        out = render("java")
        self.assertRegex(out, r"\n    #0 sun\.nio\.ch\.Net\.socket0 Net\.java \(java\)\n")  # native: no line
        self.assertRegex(out, r"\n    #\d+ JavaLeak\.queryBackend JavaLeak\.java:19 \(java\)\n"
                              r"    #\d+ JavaLeak\.main JavaLeak\.java:\d+ \(java\)\n    #\d+ 0x[0-9a-f]+ in ")

    def test_an_unnamed_frame_prints_as_the_shim_prints_it(self):
        f = {"ip": None, "function": None, "module": None, "file": None, "line": None, "lang": "java"}
        self.assertEqual(frame_text(3, f), "#3 (unnamed) (java)")
        self.assertFalse(is_runtime(f))
        self.assertIs(headline_frame([f]), f)
        self.assertEqual(where([f]), (None, "?+0x0"))  # the shim's sl_report_where: no name, no module
        self.assertEqual(where([dict(f, function="Pool.grab")]), ("Pool.grab", "java"))
        self.assertEqual(render("java").count("(unnamed)"), 0)


class Node(ToolTest):
    def test_javascript_frames_have_a_column(self):
        out = render("node")
        self.assertRegex(out, r"\n    #0 Object\.connect node:net:\d+:\d+ \(js\)\n"
                              r"    #1 pollStatus /\S+/node_leak\.js:10:17 \(js\)\n")
        self.assertRegex(out, r"\n    #0 \(accepted\) node:net \(js\)\n")

    def test_the_headline_passes_over_node_s_own_modules(self):
        self.assertRegex(render("node").splitlines()[0], r"opened at pollStatus \(node_leak\.js:10\); end-of-file read "
                                                         r"at uv__read ")
