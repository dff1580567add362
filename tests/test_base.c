/* test_base.c — the allocation seam (base.h): the Nth counted allocation fails (and every later
 * one when sticky), only while counting is active, and the counts say what happened.
 */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "base.h"

/* Allocates k times through the three wrappers in turn; returns the bitmask of failures. */
static uint32_t allocate(uint32_t k)
{
    uint32_t failed = 0;
    for (uint32_t i = 0; i < k; i++) {
        void *p = i % 3 == 0 ? tc_malloc(8) : i % 3 == 1 ? tc_calloc(2, 4) : tc_realloc(NULL, 8);
        if (p == NULL)
            failed |= 1u << i;
        free(p);
    }
    return failed;
}

Test(base, the_nth_counted_allocation_fails)
{
    static const struct {
        uint64_t nth;
        bool sticky;
        uint32_t failed; /* of 6 allocations */
    } cases[] = {
        {0, false, 0x00}, {1, false, 0x01}, {3, false, 0x04}, {6, false, 0x20},
        {7, false, 0x00}, {4, true, 0x38},  {1, true, 0x3f},
    };
    for (size_t c = 0; c < TC_ARRAY_LEN(cases); c++) {
        tc_alloc_faults f = {
            .fail_nth = cases[c].nth, .fail_sticky = cases[c].sticky, .active = true};
        tc_alloc_faults_set(&f);
        uint32_t failed = allocate(6);
        cr_assert_eq(failed, cases[c].failed, "case %zu: failures 0x%x, want 0x%x", c, failed,
                     cases[c].failed);
        cr_assert_eq(tc_alloc_count(), 6, "case %zu: six counted", c);
        cr_assert_eq(tc_alloc_failed_count(), (uint64_t)__builtin_popcount(cases[c].failed),
                     "case %zu: failures counted", c);
    }
    tc_alloc_faults_set(NULL);
}

Test(base, allocations_count_only_while_active)
{
    tc_alloc_faults f = {.fail_nth = 2};
    tc_alloc_faults_set(&f);
    cr_assert_eq(allocate(4), 0, "inactive: nothing fails");
    cr_assert_eq(tc_alloc_count(), 0, "inactive: nothing counted");
    cr_assert_not(tc_alloc_faults_active(true), "it was off");
    cr_assert_eq(allocate(1), 0, "the first counted one passes");
    cr_assert(tc_alloc_faults_active(false), "it was on");
    cr_assert_eq(allocate(3), 0, "paused: the count stays");
    cr_assert_eq(tc_alloc_count(), 1);
    (void)tc_alloc_faults_active(true);
    cr_assert_eq(allocate(1), 0x1, "the second counted one fails");
    cr_assert_eq(tc_alloc_failed_count(), 1);
    tc_alloc_faults_set(NULL);
    cr_assert_eq(allocate(3), 0, "off again");
    cr_assert_eq(tc_alloc_count(), 0, "and the count restarted");
}
