/*
 * symbolize.c - instruction pointers to module, offset and function, when reporting.
 *
 * A module map is a snapshot of dl_iterate_phdr: load bias, address range, path (the
 * main program's from /proc/self/exe) and GNU build-id, read from the PT_NOTE segments
 * already in memory. Function names come from the module's ELF symbol table, read from
 * the file on disk: .symtab when present (executables not linked with -rdynamic keep
 * their static functions only there), else .dynsym, else the .symtab of a separate
 * debug file found by build-id under /usr/lib/debug/.build-id. Files are mapped
 * read-only and every offset is bounds-checked: a truncated or hostile ELF file gives
 * no names, never a crash. C++ names are demangled through the host's
 * __cxa_demangle when the host has one. Symbol tables are loaded once per module and
 * kept. Nothing here runs inside a wrapper.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "report.h"

struct sym {
    uintptr_t value, size;
    const char *name; /* inside the module's file mapping */
};

/* A module file's function symbols, loaded once per process and kept (the mappings
 * are the files' pages, shared with the page cache): later reports, including one
 * written when the process is out of fds, need no file opened again. */
struct symtab {
    struct symtab *next;
    char *path;
    char build_id[41];
    struct sym *syms;
    size_t nsyms;
    void *map;
    size_t maplen;
    void *dbg_map; /* separate debug file, when used */
    size_t dbg_maplen;
};
static struct symtab *tabs;
static pthread_mutex_t tabs_lock = PTHREAD_MUTEX_INITIALIZER;

void sl_symbolize_after_fork_child(void)
{
    /* a report in progress in the parent may have held it; the list itself is only
     * ever extended with complete entries */
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    tabs_lock = fresh;
}

struct sl_module {
    uintptr_t bias, lo, hi;
    char *path;
    char build_id[41];
    const struct symtab *tab; /* NULL until needed */
};

/* demangled names, freed with the map */
struct owned {
    struct owned *next;
    char s[];
};

static void read_build_id(struct dl_phdr_info *info, char *out)
{
    out[0] = '\0';
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE)
            continue;
        const char *p = (const char *)(info->dlpi_addr + ph->p_vaddr), *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
            const char *name = p + sizeof(*n);
            const unsigned char *desc = (const unsigned char *)name + ((n->n_namesz + 3) & ~3u);
            const char *next = (const char *)desc + ((n->n_descsz + 3) & ~3u);
            if (next > end)
                break;
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && !memcmp(name, "GNU", 4) && n->n_descsz <= 20) {
                for (unsigned j = 0; j < n->n_descsz; j++)
                    sprintf(out + 2 * j, "%02x", desc[j]);
                return;
            }
            p = next;
        }
    }
}

static int add_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct sl_modmap *m = arg;
    struct sl_module *mods = realloc(m->mods, (m->n + 1) * sizeof(*mods));
    if (!mods)
        return 1;
    m->mods = mods;
    struct sl_module *mod = &mods[m->n];
    memset(mod, 0, sizeof(*mod));
    mod->bias = info->dlpi_addr;
    if (!sl_phdr_bounds(info, &mod->lo, &mod->hi))
        return 0;
    const char *name = info->dlpi_name;
    char exe[PATH_MAX];
    if (!name || !*name) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        exe[n > 0 ? n : 0] = '\0';
        name = exe;
    }
    /* a relative path (LD_PRELOAD=build/x.so) is resolved; a bare name is the vdso */
    mod->path = name[0] != '/' && strchr(name, '/') ? sl_probe_mapped_path(mod->lo) : NULL;
    if (!mod->path)
        mod->path = strdup(name);
    read_build_id(info, mod->build_id);
    m->n++;
    return 0;
}

int sl_modmap_build(struct sl_modmap *m)
{
    memset(m, 0, sizeof(*m));
    sl_dl_lock();
    dl_iterate_phdr(add_module, m);
    sl_dl_unlock();
    return m->mods ? 0 : -ENOMEM;
}

/* Map a whole file read-only; the fd is the shim's for the few syscalls it lives. */
/* Map a whole file read-only, opened in the I/O child (fd/iochild.c): no fd of ours, ever. */
static void *map_file(const char *path, size_t *len)
{
    void *p = NULL;
    size_t n = 0;
    if (sl_iochild_map(path, &p, &n) != 0)
        return NULL;
    if (n < sizeof(ElfW(Ehdr))) {
        munmap(p, n);
        return NULL;
    }
    *len = n;
    return p;
}

static bool in_file(size_t len, uint64_t off, uint64_t n)
{
    return off <= len && n <= len - off;
}

static int cmp_sym(const void *a, const void *b)
{
    const struct sym *x = a, *y = b;
    return x->value < y->value ? -1 : x->value > y->value;
}

/* Collect function symbols of section type want (SHT_SYMTAB/SHT_DYNSYM). */
static size_t load_syms(const void *map, size_t len, uint32_t want, struct sym **out)
{
    const ElfW(Ehdr) *eh = map;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64
        || eh->e_shentsize != sizeof(ElfW(Shdr)) || !in_file(len, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(ElfW(Shdr))))
        return 0;
    const ElfW(Shdr) *sh = (const ElfW(Shdr) *)((const char *)map + eh->e_shoff);
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != want || sh[i].sh_entsize != sizeof(ElfW(Sym)) || sh[i].sh_link >= eh->e_shnum)
            continue;
        const ElfW(Shdr) *str = &sh[sh[i].sh_link];
        if (!in_file(len, sh[i].sh_offset, sh[i].sh_size) || !in_file(len, str->sh_offset, str->sh_size))
            continue;
        const ElfW(Sym) *syms = (const ElfW(Sym) *)((const char *)map + sh[i].sh_offset);
        const char *strtab = (const char *)map + str->sh_offset;
        size_t n = sh[i].sh_size / sizeof(ElfW(Sym)), k = 0;
        struct sym *v = malloc((n ? n : 1) * sizeof(*v));
        if (!v)
            return 0;
        for (size_t j = 0; j < n; j++) {
            int type = ELF64_ST_TYPE(syms[j].st_info);
            if ((type != STT_FUNC && type != STT_GNU_IFUNC) || syms[j].st_shndx == SHN_UNDEF || !syms[j].st_value
                || syms[j].st_name >= str->sh_size)
                continue;
            const char *name = strtab + syms[j].st_name;
            if (!memchr(name, '\0', str->sh_size - syms[j].st_name) || !*name)
                continue;
            v[k].value = syms[j].st_value;
            v[k].size = syms[j].st_size;
            v[k].name = name;
            k++;
        }
        if (!k) {
            free(v);
            return 0;
        }
        qsort(v, k, sizeof(*v), cmp_sym);
        *out = v;
        return k;
    }
    return 0;
}

static void load_symtab(struct symtab *t)
{
    t->map = map_file(t->path, &t->maplen);
    if (t->map) {
        t->nsyms = load_syms(t->map, t->maplen, SHT_SYMTAB, &t->syms);
        if (t->nsyms)
            return;
    }
    if (t->build_id[0] && strlen(t->build_id) > 2) {
        char dbg[PATH_MAX];
        snprintf(dbg, sizeof(dbg), "/usr/lib/debug/.build-id/%.2s/%s.debug", t->build_id, t->build_id + 2);
        t->dbg_map = map_file(dbg, &t->dbg_maplen);
        if (t->dbg_map) {
            t->nsyms = load_syms(t->dbg_map, t->dbg_maplen, SHT_SYMTAB, &t->syms);
            if (t->nsyms)
                return;
        }
    }
    if (t->map)
        t->nsyms = load_syms(t->map, t->maplen, SHT_DYNSYM, &t->syms);
}

static const struct symtab *module_symtab(struct sl_module *mod)
{
    static const struct symtab none;
    if (mod->tab)
        return mod->tab;
    mod->tab = &none;
    if (!mod->path || mod->path[0] != '/')
        return mod->tab;
    pthread_mutex_lock(&tabs_lock);
    struct symtab *t = tabs;
    while (t && (strcmp(t->path, mod->path) || strcmp(t->build_id, mod->build_id)))
        t = t->next;
    if (!t && (t = calloc(1, sizeof(*t))) != NULL) {
        t->path = strdup(mod->path);
        snprintf(t->build_id, sizeof(t->build_id), "%s", mod->build_id);
        if (t->path)
            load_symtab(t);
        t->next = tabs;
        tabs = t;
    }
    pthread_mutex_unlock(&tabs_lock);
    if (t)
        mod->tab = t;
    return mod->tab;
}

static const struct sym *find_sym(const struct symtab *mod, uintptr_t off)
{
    size_t lo = 0, hi = mod->nsyms;
    while (lo < hi) { /* first symbol with value > off */
        size_t mid = (lo + hi) / 2;
        if (mod->syms[mid].value <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* walk back over aliases and nested symbols to one that contains off */
    for (size_t i = lo; i > 0 && lo - i < 8; i--) {
        const struct sym *s = &mod->syms[i - 1];
        if (s->size ? off < s->value + s->size : true)
            return s;
    }
    return NULL;
}

static const char *own(struct sl_modmap *m, const char *s, size_t n)
{
    struct owned *o = malloc(sizeof(*o) + n + 1);
    if (!o)
        return NULL;
    memcpy(o->s, s, n);
    o->s[n] = '\0';
    o->next = m->owned;
    m->owned = o;
    return o->s;
}

/* The name to show: without a "@VERSION" suffix (versioned definitions in .symtab),
 * demangled when it is a C++ name and the host can demangle. */
static const char *demangle(struct sl_modmap *m, const char *name)
{
    const char *at = strchr(name, '@');
    if (at && at > name) {
        const char *plain = own(m, name, (size_t)(at - name));
        if (plain)
            name = plain;
    }
    char *d = sl_demangle(name);
    if (!d)
        return name;
    const char *kept = own(m, d, strlen(d));
    free(d);
    return kept ? kept : name;
}

char *sl_demangle(const char *name)
{
    if (strncmp(name, "_Z", 2))
        return NULL;
    static char *(*cxa_demangle)(const char *, char *, size_t *, int *);
    static bool looked;
    if (!looked) {
        cxa_demangle = (char *(*)(const char *, char *, size_t *, int *))dlsym(RTLD_DEFAULT, "__cxa_demangle");
        looked = true;
    }
    int status = -1;
    char *d = cxa_demangle ? cxa_demangle(name, NULL, NULL, &status) : NULL;
    if (d && status != 0) {
        free(d);
        d = NULL;
    }
    return d;
}

void sl_symbolize(struct sl_modmap *m, uintptr_t ip, uintptr_t lookup_ip, struct sl_frame *out)
{
    memset(out, 0, sizeof(*out));
    out->ip = ip;
    for (size_t i = 0; i < m->n; i++) {
        struct sl_module *mod = &m->mods[i];
        if (lookup_ip < mod->lo || lookup_ip >= mod->hi)
            continue;
        out->module = mod->path;
        out->module_offset = ip - mod->bias;
        out->build_id = mod->build_id[0] ? mod->build_id : NULL;
        const struct sym *s = find_sym(module_symtab(mod), lookup_ip - mod->bias);
        if (s) {
            out->function = demangle(m, s->name);
            out->function_offset = ip - mod->bias - s->value;
        }
        break;
    }
    if (!out->function) { /* the vdso, JIT stubs registered with the loader, ... */
        Dl_info di;
        sl_dl_lock();
        int found = dladdr((void *)lookup_ip, &di);
        sl_dl_unlock();
        if (found && di.dli_sname) {
            out->function = demangle(m, di.dli_sname);
            out->function_offset = ip - (uintptr_t)di.dli_saddr;
        }
    }
}

void sl_modmap_free(struct sl_modmap *m)
{
    for (size_t i = 0; i < m->n; i++) {
        struct sl_module *mod = &m->mods[i];
        free(mod->path); /* symbol tables stay cached */
    }
    for (struct owned *o = m->owned, *n; o; o = n) {
        n = o->next;
        free(o);
    }
    free(m->mods);
    memset(m, 0, sizeof(*m));
}

void sl_symbolize_warm(uint32_t first_id, uint32_t last_id)
{
    struct sl_modmap m;
    if (sl_modmap_build(&m) != 0)
        return;
    for (uint32_t id = first_id; id <= last_id; id++) {
        const struct sl_stack *st = sl_stack_get(id);
        for (int f = 0; st && f < st->depth; f++)
            for (size_t i = 0; i < m.n; i++)
                if (st->ip[f] - 1 >= m.mods[i].lo && st->ip[f] - 1 < m.mods[i].hi) {
                    module_symtab(&m.mods[i]);
                    break;
                }
    }
    sl_modmap_free(&m);
}

/* glibc's own libraries (libc, the dynamic loader, and the libraries folded into libc
 * since 2.34): their frames start every stack (__libc_start_main, start_thread) and
 * are never where a socket leaks, while their debug information, when installed
 * (libc6-dbg), takes some 40 ms and 17 MB to decompress. Function names suffice. */
bool sl_module_is_glibc(const char *path)
{
    if (!path)
        return false;
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    static const char *const names[] = { "libc.so.", "ld-linux", "libpthread.so.", "libdl.so.", "librt.so.",
                                         "libm.so.", "libresolv.so.", "libanl.so.", "libutil.so." };
    for (size_t i = 0; i < SL_ARRAY_LEN(names); i++)
        if (!strncmp(b, names[i], strlen(names[i])))
            return true;
    return false;
}

