"""pytest_sockleak - fail the pytest test that leaked a socket, naming where (sockleak).

Run the tests under sockleak (``sockleak -- pytest ...``, or with
``LD_PRELOAD=libsockleak.so``) with this plugin loaded::

    PYTHONPATH=/path/to/sockleak/python pytest -p pytest_sockleak --sockleak

(or ``pytest_plugins = ["pytest_sockleak"]`` in a conftest.py). With ``--sockleak``
every test is checked; without it, the tests that ask for the ``sockleak`` fixture are.
The check takes a checkpoint before the test and, once the test and the function-scoped
fixtures it uses have been torn down, asks sockleak which sockets made since are still
open (listening sockets and those marked with sockleak_ignore() left out). A socket
another thread closes a little later is waited for: the count is asked again after
1 ms, 2 ms, 4 ms... for up to ``--sockleak-wait`` seconds (0.2). If some are left, the
test fails (pytest reports it as an error at teardown of that test) with sockleak's
report of them: the code that opened each, and where each read end-of-file.

Without sockleak in the process the checks pass: there is nothing to ask. The fixture's
value is then None, else a ``Sockleak`` object (checkpoint, open_since, report_since)
for checks of one's own. It talks to the shim with ctypes, in the process's global
scope, where the preload put it: nothing is built, nothing but the standard library is
needed besides pytest.
"""
import ctypes
import time

import pytest

__all__ = ["Sockleak", "sockleak"]


class Sockleak:
    """sockleak's public API (include/sockleak.h) for leak checks scoped to a test."""

    def __init__(self, lib):
        self._checkpoint = lib.sockleak_checkpoint
        self._checkpoint.restype = ctypes.c_ulong
        self._checkpoint.argtypes = []
        self._open_since = lib.sockleak_open_since
        self._open_since.restype = ctypes.c_int
        self._open_since.argtypes = [ctypes.c_ulong]
        self._report_since = lib.sockleak_report_since
        self._report_since.restype = ctypes.c_long
        self._report_since.argtypes = [ctypes.c_ulong, ctypes.c_char_p, ctypes.c_size_t]

    @classmethod
    def load(cls):
        """The shim loaded in this process, or None."""
        try:
            return cls(ctypes.CDLL(None))
        except (OSError, AttributeError):
            return None

    def checkpoint(self):
        """A point in the history of the process's sockets."""
        return self._checkpoint()

    def open_since(self, cp, wait=0.0):
        """Sockets made since cp and still open; while some are, asked again after a
        pause that doubles from 1 ms, for up to wait seconds in all. Raises OSError if
        sockleak cannot tell."""
        waited, pause = 0.0, 0.001
        while True:
            n = self._open_since(cp)
            if n < 0:
                raise OSError(-n, "sockleak_open_since failed")
            if n == 0 or waited >= wait:
                return n
            step = min(pause, wait - waited)
            time.sleep(step)
            waited += step
            pause *= 2

    def report_since(self, cp):
        """sockleak's text report of the sockets made since cp and still open."""
        size = 8192
        for _ in range(4):
            buf = ctypes.create_string_buffer(size)
            n = self._report_since(cp, buf, size)
            if n < 0:
                raise OSError(-n, "sockleak_report_since failed")
            if n < size:
                return buf.value.decode("utf-8", "replace")
            size = n + 4096  # sockets may have come meanwhile
        return buf.value.decode("utf-8", "replace")


_API = []


def _api():
    if not _API:
        _API.append(Sockleak.load())
    return _API[0]


def pytest_addoption(parser):
    group = parser.getgroup("sockleak", "sockets left open by a test (sockleak)")
    group.addoption("--sockleak", action="store_true", help="check every test, not only those using the fixture")
    group.addoption("--sockleak-wait", type=float, default=0.2, metavar="SECONDS",
                    help="how long to wait for sockets closed asynchronously (default 0.2)")


@pytest.fixture
def sockleak(request):
    """Fails the test if it leaves a socket open; its value is a Sockleak object, or None
    when the tests do not run under sockleak."""
    api = _api()
    if api is None:
        yield None
        return
    cp = api.checkpoint()
    yield api
    n = api.open_since(cp, wait=request.config.getoption("sockleak_wait"))
    if n > 0:
        pytest.fail("%d socket%s left open by %s (sockleak):\n%s"
                    % (n, "" if n == 1 else "s", request.node.nodeid, api.report_since(cp)), pytrace=False)


@pytest.fixture(autouse=True)
def _sockleak_every_test(request):
    """With --sockleak, every test uses the fixture: as an autouse fixture it is set up
    before the test's other function-scoped fixtures and torn down after them."""
    if request.config.getoption("sockleak") and "sockleak" not in request.fixturenames:
        request.getfixturevalue("sockleak")
    yield
