// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/utsname.h>
#include <zlib.h>

#include "hz.h"
#include "util.h"

unsigned hz_snap(double measured)
{
	static const unsigned choices[] = { 100, 250, 300, 1000 };

	for (size_t i = 0; i < sizeof(choices) / sizeof(choices[0]); i++)
		if (fabs(measured - choices[i]) <= choices[i] * 0.1)
			return choices[i];
	return 0;
}

static unsigned hz_from_config(void)
{
	struct utsname u;
	char boot[sizeof(u.release) + 16], line[256];
	const char *paths[] = { "/proc/config.gz", boot };

	if (uname(&u))
		return 0;
	snprintf(boot, sizeof(boot), "/boot/config-%s", u.release);
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		gzFile g = gzopen(paths[i], "rb"); /* reads plain files too */
		unsigned v = 0;
		if (!g)
			continue;
		while (gzgets(g, line, sizeof(line)))
			if (!strncmp(line, "CONFIG_HZ=", 10)) {
				v = (unsigned)strtoul(line + 10, NULL, 10);
				break;
			}
		gzclose(g);
		if (v)
			return v;
	}
	return 0;
}

static int timer_list_jiffies(uint64_t *j, double *when)
{
	FILE *f = fopen("/proc/timer_list", "r");
	char line[256];
	int found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "jiffies: %" SCNu64, j) == 1) {
			*when = now_mono();
			found = 0;
			break;
		}
	fclose(f);
	return found;
}

static unsigned hz_measure(void)
{
	struct timespec nap = { 0, 250 * 1000 * 1000 };
	uint64_t j0, j1;
	double t0, t1;

	if (timer_list_jiffies(&j0, &t0))
		return 0;
	while (nanosleep(&nap, &nap) && errno == EINTR)
		; /* a stop asked for during start-up: sleep the rest */
	if (timer_list_jiffies(&j1, &t1) || t1 <= t0)
		return 0;
	return hz_snap((double)(j1 - j0) / (t1 - t0));
}

unsigned kernel_hz(const char **source)
{
	static unsigned hz;
	static const char *src;

	if (!hz) {
		if ((hz = hz_from_config()))
			src = "kernel config";
		else if ((hz = hz_measure()))
			src = "measured";
		if (hz)
			note("kernel HZ %u (%s)", hz, src);
	}
	if (source)
		*source = src;
	return hz;
}
