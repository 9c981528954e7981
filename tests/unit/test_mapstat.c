// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests for mapstat's modules (tools/mapstat): who refers to a map
 * (refs: owners per process, pins under a path) and the count records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "count.h"
#include "refs.h"

static void test_path_under(void **state)
{
	(void)state;
	assert_true(path_under("/sys/fs/bpf/a/m", "/sys/fs/bpf"));
	assert_true(path_under("/sys/fs/bpf/a/m", "/sys/fs/bpf/a/"));
	assert_true(path_under("/sys/fs/bpf/a", "/sys/fs/bpf/a"));
	assert_true(path_under("/sys/fs/bpf/a", "/"));
	assert_false(path_under("/sys/fs/bpf/ab/m", "/sys/fs/bpf/a"));
	assert_false(path_under("/sys/fs/bpf", "/sys/fs/bpf/a"));
}

/* pid 10 holds map 1 through two fds and map 2; pid 20 holds map 1. */
static struct owner own[] = {
	{ .pid = 10, .id = 1, .fd = 3, .kind = OBJ_MAP, .comm = "a" },
	{ .pid = 20, .id = 1, .fd = 4, .kind = OBJ_MAP, .comm = "b" },
	{ .pid = 10, .id = 1, .fd = 5, .kind = OBJ_MAP, .comm = "a" },
	{ .pid = 10, .id = 2, .fd = 6, .kind = OBJ_MAP, .comm = "a" },
};
static struct pin pins[] = {
	{ .id = 1, .kind = OBJ_MAP, .path = "/sys/fs/bpf/x/one" },
	{ .id = 2, .kind = OBJ_MAP, .path = "/sys/fs/bpf/y/two" },
};

static void test_refs_owners_and_pins(void **state)
{
	(void)state;
	struct refs r = { .own = own, .nown = 4, .pins = pins, .npins = 2 };
	assert_true(refs_held_by(&r, 1, 10));
	assert_true(refs_held_by(&r, 1, 20));
	assert_false(refs_held_by(&r, 2, 20));
	/* one owner record per (map, process) */
	assert_true(refs_first_owner(&r, 0, 1));
	assert_true(refs_first_owner(&r, 1, 1));
	assert_false(refs_first_owner(&r, 2, 1));
	assert_false(refs_first_owner(&r, 3, 1));
	assert_true(refs_first_owner(&r, 3, 2));
	/* one per process */
	assert_true(refs_first_of_pid(&r, 0));
	assert_true(refs_first_of_pid(&r, 1));
	assert_false(refs_first_of_pid(&r, 2));
	assert_false(refs_first_of_pid(&r, 3));
	assert_true(refs_pinned_under(&r, 1, "/sys/fs/bpf/x"));
	assert_false(refs_pinned_under(&r, 1, "/sys/fs/bpf/y"));
	assert_true(refs_pinned_under(&r, 2, "/sys/fs/bpf"));
	assert_false(refs_pinned_under(&r, 3, "/"));
}

static void test_count_records(void **state)
{
	(void)state;
	struct map_count v[] = { { .id = 5, .entries = 7, .method = CM_KFUNC }, { .id = 9, .method = CM_NONE } };
	assert_int_equal(count_find(v, 2, 5)->entries, 7);
	assert_int_equal(count_find(v, 2, 9)->method, CM_NONE);
	assert_null(count_find(v, 2, 6));
	assert_null(count_find(NULL, 0, 5));
	assert_string_equal(count_method_name(CM_KFUNC), "kfunc");
	assert_string_equal(count_method_name(CM_ITER_SOCK), "iter_sockmap");
	assert_string_equal(count_method_name(CM_MMAP), "mmap");
	assert_string_equal(count_method_name(1000), "none");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_under),
		cmocka_unit_test(test_refs_owners_and_pins),
		cmocka_unit_test(test_count_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
