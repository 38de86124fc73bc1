// Leak sites in a thread and in an asyncio coroutine are named (lang/threads_asyncio.py):
// the thread's own frames (its thread state, read by that thread), and the coroutine's,
// resumed by the event loop after the name lookup, with its awaiting callers.
// REQUIRES: /usr/bin/python3.11
// RUN: /usr/bin/python3.11 %S/lang/threads_asyncio.py
// EXPECT: len([x for x in reports if x["reason"] == "api"]) == 1
// EXPECT: (lambda a: sorted(h for g in a["groups"] for h in [[f["function"] + ":" + str(f["line"]) for f in stack(g["stack"], a) if f["lang"] == "python" and f["file"].endswith("threads_asyncio.py")]] if h))([x for x in reports if x["reason"] == "api"][0]) == [["<module>:19"], ["fetch_async:15", "<module>:24"], ["worker_leak:11"]]
// EXPECT: any("Thread.run" == f["function"] for x in reports if x["reason"] == "api" for g in x["groups"] for f in stack(g["stack"], x))
// EXPECT: any("BaseEventLoop._connect_sock" == f["function"] for x in reports if x["reason"] == "api" for g in x["groups"] for f in stack(g["stack"], x))
int main(void)
{
    return 0;
}
