/* backend_local: runs jobs on this host, for targets this host's facts and
 * tags satisfy. */
#include "backend.h"

#include <stdio.h>
#include <string.h>

#include "banned.h"

static bool local_can_run(const struct jr_backend_ctx *ctx, const struct jr_job *job,
			  const struct jr_target *target, char *reason, size_t reasonlen)
{
	(void)job;
	if (!ctx->host) {
		snprintf(reason, reasonlen, "host facts unknown");
		return false;
	}
	if (!jr_machine_matches(ctx->host, target, reason, reasonlen))
		return false;
	snprintf(reason, reasonlen, "host %s", ctx->host->hostname);
	return true;
}

/* Builds the job's command as jr_backend_job_cmd describes and starts it;
 * the parent's copies of the job's fds are closed once the child has them. */
static struct jr_cmd *local_start(const struct jr_backend_ctx *ctx, const struct jr_attempt *a,
				  const char **machine, struct jr_err *err)
{
	struct jr_backend_fds fds = JR_BACKEND_FDS_INIT;
	struct jr_cmd *cmd;

	if (machine)
		*machine = ctx->host ? ctx->host->hostname : NULL;
	cmd = jr_backend_job_cmd_fds(ctx, a, &fds, err);
	if (!cmd)
		return NULL;
	if (jr_backend_start_cmd(cmd, &fds, err) < 0) {
		jr_cmd_free(cmd);
		return NULL;
	}
	return cmd;
}

const struct jr_backend jr_backend_local = {
	.name = "local",
	.can_run = local_can_run,
	.start = local_start,
};
