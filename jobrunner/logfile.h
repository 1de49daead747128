/* logfile: the log files of runs (log_dir/JOB/RUN.out and RUN.err) and the
 * tails stored from them.
 *
 * A log file is created with O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode 0600, in
 * a directory the caller has made private, and handed to the job as its
 * stdout or stderr: the job writes straight into it, nothing is copied.
 *
 * A log still empty when its run ends, once every process that had it is
 * gone, is not kept. Its file, still open, goes to a small pool of spares, and the next log created is that file
 * renamed to its new path (renameat2 with RENAME_NOREPLACE, so an existing
 * path is never replaced). Runs that print nothing thus cost no inode
 * allocated and freed each: on ext4 without a journal the allocator scans
 * past every recently freed inode, which made thousands of short runs spend
 * a third of their time creating log files. Spares left when the pool is
 * freed are unlinked.
 */
#ifndef JR_LOGFILE_H
#define JR_LOGFILE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct jr_logpool;

/* A pool keeping at most max_spares empty log files for reuse (0: none). */
struct jr_logpool *jr_logpool_new(size_t max_spares);

/* Closes and unlinks every spare, then frees the pool (NULL is fine). */
void jr_logpool_free(struct jr_logpool *lp);

/* Creates the log file path (which must not exist) and returns a
 * write-only, close-on-exec descriptor to it, or -1 with err set (EEXIST
 * in err->errnum when the path exists). The caller owns the descriptor and
 * ends it with jr_log_finish. */
int jr_log_create(struct jr_logpool *lp, const char *path, struct jr_err *err);

/* Whether the file of a log may outlive its run's processes. */
enum jr_log_reuse {
	JR_LOG_NO_REUSE, /* a process that had it may still be alive (and write) */
	JR_LOG_REUSE,	 /* every process that had it is gone */
};

/* Ends the log fd (from jr_log_create) at path and closes fd. Returns 1
 * when the file stays at path: it holds output, or a process may still
 * write to it (JR_LOG_NO_REUSE). Returns 0 when it was empty and is gone
 * from path: a spare when the pool has room, else unlinked. */
int jr_log_finish(struct jr_logpool *lp, int fd, const char *path, enum jr_log_reuse reuse);

/* The last max bytes of the file at path, NUL-terminated, with NUL bytes
 * inside shown as '?' (NULL when the file is empty or cannot be read). */
char *jr_log_tail(const char *path, size_t max);

#endif
