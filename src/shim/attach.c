/*
 * attach.c - `sockleak attach`: the shim started in a process that is already running.
 *
 * The attach tool (scripts/sockleak-live) stops the program with gdb at a safe point
 * (the entry of a call a server makes all the time: no libc or loader lock held),
 * dlopen()s the shim and calls sockleak_attach() with the options of its command line.
 * The program is stopped for as long as these calls run (the thread at the safe point
 * throughout, the others between gdb's calls), so they do only what is cheap. The
 * dlopen runs the core's start-up (init.c: real functions, registry, with whatever
 * SOCKLEAK_OPTIONS the environment has, usually none), which sees a debugger loading it
 * and leaves the rest (the unwinder, the sockets open, the thread) to the attach.
 * sockleak_attach then:
 *   - refuses a shim that is preloaded (it records already) or attached already;
 *   - puts the given options in place of the environment's and takes the dump signal
 *     under them;
 *   - starts the worker with the attach's work, and returns.
 * The worker waits until gdb has detached (what follows reads files through I/O
 * children, vforks that gdb would stop every thread to follow), then, in finish_attach:
 *   - routes the program's calls to the wrappers: the GOT slots of every module
 *     (runtime/got.c), and dlopen/dlmopen, so that modules loaded later are patched
 *     after they load;
 *   - records every socket open now as "pre-attach" (no stack: its creation was not
 *     seen), keeping the stack of one a previous attach saw created, and of one created
 *     through the wrappers since they were routed;
 *   - answers `sockleak dump`, and "attach" (how it went: the tool waits for it) and
 *     "detach" requests, on the control socket.
 * Detach (the worker, on that request) puts every slot back, gives the dump signal back
 * and leaves the shim loaded but idle (core state 3: a wrapper still reached through a
 * function pointer taken while attached only forwards). Unloading is what crashes such
 * tools: the library stays mapped, and a later attach reuses it.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shim.h"
#define SOCKLEAK_API SL_EXPORT
#include "sockleak.h"

/* ---- dlopen and dlmopen, while attached ---- */

static bool listed(const Dl_serinfo *si, const char *dir)
{
    for (unsigned i = 0; si && i < si->dls_cnt; i++)
        if (!strcmp(si->dls_serpath[i].dls_name, dir))
            return true;
    return false;
}

static Dl_serinfo *search_path(void *handle)
{
    Dl_serinfo size, *si;
    if (dlinfo(handle, RTLD_DI_SERINFOSIZE, &size) != 0 || !(si = malloc(size.dls_size)))
        return NULL;
    si->dls_size = size.dls_size;
    si->dls_cnt = size.dls_cnt;
    if (dlinfo(handle, RTLD_DI_SERINFO, si) != 0) {
        free(si);
        return NULL;
    }
    return si;
}

/* glibc looks a name without '/' up in, among others, the directories of its caller's
 * DT_RPATH or DT_RUNPATH ($ORIGIN expanded); the caller of the real dlopen is now the
 * shim, which has neither. So the directories the caller's search path has and the
 * shim's has not are tried first, in order, as the loader would (a library loaded
 * already is found by name whoever asks). NULL: let the real call search. */
static void *open_in_callers_dirs(const void *caller, bool m, Lmid_t ns, const char *file, int mode)
{
    struct link_map *lm = NULL;
    Dl_info info;
    if (!file || strchr(file, '/') || !dladdr1(caller, &info, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
        return NULL;
    SL_KEEP_ERRNO();
    void *loaded = m ? dlmopen(ns, file, RTLD_LAZY | RTLD_NOLOAD) : dlopen(file, RTLD_LAZY | RTLD_NOLOAD);
    if (loaded) {
        dlclose(loaded);
        return NULL;
    }
    struct link_map *self = NULL;
    Dl_serinfo *theirs = search_path(lm), *ours = NULL;
    if (dladdr1((void *)open_in_callers_dirs, &info, (void **)&self, RTLD_DL_LINKMAP) && self)
        ours = search_path(self);
    void *h = NULL;
    for (unsigned i = 0; theirs && !h && i < theirs->dls_cnt; i++) {
        const char *dir = theirs->dls_serpath[i].dls_name;
        char path[4096];
        if (listed(ours, dir) || snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path)
            || access(path, F_OK) != 0)
            continue;
        h = m ? dlmopen(ns, path, mode) : dlopen(path, mode);
    }
    free(theirs);
    free(ours);
    return h;
}

static void *opened(void *h)
{
    if (h) {
        SL_KEEP_ERRNO();
        sl_guard_enter();
        sl_got_refresh(false); /* the module and its dependencies, before the caller uses them */
        sl_guard_leave();
    }
    return h;
}

static void *attached_dlopen(const char *file, int mode)
{
    void *h = open_in_callers_dirs(__builtin_return_address(0), false, LM_ID_BASE, file, mode);
    return opened(h ? h : dlopen(file, mode));
}

static void *attached_dlmopen(Lmid_t ns, const char *file, int mode)
{
    void *h = open_in_callers_dirs(__builtin_return_address(0), true, ns, file, mode);
    return opened(h ? h : dlmopen(ns, file, mode));
}

static const struct sl_got_hook hooks[] = {
    { "dlopen", (void *)attached_dlopen },
    { "dlmopen", (void *)attached_dlmopen },
};

/* ---- attach and detach ---- */

static pthread_mutex_t attach_lock = PTHREAD_MUTEX_INITIALIZER;

/* Under attach_lock. */
static enum { IDLE, ATTACHING, ATTACHED } phase;
static int64_t attach_since;   /* sl_now_coarse_ns() when the attach began */
static int attach_signal;      /* sl_signals_install()'s answer */
static char attach_result[2048];

struct problems {
    char *msg;
    size_t len, used;
};
static struct problems *collecting; /* under attach_lock */

static void collect(const char *line)
{
    struct problems *p = collecting;
    if (p->used < p->len) {
        int n = snprintf(p->msg + p->used, p->len - p->used, "%s%s", p->used ? "; " : "", line);
        p->used += n > 0 ? (size_t)n : 0;
    }
}

/* The attach's work, in the shim's thread once the debugger has detached: route the
 * calls first, then list the sockets open, so that a socket made meanwhile is either
 * seen created (through a wrapper) or listed. */
static void finish_attach(void)
{
    pthread_mutex_lock(&attach_lock);
    sl_stacks_init(); /* done by the core already; here if it ever is not */
    struct sl_got_stats st;
    int r = sl_got_attach(hooks, SL_ARRAY_LEN(hooks), &st);
    sl_work_lock();
    sl_attached.pre_attach = sl_adopt_open_sockets(true, attach_since);
    /* a socket the program closed between the listing and its record, and (again)
     * records from the last attach of sockets closed while detached: dropped */
    sl_scan(true);
    sl_work_unlock();
    char where[sizeof(sl_opt.log_path) + 16];
    sl_expand_path(sl_opt.log_path, where, sizeof(where));
    snprintf(attach_result, sizeof(attach_result),
             "%ld sockets open now (listed as pre-attach); %ld GOT slots routed to the shim in %ld modules "
             "(%ld bound elsewhere, left alone; %ld refused%s); dump signal %s; reports to %s",
             sl_attached.pre_attach, st.slots, st.modules, st.foreign, st.failed + st.bad,
             r == -ENOMEM ? "; out of memory: some not routed" : "",
             attach_signal == 0 && sl_opt.dump_signal ? sl_signal_name(sl_opt.dump_signal)
             : attach_signal == -EBUSY                ? "left to the program"
                                                      : "off",
             where);
    phase = ATTACHED;
    if (sl_opt.verbose)
        sl_log("attached: %s", attach_result);
    pthread_mutex_unlock(&attach_lock);
}

/* Runs in the worker, on an "attach" request: how it went. */
static int attached(char *msg, size_t len)
{
    pthread_mutex_lock(&attach_lock);
    int r = phase == ATTACHED ? 0 : -ENOENT;
    snprintf(msg, len, "%s", phase == ATTACHED ? attach_result : "not attached");
    pthread_mutex_unlock(&attach_lock);
    return r;
}

/* Runs in the worker, on a detach request. */
static int detach(char *msg, size_t len)
{
    if (pthread_mutex_trylock(&attach_lock) != 0) {
        snprintf(msg, len, "an attach is under way; try again");
        return -EBUSY;
    }
    struct sl_got_stats st;
    int r = sl_got_detach(&st);
    if (r == 0) {
        atomic_store(&sl_core_state, 3); /* wrappers reached through pointers taken meanwhile only forward */
        sl_work_lock();
        sl_scan(true); /* every record gets its inode: a later attach tells the same socket from a new one */
        sl_work_unlock();
        sl_signals_uninstall();
        memset(&sl_attached, 0, sizeof(sl_attached));
        phase = IDLE;
        snprintf(msg, len,
                 "%ld GOT slots put back in %ld modules (%ld had changed since); the shim's thread stops; the "
                 "library stays loaded, idle",
                 st.restored, st.modules, st.slots - st.restored);
    }
    pthread_mutex_unlock(&attach_lock);
    return r;
}

/* Called by a debugger in a thread it stopped: what it does here, the whole process
 * waits for (the debugger stops every thread between its calls). So only what needs
 * no system call beyond a few cheap ones: options, the dump signal, the thread
 * started; the rest is finish_attach's, in that thread, after the debugger has gone. */
SL_EXPORT int sockleak_attach(const char *options, char *msg, size_t len)
{
    char none[1];
    if (!msg || !len)
        msg = none, len = sizeof(none);
    msg[0] = '\0';
    if (sl_tls_guard)
        return -EDEADLK;
    sl_init_core(); /* the constructor did, unless it is still running in this thread */
    if (atomic_load(&sl_core_state) < 2)
        return -EAGAIN;
    if (sl_interposed()) {
        snprintf(msg, len, "sockleak is preloaded in this process: it records already (`sockleak dump` asks it "
                           "for a report)");
        return -EEXIST;
    }
    SL_KEEP_ERRNO();
    pthread_mutex_lock(&attach_lock);
    int r = 0;
    struct sl_options opt;
    struct problems pr = { msg, len, 0 };
    collecting = &pr;
    if (phase != IDLE || sl_got_active()) {
        snprintf(msg, len, "sockleak is attached already (`sockleak detach %d` first)", (int)getpid());
        r = -EALREADY;
    } else if (sl_options_parse(&opt, options, collect) != 0) {
        r = -EINVAL;
    } else if (sl_worker_stop() != 0) { /* one the program's own API calls started */
        snprintf(msg, len, "the shim's thread (started when it was loaded) does not stop");
        r = -ETIMEDOUT;
    }
    collecting = NULL;
    if (r) {
        pthread_mutex_unlock(&attach_lock);
        return r;
    }
    sl_startup_finish(true); /* what the constructor left is done here, as pre-attach */
    sl_guard_enter();
    int state = atomic_load(&sl_core_state);
    sl_work_lock();
    sl_signals_uninstall();
    sl_opt = opt;
    sl_suppress_reset(); /* read again, from the new options, by the next report */
    sl_work_unlock();
    sl_trigger_limits();
    attach_signal = sl_signals_install();
    atomic_store(&sl_core_state, 2);
    sl_start_ns = sl_now_ns();
    clock_gettime(CLOCK_REALTIME, &sl_attached.at);
    attach_since = sl_now_coarse_ns();
    phase = ATTACHING;
    sl_control_set_attach(attached, detach);
    r = sl_worker_start_job(finish_attach);
    if (r == 0) {
        snprintf(msg, len, "the shim's thread routes the program's calls and lists the sockets open once the "
                           "debugger has detached");
    } else { /* nothing was routed: as if it had not been called, but for the options */
        phase = IDLE;
        sl_signals_uninstall();
        atomic_store(&sl_core_state, state);
        snprintf(msg, len, "the shim's thread could not be started");
    }
    sl_guard_leave();
    pthread_mutex_unlock(&attach_lock);
    return r;
}
