/*
 * fdstate.c - a byte of state per fd number (fd.h says what each means).
 *
 * The map covers every number the kernel can hand out (fs.nr_open, capped at 2^26):
 * a byte each, reserved with MAP_NORESERVE, so only pages where fds really are cost
 * memory. The registry sets a number's byte with a plain store under its record's
 * lock; every other change is one atomic operation on it, so close() of a number
 * nobody watches costs one relaxed load (fd.h).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/mman.h>

#include "fd.h"

_Atomic uint8_t *sl_fdmap;
_Atomic unsigned sl_fdmap_n;
_Atomic int sl_fdmap_hi = -1;

void sl_fdstate_raise_hi(int fd)
{
    int hi = atomic_load_explicit(&sl_fdmap_hi, memory_order_relaxed);
    while (fd > hi && !atomic_compare_exchange_weak(&sl_fdmap_hi, &hi, fd))
        ;
}

void sl_fdstate_update(int fd, unsigned clear, unsigned set)
{
    if (!sl_fdstate_covers(fd))
        return;
    _Atomic uint8_t *b = &sl_fdmap[(unsigned)fd];
    uint8_t old = atomic_load_explicit(b, memory_order_relaxed), nb;
    do
        nb = (uint8_t)((old & ~clear) | set);
    while (nb != old && !atomic_compare_exchange_weak(b, &old, nb));
    if (set & SL_FD_WATCH)
        sl_fdstate_raise_hi(fd);
}

int sl_fdstate_next_watched(unsigned from, unsigned to)
{
    int top = atomic_load(&sl_fdmap_hi);
    unsigned n = atomic_load_explicit(&sl_fdmap_n, memory_order_acquire);
    if (!n || top < 0)
        return -1;
    unsigned end = to < (unsigned)top ? to : (unsigned)top;
    for (unsigned fd = from; fd <= end && fd < n; fd++)
        if (atomic_load_explicit(&sl_fdmap[fd], memory_order_relaxed) & SL_FD_WATCH)
            return (int)fd;
    return -1;
}

static unsigned read_nr_open(void)
{
    unsigned n = 1u << 20;
    FILE *f = fopen("/proc/sys/fs/nr_open", "re");
    if (f) {
        if (fscanf(f, "%u", &n) != 1)
            n = 1u << 20;
        fclose(f);
    }
    if (n > (1u << 26))
        n = 1u << 26; /* 64 MiB of address space, touched only where fds are */
    return (n + 63) & ~63u;
}

int sl_fdstate_init(void)
{
    if (sl_fdmap)
        return 0;
    unsigned n = read_nr_open();
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -ENOMEM; /* every close takes the slow path; still correct */
    sl_fdmap = p;
    atomic_store_explicit(&sl_fdmap_n, n, memory_order_release); /* the map, then its size */
    return 0;
}
