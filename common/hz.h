/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The kernel's HZ (jiffies per second), found once for every tool. */
#ifndef BPFSCOPE_HZ_H
#define BPFSCOPE_HZ_H

/* CONFIG_HZ from the kernel's config (/proc/config.gz, then
 * /boot/config-RELEASE); without one, measured by counting the jiffies of
 * /proc/timer_list against the monotonic clock over 250 ms and taking the
 * nearest HZ a kernel can be built with.  *source (may be NULL) gets
 * "kernel config" or "measured", the kernel_hz_source fact.  0 when neither
 * works. */
unsigned kernel_hz(const char **source);
/* The nearest of 100, 250, 300, 1000 within 10%, else 0. */
unsigned hz_snap(double measured);

#endif
