"""py_client.py: a Python client holding ARGV[1] connections in CLOSE_WAIT (the server
hung up; the client never closes them), then exiting normally: CPython's shutdown
closes them, which must not hide the leak."""
import socket
import sys
import time

n = int(sys.argv[1])
srv = socket.create_server(("127.0.0.1", 0))
port = srv.getsockname()[1]
held = []
for _ in range(n):
    held.append(socket.create_connection(("127.0.0.1", port)))
    conn, _addr = srv.accept()
    conn.close()  # the server side hangs up
srv.close()
print("ready", flush=True)
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 1.0)
