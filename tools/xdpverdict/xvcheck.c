// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xdpverdict --check: for each interface, whether XDP can run on it as
 * intended (native mode, XDP_TX and XDP_REDIRECT delivered), and if not,
 * why and how to fix it.  Nothing is attached: every prediction comes from
 * what the kernel says about the device and from the rules the driver
 * applies in its ndo_bpf (veth_xdp_set, virtnet_xdp_set), computed with the
 * running kernel's sizes (BTF) and page size.
 *
 * Sources: rtnetlink (MTU, flags, IFLA_XDP, the veth peer), the netdev
 * generic netlink family (NETDEV_A_DEV_XDP_FEATURES, 6.3+), ethtool (driver,
 * GRO, channels), sysfs (virtio features), vmlinux and module BTF.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/net_namespace.h>
#include <linux/rtnetlink.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "genl.h"
#include "netdev.h"
#include "netns.h"
#include "nsset.h"
#include "rtnl.h"
#include "util.h"
#include "xvcheck.h"

/* ---- fields: described once ---------------------------------------- */

enum { CM_FEATURES, CM_NFIELDS };
static const struct field cmfields[CM_NFIELDS] = {
	[CM_FEATURES] = { "xdp_features_source", "", FK_LABEL, 0,
			  "Where the drivers' XDP features come from: netdev netlink family, or none (the kernel "
			  "has no netdev netlink family: what is known of the driver instead)", 0, 0, 0 },
};
static const struct schema check_meta_schema = { "xdpverdict", "check", cmfields, CM_NFIELDS, NULL };

enum { C_NETNS, C_IFACE, C_IFINDEX, C_DRIVER, C_MODE, C_FEATURES, C_READY, C_FAILURES, C_WARNINGS, C_NFIELDS };
static struct field cfields[C_NFIELDS] = {
	[C_NETNS] = F_NETNS(FF_JSON | FF_PROM | FF_WIDE),
	[C_IFACE] = F_IFACE(FF_ALL),
	[C_IFINDEX] = F_IFINDEX(FF_JSON | FF_WIDE),
	[C_DRIVER] = { "driver", "DRIVER", FK_TEXT, FF_TABLE | FF_JSON, "Driver of the interface (ethtool -i)", 0, 0, 0 },
	[C_MODE] = { "mode", "MODE", FK_LABEL, FF_ALL,
		     "XDP attach mode: native, generic, offload (several joined by commas) or none", 0, 0, 0 },
	[C_FEATURES] = { "xdp_features", "XDP_FEATURES", FK_TEXT, FF_TABLE | FF_JSON,
			 "The driver's XDP features (netdev netlink: basic, redirect, ndo-xmit, xsk-zerocopy, "
			 "hw-offload, rx-sg, ndo-xmit-sg); null where the kernel cannot tell", 0, 0, 0 },
	[C_READY] = { "ready", "READY", FK_GAUGE, FF_ALL,
		      "1 when no check failed (native XDP attaches and XDP_TX/REDIRECT are delivered), else 0", 0, 0, 0 },
	[C_FAILURES] = { "failures", "FAIL", FK_GAUGE, FF_ALL, "Checks with status fail", 0, 0, 0 },
	[C_WARNINGS] = { "warnings", "WARN", FK_GAUGE, FF_ALL, "Checks with status warn", 0, 0, 0 },
};
const struct schema check_schema = { "xdpverdict", "check", cfields, C_NFIELDS, &check_meta_schema };

enum { K_NETNS, K_IFACE, K_CHECK, K_STATUS, K_MESSAGE, K_FIX, K_NFIELDS };
static struct field kfields[K_NFIELDS] = {
	[K_NETNS] = F_NETNS(FF_JSON | FF_WIDE),
	[K_IFACE] = F_IFACE(FF_TABLE | FF_JSON),
	[K_CHECK] = { "check", "CHECK", FK_LABEL, FF_TABLE | FF_JSON | FF_LEFT,
		      "What was checked: support, mode, mtu, veth_peer, veth_queues, virtio_offloads, "
		      "virtio_header, virtio_queues", 0, 0, 0 },
	[K_STATUS] = { "status", "STATUS", FK_LABEL, FF_TABLE | FF_JSON | FF_LEFT,
		       "ok, warn (works, but not as well as it could), fail (refused, or packets dropped) or "
		       "unknown (cannot be told here)", 0, 0, 0 },
	[K_MESSAGE] = { "message", "MESSAGE", FK_TEXT, FF_TABLE | FF_JSON, "What was found", 0, 0, 0 },
	[K_FIX] = { "fix", "FIX", FK_TEXT, FF_TABLE | FF_JSON, "How to fix it (null when nothing is to fix)", 0, 0, 0 },
};
const struct schema finding_schema = { "xdpverdict", "findings", kfields, K_NFIELDS, NULL };

/* ---- what the kernel says about the links --------------------------- */

struct lnk {
	int ifindex;
	char name[IF_NAMESIZE];
	unsigned flags;
	unsigned mtu;
	int link;          /* IFLA_LINK: a veth's peer (0: none) */
	int link_nsid;     /* IFLA_LINK_NETNSID, -1: same namespace */
	uint32_t prog[3];  /* native, generic, offload program ids (0: none) */
	uint32_t any_prog; /* IFLA_XDP_PROG_ID */
	uint8_t attached;  /* XDP_ATTACHED_* */
};

struct links {
	struct lnk *v;
	int n;
};

static uint32_t attr_u32(const struct rtattr *a)
{
	uint32_t v = 0;
	if (a && RTA_PAYLOAD(a) >= sizeof(v))
		memcpy(&v, RTA_DATA(a), sizeof(v));
	return v;
}

static int link_cb(const struct nlmsghdr *nh, void *ctx)
{
	struct links *l = ctx;
	struct rtattr *tb[IFLA_MAX + 1], *xb[IFLA_XDP_MAX + 1];
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);

	if (nh->nlmsg_type != RTM_NEWLINK || nh->nlmsg_len < NLMSG_LENGTH(sizeof(*ifi)))
		return 0;
	rtnl_msg_attrs(tb, IFLA_MAX, nh, sizeof(*ifi));
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	struct lnk *k = &l->v[l->n++];
	memset(k, 0, sizeof(*k));
	k->ifindex = ifi->ifi_index;
	k->flags = ifi->ifi_flags;
	k->link_nsid = -1;
	if (tb[IFLA_IFNAME])
		snprintf(k->name, sizeof(k->name), "%.*s", (int)RTA_PAYLOAD(tb[IFLA_IFNAME]),
			 (const char *)RTA_DATA(tb[IFLA_IFNAME]));
	k->mtu = attr_u32(tb[IFLA_MTU]);
	k->link = (int)attr_u32(tb[IFLA_LINK]);
	if (tb[IFLA_LINK_NETNSID])
		k->link_nsid = (int)attr_u32(tb[IFLA_LINK_NETNSID]);
	if (tb[IFLA_XDP]) {
		rtnl_attrs(xb, IFLA_XDP_MAX, RTA_DATA(tb[IFLA_XDP]), (int)RTA_PAYLOAD(tb[IFLA_XDP]));
		if (xb[IFLA_XDP_ATTACHED] && RTA_PAYLOAD(xb[IFLA_XDP_ATTACHED]) >= 1)
			k->attached = *(const uint8_t *)RTA_DATA(xb[IFLA_XDP_ATTACHED]);
		k->any_prog = attr_u32(xb[IFLA_XDP_PROG_ID]);
		k->prog[0] = attr_u32(xb[IFLA_XDP_DRV_PROG_ID]);
		k->prog[1] = attr_u32(xb[IFLA_XDP_SKB_PROG_ID]);
		k->prog[2] = attr_u32(xb[IFLA_XDP_HW_PROG_ID]);
		/* one program attached: only IFLA_XDP_PROG_ID, and the mode */
		if (k->any_prog && !k->prog[0] && !k->prog[1] && !k->prog[2]) {
			int m = k->attached == XDP_ATTACHED_SKB ? 1 : k->attached == XDP_ATTACHED_HW ? 2 : 0;
			k->prog[m] = k->any_prog;
		}
	}
	return 0;
}

/* Every link of the current namespace.  0 or -errno. */
static int links_read(struct links *l)
{
	memset(l, 0, sizeof(*l));
	int fd = rtnl_open();
	if (fd < 0)
		return fd;
	int err = rtnl_dump(fd, RTM_GETLINK, AF_UNSPEC, link_cb, l);
	close(fd);
	return err;
}

static const struct lnk *links_find(const struct links *l, int ifindex)
{
	for (int i = 0; i < l->n; i++)
		if (l->v[i].ifindex == ifindex)
			return &l->v[i];
	return NULL;
}

/* ---- findings ------------------------------------------------------- */

enum status { ST_OK, ST_WARN, ST_FAIL, ST_UNKNOWN };
static const char *const status_names[] = { "ok", "warn", "fail", "unknown" };

struct finding {
	const char *check;
	enum status st;
	char msg[512];
	char fix[512]; /* "": none */
};

struct iface_check {
	struct finding f[16];
	int n;
};

static struct finding *add(struct iface_check *c, const char *check, enum status st, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static struct finding *add(struct iface_check *c, const char *check, enum status st, const char *fmt, ...)
{
	struct finding *f = &c->f[c->n < 15 ? c->n++ : 15];
	va_list ap;

	f->check = check;
	f->st = st;
	f->fix[0] = 0;
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	return f;
}

static void fix(struct finding *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fix(struct finding *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->fix, sizeof(f->fix), fmt, ap);
	va_end(ap);
}

/* ---- sizes of the running kernel ------------------------------------ */

/* SKB_DATA_ALIGN: SMP_CACHE_BYTES, 64 on x86-64 (L1_CACHE_SHIFT 6); XDP
 * headroom XDP_PACKET_HEADROOM 256; NET_IP_ALIGN 0 on x86. */
#define CACHE_BYTES 64
#define XDP_HEADROOM 256
#define ALIGN_UP(x, a) (((x) + (a) - 1) / (a) * (a))

static struct btf *vmlinux_btf;
static bool vmlinux_tried;

static long btf_struct_size(struct btf *btf, const char *name)
{
	if (!btf)
		return -1;
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_STRUCT);
	return id < 0 ? -1 : (long)btf__resolve_size(btf, id);
}

static struct btf *vmlinux(void)
{
	if (!vmlinux_tried) {
		vmlinux_tried = true;
		vmlinux_btf = btf__load_vmlinux_btf();
		if (!vmlinux_btf)
			vmlinux_btf = NULL;
	}
	return vmlinux_btf;
}

/* sizeof(struct NAME) from module MOD's BTF, or vmlinux's (built in). */
static long module_struct_size(const char *mod, const char *name)
{
	char path[128];
	long sz = -1;

	snprintf(path, sizeof(path), "/sys/kernel/btf/%s", mod);
	if (vmlinux() && access(path, R_OK) == 0) {
		struct btf *b = btf__parse_split(path, vmlinux());
		if (b) {
			sz = btf_struct_size(b, name);
			btf__free(b);
		}
	}
	return sz >= 0 ? sz : btf_struct_size(vmlinux(), name);
}

static long shinfo_aligned(void)
{
	long s = btf_struct_size(vmlinux(), "skb_shared_info");
	return s < 0 ? -1 : ALIGN_UP(s, CACHE_BYTES);
}

/* ---- per driver ----------------------------------------------------- */

struct ctx {
	const char *nsname;   /* for fixes: "" or "ip netns exec NS " prefix source */
	char nsprefix[96];    /* "ip -n NS " or "" */
	char nsexec[96];      /* "ip netns exec NS " or "" */
	const struct links *links;
	const struct netdev_xdpf *xf;
	int nxf;              /* -ENOENT: no netdev family; < 0: unknown */
	int sock;             /* ethtool, in the checked namespace */
};

static bool has_features(const struct ctx *c, int ifindex, uint64_t *f)
{
	for (int i = 0; c->nxf > 0 && i < c->nxf; i++)
		if (c->xf[i].ifindex == ifindex) {
			*f = c->xf[i].features;
			return true;
		}
	return false;
}

static int gro_on(int sock, const char *ifname)
{
	struct ethtool_value v = { .cmd = ETHTOOL_GGRO };
	int err = ethtool_ioctl(sock, ifname, &v);
	return err ? err : v.data != 0;
}

/* The veth peer, wherever it is: its link, GRO, queues. */
struct peer {
	bool known;
	char why[160];        /* when not known */
	struct lnk l;
	int gro;              /* 1, 0, or -errno */
	struct ethtool_channels ch;
	int ch_err;
	char ns[80];          /* where it is, for messages ("" this one) */
	char nsexec[96];
};

static int nsid_cb(const struct nlmsghdr *nh, void *ctx)
{
	struct rtattr *tb[NETNSA_MAX + 1];
	rtnl_msg_attrs(tb, NETNSA_MAX, nh, sizeof(struct rtgenmsg));
	if (tb[NETNSA_NSID])
		*(int *)ctx = (int)attr_u32(tb[NETNSA_NSID]);
	return 0;
}

/* The namespace whose id (as the current namespace numbers it) is nsid:
 * an fd, or -1. */
static int ns_by_nsid(int nsid, struct netns *found)
{
	struct netns *v;
	int n = netns_list(&v), ret = -1;
	int fd = rtnl_open();

	for (int i = 0; fd >= 0 && i < n && ret < 0; i++) {
		int nfd = netns_open(v[i].path);
		if (nfd < 0)
			continue;
		struct {
			struct nlmsghdr nh;
			struct rtgenmsg g;
			char pad[3];
			char attrs[32];
		} req;
		memset(&req, 0, sizeof(req));
		req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtgenmsg));
		req.nh.nlmsg_type = RTM_GETNSID;
		req.nh.nlmsg_flags = NLM_F_ACK;
		req.g.rtgen_family = AF_UNSPEC;
		uint32_t ufd = (uint32_t)nfd;
		rtnl_add_attr(&req.nh, sizeof(req), NETNSA_FD, &ufd, sizeof(ufd));
		int got = -1;
		if (rtnl_dump_req(fd, &req.nh, nsid_cb, &got) == 0 && got == nsid) {
			ret = nfd;
			*found = v[i];
		} else {
			close(nfd);
		}
	}
	if (fd >= 0)
		close(fd);
	free(v);
	return ret;
}

static void peer_probe(const struct lnk *k, int ns_fd_back, struct peer *p, const struct ctx *c)
{
	memset(p, 0, sizeof(*p));
	p->gro = -ENOENT;
	p->ch_err = -ENOENT;
	if (!k->link) {
		snprintf(p->why, sizeof(p->why), "the peer is gone (veth without peer)");
		return;
	}
	if (k->link_nsid < 0) {
		const struct lnk *pl = links_find(c->links, k->link);
		if (!pl) {
			snprintf(p->why, sizeof(p->why), "peer ifindex %d not found", k->link);
			return;
		}
		p->l = *pl;
		p->gro = gro_on(c->sock, pl->name);
		p->ch.cmd = ETHTOOL_GCHANNELS;
		p->ch_err = ethtool_ioctl(c->sock, pl->name, &p->ch);
		snprintf(p->nsexec, sizeof(p->nsexec), "%s", c->nsexec);
		p->known = true;
		return;
	}
	/* in another namespace: find it by its id, enter, look, come back */
	struct netns found;
	int fd = ns_by_nsid(k->link_nsid, &found);
	if (fd < 0) {
		snprintf(p->why, sizeof(p->why),
			 "the peer (ifindex %d) is in network namespace id %d, which this process cannot find or open",
			 k->link, k->link_nsid);
		return;
	}
	if (netns_enter(fd)) {
		snprintf(p->why, sizeof(p->why), "cannot enter the peer's network namespace %s", found.name);
		close(fd);
		return;
	}
	struct links pls;
	if (links_read(&pls) == 0) {
		const struct lnk *pl = links_find(&pls, k->link);
		if (pl) {
			int sock = ethtool_socket();
			p->l = *pl;
			p->gro = sock < 0 ? sock : gro_on(sock, pl->name);
			p->ch.cmd = ETHTOOL_GCHANNELS;
			p->ch_err = sock < 0 ? sock : ethtool_ioctl(sock, pl->name, &p->ch);
			if (sock >= 0)
				close(sock);
			p->known = true;
		}
	}
	free(pls.v);
	if (ns_fd_back >= 0)
		netns_enter_or_die(ns_fd_back, "(back)");
	else
		netns_return_or_die();
	close(fd);
	if (!p->known)
		snprintf(p->why, sizeof(p->why), "peer ifindex %d not found in namespace %s", k->link, found.name);
	/* a name under /run/netns is what ip netns exec takes */
	snprintf(p->ns, sizeof(p->ns), "%.63s", found.name);
	if (strncmp(found.name, "pid:", 4) && strncmp(found.name, "ns:", 3) && strcmp(found.name, "init") &&
	    strcmp(found.name, "self"))
		snprintf(p->nsexec, sizeof(p->nsexec), "ip netns exec %.64s ", found.name);
	else if (!strncmp(found.name, "pid:", 4))
		snprintf(p->nsexec, sizeof(p->nsexec), "nsenter -t %.16s -n ", found.name + 4);
}

static void check_veth(struct iface_check *ic, const struct lnk *k, const struct ctx *c, int ns_fd)
{
	struct peer p;
	struct finding *f;
	long page = sysconf(_SC_PAGESIZE), sh = shinfo_aligned();

	peer_probe(k, ns_fd, &p, c);
	if (!p.known) {
		add(ic, "veth_peer", ST_UNKNOWN, "%s: whether XDP_TX and XDP_REDIRECT into %s are delivered cannot "
		    "be told", p.why, k->name);
		add(ic, "mtu", ST_UNKNOWN, "%s: the limit applies to the peer's MTU", p.why);
		return;
	}
	const char *where = p.ns[0] ? " (namespace " : "";
	char nsdesc[96];
	snprintf(nsdesc, sizeof(nsdesc), "%s%s%s", where, p.ns, p.ns[0] ? ")" : "");

	/* veth_xdp_xmit: frames go to the peer's rx queue only when the peer
	 * runs NAPI: it is up, and has an XDP program (native) or GRO on. */
	bool up = p.l.flags & IFF_UP;
	bool pxdp = p.l.prog[0] != 0;
	if (up && pxdp)
		add(ic, "veth_peer", ST_OK, "the peer %s%s has a native XDP program: XDP_TX from %s and XDP_REDIRECT "
		    "into %s are delivered", p.l.name, nsdesc, k->name, k->name);
	else if (up && p.gro == 1) {
		/* veth_xdp_flush kicks the peer's NAPI only when the peer has
		 * an XDP program: with GRO alone the frames are queued (no
		 * xdp_tx_errors) but wait for other traffic to be polled */
		f = add(ic, "veth_peer", ST_WARN, "the peer %s%s has GRO on but no XDP program: XDP_TX from %s and "
			"XDP_REDIRECT into %s are queued to it, but the kernel does not wake the peer for them "
			"(delivery late or not at all)", p.l.name, nsdesc, k->name, k->name);
		fix(f, "%sip link set dev %s xdpdrv obj PROG (an XDP_PASS program on the peer)", p.nsexec, p.l.name);
	} else if (p.gro < 0 && up && !pxdp)
		add(ic, "veth_peer", ST_UNKNOWN, "the peer %s%s has no native XDP program and its GRO setting cannot "
		    "be read (%s)", p.l.name, nsdesc, errno_name(p.gro));
	else {
		f = add(ic, "veth_peer", ST_FAIL, "the peer %s%s %s: XDP_TX from %s and XDP_REDIRECT into %s are "
			"dropped (the peer runs no NAPI)", p.l.name, nsdesc,
			!up ? "is down" : "has no native XDP program and GRO off", k->name, k->name);
		if (!up)
			fix(f, "%sip link set dev %s up", p.nsexec, p.l.name);
		else
			fix(f, "%sip link set dev %s xdpdrv obj PROG (an XDP_PASS program will do; ethtool -K %s gro on "
			    "stops the drops, but then the frames wait in the peer's ring)", p.nsexec, p.l.name, p.l.name);
	}

	/* veth_xdp_set: rx queues of this end >= tx queues of the peer */
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	int err = ethtool_ioctl(c->sock, k->name, &ch);
	if (err || p.ch_err)
		add(ic, "veth_queues", ST_UNKNOWN, "queue counts unreadable (ethtool -l: %s)", errno_name(err ?: p.ch_err));
	else if (ch.rx_count < p.ch.tx_count) {
		f = add(ic, "veth_queues", ST_FAIL, "%s has %u rx queues, fewer than the peer's %u tx queues: the kernel "
			"refuses XDP (\"XDP expects number of rx queues not less than peer tx queues\")", k->name,
			ch.rx_count, p.ch.tx_count);
		fix(f, "%sethtool -L %s rx %u (or ethtool -L %s tx %u on the peer)", c->nsexec, k->name, p.ch.tx_count,
		    p.l.name, ch.rx_count);
	} else {
		add(ic, "veth_queues", ST_OK, "%u rx queues, the peer has %u tx queues", ch.rx_count, p.ch.tx_count);
	}

	/* veth_xdp_set: the peer's MTU against one page less headroom and
	 * skb_shared_info, less the peer's link-layer header */
	if (sh < 0) {
		add(ic, "mtu", ST_UNKNOWN, "sizeof(struct skb_shared_info) unknown (no vmlinux BTF): the single-buffer "
		    "limit cannot be computed");
		return;
	}
	long max = page - XDP_HEADROOM - sh - 14;
	if ((long)p.l.mtu > max) {
		f = add(ic, "mtu", ST_FAIL, "the peer %s has MTU %u > %ld (veth's single-buffer XDP limit): only "
			"xdp.frags (multi-buffer) programs attach to %s; others are refused (\"Peer MTU is too large "
			"to set XDP\")", p.l.name, p.l.mtu, max, k->name);
		fix(f, "%sip link set dev %s mtu %ld, or load a multi-buffer program (SEC(\"xdp.frags\"))", p.nsexec,
		    p.l.name, max);
	} else {
		add(ic, "mtu", ST_OK, "the peer %s has MTU %u <= %ld: single-buffer programs attach", p.l.name, p.l.mtu,
		    max);
	}
}

/* virtio feature bits (include/uapi/linux/virtio_net.h, virtio_config.h) */
enum {
	VF_GUEST_CSUM = 1, VF_CTRL_GUEST_OFFLOADS = 2, VF_GUEST_TSO4 = 7, VF_GUEST_TSO6 = 8, VF_GUEST_ECN = 9,
	VF_GUEST_UFO = 10, VF_MRG_RXBUF = 15, VF_CTRL_VQ = 17, VF_ANY_LAYOUT = 27, VF_VERSION_1 = 32,
	VF_GUEST_USO4 = 54, VF_GUEST_USO6 = 55,
};

/* The negotiated features (sysfs: one '0' or '1' per bit), if this
 * process's sysfs shows this very interface.  0 or -errno. */
static int virtio_features(const struct lnk *k, char *bits, size_t len)
{
	char path[128], buf[32];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex", k->name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || atoi((buf[n] = 0, buf)) != k->ifindex)
		return -ENOENT; /* sysfs of another namespace */
	snprintf(path, sizeof(path), "/sys/class/net/%s/device/features", k->name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, bits, len - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	bits[n] = 0;
	return 0;
}

static void check_virtio(struct iface_check *ic, const struct lnk *k, const struct ctx *c, bool frags_rule)
{
	char bits[256];
	struct finding *f;
	int err = virtio_features(k, bits, sizeof(bits));
	size_t nb = err ? 0 : strcspn(bits, "\n");
#define HAS(b) ((size_t)(b) < nb && bits[b] == '1')

	if (err) {
		add(ic, "virtio_offloads", ST_UNKNOWN, "the negotiated virtio features are not readable "
		    "(/sys/class/net/%s/device/features: %s)", k->name, errno_name(err));
	} else {
		static const struct { int bit; const char *qemu; } offl[] = {
			{ VF_GUEST_TSO4, "guest_tso4" }, { VF_GUEST_TSO6, "guest_tso6" }, { VF_GUEST_ECN, "guest_ecn" },
			{ VF_GUEST_UFO, "guest_ufo" }, { VF_GUEST_CSUM, "guest_csum" }, { VF_GUEST_USO4, "guest_uso4" },
			{ VF_GUEST_USO6, "guest_uso6" },
		};
		char on[160] = "", qemu[200] = "";
		size_t lo = 0, lq = 0;
		for (size_t i = 0; i < sizeof(offl) / sizeof(offl[0]); i++)
			if (HAS(offl[i].bit)) {
				lo += snprintf(on + lo, sizeof(on) - lo, "%s%s", lo ? "," : "", offl[i].qemu);
				lq += snprintf(qemu + lq, sizeof(qemu) - lq, ",%s=off", offl[i].qemu);
			}
		if (!on[0])
			add(ic, "virtio_offloads", ST_OK, "no guest offloads negotiated (GRO_HW/CSUM)");
		else if (HAS(VF_CTRL_GUEST_OFFLOADS))
			add(ic, "virtio_offloads", ST_OK, "guest offloads %s negotiated, with ctrl_guest_offloads: the "
			    "driver turns them off while XDP is attached", on);
		else {
			f = add(ic, "virtio_offloads", ST_FAIL, "guest offloads %s negotiated without "
				"ctrl_guest_offloads: the kernel refuses native XDP (\"Can't set XDP while host is "
				"implementing GRO_HW/CSUM\"); ethtool -K cannot change negotiated features", on);
			fix(f, "host: QEMU -device virtio-net-pci,...%s (or ctrl_guest_offloads=on with ctrl_vq=on, so "
			    "the driver turns them off itself)", qemu);
		}
		/* virtnet_xdp_set: mergeable buffers need the header in the data's page */
		if (HAS(VF_MRG_RXBUF) && !HAS(VF_ANY_LAYOUT) && !HAS(VF_VERSION_1)) {
			f = add(ic, "virtio_header", ST_FAIL, "mergeable rx buffers without any_layout or virtio 1.0: the "
				"kernel refuses XDP (\"XDP expects header/data in single page, any_header_sg required\")");
			fix(f, "host: a virtio 1.0 device (QEMU -device virtio-net-pci,disable-legacy=on, or a newer "
			    "machine type), or mrg_rxbuf=off");
		} else {
			add(ic, "virtio_header", ST_OK, "%s", HAS(VF_MRG_RXBUF) ? "mergeable rx buffers with the header in "
			    "the data's page (any_header_sg)" : "no mergeable rx buffers");
		}
	}

	/* MTU: virtnet_xdp_set's limit on this kernel */
	long page = sysconf(_SC_PAGESIZE);
	if (frags_rule) {
		long sh = btf_struct_size(vmlinux(), "skb_shared_info");
		if (sh < 0) {
			add(ic, "mtu", ST_UNKNOWN, "sizeof(struct skb_shared_info) unknown (no vmlinux BTF)");
		} else {
			long max = page - ALIGN_UP(XDP_HEADROOM + sh, CACHE_BYTES) - 14;
			if ((long)k->mtu > max) {
				f = add(ic, "mtu", ST_FAIL, "MTU %u > %ld (virtio_net's single-buffer XDP limit): only "
					"xdp.frags (multi-buffer) programs attach (\"MTU too large to enable XDP without "
					"frags\")", k->mtu, max);
				fix(f, "%sip link set dev %s mtu %ld, or load a multi-buffer program (SEC(\"xdp.frags\"))",
				    c->nsexec, k->name, max);
			} else {
				add(ic, "mtu", ST_OK, "MTU %u <= %ld: single-buffer programs attach", k->mtu, max);
			}
		}
	} else {
		/* before multi-buffer virtio_net: one page less the padded header, for every program */
		long hdr = module_struct_size("virtio_net", "padded_vnet_hdr");
		/* BTF keeps no struct only sizeof() uses: padded_vnet_hdr is the
		 * driver's header padded to 16 bytes ("makes next sg 16 byte
		 * aligned"), virtio_net_hdr_v1_hash since 5.12, before it
		 * virtio_net_hdr_mrg_rxbuf */
		if (hdr < 0) {
			hdr = module_struct_size("virtio_net", "virtio_net_hdr_v1_hash");
			if (hdr < 0)
				hdr = module_struct_size("virtio_net", "virtio_net_hdr_mrg_rxbuf");
			if (hdr >= 0)
				hdr = ALIGN_UP(hdr, 16);
		}
		if (hdr < 0) {
			add(ic, "mtu", ST_UNKNOWN, "sizeof(struct padded_vnet_hdr) unknown (no virtio_net BTF)");
		} else if ((long)k->mtu > page - hdr) {
			f = add(ic, "mtu", ST_FAIL, "MTU %u > %ld: this kernel's virtio_net refuses every XDP program "
				"(\"MTU too large to enable XDP\"; no multi-buffer XDP here)", k->mtu, page - hdr);
			fix(f, "%sip link set dev %s mtu %ld", c->nsexec, k->name, page - hdr);
		} else {
			add(ic, "mtu", ST_OK, "MTU %u <= %ld: XDP attaches (no multi-buffer XDP on this kernel's virtio_net)",
			    k->mtu, page - hdr);
		}
	}

	/* virtnet_xdp_set: XDP_TX wants one tx queue per possible CPU on top of
	 * the queue pairs in use, else a shared, locked tx queue */
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	int ncpu = libbpf_num_possible_cpus();
	err = ethtool_ioctl(c->sock, k->name, &ch);
	if (err || ncpu <= 0) {
		add(ic, "virtio_queues", ST_UNKNOWN, "queue pairs unreadable (ethtool -l: %s)", errno_name(err ?: ncpu));
	} else if (k->prog[0]) {
		/* attached: combined counts the XDP queues when they were granted */
		if (ch.combined_count + (unsigned)ncpu <= ch.max_combined)
			add(ic, "virtio_queues", ST_OK, "%u of %u queue pairs in use, %d possible CPUs: XDP_TX has queues "
			    "of its own", ch.combined_count, ch.max_combined, ncpu);
		else
			add(ic, "virtio_queues", ST_UNKNOWN, "%u of %u queue pairs in use with XDP attached, %d possible "
			    "CPUs: whether XDP_TX got queues of its own cannot be told (dmesg: \"XDP request ... "
			    "queues\")", ch.combined_count, ch.max_combined, ncpu);
	} else if (ch.combined_count + (unsigned)ncpu > ch.max_combined) {
		f = add(ic, "virtio_queues", ST_WARN, "%u queue pairs in use + %d possible CPUs > %u queue pairs: XDP_TX "
			"and XDP_REDIRECT into %s will share locked tx queues (slower)", ch.combined_count, ncpu,
			ch.max_combined, k->name);
		if (ch.max_combined > (unsigned)ncpu)
			fix(f, "%sethtool -L %s combined %u", c->nsexec, k->name, ch.max_combined - ncpu);
		else
			fix(f, "host: more queue pairs: -netdev tap,...,queues=%d -device virtio-net-pci,...,mq=on,"
			    "vectors=%d (then ethtool -L %s combined 1)", ncpu + 1, 2 * (ncpu + 1) + 2, k->name);
	} else {
		add(ic, "virtio_queues", ST_OK, "%u queue pairs in use + %d possible CPUs <= %u: XDP_TX gets queues of "
		    "its own", ch.combined_count, ncpu, ch.max_combined);
	}
#undef HAS
}

/* Drivers known to have native XDP, for kernels without the netdev family. */
static bool known_native(const char *drv)
{
	return !strcmp(drv, "veth") || !strcmp(drv, "virtio_net");
}

static void check_link(struct snapshot *sn, struct snapshot *fs, const struct lnk *k, const struct ctx *c, int ns_fd,
		       const char *nsname, int *not_ready)
{
	struct iface_check ic = { .n = 0 };
	char drv[64] = "";
	uint64_t feat = 0;
	bool fknown = has_features(c, k->ifindex, &feat);
	int derr = ethtool_driver(c->sock, k->name, drv, sizeof(drv));
	struct finding *f;

	/* support */
	bool native;
	if (fknown) {
		native = feat & NETDEV_XDPF_BASIC;
		if (native) {
			add(&ic, "support", ST_OK, "native XDP (xdp_features from the netdev netlink family)");
		} else {
			f = add(&ic, "support", ST_FAIL, "the driver%s%s has no native XDP (empty xdp_features): only "
				"generic (skb) mode", drv[0] ? " " : "", drv);
			fix(f, "use generic mode knowingly (xdpgeneric: slower, XDP_TX/REDIRECT through the stack), "
			    "or a NIC whose driver has native XDP");
		}
	} else {
		native = !derr && known_native(drv);
		const char *why = c->nxf == -ENOENT ? "the kernel has no netdev netlink family" : "xdp_features unreadable";
		if (native)
			add(&ic, "support", ST_OK, "xdp_features unknown (%s); driver %s is known to have native XDP", why, drv);
		else
			add(&ic, "support", ST_UNKNOWN, "%s; whether driver %s has native XDP is not known to xdpverdict", why,
			    drv[0] ? drv : "(none)");
	}

	/* mode */
	char mode[40] = "";
	size_t ml = 0;
	static const char *const mnames[] = { "native", "generic", "offload" };
	for (int m = 0; m < 3; m++)
		if (k->prog[m])
			ml += snprintf(mode + ml, sizeof(mode) - ml, "%s%s", ml ? "," : "", mnames[m]);
	if (!ml)
		snprintf(mode, sizeof(mode), "none");
	if (!k->prog[0] && !k->prog[1] && !k->prog[2])
		add(&ic, "mode", ST_OK, "no XDP program attached");
	else if (k->prog[1] && native) {
		f = add(&ic, "mode", ST_WARN, "generic (skb) mode (program %u) on a driver with native XDP: slower, and "
			"XDP_TX/REDIRECT go through the stack", k->prog[1]);
		fix(f, "%sip link set dev %s xdpgeneric off; then attach it with xdpdrv", c->nsexec, k->name);
	} else {
		add(&ic, "mode", ST_OK, "%s (program %u)", mode, k->prog[0] ?: k->prog[1] ?: k->prog[2]);
	}

	/* the driver's own rules */
	if (!strcmp(drv, "veth"))
		check_veth(&ic, k, c, ns_fd);
	else if (!strcmp(drv, "virtio_net"))
		check_virtio(&ic, k, c, fknown ? (feat & NETDEV_XDPF_RX_SG) != 0 : false);
	else
		add(&ic, "mtu", ST_UNKNOWN, "the single-buffer XDP MTU limit of driver %s is not known to xdpverdict "
		    "(MTU %u)", drv[0] ? drv : "(none)", k->mtu);

	int fails = 0, warns = 0;
	for (int i = 0; i < ic.n; i++) {
		fails += ic.f[i].st == ST_FAIL;
		warns += ic.f[i].st == ST_WARN;
		struct record *r = snap_add(fs);
		rec_str(r, K_NETNS, nsname[0] ? nsname : "-");
		rec_str(r, K_IFACE, k->name);
		rec_str(r, K_CHECK, ic.f[i].check);
		rec_str(r, K_STATUS, status_names[ic.f[i].st]);
		rec_str(r, K_MESSAGE, ic.f[i].msg);
		if (ic.f[i].fix[0])
			rec_str(r, K_FIX, ic.f[i].fix);
		else
			rec_none(r, K_FIX);
	}
	struct record *r = snap_add(sn);
	rec_str(r, C_NETNS, nsname[0] ? nsname : "-");
	rec_str(r, C_IFACE, k->name);
	rec_u64(r, C_IFINDEX, (uint64_t)k->ifindex);
	if (drv[0])
		rec_str(r, C_DRIVER, drv);
	else
		rec_none(r, C_DRIVER);
	rec_str(r, C_MODE, mode);
	if (fknown) {
		bool any = false;
		for (int b = 0; b < 64; b++)
			if (feat & (1ULL << b)) {
				const char *nm = netdev_xdpf_name(b);
				char tmp[16];
				if (!nm) {
					snprintf(tmp, sizeof(tmp), "bit%d", b);
					nm = tmp;
				}
				rec_list_str(r, C_FEATURES, nm);
				any = true;
			}
		if (!any) { /* known to be none: an empty list */
			r->v[C_FEATURES].t = V_STRLIST;
			r->v[C_FEATURES].n = 0;
		}
	} else {
		rec_none(r, C_FEATURES);
	}
	rec_u64(r, C_READY, fails == 0);
	rec_u64(r, C_FAILURES, (uint64_t)fails);
	rec_u64(r, C_WARNINGS, (uint64_t)warns);
	if (fails)
		*not_ready = 1;
}

int xvcheck_run(const char *iface, const char *netns, bool all_netns)
{
	struct nsset set;
	int not_ready = 0, found = 0;
	bool any_family = false, no_family = false;

	if (netns || all_netns)
		cfields[C_NETNS].flags |= FF_TABLE, kfields[K_NETNS].flags |= FF_TABLE;
	nsset_setup(&set, netns, all_netns);
	struct snapshot *sn = snap_begin(&check_schema);
	struct snapshot *fs = snap_begin(&finding_schema);
	for (int i = 0; i < set.n; i++) {
		struct ctx c = { .nsname = set.v[i].name };
		struct links l;
		struct netdev_xdpf *xf = NULL;

		nsset_enter(&set, i);
		if (set.v[i].name[0] && !strchr(set.v[i].name, ':')) {
			snprintf(c.nsexec, sizeof(c.nsexec), "ip netns exec %s ", set.v[i].name);
		}
		int err = links_read(&l);
		if (err)
			die_errno(err, "CAP_NET_ADMIN", "cannot list interfaces%s%s", set.v[i].name[0] ? " in " : "",
				  set.v[i].name);
		c.links = &l;
		c.nxf = netdev_xdp_features(&xf);
		c.xf = xf;
		any_family |= c.nxf >= 0;
		no_family |= c.nxf == -ENOENT;
		c.sock = ethtool_socket();
		if (c.sock < 0)
			die_errno(c.sock, "CAP_NET_ADMIN", "cannot open a socket");
		for (int k = 0; k < l.n; k++) {
			if (iface && strcmp(iface, l.v[k].name))
				continue;
			found++;
			check_link(sn, fs, &l.v[k], &c, set.v[i].fd, set.v[i].name, &not_ready);
		}
		close(c.sock);
		free(xf);
		free(l.v);
		nsset_leave(&set, i);
	}
	if (iface && !found) {
		snap_free(sn);
		snap_free(fs);
		die(EXIT_NOTFOUND, "no interface '%s'%s%s (list them with: ip link)", iface,
		    netns ? " in network namespace " : "", netns ? netns : "");
	}
	snap_meta(sn, "xdp_features_source", "%s", any_family ? "netdev netlink family"
		  : no_family ? "none: the kernel has no netdev netlink family" : "none: unreadable");
	snap_append(sn, fs);
	int err = snap_end(sn);
	nsset_free(&set);
	if (vmlinux_btf)
		btf__free(vmlinux_btf);
	if (err)
		die_errno(err, NULL, "cannot write output");
	return not_ready ? XVCHECK_EXIT_NOT_READY : EXIT_OK;
}
