// The pytest plugin (python/pytest_sockleak.py) under the shim, on a real pytest run of
// tests/integration/pytest_fixture_sample.py with --sockleak: the tests that leave a
// socket open fail (pytest: an error at their teardown) with sockleak's report: the
// socket was opened by socket() (socketpair()) and, for the one that read end-of-file
// first, where it read it; the clean tests pass, one of them because the retry waits
// for a close another thread makes 30 ms later. The fixture's own API works.
// REQUIRES: pytest
// ENV: PYTHONDONTWRITEBYTECODE=1
// RUN: cp %S/pytest_fixture_sample.py %T/test_sample.py
// RUN: PYTHONPATH=%S/../../python pytest -p pytest_sockleak -p no:cacheprovider --rootdir=%T --sockleak -rA test_sample.py ; echo "pytest=$?"
// EXPECT: v("pytest") == 1
// EXPECT: sorted(re.findall(r"^ERROR test_sample.py::(\w+)", out, re.M)) == ["test_leaky", "test_leaky_after_eof"]
// EXPECT: all(re.search(r"^PASSED test_sample.py::%s$" % t, out, re.M) for t in ["test_clean", "test_closed_by_another_thread_soon", "test_explicit_fixture"])
// EXPECT: re.search(r"== 5 passed, 2 errors in ", out)
// EXPECT: re.search(r"_+ ERROR at teardown of test_leaky _+\n1 socket left open by test_sample.py::test_leaky \(sockleak\):\n==\d+==sockleak: 1 socket left open since checkpoint \d+, opened at ", out)
// EXPECT: re.search(r"ERROR at teardown of test_leaky_after_eof _+\n(.*\n)*?==\d+==sockleak: 1 socket left open since checkpoint \d+, opened at .*; end-of-file read at ", out)
// EXPECT: re.search(r"^1 live socket, left open since the checkpoint, opened by socket\(\):$", out, re.M)
// EXPECT: re.search(r"^1 live socket, .*, opened by socketpair\(\):$", out, re.M)
// EXPECT: re.search(r"^  end-of-file read at .*, never closed \(1 socket, ", out, re.M)
int main(void)
{
    return 0;
}
