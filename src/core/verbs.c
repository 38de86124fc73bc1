/*
 * verbs.c - what the wrappers tell the core: a socket was created, accepted, copied,
 * received, found; a close failed; a read returned end-of-file.
 *
 * Each verb builds a record (the creation time, the thread, the stack of the calling
 * code; for a copy, what the original's record says; for a socket from elsewhere, what
 * the kernel says about it), hands it to the registry, and, when it was recorded, wakes
 * what the core's hooks and the triggers need. The verbs run inside wrappers: no
 * malloc, no lock held across a system call; errno is left as it was.
 */
#define _GNU_SOURCE
#include <string.h>

#include "core.h"

/* fd was recorded: the worker (the first socket needs one) and the triggers. */
static inline void recorded(int fd)
{
    sl_need_worker();
    sl_trigger_created(fd);
}

/* Into the registry; then the worker and the triggers. */
static bool record(const struct sl_rec_info *i)
{
    if (!sl_reg_insert(i))
        return false;
    recorded(i->fd);
    return true;
}

static void base_info(struct sl_rec_info *i, int fd, int origin)
{
    memset(i, 0, sizeof(*i));
    i->fd = fd;
    i->origin = (uint8_t)origin;
    i->created_ns = i->open_seen_ns = sl_now_coarse_ns();
    i->tid = sl_gettid();
}

/* flatten (with the library's -flto): the registry's and the stack table's fast paths
 * compiled into this one function, no call and no register saved between them. */
__attribute__((flatten)) int sl_fd_new(int fd, uint64_t meta)
{
    sl_guard_enter();
    if (sl_reg_new(fd, meta, sl_stack_capture(), NULL, sl_now_coarse_ns()))
        recorded(fd);
    sl_guard_leave();
    return fd;
}

int sl_fd_created(int fd, int origin, int family, int type, int proto, const struct sockaddr *peer,
                  socklen_t peerlen)
{
    if (fd < 0)
        return fd;
    sl_guard_enter();
    struct sl_addr a;
    if (peer)
        sl_addr_from_sockaddr(&a, peer, peerlen);
    if (sl_reg_new(fd, SL_META(origin, family, type, proto), sl_stack_capture(), peer ? &a : NULL,
                   sl_now_coarse_ns()))
        recorded(fd);
    sl_guard_leave();
    return fd;
}

void sl_fd_accepted(int listen_fd, int fd, const struct sockaddr *peer, socklen_t peerlen)
{
    if (fd < 0)
        return;
    sl_guard_enter();
    int family = 0, type = 0, proto = 0;
    sl_reg_meta(listen_fd, &family, &type, &proto);
    if (peer && peerlen >= sizeof(sa_family_t) && (peer->sa_family == AF_INET || peer->sa_family == AF_INET6
                                                   || peer->sa_family == AF_UNIX))
        family = peer->sa_family;
    struct sl_addr a;
    sl_addr_from_sockaddr(&a, peer, peerlen);
    if (sl_reg_new(fd, SL_META(SL_ORIGIN_ACCEPT, family, type, proto), sl_stack_capture(), &a, sl_now_coarse_ns()))
        recorded(fd);
    sl_guard_leave();
}

__attribute__((flatten)) void sl_fd_dup(int oldfd, int newfd) /* as sl_fd_new */
{
    if (newfd < 0 || oldfd == newfd)
        return;
    sl_guard_enter();
    /* a copy of a recorded socket: its record, copied (the state bit says whether to
     * look; the registry has the last word) */
    uint32_t stack = 0;
    int r = -ENOENT;
    if (sl_fd_watched(oldfd) && (r = sl_reg_dup(oldfd, newfd, stack = sl_stack_capture())) == 0)
        recorded(newfd);
    uint64_t dev, ino;
    if (r == -ENOENT && sl_probe_inode(newfd, &dev, &ino) == 0) {
        /* oldfd is not recorded (another thread closed it after the copy was made, or
         * has not recorded it yet), but newfd is a socket the host holds */
        struct sl_rec_info i;
        base_info(&i, newfd, SL_ORIGIN_DUP);
        i.stack = stack ? stack : sl_stack_capture();
        record(&i);
    }
    sl_guard_leave();
}

void sl_fd_inherited(int fd, int family, int type, int proto)
{
    sl_guard_enter();
    struct sl_rec_info i;
    base_info(&i, fd, SL_ORIGIN_INHERITED);
    sl_rec_set_meta(&i, family, type, proto);
    record(&i);
    sl_guard_leave();
}

bool sl_fd_pre_attach(int fd, int family, int type, int proto, uint64_t dev, uint64_t ino, int64_t since_ns)
{
    sl_guard_enter();
    struct sl_rec_info o;
    unsigned adopted = 1u << SL_ORIGIN_INHERITED | 1u << SL_ORIGIN_UNSEEN | 1u << SL_ORIGIN_PRE_ATTACH;
    bool done = sl_reg_set_origin(fd, dev, ino, adopted, SL_ORIGIN_PRE_ATTACH);
    /* a record made through a wrapper since the attach (the GOT is routed before the
     * fds are listed) is the socket now at fd, whatever inode the listing read first */
    if (!done && !(sl_reg_lookup(fd, &o) && ((o.ino == ino && o.dev == dev) || o.created_ns >= since_ns))) {
        struct sl_rec_info i; /* not recorded, or a record of a socket closed meanwhile */
        base_info(&i, fd, SL_ORIGIN_PRE_ATTACH);
        sl_rec_set_meta(&i, family, type, proto);
        i.dev = dev, i.ino = ino;
        done = record(&i);
    }
    sl_guard_leave();
    return done;
}

void sl_fd_received(int fd)
{
    uint64_t dev, ino;
    int family, type, proto;
    sl_guard_enter();
    if (sl_probe_inode(fd, &dev, &ino) == 0) { /* a socket (files pass through SCM_RIGHTS too) */
        struct sl_rec_info i;
        base_info(&i, fd, SL_ORIGIN_SCM_RIGHTS);
        if (sl_probe_meta(fd, &family, &type, &proto) == 0)
            sl_rec_set_meta(&i, family, type, proto);
        i.dev = dev, i.ino = ino;
        i.stack = sl_stack_capture();
        record(&i);
        atomic_fetch_add_explicit(&sl_count.scm_rights, 1, memory_order_relaxed);
    }
    sl_guard_leave();
}

void sl_fd_unseen(int fd, int family, int type, int proto, uint64_t dev, uint64_t ino)
{
    sl_guard_enter();
    struct sl_rec_info i;
    base_info(&i, fd, SL_ORIGIN_UNSEEN);
    sl_rec_set_meta(&i, family, type, proto);
    i.dev = dev, i.ino = ino;
    record(&i);
    sl_guard_leave();
}

int sl_fd_ignore(int fd)
{
    if (fd < 0 || sl_ownfd_is(fd))
        return -EBADF; /* the shim's own fds: the host never opened them */
    int ret = 0;
    sl_guard_enter();
    if (!sl_reg_set_ignored(fd)) {
        uint64_t dev, ino;
        int family, type, proto;
        int r = sl_probe_inode(fd, &dev, &ino);
        if (r != 0) {
            ret = r == -ENOTSOCK ? -ENOTSOCK : -EBADF;
        } else {
            /* open, a socket, not recorded: adopt it as a scan would, then mark it */
            if (sl_probe_meta(fd, &family, &type, &proto) != 0)
                family = type = proto = 0;
            sl_fd_unseen(fd, family, type, proto, dev, ino);
            ret = sl_reg_set_ignored(fd) ? 0 : -ENOMEM;
        }
    }
    sl_guard_leave();
    return ret;
}

void sl_fd_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
    if (!addr || len < sizeof(sa_family_t) || (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
        return;
    sl_guard_enter();
    sl_reg_set_peer(fd, addr, len);
    sl_guard_leave();
}

void sl_fd_bad_close(int fd)
{
    if (!sl_fdstate_covers(fd) || !(sl_fdstate_get(fd) & SL_FD_CLOSED))
        return; /* never ours: a plain EBADF */
    sl_guard_enter();
    atomic_fetch_add_explicit(&sl_count.double_closes, 1, memory_order_relaxed);
    struct sl_dclose ev = { .fd = fd, .stack = sl_stack_capture() };
    sl_ring_push(&sl_dclose_ring, &ev, sizeof(ev));
    sl_guard_leave();
}

void sl_fd_learn_meta(struct sl_rec_info *i)
{
    int family, type, proto;
    if ((!i->family || !i->type) && sl_probe_meta(i->fd, &family, &type, &proto) == 0) {
        sl_rec_set_meta(i, family, type, proto);
        sl_fd_set_meta(i->fd, i->gen, family, type, proto);
    }
}

int sl_fd_recheck(const struct sl_rec_info *i, uint64_t *dev, uint64_t *ino)
{
    int pr = sl_probe_inode(i->fd, dev, ino);
    if (pr == -EBADF || pr == -ENOTSOCK || (pr == 0 && i->ino && (i->ino != *ino || i->dev != *dev))) {
        sl_fd_drop_stale(i->fd, i->gen); /* closed (and maybe reused) behind our back */
        return -ESTALE;
    }
    return pr;
}

void sl_fd_eof(int fd)
{
    struct sl_rec_info i;
    sl_guard_enter();
    if (sl_reg_lookup(fd, &i) && !i.eof_ns) {
        if (!i.type)
            sl_fd_learn_meta(&i); /* accepted from an untracked listener, say; a datagram socket is disarmed */
        if (i.type == SOCK_STREAM)
            sl_fd_set_eof(fd, i.gen, sl_stack_capture(), sl_now_coarse_ns());
    }
    sl_guard_leave();
}

long sl_fd_open_since(uint64_t cp)
{
    struct sl_rec_info *v;
    sl_guard_enter();
    long n = sl_fd_snapshot_since(cp, &v), open = 0;
    for (long k = 0; k < n; k++) {
        uint64_t dev, ino;
        if (!v[k].ignored && sl_fd_recheck(&v[k], &dev, &ino) != -ESTALE)
            open += !sl_probe_listening(v[k].fd);
    }
    if (n >= 0)
        sl_big_free(v);
    sl_guard_leave();
    return n < 0 ? n : open;
}
