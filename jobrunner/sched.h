/* sched: runs a selection of jobs to completion.
 *
 * Expands every selected job into units (one per target), orders them by
 * `needs`, resolves a backend for each unit, and drives up to `parallel`
 * attempts at once from one poll(2) loop over the spawn core's descriptors
 * (pidfds and pipes): no thread per job, no busy waiting. Each attempt is a
 * row of `runs`: inserted `queued` with its log files while every slot is
 * busy, marked `running` (its own commit) just before its process starts,
 * and completed when it ends. What is written between two starts (pids,
 * ended attempts, the next ones prepared) shares one transaction, and an
 * ended attempt is recorded after the next one started, so that little
 * stands between one process and the next. Retries (delay, backoff), timeouts (through the
 * spawn core), per-job overlap locks (`concurrency`), skipped dependents,
 * on_failure/on_success hooks, and SIGINT/SIGTERM/SIGHUP (stop starting,
 * terminate what runs, record it `failed` with error `interrupted`; SIGHUP
 * not when it was ignored at the start, as under nohup) live here.
 *
 * The scheduler makes jobrunner a child subreaper so that orphans escaping a
 * job's process group are still reaped.
 */
#ifndef JR_SCHED_H
#define JR_SCHED_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "jobfile.h"
#include "machine.h"
#include "store.h"
#include "util.h"

/* How progress is shown while jobs run. */
enum jr_progress {
	JR_PROGRESS_NONE, /* silent (cron): the caller prints a summary */
	JR_PROGRESS_TTY,  /* a live line on stderr, rewritten in place */
};

struct jr_sched_opts {
	int parallel; /* >= 1 */
	enum jr_progress progress;
	int argc;     /* jobrunner's own argv, recorded in `invocations` */
	char *const *argv;
};

/* What happened, for the exit status and the summary. */
struct jr_sched_summary {
	int runs; /* rows written (attempts, skipped and unrunnable) */
	int succeeded, failed, timed_out, skipped, unrunnable;
	int units, units_failed; /* (job, target) pairs, and those that did not succeed */
	int jobs, jobs_failed;   /* jobs (all their targets done), those with a unit failed */
	int interrupted;         /* the signal that stopped us (SIGINT/SIGTERM/SIGHUP), or 0 */
	int64_t elapsed_ms;
	int64_t invocation_id; /* the invocations row of this batch, 0 when none was made */
	/* One line per unit that did not succeed (failed, timed out, unrunnable,
	 * or skipped because a need failed), for the cron summary. */
	struct jr_buf failures;
};
void jr_sched_summary_release(struct jr_sched_summary *sum);

/* Selects jobs: every job whose name is in names (n > 0) or that carries tag
 * (non-NULL), else all; then adds, transitively, the jobs they need. out
 * gets the selection in job-set order (caller frees the array, not the
 * jobs). Returns -1 with err naming an unknown job or a tag no job has. */
int jr_sched_select(const struct jr_jobset *set, char *const *names, size_t n, const char *tag,
		    struct jr_job ***out, size_t *nout, struct jr_err *err);

/* Orders the selection so that every job comes after the jobs it needs
 * (stable otherwise). The set is known acyclic (jr_jobset_check). */
void jr_sched_order(struct jr_job **jobs, size_t n);

/* Runs the selection and records everything in st. Returns 0 when the batch
 * ran (see sum for how it went), -1 on an error that stopped it (database,
 * log directory...). Signals SIGINT, SIGTERM and SIGHUP (unless ignored, as
 * under nohup) are handled while it runs. */
int jr_sched_run(const struct jr_config *cfg, const struct jr_machine *host, struct jr_store *st,
		 struct jr_job **jobs, size_t n, const struct jr_sched_opts *opts,
		 struct jr_sched_summary *sum, struct jr_err *err);

#endif
