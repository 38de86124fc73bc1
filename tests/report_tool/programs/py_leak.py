"""py_leak.py (close_wait_after=0): Python leaks for the report tool's tests, run by
shim_reports.py under the shim. fetch_item() keeps two connections the server hung up
on (in CLOSE_WAIT; one with 5 bytes it never read), handle() reads a request to
end-of-file and returns without close(), drop_unclosed() leaves a socket to the garbage
collector (closed by the runtime: leak kind "unclosed"). The report asked for through
ctypes lists them; the exit report comes after the interpreter's shutdown closed the
rest."""
import ctypes
import socket
import time
import warnings

warnings.simplefilter("ignore", ResourceWarning)
kept = []


def fetch_item(port):
    return socket.create_connection(("127.0.0.1", port))


def handle(conn):
    while conn.recv(1024):
        pass  # returns at end-of-file; the close is forgotten


def drop_unclosed():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))


def main():
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    for reply in (b"", b"hello"):
        kept.append(fetch_item(port))
        peer = srv.accept()[0]
        peer.sendall(reply)
        peer.close()
    client = socket.create_connection(("127.0.0.1", port))
    conn = srv.accept()[0]
    client.sendall(b"GET / HTTP/1.0\r\n\r\n")
    client.close()
    handle(conn)
    kept.append(conn)
    drop_unclosed()
    time.sleep(0.05)
    ctypes.CDLL(None).sockleak_report()


main()
