/*
 * langframes.c - the language frames of a stack, as report frames.
 *
 * Python and JavaScript frames are locations the core resolved when it captured them;
 * Java frames are (method, bytecode index) pairs, named by the core's JVMTI side when
 * a report asks (sl_lang_resolve). Either way a frame becomes a struct sl_frame with
 * its language, function, file and line, and no address or module.
 *
 * Two rules of the reports live here. The headline names the first frame of the
 * program's own code: a Python stack starts in the standard library (socket.__init__),
 * a Java one in java.net, a Node one perhaps in node:_http_agent; the program's frame
 * below them is the line to fix. And a stack with language frames is fingerprinted
 * from them alone (language, function, file name, line): the same leak has the same id
 * whatever the interpreter's build, its addresses or where the program is installed,
 * while two paths from one line of the program (a socket it asked for, and one the
 * runtime made on the way) stay apart.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "report.h"

void sl_lang_resolve(void)
{
    sl_jvm_resolve();
}

int sl_lang_frames(const struct sl_stack *st, struct sl_frame *out)
{
    const struct sl_lframe *lf = sl_stack_lframes(st);
    for (int i = 0; i < st->nlang; i++) {
        struct sl_frame *f = &out[i];
        memset(f, 0, sizeof(*f));
        f->lang = st->lang;
        if (st->lang == SL_LANG_JAVA) {
            if (!sl_jvm_method(lf[i].ref, lf[i].pos, &f->function, &f->file, &f->line))
                f->ip = lf[i].ref; /* not named (the VM went without a word): its jmethodID */
            continue;
        }
        const struct sl_loc *l = sl_loc_get((uint32_t)lf[i].ref);
        if (!l)
            continue;
        f->function = l->function[0] ? l->function : NULL;
        f->file = l->file[0] ? l->file : NULL;
        f->line = l->line;
        f->column = l->column;
    }
    return st->nlang;
}

static bool prefixed(const char *s, const char *const *prefixes)
{
    for (; s && *prefixes; prefixes++)
        if (!strncmp(s, *prefixes, strlen(*prefixes)))
            return true;
    return false;
}

bool sl_lang_is_runtime(const struct sl_frame *f)
{
    static const char *const java[] = { "java.", "javax.", "jdk.", "sun.", "com.sun.", NULL };
    static const char *const js[] = { "node:", "internal/", NULL };
    switch (f->lang) {
    case SL_LANG_PYTHON:
        /* the standard library (.../lib/python3.11/socket.py), frozen modules; not what
         * is installed beside it (site-packages, dist-packages) */
        return f->file
            && (!strncmp(f->file, "<frozen ", 8)
                || (strstr(f->file, "/lib/python3") && !strstr(f->file, "-packages/")));
    case SL_LANG_JAVA: return prefixed(f->function, java);
    case SL_LANG_JS: return prefixed(f->file, js);
    }
    return false;
}

const struct sl_frame *sl_lang_headline(const struct sl_frame *f, int n)
{
    const struct sl_frame *first = NULL;
    for (int i = 0; i < n; i++)
        if (f[i].lang) {
            if (!sl_lang_is_runtime(&f[i]))
                return &f[i];
            if (!first)
                first = &f[i];
        }
    return first ? first : n > 0 ? &f[0] : NULL;
}

static uint64_t fnv_str(uint64_t h, const char *s)
{
    return sl_fnv(h, s ? s : "", (s ? strlen(s) : 0) + 1);
}

void sl_lang_fingerprint(const struct sl_frame *f, int n, char out[24])
{
    uint64_t h = 0x84222325cbf29ce4ull; /* not the native fingerprints' basis: never the same id */
    for (int i = 0; i < n; i++) {
        if (!f[i].lang)
            continue;
        const char *base = f[i].file ? strrchr(f[i].file, '/') : NULL;
        int line = f[i].line;
        h = fnv_str(h, sl_lang_name(f[i].lang));
        h = fnv_str(h, f[i].function);
        h = fnv_str(h, base ? base + 1 : f[i].file);
        h = sl_fnv(h, &line, sizeof(line));
        if (!f[i].function) /* a frame nobody could name: at least never another's */
            h = sl_fnv(h, &f[i].ip, sizeof(f[i].ip));
    }
    snprintf(out, 24, "%016llx", (unsigned long long)h);
}

static bool eval_loop(const struct sl_frame *f)
{
    return !f->lang && f->function && !strcmp(f->function, "_PyEval_EvalFrameDefault");
}

int sl_lang_splice(struct sl_frame *frames, int nlang, int n, const struct sl_lframe *lf)
{
    if (nlang <= 0 || nlang == n || frames[0].lang != SL_LANG_PYTHON)
        return n;
    struct sl_frame out[2 * SL_MAX_DEPTH + 1];
    int o = 0, next = 0; /* the next Python frame to place */
    for (int i = nlang; i < n; i++) {
        if (!eval_loop(&frames[i]) || next >= nlang) {
            out[o++] = frames[i];
            continue;
        }
        /* this loop ran the Python frames up to the next one marked as its first */
        do
            out[o++] = frames[next];
        while (!(lf[next++].pos & SL_LF_ENTRY) && next < nlang);
    }
    while (next < nlang) /* the native stack was cut shorter than the Python one */
        out[o++] = frames[next++];
    memcpy(frames, out, (size_t)o * sizeof(*frames));
    return o;
}
