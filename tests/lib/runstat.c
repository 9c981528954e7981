// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Bench helper: run a command (stdout and stderr to /dev/null) and print its wall time
 * in ms ("runstat ms CMD...") or its peak RSS in KiB ("runstat rss CMD..."),
 * measured from wait4()'s rusage of that child alone. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec a, b;
	struct rusage ru;
	int status;

	if (argc < 3 || (strcmp(argv[1], "ms") && strcmp(argv[1], "rss"))) {
		fprintf(stderr, "usage: runstat ms|rss CMD [ARGS...]\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid_t pid = fork();
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[2], argv + 2);
		_exit(127);
	}
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0) {
		perror("runstat");
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (!strcmp(argv[1], "ms"))
		printf("%.2f\n", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
	else
		printf("%ld\n", ru.ru_maxrss);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
