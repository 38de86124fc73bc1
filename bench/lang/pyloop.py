# pyloop.py N - the Python row of make bench (bench/run.py): N rounds of
# socket.socket() and close(), after a warm-up; prints "wall NS cpu NS" per round.
import socket
import sys
import time

n = int(sys.argv[1])
for _ in range(2000):
    socket.socket().close()
t0, c0 = time.perf_counter_ns(), time.process_time_ns()
for _ in range(n):
    socket.socket().close()
print(f"wall {(time.perf_counter_ns() - t0) / n:.1f} cpu {(time.process_time_ns() - c0) / n:.1f}")
