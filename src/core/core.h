/*
 * core.h - the core layer: what the shim knows about the program's sockets. Uses fd
 * and base; never starts a thread or writes a report itself: where it must wake the
 * layers above, it calls the hook they set once at start-up (sl_core_set_hooks).
 *
 *   ring.c      lock-free event rings (late closes, double closes)
 *   intern.c    tables of immutable entries, lock-free to read (the language frames')
 *   locs.c      source locations (function, file, line) interned to small ids
 *   pystack.c   the calling thread's Python frames, read from CPython's memory
 *   jvmstack.c  the calling thread's Java frames (JVMTI); their names when reporting
 *   langstack.c which runtimes the process holds; the language frames of a capture
 *   unwind.c    a fast unwinder: one rule per return address, from the modules' CFI
 *   stacks.c    allocation stacks: capture (unwind.c, else libunwind; and language
 *               frames) and a deduplicated table
 *   requests.c  reports asked for (bits and a futex), the work lock, the hooks
 *   registry.c  the live sockets' records, indexed by fd number, under striped locks;
 *               its counters
 *   triggers.c  reports when trouble starts (EMFILE, fd_threshold, max_sockets)
 *   verbs.c     what wrappers tell the core: a socket was created, accepted, copied,
 *               received... (they probe the kernel and capture stacks)
 *   jsstack.c   JavaScript frames Node hands over for a socket it made
 */
#ifndef SOCKLEAK_CORE_H
#define SOCKLEAK_CORE_H

#include <pthread.h>

#include "fd/fd.h"

/* ---- ring.c: fixed-size event rings, written from anywhere, read by the reporter ---- */
#define SL_RING 512
struct sl_ring_slot {
    _Atomic uint64_t seq;
    _Atomic uint64_t w[4];
};
struct sl_ring {
    struct sl_ring_slot slot[SL_RING];
    _Atomic uint64_t head;
    uint64_t taken; /* the reader's, under the work lock */
};
/* Push an event of up to 4 words. Never blocks; an event that meets a slot being
 * written is dropped (the reader counts it lost). */
void sl_ring_push(struct sl_ring *r, const void *ev, size_t size);
/* Take the events since the last call into out (each size bytes, at most max);
 * events overwritten, half-written or beyond max are added to *lost. */
size_t sl_ring_take(struct sl_ring *r, void *out, size_t size, size_t max, long *lost);

/* ---- intern.c: entries found by hash; lock-free lookups, adds under a mutex ---- */
struct sl_ientry {       /* the head of every entry */
    uint64_t hash;
    uint32_t id;         /* 1, 2, ... in the order added */
};
struct sl_itab {         /* static, with .lock = PTHREAD_MUTEX_INITIALIZER and .max set */
    pthread_mutex_t lock;
    uint32_t max;        /* entries at most */
    uint32_t mask;
    _Atomic(struct sl_ientry *) *slot;
    _Atomic(_Atomic(struct sl_ientry *) *) published;
    struct sl_ientry **by_id;
    _Atomic uint32_t n;
    long full;           /* adds refused: the table was full */
    char *cur, *end;     /* the arena entries are copied into */
};
/* The entry with this hash for which eq(entry, key) holds, or NULL. No lock. Inline, so
 * that a constant eq is too: it runs for every frame of every capture. */
static inline __attribute__((always_inline)) void *sl_itab_find(struct sl_itab *t, uint64_t hash,
                                                                bool (*eq)(const void *entry, const void *key),
                                                                const void *key)
{
    _Atomic(struct sl_ientry *) *slot = atomic_load_explicit(&t->published, memory_order_acquire);
    if (!slot)
        return NULL;
    for (uint32_t i = (uint32_t)hash & t->mask, probe = 0; probe <= t->mask; probe++, i = (i + 1) & t->mask) {
        struct sl_ientry *e = atomic_load_explicit(&slot[i], memory_order_acquire);
        if (!e)
            return NULL;
        if (e->hash == hash && eq(e, key))
            return e;
    }
    return NULL;
}
/* Find, else add an entry of size bytes, filled by fill(entry, key) under the table's
 * lock (hash and id are set). NULL if the table is full or memory ran out. No malloc. */
void *sl_itab_add(struct sl_itab *t, uint64_t hash, bool (*eq)(const void *entry, const void *key), const void *key,
                  size_t size, void (*fill)(void *entry, const void *key));
void *sl_itab_get(struct sl_itab *t, uint32_t id); /* NULL if no such id */
uint32_t sl_itab_count(struct sl_itab *t);
void sl_itab_lock_all(void);   /* fork: every table in use */
void sl_itab_unlock_all(void);

/* ---- language frames: locs.c, pystack.c, jvmstack.c, langstack.c, jsstack.c ----
 * A stack may hold, after its native return addresses, the frames of the Python, Java
 * or JavaScript code that made the socket, innermost first. Python and JavaScript
 * frames are source locations, resolved when captured; Java frames are (method,
 * bytecode index), named when reporting. */
enum sl_lang { SL_LANG_NONE = 0, SL_LANG_PYTHON, SL_LANG_JAVA, SL_LANG_JS };
const char *sl_lang_name(int lang); /* "python", "java", "js"; NULL for none */
struct sl_lframe {
    uintptr_t ref;  /* python, js: a location id (sl_loc_get); java: a jmethodID */
    intptr_t pos;   /* java: the bytecode index (-1: a native method); python: flags */
};
#define SL_LF_ENTRY 1 /* python: the first frame an interpreter loop ran (the loop's C frame is below it) */
#define SL_LOC_TEXT 512 /* bytes kept of a function or file name */
struct sl_loc {
    uint8_t lang;
    int line, column;             /* 0: unknown */
    const char *function, *file;  /* never NULL; "" when unknown */
};
/* Intern a location (strings of the given lengths, cut to SL_LOC_TEXT): its id, 0 if
 * the table is full. Takes a lock, no malloc. */
uint32_t sl_loc_intern(int lang, const char *function, size_t flen, const char *file, size_t filelen, int line,
                       int column);
const struct sl_loc *sl_loc_get(uint32_t id); /* NULL for an unknown id */

/* pystack.c: CPython 3.11-3.13. probe: look for an interpreter in the process (at
 * start-up, and when a libpython is loaded); true if its frames can be read. */
int sl_py_probe(void);
/* The calling thread's Python frames, innermost first, into out: the count (0: none,
 * or Python frames are off). No malloc, no GIL, no reference counts. */
int sl_py_capture(struct sl_lframe *out, int max);
/* Who closes a socket the program made in Python, now, on this thread: the program
 * (socket.close(), os.close()), or CPython's finalizer of the socket object (the
 * program dropped it unclosed: the garbage collector, interpreter shutdown), or ASK:
 * a native caller that sl_py_finalizer_ip() recognizes says it is the finalizer. */
enum { SL_PY_CLOSE_PROGRAM, SL_PY_CLOSE_FINALIZER, SL_PY_CLOSE_ASK };
int sl_py_close_kind(void);
bool sl_py_finalizer_ip(uintptr_t ip);

/* jvmstack.c: a JVM in the process. probe: libjvm is loaded and the VM made (true);
 * loaded: libjvm is, the VM is not made yet. */
bool sl_jvm_probe(void);
bool sl_jvm_loaded(void);
/* The calling Java thread's frames (GetStackTrace), innermost first; 0 on any other
 * thread, or when caller (the return address of the socket call) is in the VM itself. */
int sl_jvm_capture(struct sl_lframe *out, int max, uintptr_t caller);
/* Report time: name the methods seen so far (attaching this thread to the VM for the
 * time it takes, if it is not a Java thread). */
void sl_jvm_resolve(void);
/* A method's name ("pkg.Class.method"), source file (may be NULL) and the line of bci
 * (0: unknown), if it was resolved. */
bool sl_jvm_method(uintptr_t method, intptr_t bci, const char **function, const char **file, int *line);
/* The shim loaded as a JVMTI agent (Agent_OnLoad, Agent_OnAttach) with this JavaVM*. */
int sl_jvm_agent(void *javavm);

/* langstack.c */
void sl_lang_init(void);
/* The runtimes found in the process, and each thread's count of its captures. */
#define SL_LANG_FOUND_PY 1         /* a CPython whose frames can be read */
#define SL_LANG_FOUND_JVM 2        /* a JVM, made */
#define SL_LANG_FOUND_JVM_LOADED 4 /* libjvm loaded, its VM not made yet */
extern _Atomic int sl_lang_found;
extern __thread unsigned sl_lang_tick SL_TLS;
static inline bool sl_lang_python(void)
{
    return atomic_load_explicit(&sl_lang_found, memory_order_relaxed) & SL_LANG_FOUND_PY;
}
/* Called once per capture: true when the capture may skip language frames altogether
 * (no runtime found, and this is not one of the thread's captures that look for one
 * again: its 1st, 17th...). When it says false, sl_lang_poll() looks (at most every
 * 10 ms in the process, and only if a module was loaded since) and says whether a
 * runtime is there now, whose frames sl_lang_capture* then read. */
bool sl_lang_poll(void);
static inline bool sl_lang_quiet(void)
{
    unsigned t = sl_lang_tick++;
    return SL_LIKELY(!atomic_load_explicit(&sl_lang_found, memory_order_relaxed)) && SL_LIKELY(t & 15);
}
/* The language frames of the calling thread's code, innermost first: the count, and
 * *lang. No malloc; safe in wrappers; errno kept. capture: the runtimes read before the
 * native stack (Python); capture_native: those that look at the first native frame
 * outside the shim, caller (Java). A capture that skips both (sl_lang_quiet) has no
 * language frames. */
int sl_lang_capture(struct sl_lframe *out, int max, uint8_t *lang);
int sl_lang_capture_native(struct sl_lframe *out, int max, uintptr_t caller, uint8_t *lang);
/* How many native frames to keep (of depth) below language frames (native_frames). */
int sl_lang_native_depth(int depth);

/* jsstack.c: Node's hook says the socket on fd (made by this thread) was asked for
 * by this JavaScript stack: "function\tfile\tline\tcolumn" lines, innermost first.
 * 0, -ENOENT (fd not recorded), -ESRCH (another thread made it), -EEXIST (it has
 * language frames already), -ENOMEM. */
int sl_js_note(int fd, const char *text, size_t len);

/* ---- stacks.c ---- */
struct sl_stack {
    uint64_t hash;
    uint32_t id;
    uint16_t depth; /* native frames */
    uint8_t lang;   /* enum sl_lang of its language frames */
    uint8_t nlang;  /* language frames, stored after the native ones */
    uintptr_t ip[]; /* return addresses, frame 0 = first frame outside the shim; then nlang struct sl_lframe */
};
static inline const struct sl_lframe *sl_stack_lframes(const struct sl_stack *s)
{
    return (const struct sl_lframe *)(s->ip + s->depth);
}
int sl_stacks_init(void);
/* Capture the caller's stack and return its id (0 = none: depth 0, reentrant call,
 * capture failure or table full). Safe in signal handlers; never allocates with malloc;
 * keeps errno. */
uint32_t sl_stack_take(int depth);
static inline uint32_t sl_stack_capture(void)
{
    int depth = sl_opt.stack_depth;
    return depth > 0 ? sl_stack_take(depth) : 0;
}
const struct sl_stack *sl_stack_get(uint32_t id);
uint32_t sl_stack_max_id(void);
/* Which unwinder is in use ("libunwind", "backtrace", "none"). */
const char *sl_stack_unwinder(void);
/* Intern an already captured array (for tests and imports); with language frames. */
uint32_t sl_stack_intern(const uintptr_t *ip, int depth);
uint32_t sl_stack_intern_lang(const uintptr_t *ip, int depth, int lang, const struct sl_lframe *lf, int nlang);
/* The caller's native return addresses (the shim's frames left out), uninterned: the count. */
int sl_stack_unwind(uintptr_t *ip, int max);
long sl_stack_overflow(void);     /* stacks not stored because the table was full */
/* Count a socket opened (or closed) by stack id (0 = no stack). Lock-free: one atomic
 * add to the stack's counts (sl_stack_counts_tab, by id: a static array, so that a
 * count is one add at a fixed address; untouched pages of it cost no memory). Its
 * size is a power of two above the highest id, so an index is masked, not compared. */
struct sl_stack_counts {
    _Atomic long opened, closed;
};
#define SL_MAX_STACKS 49152
#define SL_STACK_COUNTS 65536
_Static_assert(SL_STACK_COUNTS > SL_MAX_STACKS && (SL_STACK_COUNTS & (SL_STACK_COUNTS - 1)) == 0, "a mask");
extern struct sl_stack_counts sl_stack_counts_tab[SL_STACK_COUNTS];
static inline void sl_stack_note(uint32_t id, bool opened)
{
    struct sl_stack_counts *c = &sl_stack_counts_tab[id & (SL_STACK_COUNTS - 1)];
    atomic_fetch_add_explicit(opened ? &c->opened : &c->closed, 1, memory_order_relaxed);
}
void sl_stack_counts(uint32_t id, long *opened, long *closed);
void sl_stack_move(uint32_t from, uint32_t to); /* a socket counted as opened by from was opened by to */
void sl_stacks_lock(void);        /* fork: keep the table consistent in the child */
void sl_stacks_unlock(void);

/* ---- unwind.c: the fast unwinder (rules cached per return address) ---- */
int sl_unwind_init(void);
/* Return addresses from the caller up, at most max, leaving out the first frames that
 * are in [skip_lo, skip_hi) (the shim's own); -1 when a frame has no rule yet (it is
 * queued for the worker) or cannot have one; SL_UNWIND_REPLAYED, with *tag set, when
 * the stack is one this thread walked lately and tagged with sl_unwind_remember (then
 * out is not filled). No lock, no allocation, no system call. */
#define SL_UNWIND_REPLAYED (-2)
int sl_unwind_fast(uintptr_t *out, int max, uintptr_t skip_lo, uintptr_t skip_hi, uint32_t *tag);
/* Tag this thread's last complete walk (with its stack id), for a replay. */
void sl_unwind_remember(uint32_t tag);
/* Queue the addresses of a stack another unwinder walked, for rules. */
void sl_unwind_want(const uintptr_t *ips, int n);
/* The worker: make and publish the rules asked for (files read in the I/O child). */
void sl_unwind_fill(void);
/* dlclose(): addresses may be reused by the next module; the rules are dropped. */
void sl_unwind_forget(void);
void sl_unwind_note_mismatch(void);
void sl_unwind_stats(long *fast, long *fallback, long *mismatch);

/* ---- requests.c: reports asked for, and the work they take ----
 * Anything may ask for a report (a signal handler, a trigger in a wrapper): the
 * reason's bit is set and the worker woken (atomics and one futex wake:
 * async-signal-safe). The worker, above, takes the bits with sl_requests_take. */
enum sl_reason { SL_REASON_EXIT, SL_REASON_SIGNAL, SL_REASON_EMFILE, SL_REASON_THRESHOLD,
                 SL_REASON_API, SL_REASON_INTERVAL, SL_REASON_DUMP };
struct sl_core_hooks {
    /* the process has a socket (or a request) and needs its background thread:
     * idempotent and cheap when it runs already */
    void (*need_worker)(void);
};
void sl_core_set_hooks(const struct sl_core_hooks *h); /* once, at start-up */
/* Set while the layer above's thread runs (by that layer; a futex word of its own
 * too): a socket then needs no call to make sure. */
extern _Atomic int sl_worker_started;
void sl_need_worker_call(void);
static inline void sl_need_worker(void)
{
    if (SL_UNLIKELY(!atomic_load_explicit(&sl_worker_started, memory_order_relaxed)))
        sl_need_worker_call();
}
/* Async-signal-safe: ask for a report with this reason. */
void sl_request(int reason);
/* Async-signal-safe: wake the worker for its own work (no report). */
void sl_wake_worker(void);
unsigned sl_requests_take(void);        /* the pending bits, cleared */
bool sl_requests_pending(void);
/* The futex word the worker sleeps on, and its wake-up count. */
extern _Atomic uint32_t sl_wake_word;
/* An eventfd a request also writes to (in the program's fd table; -1: none), so a
 * worker that sleeps in poll() is woken too. */
void sl_requests_set_wake_fd(int fd);
int sl_requests_wake_fd(void);
void sl_requests_after_fork_child(void);
/* The work lock: held by every report and by each unit of the worker's work; the fork
 * handlers take it first. Recursive (a scan may write a report). */
void sl_work_lock(void);
void sl_work_unlock(void);
void sl_work_after_fork_child(void);

/* ---- registry.c: the registry of live socket fds ---- */
enum sl_origin {
    SL_ORIGIN_SOCKET = 1,
    SL_ORIGIN_SOCKETPAIR,
    SL_ORIGIN_ACCEPT,
    SL_ORIGIN_DUP,
    SL_ORIGIN_INHERITED,
    SL_ORIGIN_UNKNOWN,
    SL_ORIGIN_SCM_RIGHTS, /* received through recvmsg(SCM_RIGHTS) */
    SL_ORIGIN_UNSEEN,     /* found open by a scan, created where the shim could not see */
    SL_ORIGIN_PRE_ATTACH, /* open when the shim was attached to the running process */
};
const char *sl_origin_name(int origin);

struct sl_rec_info {     /* what a record says about one socket; copied out by snapshots */
    int fd;
    uint32_t stack;      /* stack id of the call that produced this fd (0 = none) */
    uint32_t orig_stack; /* for dups: the stack of the socket it copies */
    uint32_t eof_stack;  /* stack of the first read that returned end-of-file on it (0 = none) */
    pid_t tid;
    uint8_t origin;      /* enum sl_origin */
    uint8_t type;        /* SOCK_STREAM, ... (flags masked); 0 = unknown yet */
    uint16_t family;     /* AF_*; 0 = unknown yet */
    uint16_t proto;
    uint8_t tcp_state;   /* last state seen by a scan (0 = none) */
    uint8_t reported_leak; /* enum sl_leak a scan or report flagged it with (0 = never) */
    uint8_t ignored;     /* sockleak_ignore(): long-lived on purpose, never a leak (dups inherit it) */
    uint8_t forked;      /* the record was copied by fork: the parent holds this socket too */
    uint64_t gen;        /* unique per record, increasing: identity for lock-free round trips, and
                            the order of creation (sl_fd_checkpoint) */
    uint64_t dev, ino;   /* from fstat; ino 0 = not yet checked */
    int64_t created_ns;  /* CLOCK_MONOTONIC */
    int64_t close_wait_ns; /* when it entered CLOSE_WAIT (estimate, never early), 0 = not in it */
    int64_t open_seen_ns;  /* last time a probe saw it in another state (or its creation) */
    int64_t reported_ns;   /* when a scan or report first flagged it as leaked */
    int64_t eof_ns;        /* when a read first returned end-of-file on it, 0 = not yet */
    struct sl_addr peer; /* recorded at connect/accept */
};
static inline bool sl_rec_is_tcp(const struct sl_rec_info *i)
{
    return sl_is_tcp(i->family, i->type, i->proto);
}
static inline bool sl_rec_is_unix_stream(const struct sl_rec_info *i)
{
    return sl_is_unix_stream(i->family, i->type);
}
/* family, type (without SOCK_CLOEXEC/SOCK_NONBLOCK) and protocol into a record */
static inline void sl_rec_set_meta(struct sl_rec_info *i, int family, int type, int proto)
{
    i->family = (uint16_t)family;
    i->type = (uint8_t)(type & 0xf);
    i->proto = (uint16_t)proto;
}
/* Pseudo-states kept in a record's tcp_state beside the TCP ones. */
#define SL_STATE_PEER_CLOSED 100 /* unix stream socket whose peer has closed */
#define SL_STATE_OPEN 101        /* not in CLOSE_WAIT, exact state not read (sock_diag scans) */

/* Insert a filled-in record for info->fd, replacing a stale one (counted). Returns
 * true if it was recorded (false: max_tracked, out of memory, or an unseen adoption
 * that lost to a wrapper). No malloc; no system call but mmap (the first record of
 * 4096 numbers maps them). */
bool sl_reg_insert(const struct sl_rec_info *info);
/* A new socket's protocol, origin, type (without its flags) and family, in one word
 * (laid out as a record holds them: registry.c stores it whole). */
#define SL_META(origin, family, type, proto)                                                 \
    ((uint64_t)(uint16_t)(proto) | (uint64_t)(uint8_t)(origin) << 16 | (uint64_t)((unsigned)(type) & 0xf) << 24 \
     | (uint64_t)(uint8_t)(family) << 32)
#define SL_META_ORIGIN(m) ((int)(uint8_t)((m) >> 16))
#define SL_META_TYPE(m) ((int)(uint8_t)((m) >> 24))
#define SL_META_FAMILY(m) ((int)(uint8_t)((m) >> 32))
#define SL_META_PROTO(m) ((int)(uint16_t)(m))
/* The same for a socket just made by the calling thread (at now_ns, by the coarse
 * clock, with this stack; peer may be NULL): what socket(), socketpair() and accept()
 * record, without building a record to copy. meta: SL_META(). */
bool sl_reg_new(int fd, uint64_t meta, uint32_t stack, const struct sl_addr *peer, int64_t now_ns);
/* newfd is a copy of oldfd, made by the calling thread now at stack: record it with what
 * oldfd's record says. 0 (recorded), -ENOENT (oldfd is not recorded), -ENOMEM (not
 * recorded: max_tracked, out of memory; counted untracked). */
int sl_reg_dup(int oldfd, int newfd, uint32_t stack);
/* fd's family, type and protocol; false if fd is not tracked. */
bool sl_reg_meta(int fd, int *family, int *type, int *proto);
/* Copy fd's record into *out; false if fd is not tracked. */
bool sl_reg_lookup(int fd, struct sl_rec_info *out);
/* Set fd's ignored flag if it is recorded. */
bool sl_reg_set_ignored(int fd);
/* Give fd's record origin if it describes the socket (dev, ino) (or has no inode yet,
 * which it then gets) and its origin is one of those in the mask (bits 1 << origin).
 * False if fd is not recorded, is another socket, or has another origin. */
bool sl_reg_set_origin(int fd, uint64_t dev, uint64_t ino, unsigned from_mask, int origin);
void sl_reg_set_peer(int fd, const struct sockaddr *addr, socklen_t len);
/* enum sl_origin of fd's record; 0 if not tracked; -EAGAIN if its lock stayed taken
 * (never waits for it: safe from a signal handler that interrupted the shim). */
int sl_fd_origin(int fd);
bool sl_fd_tracked(int fd);

/* Close protocol: detach before the real call, then release or reattach. Detach takes
 * the record out of the table, counts the close, and swaps the fd's watch bit for its
 * closing bit. A struct sl_rec holds the copies of records detached together (NULL:
 * none), until release or reattach frees it. */
struct sl_rec;
struct sl_rec *sl_fd_detach(int fd);
/* Detach every tracked fd in [lo, hi]; returns a list (may be NULL). */
struct sl_rec *sl_fd_detach_range(unsigned lo, unsigned hi);
void sl_fd_release(struct sl_rec *list);   /* the fds are closed: free the records */
void sl_fd_reattach(struct sl_rec *list);  /* the real call failed: put them back */
/* The same for one fd, as close() and dup2() need it: detach frees the record at once
 * and accounts for the close (false: fd was not tracked); *out (may be NULL) gets a copy
 * for reattach. Release after the real call; reattach (with that copy) if it failed. */
bool sl_fd_detach_one(int fd, struct sl_rec_info *out);
static inline void sl_fd_release_one(int fd)
{
    sl_fdstate_clear(fd, SL_FD_CLOSING);
}
void sl_fd_reattach_one(const struct sl_rec_info *info);

/* Snapshot: a copy of every record (reporter/scanner threads only).
 * Returns the count or -ENOMEM; *out must be freed with sl_big_free(). */
long sl_fd_snapshot(struct sl_rec_info **out);
/* The same for the records made after checkpoint cp only (0: every record). */
long sl_fd_snapshot_since(uint64_t cp, struct sl_rec_info **out);
/* A point in the history of records: every record made later has a larger gen. */
uint64_t sl_fd_checkpoint(void);
/* Write back what a probe learned, if fd still holds the record with this gen; all
 * return false if the record is gone. */
bool sl_fd_set_inode(int fd, uint64_t gen, uint64_t dev, uint64_t ino);
bool sl_fd_set_meta(int fd, uint64_t gen, int family, int type, int proto);
/* A scan or a report found the socket leaked (enum sl_leak): if it is closed later, it
 * counts as a leak closed (summary.leaked_closed), with its stack. */
bool sl_fd_mark_leaked(int fd, uint64_t gen, int leak, int64_t now_ns);
/* A probe saw tcp_state; the socket cannot have entered it before since_ns (for
 * CLOSE_WAIT: the last ACK from the peer, which the FIN carried). The CLOSE_WAIT clock
 * starts at the later of since_ns and the last probe that saw another state: never too
 * early; it is stored in *close_wait_ns. */
bool sl_fd_observe(int fd, uint64_t gen, int tcp_state, int64_t since_ns, int64_t now_ns, int64_t *close_wait_ns);
static inline bool sl_fd_set_state(int fd, uint64_t gen, int tcp_state, int64_t now_ns, int64_t *close_wait_ns)
{
    return sl_fd_observe(fd, gen, tcp_state, now_ns, now_ns, close_wait_ns);
}
/* The socket's stack is this one after all (Node named it later), if fd still has gen. */
bool sl_fd_restack(int fd, uint64_t gen, uint32_t stack);
/* A read returned end-of-file on the socket, in the code of that stack, at now_ns:
 * recorded if it is the first, and fd's EOF bit cleared (its reads are plain again). */
bool sl_fd_set_eof(int fd, uint64_t gen, uint32_t stack, int64_t now_ns);
/* Drop a record found stale (fd closed behind our back), if it still has this gen. */
void sl_fd_drop_stale(int fd, uint64_t gen);

long sl_fd_live(void);        /* tracked sockets now (lock-free sum) */
struct sl_fd_stats {
    long live, opened, closed, stale;
};
void sl_fd_stats(struct sl_fd_stats *st);

struct sl_counters {            /* rare events; the hot counters live per stripe */
    _Atomic long untracked;     /* sockets seen created but not recorded */
    _Atomic long nomem;         /*   ... of which for lack of memory or max_tracked */
    _Atomic long reentrant;     /*   ... of which created inside the shim / a signal handler */
    _Atomic long unseen_found;  /* sockets found open by scans, never seen created */
    _Atomic long unseen_closed; /*   ... of which later closed through us */
    _Atomic long double_closes; /* close() of a number whose socket we saw closed already */
    _Atomic long closed_late;   /* sockets closed after a scan or report found them leaked */
    _Atomic long scm_rights;    /* sockets received through SCM_RIGHTS */
};
extern struct sl_counters sl_count;

#define SL_LATE_UNCLOSED 5 /* leak kind of a late close by a runtime's finalizer (report.h: SL_LEAK_UNCLOSED) */
struct sl_late {          /* a socket closed after a scan or report found it leaked */
    int fd;
    uint32_t stack;
    uint8_t leak;
    int64_t lifetime_ns, after_report_ns;
};
struct sl_dclose {        /* a close() of a number whose socket we had already seen closed */
    int fd;
    uint32_t stack;       /* where the second close happened */
};
extern struct sl_ring sl_late_ring, sl_dclose_ring;

/* fork support: lock everything the child must inherit consistent, then unlock. */
void sl_registry_lock_all(void);
void sl_registry_unlock_all(void);
/* In a fork child: every record is the parent's socket too. */
void sl_registry_mark_forked(void);

/* ---- triggers.c: reports when trouble starts ---- */
/* A new fd was created: fds 0..fd are all open, by the lowest-number rule, so fd+1 is
 * a floor on the open count. Fires the threshold report once per crossing.
 * Async-signal-safe. Inline: below the threshold (sl_trigger_fds_at: the fd count that
 * fires, LONG_MAX for none) and without max_sockets, two comparisons. */
extern _Atomic long sl_trigger_fds_at;
void sl_trigger_check(int fd);
static inline void sl_trigger_created(int fd)
{
    if (SL_UNLIKELY(fd + 1L >= atomic_load_explicit(&sl_trigger_fds_at, memory_order_relaxed))
        || SL_UNLIKELY(sl_opt.max_sockets > 0))
        sl_trigger_check(fd);
}
/* socket()/accept() & co failed with EMFILE or ENFILE. Async-signal-safe. */
void sl_trigger_emfile(int err);
/* A scan counted open fds and live sockets: fire what has crossed, re-arm what has
 * come back down (below 90% of its level). */
void sl_trigger_scan(long open_fds, long live);
/* Refresh the limits (RLIMIT_NOFILE may have been raised by the program). */
void sl_trigger_limits(void);
struct sl_trigger_info {
    long open_fds, nofile_soft, nofile_hard, threshold_fds;
    int last_errno;
};
void sl_trigger_info(struct sl_trigger_info *out);

/* ---- verbs.c: what the wrappers tell the core ----
 * Called after the real call succeeded (track after create); none blocks, none
 * touches errno. Each captures the calling stack where the socket is new. */
int sl_fd_created(int fd, int origin, int family, int type, int proto, const struct sockaddr *peer,
                  socklen_t peerlen); /* returns fd */
/* The same for socket() and socketpair(), their arguments in meta (SL_META): the hot
 * path, two arguments. Returns fd. */
int sl_fd_new(int fd, uint64_t meta);
void sl_fd_accepted(int listen_fd, int fd, const struct sockaddr *peer, socklen_t peerlen);
/* newfd is a copy of oldfd; if oldfd is not recorded, newfd is recorded if it is a socket. */
void sl_fd_dup(int oldfd, int newfd);
void sl_fd_connect(int fd, const struct sockaddr *addr, socklen_t len);
void sl_fd_inherited(int fd, int family, int type, int proto);
/* Attach: fd (a socket, dev/ino) was open when the shim attached. A record that
 * already describes it keeps its stack (a previous attach saw it created), as does one
 * created at since_ns or later (through a wrapper, after the attach routed the calls);
 * one that only adopted it (inherited, unseen) says pre-attach; any other is replaced.
 * Returns true if fd is now recorded as pre-attach. */
bool sl_fd_pre_attach(int fd, int family, int type, int proto, uint64_t dev, uint64_t ino, int64_t since_ns);
/* fd arrived through SCM_RIGHTS: tracked if it is a socket. */
void sl_fd_received(int fd);
/* A scan found fd open, a socket, and not tracked: adopt it (origin unseen, no stack). */
void sl_fd_unseen(int fd, int family, int type, int proto, uint64_t dev, uint64_t ino);
/* close() failed with EBADF: if fd's last tracked socket was closed through us, it is a
 * double close; count it with the stack of this close. */
void sl_fd_bad_close(int fd);
/* sockleak_ignore(): mark fd's socket as long-lived on purpose. A socket open but not
 * tracked (created where the shim could not see) is adopted first, as a scan would.
 * Returns 0, -EBADF (fd not open), -ENOTSOCK, or -ENOMEM (could not be recorded). */
int sl_fd_ignore(int fd);
/* A snapshot copy without family or type: probe its fd, fill both it and the record. */
void sl_fd_learn_meta(struct sl_rec_info *i);
/* Is record i's socket still open on its fd (fstat: a socket, with the inode recorded,
 * if known)? 0 with its *dev, *ino; -ESTALE if the fd was closed behind our back (not
 * open, not a socket, another socket): the record is then dropped; or the probe's other
 * -errno, which proves nothing either way. */
int sl_fd_recheck(const struct sl_rec_info *i, uint64_t *dev, uint64_t *ino);
/* A read returned end-of-file on fd, whose state bit says that is news (SL_FD_EOF):
 * record where (the calling stack, captured now) and when, once per socket. */
void sl_fd_eof(int fd);
/* sockleak_open_since(): sockets recorded after checkpoint cp and still open (checked
 * against the kernel), neither listening nor marked with sockleak_ignore. */
long sl_fd_open_since(uint64_t cp);

#endif
