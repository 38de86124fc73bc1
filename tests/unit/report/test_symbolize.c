/*
 * test_symbolize.c - unit tests for symbolize.c: instruction pointer to module,
 * offset and function.
 *
 * This binary is linked without -rdynamic, so its static functions have no dynamic
 * symbol: naming them proves that the module's .symtab is read from the file. Covers a
 * static noinline function here (name, function offset, module path ending in this
 * binary's name, module_offset = ip - load bias, a 40-hex-digit build-id), a return
 * address resolved through lookup_ip = ip - 1, a libc function (module libc.so), an
 * address outside every module (no module, no name), and that symbolizing leaves no
 * fd open behind.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "report/report.h"

static struct sl_modmap map;

static int group_setup(void **state)
{
    (void)state;
    sl_options_defaults(&sl_opt);
    if (sl_fdstate_init() != 0)
        return -1;
    return sl_modmap_build(&map);
}

static int group_teardown(void **state)
{
    (void)state;
    sl_modmap_free(&map);
    return 0;
}

/* A static function: only .symtab knows its name. */
static __attribute__((noinline, used)) int symbolize_target_function(int x)
{
    __asm__ volatile("" : "+r"(x));
    return x * 3 + 1;
}

static __attribute__((noinline)) uintptr_t return_address(void)
{
    uintptr_t ra = (uintptr_t)__builtin_return_address(0);
    __asm__ volatile("" : "+r"(ra));
    return ra;
}

struct bias_query {
    uintptr_t addr, bias;
    bool found;
};

static int find_bias(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct bias_query *q = arg;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t s = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && q->addr >= s && q->addr < s + ph->p_memsz) {
            q->bias = info->dlpi_addr;
            q->found = true;
            return 1;
        }
    }
    return 0;
}

/* The load bias of the module holding addr, as the loader sees it. */
static uintptr_t load_bias(uintptr_t addr)
{
    struct bias_query q = { .addr = addr };
    dl_iterate_phdr(find_bias, &q);
    assert_true(q.found);
    return q.bias;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && !strcmp(s + n - t, tail);
}

static int count_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += isdigit((unsigned char)e->d_name[0]) != 0;
    closedir(d);
    return n - 1; /* the directory's own fd */
}

/* ---- tests ---- */

static void test_modmap_lists_modules(void **state)
{
    (void)state;
    assert_non_null(map.mods);
    assert_true(map.n >= 3); /* this binary, libc, libcmocka at least */
}

static void test_static_function_is_named_from_symtab(void **state)
{
    (void)state;
    uintptr_t ip = (uintptr_t)symbolize_target_function + 4;
    struct sl_frame f;
    sl_symbolize(&map, ip, ip, &f);
    assert_int_equal(f.ip, ip);
    assert_non_null(f.function);
    assert_string_equal(f.function, "symbolize_target_function");
    assert_int_equal(f.function_offset, 4);
    assert_int_equal(symbolize_target_function(1), 4);
}

static void test_module_is_this_binary(void **state)
{
    (void)state;
    uintptr_t ip = (uintptr_t)symbolize_target_function;
    struct sl_frame f;
    sl_symbolize(&map, ip, ip, &f);
    assert_non_null(f.module);
    char exe[PATH_MAX], tail[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    assert_true(n > 0);
    exe[n] = '\0';
    snprintf(tail, sizeof(tail), "/%s", program_invocation_short_name); /* test_symbolize */
    if (!ends_with(f.module, tail))
        fail_msg("module is %s, not this test binary (%s)", f.module, tail);
    assert_string_equal(f.module, exe);
}

static void test_module_offset_is_ip_minus_load_bias(void **state)
{
    (void)state;
    uintptr_t ip = (uintptr_t)symbolize_target_function + 2;
    struct sl_frame f;
    sl_symbolize(&map, ip, ip, &f);
    assert_int_equal(f.module_offset, ip - load_bias(ip));
}

static void test_build_id_is_40_hex_chars(void **state)
{
    (void)state;
    uintptr_t ip = (uintptr_t)symbolize_target_function;
    struct sl_frame f;
    sl_symbolize(&map, ip, ip, &f);
    assert_non_null(f.build_id);
    assert_int_equal(strlen(f.build_id), 40);
    for (const char *p = f.build_id; *p; p++)
        if (!isxdigit((unsigned char)*p) || isupper((unsigned char)*p))
            fail_msg("build_id %s is not lowercase hex", f.build_id);
}

static void test_return_address_resolves_to_caller(void **state)
{
    (void)state;
    uintptr_t ra = return_address(); /* a return address inside this very function */
    struct sl_frame f;
    sl_symbolize(&map, ra, ra - 1, &f);
    assert_non_null(f.function);
    assert_string_equal(f.function, "test_return_address_resolves_to_caller");
    assert_true(f.function_offset > 0);
    assert_int_equal(f.module_offset, ra - load_bias(ra));
}

static void test_libc_function_is_in_libc(void **state)
{
    (void)state;
    int (*fn)(int) = close;
    uintptr_t ip = (uintptr_t)fn;
    struct sl_frame f;
    sl_symbolize(&map, ip, ip, &f);
    assert_non_null(f.module);
    if (!strstr(f.module, "libc.so"))
        fail_msg("close() is in %s, not libc", f.module);
    assert_int_equal(f.module_offset, ip - load_bias(ip));
    assert_non_null(f.function);
    if (!strstr(f.function, "close"))
        fail_msg("close() is named %s", f.function);
    assert_int_equal(f.function_offset, 0);
}

static void test_address_outside_every_module(void **state)
{
    (void)state;
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(page != MAP_FAILED);
    uintptr_t ip = (uintptr_t)page + 16;
    struct sl_frame f;
    memset(&f, 0x5a, sizeof(f));
    sl_symbolize(&map, ip, ip, &f);
    munmap(page, 4096);
    assert_int_equal(f.ip, ip);
    assert_null(f.module);
    assert_null(f.function);
    assert_null(f.build_id);
    assert_int_equal(f.module_offset, 0);
}

static void test_symbolizing_leaves_no_fd_open(void **state)
{
    (void)state;
    struct sl_modmap m;
    int before = count_open_fds();
    assert_int_equal(sl_modmap_build(&m), 0);
    struct sl_frame f;
    int (*fn)(int) = close;
    sl_symbolize(&m, (uintptr_t)symbolize_target_function, (uintptr_t)symbolize_target_function, &f);
    sl_symbolize(&m, (uintptr_t)fn, (uintptr_t)fn, &f);
    assert_int_equal(count_open_fds(), before);
    int priv[16];
    assert_int_equal(sl_ownfd_list(priv, 16), 0);
    sl_modmap_free(&m);
    assert_null(m.mods);
    assert_int_equal(m.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modmap_lists_modules),
        cmocka_unit_test(test_static_function_is_named_from_symtab),
        cmocka_unit_test(test_module_is_this_binary),
        cmocka_unit_test(test_module_offset_is_ip_minus_load_bias),
        cmocka_unit_test(test_build_id_is_40_hex_chars),
        cmocka_unit_test(test_return_address_resolves_to_caller),
        cmocka_unit_test(test_libc_function_is_in_libc),
        cmocka_unit_test(test_address_outside_every_module),
        cmocka_unit_test(test_symbolizing_leaves_no_fd_open),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
