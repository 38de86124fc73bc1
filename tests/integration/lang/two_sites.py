# Two leak sites in two functions: each socket is connected to a server that hangs up
# at once, and kept, so each sits in CLOSE_WAIT (tests/integration/py_two_sites.c).
import ctypes
import socket
import time


def fetch_item(port):
    s = socket.create_connection(("127.0.0.1", port))
    return s


def ping_health(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.connect(("127.0.0.1", port))
    return s


srv = socket.create_server(("127.0.0.1", 0))
port = srv.getsockname()[1]
kept = [fetch_item(port), fetch_item(port), ping_health(port)]
for _ in kept:
    srv.accept()[0].close()
time.sleep(0.8)  # CLOSE_WAIT for close_wait_after, seen by scans
ctypes.CDLL(None).sockleak_report()
