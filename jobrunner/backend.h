/* backend: where a (job, target) runs. One vtable per backend; the scheduler
 * resolves, for each (job, target), the first backend in the job's
 * preference order (else jobrunner.ini's) whose can_run says yes, and asks it
 * to start an attempt, which yields a started struct jr_cmd that the
 * scheduler's event loop drives to completion (spawn.h). Backends never
 * guess: can_run decides from facts and says why not.
 *
 * No module below sched includes sched.h; backends know jobs, machines,
 * config and the spawn core.
 */
#ifndef JR_BACKEND_H
#define JR_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "err.h"
#include "jobfile.h"
#include "machine.h"
#include "spawn.h"
#include "util.h"

struct jr_backend_ctx {
	const struct jr_config *cfg;
	const struct jr_machine *host;
};

/* One attempt to start. Its log files are created by the scheduler
 * (logfile.h) and given as descriptors, which the backend installs as the
 * job's stdout and stderr and does not close. */
struct jr_attempt {
	const struct jr_job *job;
	const struct jr_target *target;
	const char *run_id;
	int attempt;   /* 1-based */
	int stdout_fd; /* when job->out.kind == JR_IO_LOG, else -1 */
	int stderr_fd; /* when job->err.kind == JR_IO_LOG, else -1 */
};

struct jr_backend {
	const char *name;
	/* Can this backend run job for target? When not, reason gets why
	 * ("no partition has feature arch=aarch64"). When it can, reason may
	 * get a note for the decision ("host h1"), else "". */
	bool (*can_run)(const struct jr_backend_ctx *ctx, const struct jr_job *job,
			const struct jr_target *target, char *reason, size_t reasonlen);
	/* Starts the attempt: returns a started command (the caller polls,
	 * waits and frees it), or NULL with err set (the attempt failed to
	 * start: exec failure, bad file...). The machine it runs on goes to
	 * *machine (static or owned by the backend). */
	struct jr_cmd *(*start)(const struct jr_backend_ctx *ctx, const struct jr_attempt *a,
				const char **machine, struct jr_err *err);
};

/* The implemented backends' vtables (backend_local.c, backend_none.c). */
extern const struct jr_backend jr_backend_local;
extern const struct jr_backend jr_backend_none;

/* The backend named name ("local", "none"...), or NULL if unknown. */
const struct jr_backend *jr_backend_find(const char *name);
/* Every implemented backend name, NULL-terminated (for validation and
 * messages). Names the job format knows but this build does not implement
 * (container, slurm) are not listed; resolve declines them with "NAME: not
 * available in this build". */
const char *const *jr_backend_names(void);

/* Resolves (job, target): the first backend in the preference order that can
 * run it, or NULL when none can. decision gets a one-line account
 * ("local: chosen (host h1)" or "container: no image; local: distro=fedora
 * (this host has debian); none: never runs jobs"). */
const struct jr_backend *jr_backend_resolve(const struct jr_backend_ctx *ctx,
					    const struct jr_job *job,
					    const struct jr_target *target,
					    struct jr_buf *decision);

/* Builds (does not start) the command that runs the job as the local backend
 * would: argv or /bin/sh -c, cwd, umask, user, env (inherit, set, secret),
 * stdin/stdout/stderr, fds, limits, timeout and kill grace, leftover
 * killing. Other backends wrap or reuse it. Returns NULL with err set.
 * A job that declares fds needs descriptors the caller must close after the
 * start: use jr_backend_job_cmd_fds for those; this one refuses them. */
struct jr_cmd *jr_backend_job_cmd(const struct jr_backend_ctx *ctx, const struct jr_attempt *a,
				  struct jr_err *err);

/* The parent's copies of the descriptors opened for a job's fds: (read,
 * write, append or read-write, O_CLOEXEC, created 0600). The spawn core
 * dups them into the child at start and leaves ownership to the caller. */
struct jr_backend_fds {
	int *v;
	size_t n;
};
#define JR_BACKEND_FDS_INIT { NULL, 0 }

/* Like jr_backend_job_cmd, for any job: opens job->fds into *fds (which must
 * be empty), preserved at their numbers. On failure returns NULL with err set
 * and *fds empty. Otherwise the caller starts the command, typically with
 * jr_backend_start_cmd, and closes *fds with jr_backend_fds_close once it
 * started (or was freed without starting). */
struct jr_cmd *jr_backend_job_cmd_fds(const struct jr_backend_ctx *ctx, const struct jr_attempt *a,
				      struct jr_backend_fds *fds, struct jr_err *err);
/* Closes and forgets every descriptor in fds; reusable afterwards. */
void jr_backend_fds_close(struct jr_backend_fds *fds);
/* Starts cmd (jr_cmd_start) then closes fds (the child has its copies),
 * success or not. Returns 0, or -1 with err set from jr_cmd_error; cmd is
 * still the caller's to free either way. */
int jr_backend_start_cmd(struct jr_cmd *cmd, struct jr_backend_fds *fds, struct jr_err *err);

#endif
