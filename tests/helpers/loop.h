/* loop.h: the two pieces the run benchmark's baselines (bare_loop.c,
 * recorded_loop.c) share, so that they spawn exactly alike. */
#ifndef JR_TESTS_LOOP_H
#define JR_TESTS_LOOP_H

#include <time.h>
#include <unistd.h>

static inline double loop_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* vfork in a function of its own: the caller's locals are not live across
 * it, so nothing can be clobbered. The child gets an empty environment. */
static inline pid_t loop_spawn(char *prog)
{
	char *const envp[] = { NULL };
	char *const av[] = { prog, NULL };
	pid_t pid = vfork();

	if (pid == 0) {
		execve(prog, av, envp);
		_exit(127);
	}
	return pid;
}

#endif
