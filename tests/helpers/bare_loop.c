/* bare_loop: the baseline for jobrunner's benchmarks. Spawns PROGRAM N times
 * with a bare vfork + execve + waitpid loop, keeping up to P children at
 * once, and prints the elapsed seconds. No bookkeeping, no database, no
 * descriptor hygiene: the fastest a process can be run on this machine.
 * usage: bare_loop N P PROGRAM */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"

int main(int argc, char **argv)
{
	int n, p, started = 0, running = 0;
	double t0;

	if (argc != 4 || (n = atoi(argv[1])) <= 0 || (p = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: bare_loop N P PROGRAM\n");
		return 2;
	}
	t0 = loop_now();
	while (started < n || running > 0) {
		while (started < n && running < p) {
			pid_t pid = loop_spawn(argv[3]);

			if (pid < 0) {
				perror("vfork");
				return 1;
			}
			started++;
			running++;
		}
		if (waitpid(-1, NULL, 0) > 0)
			running--;
	}
	printf("%.6f\n", loop_now() - t0);
	return 0;
}
