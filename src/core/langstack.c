/*
 * langstack.c - which language runtimes the process holds, and the language frames of
 * the code that calls socket() now.
 *
 * CPython is looked for at start-up (its symbols are there from the start, in the
 * program or its libpython); a JVM is loaded later (the java launcher dlopens
 * libjvm.so), and an embedded libpython may be. So when a capture finds a runtime
 * missing, it looks again, at most every PROBE_EVERY and only when the loader has
 * loaded something since (dl_iterate_phdr's count of loads, read from its first
 * callback), and only at a thread's first capture and every 16th after it: a process
 * with neither runtime pays a thread-local increment and one load per socket
 * (sl_lang_quiet, inline: sl_lang_found says what was found, sl_lang_tick counts the
 * thread's captures), and its captures skip this file 15 times in 16.
 *
 * Python frames are read before the native stack is unwound, and when there are some,
 * fewer native frames are unwound (native_frames): the unwinder's cost grows with
 * every frame, and below the first few they are the interpreter's. Java frames come
 * after the native ones: a socket the VM makes itself (its caller is in libjvm) gets none.
 */
#define _GNU_SOURCE
#include <link.h>
#include <string.h>

#include "core.h"

#define PROBE_EVERY (10 * SL_MS)
/* Native frames kept below Python frames (native_frames=below): the C code between
 * the interpreter and socket() (an extension module, libpq...); deeper down they are
 * the interpreter's own, and each costs the unwinder time on every socket. */
#define LANG_NATIVE_DEPTH 6

static _Atomic bool have_py, have_jvm;
_Atomic int sl_lang_found;
__thread unsigned sl_lang_tick SL_TLS;
static _Atomic int64_t next_probe_ns;
static _Atomic unsigned long long loads_seen;

const char *sl_lang_name(int lang)
{
    static const char *const names[] = { NULL, "python", "java", "js" };
    return lang > 0 && lang < (int)SL_ARRAY_LEN(names) ? names[lang] : NULL;
}

static int first_loads(struct dl_phdr_info *info, size_t size, void *arg)
{
    if (size >= offsetof(struct dl_phdr_info, dlpi_adds) + sizeof(info->dlpi_adds))
        *(unsigned long long *)arg = info->dlpi_adds;
    return 1; /* the count is the same in every callback: one is enough */
}

/* Which runtimes' libraries are loaded: bit 0 a libpython, bit 1 libjvm.so. Names are
 * looked at before any dlsym(): a dlsym() that fails would leave its message for the
 * program's next dlerror(). */
static int runtime_modules(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    const char *base = strrchr(name, '/');
    base = base ? base + 1 : name;
    if (!strncmp(base, "libpython3", 10))
        *(int *)arg |= 1;
    if (!strcmp(base, "libjvm.so"))
        *(int *)arg |= 2;
    return 0;
}

/* What was found, for sl_lang_quiet and sl_lang_python. */
static void publish(void)
{
    atomic_store(&sl_lang_found, (atomic_load(&have_py) ? SL_LANG_FOUND_PY : 0)
                                     | (atomic_load(&have_jvm) ? SL_LANG_FOUND_JVM : 0)
                                     | (sl_jvm_loaded() ? SL_LANG_FOUND_JVM_LOADED : 0));
}

static void probe(int modules)
{
    if (!atomic_load_explicit(&have_py, memory_order_relaxed) && (modules & 1) && sl_py_probe())
        atomic_store(&have_py, true);
    if (!atomic_load_explicit(&have_jvm, memory_order_relaxed) && (modules & 2) && sl_jvm_probe())
        atomic_store(&have_jvm, true);
    publish();
}

void sl_lang_init(void)
{
    int modules = 0;
    dl_iterate_phdr(runtime_modules, &modules);
    /* CPython linked into the program itself (Debian's python3.11) has no library to
     * name: its symbols are asked for once, now */
    probe(modules | 1);
}

static void maybe_probe(void)
{
    if (atomic_load_explicit(&have_jvm, memory_order_relaxed) && atomic_load_explicit(&have_py, memory_order_relaxed))
        return;
    if (sl_jvm_loaded()) { /* libjvm is loaded, its VM not made yet: ask at every socket */
        if (sl_jvm_probe()) { /* (no walk of the modules: libjvm's bounds are known) */
            atomic_store(&have_jvm, true);
            publish();
        }
        return;
    }
    /* each thread looks at its 1st, 17th... capture (sl_lang_quiet counted it).
     * (ThreadSanitizer sees the loader write module names, not the lock dl_iterate_phdr
     * takes to read them: under it, runtimes are looked for at start-up only) */
    if (((sl_lang_tick - 1) & 15) || sl_tsan())
        return;
    int64_t now = sl_now_coarse_ns(), next = atomic_load_explicit(&next_probe_ns, memory_order_relaxed);
    if (now < next || !atomic_compare_exchange_strong(&next_probe_ns, &next, now + PROBE_EVERY))
        return;
    if (!sl_dl_trylock()) /* the shim's walks of the loaded modules hold off fork (sys.c) */
        return;
    unsigned long long loads = 0;
    dl_iterate_phdr(first_loads, &loads);
    if (loads != atomic_exchange(&loads_seen, loads)) {
        int modules = 0;
        dl_iterate_phdr(runtime_modules, &modules);
        probe(modules);
    }
    sl_dl_unlock();
}

bool sl_lang_poll(void)
{
    SL_KEEP_ERRNO(); /* dlsym, the JVM's calls */
    maybe_probe();
    return atomic_load_explicit(&sl_lang_found, memory_order_relaxed) != 0;
}

int sl_lang_capture(struct sl_lframe *out, int max, uint8_t *lang)
{
    SL_KEEP_ERRNO(); /* the checked reads */
    int n = atomic_load_explicit(&have_py, memory_order_relaxed) ? sl_py_capture(out, max) : 0;
    if (n > 0)
        *lang = SL_LANG_PYTHON;
    return n > 0 ? n : 0;
}

int sl_lang_capture_native(struct sl_lframe *out, int max, uintptr_t caller, uint8_t *lang)
{
    SL_KEEP_ERRNO();
    int n = atomic_load_explicit(&have_jvm, memory_order_relaxed) ? sl_jvm_capture(out, max, caller) : 0;
    if (n > 0)
        *lang = SL_LANG_JAVA;
    return n > 0 ? n : 0;
}

int sl_lang_native_depth(int depth)
{
    if (sl_opt.native_frames == SL_NATIVE_NONE)
        return 0;
    if (sl_opt.native_frames == SL_NATIVE_SPLICED || depth < LANG_NATIVE_DEPTH)
        return depth;
    return LANG_NATIVE_DEPTH;
}
