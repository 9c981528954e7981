// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

const char *prog_name = "bpfscope";
bool verbose;

static void vline(const char *prefix, const char *fmt, va_list ap)
{
	char buf[1024];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	/* one line, always: fold embedded newlines */
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	fflush(stdout);
	fprintf(stderr, "%s: %s%s\n", prog_name, prefix, buf);
}

void die(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline("", fmt, ap);
	va_end(ap);
	exit(status);
}

void warnx_(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline("warning: ", fmt, ap);
	va_end(ap);
}

void note(const char *fmt, ...)
{
	va_list ap;
	if (!verbose)
		return;
	va_start(ap, fmt);
	vline("note: ", fmt, ap);
	va_end(ap);
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		die(EXIT_FAIL, "out of memory");
	return p;
}

void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p)
		die(EXIT_FAIL, "out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		die(EXIT_FAIL, "out of memory");
	return p;
}

static const char *const errnames[] = {
	[EPERM] = "EPERM", [ENOENT] = "ENOENT", [ESRCH] = "ESRCH",
	[EINTR] = "EINTR", [EIO] = "EIO", [ENXIO] = "ENXIO",
	[E2BIG] = "E2BIG", [ENOEXEC] = "ENOEXEC", [EBADF] = "EBADF",
	[ECHILD] = "ECHILD", [EAGAIN] = "EAGAIN", [ENOMEM] = "ENOMEM",
	[EACCES] = "EACCES", [EFAULT] = "EFAULT", [EBUSY] = "EBUSY",
	[EEXIST] = "EEXIST", [EXDEV] = "EXDEV", [ENODEV] = "ENODEV",
	[ENOTDIR] = "ENOTDIR", [EISDIR] = "EISDIR", [EINVAL] = "EINVAL",
	[ENFILE] = "ENFILE", [EMFILE] = "EMFILE", [ENOSPC] = "ENOSPC",
	[ESPIPE] = "ESPIPE", [EROFS] = "EROFS", [EPIPE] = "EPIPE",
	[EDOM] = "EDOM", [ERANGE] = "ERANGE", [EDEADLK] = "EDEADLK",
	[ENAMETOOLONG] = "ENAMETOOLONG", [ENOSYS] = "ENOSYS",
	[ENOTEMPTY] = "ENOTEMPTY", [ELOOP] = "ELOOP", [ENOMSG] = "ENOMSG",
	[ENODATA] = "ENODATA", [ETIME] = "ETIME", [ENOLINK] = "ENOLINK",
	[EPROTO] = "EPROTO", [EBADMSG] = "EBADMSG", [EOVERFLOW] = "EOVERFLOW",
	[ENOTSOCK] = "ENOTSOCK", [EMSGSIZE] = "EMSGSIZE",
	[EPROTONOSUPPORT] = "EPROTONOSUPPORT", [EOPNOTSUPP] = "EOPNOTSUPP",
	[EAFNOSUPPORT] = "EAFNOSUPPORT", [EADDRINUSE] = "EADDRINUSE",
	[EADDRNOTAVAIL] = "EADDRNOTAVAIL", [ENETDOWN] = "ENETDOWN",
	[ENETUNREACH] = "ENETUNREACH", [ENOBUFS] = "ENOBUFS",
	[EISCONN] = "EISCONN", [ENOTCONN] = "ENOTCONN",
	[ETIMEDOUT] = "ETIMEDOUT", [ECONNREFUSED] = "ECONNREFUSED",
	[EHOSTUNREACH] = "EHOSTUNREACH", [EALREADY] = "EALREADY",
	[EINPROGRESS] = "EINPROGRESS", [ECANCELED] = "ECANCELED",
};

const char *errno_name(int err)
{
	static __thread char buf[16];
	if (err < 0)
		err = -err;
	if (err == 524)
		return "ENOTSUPP"; /* kernel-internal, leaks out of BPF */
	if ((size_t)err < sizeof(errnames) / sizeof(errnames[0]) && errnames[err])
		return errnames[err];
	snprintf(buf, sizeof(buf), "E%d", err);
	return buf;
}

int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int parse_double(const char *s, double lo, double hi, double *out)
{
	char *end;
	if (!s || !*s)
		return -1;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int parse_pid(const char *s, int *out)
{
	uint64_t v;
	if (parse_u64(s, &v) || v < 1 || v > 4194304)
		return -1;
	*out = (int)v;
	return 0;
}

double now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double now_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void require_bpf_privileges(void)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	uint64_t eff;

	/* the effective capabilities decide, for root too: root under
	 * capsh --drop=all (or a hardened service) has none */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capget, &hdr, data) == 0) {
		eff = data[0].effective | ((uint64_t)data[1].effective << 32);
		if (eff & (1ULL << CAP_SYS_ADMIN))
			return;
		/* CAP_PERFMON = 38, CAP_BPF = 39 */
		if ((eff & (1ULL << 38)) && (eff & (1ULL << 39)))
			return;
	} else if (geteuid() == 0) {
		return; /* cannot tell: let the kernel decide */
	}
	die(EXIT_PERM, "needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN): run as root%s",
	    geteuid() == 0 ? " with its capabilities" : ", e.g. with sudo");
}

void die_bpf_load(int err)
{
	if (err < 0)
		err = -err;
	if (err == EPERM || err == EACCES)
		die(EXIT_PERM, "cannot load BPF programs: %s (needs CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN; "
			       "run with -v for the verifier log)", errno_name(err));
	die(EXIT_FAIL, "cannot load BPF programs: %s (run with -v for the verifier log)", errno_name(err));
}

int exit_status_for(int err)
{
	if (err < 0)
		err = -err;
	return err == EPERM || err == EACCES ? EXIT_PERM : EXIT_FAIL;
}

void die_errno(int err, const char *need, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	if (err < 0)
		err = -err;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (exit_status_for(err) == EXIT_PERM)
		die(EXIT_PERM, "%s: %s (needs %s)", what, errno_name(err),
		    need ? need : "CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN");
	die(EXIT_FAIL, "%s: %s", what, errno_name(err));
}
