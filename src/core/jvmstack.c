/*
 * jvmstack.c - the Java frames of the calling thread, through JVMTI, with nothing to
 * configure.
 *
 * Once libjvm.so is loaded (the java launcher dlopens it), JNI_GetCreatedJavaVMs gives
 * the VM, and on a Java thread GetEnv gives a JVMTI environment: the first socket made
 * on a Java thread creates the shim's one environment (or Agent_OnLoad/Agent_OnAttach
 * hands over the VM, when the shim is also loaded as an agent). In the socket wrappers
 * only GetStackTrace runs: (method, bytecode index) pairs, stored raw in the stack.
 * Names are resolved when reporting: the reporting thread attaches to the VM as a
 * daemon for the time it takes (GetMethodName, GetClassSignature, GetSourceFileName,
 * GetLineNumberTable), and when the VM dies (its VMDeath event, on the exiting Java
 * thread) every method seen is resolved, since the exit report comes after the VM is
 * gone. What was resolved is kept for the process.
 *
 * A JVMTI call from a Java thread that is inside the VM itself (not in native code)
 * would disturb its thread state: sockets the VM makes itself (its attach listener, on
 * a thread in the VM) are left with their native frames: the caller of socket() is
 * then in libjvm.so. The JVMTI and JNI function tables are reached by their slot
 * numbers, fixed by the specification, so no JDK header is needed to build.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

/* slots of the function tables (jvmti.h: "N : Name" is slot N - 1; jni.h) */
enum { T_SET_EVENT_NOTIFICATION_MODE = 1, T_DEALLOCATE = 46, T_GET_CLASS_SIGNATURE = 47, T_GET_SOURCE_FILE_NAME = 49,
       T_GET_METHOD_NAME = 63, T_GET_METHOD_DECLARING_CLASS = 64, T_GET_LINE_NUMBER_TABLE = 69,
       T_GET_STACK_TRACE = 103, T_SET_EVENT_CALLBACKS = 121, T_DISPOSE_ENVIRONMENT = 126, T_GET_PHASE = 132,
       T_ADD_CAPABILITIES = 141 };
enum { VM_DETACH = 5, VM_GET_ENV = 6, VM_ATTACH_DAEMON = 7 };
enum { JNI_PUSH_LOCAL_FRAME = 19, JNI_POP_LOCAL_FRAME = 20 };
#define JVMTI_VERSION_1_2 0x30010200
#define JNI_VERSION_1_6 0x00010006
#define JVMTI_ENABLE 1
#define JVMTI_EVENT_VM_DEATH 51
#define JVMTI_PHASE_LIVE 4
#define CAN_GET_SOURCE_FILE_NAME (1u << 11) /* jvmtiCapabilities, first word */
#define CAN_GET_LINE_NUMBERS (1u << 12)

typedef void *env_t;  /* jvmtiEnv*, JNIEnv*, JavaVM*: a pointer to a function table pointer */
#define FN(obj, slot, type) ((type)((*(void *const *const *)(obj))[slot]))

struct frame_info { /* jvmtiFrameInfo */
    void *method;
    int64_t location;
};
struct line_entry { /* jvmtiLineNumberEntry */
    int64_t start;
    int32_t line;
};
struct callbacks { /* the head of jvmtiEventCallbacks */
    void *vm_init;
    void (*vm_death)(env_t jvmti, env_t jni);
};

static _Atomic(env_t) vm;     /* JavaVM* */
static _Atomic(env_t) jvmti;  /* the shim's jvmtiEnv* */
static _Atomic bool armed, dead;
static uintptr_t jvm_lo, jvm_hi; /* libjvm.so */
static int (*get_created_vms)(env_t *buf, int len, int *n);

/* What a method is called: resolved once, kept. */
struct method_info {
    char *function, *file;
    struct line_entry *lines;
    int nlines;
};
struct method_key {
    void *method;
};
struct method_entry {
    struct sl_ientry head;
    void *method;
    _Atomic(struct method_info *) info;
};
static struct sl_itab methods = { .lock = PTHREAD_MUTEX_INITIALIZER, .max = 1u << 16 };
static pthread_mutex_t resolve_lock = PTHREAD_MUTEX_INITIALIZER;

static bool same_method(const void *entry, const void *key)
{
    return ((const struct method_entry *)entry)->method == ((const struct method_key *)key)->method;
}

static void fill_method(void *entry, const void *key)
{
    ((struct method_entry *)entry)->method = ((const struct method_key *)key)->method;
}

static uint64_t method_hash(const void *m)
{
    uint64_t h = (uint64_t)(uintptr_t)m * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 31);
}

static struct method_entry *method(void *m, bool add)
{
    struct method_key k = { m };
    uint64_t h = method_hash(m);
    struct method_entry *e = sl_itab_find(&methods, h, same_method, &k);
    if (!e && add)
        e = sl_itab_add(&methods, h, same_method, &k, sizeof(*e), fill_method);
    return e;
}

bool sl_jvm_probe(void)
{
    if (atomic_load_explicit(&vm, memory_order_acquire))
        return true;
    if (!sl_opt.java_frames)
        return false;
    if (!get_created_vms) {
        void *f = dlsym(RTLD_DEFAULT, "JNI_GetCreatedJavaVMs");
        if (!f) {
            dlerror(); /* ours: not for the program's next dlerror() */
            return false;
        }
        sl_module_bounds(f, &jvm_lo, &jvm_hi);
        get_created_vms = (int (*)(env_t *, int, int *))f;
    }
    env_t v = NULL;
    int n = 0;
    if (get_created_vms(&v, 1, &n) != 0 || n < 1 || !v)
        return false; /* libjvm is loaded, the VM not made yet */
    env_t expect = NULL;
    atomic_compare_exchange_strong(&vm, &expect, v);
    return true;
}

static void on_vm_death(env_t env, env_t jni);

bool sl_jvm_loaded(void)
{
    return get_created_vms && !atomic_load_explicit(&vm, memory_order_acquire);
}

/* In the live phase: the capabilities names need, and the VMDeath event. */
static void arm(env_t env)
{
    int phase = 0;
    if (FN(env, T_GET_PHASE, int (*)(env_t, int *))(env, &phase) != 0 || phase != JVMTI_PHASE_LIVE)
        return;
    if (atomic_exchange(&armed, true))
        return;
    uint32_t caps[4] = { CAN_GET_SOURCE_FILE_NAME | CAN_GET_LINE_NUMBERS, 0, 0, 0 };
    int err = FN(env, T_ADD_CAPABILITIES, int (*)(env_t, const void *))(env, caps);
    if (sl_opt.verbose >= 2)
        sl_log("Java frames on: JVMTI environment ready (capabilities for file and line: %s)", err ? "refused" : "given");
    struct callbacks cb = { NULL, on_vm_death };
    if (FN(env, T_SET_EVENT_CALLBACKS, int (*)(env_t, const void *, int))(env, &cb, (int)sizeof(cb)) == 0)
        FN(env, T_SET_EVENT_NOTIFICATION_MODE, int (*)(env_t, int, int, void *))(env, JVMTI_ENABLE,
                                                                               JVMTI_EVENT_VM_DEATH, NULL);
}

/* The shim's JVMTI environment, made on a thread attached to the VM. */
static env_t environment(env_t v)
{
    env_t env = atomic_load_explicit(&jvmti, memory_order_acquire);
    if (env)
        return env;
    if (FN(v, VM_GET_ENV, int (*)(env_t, env_t *, int))(v, &env, JVMTI_VERSION_1_2) != 0 || !env)
        return NULL; /* not a Java thread, or the VM cannot give one now */
    env_t expect = NULL;
    if (!atomic_compare_exchange_strong(&jvmti, &expect, env)) {
        FN(env, T_DISPOSE_ENVIRONMENT, int (*)(env_t))(env); /* another thread was first */
        env = expect;
    }
    return env;
}

int sl_jvm_capture(struct sl_lframe *out, int max, uintptr_t caller)
{
    env_t v = atomic_load_explicit(&vm, memory_order_acquire);
    if (!v || atomic_load_explicit(&dead, memory_order_relaxed) || !sl_opt.java_frames)
        return 0;
    if (caller >= jvm_lo && caller < jvm_hi)
        return 0; /* the VM's own socket, on a thread that may be inside the VM */
    env_t env = environment(v);
    if (!env)
        return 0;
    if (!atomic_load_explicit(&armed, memory_order_relaxed))
        arm(env);
    _Static_assert(sizeof(struct sl_lframe) == sizeof(struct frame_info), "a JVMTI frame is a language frame");
    int count = 0;
    if (FN(env, T_GET_STACK_TRACE, int (*)(env_t, void *, int, int, void *, int *))(env, NULL, 0, max, out, &count)
        != 0)
        return 0;
    for (int i = 0; i < count; i++)
        method((void *)out[i].ref, true); /* remembered, to be named when reporting */
    return count;
}

/* ---- names, when reporting ---- */

static char *jstrdup(env_t env, char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s)
        FN(env, T_DEALLOCATE, int (*)(env_t, void *))(env, s);
    return d;
}

/* "Lcom/example/Leak$Inner;" -> "com.example.Leak$Inner" */
static void class_name(char *sig)
{
    size_t n = strlen(sig);
    if (n >= 2 && sig[0] == 'L' && sig[n - 1] == ';') {
        memmove(sig, sig + 1, n - 2);
        sig[n - 2] = '\0';
    }
    for (char *c = sig; *c; c++)
        if (*c == '/')
            *c = '.';
}

static struct method_info *name_method(env_t env, env_t jni, void *m)
{
    void *cls = NULL;
    char *sig = NULL, *name = NULL, *src = NULL;
    int n = 0;
    void *table = NULL;
    if (FN(jni, JNI_PUSH_LOCAL_FRAME, int (*)(env_t, int))(jni, 4) != 0)
        return NULL;
    struct method_info *mi = calloc(1, sizeof(*mi));
    if (mi && FN(env, T_GET_METHOD_NAME, int (*)(env_t, void *, char **, char **, char **))(env, m, &name, NULL, NULL)
                  == 0
        && FN(env, T_GET_METHOD_DECLARING_CLASS, int (*)(env_t, void *, void **))(env, m, &cls) == 0
        && FN(env, T_GET_CLASS_SIGNATURE, int (*)(env_t, void *, char **, char **))(env, cls, &sig, NULL) == 0) {
        char *c = jstrdup(env, sig), *mn = jstrdup(env, name);
        name = sig = NULL;
        if (c && mn) {
            class_name(c);
            size_t len = strlen(c) + strlen(mn) + 2;
            mi->function = malloc(len);
            if (mi->function)
                snprintf(mi->function, len, "%s.%s", c, mn);
        }
        free(c);
        free(mn);
        if (FN(env, T_GET_SOURCE_FILE_NAME, int (*)(env_t, void *, char **))(env, cls, &src) == 0)
            mi->file = jstrdup(env, src);
        if (FN(env, T_GET_LINE_NUMBER_TABLE, int (*)(env_t, void *, int *, void **))(env, m, &n, &table) == 0) {
            mi->lines = n > 0 ? malloc((size_t)n * sizeof(*mi->lines)) : NULL;
            if (mi->lines) {
                memcpy(mi->lines, table, (size_t)n * sizeof(*mi->lines));
                mi->nlines = n;
            }
            FN(env, T_DEALLOCATE, int (*)(env_t, void *))(env, table);
        }
    }
    if (name)
        FN(env, T_DEALLOCATE, int (*)(env_t, void *))(env, name);
    if (sig)
        FN(env, T_DEALLOCATE, int (*)(env_t, void *))(env, sig);
    FN(jni, JNI_POP_LOCAL_FRAME, void *(*)(env_t, void *))(jni, NULL);
    if (mi && !mi->function) { /* a method of a class unloaded since: leave it unnamed, and try no more */
        free(mi->file);
        free(mi->lines);
        mi->file = NULL, mi->lines = NULL, mi->nlines = 0;
    }
    return mi;
}

/* Name every method seen and not named yet; the calling thread is attached (jni). */
static void name_all(env_t env, env_t jni)
{
    uint32_t n = sl_itab_count(&methods);
    for (uint32_t id = 1; id <= n; id++) {
        struct method_entry *e = sl_itab_get(&methods, id);
        if (e && !atomic_load(&e->info)) {
            struct method_info *mi = name_method(env, jni, e->method);
            if (mi)
                atomic_store(&e->info, mi);
        }
    }
}

static void on_vm_death(env_t env, env_t jni)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 5; /* never hold the VM's exit for long */
    if (pthread_mutex_timedlock(&resolve_lock, &until) == 0) {
        name_all(env, jni);
        atomic_store(&dead, true);
        pthread_mutex_unlock(&resolve_lock);
    } else {
        atomic_store(&dead, true);
    }
}

void sl_jvm_resolve(void)
{
    env_t v = atomic_load(&vm), env = atomic_load(&jvmti);
    if (!v || !env || atomic_load(&dead))
        return;
    uint32_t n = sl_itab_count(&methods);
    bool todo = false;
    for (uint32_t id = 1; id <= n && !todo; id++) {
        struct method_entry *e = sl_itab_get(&methods, id);
        todo = e && !atomic_load(&e->info);
    }
    if (!todo)
        return;
    pthread_mutex_lock(&resolve_lock);
    env_t jni = NULL;
    bool attached = false;
    if (!atomic_load(&dead) && FN(v, VM_GET_ENV, int (*)(env_t, env_t *, int))(v, &jni, JNI_VERSION_1_6) != 0) {
        struct { int version; char *name; void *group; } args = { JNI_VERSION_1_6, (char *)"sockleak", NULL };
        attached = FN(v, VM_ATTACH_DAEMON, int (*)(env_t, env_t *, void *))(v, &jni, &args) == 0;
        if (!attached)
            jni = NULL;
    }
    if (jni && !atomic_load(&dead)) {
        arm(env);
        name_all(env, jni);
    }
    if (attached)
        FN(v, VM_DETACH, int (*)(env_t))(v);
    pthread_mutex_unlock(&resolve_lock);
}

bool sl_jvm_method(uintptr_t m, intptr_t bci, const char **function, const char **file, int *line)
{
    struct method_entry *e = method((void *)m, false);
    struct method_info *mi = e ? atomic_load(&e->info) : NULL;
    if (!mi || !mi->function)
        return false;
    *function = mi->function;
    *file = mi->file;
    *line = 0;
    int64_t best = -1; /* the entry that starts last at or before bci */
    for (int i = 0; i < mi->nlines; i++)
        if (bci >= 0 && mi->lines[i].start <= bci && mi->lines[i].start > best)
            best = mi->lines[i].start, *line = mi->lines[i].line;
    return true;
}

int sl_jvm_agent(void *javavm)
{
    if (!javavm || !sl_opt.java_frames)
        return 0;
    if (!jvm_lo) /* the VM's functions are in libjvm.so */
        sl_module_bounds(*(void *const *const *)javavm, &jvm_lo, &jvm_hi);
    env_t expect = NULL;
    atomic_compare_exchange_strong(&vm, &expect, (env_t)javavm);
    env_t env = environment((env_t)javavm);
    if (env) { /* OnLoad: capabilities can be had now; the event waits for the live phase */
        uint32_t caps[4] = { CAN_GET_SOURCE_FILE_NAME | CAN_GET_LINE_NUMBERS, 0, 0, 0 };
        FN(env, T_ADD_CAPABILITIES, int (*)(env_t, const void *))(env, caps);
        arm(env);
    }
    return 0;
}
