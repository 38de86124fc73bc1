# Sockets the program drops unclosed, closed by CPython's finalizer (reference count,
# cyclic garbage collector), beside sockets it closes itself (socket.close(),
# os.close() of a detached fd): tests/integration/py_unclosed.c.
import gc
import os
import socket
import warnings

warnings.simplefilter("ignore", ResourceWarning)


def drop_unclosed():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))


def drop_in_cycle():
    s = socket.socket()
    holder = {"s": s}
    holder["self"] = holder


def close_properly():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))


def close_detached():
    s = socket.socket()
    os.close(s.detach())


gc.disable()
drop_unclosed()
drop_in_cycle()
close_properly()
close_detached()
gc.collect()
