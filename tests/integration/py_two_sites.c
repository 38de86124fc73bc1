// Python frames name the code (issue 13), in Debian's stripped CPython 3.11: two leak
// sites in two functions (lang/two_sites.py) give two stacks, each with its function,
// file and line below socket.py's frames, language frames first (no address, no
// module), native frames after them; a second run gives the same stack ids. At exit the
// three, still held, are closed by the interpreter's shutdown (leaked, closed late), and
// so is the listener the program never closed ("unclosed"). The program under test is
// the Python one; this file only holds the directives.
// REQUIRES: /usr/bin/python3.11
// OPTIONS: close_wait_after=200ms:scan_interval=50ms
// RUN: /usr/bin/python3.11 %S/lang/two_sites.py; /usr/bin/python3.11 %S/lang/two_sites.py
// EXPECT: len([x for x in reports if x["reason"] == "api"]) == 2
// EXPECT: [sorted((h["function"], h["file"].split("/")[-1], h["line"], g["leaked"]) for g in x["groups"] if g["leaked"] for h in [[f for f in stack(g["stack"], x) if f["lang"] == "python" and not f["file"].endswith("/socket.py")][0]]) for x in reports if x["reason"] == "api"] == [[("fetch_item", "two_sites.py", 9, 2), ("ping_health", "two_sites.py", 14, 1)]] * 2
// EXPECT: len({tuple(sorted(g["stack"] for g in x["groups"] if g["leaked"])) for x in reports if x["reason"] == "api"}) == 1
// EXPECT: all(stack(g["stack"], x)[0]["function"] == "socket.__init__" and stack(g["stack"], x)[0]["ip"] is None and stack(g["stack"], x)[0]["module"] is None for x in reports if x["reason"] == "api" for g in x["groups"] if g["leaked"])
// EXPECT: all(any(f["lang"] is None and f["ip"] for f in stack(g["stack"], x)) for x in reports if x["reason"] == "api" for g in x["groups"])
// EXPECT: r["summary"]["leaked_closed"] == 4 and r["summary"]["live"] == 0
// EXPECT: sorted(l["leak"] for l in r["closed_late"]["sockets"]) == ["close_wait"] * 3 + ["unclosed"]
int main(void)
{
    return 0;
}
