/*
 * self.c - who we are: the process's identity, the per-thread guard words, and the
 * sanitizer runtimes that share the process.
 *
 * The guard words are initial-exec TLS: reading or writing one allocates nothing and
 * takes no lock, so a wrapper may test them in any context, a signal handler or a vfork
 * child included. The identity is filled in at start-up and refreshed in fork children.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base.h"

__thread int sl_tls_guard SL_TLS;
__thread pid_t sl_tls_tid SL_TLS;
__thread int sl_tls_in_unwind SL_TLS;
__thread bool sl_tls_own_table SL_TLS;

pid_t sl_pid;
char sl_program[256] = "?";
char sl_tmpdir[256] = "/tmp";
int64_t sl_start_ns;
struct sl_attached sl_attached;

void sl_self_init(void)
{
    sl_pid = getpid();
    snprintf(sl_program, sizeof(sl_program), "%s",
             program_invocation_short_name && *program_invocation_short_name ? program_invocation_short_name : "?");
    sl_start_ns = sl_now_ns();
    /* $TMPDIR as the program started: a server may clear its environment later (nginx's
     * workers keep only TZ), and its reports' fallback file must not move. Not trusted
     * under secure execution. */
    const char *tmp = secure_getenv("TMPDIR");
    if (tmp && *tmp == '/' && strlen(tmp) < sizeof(sl_tmpdir))
        snprintf(sl_tmpdir, sizeof(sl_tmpdir), "%s", tmp);
}

void sl_self_after_fork(void)
{
    sl_pid = getpid();
    sl_tls_tid = 0;
}

pid_t sl_gettid_slow(void)
{
    return sl_tls_tid = (pid_t)SL_SYS(SYS_gettid);
}

/* bit 0: known; bit 1: some sanitizer; bit 2: ThreadSanitizer */
static int sanitizers(void)
{
    static _Atomic int known;
    int k = atomic_load_explicit(&known, memory_order_relaxed);
    if (!k) {
        static const char *const inits[] = { "__tsan_init", "__asan_init", "__msan_init", "__hwasan_init" };
        k = 1;
        for (size_t i = 0; i < SL_ARRAY_LEN(inits); i++)
            if (dlsym(RTLD_DEFAULT, inits[i]))
                k |= 2 | (i == 0 ? 4 : 0);
        atomic_store_explicit(&known, k, memory_order_relaxed);
    }
    return k;
}

bool sl_sanitized(void)
{
    return sanitizers() & 2;
}

bool sl_tsan(void)
{
    return sanitizers() & 4;
}
