// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bpfids map|prog|link: the ids of every object of that kind, one per line,
 * from BPF_*_GET_NEXT_ID alone.  Unlike `bpftool map show`, it opens nothing:
 * opening a prog array by id at the wrong moment leaks it
 * (tests/lib/progarray_leak.c), so leak tests watch ids with this.
 * bpfids maps: "ID TYPE NAME" of every map, from the map iterator
 * (common/maplist), also without opening any.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpfobj.h"
#include "maplist.h"
#include "util.h"

int main(int argc, char **argv)
{
	enum bpf_obj_kind kind;
	uint32_t *ids = NULL;

	if (argc != 2)
		goto usage;
	if (!strcmp(argv[1], "maps")) {
		struct maplist ml;
		int err = maplist_read(&ml);
		if (err) {
			fprintf(stderr, "bpfids: map iterator: %s\n", errno_name(-err));
			return 1;
		}
		for (int i = 0; i < ml.n; i++)
			printf("%u %s %s\n", ml.v[i].id, map_type_name(ml.v[i].type), ml.v[i].name[0] ? ml.v[i].name : "-");
		maplist_free(&ml);
		return 0;
	}
	if (!strcmp(argv[1], "map"))
		kind = OBJ_MAP;
	else if (!strcmp(argv[1], "prog"))
		kind = OBJ_PROG;
	else if (!strcmp(argv[1], "link"))
		kind = OBJ_LINK;
	else
		goto usage;
	int n = bpfobj_ids(kind, &ids);
	if (n < 0) {
		fprintf(stderr, "bpfids: %s\n", errno_name(-n));
		return 1;
	}
	for (int i = 0; i < n; i++)
		printf("%u\n", ids[i]);
	free(ids);
	return 0;
usage:
	fprintf(stderr, "usage: bpfids map|prog|link|maps\n");
	return 2;
}
