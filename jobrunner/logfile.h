/* logfile: the log files of runs and the tails stored from them.
 *
 * While a run goes, each of its logs is a file in a private directory of
 * files in use (log_dir/.running/), which the job writes straight into:
 * nothing is copied. When the run ends, a log that holds output moves
 * (rename, never over an existing file) to its place, log_dir/JOB/RUN.out or
 * .err. A log still empty, once every process that had it is gone, is not
 * kept: its file, still open, serves the next run. Runs that print nothing
 * thus touch no directory at all; creating and deleting a file per run cost
 * more than the run itself for short jobs (on ext4 without a journal, the
 * allocator even scans past every recently freed inode).
 *
 * Every file is created with O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode 0600, in
 * directories the caller made private. The row of a running run names the
 * file in use, so `logs --follow` finds it; a run whose jobrunner died
 * keeps its output there. So does the row of a run whose end could not be
 * recorded (the commit failed) though its log had moved: readers look for
 * the log at its place, named by jr_log_kept_path (cli_history.c:
 * moved_log). A reader of a file in use trusts what it read only while the
 * run is still going, or, once it ended, if the file is its kept log
 * (cli_history.c: logs_live).
 */
#ifndef JR_LOGFILE_H
#define JR_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The directory of the files in use, in log_dir. */
#define JR_LOG_RUNNING_DIR ".running"

/* Which of a run's streams a log holds. */
enum jr_log_stream {
	JR_LOG_STDOUT, /* RUN.out */
	JR_LOG_STDERR, /* RUN.err */
};

struct jr_logpool;

/* A pool creating its files in dir (which must exist and be private),
 * keeping at most max_spares empty ones for reuse. */
struct jr_logpool *jr_logpool_new(const char *dir, size_t max_spares);

/* Closes and unlinks every spare, then frees the pool (NULL is fine). */
void jr_logpool_free(struct jr_logpool *lp);

/* A log for a run: an empty file in the pool's directory, a spare when
 * there is one. Returns a write-only, close-on-exec descriptor to it and
 * sets *path (the caller's, to free) to where it is; -1 with err set when
 * it cannot be created. End it with jr_log_end. */
int jr_log_open(struct jr_logpool *lp, char **path, struct jr_err *err);

/* Whether the file of a log may outlive its run's processes. */
enum jr_log_reuse {
	JR_LOG_NO_REUSE, /* a process that had it may still be alive (and write) */
	JR_LOG_REUSE,	 /* every process that had it is gone */
};

/* Ends the log fd at path (from jr_log_open) and closes fd. Returns 1 when
 * the file is to be kept: it holds output, or some process may still write
 * to it (JR_LOG_NO_REUSE, kept even empty); move it with jr_log_move.
 * Returns 0 for an empty log: its file is a spare, or unlinked when the
 * pool is full, and *path is freed and set to NULL. */
int jr_log_end(struct jr_logpool *lp, int fd, char **path, enum jr_log_reuse reuse);

/* Where a run's kept log goes: log_dir/JOB/RUN.out or .err (the caller's,
 * to free). The one place that name is made, for the scheduler that moves
 * a log there and for the readers that look for it. */
char *jr_log_kept_path(const char *log_dir, const char *job, const char *run_id,
		       enum jr_log_stream stream);

/* Moves the kept log at *path to dest, never over an existing file: 0 and
 * *path becomes dest, or -1 (errno set) and the file stays where it is. */
int jr_log_move(char **path, const char *dest);

/* The last max bytes of the file at path, NUL-terminated, with NUL bytes
 * inside shown as '?' (NULL when the file is empty or cannot be read). */
char *jr_log_tail(const char *path, size_t max);

/* As jr_log_tail, of what the file holds past its first from bytes (all of
 * it when it is shorter: it was truncated or replaced since). *cut (may be
 * NULL) tells whether the text starts past from, some of it left out: its
 * first bytes may be the end of something longer. follow: a symlink as
 * the last component is followed (a file the job's definition names; a
 * log of jobrunner's own never is). */
char *jr_log_tail_from(const char *path, int64_t from, size_t max, bool follow, bool *cut);

#endif
