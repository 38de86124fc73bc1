"""Tests for tests/integration/pytest_fixture.c to run under pytest with the
pytest_sockleak plugin and --sockleak: two of them leave a socket open."""
import socket
import threading

kept = []


def test_clean():
    s = socket.socket()
    s.close()


def test_closed_by_another_thread_soon():
    s = socket.socket()
    threading.Timer(0.03, s.close).start()


def test_leaky():
    kept.append(socket.socket())


def test_leaky_after_eof():
    a, b = socket.socketpair()
    b.close()
    assert a.recv(16) == b""  # the peer hung up; the close is forgotten
    kept.append(a)


def test_explicit_fixture(sockleak):
    cp = sockleak.checkpoint()
    s = socket.socket()
    assert sockleak.open_since(cp) == 1
    s.close()
    assert sockleak.open_since(cp) == 0
