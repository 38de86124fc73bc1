/*
 * iochild.c - the shim's file I/O, done in a child with its own fd table.
 *
 * Every open() takes the lowest free fd number, even for a moment: a report that opened
 * its log file or a module's symbol table in the host's fd table would make the host's
 * next socket() get another number than it would have, and a host that sweeps its fds
 * (closefrom, a close loop) could close ours from under us, or hand us one of its own.
 * And when the host is out of fds, the report that says so could not open anything.
 *
 * So the shim does its file work in a child created with clone(CLONE_VM | CLONE_VFORK)
 * and without CLONE_FILES: it shares our memory (what it maps, reads or allocates stays
 * with us) but has its own copy of the fd table, in which every fd it opens lives and
 * dies. When that copy is full (EMFILE), the child closes its copies first: the host's
 * fds are untouched. The calling thread is suspended until the child exits (that is
 * what CLONE_VFORK does), so the child may use that thread's TLS (errno) freely; all
 * signals are blocked around it, and its exit signal is 0, so no SIGCHLD reaches the
 * host and a host reaping with waitpid(-1) never sees it. Callers hold the work lock
 * (core/requests.c), which the fork handlers take. If clone() is refused (seccomp, NPROC),
 * the work is done in place, as before.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fd.h"

#define STACK (2 * 1024 * 1024) /* libdw and realpath() want room; only touched pages count */
#define GUARD 4096

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char *stack;
static volatile bool child_running; /* under lock: the work runs in the child */

struct call {
    long (*fn)(void *);
    void *arg;
    long result;
    volatile int ran; /* set by the child: proof that it ran in our memory */
};
/* A clone that does not share memory (valgrind runs CLONE_VM children as forks): the
 * child's work never comes back, so from then on the work is done in place. */
static bool unshared_clones;

static int child_main(void *p)
{
    struct call *c = p;
    child_running = true;
    c->result = c->fn(c->arg);
    child_running = false;
    c->ran = 1;
    return 0;
}

long sl_iochild_run(long (*fn)(void *), void *arg)
{
    int saved = errno;
    pthread_mutex_lock(&lock);
    if (!stack) {
        /* with a guard page below: running out of stack kills the child, nothing else */
        char *p = mmap(NULL, GUARD + STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                       -1, 0);
        if (p != MAP_FAILED && mprotect(p, GUARD, PROT_NONE) == 0)
            stack = p + GUARD;
        else if (p != MAP_FAILED)
            munmap(p, GUARD + STACK);
    }
    struct call c = { fn, arg, -ENOSYS, 0 };
    long r;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (!unshared_clones && sl_tsan())
        unshared_clones = true; /* ThreadSanitizer would see the child's work as this thread's */
    int pid = stack && !unshared_clones ? real_clone(child_main, stack + STACK, CLONE_VM | CLONE_VFORK, &c) : -1;
    if (pid > 0) {
        int st;
        while (waitpid(pid, &st, __WCLONE) < 0 && errno == EINTR)
            ;
        if (c.ran) {
            r = c.result;
        } else {
            unshared_clones = true;
            r = fn(arg);
        }
    } else {
        r = fn(arg); /* no child allowed here: in place */
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_unlock(&lock);
    errno = saved;
    return r;
}

void sl_iochild_after_fork_child(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    lock = fresh;
}

/* ---- what runs aside: raw system calls only ---- */

/* open(), and if this fd table is full, empty it first (it is the child's copy; in
 * place, the spare fds would be the only way, and there are none: give up). */
static int open_aside(const char *path, int flags, mode_t mode, bool in_child)
{
    int fd = (int)SL_SYS(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, mode);
    if ((fd == -EMFILE || fd == -ENFILE) && in_child) {
        SL_SYS(SYS_close_range, 0, ~0U, 0);
        fd = (int)SL_SYS(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, mode);
    }
    return fd;
}

static bool in_child(void)
{
    return child_running;
}

struct map_arg {
    const char *path;
    void *addr;
    size_t len;
};

static long do_map(void *p)
{
    struct map_arg *a = p;
    int fd = open_aside(a->path, O_RDONLY, 0, in_child());
    if (fd < 0)
        return fd;
    struct stat st;
    long r = -EINVAL;
    if (SL_SYS(SYS_fstat, fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        long m = SL_SYS(SYS_mmap, NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m < 0 && m > -4096) {
            r = m;
        } else {
            a->addr = (void *)m;
            a->len = (size_t)st.st_size;
            r = 0;
        }
    }
    SL_SYS(SYS_close, fd);
    return r;
}

int sl_iochild_map(const char *path, void **addr, size_t *len)
{
    struct map_arg a = { path, NULL, 0 };
    long r = sl_iochild_run(do_map, &a);
    if (r == 0) {
        *addr = a.addr;
        *len = a.len;
    }
    return (int)r;
}

struct read_arg {
    const char *path;
    char *buf;
    size_t cap, len;
};

static long do_read(void *p)
{
    struct read_arg *a = p;
    int fd = open_aside(a->path, O_RDONLY, 0, in_child());
    if (fd < 0)
        return fd;
    a->len = 0;
    while (a->len + 1 < a->cap) {
        long n = SL_SYS(SYS_read, fd, a->buf + a->len, a->cap - 1 - a->len);
        if (n == -EINTR)
            continue;
        if (n <= 0)
            break;
        a->len += (size_t)n;
    }
    a->buf[a->len] = '\0';
    SL_SYS(SYS_close, fd);
    return (long)a->len;
}

long sl_iochild_read(const char *path, char *buf, size_t cap)
{
    if (cap == 0)
        return -EINVAL;
    struct read_arg a = { path, buf, cap, 0 };
    return sl_iochild_run(do_read, &a);
}

struct many_arg {
    const char *const *paths;
    size_t n;
    char (*bufs)[64];
    long *lens;
};

static long do_read_many(void *p)
{
    struct many_arg *a = p;
    for (size_t i = 0; i < a->n; i++) {
        struct read_arg one = { a->paths[i], a->bufs[i], sizeof(a->bufs[i]), 0 };
        a->lens[i] = do_read(&one);
    }
    return 0;
}

void sl_iochild_read_many(const char *const *paths, size_t n, char (*bufs)[64], long *lens)
{
    struct many_arg a = { paths, n, bufs, lens };
    if (sl_iochild_run(do_read_many, &a) != 0)
        for (size_t i = 0; i < n; i++)
            lens[i] = -EIO;
}

struct append_arg {
    const char *path;
    const char *data;
    size_t len;
};

static long do_append(void *p)
{
    struct append_arg *a = p;
    /* O_NONBLOCK for the open only: a FIFO that nobody reads fails (ENXIO) instead of
     * blocking, for good, the host's exit that wanted to write its report there; it is
     * given a second for a reader to turn up. Writes then block as usual. */
    int fd = -ENXIO;
    for (int tries = 0; tries < 100 && fd == -ENXIO; tries++) {
        if (tries) {
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            SL_SYS(SYS_nanosleep, &ts, NULL);
        }
        fd = open_aside(a->path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0600, in_child());
    }
    if (fd < 0)
        return fd;
    SL_SYS(SYS_fcntl, fd, F_SETFL, O_WRONLY | O_APPEND);
    struct stat st;
    if (SL_SYS(SYS_fstat, fd, &st) != 0 || (S_ISREG(st.st_mode) && st.st_uid != geteuid())) {
        SL_SYS(SYS_close, fd);
        return -EPERM; /* someone else's file: never ours to write */
    }
    long r = sl_write_all(fd, a->data, a->len);
    SL_SYS(SYS_close, fd);
    return r;
}

int sl_iochild_append(const char *path, const char *data, size_t len)
{
    struct append_arg a = { path, data, len };
    return (int)sl_iochild_run(do_append, &a);
}
