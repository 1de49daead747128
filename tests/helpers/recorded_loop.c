/* recorded_loop: the second baseline of jobrunner's run benchmark. The bare
 * vfork + execve + waitpid loop of bare_loop.c, plus the least that issue 4's
 * durability rule asks of any runner: every run recorded in jobrunner's own
 * database (its schema, through the store module) with a `running` row
 * committed before the process starts and completed when it ends. As in the
 * scheduler, one transaction per step holds the ends of the runs that
 * finished and the rows of the runs about to start. Nothing else: no logs,
 * locks, sessions, pidfds, leftover checks or descriptor hygiene. Prints the
 * elapsed seconds.
 * usage: recorded_loop N P PROGRAM DATABASE */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "loop.h"
#include "store.h"
#include "util.h"

#include "banned.h"

struct slot {
	struct jr_run run;
	char name[16];
	pid_t pid;
	int status; /* wait status once ended */
	int state;  /* 0 free, 1 running, 2 ended (to record) */
};

static void die(const char *what, const struct jr_err *err)
{
	fprintf(stderr, "recorded_loop: %s: %s\n", what, err->msg);
	exit(1);
}

static void record_start(struct jr_store *st, struct jr_run *run, const char *job, int64_t inv)
{
	struct jr_err err = JR_ERR_INIT;

	memset(run, 0, sizeof(*run));
	run->invocation_id = inv;
	run->job = job;
	run->target = "{}";
	run->backend = "local";
	run->attempt = 1;
	run->status = JR_RUN_RUNNING;
	run->exit_code = -1;
	run->started_ms = jr_now_ms();
	if (jr_store_run_insert(st, run, &err) < 0)
		die("insert", &err);
}

static void record_end(struct jr_store *st, struct jr_run *run, int status)
{
	struct jr_err err = JR_ERR_INIT;

	run->status = WIFEXITED(status) && WEXITSTATUS(status) == 0 ? JR_RUN_SUCCEEDED
								   : JR_RUN_FAILED;
	run->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
	run->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
	run->finished_ms = jr_now_ms();
	run->duration_ms = run->finished_ms - run->started_ms;
	if (jr_store_run_finish(st, run, &err) < 0)
		die("finish", &err);
}

int main(int argc, char **argv)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_store *st = NULL;
	struct slot *slots;
	int n, p, next = 0, i, status;
	int64_t inv;
	pid_t pid;
	double t0;

	if (argc != 5 || (n = atoi(argv[1])) <= 0 || (p = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: recorded_loop N P PROGRAM DATABASE\n");
		return 2;
	}
	slots = jr_xcalloc((size_t)p, sizeof(*slots));
	if (jr_store_open(&st, argv[4], JR_SYNC_NORMAL, &err) < 0)
		die(argv[4], &err);
	if (jr_store_checkpoint_in_background(st, &err) < 0 ||
	    jr_store_invocation_begin(st, argc, argv, &inv, &err) < 0)
		die("start", &err);
	t0 = loop_now();
	for (;;) {
		int active = 0;

		if (jr_store_batch_begin(st, &err) < 0)
			die("begin", &err);
		for (i = 0; i < p; i++) {
			struct slot *s = &slots[i];

			if (s->state == 2) {
				record_end(st, &s->run, s->status);
				s->state = 0;
			}
			if (s->state == 0 && next < n) {
				snprintf(s->name, sizeof(s->name), "j%05d", next++);
				record_start(st, &s->run, s->name, inv);
				s->state = 1;
				s->pid = 0;
			}
		}
		if (jr_store_batch_commit(st, &err) < 0)
			die("commit", &err);
		for (i = 0; i < p; i++) {
			struct slot *s = &slots[i];

			if (s->state == 1 && s->pid == 0 && (s->pid = loop_spawn(argv[3])) < 0) {
				perror("vfork");
				return 1;
			}
			active += s->state != 0;
		}
		if (!active)
			break;
		/* Wait for one end; the next step records it. */
		pid = waitpid(-1, &status, 0);
		for (i = 0; pid > 0 && i < p; i++)
			if (slots[i].state == 1 && slots[i].pid == pid) {
				slots[i].status = status;
				slots[i].state = 2;
			}
	}
	printf("%.6f\n", loop_now() - t0);
	if (jr_store_invocation_end(st, inv, 0, &err) < 0)
		die("end", &err);
	jr_store_close(st);
	free(slots);
	return 0;
}
