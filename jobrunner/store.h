/* store: the SQLite history (schemas/store.sql).
 *
 * One connection per process, opened after any fork the caller makes and
 * never used across one. WAL, busy_timeout, foreign keys; synchronous NORMAL
 * by default (a committed run survives any crash of jobrunner or of the job),
 * FULL on request (power loss). Every write transaction is BEGIN IMMEDIATE.
 * Migrations by PRAGMA user_version run in one transaction at open.
 */
#ifndef JR_STORE_H
#define JR_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

enum jr_run_status {
	JR_RUN_QUEUED,
	JR_RUN_RUNNING,
	JR_RUN_SUCCEEDED,
	JR_RUN_FAILED,
	JR_RUN_TIMED_OUT,
	JR_RUN_SKIPPED,
	JR_RUN_UNRUNNABLE,
	JR_RUN_LOST,
};
const char *jr_run_status_name(enum jr_run_status s); /* "succeeded"... */
int jr_run_status_parse(const char *name, enum jr_run_status *out);

enum jr_sync_mode { JR_SYNC_NORMAL, JR_SYNC_FULL };

#define JR_RUN_ID_LEN 20 /* hex characters of a run id */

/* One attempt: a row of `runs`. Strings are owned by whoever fills the
 * struct; the store copies what it needs. */
struct jr_run {
	char id[JR_RUN_ID_LEN + 1]; /* filled by jr_store_run_insert */
	int64_t invocation_id;
	const char *job, *job_hash;
	const char *target;   /* JSON of the target requirement set, "{}" for any */
	const char *machine;  /* hostname (or slurm node) it ran on, NULL if none */
	const char *backend;  /* NULL when unrunnable */
	const char *decision; /* why this backend: each candidate and why it declined */
	int attempt;          /* 1-based */
	enum jr_run_status status;
	int exit_code; /* -1: none */
	int signal;    /* 0: none */
	pid_t pid;     /* the job's main process, 0 before start */
	int64_t started_ms, finished_ms, duration_ms;
	int64_t user_ms, sys_ms, max_rss_kb;
	int leftovers;
	const char *stdout_path, *stderr_path; /* NULL when not logged */
	const char *stdout_tail, *stderr_tail; /* last 4 KiB */
	const char *error;                     /* human reason for failed/skipped/unrunnable/lost */
};

struct jr_store;

/* Opens (creating the file and its directory, mode 0700, if needed) and
 * migrates. */
int jr_store_open(struct jr_store **out, const char *path, enum jr_sync_mode sync,
		  struct jr_err *err);
void jr_store_close(struct jr_store *st);

/* Marks `running`/`queued` runs of invocations whose process is gone (pid and
 * process start time from /proc, never pid alone) as `lost`; *nlost gets how
 * many (may be NULL). Also closes such invocations. */
int jr_store_reconcile(struct jr_store *st, int *nlost, struct jr_err *err);

/* An invocation: one jobrunner command that runs jobs. Records argv, host,
 * pid and this process's start time (for reconcile). */
int jr_store_invocation_begin(struct jr_store *st, int argc, char *const *argv,
			      int64_t *id_out, struct jr_err *err);
int jr_store_invocation_end(struct jr_store *st, int64_t id, int exit_status,
			    struct jr_err *err);

/* Records a job definition if this (name, hash) is new. */
int jr_store_job_seen(struct jr_store *st, const char *name, const char *hash,
		      const char *source_file, const char *canonical_json, struct jr_err *err);

/* Inserts a run with run->status as given (running before its process
 * starts; skipped or unrunnable directly), filling run->id. */
int jr_store_run_insert(struct jr_store *st, struct jr_run *run, struct jr_err *err);
/* Records the pid of a run just started. */
int jr_store_run_set_pid(struct jr_store *st, const char *id, pid_t pid, struct jr_err *err);
/* Writes the final state of a run (status, exit, times, usage, tails, error). */
int jr_store_run_finish(struct jr_store *st, const struct jr_run *run, struct jr_err *err);
/* Records a signal jobrunner sent to a run (reason: "timeout", "interrupt",
 * "leftover"...). */
int jr_store_run_signal(struct jr_store *st, const char *run_id, int sig, int64_t at_ms,
			const char *reason, struct jr_err *err);

/* A fresh time-ordered run id: 12 hex digits of ms since the epoch, then 8
 * hex digits making it unique within this process. */
void jr_run_id_new(char out[JR_RUN_ID_LEN + 1]);

#endif
