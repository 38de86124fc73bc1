# Leak sites in a thread and in an asyncio coroutine (tests/integration/py_threads_asyncio.c).
import asyncio
import ctypes
import socket
import threading

kept = []


def worker_leak(port):
    kept.append(socket.create_connection(("127.0.0.1", port)))


async def fetch_async(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    kept.append(writer)


srv = socket.create_server(("127.0.0.1", 0))
port = srv.getsockname()[1]
t = threading.Thread(target=worker_leak, args=(port,))
t.start()
t.join()
asyncio.run(fetch_async(port))
ctypes.CDLL(None).sockleak_report()
