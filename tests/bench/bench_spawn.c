/* bench_spawn: /bin/true through the spawn core against a bare
 * vfork+execve+waitpid loop, at parallelism 1 and 2, in the same run.
 * Rounds alternate between the two so that load from other processes on the
 * machine hits both alike. BENCH_N (default 2000) spawns per measurement. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"
#include "util.h"

#include "banned.h"

#define PROG "/bin/true"
#define ROUNDS 10

static char *const bare_argv[] = { (char *)PROG, NULL };
static char *const bare_envp[] = { NULL };

static pid_t bare_spawn(void)
{
	pid_t pid = vfork();

	if (pid == 0) {
		execve(PROG, bare_argv, bare_envp);
		_exit(127);
	}
	if (pid < 0) {
		perror("vfork");
		exit(1);
	}
	return pid;
}

static void bare_run(int n, int par)
{
	int running = 0, started = 0, status;

	while (started < n || running > 0) {
		while (running < par && started < n) {
			bare_spawn();
			running++;
			started++;
		}
		if (waitpid(-1, &status, 0) < 0) {
			perror("waitpid");
			exit(1);
		}
		running--;
	}
}

static struct jr_cmd *core_start(void)
{
	struct jr_cmd *cmd = jr_cmd_new(PROG);

	if (jr_cmd_start(cmd) < 0) {
		fprintf(stderr, "start: %s\n", jr_cmd_error(cmd));
		exit(1);
	}
	return cmd;
}

static void core_run(int n, int par)
{
	struct jr_cmd *slots[2] = { NULL, NULL };
	int started = 0, running = 0;

	if (par == 1) {
		for (int i = 0; i < n; i++) {
			struct jr_cmd *cmd = jr_cmd_new(PROG);
			struct jr_cmd_result res;

			if (jr_cmd_run(cmd, &res) < 0 || res.exit_code != 0) {
				fprintf(stderr, "run failed\n");
				exit(1);
			}
			jr_cmd_free(cmd);
		}
		return;
	}
	/* parallelism 2 through the event-loop API */
	while (started < n || running > 0) {
		struct pollfd fds[8];
		int nfds = 0;
		int64_t dl = -1;

		for (int s = 0; s < 2; s++) {
			if (!slots[s] && started < n) {
				slots[s] = core_start();
				started++;
				running++;
			}
		}
		for (int s = 0; s < 2; s++) {
			int64_t d;

			if (!slots[s])
				continue;
			nfds += jr_cmd_pollfds(slots[s], fds + nfds, 4);
			d = jr_cmd_deadline(slots[s]);
			if (d >= 0 && (dl < 0 || d < dl))
				dl = d;
		}
		if (poll(fds, (nfds_t)nfds, dl < 0 ? -1 : (int)(dl > jr_mono_ms() ? dl - jr_mono_ms() : 0)) < 0 &&
		    errno != EINTR) {
			perror("poll");
			exit(1);
		}
		for (int s = 0; s < 2; s++) {
			if (slots[s] && jr_cmd_poll(slots[s]) == 1) {
				if (jr_cmd_result(slots[s])->exit_code != 0) {
					fprintf(stderr, "bad exit\n");
					exit(1);
				}
				jr_cmd_free(slots[s]);
				slots[s] = NULL;
				running--;
			}
		}
	}
}

int main(void)
{
	const char *e = getenv("BENCH_N");
	int n = e ? atoi(e) : 2000;
	int per = n / ROUNDS > 0 ? n / ROUNDS : 1;
	const char *only = getenv("BENCH_ONLY"); /* "bare" or "core", for profiling */
	double t_bare[3] = { 0 }, t_core[3] = { 0 };

	for (int par = 1; par <= 2; par++) {
		for (int r = 0; r < ROUNDS; r++) {
			int64_t t0 = jr_mono_ms();

			if (!only || !strcmp(only, "bare"))
				bare_run(per, par);
			t_bare[par] += (double)(jr_mono_ms() - t0);
			t0 = jr_mono_ms();
			if (!only || !strcmp(only, "core"))
				core_run(per, par);
			t_core[par] += (double)(jr_mono_ms() - t0);
		}
	}
	printf("bench_spawn: %d x %s per measurement\n", per * ROUNDS, PROG);
	for (int par = 1; par <= 2; par++) {
		double rb = per * ROUNDS / (t_bare[par] / 1000.0);
		double rc = per * ROUNDS / (t_core[par] / 1000.0);

		printf("  parallelism %d: bare vfork+execve+waitpid %7.0f/s, spawn core %7.0f/s, ratio %.3f (target >= 0.95)\n",
		       par, rb, rc, rc / rb);
	}
	return 0;
}
