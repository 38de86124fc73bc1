/*
 * init.c - start-up and exit.
 *
 * Two phases. The core (sl_init_core) makes the wrappers work: options, real functions,
 * registry, unwinder. It runs once, from whichever comes first: our constructor, or a
 * wrapper called earlier (another library's constructor may call socket() before ours
 * runs). Concurrent callers wait; a recursive call from the initializing thread itself
 * returns at once and its wrapper forwards without recording. The rest (the dump
 * signal, sockets inherited from the parent process, the verbose banner) needs a
 * running program and happens in the constructor.
 *
 * But not when a debugger is loading the shim into a running program (`sockleak
 * attach`: the program's calls do not reach the wrappers, and a tracer is attached).
 * That thread is stopped for as long as the constructor runs, and the rest, loading
 * the unwinder, listing the fds (an I/O child: a vfork the debugger follows) and
 * starting the thread (moving its wake fd high waits for the kernel), is the attach's
 * to do, from the shim's own thread once the debugger has gone (attach.c). The
 * constructor then leaves the rest pending: sockleak_attach() drops it; if no attach
 * comes (a program under a debugger that dlopen()s the shim itself), the program's
 * first call to the API does it.
 *
 * Exit: the report must come after every other library's destructors, because they
 * may still close sockets. Our destructor runs inside the loader's _dl_fini; it
 * registers the report as a new exit handler, which glibc runs after _dl_fini returns.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <gnu/libc-version.h>
#include <link.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "shim.h"

_Atomic int sl_core_state;
static _Atomic pid_t init_tid;
static bool debugger_loading;     /* a debugger is loading the shim (sl_init_core) */
static _Atomic int rest_pending; /* the constructor left the rest of start-up to attach */

/* The hooks the layers below call up through, set once here. */
static const struct sl_core_hooks core_hooks = {
    .need_worker = sl_worker_start,
};

/* Does this file hold a line "key=value" (NUL-separated entries, as /proc/PID/environ)? */
static bool holds(const char *env, long len, const char *key, const char *value)
{
    size_t kl = strlen(key);
    for (const char *p = env; p < env + len; p += strlen(p) + 1)
        if (!strncmp(p, key, kl) && p[kl] == '=' && (!value || !strcmp(p + kl + 1, value)))
            return true;
    return false;
}

/* The parent process ran under the shim with these same options: it said what is wrong
 * with them already. Its environment as it was exec'd, read in the I/O child. */
static bool parent_warned(const char *options)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/environ", (int)getppid());
    static char env[65536];
    long n = sl_iochild_read(path, env, sizeof(env));
    if (n <= 0 || !holds(env, n, "SOCKLEAK_OPTIONS", options))
        return false;
    for (const char *p = env; p < env + n; p += strlen(p) + 1)
        if (!strncmp(p, "LD_PRELOAD=", 11) && strstr(p, "libsockleak"))
            return true;
    return false;
}

/* Problems with SOCKLEAK_OPTIONS are said once per process tree: collected, then said
 * unless the parent process, under the shim with the same options, said them. */
static char problems[9][600]; /* at most 8 problems and a line counting the rest (options.c) */
static int nproblems;

static void collect_problem(const char *msg)
{
    if (nproblems < (int)SL_ARRAY_LEN(problems))
        snprintf(problems[nproblems++], sizeof(problems[0]), "%s", msg);
}

static void read_options(void)
{
    /* secure_getenv: under setuid/setgid execution the environment is not trusted */
    const char *text = secure_getenv("SOCKLEAK_OPTIONS");
    if (sl_options_parse(&sl_opt, text, collect_problem) == 0 || parent_warned(text))
        return;
    for (int k = 0; k < nproblems; k++)
        sl_warn_line(problems[k]);
}

/* Was the shim loaded after libc, into a program already running (dlopen), rather than
 * before it (preloaded, or linked: then another interposer may come first)? */
static bool loaded_after_libc(void)
{
    Dl_info info;
    struct link_map *me = NULL, *libc = NULL;
    if (!dladdr1((void *)loaded_after_libc, &info, (void **)&me, RTLD_DL_LINKMAP)
        || !dladdr1((void *)gnu_get_libc_version, &info, (void **)&libc, RTLD_DL_LINKMAP) || !me || !libc)
        return false;
    for (const struct link_map *l = _r_debug.r_map; l; l = l->l_next)
        if (l == me || l == libc)
            return l == libc;
    return false;
}

void sl_init_core(void)
{
    int expect = 0;
    if (!atomic_compare_exchange_strong(&sl_core_state, &expect, 1)) {
        if (expect >= 2)
            return; /* ready, or detached */
        if (atomic_load(&init_tid) == (pid_t)SL_SYS(SYS_gettid))
            return; /* our own initialisation called a wrapper */
        while (atomic_load_explicit(&sl_core_state, memory_order_acquire) != 2)
            sched_yield();
        return;
    }
    SL_KEEP_ERRNO();
    atomic_store(&init_tid, (pid_t)SL_SYS(SYS_gettid));
    sl_guard_enter();
    sl_self_init();
    sl_stdfd_remember(); /* before anything could write: what fds 1 and 2 are now */
    sl_log_set_sink(sl_stdfd_log_sink);
    read_options();
    sl_real_resolve();
    sl_fdstate_init();
    sl_core_set_hooks(&core_hooks);
    sl_trigger_limits();
    sl_children_init();
    /* a debugger loading the shim into a running program: the unwinder (libunwind,
     * liblzma: files read, maybe from disk) is loaded by the attach, in the shim's thread */
    debugger_loading = !sl_interposed() && loaded_after_libc() && sl_probe_tracer() > 0;
    if (!debugger_loading)
        sl_stacks_init(); /* last: its warm-up unwind may open libunwind's pipe (pipe2 wrapper, ownfd) */
    sl_guard_leave();
    atomic_store_explicit(&sl_core_state, 2, memory_order_release);
}

/* follow_children=0: the shim leaves LD_PRELOAD, so programs this one executes run
 * without it. At start-up, in the constructor, before the program has threads. */
static void leave_preload(void)
{
    Dl_info self;
    const char *pre = getenv("LD_PRELOAD");
    if (!pre || !dladdr((void *)leave_preload, &self) || !self.dli_fname)
        return;
    struct stat me, st;
    if (stat(self.dli_fname, &me) != 0)
        return;
    char kept[4096];
    size_t n = 0;
    for (const char *p = pre; *p;) {
        size_t len = strcspn(p, ": ");
        char item[4096];
        snprintf(item, sizeof(item), "%.*s", (int)len, p);
        bool ours = stat(item, &st) == 0 && st.st_dev == me.st_dev && st.st_ino == me.st_ino;
        if (len && !ours && n + len + 2 < sizeof(kept))
            n += (size_t)snprintf(kept + n, sizeof(kept) - n, "%s%s", n ? ":" : "", item);
        p += len;
        p += *p != '\0';
    }
    if (n)
        setenv("LD_PRELOAD", kept, 1);
    else
        unsetenv("LD_PRELOAD");
}

/* A node program: load the hook with --require, through NODE_OPTIONS (start-up, before
 * node reads it). The module sits next to the library, as sockleak-node.js. */
static void node_hook(void)
{
    const char *base = strrchr(sl_program, '/');
    base = base ? base + 1 : sl_program;
    if (!sl_opt.node_frames || (strcmp(base, "node") && strcmp(base, "nodejs")))
        return;
    const char *cur = getenv("NODE_OPTIONS");
    if (cur && strstr(cur, "sockleak-node.js"))
        return; /* the launcher's, or a parent's */
    Dl_info self;
    if (!dladdr((void *)node_hook, &self) || !self.dli_fname)
        return;
    char lib[PATH_MAX], path[PATH_MAX + 32], opts[8192];
    if (!realpath(self.dli_fname, lib)) /* absolute: --require takes a bare name for a package */
        return;
    *strrchr(lib, '/') = '\0';
    snprintf(path, sizeof(path), "%s/sockleak-node.js", lib);
    if (access(path, R_OK) != 0 || strchr(path, '"') || strchr(path, '\\'))
        return;
    if ((size_t)snprintf(opts, sizeof(opts), "%s%s--require \"%s\"", cur ? cur : "", cur && *cur ? " " : "", path)
        < sizeof(opts))
        setenv("NODE_OPTIONS", opts, 1);
}

struct adoption {
    bool attach;
    int64_t since_ns;
    long n;
};

static int adopt_one(int fd, void *arg)
{
    struct adoption *a = arg;
    uint64_t dev, ino;
    int family, type, proto;
    if (sl_ownfd_is(fd) || (!a->attach && sl_fd_tracked(fd)) || sl_probe_inode(fd, &dev, &ino) != 0)
        return 0;
    if (sl_probe_meta(fd, &family, &type, &proto) != 0)
        family = type = proto = 0;
    if (a->attach) {
        a->n += sl_fd_pre_attach(fd, family, type, proto, dev, ino, a->since_ns);
    } else {
        sl_fd_inherited(fd, family, type, proto);
        a->n++;
    }
    return 0;
}

long sl_adopt_open_sockets(bool attach, int64_t since_ns)
{
    struct adoption a = { attach, since_ns, 0 };
    sl_probe_each_fd(adopt_one, &a);
    return a.n;
}

bool sl_interposed(void)
{
    void *p = dlsym(RTLD_DEFAULT, "socket");
    Dl_info a, b;
    return p && dladdr(p, &a) && dladdr((void *)sl_interposed, &b) && a.dli_fbase == b.dli_fbase;
}

static void startup_rest(void)
{
    SL_KEEP_ERRNO();
    sl_guard_enter();
    sl_stacks_init(); /* if sl_init_core left it */
    if (!sl_opt.follow_children)
        leave_preload();
    node_hook();
    int sr = sl_signals_install();
    long inherited = sl_adopt_open_sockets(false, 0);
    sl_guard_leave();
    if (sl_fd_live() > 0)
        sl_worker_start();
    if (sr == -EBUSY && sl_opt.verbose)
        sl_log("%s is not at its default action: left to the program; dumps go through the control socket",
               sl_signal_name(sl_opt.dump_signal));
    else if (sr < 0 && sr != -EBUSY)
        sl_log("cannot install the %s handler (%s); dumps on signal are off", sl_signal_name(sl_opt.dump_signal),
               strerror(-sr));
    if (sl_opt.verbose) {
        char dump[64] = "off";
        if (sl_opt.dump_signal)
            snprintf(dump, sizeof(dump), "on %s", sl_signal_name(sl_opt.dump_signal));
        sl_log("sockleak %s active: %s reports to %s%s, dumps %s and by `sockleak dump`; unwinder %s; %ld inherited "
               "sockets", SL_VERSION, sl_opt.format == SL_FMT_JSON ? "json" : "text", sl_opt.log_path,
               sl_opt.report_at_exit ? " at exit" : "", dump, sl_stack_unwinder(), inherited);
    }
}

void sl_startup_finish(bool attach)
{
    if (atomic_exchange(&rest_pending, 0) && !attach)
        startup_rest();
}

__attribute__((constructor)) static void sl_constructor(void)
{
    sl_init_core();
    if (debugger_loading) { /* sockleak attach */
        atomic_store(&rest_pending, 1);
        return;
    }
    startup_rest();
}

static _Atomic int exit_reported;

/* glibc's registration underneath atexit(). atexit() itself would pass our DSO handle,
 * and __cxa_finalize(our handle), which runs right after our destructors, would call
 * the report at once: before the other libraries' destructors. With no DSO handle it
 * runs only from exit(), after _dl_fini; the shim is never unloaded (-z nodelete). */
extern int __cxa_atexit(void (*fn)(void *), void *arg, void *dso);

static void exit_report(void *unused)
{
    (void)unused;
    if (sl_tls_guard & SL_GUARD_VFORK)
        return; /* a vfork child that called exit(): the registry is its parent's */
    if (atomic_exchange(&exit_reported, 1))
        return;
    if (sl_tls_guard) {
        /* exit() from a signal handler that interrupted the shim on this thread: the
         * registry's locks may be held by this very thread, and collecting a report
         * would wait for them forever */
        sl_log("no exit report: exit() was called from a signal handler that interrupted sockleak");
        return;
    }
    if (atomic_load(&sl_core_state) != 2)
        return;
    /* reports asked for (a dump signal, a trigger) that the report thread has not
     * written yet: the process is leaving, write them now */
    sl_worker_flush();
    if (!sl_opt.report_at_exit || !sl_report_worthwhile())
        return;
    sl_report_write(SL_REASON_EXIT);
}

void sl_exit_report_now(void)
{
    exit_report(NULL);
}

__attribute__((destructor)) static void sl_destructor(void)
{
    if (!sl_opt.report_at_exit)
        return;
    /* run after the destructors still to come; if exit handlers are closed, now */
    if (__cxa_atexit(exit_report, NULL, NULL) != 0)
        exit_report(NULL);
}
