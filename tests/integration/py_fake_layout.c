// An interpreter whose memory does not have the layout of its version never crashes
// the program: Python frames are turned off (a line says so with verbose=2) and stacks
// keep their native frames. A fake CPython (so_fakepy.c), loaded late as
// libpython3.99.so as an embedding program would, claims 3.11 over junk, an unreadable
// page, or a code object of the wrong type, or claims 3.10 or 3.14, which sockleak does
// not know; with no thread state, nothing is read. (A runtime loaded late is looked for
// at a thread's first socket and every 16th after it: the sockets after the load are
// made by a new thread.)
// OPTIONS: verbose=2
// RUN: cp %B/tests/integration/so_fakepy.so %T/libpython3.99.so
// RUN: for what in junk unmapped wrongtype null; do %t %T/libpython3.99.so 030b02f0 $what; done
// RUN: %t %T/libpython3.99.so 030e00f0 null; %t %T/libpython3.99.so 030a0df0 null
// EXPECT: len([x for x in reports if x["reason"] == "api"]) == 6
// EXPECT: all(fn(s, 0, x) == "make_socket" and all(f["lang"] is None for f in stack(s["stack"], x)) for x in reports if x["reason"] == "api" for s in x["sockets"])
// EXPECT: all(len(x["sockets"]) == 2 for x in reports if x["reason"] == "api")
// EXPECT: err.count("Python frames off: the interpreter's memory does not have the layout of its version") == 3
// EXPECT: err.count("Python frames off: a Python version whose frame layout sockleak does not know") == 2
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>

#include "common.h"
#include "sockleak.h"

static NOINLINE int make_socket(void)
{
    return socket(AF_INET, SOCK_STREAM, 0);
}

static void *in_thread(void *arg)
{
    (void)arg;
    MUST(make_socket() >= 0);
    return NULL;
}

int main(int argc, char **argv)
{
    MUST(argc == 4);
    MUST(make_socket() >= 0); /* before the interpreter is loaded */
    void *py = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
    MUST(py != NULL);
    void (*set)(unsigned long, const char *) = (void (*)(unsigned long, const char *))dlsym(py, "fakepy_set");
    MUST(set != NULL);
    set(strtoul(argv[2], NULL, 16), argv[3]);
    sleep_ms(30); /* the shim looks for new runtimes at most every 10 ms */
    pthread_t t;
    MUST(pthread_create(&t, NULL, in_thread, NULL) == 0);
    MUST(pthread_join(t, NULL) == 0);
    MUST(sockleak_report() == 0);
    return 0;
}
