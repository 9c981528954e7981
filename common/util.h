/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Shared helpers: exit statuses, fatal errors, allocation, errno names. */
#ifndef BPFSCOPE_UTIL_H
#define BPFSCOPE_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses shared by every tool; documented in each man page. */
enum exit_status {
	EXIT_OK = 0,
	EXIT_FAIL = 1,       /* runtime failure: load, attach, read */
	EXIT_USAGE = 2,      /* bad option or option value */
	EXIT_PERM = 3,       /* not root / missing CAP_BPF, CAP_PERFMON */
	EXIT_NOFEATURE = 4,  /* kernel lacks BTF or a required feature */
	EXIT_NOTFOUND = 5,   /* named object (id, pid, interface, netns) absent */
	EXIT_WARN = 6,       /* a --warn threshold was crossed */
	EXIT_CRIT = 7,       /* a --crit threshold was crossed */
};

#define BPFSCOPE_VERSION "0.1.0"

extern const char *prog_name;

/* Print "prog: message" as one line on stderr and exit with status. */
void die(int status, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
/* One-line warning on stderr, tool continues. */
void warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Printed only under -v. */
void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern bool verbose;

void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
char *xstrdup(const char *s);

/* "ENOENT" for 2; "E123" for unknown values. Accepts negative errno. */
const char *errno_name(int err);

/* Parsers: return 0 on success, -1 on malformed or out of range input. */
int parse_u64(const char *s, uint64_t *out);
int parse_double(const char *s, double lo, double hi, double *out);
int parse_pid(const char *s, int *out);

/* Monotonic and wall-clock seconds. */
double now_mono(void);
double now_wall(void);

/* Exit with EXIT_PERM unless the effective capabilities allow BPF
 * (CAP_SYS_ADMIN, or CAP_BPF and CAP_PERFMON), root included. */
void require_bpf_privileges(void);
/* A skeleton load failed with err (-errno or errno): EPERM/EACCES exit
 * with EXIT_PERM naming the capabilities, anything else EXIT_FAIL. */
void die_bpf_load(int err) __attribute__((noreturn));
/* The one errno-to-exit-status mapping: EPERM and EACCES give EXIT_PERM,
 * anything else EXIT_FAIL.  die_errno prints "WHAT: ENAME", plus "(needs
 * NEED)" for EPERM/EACCES (NULL: CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN),
 * and exits with that status.  err may be negative. */
int exit_status_for(int err);
void die_errno(int err, const char *need, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));

#endif
