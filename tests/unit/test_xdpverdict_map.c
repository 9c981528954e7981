// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* xdpverdict's driver counter table (tools/xdpverdict/xdpmap.c): name matching,
 * verdict derivation, counter deltas across resets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "xdpmap.h"

static void test_drivers_known(void **state)
{
	(void)state;
	const char *names[] = { "veth", "virtio_net", "mlx5_core", "i40e", "ice", "ixgbe", "bnxt_en", "ena" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const struct xdp_driver_map *d = xdpmap_driver(names[i]);
		assert_non_null(d);
		assert_string_equal(d->driver, names[i]);
		assert_non_null(d->derivation);
	}
	assert_null(xdpmap_driver("e1000"));
	assert_null(xdpmap_driver(NULL));
}

static void test_match_veth(void **state)
{
	(void)state;
	const struct xdp_driver_map *d = xdpmap_driver("veth");
	int q;
	assert_int_equal(xdpmap_match(d, "rx_queue_0_xdp_packets", &q), XR_PACKETS);
	assert_int_equal(q, 0);
	assert_int_equal(xdpmap_match(d, "rx_queue_12_xdp_drops", &q), XR_DROP);
	assert_int_equal(q, 12);
	assert_int_equal(xdpmap_match(d, "rx_queue_3_xdp_tx", &q), XR_TX);
	assert_int_equal(q, 3);
	assert_int_equal(xdpmap_match(d, "rx_queue_3_xdp_redirect", &q), XR_REDIRECT);
	/* look-alikes are not verdicts */
	assert_int_equal(xdpmap_match(d, "rx_queue_3_xdp_tx_errors", &q), XR_NONE);
	assert_int_equal(q, -1);
	assert_int_equal(xdpmap_match(d, "rx_queue_0_drops", &q), XR_NONE);
	assert_int_equal(xdpmap_match(d, "rx_queue_0_xdp_bytes", &q), XR_NONE);
	assert_int_equal(xdpmap_match(d, "tx_queue_0_xdp_xmit", &q), XR_NONE);
	assert_int_equal(xdpmap_match(d, "rx_queue__xdp_drops", &q), XR_NONE);
	assert_int_equal(xdpmap_match(d, "rx_queue_x_xdp_drops", &q), XR_NONE);
	assert_int_equal(xdpmap_match(d, "peer_ifindex", &q), XR_NONE);
}

static void test_match_others(void **state)
{
	(void)state;
	int q;
	const struct xdp_driver_map *v = xdpmap_driver("virtio_net");
	assert_int_equal(xdpmap_match(v, "rx_queue_1_xdp_redirects", &q), XR_REDIRECT);
	assert_int_equal(q, 1);
	assert_int_equal(xdpmap_match(v, "rx7_xdp_packets", &q), XR_PACKETS);
	assert_int_equal(q, 7);
	const struct xdp_driver_map *m = xdpmap_driver("mlx5_core");
	assert_int_equal(xdpmap_match(m, "rx2_xdp_drop", &q), XR_DROP);
	assert_int_equal(xdpmap_match(m, "rx2_xdp_tx_xmit", &q), XR_TX);
	assert_int_equal(xdpmap_match(m, "rx_xdp_drop", &q), XR_NONE); /* device-wide total: not summed twice */
	assert_int_equal(xdpmap_match(m, "rx2_xdp_tx_full", &q), XR_NONE);
	const struct xdp_driver_map *e = xdpmap_driver("ena");
	assert_int_equal(xdpmap_match(e, "queue_4_rx_xdp_aborted", &q), XR_ABORTED);
	assert_int_equal(q, 4);
	assert_int_equal(xdpmap_match(e, "queue_4_rx_xdp_invalid", &q), XR_INVALID);
	assert_int_equal(xdpmap_match(e, "queue_4_rx_xdp_pass", &q), XR_PASS);
	/* drivers without verdict counters match nothing */
	assert_int_equal(xdpmap_match(xdpmap_driver("ixgbe"), "rx_queue_0_packets", &q), XR_NONE);
	assert_int_equal(xdpmap_match(NULL, "rx_queue_0_xdp_drops", &q), XR_NONE);
}

static struct xdp_role_sums sums(int n, ...)
{
	struct xdp_role_sums s = {};
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		int role = va_arg(ap, int);
		s.v[role] = va_arg(ap, uint64_t);
		s.have[role] = true;
	}
	va_end(ap);
	return s;
}

/* veth as measured: 60 packets = 10 ABORTED + 10 DROP + 10 PASS + 10 TX +
 * 20 REDIRECT of which 10 failed (ethtool -S showed xdp_drops 20, xdp_tx 10,
 * xdp_redirect 10). */
static void test_derive_veth(void **state)
{
	(void)state;
	struct xdp_role_sums s = sums(4, XR_PACKETS, (uint64_t)60, XR_DROP, (uint64_t)20,
				      XR_TX, (uint64_t)10, XR_REDIRECT, (uint64_t)10);
	struct xdp_tp_facts tp = { .valid = true, .exc_aborted = 10, .exc_tx = 0, .redirect_err = 10 };
	struct xdp_verdicts v;
	xdpmap_derive(xdpmap_driver("veth"), &s, &tp, &v);
	uint64_t want[XV_NVERDICTS] = { 10, 10, 10, 10, 20 };
	for (int i = 0; i < XV_NVERDICTS; i++) {
		assert_true(v.known[i]);
		assert_int_equal(v.v[i], want[i]);
	}
	assert_true(v.packets_known);
	assert_int_equal(v.packets, 60);

	/* a failed XDP_TX: xdp_exception(TX), not in xdp_tx, still in packets */
	s = sums(4, XR_PACKETS, (uint64_t)5, XR_DROP, (uint64_t)0, XR_TX, (uint64_t)3, XR_REDIRECT, (uint64_t)0);
	tp = (struct xdp_tp_facts){ .valid = true, .exc_tx = 2 };
	xdpmap_derive(xdpmap_driver("veth"), &s, &tp, &v);
	assert_int_equal(v.v[XV_TX], 5);
	assert_int_equal(v.v[XV_PASS], 0);
}

static void test_derive_needs_tracepoints(void **state)
{
	(void)state;
	/* without tracepoints, veth's drop counter cannot be split and PASS
	 * cannot be derived: unknown, never guessed */
	struct xdp_role_sums s = sums(4, XR_PACKETS, (uint64_t)60, XR_DROP, (uint64_t)20,
				      XR_TX, (uint64_t)10, XR_REDIRECT, (uint64_t)10);
	struct xdp_tp_facts none = { .valid = false };
	struct xdp_verdicts v;
	xdpmap_derive(xdpmap_driver("veth"), &s, &none, &v);
	assert_false(v.known[XV_ABORTED]);
	assert_false(v.known[XV_DROP]);
	assert_false(v.known[XV_PASS]);
	assert_false(v.known[XV_TX]);
	assert_false(v.known[XV_REDIRECT]);
	assert_false(v.packets_known);
	assert_int_equal(v.packets, 0);
}

static void test_derive_virtio_mlx5_ena(void **state)
{
	(void)state;
	struct xdp_verdicts v;
	/* virtio: 2 aborted, 3 drop, 4 pass, 5 tx (1 failed), 6 redirect (2 failed);
	 * xdp_drops = 2 + 3 + 1 + 2 = 8, xdp_tx = 5, xdp_redirects = 6 */
	struct xdp_role_sums s = sums(4, XR_PACKETS, (uint64_t)20, XR_DROP, (uint64_t)8,
				      XR_TX, (uint64_t)5, XR_REDIRECT, (uint64_t)6);
	struct xdp_tp_facts tp = { .valid = true, .exc_aborted = 2, .exc_tx = 1, .redirect_err = 2 };
	xdpmap_derive(xdpmap_driver("virtio_net"), &s, &tp, &v);
	uint64_t want[XV_NVERDICTS] = { 2, 3, 4, 5, 6 };
	for (int i = 0; i < XV_NVERDICTS; i++) {
		assert_true(v.known[i]);
		assert_int_equal(v.v[i], want[i]);
	}
	/* mlx5: no packet counter, so no PASS; xdp_drop = 2 + 3 + 1 + 2 */
	s = sums(3, XR_DROP, (uint64_t)8, XR_TX, (uint64_t)4, XR_REDIRECT, (uint64_t)4);
	xdpmap_derive(xdpmap_driver("mlx5_core"), &s, &tp, &v);
	assert_int_equal(v.v[XV_ABORTED], 2);
	assert_int_equal(v.v[XV_DROP], 3);
	assert_int_equal(v.v[XV_TX], 5);
	assert_int_equal(v.v[XV_REDIRECT], 6);
	assert_false(v.known[XV_PASS]);
	assert_false(v.packets_known);
	/* ena: one counter per verdict, invalid folded into aborted; no tracepoints needed */
	s = sums(6, XR_ABORTED, (uint64_t)1, XR_INVALID, (uint64_t)1, XR_DROP, (uint64_t)3,
		 XR_PASS, (uint64_t)4, XR_TX, (uint64_t)5, XR_REDIRECT, (uint64_t)6);
	struct xdp_tp_facts none = { .valid = false };
	xdpmap_derive(xdpmap_driver("ena"), &s, &none, &v);
	for (int i = 0; i < XV_NVERDICTS; i++) {
		assert_true(v.known[i]);
		assert_int_equal(v.v[i], want[i]);
	}
	assert_int_equal(v.packets, 20);
}

static void test_derive_never_negative(void **state)
{
	(void)state;
	/* counters read one after another may disagree by a packet: clamp at 0 */
	struct xdp_role_sums s = sums(4, XR_PACKETS, (uint64_t)5, XR_DROP, (uint64_t)1,
				      XR_TX, (uint64_t)3, XR_REDIRECT, (uint64_t)3);
	struct xdp_tp_facts tp = { .valid = true, .exc_aborted = 2 };
	struct xdp_verdicts v;
	xdpmap_derive(xdpmap_driver("veth"), &s, &tp, &v);
	assert_int_equal(v.v[XV_DROP], 0);
	assert_int_equal(v.v[XV_PASS], 0);
}

static void test_counter_advance(void **state)
{
	(void)state;
	struct counter_track c = {};
	assert_int_equal(counter_advance(&c, 1000), 0);   /* first reading: baseline */
	assert_int_equal(counter_advance(&c, 1010), 10);
	assert_int_equal(counter_advance(&c, 1010), 10);
	assert_int_equal(counter_advance(&c, 4), 14);     /* reset: 10 banked + 4 */
	assert_int_equal(counter_advance(&c, 6), 16);
	/* near the top of the range */
	struct counter_track w = {};
	counter_advance(&w, UINT64_MAX - 5);
	assert_int_equal(counter_advance(&w, UINT64_MAX), 5);
	/* a track started at 0 counts everything */
	struct counter_track z = { .started = true };
	assert_int_equal(counter_advance(&z, 7), 7);
}

static void test_verdict_names(void **state)
{
	(void)state;
	assert_string_equal(xdp_verdict_name(XV_ABORTED), "aborted");
	assert_string_equal(xdp_verdict_name(XV_REDIRECT), "redirect");
	assert_string_equal(xdp_verdict_name((enum xdp_verdict)9), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drivers_known),
		cmocka_unit_test(test_match_veth),
		cmocka_unit_test(test_match_others),
		cmocka_unit_test(test_derive_veth),
		cmocka_unit_test(test_derive_needs_tracepoints),
		cmocka_unit_test(test_derive_virtio_mlx5_ena),
		cmocka_unit_test(test_derive_never_negative),
		cmocka_unit_test(test_counter_advance),
		cmocka_unit_test(test_verdict_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
