"""The tool as users get it: one file (the zipapp build/sockleak-report), the package run
with python3 -m, and the launcher finding either."""
import glob
import os
import shutil
import subprocess
import zipfile

from shim_reports import LAUNCHER, ROOT, TOOL_ZIP, R, ToolTest

PACKAGE = os.path.join(ROOT, "scripts", "sockleak_report")


def launcher_env():
    env = dict(os.environ)
    for k in ("LD_PRELOAD", "PYTHONPATH", "SOCKLEAK_OPTIONS"):
        env.pop(k, None)
    return env


class ZipApp(ToolTest):
    def setUp(self):
        super().setUp()
        if not os.path.exists(TOOL_ZIP):
            self.skipTest("build/sockleak-report is not built (run make)")

    def test_it_holds_every_module_of_the_package(self):
        with zipfile.ZipFile(TOOL_ZIP) as z:
            names = set(z.namelist())
        want = {"sockleak_report/" + os.path.basename(p) for p in glob.glob(os.path.join(PACKAGE, "*.py"))}
        self.assertEqual(want - names, set())
        self.assertIn("__main__.py", names)

    def test_it_runs_as_a_program(self):
        rc, out, err = self.run_process("check", R.path("leaky"), tool=[TOOL_ZIP])
        self.assertEqual(rc, 1, err)
        self.assertTrue(out.startswith("sockleak check: FAIL: leaky_client (pid "), out)

    def test_it_renders_and_symbolizes(self):
        rc, out, err = self.run_process("render", "--format", "markdown", R.path("leaky"), tool=[TOOL_ZIP])
        self.assertEqual(rc, 0, err)
        self.assertIn("### Top leaking stacks", out)
        rc, out, err = self.run_process("symbolize", "--debug-dir", R.debug_dir, R.path("stripped"), tool=[TOOL_ZIP])
        self.assertEqual(rc, 0, err)
        self.assertIn('"function":"leaky"', out)


class Module(ToolTest):
    def test_python_m_runs_the_package(self):
        rc, out, _err = self.run_process("--help")
        self.assertEqual(rc, 0)
        self.assertIn("sockleak report render", out)

    def test_the_launchers_steps_are_not_listed(self):
        rc, out, _err = self.run_process("--help")
        self.assertEqual(rc, 0)
        self.assertNotIn("_gate", out)
        self.assertNotIn("_dump", out)

    def test_no_command_is_a_usage_error(self):
        rc, _out, err = self.run_process()
        self.assertEqual(rc, 2)
        self.assertIn("which command? render, symbolize, diff, merge or check", err)


class Launcher(ToolTest):
    def launch(self, launcher, *argv):
        p = subprocess.run([launcher] + [str(a) for a in argv], capture_output=True, text=True, env=launcher_env(),
                           cwd="/", timeout=60)
        return p.returncode, p.stdout, p.stderr

    def test_from_the_checkout(self):
        rc, out, err = self.launch(LAUNCHER, "report", "check", R.path("leaky"))
        self.assertEqual(rc, 1, err)
        self.assertIn("sockleak check: FAIL: leaky_client", out)

    def test_without_a_build_the_package_is_run(self):
        scripts = os.path.join(self.dir, "scripts")
        os.mkdir(scripts)
        shutil.copy(LAUNCHER, scripts)
        shutil.copytree(PACKAGE, os.path.join(scripts, "sockleak_report"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        rc, out, err = self.launch(os.path.join(scripts, "sockleak"), "report", "check", R.path("leaky"))
        self.assertEqual(rc, 1, err)
        self.assertIn("sockleak check: FAIL: leaky_client", out)

    def test_installed_the_tool_next_to_the_launcher_is_run(self):
        if not os.path.exists(TOOL_ZIP):
            self.skipTest("build/sockleak-report is not built (run make)")
        bindir = os.path.join(self.dir, "bin")
        os.mkdir(bindir)
        shutil.copy(LAUNCHER, bindir)
        shutil.copy(TOOL_ZIP, os.path.join(bindir, "sockleak-report"))
        rc, out, err = self.launch(os.path.join(bindir, "sockleak"), "report", "render", R.path("leaky"))
        self.assertEqual(rc, 0, err)
        self.assertIn("3 sockets stuck in CLOSE_WAIT", out)

    def test_without_the_tool_the_launcher_says_where_it_looked(self):
        bindir = os.path.join(self.dir, "bin")
        os.mkdir(bindir)
        shutil.copy(LAUNCHER, bindir)
        rc, _out, err = self.launch(os.path.join(bindir, "sockleak"), "report", "check", R.path("leaky"))
        self.assertEqual(rc, 2)
        self.assertIn("sockleak: sockleak-report not found (looked next to ", err)
