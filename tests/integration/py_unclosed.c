// A socket the program drops unclosed is closed by CPython's finalizer: when its
// reference count drops to zero (PyObject_CallFinalizerFromDealloc among the native
// callers) or the cyclic collector finalizes it (gc.collecting). That is what CPython's
// ResourceWarning calls unclosed: the exit report counts them in leaked_closed, kind
// "unclosed", with their stacks; sockets the program closes (socket.close(), os.close()
// of a detached fd) are not counted (lang/unclosed.py).
// REQUIRES: /usr/bin/python3.11
// RUN: /usr/bin/python3.11 %S/lang/unclosed.py
// EXPECT: r["summary"]["leaked_closed"] == 2 and r["summary"]["live"] == 0
// EXPECT: sorted((l["leak"], [f["function"] for f in stack(l["stack"]) if f["lang"] and f["file"].endswith("unclosed.py")][0]) for l in r["closed_late"]["sockets"]) == [("unclosed", "drop_in_cycle"), ("unclosed", "drop_unclosed")]
int main(void)
{
    return 0;
}
