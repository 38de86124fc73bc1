"""shim_reports.py - the reports the report tool's tests read, written by the real shim.

Tests read them through R (or get()). The first use builds the programs in
programs/ (cc, c++; javac for the .java) into a temporary directory and runs them, and
the examples in build/examples/, the Python and Node scripts of programs/ (with
/usr/bin/python3.11 or the python3 running the tests, and node), under
build/libsockleak.so with SOCKLEAK_OPTIONS=format=json:
log_path=DIR/NAME/sockleak.%p.jsonl; the files are kept for the whole test run. A run
whose interpreter is not here writes nothing: R.need(NAME) makes its tests say SKIP and
why.
Nothing here writes a report: every report line the tests read came from the shim.
(Tests may take a real report apart, to see the tool cope with less; they never make
one up.) Without the shim or a C compiler, get() raises unittest.SkipTest saying
which, so every test says SKIP and why.

ToolTest is the tests' base class: run_tool() runs the tool in this process, and a
test that makes no assertion fails.
"""
import atexit
import contextlib
import glob
import hashlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import unittest

from sockleak_report import cli

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, "build")
SHIM = os.path.join(BUILD, "libsockleak.so")
TOOL_ZIP = os.path.join(BUILD, "sockleak-report")
LAUNCHER = os.path.join(ROOT, "scripts", "sockleak")

# sockets for the "many" run: as many as the file descriptor limit allows, at most 10000
MANY = max(100, min(10000, resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 200))

# interpreters of language runs: name -> (candidates, what to install)
PY_LAYOUTS = ((3, 11), (3, 12), (3, 13))  # the CPython versions whose frames the shim reads
INTERPRETERS = {
    "python3.11": (["/usr/bin/python3.11"], "Debian's python3.11 (apt-get install python3.11)"),
    "python3": ([sys.executable] if sys.version_info[:2] in PY_LAYOUTS else [], "a python3 of 3.11 to 3.13"),
    "java": (["java"], "java and javac (apt-get install openjdk-17-jdk-headless)"),
    "node": (["node", "nodejs"], "node (apt-get install nodejs)"),
}

# name: (program, arguments, SOCKLEAK_OPTIONS besides format and log_path); a program
# named for an interpreter runs it on its arguments (files of programs/; java: a class)
RUNS = {
    "leaky": ("examples/leaky_client", ["5", "0"], "close_wait_after=0"),
    "leaky_text": ("examples/leaky_client", ["5", "0"], "close_wait_after=0:format=text"),
    "fixed": ("examples/fixed_client", ["5", "0"], "close_wait_after=0"),
    "growth": ("growth", [], "stack_depth=1"),
    "closed_late": ("closed_late", [], "max_age=200ms:scan_interval=0"),
    "double_close": ("double_close", [], ""),
    "fork_tree": ("fork_tree", [], ""),
    "fork_one_file": ("fork_tree", [], "log_path=%(dir)s/all.jsonl"),
    "kinds": ("kinds", ["400"], "close_wait_after=0:scan_interval=100ms"),
    "suppressed": ("kinds", ["0"], "suppressions=%(programs)s/suppressions.txt"),
    "no_stacks": ("kinds", ["0"], "stack_depth=0"),
    "emfile": ("emfile", [], "fd_threshold=0"),
    "many": ("many", [str(MANY)], "close_wait_after=0:scan_interval=0"),
    "cxx_stripped": ("cxx_names.stripped", [], ""),
    "stripped": ("growth.stripped", [], ""),
    "inlined_stripped": ("inlined.stripped", [], ""),
    "eof": ("eof_places", [], "close_wait_after=0"),
    "eof_text": ("eof_places", [], "close_wait_after=0:format=text"),
    "scoped": ("scoped", [], "close_wait_after=0:report_at_exit=0"),
    "scoped_text": ("scoped", [], "close_wait_after=0:report_at_exit=0:format=text"),
    "python": ("python3.11", ["py_leak.py"], "close_wait_after=0"),
    "python_text": ("python3.11", ["py_leak.py"], "close_wait_after=0:format=text"),
    "python_lang_only": ("python3.11", ["py_leak.py"], "close_wait_after=0:native_frames=none"),
    "python_path": ("python3", ["py_leak.py"], "close_wait_after=0"),
    "java": ("java", ["JavaLeak"], "close_wait_after=0"),
    "java_text": ("java", ["JavaLeak"], "close_wait_after=0:format=text"),
    "node": ("node", ["node_leak.js"], "close_wait_after=0"),
}

TEXT_RUNS = {name for name, (_p, _a, opts) in RUNS.items() if "format=text" in opts}  # the shim's text

_reports = None  # Reports, or the exception that prevented them


class Reports:
    """The runs' report files, in a temporary directory kept until the tests end."""

    def __init__(self, top, programs, missing):
        self.top = top
        self.programs = programs  # the built fixture programs
        self.debug_dir = os.path.join(programs, "debug")  # NAME.debug, for the stripped runs
        self.missing = missing  # run name -> why it did not run

    def need(self, name):
        """SkipTest, saying why, if run NAME could not run here (no interpreter)."""
        _need(name not in self.missing, "run %s: %s" % (name, self.missing.get(name)))

    def pattern(self, name):
        """The run's log_path: DIR/NAME/sockleak.%p.jsonl."""
        return os.path.join(self.top, name, "sockleak.%p.jsonl")

    def files(self, name):
        return sorted(glob.glob(os.path.join(self.top, name, "*.jsonl")))

    def path(self, name):
        """The run's one report file (a run of one process)."""
        files = self.files(name)
        if len(files) != 1:
            raise AssertionError("run %s wrote %d files, not 1" % (name, len(files)))
        return files[0]

    def reports(self, name):
        """Every report object of the run, file by file, line by line."""
        out = []
        for f in self.files(name):
            with open(f, encoding="utf-8") as fh:
                out += [json.loads(line) for line in fh if line.strip()]
        return out

    def last(self, name):
        return self.reports(name)[-1]


def build_id(name):
    """The build-id of the test program NAME (40 hex digits, the same in every build)."""
    return hashlib.sha1(name.encode()).hexdigest()


def _need(cond, why):
    if not cond:
        raise unittest.SkipTest(why)


def interpreter(name):
    """The path of interpreter NAME (INTERPRETERS), or None."""
    for c in INTERPRETERS[name][0]:
        path = shutil.which(c)
        if path:
            return path
    return None


def _build(programs):
    """Compile programs/*.c (and *.cc when c++ is here) into programs; of growth and
    cxx_names and inlined, stripped copies (NAME.stripped) and their debug files
    (debug/NAME.stripped.debug); programs/*.java with javac, when java and javac are here."""
    cc, cxx = shutil.which(os.environ.get("CC", "cc")), shutil.which(os.environ.get("CXX", "c++"))
    _need(cc, "no C compiler (cc) to build the test programs")
    inc = ["-I", os.path.join(ROOT, "include")]
    for src in sorted(glob.glob(os.path.join(HERE, "programs", "*.c*"))):
        name, ext = os.path.splitext(os.path.basename(src))
        compiler = cc if ext == ".c" else cxx
        if compiler is None:
            continue  # no c++: the tests of that run say SKIP
        subprocess.run([compiler, "-O0", "-g", "-fno-omit-frame-pointer", "-Wl,--build-id=0x" + build_id(name)] +
                       inc + [src, "-o", os.path.join(programs, name)], check=True)
    os.makedirs(os.path.join(programs, "debug"))
    for name in ("growth", "cxx_names", "inlined"):
        exe = os.path.join(programs, name)
        if os.path.exists(exe):
            debug = os.path.join(programs, "debug", name + ".stripped.debug")
            subprocess.run(["objcopy", "--only-keep-debug", exe, debug], check=True)
            subprocess.run(["strip", "-s", exe, "-o", exe + ".stripped"], check=True)
    with open(os.path.join(programs, "suppressions.txt"), "w", encoding="utf-8") as f:
        f.write("function:pool_*\n")
    javac = shutil.which("javac")
    if interpreter("java") and javac:
        subprocess.run([javac, "-d", programs] + sorted(glob.glob(os.path.join(HERE, "programs", "*.java"))),
                       check=True)


def _command(prog, args, programs):
    """(argv, None) of a run, or (None, why it cannot run here)."""
    if prog.startswith("examples/"):
        return [os.path.join(BUILD, prog)] + args, None
    if prog not in INTERPRETERS:
        exe = os.path.join(programs, prog)
        return ([exe] + args, None) if os.path.exists(exe) else (None, "%s was not built" % prog)
    path = interpreter(prog)
    if path is None or (prog == "java" and not os.path.exists(os.path.join(programs, args[0] + ".class"))):
        return None, "no %s" % INTERPRETERS[prog][1]
    if prog == "java":
        return [path, "-cp", programs] + args, None
    return [path] + [os.path.join(HERE, "programs", a) for a in args], None


def _run_all(top, programs):
    """Run every run that can run here; {name: why not} of the others."""
    env = dict(os.environ)
    env.pop("SOCKLEAK_OPTIONS", None)
    env.pop("NODE_OPTIONS", None)
    env["LD_PRELOAD"] = SHIM
    procs, missing = [], {}
    for name, (prog, args, opts) in RUNS.items():
        argv, why = _command(prog, args, programs)
        if argv is None:
            missing[name] = why
            continue
        d = os.path.join(top, name)
        os.makedirs(d)
        opts = opts % {"dir": d, "programs": programs}
        full = "format=json:log_path=%s" % os.path.join(d, "sockleak.%p.jsonl")
        env["SOCKLEAK_OPTIONS"] = full + (":" + opts if opts else "")
        procs.append((name, subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)))
    for name, p in procs:
        _out, err = p.communicate(timeout=120)
        if p.returncode != 0:
            raise RuntimeError("%s exited %d under the shim: %s" % (name, p.returncode, err.decode(errors="replace")))
    return missing


def run_under_shim(options, argv):
    """Run argv under the shim with SOCKLEAK_OPTIONS=options; its exit status."""
    _need(os.path.exists(SHIM), "build/libsockleak.so is not built (run make)")
    env = dict(os.environ, LD_PRELOAD=SHIM, SOCKLEAK_OPTIONS=options)
    return subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60).returncode


def example(name):
    """The path of build/examples/NAME (SkipTest if it is not built)."""
    path = os.path.join(BUILD, "examples", name)
    _need(os.path.exists(path), "build/examples are not built (run make)")
    return path


def get():
    """The Reports of every run (built and run once per test run), or SkipTest."""
    global _reports
    if isinstance(_reports, BaseException):
        raise _reports  # (once is enough to build and fail)
    if _reports is None:
        try:
            _reports = _make()
        except BaseException as e:
            _reports = e
            raise
    return _reports


def _make():
    _need(os.path.exists(SHIM), "build/libsockleak.so is not built (run make)")
    _need(os.path.exists(os.path.join(BUILD, "examples", "leaky_client")),
          "build/examples are not built (run make)")
    _need(shutil.which("objcopy") and shutil.which("strip"), "no objcopy/strip (binutils)")
    top = tempfile.mkdtemp(prefix="sockleak-report-tests-")
    atexit.register(shutil.rmtree, top, True)
    programs = os.path.join(top, "programs")
    os.makedirs(programs)
    _build(programs)
    return Reports(top, programs, _run_all(top, programs))


class _Lazy:
    """R: the runs' reports, made on first use (a test that needs none runs without them)."""

    def __getattr__(self, name):
        return getattr(get(), name)


R = _Lazy()


class ToolTest(unittest.TestCase):
    """A test of the tool: a temporary directory, the tool at hand, at least one assertion."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="sockleak-report-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self._asserts = 0

    def _callTestMethod(self, method):  # (unittest's hook around the test method)
        self._asserts = 0
        super()._callTestMethod(method)
        if not self._asserts:
            raise self.failureException("the test made no assertion")

    def run_tool(self, *argv, stdin=None):
        """(status, stdout, stderr) of the tool's main(), in this process."""
        out, err = io.StringIO(), io.StringIO()
        old = sys.stdin
        if stdin is not None:
            sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                rc = cli.main([str(a) for a in argv])
        finally:
            sys.stdin = old
        return rc, out.getvalue(), err.getvalue()

    def run_process(self, *argv, stdin=None, tool=None):
        """(status, stdout, stderr) of the tool run as a program: python3 -m sockleak_report,
        or tool (a command list) instead."""
        env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "scripts"))
        env.pop("LD_PRELOAD", None)
        cmd = (tool or [sys.executable, "-m", "sockleak_report"]) + [str(a) for a in argv]
        p = subprocess.run(cmd, input=stdin, capture_output=True, env=env, timeout=120)
        return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")

    def write(self, name, *lines):
        """A file of lines in the test's directory: dicts are written as JSON, strings as they are."""
        path = os.path.join(self.dir, name)
        with open(path, "w", encoding="utf-8") as f:
            for x in lines:
                f.write((x if isinstance(x, str) else json.dumps(x)) + "\n")
        return path


def _counting(name):
    base = getattr(unittest.TestCase, name)

    def counted(self, *args, **kwargs):
        self._asserts = getattr(self, "_asserts", 0) + 1
        return base(self, *args, **kwargs)

    counted.__name__ = name
    return counted


for _name in dir(unittest.TestCase):
    if _name.startswith("assert") and getattr(unittest.TestCase, _name).__name__ == _name:
        setattr(ToolTest, _name, _counting(_name))
