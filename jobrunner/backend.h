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

/* One attempt to start. Paths are absolute; log files do not exist yet and
 * are created by the spawn core (O_EXCL, O_NOFOLLOW, 0600). */
struct jr_attempt {
	const struct jr_job *job;
	const struct jr_target *target;
	const char *run_id;
	int attempt;             /* 1-based */
	const char *stdout_path; /* when job->out.kind == JR_IO_LOG */
	const char *stderr_path; /* when job->err.kind == JR_IO_LOG */
};

struct jr_backend {
	const char *name;
	/* Can this backend run job for target? When not, reason gets why
	 * ("no partition has feature arch=aarch64"). */
	bool (*can_run)(const struct jr_backend_ctx *ctx, const struct jr_job *job,
			const struct jr_target *target, char *reason, size_t reasonlen);
	/* Starts the attempt: returns a started command (the caller polls,
	 * waits and frees it), or NULL with err set (the attempt failed to
	 * start: exec failure, bad file...). The machine it runs on goes to
	 * *machine (static or owned by the backend). */
	struct jr_cmd *(*start)(const struct jr_backend_ctx *ctx, const struct jr_attempt *a,
				const char **machine, struct jr_err *err);
};

/* The backend named name ("local", "none"...), or NULL if unknown. */
const struct jr_backend *jr_backend_find(const char *name);
/* Every known backend name, NULL-terminated (for validation and messages). */
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
 * killing. Other backends wrap or reuse it. Returns NULL with err set. */
struct jr_cmd *jr_backend_job_cmd(const struct jr_backend_ctx *ctx, const struct jr_attempt *a,
				  struct jr_err *err);

#endif
