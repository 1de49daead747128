/* backend: the registry of backends, resolving (job, target) to one, and the
 * command every local-style backend runs (see backend.h). */
#include "backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "banned.h"

static const struct jr_backend *const backends[] = { &jr_backend_local, &jr_backend_none };
static const char *const backend_names[] = { "local", "none", NULL };

const struct jr_backend *jr_backend_find(const char *name)
{
	size_t i;

	for (i = 0; i < JR_ARRAY_SIZE(backends); i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

const char *const *jr_backend_names(void)
{
	return backend_names;
}

const struct jr_backend *jr_backend_resolve(const struct jr_backend_ctx *ctx,
					    const struct jr_job *job,
					    const struct jr_target *target,
					    struct jr_buf *decision)
{
	static const char *const fallback[] = { "local", NULL };
	const char *const *names;
	const struct jr_backend *b;
	char reason[512];
	size_t i, n;

	if (job->backends.n > 0) {
		names = (const char *const *)job->backends.v;
		n = job->backends.n;
	} else if (ctx->cfg && ctx->cfg->nbackends > 0) {
		names = (const char *const *)ctx->cfg->backends;
		n = ctx->cfg->nbackends;
	} else {
		names = fallback;
		n = 1;
	}
	for (i = 0; i < n; i++) {
		if (decision && i > 0)
			jr_buf_adds(decision, "; ");
		b = jr_backend_find(names[i]);
		if (!b) {
			if (decision)
				jr_buf_addf(decision, "%s: %s", names[i],
					    /* named by the format, not built here:
					     * declined, never an error */
					    jr_backend_name_known(names[i]) ? "not available in this build"
									    : "unknown backend");
			continue;
		}
		reason[0] = '\0';
		if (b->can_run(ctx, job, target, reason, sizeof(reason))) {
			if (decision) {
				if (reason[0])
					jr_buf_addf(decision, "%s: chosen (%s)", b->name, reason);
				else
					jr_buf_addf(decision, "%s: chosen", b->name);
			}
			return b;
		}
		if (decision)
			jr_buf_addf(decision, "%s: %s", b->name,
				    reason[0] ? reason : "cannot run it");
	}
	return NULL;
}

void jr_backend_fds_close(struct jr_backend_fds *fds)
{
	size_t i;

	if (!fds)
		return;
	for (i = 0; i < fds->n; i++)
		if (fds->v[i] >= 0)
			close(fds->v[i]);
	free(fds->v);
	fds->v = NULL;
	fds->n = 0;
}

/* Opens one declared descriptor in the parent. User-declared paths may be
 * symlinks (the user chose them; jobrunner's own files are the ones that
 * must not follow links); O_NONBLOCK keeps a FIFO from hanging the
 * scheduler, and is cleared again so the child sees a normal descriptor. */
static int open_fd_spec(const struct jr_fd_spec *s, struct jr_err *err)
{
	int flags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK, fd, fl;

	switch (s->mode) {
	case JR_FD_READ:
		flags |= O_RDONLY;
		break;
	case JR_FD_WRITE:
		flags |= O_WRONLY | O_CREAT | O_TRUNC;
		break;
	case JR_FD_APPEND:
		flags |= O_WRONLY | O_CREAT | O_APPEND;
		break;
	case JR_FD_READWRITE:
		flags |= O_RDWR | O_CREAT;
		break;
	default:
		return jr_err_set(err, "fd %d: bad mode %d", s->fd, (int)s->mode);
	}
	fd = open(s->path, flags, 0600);
	if (fd < 0)
		return jr_err_sys(err, errno, "fd %d: %s", s->fd, s->path);
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0)
		fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return fd;
}

static const int rlimit_of[JR_LIMIT_COUNT] = {
	[JR_LIMIT_NOFILE] = RLIMIT_NOFILE, [JR_LIMIT_NPROC] = RLIMIT_NPROC,
	[JR_LIMIT_CPU] = RLIMIT_CPU,       [JR_LIMIT_AS] = RLIMIT_AS,
	[JR_LIMIT_FSIZE] = RLIMIT_FSIZE,   [JR_LIMIT_CORE] = RLIMIT_CORE,
};

static bool kv_has(const struct jr_kv *kv, size_t n, const char *key)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(kv[i].key, key) == 0)
			return true;
	return false;
}

static int set_output(struct jr_cmd *cmd, const struct jr_io *io, int log_fd, bool err_side,
		      struct jr_err *err)
{
	const char *what = err_side ? "stderr" : "stdout";

	switch (io->kind) {
	case JR_IO_LOG:
		if (log_fd < 0)
			return jr_err_set(err, "%s: no log file for this attempt", what);
		if (err_side)
			jr_cmd_set_error_fd(cmd, log_fd);
		else
			jr_cmd_set_output_fd(cmd, log_fd);
		return 0;
	case JR_IO_NULL:
		return 0; /* the spawn core's default */
	case JR_IO_INHERIT:
		if (err_side)
			jr_cmd_set_error_fd(cmd, 2);
		else
			jr_cmd_set_output_fd(cmd, 1);
		return 0;
	case JR_IO_FILE:
		if (!io->path)
			return jr_err_set(err, "%s: file without a path", what);
		/* The user chose the path: a symlink there is followed, as
		 * for fds (open_fd_spec). */
		if (err_side)
			jr_cmd_set_error_file(cmd, io->path,
					      (io->append ? JR_FILE_APPEND : JR_FILE_TRUNCATE) |
						      JR_FILE_FOLLOW);
		else
			jr_cmd_set_output_file(cmd, io->path,
					       (io->append ? JR_FILE_APPEND : JR_FILE_TRUNCATE) |
						       JR_FILE_FOLLOW);
		return 0;
	case JR_IO_STDOUT:
		if (!err_side)
			break;
		jr_cmd_merge_stderr(cmd);
		return 0;
	case JR_IO_DATA:
		break;
	}
	return jr_err_set(err, "%s: unsupported destination %d", what, (int)io->kind);
}

static int set_input(struct jr_cmd *cmd, const struct jr_io *io, struct jr_err *err)
{
	switch (io->kind) {
	case JR_IO_LOG: /* not an input kind: a zeroed jr_io means the default */
	case JR_IO_NULL:
		return 0;
	case JR_IO_INHERIT:
		jr_cmd_set_input_fd(cmd, 0);
		return 0;
	case JR_IO_FILE:
		if (!io->path)
			return jr_err_set(err, "stdin: file without a path");
		jr_cmd_set_input_file(cmd, io->path);
		return 0;
	case JR_IO_DATA:
		jr_cmd_set_input_buffer(cmd, io->data ? io->data : "", io->data ? io->data_len : 0);
		return 0;
	case JR_IO_STDOUT:
		break;
	}
	return jr_err_set(err, "stdin: unsupported source %d", (int)io->kind);
}

struct jr_cmd *jr_backend_job_cmd_fds(const struct jr_backend_ctx *ctx, const struct jr_attempt *a,
				      struct jr_backend_fds *fds, struct jr_err *err)
{
	const struct jr_job *job = a->job;
	struct jr_cmd *cmd = NULL;
	const char *cwd;
	size_t i;
	int fd, k;

	if (job->command.n > 0) {
		cmd = jr_cmd_new_argv((const char *const *)job->command.v);
	} else if (job->shell) {
		cmd = jr_cmd_new("/bin/sh");
		jr_cmd_add_arg(cmd, "-c");
		jr_cmd_add_arg(cmd, job->shell);
	} else {
		jr_err_set(err, "job %s: neither command nor shell", job->name ? job->name : "?");
		return NULL;
	}

	cwd = job->cwd ? job->cwd : (ctx && ctx->cfg ? ctx->cfg->jobs_dir : NULL);
	if (cwd)
		jr_cmd_set_cwd(cmd, cwd);
	jr_cmd_set_umask(cmd, job->umask);
	/* A group alone changes only the group (the spawn core's rule). */
	if (job->user || job->group)
		jr_cmd_set_user(cmd, job->user, job->group);

	if (job->env_inherit_all) {
		jr_cmd_env_inherit_all(cmd);
		/* The hooks' variables are not the job's (a hook that runs
		 * jobrunner would pass them on to its jobs). */
		jr_cmd_env_unset(cmd, "JOBRUNNER_STATUS");
		jr_cmd_env_unset(cmd, "JOBRUNNER_EXIT_CODE");
	} else if (job->env_inherit_default) {
		jr_cmd_env_pass_common(cmd);
	} else {
		for (i = 0; i < job->env_inherit.n; i++)
			jr_cmd_env_pass(cmd, job->env_inherit.v[i]);
	}
	for (i = 0; i < job->nenv_set; i++)
		jr_cmd_env_pair(cmd, job->env_set[i].key, job->env_set[i].value);
	/* A secret set in the job file is already there; otherwise its value
	 * comes from jobrunner's own environment (where cron or the user put
	 * it), and is simply absent when unset there. */
	for (i = 0; i < job->env_secret.n; i++)
		if (!kv_has(job->env_set, job->nenv_set, job->env_secret.v[i]))
			jr_cmd_env_pass(cmd, job->env_secret.v[i]);
	/* Who and which attempt this is, for the job's own logs and retries
	 * (set last: the job file cannot override them). */
	jr_cmd_env_pair(cmd, "JOBRUNNER_JOB", job->name);
	if (a->run_id)
		jr_cmd_env_pair(cmd, "JOBRUNNER_RUN_ID", a->run_id);
	{
		char n[16];

		snprintf(n, sizeof(n), "%d", a->attempt > 0 ? a->attempt : 1);
		jr_cmd_env_pair(cmd, "JOBRUNNER_ATTEMPT", n);
	}

	if (set_input(cmd, &job->in, err) < 0 ||
	    set_output(cmd, &job->out, a->stdout_fd, false, err) < 0 ||
	    set_output(cmd, &job->err, a->stderr_fd, true, err) < 0)
		goto fail;

	for (k = 0; k < JR_LIMIT_COUNT; k++) {
		rlim_t v;

		if (!job->limit_set[k])
			continue;
		v = job->limit[k] == JR_LIMIT_UNLIMITED ? RLIM_INFINITY : (rlim_t)job->limit[k];
		jr_cmd_set_rlimit(cmd, rlimit_of[k], v, v);
	}
	jr_cmd_set_timeout(cmd, job->timeout_ms, job->kill_grace_ms);
	jr_cmd_set_kill_leftovers(cmd, true);

	if (job->nfds > 0) {
		if (!fds) {
			jr_err_set(err, "job %s declares fds: use jr_backend_job_cmd_fds",
				   job->name ? job->name : "?");
			goto fail;
		}
		fds->v = jr_xcalloc(job->nfds, sizeof(*fds->v));
		fds->n = 0;
		for (i = 0; i < job->nfds; i++) {
			if (job->fds[i].fd < 3) {
				jr_err_set(err, "fd %d: must be 3 or more", job->fds[i].fd);
				goto fail;
			}
			fd = open_fd_spec(&job->fds[i], err);
			if (fd < 0)
				goto fail;
			fds->v[fds->n++] = fd;
			jr_cmd_preserve_fd(cmd, fd, job->fds[i].fd);
		}
	}
	return cmd;
fail:
	jr_backend_fds_close(fds);
	jr_cmd_free(cmd);
	return NULL;
}

struct jr_cmd *jr_backend_job_cmd(const struct jr_backend_ctx *ctx, const struct jr_attempt *a,
				  struct jr_err *err)
{
	return jr_backend_job_cmd_fds(ctx, a, NULL, err);
}

int jr_backend_start_cmd(struct jr_cmd *cmd, struct jr_backend_fds *fds, struct jr_err *err)
{
	int rc = 0;

	if (jr_cmd_start(cmd) < 0) {
		jr_err_set(err, "%s", jr_cmd_error(cmd) ? jr_cmd_error(cmd) : "cannot start");
		if (err)
			err->errnum = jr_cmd_errno(cmd);
		rc = -1;
	}
	jr_backend_fds_close(fds);
	return rc;
}
