// Python frames in CPython 3.12 (frame layout from its headers) and 3.13 (the offsets
// it publishes in _PyRuntime, _Py_DebugOffsets): pyenv's interpreters, when installed.
// REQUIRES: pyenv
// OPTIONS: close_wait_after=200ms:scan_interval=50ms
// RUN: PYENV_VERSION=3.12 pyenv exec python3 %S/lang/two_sites.py; PYENV_VERSION=3.13 pyenv exec python3 %S/lang/two_sites.py
// EXPECT: len([x for x in reports if x["reason"] == "api"]) == 2
// EXPECT: [sorted((h["function"], h["line"], g["leaked"]) for g in x["groups"] if g["leaked"] for h in [[f for f in stack(g["stack"], x) if f["lang"] == "python" and not f["file"].endswith("/socket.py")][0]]) for x in reports if x["reason"] == "api"] == [[("fetch_item", 9, 2), ("ping_health", 14, 1)]] * 2
// EXPECT: sorted({f["file"].split("/")[-2] for x in reports if x["reason"] == "api" for g in x["groups"] for f in stack(g["stack"], x) if f["lang"] and f["file"].endswith("/socket.py")}) == ["python3.12", "python3.13"]
int main(void)
{
    return 0;
}
