"""A Python server whose handler returns after recv() == b"" without closing, for
tests/integration/python_eof.c. The connections stay referenced, so only the
interpreter's shutdown closes them: the shim is asked for a report (sockleak_report,
through ctypes) before. Prints eof_line=N, the line of the recv() that sees the
end-of-file."""
import ctypes
import inspect
import socket
import time

kept = []
EOF_LINE = []


def handle(conn):
    while True:
        EOF_LINE[:] = [inspect.currentframe().f_lineno + 1]
        data = conn.recv(1024)
        if not data:
            return  # the close is forgotten


def main():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    for _ in range(2):
        c = socket.create_connection(srv.getsockname())
        conn, _ = srv.accept()
        c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        c.close()
        handle(conn)
        kept.append(conn)
    time.sleep(0.4)
    assert ctypes.CDLL(None).sockleak_report() == 0
    print("eof_line=%d" % EOF_LINE[0])
    print("fds=[%s]" % ", ".join(str(k.fileno()) for k in kept), flush=True)


main()
