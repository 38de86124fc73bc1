/*
 * sys.c - small system helpers every layer uses: one write-all loop, one walker of a
 * loaded object's PT_LOAD segments, signal() expressed as a sigaction, and a read of
 * the process's own memory that cannot fault.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include "base.h"

int sl_write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        long w = SL_SYS(SYS_write, fd, c, n);
        if (w == -EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? (int)w : -EIO;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

bool sl_phdr_bounds(const struct dl_phdr_info *info, uintptr_t *lo, uintptr_t *hi)
{
    uintptr_t l = UINTPTR_MAX, h = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uintptr_t s = info->dlpi_addr + ph->p_vaddr, e = s + ph->p_memsz;
        l = s < l ? s : l;
        h = e > h ? e : h;
    }
    *lo = l;
    *hi = h;
    return l < h;
}

struct holder {
    uintptr_t addr, lo, hi;
    bool found;
};

static int find_holder(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct holder *h = arg;
    uintptr_t lo, hi;
    if (!sl_phdr_bounds(info, &lo, &hi) || h->addr < lo || h->addr >= hi)
        return 0;
    h->lo = lo, h->hi = hi, h->found = true;
    return 1;
}

bool sl_module_bounds(const void *addr, uintptr_t *lo, uintptr_t *hi)
{
    struct holder h = { (uintptr_t)addr, 0, 0, false };
    dl_iterate_phdr(find_holder, &h);
    *lo = h.lo;
    *hi = h.hi;
    return h.found;
}

void *sl_map_zeroed(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int sl_peek(void *dst, uintptr_t src, size_t n)
{
    if (!n)
        return 0;
    if (src < 4096 || src + n < src || src + n > 0x800000000000ull)
        return -EFAULT;
    struct iovec local = { dst, n }, remote = { (void *)src, n };
    long r = SL_SYS(SYS_process_vm_readv, SL_SYS(SYS_getpid), &local, 1, &remote, 1, 0);
    return r == (long)n ? 0 : r < 0 ? (int)r : -EFAULT;
}

void sl_signal_as_sigaction(int sig, sighandler_t handler, int flags, bool mask_self, struct sigaction *act)
{
    memset(act, 0, sizeof(*act));
    act->sa_handler = handler;
    sigemptyset(&act->sa_mask);
    if (mask_self)
        sigaddset(&act->sa_mask, sig);
    act->sa_flags = flags;
}

/* The loader's own lock (taken by dl_iterate_phdr, dladdr) is not taken by glibc's fork:
 * a fork while the report thread walks the loaded modules leaves the child with it
 * locked forever. So the shim's walks happen under sl_dl_lock, which the fork handlers
 * take (runtime/children.c): the fork waits for the walk to end. */
static pthread_mutex_t dl_lock = PTHREAD_MUTEX_INITIALIZER;

void sl_dl_lock(void)
{
    pthread_mutex_lock(&dl_lock);
}

bool sl_dl_trylock(void)
{
    return pthread_mutex_trylock(&dl_lock) == 0;
}

void sl_dl_unlock(void)
{
    pthread_mutex_unlock(&dl_lock);
}


static void *libdw;
static pthread_once_t libdw_once = PTHREAD_ONCE_INIT;

static void load_libdw(void)
{
    libdw = dlopen("libdw.so.1", RTLD_NOW | RTLD_LOCAL);
}

void *sl_libdw(void)
{
    pthread_once(&libdw_once, load_libdw);
    return libdw;
}
