/*
 * test_stacks.c - unit tests for stacks.c: stack capture and the deduplicated table.
 *
 * Covers sl_stack_intern (identical arrays share an id; different arrays and different
 * depths of one array get different ids; depth is clamped; ids are dense from 1),
 * sl_stack_get (the stored ips and depth, NULL outside 1..max), and sl_stack_capture
 * with stack_depth=16 (non-zero id, frame 0 is the return address inside the function
 * that called it, the same call site twice gives the same id, two call sites give two
 * ids) and stack_depth=0 (no stack). The unwinder in use must be libunwind. Language
 * frames: locations interned by text (locs.c), stacks with language frames kept apart
 * from the same native frames alone and from other language frames, stored after the
 * native ones; no language frames in a program without a runtime.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/core.h"

static int group_setup(void **state)
{
    (void)state;
    sl_options_defaults(&sl_opt);
    return sl_stacks_init() == 0 ? 0 : -1;
}

static int setup(void **state)
{
    (void)state;
    sl_opt.stack_depth = 16;
    return 0;
}

/* A made-up stack, different for every seed. */
static void fake_stack(uintptr_t *ip, int depth, uintptr_t seed)
{
    for (int i = 0; i < depth; i++)
        ip[i] = 0x400000 + seed * 0x10000 + (uintptr_t)i * 0x40;
}

/* ---- the table ---- */

static void test_init_is_idempotent(void **state)
{
    (void)state;
    uint32_t max = sl_stack_max_id();
    assert_int_equal(sl_stacks_init(), 0);
    assert_int_equal(sl_stack_max_id(), max);
}

static void test_intern_dedups_identical_arrays(void **state)
{
    (void)state;
    uintptr_t a[8], b[8];
    fake_stack(a, 8, 1);
    memcpy(b, a, sizeof(a)); /* equal contents, another array */
    uint32_t ia = sl_stack_intern(a, 8);
    uint32_t max = sl_stack_max_id();
    uint32_t ib = sl_stack_intern(b, 8);
    assert_int_not_equal(ia, 0);
    assert_int_equal(ia, ib);
    assert_int_equal(sl_stack_max_id(), max); /* nothing new stored */
}

static void test_intern_different_arrays_get_different_ids(void **state)
{
    (void)state;
    uintptr_t a[8], b[8];
    fake_stack(a, 8, 2);
    fake_stack(b, 8, 2);
    b[7] += 1; /* differs in the last frame only */
    uint32_t ia = sl_stack_intern(a, 8), ib = sl_stack_intern(b, 8);
    assert_int_not_equal(ia, 0);
    assert_int_not_equal(ib, 0);
    assert_int_not_equal(ia, ib);
}

static void test_intern_different_depths_get_different_ids(void **state)
{
    (void)state;
    uintptr_t a[8];
    fake_stack(a, 8, 3);
    uint32_t i8 = sl_stack_intern(a, 8), i7 = sl_stack_intern(a, 7), i1 = sl_stack_intern(a, 1);
    assert_int_not_equal(i8, i7);
    assert_int_not_equal(i8, i1);
    assert_int_not_equal(i7, i1);
    assert_int_equal(sl_stack_get(i7)->depth, 7);
    assert_int_equal(sl_stack_get(i1)->depth, 1);
}

static void test_intern_depth_zero_is_none(void **state)
{
    (void)state;
    uintptr_t a[1] = { 0x1234 };
    uint32_t max = sl_stack_max_id();
    assert_int_equal(sl_stack_intern(a, 0), 0);
    assert_int_equal(sl_stack_intern(a, -1), 0);
    assert_int_equal(sl_stack_max_id(), max);
}

static void test_intern_clamps_depth_to_max(void **state)
{
    (void)state;
    uintptr_t a[SL_MAX_DEPTH + 10];
    fake_stack(a, SL_MAX_DEPTH + 10, 4);
    uint32_t id = sl_stack_intern(a, SL_MAX_DEPTH + 10);
    assert_int_not_equal(id, 0);
    assert_int_equal(sl_stack_get(id)->depth, SL_MAX_DEPTH);
    assert_int_equal(sl_stack_intern(a, SL_MAX_DEPTH), id);
}

static void test_get_returns_stored_ips_and_depth(void **state)
{
    (void)state;
    uintptr_t a[5];
    fake_stack(a, 5, 5);
    uint32_t id = sl_stack_intern(a, 5);
    const struct sl_stack *s = sl_stack_get(id);
    assert_non_null(s);
    assert_int_equal(s->id, id);
    assert_int_equal(s->depth, 5);
    assert_memory_equal(s->ip, a, sizeof(a));
    a[0] = 0; /* the table keeps its own copy */
    assert_int_equal(sl_stack_get(id)->ip[0], 0x400000 + 5 * 0x10000);
}

static void test_get_outside_the_ids_is_null(void **state)
{
    (void)state;
    assert_null(sl_stack_get(0));
    assert_null(sl_stack_get(sl_stack_max_id() + 1));
    assert_null(sl_stack_get(UINT32_MAX));
}

static void test_ids_are_dense_from_one(void **state)
{
    (void)state;
    uint32_t base = sl_stack_max_id();
    uintptr_t a[4];
    for (uint32_t k = 0; k < 50; k++) {
        fake_stack(a, 4, 100 + k);
        assert_int_equal(sl_stack_intern(a, 4), base + k + 1);
    }
    assert_int_equal(sl_stack_max_id(), base + 50);
    for (uint32_t id = 1; id <= sl_stack_max_id(); id++) {
        const struct sl_stack *s = sl_stack_get(id);
        assert_non_null(s);
        assert_int_equal(s->id, id);
    }
}

/* ---- capture ---- */

/* Not inlined, and not a tail call: the capture's frame 0 is a return address in here. */
static __attribute__((noinline)) uint32_t capture_here(void)
{
    uint32_t id = sl_stack_capture();
    __asm__ volatile("" : "+r"(id));
    return id;
}

static __attribute__((noinline)) uint32_t capture_there(void)
{
    uint32_t id = sl_stack_capture();
    __asm__ volatile("" : "+r"(id));
    return id;
}

static void test_capture_returns_an_id(void **state)
{
    (void)state;
    uint32_t id = capture_here();
    assert_int_not_equal(id, 0);
    const struct sl_stack *s = sl_stack_get(id);
    assert_non_null(s);
    assert_in_range(s->depth, 1, 16);
}

static void test_capture_frame0_is_in_the_caller(void **state)
{
    (void)state;
    uint32_t id = capture_here();
    const struct sl_stack *s = sl_stack_get(id);
    assert_non_null(s);
    uintptr_t lo = (uintptr_t)capture_here, ip = s->ip[0];
    /* the return address lies just after the call, inside capture_here's few bytes */
    uintptr_t hi = lo + 64;
    if (ip <= lo || ip > hi) {
        Dl_info di;
        const char *where = dladdr((void *)ip, &di) && di.dli_fname ? di.dli_fname : "?";
        fail_msg("frame 0 is %#lx (in %s), not inside capture_here [%#lx, %#lx)", (unsigned long)ip, where,
                 (unsigned long)lo, (unsigned long)hi);
    }
}

static void test_capture_same_call_site_same_id(void **state)
{
    (void)state;
    uint32_t ids[3];
    volatile int n = 3; /* a real loop: unrolled, it would be three call sites */
    for (int k = 0; k < n; k++)
        ids[k] = capture_here();
    assert_int_not_equal(ids[0], 0);
    assert_int_equal(ids[0], ids[1]);
    assert_int_equal(ids[1], ids[2]);
}

static void test_capture_different_call_sites_differ(void **state)
{
    (void)state;
    uint32_t here = capture_here(), there = capture_there();
    assert_int_not_equal(here, 0);
    assert_int_not_equal(there, 0);
    assert_int_not_equal(here, there);
}

static void test_capture_respects_stack_depth(void **state)
{
    (void)state;
    sl_opt.stack_depth = 1;
    const struct sl_stack *s = sl_stack_get(capture_here());
    assert_non_null(s);
    assert_int_equal(s->depth, 1);
}

static void test_capture_depth_zero_is_none(void **state)
{
    (void)state;
    sl_opt.stack_depth = 0;
    uint32_t max = sl_stack_max_id();
    assert_int_equal(capture_here(), 0);
    assert_int_equal(sl_stack_max_id(), max);
}

/* ---- language frames ---- */

static void test_locations_interned_by_text(void **state)
{
    (void)state;
    char fn[] = "Pool.grab";
    uint32_t a = sl_loc_intern(SL_LANG_PYTHON, fn, strlen(fn), "/srv/app/pool.py", 16, 12, 0);
    uint32_t b = sl_loc_intern(SL_LANG_PYTHON, "Pool.grab", 9, "/srv/app/pool.py", 16, 12, 0);
    uint32_t c = sl_loc_intern(SL_LANG_PYTHON, "Pool.grab", 9, "/srv/app/pool.py", 16, 13, 0);
    uint32_t d = sl_loc_intern(SL_LANG_JS, "Pool.grab", 9, "/srv/app/pool.py", 16, 12, 0);
    uint32_t e = sl_loc_intern(SL_LANG_PYTHON, "Pool.grabber", 9, "/srv/app/pool.pyc", 16, 12, 0); /* lengths cut */
    assert_int_not_equal(a, 0);
    assert_int_equal(a, b);
    assert_int_equal(a, e);
    assert_int_not_equal(a, c);
    assert_int_not_equal(a, d);
    const struct sl_loc *l = sl_loc_get(a);
    assert_non_null(l);
    assert_string_equal(l->function, "Pool.grab");
    assert_string_equal(l->file, "/srv/app/pool.py");
    assert_int_equal(l->line, 12);
    assert_int_equal(l->lang, SL_LANG_PYTHON);
    assert_null(sl_loc_get(0));
    assert_null(sl_loc_get(1u << 30));
    assert_null(sl_lang_name(SL_LANG_NONE));
    assert_string_equal(sl_lang_name(SL_LANG_JAVA), "java");
}

static void test_language_frames_stored_after_native_ones(void **state)
{
    (void)state;
    uintptr_t ip[4];
    fake_stack(ip, 4, 90);
    struct sl_lframe lf[2] = { { sl_loc_intern(SL_LANG_PYTHON, "f", 1, "a.py", 4, 1, 0), SL_LF_ENTRY },
                               { sl_loc_intern(SL_LANG_PYTHON, "g", 1, "a.py", 4, 2, 0), 0 } };
    uint32_t native = sl_stack_intern(ip, 4);
    uint32_t py = sl_stack_intern_lang(ip, 4, SL_LANG_PYTHON, lf, 2);
    uint32_t py2 = sl_stack_intern_lang(ip, 4, SL_LANG_PYTHON, lf, 2);
    uint32_t one = sl_stack_intern_lang(ip, 4, SL_LANG_PYTHON, lf, 1);
    uint32_t java = sl_stack_intern_lang(ip, 4, SL_LANG_JAVA, lf, 2);
    uint32_t only = sl_stack_intern_lang(NULL, 0, SL_LANG_PYTHON, lf, 2);
    assert_int_not_equal(py, 0);
    assert_int_equal(py, py2);
    assert_int_not_equal(py, native);
    assert_int_not_equal(py, one);
    assert_int_not_equal(py, java);
    assert_int_not_equal(only, 0);
    assert_int_not_equal(only, py);
    const struct sl_stack *st = sl_stack_get(py);
    assert_int_equal(st->depth, 4);
    assert_int_equal(st->nlang, 2);
    assert_int_equal(st->lang, SL_LANG_PYTHON);
    assert_memory_equal(st->ip, ip, sizeof(ip));
    assert_int_equal(sl_stack_lframes(st)[0].ref, lf[0].ref);
    assert_int_equal(sl_stack_lframes(st)[0].pos, SL_LF_ENTRY);
    assert_int_equal(sl_stack_lframes(st)[1].ref, lf[1].ref);
    assert_int_equal(sl_stack_get(native)->nlang, 0);
    assert_int_equal(sl_stack_get(only)->depth, 0);
    /* language frames without a language are none */
    assert_int_equal(sl_stack_intern_lang(ip, 4, SL_LANG_NONE, lf, 2), native);
}

static void test_capture_without_a_runtime_has_no_language_frames(void **state)
{
    (void)state;
    uint32_t id = sl_stack_capture();
    assert_int_not_equal(id, 0);
    assert_int_equal(sl_stack_get(id)->nlang, 0);
    struct sl_lframe lf[4];
    uint8_t lang = SL_LANG_NONE;
    assert_int_equal(sl_lang_capture(lf, 4, &lang), 0);
    assert_int_equal(sl_lang_capture_native(lf, 4, 0, &lang), 0);
    assert_int_equal(lang, SL_LANG_NONE);
    assert_int_equal(sl_py_close_kind(), SL_PY_CLOSE_PROGRAM);
}

/* The report names the mode: fast (libunwind behind it), libunwind, verify */
static void test_unwinder_is_named_by_its_mode(void **state)
{
    (void)state;
    enum sl_unwinder was = sl_opt.unwinder;
    sl_opt.unwinder = SL_UNWIND_FAST;
    assert_string_equal(sl_stack_unwinder(), "fast");
    sl_opt.unwinder = SL_UNWIND_LIBUNWIND;
    assert_string_equal(sl_stack_unwinder(), "libunwind");
    sl_opt.unwinder = SL_UNWIND_VERIFY;
    assert_string_equal(sl_stack_unwinder(), "verify");
    sl_opt.unwinder = was;
}

static void test_overflow_is_zero(void **state)
{
    (void)state;
    assert_int_equal(sl_stack_overflow(), 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, NULL)
    const struct CMUnitTest tests[] = {
        T(test_init_is_idempotent),
        T(test_intern_dedups_identical_arrays),
        T(test_intern_different_arrays_get_different_ids),
        T(test_intern_different_depths_get_different_ids),
        T(test_intern_depth_zero_is_none),
        T(test_intern_clamps_depth_to_max),
        T(test_get_returns_stored_ips_and_depth),
        T(test_get_outside_the_ids_is_null),
        T(test_ids_are_dense_from_one),
        T(test_capture_returns_an_id),
        T(test_capture_frame0_is_in_the_caller),
        T(test_capture_same_call_site_same_id),
        T(test_capture_different_call_sites_differ),
        T(test_capture_respects_stack_depth),
        T(test_capture_depth_zero_is_none),
        T(test_locations_interned_by_text),
        T(test_language_frames_stored_after_native_ones),
        T(test_capture_without_a_runtime_has_no_language_frames),
        T(test_unwinder_is_named_by_its_mode),
        T(test_overflow_is_zero),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
