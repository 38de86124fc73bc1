// A Python program that leaks sockets after reading end-of-file: its handler returns
// when recv() gives b"" and forgets close(). In the report it asks for (reason "api")
// both accepted sockets sit in CLOSE_WAIT, leaked, each with an eof_stack (the recv()
// that returned end-of-file, through CPython's socket module) other than the stack that
// accepted it, and eof_ms; the interpreter's shutdown closes them later (leaked_closed;
// with language frames the unclosed listener counts there too).
// Python frames (lang "python", file:line of the recv) come with the runtimes work: the
// last EXPECT checks them once frames carry a lang, and holds vacuously until then.
// REQUIRES: python3
// OPTIONS: close_wait_after=200ms:scan_interval=50ms
// RUN: exec "$(python3 -c 'import sys; print(sys.executable)')" %S/python_eof.py
// EXPECT: mine[0]["reason"] == "api" and mine[0]["program"].startswith("python") and r["summary"]["leaked_closed"] >= 2
// EXPECT: sorted(s["fd"] for s in mine[0]["sockets"] if s["leak"] == "close_wait") == sorted(j("fds"))
// EXPECT: all(sock(fd, mine[0])["eof_stack"] not in (None, sock(fd, mine[0])["stack"]) for fd in j("fds"))
// EXPECT: len({sock(fd, mine[0])["eof_stack"] for fd in j("fds")}) == 1 and stack(sock(j("fds")[0], mine[0])["eof_stack"], mine[0])
// EXPECT: all(200 <= sock(fd, mine[0])["eof_ms"] <= sock(fd, mine[0])["age_ms"] and sock(fd, mine[0])["unread_bytes"] == 0 for fd in j("fds"))
// EXPECT: not any(f.get("lang") for f in stack(sock(j("fds")[0], mine[0])["eof_stack"], mine[0])) or any(f.get("lang") == "python" and f["file"].endswith("python_eof.py") and f["line"] == v("eof_line") for f in stack(sock(j("fds")[0], mine[0])["eof_stack"], mine[0]))
int main(void)
{
    return 0;
}
