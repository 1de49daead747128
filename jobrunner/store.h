/* store: the SQLite history (schemas/store.sql).
 *
 * One connection per process, opened after any fork the caller makes and
 * never used across one. WAL, busy_timeout, foreign keys; synchronous NORMAL
 * by default (a committed run survives any crash of jobrunner or of the job),
 * FULL on request (power loss). Every write transaction is BEGIN IMMEDIATE.
 * Migrations by PRAGMA user_version run in one transaction at open.
 *
 * Every function taking a struct jr_store fails (with an error saying so)
 * when called in a process other than the one that opened it.
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
	int attempt;	      /* 1-based */
	enum jr_run_status status;
	int exit_code; /* -1: none */
	int signal;    /* 0: none */
	pid_t pid;     /* the job's main process, 0 before start */
	int64_t started_ms, finished_ms, duration_ms;
	int64_t user_ms, sys_ms, max_rss_kb;
	int leftovers;
	const char *stdout_path, *stderr_path; /* NULL when not logged */
	const char *stdout_tail, *stderr_tail; /* last 4 KiB */
	const char *error;		       /* human reason for failed/skipped/unrunnable/lost */
};

struct jr_store;

/* Opens (creating the file and its directory, mode 0700, if needed) and
 * migrates. The file itself is created 0600. Refuses, before changing
 * anything, a path that is not a regular file (a symbolic link to one is
 * fine), another application's database (user_version 0 and tables) and a
 * database whose schema is newer than this build's. *out is NULL on
 * failure. */
int jr_store_open(struct jr_store **out, const char *path, enum jr_sync_mode sync,
		  struct jr_err *err);
/* Opens for a command that only reads the history (history, show, logs):
 * never creates it or its directory: a database that does not exist (or
 * an empty file it may not write) reads as a history without runs. One
 * that can be written (an empty file too, which becomes a database)
 * is opened as jr_store_open opens it (WAL, migrated; the caller may
 * reconcile); one that cannot (no write access to it, or to its directory
 * while it is not in use) is opened read-only: not switched to WAL, not
 * migrated (an older schema is then an error saying write access is
 * needed), and no file created beside it. jr_store_writable tells which.
 * Refuses what jr_store_open refuses. */
int jr_store_open_read(struct jr_store **out, const char *path, enum jr_sync_mode sync,
		       struct jr_err *err);
/* Whether st can record anything: false when jr_store_open_read opened it
 * read-only or found no database. Writes to such a store fail. */
bool jr_store_writable(const struct jr_store *st);
/* Closes st (NULL is fine). In a forked child it only frees memory and
 * leaves the parent's connection alone. */
void jr_store_close(struct jr_store *st);

/* Marks `running`/`queued` runs of invocations whose process is gone (pid and
 * process start time from /proc, never pid alone) as `lost`; *nlost gets how
 * many (may be NULL). Also closes such invocations. Gone means: recorded in
 * another boot of this host, or no process with that pid and start time.
 * An invocation recorded on another host in another boot, or in another
 * pid namespace of this boot, is left alone (it cannot be checked).
 * Reads only the unfinished rows (the partial index invocations_running,
 * the 'running' range of runs_status): constant time in the number of
 * finished runs. */
int jr_store_reconcile(struct jr_store *st, int *nlost, struct jr_err *err);

/* Whether invocation id is recorded running but its process is gone (as
 * reconcile judges), without writing anything: 1 gone, 0 not (or not
 * ours to judge), -1 on error. For a reader that cannot reconcile. */
int jr_store_invocation_gone(struct jr_store *st, int64_t id, struct jr_err *err);

/* An invocation: one jobrunner command that runs jobs. Records argv, host,
 * pid and this process's start time (for reconcile). */
int jr_store_invocation_begin(struct jr_store *st, int argc, char *const *argv, int64_t *id_out,
			      struct jr_err *err);
/* Ends it, with jobrunner's exit status; in the same transaction, any of
 * its runs still unfinished (their end could not be recorded) become lost:
 * no run stays running under an invocation that ended. */
int jr_store_invocation_end(struct jr_store *st, int64_t id, int exit_status, struct jr_err *err);

/* Records a job definition if this (name, hash) is new. */
int jr_store_job_seen(struct jr_store *st, const char *name, const char *hash,
		      const char *source_file, const char *canonical_json, struct jr_err *err);

/* Inserts a run with run->status as given (running before its process
 * starts; skipped or unrunnable directly). When run->id is "" a fresh id is
 * made and filled in (left "" on failure); when the caller set one (from
 * jr_run_id_new, to name log files after it) it is used as is, and a
 * collision fails with err->errnum EEXIST so the caller can pick another. A run inserted in a final status with finished_ms 0 gets the
 * current time. invocation_id 0 means none; any other must exist. */
int jr_store_run_insert(struct jr_store *st, struct jr_run *run, struct jr_err *err);
/* Batches: between begin and commit, the writes above (insert, finish,
 * signals, pid, job_seen...) share one write transaction, so that recording
 * several runs costs one commit; the transaction begins with the batch's
 * first write, so a batch that writes nothing costs nothing. Nothing
 * written in a batch is visible to other processes, or durable, before the
 * commit: a run's `running` row must be committed before its process
 * starts. A failed write inside a batch leaves the others in place; abort
 * rolls the whole batch back (after a failure, before reporting it). */
/* Moves checkpoints (copying the WAL into the database, syncing both) out
 * of the commits of this connection, to a thread with its own connection,
 * started when the first one is due: a long writer (the scheduler) then
 * never stalls on the disk between one job's end and the next one's start.
 * Undone by jr_store_close. */
int jr_store_checkpoint_in_background(struct jr_store *st, struct jr_err *err);
/* The connection's PRAGMA synchronous: 1 NORMAL, 2 FULL (-1 on error); for
 * tests that the configured durability is the one in force. */
int jr_store_sync_level(struct jr_store *st);

/* While a write waits for a lock another process holds on the database
 * (an open sqlite3 transaction, another jobrunner's step), fn(arg,
 * waited_ms) is called every few milliseconds: it may do anything but use
 * the store, and returns whether to go on waiting. Without one (NULL), a
 * write waits up to 10 s, then fails saying how long it waited. */
typedef bool (*jr_store_wait_fn)(void *arg, int64_t waited_ms);
void jr_store_set_wait(struct jr_store *st, jr_store_wait_fn fn, void *arg);

int jr_store_batch_begin(struct jr_store *st, struct jr_err *err);
int jr_store_batch_commit(struct jr_store *st, struct jr_err *err);
void jr_store_batch_abort(struct jr_store *st);
/* Whether the current batch has written anything (its transaction is open). */
bool jr_store_batch_written(const struct jr_store *st);

/* Records the pid of a run just started. */
int jr_store_run_set_pid(struct jr_store *st, const char *id, pid_t pid, struct jr_err *err);
/* Writes the final state of a run (status, exit, times, usage, tails, error).
 * machine, backend, pid, started_ms and the log paths are kept from before
 * when given as NULL / 0; finished_ms 0 means now. Fails if no run has
 * run->id. */
int jr_store_run_finish(struct jr_store *st, const struct jr_run *run, struct jr_err *err);
/* Records a signal jobrunner sent to a run (reason: "timeout", "interrupt",
 * "leftover"...). */
int jr_store_run_signal(struct jr_store *st, const char *run_id, int sig, int64_t at_ms,
			const char *reason, struct jr_err *err);

/* A fresh time-ordered run id: 12 hex digits of ms since the epoch, then 8
 * hex digits making it unique within this process. */
void jr_run_id_new(char out[JR_RUN_ID_LEN + 1]);

/* ---- Queries for the CLI (history, show, logs) and the scheduler ---- */

struct jr_buf;

/* A row of `runs` read back, every string owned by the row (NULL where the
 * column is NULL). Integers follow struct jr_run: exit_code -1 and signal 0
 * when none; other integers 0 when unknown. */
struct jr_run_row {
	char *id;
	int64_t invocation_id; /* 0 when none */
	char *job, *job_hash, *target, *machine, *backend, *decision;
	int attempt;
	enum jr_run_status status;
	int exit_code;
	int signal;
	int64_t pid;
	int64_t started_ms, finished_ms, duration_ms;
	int64_t user_ms, sys_ms, max_rss_kb;
	bool has_duration; /* duration_ms was recorded (the run ended; not when lost) */
	bool has_usage;	   /* user/sys CPU, max RSS and leftovers were recorded */
	int leftovers;
	char *stdout_path, *stderr_path, *stdout_tail, *stderr_tail, *error;
	char *invocation_argv;		   /* the invocation's argv as a JSON array, or NULL */
	bool target_is_json, argv_is_json; /* set by the store: valid JSON text */
};
/* Frees what the row owns and zeroes it (reusable). */
void jr_run_row_release(struct jr_run_row *row);
/* Releases n rows and frees the array (rows may be NULL). */
void jr_run_rows_free(struct jr_run_row *rows, size_t n);

/* A row of `run_signals`. */
struct jr_run_signal_row {
	int sig;
	int64_t at_ms;
	char *reason; /* owned */
};
void jr_run_signal_rows_free(struct jr_run_signal_row *rows, size_t n);

/* Runs newest first, optionally only of one job and/or one status (a name
 * as jr_run_status_name gives; an unknown one is an error), at most limit
 * of them (limit <= 0: all). Uses the runs_job / runs_status indexes, never
 * a scan of runs. On success *rows_out is a malloc'd array of *n_out rows
 * (NULL when none) for jr_run_rows_free; on failure both are zeroed. */
int jr_store_history(struct jr_store *st, const char *job, const char *status, int limit,
		     struct jr_run_row **rows_out, size_t *n_out, struct jr_err *err);

#define JR_RUN_LOOKUP_MAX_CANDS 10

/* Finds the run whose id starts with prefix (hex digits, either case; 1 to
 * JR_RUN_ID_LEN of them; anything else is an error naming it). Returns
 * 0 with *row_out filled (release it) when exactly one run matches;
 * 1 when none does; 2 when several do, with up to max_cands of their ids,
 * oldest first, in cands and their count in *ncands_out (cands may be NULL
 * when max_cands is 0; when more than max_cands match, only the first
 * max_cands are given); -1 on error. row_out is zeroed unless 0 is returned;
 * *ncands_out is 0 unless 2 is returned. A range scan of the primary key. */
/* Reads the run with exactly this id into *row (release it): 0, 1 when
 * there is none, -1 on error. One lookup of the primary key. */
int jr_store_run_get(struct jr_store *st, const char *id, struct jr_run_row *row,
		     struct jr_err *err);
int jr_store_run_lookup(struct jr_store *st, const char *prefix, struct jr_run_row *row_out,
			char (*cands)[JR_RUN_ID_LEN + 1], size_t max_cands, size_t *ncands_out,
			struct jr_err *err);

/* The signals recorded for run_id, oldest first: *rows_out is a malloc'd
 * array of *n_out (NULL when none), for jr_run_signal_rows_free. */
int jr_store_run_signals_list(struct jr_store *st, const char *run_id,
			      struct jr_run_signal_row **rows_out, size_t *n_out,
			      struct jr_err *err);

/* The definition of job name with hash as recorded by jr_store_job_seen:
 * returns 0 with *canonical_json_out and *source_file_out (either pointer
 * may be NULL if not wanted; source may come back NULL) malloc'd for the
 * caller, 1 when there is no such definition, -1 on error. */
int jr_store_job_definition(struct jr_store *st, const char *name, const char *hash,
			    char **canonical_json_out, char **source_file_out, struct jr_err *err);

/* Appends the row as one JSON object (keys as the columns of runs, plus
 * "invocation_argv"; target and invocation_argv embedded as JSON values
 * when they are valid JSON, else as strings; unknown values null). */
void jr_run_row_to_json(const struct jr_run_row *row, struct jr_buf *out);
/* Appends a JSON array of {"signal": N, "name": "TERM", "at_ms": N,
 * "reason": "..."} objects. */
void jr_run_signals_to_json(const struct jr_run_signal_row *rows, size_t n, struct jr_buf *out);

/* `jobrunner tick`: the last tick handled for job. Returns 0 with
 * *last_tick_ms set, 1 when job has none yet, -1 on error. */
int jr_store_schedule_get(struct jr_store *st, const char *job, int64_t *last_tick_ms,
			  struct jr_err *err);
/* Takes job's tick tick_ms for this tick, as one statement: only if its
 * last tick is still last_tick_ms (had: the job had one; else only if it
 * has none). Returns 1 when taken, 0 when another tick took it first (the
 * caller must not run the job for it), -1 on error. */
int jr_store_schedule_claim(struct jr_store *st, const char *job, bool had, int64_t last_tick_ms,
			    int64_t tick_ms, struct jr_err *err);
/* Records as job's last_run_id its first run made by invocation_id (NULL
 * when it made none), in one statement, and only while job's last tick is
 * still tick_ms: a later tick that marked the job meanwhile keeps its own. */
int jr_store_schedule_set_run(struct jr_store *st, const char *job, int64_t tick_ms,
			      int64_t invocation_id, struct jr_err *err);

/* Appends the EXPLAIN QUERY PLAN lines (one per line) of one of the store's
 * queries to out: "history", "history_job", "history_status",
 * "history_job_status", "lookup", "run_get", "reconcile_invocations",
 * "reconcile_runs", "run_finish", "signals". For tests and benchmarks that
 * check that indexes are used. */
int jr_store_explain(struct jr_store *st, const char *query, struct jr_buf *out,
		     struct jr_err *err);

/* The schema version this build writes (PRAGMA user_version after open). */
int jr_store_schema_version(void);

#endif
