/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* log2 slot of a value, same definition as common/hist.c. */
#ifndef BPFSCOPE_HIST_BPF_H
#define BPFSCOPE_HIST_BPF_H

#define HIST_SLOTS 64

static __always_inline __u32 hist_log2_slot(__u64 v)
{
	__u32 s = 0;
	if (v >= (1ULL << 32)) { v >>= 32; s += 32; }
	if (v >= (1ULL << 16)) { v >>= 16; s += 16; }
	if (v >= (1ULL << 8)) { v >>= 8; s += 8; }
	if (v >= (1ULL << 4)) { v >>= 4; s += 4; }
	if (v >= (1ULL << 2)) { v >>= 2; s += 2; }
	if (v >= (1ULL << 1)) { s += 1; }
	return v ? s + 1 : 0;
}

#endif
