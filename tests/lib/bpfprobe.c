// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Test helper: exit 0 if the kernel has FEATURE, 1 if not, 2 if unknown.
 * Uses the same probes as the tools (common/probe.c). */
#include <stdio.h>
#include <string.h>

#include "probe.h"
#include "util.h"

int main(int argc, char **argv)
{
	bool ok;
	const char *f = argc > 1 ? argv[1] : "";

	prog_name = "bpfprobe";
	if (!strcmp(f, "fentry"))
		ok = probe_fentry();
	else if (!strcmp(f, "kprobe"))
		ok = probe_kprobe();
	else if (!strcmp(f, "ringbuf"))
		ok = probe_ringbuf();
	else if (!strcmp(f, "memcg"))
		ok = probe_memcg_accounting();
	else if (!strncmp(f, "kfunc:", 6))
		ok = probe_btf_func(f + 6);
	else if (!strncmp(f, "iter:", 5))
		ok = probe_iter(f + 5);
	else if (!strncmp(f, "tp_btf:", 7))
		ok = probe_tp_btf(f + 7);
	else if (!strncmp(f, "raw_tp:", 7))
		ok = probe_raw_tp(f + 7);
	else if (!strncmp(f, "struct:", 7))
		ok = probe_btf_struct(f + 7);
	else {
		fprintf(stderr, "usage: bpfprobe fentry|kprobe|ringbuf|memcg|kfunc:NAME|iter:TARGET|"
				"tp_btf:TP|raw_tp:TP|struct:NAME\n");
		return 2;
	}
	/* name probes say where they found the name: "yes (module veth)" */
	if (ok && probe_btf_module())
		printf("yes (module %s)\n", probe_btf_module());
	else
		printf("%s\n", ok ? "yes" : "no");
	return ok ? 0 : 1;
}
