/* backend_none: never runs anything. A job whose preference order is
 * [none] is effectively disabled, and tests get a backend that declines. */
#include "backend.h"

#include <stdio.h>

#include "banned.h"

static bool none_can_run(const struct jr_backend_ctx *ctx, const struct jr_job *job,
			 const struct jr_target *target, char *reason, size_t reasonlen)
{
	(void)ctx;
	(void)job;
	(void)target;
	snprintf(reason, reasonlen, "never runs jobs");
	return false;
}

static struct jr_cmd *none_start(const struct jr_backend_ctx *ctx, const struct jr_attempt *a,
				 const char **machine, struct jr_err *err)
{
	(void)ctx;
	(void)a;
	if (machine)
		*machine = NULL;
	jr_err_set(err, "none: never runs jobs");
	return NULL;
}

const struct jr_backend jr_backend_none = {
	.name = "none",
	.can_run = none_can_run,
	.start = none_start,
};
