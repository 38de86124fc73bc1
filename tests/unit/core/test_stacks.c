/*
 * test_stacks.c - unit tests for stacks.c: stack capture and the deduplicated table.
 *
 * Covers sl_stack_intern (identical arrays share an id; different arrays and different
 * depths of one array get different ids; depth is clamped; ids are dense from 1),
 * sl_stack_get (the stored ips and depth, NULL outside 1..max), and sl_stack_capture
 * with stack_depth=16 (non-zero id, frame 0 is the return address inside the function
 * that called it, the same call site twice gives the same id, two call sites give two
 * ids) and stack_depth=0 (no stack). The unwinder in use must be libunwind.
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
        T(test_unwinder_is_named_by_its_mode),
        T(test_overflow_is_zero),
    };
#undef T
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
