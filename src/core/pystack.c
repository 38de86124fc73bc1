/*
 * pystack.c - the Python frames of the calling thread, read from CPython 3.11, 3.12 or
 * 3.13 by the shim itself, the way faulthandler dumps a traceback.
 *
 * CPython releases the GIL around socket(), accept() and connect(), so the shim runs
 * without it: no Python API that needs the GIL, no reference counts, no allocation.
 * The calling thread's state comes from PyGILState_GetThisThreadState() (a TSS read,
 * valid without the GIL); its chain of interpreter frames is followed by reading
 * memory at the offsets of the running version, chosen from Py_Version (3.11, 3.12:
 * tables from the interpreters' own headers; 3.13: the _Py_DebugOffsets CPython
 * publishes at the start of _PyRuntime). Only this thread changes its own frame chain,
 * and it is blocked in our wrapper; each frame holds a strong reference to its code
 * object, so what the chain points to stays alive while we read it.
 *
 * The offsets are believed, not known, so nothing is read blindly until they are
 * proved: the first walk that finds frames reads every byte through sl_peek (which
 * cannot fault) and checks what it reads (code objects are PyCode_Type, names are
 * str, line tables bytes, owners and instruction pointers in range). Anything wrong
 * turns Python frames off for the process: the native frames remain. Once the layout
 * has proved itself, the hot path reads directly, still checking each object's type.
 *
 * A (code object, instruction) pair is resolved to file, qualified name and line once,
 * the first time it is seen, with checked reads (the line from the code object's
 * location table, decoded here as PyCode_Addr2Line does), into a location (locs.c):
 * a code object may be freed long before the report. A cache maps the pair, and the
 * code object's name and file pointers, to that location.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include "core.h"

#define WALK_LIMIT 1024     /* frames followed at most: a cycle cannot hold us */
#define CODE_READ 216       /* bytes of a code object's header we read, at most */
#define FRAME_READ 80       /* ... of an interpreter frame */

struct layout {
    int minor;
    size_t ts_interp;       /* PyThreadState.interp */
    size_t ts_cframe;       /* PyThreadState.cframe (3.11, 3.12); 0: the frame pointer is in the thread state */
    size_t cur_frame;       /* _PyCFrame.current_frame, or PyThreadState.current_frame (3.13) */
    size_t fr_code, fr_previous, fr_instr, fr_owner, fr_entry; /* fr_entry: 3.11's is_entry; 0 = none */
    size_t co_filename, co_qualname, co_linetable, co_firstlineno, co_firsttraceable, co_code;
    size_t str_ascii, str_compact; /* where a compact string's characters start: ASCII, other */
    size_t interp_gc_collecting;   /* PyInterpreterState.gc.collecting */
    int owner_generator, owner_cstack; /* -1: none */
};

/* 3.11 and 3.12, x86-64, from the interpreters' own headers (Debian's 3.11.2, pyenv's 3.11.7, 3.12.1) */
static const struct layout py311 = {
    .minor = 11, .ts_interp = 16, .ts_cframe = 56, .cur_frame = 8, .fr_code = 32, .fr_previous = 48, .fr_instr = 56,
    .fr_owner = 69, .fr_entry = 68, .co_filename = 112, .co_qualname = 128, .co_linetable = 136, .co_firstlineno = 72,
    .co_firsttraceable = 168, .co_code = 184, .str_ascii = 48, .str_compact = 72, .interp_gc_collecting = 648 + 200,
    .owner_generator = 1, .owner_cstack = -1,
};
static const struct layout py312 = {
    .minor = 12, .ts_interp = 16, .ts_cframe = 56, .cur_frame = 0, .fr_code = 0, .fr_previous = 8, .fr_instr = 56,
    .fr_owner = 70, .fr_entry = 0, .co_filename = 112, .co_qualname = 128, .co_linetable = 136, .co_firstlineno = 68,
    .co_firsttraceable = 176, .co_code = 192, .str_ascii = 40, .str_compact = 56, .interp_gc_collecting = 112 + 200,
    .owner_generator = 1, .owner_cstack = 3,
};

/* the head of 3.13's _Py_DebugOffsets (Include/internal/pycore_runtime.h), up to what we use */
struct dbg313 {
    char cookie[8];
    uint64_t version, free_threaded;
    uint64_t runtime_state[3];
    uint64_t interp_size, interp_id, interp_next, interp_threads_head, interp_gc, interp_rest[8];
    uint64_t ts_size, ts_prev, ts_next, ts_interp, ts_current_frame, ts_thread_id, ts_native_thread_id,
        ts_datastack_chunk, ts_status;
    uint64_t fr_size, fr_previous, fr_executable, fr_instr_ptr, fr_localsplus, fr_owner;
    uint64_t co_size, co_filename, co_name, co_qualname, co_linetable, co_firstlineno, co_argcount,
        co_localsplusnames, co_localspluskinds, co_code_adaptive;
    uint64_t ob_size_, ob_type;
    uint64_t type_object[4], tuple_object[3], list_object[3], dict_object[3], float_object[2], long_object[3];
    uint64_t bytes_size, bytes_ob_size, bytes_ob_sval;
    uint64_t str_size, str_state, str_length, str_asciiobject_size;
    uint64_t gc_size, gc_collecting;
};

static struct layout L;
static _Atomic int state;   /* enum below */
enum { PY_ABSENT = 0, PY_FOUND, PY_PROVED, PY_OFF };
static void *(*thread_state)(void); /* PyGILState_GetThisThreadState */
static uintptr_t code_type, str_type, bytes_type;
static uintptr_t finalizer_lo, finalizer_hi; /* PyObject_CallFinalizerFromDealloc */
static const char *why_off;

static inline bool plausible(uintptr_t p)
{
    return p >= 4096 && p < 0x800000000000ull && (p & 7) == 0;
}

/* Read n bytes: checked while the layout has not proved itself (or when asked). */
static inline int rd(bool checked, void *dst, uintptr_t src, size_t n)
{
    if (checked)
        return sl_peek(dst, src, n);
    memcpy(dst, (const void *)src, n);
    return 0;
}

/* An object's bytes: a checked copy in buf, or, once the layout has proved itself, the
 * object in place (no copy on the hot path). NULL if it cannot be read. */
static inline const unsigned char *view(bool checked, unsigned char *buf, uintptr_t src, size_t n)
{
    if (!checked)
        return (const unsigned char *)src;
    return sl_peek(buf, src, n) == 0 ? buf : NULL;
}

#define AT(buf, off, type) (*(const type *)((const char *)(buf) + (off)))

static bool version_layout(unsigned long v)
{
    if ((v >> 24) != 3)
        return false;
    int minor = (int)((v >> 16) & 0xff);
    if (minor == 11) {
        L = py311;
        return true;
    }
    if (minor == 12) {
        L = py312;
        return true;
    }
    if (minor != 13)
        return false;
    void *rt = dlsym(RTLD_DEFAULT, "_PyRuntime");
    struct dbg313 d;
    if (!rt || sl_peek(&d, (uintptr_t)rt, sizeof(d)) != 0 || memcmp(d.cookie, "xdebugpy", 8) || d.version != v
        || d.free_threaded || d.ob_type != 8 || d.bytes_ob_sval != 32 || d.str_state != 32 || d.str_length != 16)
        return false;
    L = (struct layout){
        .minor = 13, .ts_interp = d.ts_interp, .ts_cframe = 0, .cur_frame = d.ts_current_frame,
        .fr_code = d.fr_executable, .fr_previous = d.fr_previous, .fr_instr = d.fr_instr_ptr, .fr_owner = d.fr_owner,
        .fr_entry = 0, .co_filename = d.co_filename, .co_qualname = d.co_qualname, .co_linetable = d.co_linetable,
        .co_firstlineno = d.co_firstlineno, .co_firsttraceable = 0, .co_code = d.co_code_adaptive,
        .str_ascii = d.str_asciiobject_size, .str_compact = d.str_asciiobject_size + 16,
        .interp_gc_collecting = d.interp_gc + d.gc_collecting, .owner_generator = 1, .owner_cstack = 3,
    };
    /* every offset inside what we read of each object */
    return L.co_code <= CODE_READ && L.co_filename < L.co_code && L.co_qualname < L.co_code
        && L.co_linetable < L.co_code && L.co_firstlineno < L.co_code && L.fr_code + 8 <= FRAME_READ
        && L.fr_previous + 8 <= FRAME_READ && L.fr_instr + 8 <= FRAME_READ && L.fr_owner < FRAME_READ;
}

int sl_py_probe(void)
{
    int s = atomic_load_explicit(&state, memory_order_acquire);
    if (s != PY_ABSENT || !sl_opt.python_frames)
        return s == PY_FOUND || s == PY_PROVED;
    void *ver = dlsym(RTLD_DEFAULT, "Py_Version");
    if (!ver) {
        dlerror(); /* ours: not for the program's next dlerror() */
        return 0;
    }
    unsigned long v = 0;
    void *ts = dlsym(RTLD_DEFAULT, "PyGILState_GetThisThreadState");
    void *ct = dlsym(RTLD_DEFAULT, "PyCode_Type"), *ut = dlsym(RTLD_DEFAULT, "PyUnicode_Type");
    void *bt = dlsym(RTLD_DEFAULT, "PyBytes_Type"), *fin = dlsym(RTLD_DEFAULT, "PyObject_CallFinalizerFromDealloc");
    if (sl_peek(&v, (uintptr_t)ver, sizeof(v)) != 0 || !ts || !ct || !ut || !bt) {
        why_off = "a Py_Version without the interpreter's other symbols";
    } else if (!version_layout(v)) {
        why_off = "a Python version whose frame layout sockleak does not know";
    } else {
        thread_state = (void *(*)(void))ts;
        code_type = (uintptr_t)ct, str_type = (uintptr_t)ut, bytes_type = (uintptr_t)bt;
        Dl_info di;
        const ElfW(Sym) *sym = NULL;
        if (fin && dladdr1(fin, &di, (void **)&sym, RTLD_DL_SYMENT) && sym && sym->st_size)
            finalizer_lo = (uintptr_t)fin, finalizer_hi = (uintptr_t)fin + sym->st_size;
        atomic_store_explicit(&state, PY_FOUND, memory_order_release);
        if (sl_opt.verbose >= 2)
            sl_log("Python %lu.%lu found: Python frames on (proved at the first walk)", v >> 24, (v >> 16) & 0xff);
        return 1;
    }
    atomic_store_explicit(&state, PY_OFF, memory_order_release);
    if (sl_opt.verbose >= 2)
        sl_log("Python frames off: %s (Py_Version %#lx)", why_off, v);
    return 0;
}

static void turn_off(const char *why)
{
    int expect = PY_FOUND;
    if (atomic_compare_exchange_strong(&state, &expect, PY_OFF) && sl_opt.verbose >= 2)
        sl_log("Python frames off: %s; native frames only", why);
}

/* ---- strings and line numbers, read with checks (first sight of a code location) ---- */

static void put_utf8(char *out, size_t cap, size_t *n, uint32_t c)
{
    char b[4];
    size_t k;
    if (c < 0x80)
        b[0] = (char)c, k = 1;
    else if (c < 0x800)
        b[0] = (char)(0xc0 | c >> 6), b[1] = (char)(0x80 | (c & 0x3f)), k = 2;
    else if (c < 0x10000)
        b[0] = (char)(0xe0 | c >> 12), b[1] = (char)(0x80 | ((c >> 6) & 0x3f)), b[2] = (char)(0x80 | (c & 0x3f)), k = 3;
    else
        b[0] = (char)(0xf0 | c >> 18), b[1] = (char)(0x80 | ((c >> 12) & 0x3f)), b[2] = (char)(0x80 | ((c >> 6) & 0x3f)),
        b[3] = (char)(0x80 | (c & 0x3f)), k = 4;
    if (*n + k < cap) {
        memcpy(out + *n, b, k);
        *n += k;
    }
}

/* A str object as UTF-8 into out (cap bytes, NUL-terminated). Returns the length, or -1
 * if it is not a compact str. */
static long read_str(uintptr_t obj, char *out, size_t cap)
{
    unsigned char h[48];
    if (!plausible(obj) || sl_peek(h, obj, 40) != 0 || AT(h, 8, uintptr_t) != str_type)
        return -1;
    uint32_t st = AT(h, 32, uint32_t);
    long len = AT(h, 16, long);
    unsigned kind = (st >> 2) & 7, compact = (st >> 5) & 1, ascii = (st >> 6) & 1;
    if (!compact || len < 0 || (kind != 1 && kind != 2 && kind != 4))
        return -1;
    size_t n = 0;
    uintptr_t data = obj + (ascii ? L.str_ascii : L.str_compact);
    unsigned char chunk[128];
    for (long i = 0; i < len && n + 5 < cap;) {
        long take = (long)(sizeof(chunk) / kind);
        take = take < len - i ? take : len - i;
        if (sl_peek(chunk, data + (uintptr_t)i * kind, (size_t)take * kind) != 0)
            return -1;
        for (long j = 0; j < take; j++) {
            uint32_t c = kind == 1 ? chunk[j] : kind == 2 ? ((uint16_t *)chunk)[j] : ((uint32_t *)chunk)[j];
            put_utf8(out, cap, &n, c);
        }
        i += take;
    }
    out[n] = '\0';
    return (long)n;
}

/* A bytes object's content, read through a window of checked reads. */
struct window {
    uintptr_t data;
    long size, base;
    unsigned char buf[256];
};

static int byte_at(struct window *w, long off)
{
    if (off < 0 || off >= w->size)
        return -1;
    if (w->base < 0 || off < w->base || off >= w->base + (long)sizeof(w->buf)) {
        long n = w->size - off < (long)sizeof(w->buf) ? w->size - off : (long)sizeof(w->buf);
        if (sl_peek(w->buf, w->data + (uintptr_t)off, (size_t)n) != 0)
            return -1;
        w->base = off;
    }
    return w->buf[off - w->base];
}

/* The line of byte offset addr in a code object, from its location table (3.11+,
 * Objects/locations.md): what PyCode_Addr2Line answers; 0 if unknown. */
static int addr_to_line(uintptr_t table, int firstlineno, long addr)
{
    unsigned char h[32];
    if (addr < 0)
        return firstlineno;
    if (!plausible(table) || sl_peek(h, table, 32) != 0 || AT(h, 8, uintptr_t) != bytes_type)
        return 0;
    struct window w = { .data = table + 32, .size = AT(h, 16, long), .base = -1 };
    if (w.size <= 0 || w.size > (1 << 24))
        return 0;
    long off = 0, start = 0, line = firstlineno;
    while (off < w.size) {
        int b = byte_at(&w, off);
        if (b < 0 || !(b & 0x80))
            return 0;
        int code = (b >> 3) & 15;
        long end = start + ((b & 7) + 1) * 2;
        if (code == 13 || code == 14) { /* the line delta: a signed varint */
            unsigned long u = 0;
            int shift = 0, c;
            long o = off + 1;
            do {
                if ((c = byte_at(&w, o++)) < 0 || shift > 28)
                    return 0;
                u |= (unsigned long)(c & 63) << shift;
                shift += 6;
            } while (c & 64);
            line += (u & 1) ? -(long)(u >> 1) : (long)(u >> 1);
        } else if (code >= 10 && code <= 12) {
            line += code - 10;
        }
        if (addr >= start && addr < end)
            return code == 15 ? 0 : (int)line;
        start = end;
        do /* on to the next entry's first byte */
            b = byte_at(&w, ++off);
        while (b >= 0 && !(b & 0x80));
    }
    return 0;
}

/* ---- the code location cache: (code, instruction, name, file) -> location ---- */

struct code_key {
    uintptr_t code, filename, qualname;
    long lasti;
    int firstlineno;
    uint32_t loc;  /* the answer, not part of the key */
};
struct code_entry {
    struct sl_ientry head;
    struct code_key k;
};
static struct sl_itab code_cache = { .lock = PTHREAD_MUTEX_INITIALIZER, .max = 1u << 15 };

static bool same_code(const void *entry, const void *key)
{
    const struct code_key *a = &((const struct code_entry *)entry)->k, *b = key;
    return a->code == b->code && a->lasti == b->lasti && a->filename == b->filename && a->qualname == b->qualname
        && a->firstlineno == b->firstlineno;
}

static void fill_code(void *entry, const void *key)
{
    ((struct code_entry *)entry)->k = *(const struct code_key *)key;
}

/* The location of a code location; resolved, with checked reads, the first time. */
static uint32_t location(struct code_key *k, uintptr_t linetable)
{
    uint64_t h = (k->code >> 4) * 0x9e3779b97f4a7c15ull ^ (uint64_t)k->lasti * 0xff51afd7ed558ccdull;
    h ^= (h >> 29) ^ k->qualname;
    struct code_entry *e = sl_itab_find(&code_cache, h, same_code, k);
    if (e)
        return e->k.loc;
    char fn[SL_LOC_TEXT], file[SL_LOC_TEXT];
    long fl = read_str(k->qualname, fn, sizeof(fn)), filel = read_str(k->filename, file, sizeof(file));
    if (fl < 0 || filel < 0)
        return 0;
    int line = addr_to_line(linetable, k->firstlineno, k->lasti < 0 ? -1 : k->lasti * 2);
    k->loc = sl_loc_intern(SL_LANG_PYTHON, fn, (size_t)fl, file, (size_t)filel, line, 0);
    if (k->loc)
        sl_itab_add(&code_cache, h, same_code, k, sizeof(*e), fill_code); /* full: resolved again next time */
    return k->loc;
}

/* ---- the walk ---- */

/* The current frame of the calling thread (0: none), and its thread state. */
static uintptr_t top_frame(bool checked, uintptr_t *tstate)
{
    uintptr_t ts = (uintptr_t)thread_state(), f = 0, cf = ts;
    *tstate = ts;
    if (!ts)
        return 0;
    if (!plausible(ts))
        return 1; /* not a pointer: caller turns frames off */
    if (L.ts_cframe && (rd(checked, &cf, ts + L.ts_cframe, 8) != 0 || !plausible(cf)))
        return 1;
    if (rd(checked, &f, cf + L.cur_frame, 8) != 0)
        return 1;
    return f;
}

/* Walk the frames; checked: every read through sl_peek. Returns the frames kept, or -1
 * if what was read does not fit the layout. */
static int walk(bool checked, struct sl_lframe *out, int max)
{
    uintptr_t ts;
    uintptr_t f = top_frame(checked, &ts);
    if (f == 1)
        return -1;
    int n = 0;
    for (int hops = 0; f && n < max; hops++) {
        unsigned char frbuf[FRAME_READ], cobuf[CODE_READ];
        const unsigned char *fr, *co;
        if (hops >= WALK_LIMIT || !plausible(f) || !(fr = view(checked, frbuf, f, FRAME_READ)))
            return -1;
        uintptr_t code = AT(fr, L.fr_code, uintptr_t), instr = AT(fr, L.fr_instr, uintptr_t);
        int owner = AT(fr, L.fr_owner, unsigned char);
        f = AT(fr, L.fr_previous, uintptr_t);
        if (owner > 4)
            return -1;
        if (owner == L.owner_cstack) { /* an interpreter loop's entry frame: the frame above was its first */
            if (n)
                out[n - 1].pos |= SL_LF_ENTRY;
            continue;
        }
        if (!plausible(code) || !(co = view(checked, cobuf, code, L.co_code)))
            return -1;
        if (AT(co, 8, uintptr_t) != code_type) {
            if (L.minor >= 13)
                continue; /* 3.13's f_executable may be another object */
            return -1;
        }
        long ncode = AT(co, 16, long); /* code units */
        uintptr_t start = code + L.co_code;
        if (ncode <= 0 || ncode > (1 << 24) || (instr & 1))
            return -1;
        long lasti = instr < start ? -1 : (long)(instr - start) / 2;
        if (lasti >= ncode)
            return -1;
        if (L.co_firsttraceable && owner != L.owner_generator && lasti < AT(co, L.co_firsttraceable, int))
            continue; /* incomplete: not started yet */
        struct code_key k = { code, AT(co, L.co_filename, uintptr_t), AT(co, L.co_qualname, uintptr_t), lasti,
                              AT(co, L.co_firstlineno, int), 0 };
        uint32_t loc = location(&k, AT(co, L.co_linetable, uintptr_t));
        if (!loc) {
            if (checked)
                return -1; /* the names are not str: this is not the layout */
            continue;
        }
        out[n].ref = loc;
        out[n].pos = L.fr_entry && AT(fr, L.fr_entry, unsigned char) ? SL_LF_ENTRY : 0;
        n++;
    }
    return n;
}

int sl_py_capture(struct sl_lframe *out, int max)
{
    int s = atomic_load_explicit(&state, memory_order_acquire);
    if (s != PY_FOUND && s != PY_PROVED)
        return 0;
    int n = walk(s != PY_PROVED, out, max);
    if (n < 0) {
        if (s == PY_PROVED)
            return 0; /* an inconsistency in one walk after the layout proved itself: skip it */
        turn_off("the interpreter's memory does not have the layout of its version");
        return 0;
    }
    if (n > 0 && s == PY_FOUND) {
        int expect = PY_FOUND;
        atomic_compare_exchange_strong(&state, &expect, PY_PROVED);
    }
    return n;
}

/* The code objects of socket.socket's close path (socket._real_close, socket.close),
 * once seen: what the close that follows it is, without resolving a location. */
static _Atomic uintptr_t closers[4];

int sl_py_close_kind(void)
{
    if (atomic_load_explicit(&state, memory_order_acquire) != PY_PROVED)
        return SL_PY_CLOSE_PROGRAM;
    uintptr_t ts, code = 0, f = top_frame(false, &ts);
    if (f > 1 && plausible(f))
        code = *(const uintptr_t *)(f + L.fr_code);
    for (size_t k = 0; code && k < SL_ARRAY_LEN(closers); k++)
        if (atomic_load_explicit(&closers[k], memory_order_relaxed) == code)
            return SL_PY_CLOSE_PROGRAM; /* socket.socket.close() */
    struct sl_lframe top;
    const struct sl_loc *l = walk(false, &top, 1) == 1 ? sl_loc_get((uint32_t)top.ref) : NULL;
    size_t fl = l ? strlen(l->file) : 0;
    if (l && fl >= 10 && !strcmp(l->file + fl - 10, "/socket.py")
        && (!strcmp(l->function, "socket._real_close") || !strcmp(l->function, "socket.close"))) {
        for (size_t k = 0; code && k < SL_ARRAY_LEN(closers); k++) {
            uintptr_t none = 0;
            if (atomic_compare_exchange_strong(&closers[k], &none, code) || none == code)
                break;
        }
        return SL_PY_CLOSE_PROGRAM;
    }
    uintptr_t interp = 0;
    int collecting = 0;
    if (plausible(ts) && sl_peek(&interp, ts + L.ts_interp, 8) == 0 && plausible(interp)
        && sl_peek(&collecting, interp + L.interp_gc_collecting, sizeof(collecting)) == 0 && collecting)
        return SL_PY_CLOSE_FINALIZER; /* the cyclic garbage collector is finalizing objects */
    /* a reference count dropped to zero calls the socket object's finalizer: the native
     * callers say (os.close() on a socket's number is the program's own close) */
    return finalizer_lo ? SL_PY_CLOSE_ASK : SL_PY_CLOSE_PROGRAM;
}

bool sl_py_finalizer_ip(uintptr_t ip)
{
    return ip > finalizer_lo && ip <= finalizer_hi;
}
