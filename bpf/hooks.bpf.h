/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tp_btf/raw_tp twins from one body.
 *
 *   TP_TWIN(wbt_lat, "wbt_lat", struct backing_dev_info *bdi, unsigned long lat)
 *   {
 *           return on_lat(bdi, lat);
 *   }
 *
 * defines SEC("tp_btf/wbt_lat") btf_wbt_lat and SEC("raw_tp/wbt_lat")
 * raw_wbt_lat, both calling the body with `btf` (true in the tp_btf twin), ctx (the
 * tracepoint's u64 argument array) and the typed arguments.  The body
 * reads kernel memory with BPF_CORE_READ, which both verifiers accept.
 * common/hooks.h's HOOK_TP_TWIN lists the pair in a hook table.
 */
#ifndef BPFSCOPE_HOOKS_BPF_H
#define BPFSCOPE_HOOKS_BPF_H

#include <bpf/bpf_tracing.h>

#define TP_TWIN(name, tp, args...)                                                  \
	static __always_inline int name##_twin(bool btf, unsigned long long *ctx, ##args); \
	SEC("tp_btf/" tp)                                                           \
	int btf_##name(unsigned long long *ctx)                                     \
	{                                                                           \
		_Pragma("GCC diagnostic push")                                      \
		_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")              \
		return name##_twin(true, ___bpf_ctx_cast(args));               \
		_Pragma("GCC diagnostic pop")                                       \
	}                                                                           \
	SEC("raw_tp/" tp)                                                           \
	int raw_##name(unsigned long long *ctx)                                     \
	{                                                                           \
		_Pragma("GCC diagnostic push")                                      \
		_Pragma("GCC diagnostic ignored \"-Wint-conversion\"")              \
		return name##_twin(false, ___bpf_ctx_cast(args));              \
		_Pragma("GCC diagnostic pop")                                       \
	}                                                                           \
	static __always_inline int name##_twin(bool btf, unsigned long long *ctx, ##args)

#endif
