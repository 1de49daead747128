/* bare_loop: the baseline for jobrunner's benchmarks. Spawns PROGRAM N times
 * with a bare vfork + execve + waitpid loop, keeping up to P children at
 * once, and prints the elapsed seconds. No bookkeeping, no database, no
 * descriptor hygiene: the fastest a process can be run on this machine.
 * usage: bare_loop N P PROGRAM */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	char *const envp[] = { NULL };
	int n, p, started = 0, running = 0;
	double t0;

	if (argc != 4 || (n = atoi(argv[1])) <= 0 || (p = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: bare_loop N P PROGRAM\n");
		return 2;
	}
	t0 = now();
	while (started < n || running > 0) {
		while (started < n && running < p) {
			char *const av[] = { argv[3], NULL };
			pid_t pid = vfork();

			if (pid == 0) {
				execve(argv[3], av, envp);
				_exit(127);
			}
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
	printf("%.6f\n", now() - t0);
	return 0;
}
