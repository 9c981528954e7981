// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "bpfobj.h"
#include "util.h"
#include "xv.h"
#include "xvevents.h"
#include "xvns.h"

static const char *action_name(uint32_t act)
{
	static const char *const names[] = { "ABORTED", "DROP", "PASS", "TX", "REDIRECT" };
	return act < 5 ? names[act] : "INVALID";
}

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case XV_EV_EXCEPTION: return "exception";
	case XV_EV_REDIRECT_ERR: return "redirect_error";
	case XV_EV_BULK_TX_ERR: return "tx_xmit_error";
	case XV_EV_DEVMAP_ERR: return "devmap_xmit_error";
	}
	return "unknown";
}

int xv_on_event(void *ctx, const void *data, size_t size)
{
	const char *iface = ctx;
	const struct xv_event *e = data;
	char nb[32], tb[64], ifname[sizeof(e->ifname) + 1] = {};

	if (size < sizeof(*e) || !xvns_watched(e->netns))
		return 0;
	memcpy(ifname, e->ifname, sizeof(e->ifname));
	if (iface && strcmp(iface, ifname))
		return 0;
	struct record *r = event_new(&event_schema);
	rec_str(r, E_TYPE, kind_name(e->kind));
	rec_str(r, E_NETNS, xvns_display(e->netns, nb, sizeof(nb)));
	rec_str(r, E_IFACE, ifname);
	rec_u64(r, E_IFINDEX, e->ifindex);
	if (e->prog_id) {
		struct bpf_prog_info pi;
		int fd = bpfobj_prog_open(e->prog_id, &pi);
		rec_u64(r, E_PROG_ID, e->prog_id);
		if (fd >= 0) {
			rec_str(r, E_PROG, pi.name);
			close(fd);
		}
	}
	rec_str(r, E_ACTION, action_name(e->act));
	if (e->err) {
		rec_str(r, E_ERRNO_NAME, errno_name(e->err));
		rec_u64(r, E_ERRNO, (uint64_t)(e->err < 0 ? -(int64_t)e->err : e->err));
	}
	if (e->to_ifindex) {
		const char *tn = xvns_ifname(e->netns, e->to_ifindex);
		snprintf(tb, sizeof(tb), "%s%sifindex %d", tn ? tn : "", tn ? " " : "", e->to_ifindex);
		rec_str(r, E_TARGET, tb);
		rec_u64(r, E_TO_IFINDEX, e->to_ifindex);
	}
	if (e->map_id) {
		rec_u64(r, E_MAP_ID, e->map_id);
		rec_u64(r, E_MAP_INDEX, e->map_index);
		if (!e->to_ifindex) {
			snprintf(tb, sizeof(tb), "map %u [%u]", e->map_id, e->map_index);
			rec_str(r, E_TARGET, tb);
		}
	}
	if (e->kind == XV_EV_BULK_TX_ERR || e->kind == XV_EV_DEVMAP_ERR) {
		rec_u64(r, E_SENT, e->sent);
		rec_u64(r, E_DROPS, e->drops);
	}
	return event_emit(r);
}

int xv_events_idle(void *ctx)
{
	static double last;
	(void)ctx;
	if (now_mono() - last > 2) { /* names of redirect targets */
		xvns_refresh();
		last = now_mono();
	}
	return 0;
}
