/*
 * srcline.c - file:line for frames, in-process, through elfutils when it is there.
 *
 * libdw (Debian's libdw1) is loaded with dlopen(RTLD_LOCAL) the first time a report
 * wants source lines, and never linked: the shim must load into programs on machines
 * without it, and must not add a library to every host's start-up.
 *
 * libdw opens the ELF and debug files it reads and keeps them open while its session
 * lives, so the lookups run in the I/O child (fd/iochild.c), in a child with its own copy of the fd
 * table: one Dwfl session describes this process (dwfl_linux_proc_report), each address
 * loads its module's line table lazily (from the binary, or from a separate debug file
 * found by build-id), and the session ends with the child. The answers are kept in a
 * cache by address, valid as long as the set of loaded modules does not change (the
 * loader's adds/subs counters), so a report only looks up addresses no earlier report
 * asked for. Frames of modules without debug information have no file:line (`sockleak
 * report symbolize` can add them later). Reports only: never in a wrapper.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"

static struct {
    bool ok;
    Dwfl *(*begin)(const Dwfl_Callbacks *);
    void (*end)(Dwfl *);
    int (*proc_report)(Dwfl *, pid_t);
    int (*report_end)(Dwfl *, int (*)(Dwfl_Module *, void *, const char *, Dwarf_Addr, void *), void *);
    Dwfl_Module *(*addrmodule)(Dwfl *, Dwarf_Addr);
    Dwfl_Line *(*getsrc)(Dwfl_Module *, Dwarf_Addr);
    const char *(*lineinfo)(Dwfl_Line *, Dwarf_Addr *, int *, int *, Dwarf_Word *, Dwarf_Word *);
    int (*build_id_find)(Dwfl_Module *, void **, const char *, Dwarf_Addr, const char *, const char *,
                         GElf_Word, char **);
    /* inlined calls (optional: without them, frames are not expanded) */
    Dwarf_Die *(*addrdie)(Dwfl_Module *, Dwarf_Addr, Dwarf_Addr *);
    int (*getscopes)(Dwarf_Die *, Dwarf_Addr, Dwarf_Die **);
    int (*tag)(Dwarf_Die *);
    Dwarf_Attribute *(*attr)(Dwarf_Die *, unsigned int, Dwarf_Attribute *);
    Dwarf_Attribute *(*attr_integrate)(Dwarf_Die *, unsigned int, Dwarf_Attribute *);
    const char *(*formstring)(Dwarf_Attribute *);
    int (*formudata)(Dwarf_Attribute *, Dwarf_Word *);
    int (*getsrcfiles)(Dwarf_Die *, Dwarf_Files **, size_t *);
    const char *(*filesrc)(Dwarf_Files *, size_t, Dwarf_Word *, Dwarf_Word *);
    int (*entrypc)(Dwarf_Die *, Dwarf_Addr *);
    int (*getscopes_die)(Dwarf_Die *, Dwarf_Die **);
    bool inlines;
    Dwfl_Callbacks callbacks;
    char *debuginfo_path;
} dw;
static pthread_once_t dw_once = PTHREAD_ONCE_INIT;

/* Where libdw finds a module's separate debug file. Not dwfl_standard_find_debuginfo:
 * when a module has none on this machine, that one dlopens libdebuginfod, which
 * brings libcurl, a TLS stack and their constructors into the host (and would ask the
 * network, were DEBUGINFOD_URLS set). Here: the build-id tree (/usr/lib/debug/.build-id,
 * where Debian's -dbgsym packages put them), then the file a .gnu_debuglink names,
 * beside the module, in its .debug directory, or under /usr/lib/debug. */
static int find_debuginfo(Dwfl_Module *mod, void **user, const char *modname, Dwarf_Addr base, const char *file,
                          const char *link, GElf_Word crc, char **found)
{
    int fd = dw.build_id_find(mod, user, modname, base, file, link, crc, found);
    if (fd >= 0 || !file || !link || !*link || strchr(link, '/'))
        return fd;
    const char *slash = strrchr(file, '/');
    int dirlen = slash ? (int)(slash - file) : 0;
    static const char *const fmt[] = { "%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s" };
    for (size_t i = 0; i < SL_ARRAY_LEN(fmt); i++) {
        char path[4096];
        int n = snprintf(path, sizeof(path), fmt[i], dirlen, file, link);
        if (n <= 0 || (size_t)n >= sizeof(path) || (i == 0 && !strcmp(path, file)))
            continue;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            *found = strdup(path);
            return fd;
        }
    }
    return -1;
}

static void load(void)
{
    void *h = sl_libdw();
    if (!h)
        return;
#define SYM(field, name) (*(void **)&dw.field = dlsym(h, name))
    SYM(begin, "dwfl_begin");
    SYM(end, "dwfl_end");
    SYM(proc_report, "dwfl_linux_proc_report");
    SYM(report_end, "dwfl_report_end");
    SYM(addrmodule, "dwfl_addrmodule");
    SYM(getsrc, "dwfl_module_getsrc");
    SYM(lineinfo, "dwfl_lineinfo");
    SYM(callbacks.find_elf, "dwfl_linux_proc_find_elf");
    SYM(build_id_find, "dwfl_build_id_find_debuginfo");
    SYM(addrdie, "dwfl_module_addrdie");
    SYM(getscopes, "dwarf_getscopes");
    SYM(tag, "dwarf_tag");
    SYM(attr, "dwarf_attr");
    SYM(attr_integrate, "dwarf_attr_integrate");
    SYM(formstring, "dwarf_formstring");
    SYM(formudata, "dwarf_formudata");
    SYM(getsrcfiles, "dwarf_getsrcfiles");
    SYM(filesrc, "dwarf_filesrc");
    SYM(entrypc, "dwarf_entrypc");
    SYM(getscopes_die, "dwarf_getscopes_die");
#undef SYM
    dw.inlines = dw.addrdie && dw.getscopes && dw.tag && dw.attr && dw.attr_integrate && dw.formstring
              && dw.formudata && dw.getsrcfiles && dw.filesrc && dw.entrypc && dw.getscopes_die;
    dw.callbacks.find_debuginfo = find_debuginfo;
    dw.callbacks.debuginfo_path = &dw.debuginfo_path; /* NULL: the standard places */
    dw.ok = dw.begin && dw.end && dw.proc_report && dw.report_end && dw.addrmodule && dw.getsrc && dw.lineinfo
         && dw.callbacks.find_elf && dw.build_id_find;
}

/* ---- the cache: address -> file:line (file NULL = no line known), and the calls
 * inlined at that address ---- */

struct entry {
    uintptr_t addr;
    char *file;
    int line;
    char *function; /* the physical function's, from DWARF (for a module without a symbol table) */
    uintptr_t function_offset;
    struct sl_inline *inl; /* ninl of them, innermost first; malloc'd, names and files too */
    int ninl;
};

static void free_inl(struct sl_inline *inl, int n)
{
    for (int k = 0; inl && k < n; k++) {
        free((char *)inl[k].function);
        free((char *)inl[k].file);
    }
    free(inl);
}
static struct entry *cache;
static size_t cache_cap, cache_n;
static unsigned long long seen_subs;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static int module_subs(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    *(unsigned long long *)arg = info->dlpi_subs;
    return 1; /* the counter is the same in every entry */
}

static void cache_clear(void)
{
    for (size_t i = 0; i < cache_cap; i++) {
        free(cache[i].file);
        free(cache[i].function);
        free_inl(cache[i].inl, cache[i].ninl);
    }
    free(cache);
    cache = NULL;
    cache_cap = cache_n = 0;
}

static struct entry *cache_find(uintptr_t addr, bool insert)
{
    if (!cache_cap || (insert && (cache_n + 1) * 2 > cache_cap)) {
        if (!insert)
            return NULL;
        size_t ncap = cache_cap ? cache_cap * 2 : 256;
        struct entry *nc = calloc(ncap, sizeof(*nc));
        if (!nc)
            return NULL;
        for (size_t i = 0; i < cache_cap; i++) /* rehash */
            if (cache[i].addr) {
                size_t j = (cache[i].addr * 0x9e3779b97f4a7c15ull) & (ncap - 1);
                while (nc[j].addr)
                    j = (j + 1) & (ncap - 1);
                nc[j] = cache[i];
            }
        free(cache);
        cache = nc;
        cache_cap = ncap;
    }
    for (size_t j = (addr * 0x9e3779b97f4a7c15ull) & (cache_cap - 1);; j = (j + 1) & (cache_cap - 1)) {
        if (cache[j].addr == addr)
            return &cache[j];
        if (!cache[j].addr) {
            if (!insert)
                return NULL;
            cache[j].addr = addr;
            cache_n++;
            return &cache[j];
        }
    }
}

/* ---- the lookup, in the I/O child ---- */

struct batch {
    const uintptr_t *addr;
    size_t n;
    char **file; /* malloc'd here, in the shared heap */
    int *line;
    char **function;
    uintptr_t *function_offset;
    struct sl_inline **inl;
    int *ninl;
};

/* The name of a DIE, following its abstract origin (an inlined call's function). */
static const char *die_name(Dwarf_Die *die)
{
    Dwarf_Attribute a;
    return dw.formstring(dw.attr_integrate(die, DW_AT_name, &a));
}

static Dwarf_Word die_udata(Dwarf_Die *die, unsigned int name)
{
    Dwarf_Attribute a;
    Dwarf_Word v = 0;
    if (dw.formudata(dw.attr(die, name, &a), &v) != 0)
        v = 0;
    return v;
}

/* The calls inlined at addr, innermost first, as addr2line -i gives them: each
 * function with the line inside it (the innermost's is the address's own line, l0),
 * then the line in the physical function where the outermost was called, in *file
 * and *line. The physical function's own name (its linkage name, mangled, if it has
 * one) and addr's offset in it go to *function and *offset: a stripped program whose
 * debug file is here has no symbol table, and this is then the only name for it.
 * Returns how many inlined calls (0: none, or no information). */
static int inlined_at(Dwfl_Module *m, Dwarf_Addr addr, const char *f0, int l0, struct sl_inline **out, char **file,
                      int *line, char **function, uintptr_t *offset)
{
    Dwarf_Addr bias = 0;
    Dwarf_Die *cu = dw.addrdie(m, addr, &bias);
    Dwarf_Die *scopes = NULL;
    int n = cu ? dw.getscopes(cu, addr - bias, &scopes) : 0;
    /* innermost first, lexical blocks between them, up to the physical function */
    int k = 0, i = 0;
    for (; i < n && dw.tag(&scopes[i]) != DW_TAG_subprogram; i++)
        if (dw.tag(&scopes[i]) == DW_TAG_inlined_subroutine)
            scopes[k++] = scopes[i];
    /* The physical function: past an inlined call, getscopes went on through the
     * inlined function's own (abstract) scopes, so it is found from the outermost
     * inlined call's DIE, among the scopes that contain it. */
    Dwarf_Die *outer = NULL, *phys = i < n ? &scopes[i] : NULL;
    if (!phys && k > 0) {
        int m2 = dw.getscopes_die(&scopes[k - 1], &outer);
        for (int j = 1; j < m2 && !phys; j++)
            if (dw.tag(&outer[j]) == DW_TAG_subprogram)
                phys = &outer[j];
    }
    if (phys) {
        Dwarf_Attribute a;
        const char *name = dw.formstring(dw.attr_integrate(phys, DW_AT_linkage_name, &a));
        if (!name)
            name = die_name(phys);
        Dwarf_Addr entry = 0;
        if (name && dw.entrypc(phys, &entry) == 0 && addr + 1 >= entry + bias) {
            *function = strdup(name);
            *offset = (uintptr_t)(addr + 1 - (entry + bias)); /* addr is the return address - 1 */
        }
    }
    free(outer);
    if (k == 0 || !(*out = calloc((size_t)k, sizeof(**out)))) {
        free(scopes);
        return 0;
    }
    Dwarf_Files *files = NULL;
    size_t nfiles = 0;
    if (dw.getsrcfiles(cu, &files, &nfiles) != 0)
        files = NULL;
    const char *f = f0;
    int l = l0;
    for (i = 0; i < k; i++) {
        const char *name = die_name(&scopes[i]);
        (*out)[i].function = strdup(name ? name : "??");
        (*out)[i].file = f ? strdup(f) : NULL;
        (*out)[i].line = l;
        /* where this call was made: a line of the function around it */
        Dwarf_Word cf = die_udata(&scopes[i], DW_AT_call_file);
        f = files && cf < nfiles ? dw.filesrc(files, cf, NULL, NULL) : NULL;
        l = (int)die_udata(&scopes[i], DW_AT_call_line);
    }
    free(scopes);
    *file = f && l > 0 ? strdup(f) : NULL;
    *line = f && l > 0 ? l : 0;
    return k;
}

/* A name from DWARF for the report (malloc'd; name is freed or kept), demangled as
 * the symbol tables' names are. */
static char *demangled(char *name)
{
    char *d = name ? sl_demangle(name) : NULL;
    if (!d)
        return name;
    free(name);
    return d;
}

static long lookup_in_child(void *p)
{
    struct batch *b = p;
    Dwfl *d = dw.begin(&dw.callbacks);
    if (!d)
        return -ENOMEM;
    if (dw.proc_report(d, getpid()) != 0 || dw.report_end(d, NULL, NULL) != 0) {
        dw.end(d);
        return -EIO;
    }
    for (size_t i = 0; i < b->n; i++) {
        Dwfl_Module *m = dw.addrmodule(d, b->addr[i]);
        Dwfl_Line *l = m ? dw.getsrc(m, b->addr[i]) : NULL;
        int ln = 0;
        const char *f = l ? dw.lineinfo(l, NULL, &ln, NULL, NULL, NULL) : NULL;
        if (!f || ln <= 0)
            f = NULL, ln = 0;
        char *file = f ? strdup(f) : NULL, *cfile = NULL;
        int line = ln, cline = 0;
        if (m && dw.inlines &&
            (b->ninl[i] = inlined_at(m, b->addr[i], f, ln, &b->inl[i], &cfile, &cline, &b->function[i],
                                     &b->function_offset[i]))) {
            free(file); /* the physical frame's line is where the outermost inlined call was made */
            file = cfile, line = cline;
        }
        b->file[i] = file;
        b->line[i] = line;
    }
    dw.end(d);
    return 0;
}

void sl_srcline_fill(struct sl_frame **frames, const uintptr_t *lookup, size_t n)
{
    if (!sl_opt.source_lines || !n)
        return;
    pthread_once(&dw_once, load);
    if (!dw.ok)
        return;
    pthread_mutex_lock(&cache_lock);
    /* A module unloaded may have left its addresses to another: forget them all. One
     * loaded takes addresses nobody had (libdw itself, and what it loads, among them),
     * so what the cache knows stays true. */
    unsigned long long subs = 0;
    sl_dl_lock();
    dl_iterate_phdr(module_subs, &subs);
    sl_dl_unlock();
    if (subs != seen_subs) {
        cache_clear();
        seen_subs = subs;
    }
    /* the addresses no report asked for yet */
    uintptr_t *want = malloc(n * sizeof(*want));
    struct batch b = { want, 0, calloc(n, sizeof(char *)), calloc(n, sizeof(int)), calloc(n, sizeof(char *)),
                       calloc(n, sizeof(uintptr_t)), calloc(n, sizeof(*b.inl)), calloc(n, sizeof(int)) };
    if (want && b.file && b.line && b.function && b.function_offset && b.inl && b.ninl) {
        for (size_t i = 0; i < n; i++)
            if (!cache_find(lookup[i], false)) {
                struct entry *e = cache_find(lookup[i], true); /* pending: duplicates find it */
                if (e)
                    want[b.n++] = lookup[i];
            }
        if (b.n && sl_iochild_run(lookup_in_child, &b) == 0)
            for (size_t k = 0; k < b.n; k++) {
                struct entry *e = cache_find(want[k], true);
                if (e) {
                    e->file = b.file[k];
                    e->line = b.line[k];
                    e->function = demangled(b.function[k]);
                    e->function_offset = b.function_offset[k];
                    e->inl = b.inl[k];
                    e->ninl = b.ninl[k];
                    b.file[k] = NULL;
                    b.function[k] = NULL;
                    b.inl[k] = NULL;
                    b.ninl[k] = 0;
                }
            }
        for (size_t k = 0; k < b.n; k++) {
            free(b.file[k]);
            free(b.function[k]);
            free_inl(b.inl[k], b.ninl[k]);
        }
    }
    free(want);
    free(b.file);
    free(b.line);
    free(b.function);
    free(b.function_offset);
    free(b.inl);
    free(b.ninl);
    /* A libdw session allocates megabytes of line tables from the shared heap and frees
     * them; malloc would keep that memory for good. Only after a session: the cache
     * makes them rare (the first report, and those with new call sites). */
    if (b.n)
        malloc_trim(0);
    for (size_t i = 0; i < n; i++) {
        struct entry *e = cache_find(lookup[i], false);
        if (e && e->file) {
            frames[i]->file = e->file;
            frames[i]->line = e->line;
        }
        if (e && e->function && !frames[i]->function) {
            frames[i]->function = e->function;
            frames[i]->function_offset = e->function_offset;
        }
        if (e && e->ninl) {
            frames[i]->inl = e->inl;
            frames[i]->ninl = e->ninl;
        }
    }
    pthread_mutex_unlock(&cache_lock);
}

void sl_srcline_after_fork_child(void)
{
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    cache_lock = fresh;
}
