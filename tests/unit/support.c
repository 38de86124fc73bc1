/*
 * support.c - what init.c provides in the shim, for unit tests that link the modules
 * directly: the per-thread guard, the core state (always ready), the process identity.
 */
#define _GNU_SOURCE
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

__thread int sl_tls_guard __attribute__((tls_model("initial-exec")));
__thread pid_t sl_tls_tid __attribute__((tls_model("initial-exec")));
_Atomic int sl_core_state = 2;
pid_t sl_pid;
char sl_program[256] = "unit-test";

pid_t sl_gettid(void)
{
    if (!sl_tls_tid)
        sl_tls_tid = (pid_t)syscall(SYS_gettid);
    return sl_tls_tid;
}

void sl_init_core(void)
{
}
