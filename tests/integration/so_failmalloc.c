/*
 * so_failmalloc.c - a malloc that fails on request, preloaded in front of libc for
 * the memory-pressure tests (report_nomem.c, exit_nomem.c).
 *
 * failmalloc_arm(first, count): from now, allocations number first, first+1, ...,
 * first+count-1 (counting from 1) fail with ENOMEM; count < 0: every one from first on.
 * failmalloc_arm(0, 0) disarms. FAILMALLOC_AT_EXIT=1 in the environment arms
 * "every allocation fails" from this library's destructor on, which runs before the
 * shim writes its exit report. failmalloc_failed() counts the refusals.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_long calls, first, last; /* fail calls numbered [first, last] */
static atomic_long failed;

void failmalloc_arm(long from, long count)
{
    atomic_store(&calls, 0);
    atomic_store(&first, 0);
    atomic_store(&last, count < 0 ? __LONG_MAX__ : from + count - 1);
    atomic_store(&first, from);
}

long failmalloc_failed(void)
{
    return atomic_load(&failed);
}

static int refuse(void)
{
    long f = atomic_load(&first);
    if (f <= 0)
        return 0;
    long n = atomic_fetch_add(&calls, 1) + 1;
    if (n >= f && n <= atomic_load(&last)) {
        atomic_fetch_add(&failed, 1);
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *malloc(size_t n)
{
    return refuse() ? NULL : __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    return refuse() ? NULL : __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    return refuse() ? NULL : __libc_realloc(p, n);
}

void *aligned_alloc(size_t al, size_t n)
{
    return refuse() ? NULL : __libc_memalign(al, n);
}

int posix_memalign(void **out, size_t al, size_t n)
{
    if (refuse())
        return ENOMEM;
    void *p = __libc_memalign(al, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

__attribute__((destructor)) static void arm_at_exit(void)
{
    const char *e = getenv("FAILMALLOC_AT_EXIT");
    if (e && *e == '1')
        failmalloc_arm(1, -1);
}
