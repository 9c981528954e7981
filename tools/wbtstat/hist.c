// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <inttypes.h>
#include <string.h>

#include "hist.h"

unsigned hist_log2_slot(uint64_t v)
{
	unsigned s = 0;
	while (v) {
		s++;
		v >>= 1;
	}
	return s;
}

uint64_t hist_slot_low(unsigned slot)
{
	return slot == 0 ? 0 : 1ULL << (slot - 1);
}

uint64_t hist_slot_high(unsigned slot)
{
	if (slot == 0)
		return 0;
	if (slot >= 64)
		return UINT64_MAX;
	return (1ULL << slot) - 1;
}

void hist_print(FILE *f, const uint64_t *slots, unsigned nslots, const char *unit)
{
	unsigned first = nslots, last = 0;
	uint64_t max = 0;
	for (unsigned i = 0; i < nslots; i++) {
		if (!slots[i])
			continue;
		if (first == nslots)
			first = i;
		last = i;
		if (slots[i] > max)
			max = slots[i];
	}
	if (first == nslots)
		return;
	fprintf(f, "%24s : %-10s %s\n", unit, "count", "distribution");
	for (unsigned i = first; i <= last; i++) {
		char bar[41];
		unsigned n = max ? (unsigned)(slots[i] * 40 / max) : 0;
		memset(bar, '*', n);
		memset(bar + n, ' ', 40 - n);
		bar[40] = '\0';
		fprintf(f, "%10" PRIu64 " -> %-10" PRIu64 " : %-10" PRIu64 " |%s|\n",
			hist_slot_low(i), hist_slot_high(i), slots[i], bar);
	}
}

uint64_t hist_quantile(const uint64_t *slots, unsigned nslots, double q)
{
	uint64_t total = 0, acc = 0;
	for (unsigned i = 0; i < nslots; i++)
		total += slots[i];
	if (!total)
		return 0;
	for (unsigned i = 0; i < nslots; i++) {
		acc += slots[i];
		if ((double)acc >= q * (double)total)
			return hist_slot_high(i);
	}
	return hist_slot_high(nslots - 1);
}
