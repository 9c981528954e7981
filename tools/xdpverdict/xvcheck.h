/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* xdpverdict --check: can each interface run XDP as intended, and if not,
 * why.  Attaches nothing; reads rtnetlink, the netdev genetlink family,
 * ethtool, sysfs and BTF. */
#ifndef XDPVERDICT_XVCHECK_H
#define XDPVERDICT_XVCHECK_H

#include <stdbool.h>

#include "output.h"

/* Exit status of --check when an interface is not ready (a finding with
 * status fail); 0 when every interface checked is. */
#define XVCHECK_EXIT_NOT_READY 8

extern const struct schema check_schema, finding_schema;

/* Check iface (NULL: every interface) in netns (NULL: the tool's own) or,
 * with all_netns, in every namespace.  Writes one snapshot; returns the
 * exit status (0, XVCHECK_EXIT_NOT_READY; 5 when iface is nowhere). */
int xvcheck_run(const char *iface, const char *netns, bool all_netns);

#endif
