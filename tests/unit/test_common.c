// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests for the pure logic in common/: escaping, rendering, parsers,
 * histogram math, errno names, atomic file replacement. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "output.h"
#include "util.h"

static char *render(void (*fn)(FILE *, void *), void *arg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	fn(m, arg);
	fclose(m);
	return buf;
}

static void do_json_string(FILE *f, void *s) { json_write_string(f, s); }
static void do_prom_label(FILE *f, void *s) { prom_write_label_value(f, s); }

static void test_json_escaping(void **state)
{
	(void)state;
	/* the format's own escapes for '"' and '\'; every control byte as \xHH
	 * of the decoded text, i.e. "\\xHH" in JSON */
	char *out = render(do_json_string, "a\"b\\c\nd\te\x01" "f\x7f");
	assert_string_equal(out, "\"a\\\"b\\\\\\\\c\\\\x0ad\\\\x09e\\\\x01f\\\\x7f\"");
	free(out);
	out = render(do_json_string, "");
	assert_string_equal(out, "\"\"");
	free(out);
	out = render(do_json_string, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9d"); /* valid UTF-8 passes through */
	assert_string_equal(out, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x9d\"");
	free(out);
}

static void test_utf8_escaping(void **state)
{
	(void)state;
	/* prctl(PR_SET_NAME, "bad\xff\xfe"): invalid bytes become \xff \xfe */
	char *t = out_escape("bad\xff\xfe");
	assert_string_equal(t, "bad\\xff\\xfe");
	free(t);
	/* overlong, surrogate, above U+10FFFF, truncated, C1 control */
	t = out_escape("\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82|\xc2\x85");
	assert_string_equal(t, "\\xc0\\xaf|\\xed\\xa0\\x80|\\xf4\\x90\\x80\\x80|\\xe2\\x82|\\xc2\\x85");
	free(t);
	/* a literal backslash is doubled, so "\xff" typed by a user stays
	 * distinct from the byte 0xff */
	t = out_escape("a\\xff");
	assert_string_equal(t, "a\\\\xff");
	free(t);
	/* the same decoded text in JSON and Prometheus */
	char *j = render(do_json_string, "bad\xff\"q\n");
	assert_string_equal(j, "\"bad\\\\xff\\\"q\\\\x0a\"");
	free(j);
	char *p = render(do_prom_label, "bad\xff\"q\n");
	assert_string_equal(p, "\"bad\\\\xff\\\"q\\\\x0a\"");
	free(p);
}

static void test_prom_escaping(void **state)
{
	(void)state;
	char *out = render(do_prom_label, "x\"y\\z\nw");
	assert_string_equal(out, "\"x\\\"y\\\\\\\\z\\\\x0aw\"");
	free(out);
}

static void test_numbers(void **state)
{
	(void)state;
	char b[32];
	static const struct { double d; const char *s; } cases[] = {
		{ 0, "0" }, { 12, "12" }, { 0.1, "0.1" }, { 3.4e-7, "3.4e-07" }, { 1.0 / 3, "0.3333333333333333" },
		{ 1796115334.949, "1796115334.949" }, { -2.5, "-2.5" }, { 1e21, "1e+21" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		out_format_double(b, cases[i].d);
		assert_string_equal(b, cases[i].s);
		assert_true(strtod(b, NULL) == cases[i].d); /* round trip */
	}
}

enum { M_MECH, M_DROPPED, M_WINDOW, M_N };
static const struct field mf[M_N] = {
	[M_MECH] = { "mechanism", "", FK_LABEL, 0, "Mechanism in use", 0, 0, 0 },
	[M_DROPPED] = { "rows_dropped", "", FK_COUNTER, 0, "Rows the table had no room for", 0, 0, 0 },
	[M_WINDOW] = { "window_seconds", "", FK_GAUGE, 0, "Window", 0, 0, 0 },
};
static const struct schema ms = { "unit", "meta", mf, M_N, NULL };

enum { T_ID, T_NAME, T_VAL, T_RATIO, T_LIST, T_N };
static const struct field tf[T_N] = {
	[T_ID] = { "id", "ID", FK_LABEL, FF_ALL, "id", 0, 0, 0 },
	[T_NAME] = { "name", "NAME", FK_LABEL, FF_ALL, "name", 0, 0, 0 },
	[T_VAL] = { "value", "VALUE", FK_COUNTER, FF_ALL, "A counter", 0, 0, 0 },
	[T_RATIO] = { "share_ratio", "SHARE%", FK_GAUGE, FF_ALL, "A gauge", 0.01, 2, 0 },
	[T_LIST] = { "items", "ITEMS", FK_TEXT, FF_JSON | FF_TABLE | FF_LIST, "Items", 0, 0, 0 },
};
static const struct schema ts = { "unit", "rows", tf, T_N, &ms };


static struct snapshot *sample(void)
{
	struct snapshot *sn = snap_begin(&ts);
	snap_meta(sn, "mechanism", "test");
	snap_meta_u64(sn, "rows_dropped", 3);
	snap_meta_num(sn, "window_seconds", 0.25);
	struct record *r = snap_add(sn);
	rec_u64(r, T_ID, 7);
	rec_str(r, T_NAME, "a\"b");
	rec_u64(r, T_VAL, 18446744073709551615ULL);
	rec_dbl(r, T_RATIO, 0.5);
	rec_list_str(r, T_LIST, "x");
	rec_list_str(r, T_LIST, "y");
	r = snap_add(sn);
	rec_u64(r, T_ID, 8);
	rec_str(r, T_NAME, "second");
	rec_none(r, T_VAL);
	rec_dbl(r, T_RATIO, 1.0 / 3);
	return sn;
}

static int render_rc;
static void do_snapshot(FILE *f, void *sn) { render_rc = render_snapshot(f, sn, 1700000000.25); }

static void test_json_snapshot(void **state)
{
	(void)state;
	struct out_config c = { .format = OUT_JSON, .instance = "edge1" };
	out_configure(&c);
	struct snapshot *sn = sample();
	char *out = render(do_snapshot, sn);
	char *p = strstr(out, ",\"mechanism\"");
	assert_non_null(p);
	static const char head[] = "{\"ts\":1700000000.250000,\"tool\":\"unit\",\"run\":\"edge1\",\"start_time_seconds\":";
	assert_true(!strncmp(out, head, strlen(head)));
	assert_string_equal(p,
		",\"mechanism\":\"test\",\"rows_dropped\":3,\"window_seconds\":0.25,\"rows\":["
		"{\"id\":7,\"name\":\"a\\\"b\",\"value\":18446744073709551615,\"share_ratio\":0.5,\"items\":[\"x\",\"y\"]},"
		"{\"id\":8,\"name\":\"second\",\"value\":null,\"share_ratio\":0.3333333333333333,\"items\":[]}]}\n");
	free(out);
	snap_free(sn);
}

static void test_prom_snapshot(void **state)
{
	(void)state;
	struct out_config c = { .format = OUT_PROM };
	out_configure(&c);
	struct snapshot *sn = sample();
	char *out = render(do_snapshot, sn);
	assert_int_equal(render_rc, 0);
	/* counters get _total; every series carries the view */
	assert_non_null(strstr(out, "# TYPE bpfscope_unit_value_total counter\n"
				    "bpfscope_unit_value_total{id=\"7\",name=\"a\\\"b\",view=\"rows\"} 18446744073709551615\n"
				    "# HELP"));
	/* a missing value is no sample at all, never 0 */
	assert_null(strstr(out, "bpfscope_unit_value_total{id=\"8\""));
	assert_non_null(strstr(out, "bpfscope_unit_share_ratio{id=\"8\",name=\"second\",view=\"rows\"} 0.3333333333333333\n"));
	/* only static facts are labels of _info; numbers are metrics */
	assert_non_null(strstr(out, "bpfscope_unit_info{version=\"" BPFSCOPE_VERSION "\",mechanism=\"test\",view=\"rows\"} 1\n"));
	assert_non_null(strstr(out, "# TYPE bpfscope_unit_rows_dropped_total counter\nbpfscope_unit_rows_dropped_total{view=\"rows\"} 3\n"));
	assert_non_null(strstr(out, "bpfscope_unit_window_seconds{view=\"rows\"} 0.25\n"));
	assert_non_null(strstr(out, "bpfscope_unit_snapshot_timestamp_seconds{view=\"rows\"} 1700000000.25\n"));
	assert_non_null(strstr(out, "# TYPE bpfscope_unit_start_time_seconds gauge\n"));
	assert_null(strstr(out, "items"));
	free(out);
	/* --instance names the run on every series */
	c.instance = "edge1";
	out_configure(&c);
	out = render(do_snapshot, sn);
	assert_non_null(strstr(out, "bpfscope_unit_value_total{id=\"7\",name=\"a\\\"b\",view=\"rows\",run=\"edge1\"} "));
	assert_non_null(strstr(out, "bpfscope_unit_snapshot_timestamp_seconds{view=\"rows\",run=\"edge1\"} "));
	free(out);
	snap_free(sn);
}

/* Two records with the same labels would be two identical series: the
 * renderer refuses the exposition (an internal error), it never writes it. */
static void test_prom_duplicate_series(void **state)
{
	(void)state;
	struct out_config c = { .format = OUT_PROM };
	out_configure(&c);
	struct snapshot *sn = snap_begin(&ts);
	snap_meta(sn, "mechanism", "test");
	for (int i = 0; i < 2; i++) {
		struct record *r = snap_add(sn);
		rec_u64(r, T_ID, 1);
		rec_str(r, T_NAME, "same");
		rec_u64(r, T_VAL, (uint64_t)i);
	}
	char *out = render(do_snapshot, sn);
	assert_int_equal(render_rc, -EINVAL);
	free(out);
	snap_free(sn);
}

enum { H_DEV, H_PAUSE, H_N };
static const struct field hf[H_N] = {
	[H_DEV] = F_DEVICE(FF_ALL),
	[H_PAUSE] = { "pause_seconds", "PAUSES", FK_HIST, FF_ALL, "Pauses by length", 0, 0, 0 },
};
static const struct schema hs = { "unit", "devices", hf, H_N, NULL };
OUT_REGISTER(&ts, &hs);

static void test_histogram(void **state)
{
	(void)state;
	const double le[] = { 0.001, 0.002, 0.004, INFINITY };
	const uint64_t counts[] = { 1, 0, 3, 2 };
	struct out_config c = { .format = OUT_PROM };
	out_configure(&c);
	struct snapshot *sn = snap_begin(&hs);
	struct record *r = snap_add(sn);
	rec_str(r, H_DEV, "loop0");
	rec_hist(r, H_PAUSE, le, counts, 4, 0.0205);
	char *out = render(do_snapshot, sn);
	assert_non_null(strstr(out,
		"# TYPE bpfscope_unit_pause_seconds histogram\n"
		"bpfscope_unit_pause_seconds_bucket{device=\"loop0\",view=\"devices\",le=\"0.001\"} 1\n"
		"bpfscope_unit_pause_seconds_bucket{device=\"loop0\",view=\"devices\",le=\"0.002\"} 1\n"
		"bpfscope_unit_pause_seconds_bucket{device=\"loop0\",view=\"devices\",le=\"0.004\"} 4\n"
		"bpfscope_unit_pause_seconds_bucket{device=\"loop0\",view=\"devices\",le=\"+Inf\"} 6\n"
		"bpfscope_unit_pause_seconds_sum{device=\"loop0\",view=\"devices\"} 0.0205\n"
		"bpfscope_unit_pause_seconds_count{device=\"loop0\",view=\"devices\"} 6\n"));
	free(out);
	c.format = OUT_JSON;
	out_configure(&c);
	out = render(do_snapshot, sn);
	assert_non_null(strstr(out, "\"devices\":[{\"device\":\"loop0\",\"pause_seconds\":{\"count\":6,\"sum\":0.0205,"
				    "\"buckets\":[{\"le\":0.001,\"count\":1},{\"le\":0.002,\"count\":1},{\"le\":0.004,\"count\":4}]}}]"));
	free(out);
	snap_free(sn);
}

static void test_table_snapshot(void **state)
{
	(void)state;
	struct out_config c = { .format = OUT_TABLE };
	out_configure(&c);
	struct snapshot *sn = sample();
	char *out = render(do_snapshot, sn);
	assert_string_equal(out,
		"# mechanism: test\n"
		"# rows_dropped: 3\n"
		"# window_seconds: 0.25\n"
		"ID  NAME                   VALUE  SHARE%  ITEMS\n"
		" 7  a\"b     18446744073709551615   50.00  x,y\n"
		" 8  second                     -   33.33  -\n");
	free(out);
	snap_free(sn);
}

/* Names with abbreviated units, percentages or a catalogue name used
 * differently are refused (the child dies with status 1). */
static int check_in_child(const struct schema *s)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		freopen("/dev/null", "w", stderr);
		schema_check(s);
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_schema_rules(void **state)
{
	(void)state;
	static const char *const bad[] = { "lat_us", "pause_ms", "dirty_rate_kbps", "use_percent", "rwnd_pct",
					   "drop_pps", "flows_count", "packets_total", "Upper", "ts" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct field f[1] = { { bad[i], "X", FK_GAUGE, FF_ALL, "help", 0, 0, 0 } };
		struct schema s = { "unit", "rows", f, 1, NULL };
		assert_int_equal(check_in_child(&s), 1);
	}
	static const struct field pidf[] = { { "pid", "PID", FK_GAUGE, FF_ALL, "pid", 0, 0, 0 } };
	static const struct schema ps = { "unit", "rows", pidf, 1, NULL };
	assert_int_equal(check_in_child(&ps), 1); /* not the catalogue's pid */
	static const struct field nohelp[] = { { "bytes", "B", FK_COUNTER, FF_ALL, NULL, 0, 0, 0 } };
	static const struct schema nh = { "unit", "rows", nohelp, 1, NULL };
	assert_int_equal(check_in_child(&nh), 1);
	static const struct field good[] = { F_PID(FF_ALL), F_COMM(FF_ALL),
		{ "pause_seconds", "P", FK_HIST, FF_ALL, "Pauses", 0, 0, 0 },
		{ "dirty_bytes_per_second", "D", FK_GAUGE, FF_ALL, "Dirtying rate", 0, 0, 0 } };
	static const struct schema gs = { "unit", "rows", good, 4, &ms };
	assert_int_equal(check_in_child(&gs), 0);
}

/* --state: a counter carries on across runs (cron -c 1), so rate() is right */
static void test_state_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/bs-state.XXXXXX", path[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/unit.state", dir);
	uint64_t got[3];
	for (int run = 0; run < 3; run++) {
		/* each "run" counts 10 from its own start */
		struct out_config c = { .format = OUT_JSON, .state = path };
		out_configure(&c);
		struct snapshot *sn = snap_begin(&ts);
		snap_meta(sn, "mechanism", "test");
		struct record *r = snap_add(sn);
		rec_u64(r, T_ID, 1);
		rec_str(r, T_NAME, "x");
		rec_u64(r, T_VAL, 10);
		state_apply("rows", r);
		got[run] = rec_get(r, T_VAL)->u;
		assert_int_equal(state_save(), 0);
		snap_free(sn);
		/* a new process would start with the file only */
		state_forget();
	}
	assert_int_equal(got[0], 10);
	assert_int_equal(got[1], 20);
	assert_int_equal(got[2], 30);
	/* a series not written for over an hour is dropped from the file */
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fprintf(f, "5 1000 rows/rows/value/id=9/name=\"gone\"\n");
	fclose(f);
	struct out_config c = { .format = OUT_JSON, .state = path };
	out_configure(&c);
	struct snapshot *sn = snap_begin(&ts);
	struct record *r = snap_add(sn);
	rec_u64(r, T_ID, 1);
	rec_str(r, T_NAME, "x");
	rec_u64(r, T_VAL, 1);
	state_apply("rows", r);
	assert_int_equal(rec_get(r, T_VAL)->u, 31);
	assert_int_equal(state_save(), 0);
	snap_free(sn);
	state_forget();
	char buf[512] = {};
	f = fopen(path, "r");
	assert_non_null(f);
	assert_true(fread(buf, 1, sizeof(buf) - 1, f) > 0);
	fclose(f);
	assert_non_null(strstr(buf, "bpfscope-state 1 unit rows\n"));
	assert_non_null(strstr(buf, "31 "));
	assert_null(strstr(buf, "gone"));
	unlink(path);
	rmdir(dir);
}

static void test_parsers(void **state)
{
	(void)state;
	uint64_t u;
	double d;
	int pid;
	assert_int_equal(parse_u64("42", &u), 0);
	assert_int_equal(u, 42);
	assert_int_equal(parse_u64("18446744073709551615", &u), 0);
	assert_int_equal(parse_u64("18446744073709551616", &u), -1);
	assert_int_equal(parse_u64("-1", &u), -1);
	assert_int_equal(parse_u64("4x", &u), -1);
	assert_int_equal(parse_u64("", &u), -1);
	assert_int_equal(parse_double("0.5", 0, 1, &d), 0);
	assert_true(d == 0.5);
	assert_int_equal(parse_double("1.5", 0, 1, &d), -1);
	assert_int_equal(parse_double("nan", 0, 1, &d), -1);
	assert_int_equal(parse_double("inf", 0, 1e9, &d), -1);
	assert_int_equal(parse_pid("1", &pid), 0);
	assert_int_equal(parse_pid("0", &pid), -1);
	assert_int_equal(parse_pid("99999999", &pid), -1);
}

static void test_errno_names(void **state)
{
	(void)state;
	assert_string_equal(errno_name(ENOENT), "ENOENT");
	assert_string_equal(errno_name(-EINVAL), "EINVAL");
	assert_string_equal(errno_name(524), "ENOTSUPP");
	assert_string_equal(errno_name(4095), "E4095");
}

static void test_atomic_write(void **state)
{
	(void)state;
	char dir[] = "/tmp/bs-unit.XXXXXX";
	char path[256], buf[64] = {};
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/out.prom", dir);
	assert_int_equal(write_file_atomic(path, "first\n", 6), 0);
	assert_int_equal(write_file_atomic(path, "second\n", 7), 0);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	assert_int_equal(fread(buf, 1, sizeof(buf) - 1, f), 7);
	fclose(f);
	assert_string_equal(buf, "second\n");
	snprintf(buf, sizeof(buf), "%s/nodir/x", dir);
	assert_true(write_file_atomic(buf, "x", 1) < 0);
	unlink(path);
	assert_int_equal(rmdir(dir), 0); /* no temp files left behind */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_escaping),
		cmocka_unit_test(test_utf8_escaping),
		cmocka_unit_test(test_prom_escaping),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_json_snapshot),
		cmocka_unit_test(test_prom_snapshot),
		cmocka_unit_test(test_prom_duplicate_series),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_table_snapshot),
		cmocka_unit_test(test_schema_rules),
		cmocka_unit_test(test_state_file),
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_errno_names),
		cmocka_unit_test(test_atomic_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
