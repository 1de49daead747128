/* cli_util: what every subcommand loads (config, job files, machine facts,
 * the store), with errors printed once, here. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include "banned.h"

#define LOADED_CONFIG (1u << 8)

int jr_cli_bad_usage(const char *command)
{
	jr_cli_usage(stderr, command);
	fprintf(stderr, "see 'jobrunner %s --help'\n", command);
	return JR_EXIT_USAGE;
}

int jr_cli_ctx_load(const struct jr_cli *cli, unsigned need, struct jr_cli_ctx *ctx)
{
	struct jr_err err = JR_ERR_INIT;
	size_t i;

	memset(ctx, 0, sizeof(*ctx));
	if (jr_config_load(&ctx->cfg, cli->config_path, &err) < 0) {
		jr_cli_error("%s", err.msg);
		return JR_EXIT_USAGE;
	}
	ctx->loaded |= LOADED_CONFIG;
	if (need & JR_NEED_JOBS) {
		struct jr_diags diags;

		memset(&diags, 0, sizeof(diags));
		ctx->loaded |= JR_NEED_JOBS;
		if (jr_jobset_load_dir(&ctx->jobs, ctx->cfg.jobs_dir, &diags) < 0 || diags.n) {
			for (i = 0; i < diags.n; i++)
				fprintf(stderr, "%s\n", diags.msg[i]);
			if (diags.n)
				fprintf(stderr, "jobrunner: %zu error%s in the job files of %s\n",
					diags.n, diags.n == 1 ? "" : "s", ctx->cfg.jobs_dir);
			else
				jr_cli_error("cannot load the job files of %s", ctx->cfg.jobs_dir);
			jr_diags_release(&diags);
			return JR_EXIT_USAGE;
		}
		jr_diags_release(&diags);
	}
	if (need & JR_NEED_HOST) {
		if (jr_machine_detect(&ctx->host, ctx->cfg.local_tags, ctx->cfg.nlocal_tags, &err) < 0) {
			jr_cli_error("machine facts: %s", err.msg);
			return JR_EXIT_USAGE;
		}
		ctx->loaded |= JR_NEED_HOST;
	}
	if (need & JR_NEED_STORE) {
		int nlost = 0;

		if (jr_store_open(&ctx->st, ctx->cfg.database,
				  ctx->cfg.sync_full ? JR_SYNC_FULL : JR_SYNC_NORMAL, &err) < 0) {
			jr_cli_error("%s", err.msg);
			return JR_EXIT_USAGE;
		}
		ctx->loaded |= JR_NEED_STORE;
		if (jr_store_reconcile(ctx->st, &nlost, &err) < 0) {
			jr_cli_error("%s", err.msg);
			return JR_EXIT_USAGE;
		}
		if (nlost > 0)
			fprintf(stderr,
				"jobrunner: %d run%s left running by a jobrunner that disappeared; "
				"recorded as lost\n",
				nlost, nlost == 1 ? "" : "s");
	}
	return JR_EXIT_OK;
}

void jr_cli_ctx_release(struct jr_cli_ctx *ctx)
{
	if (ctx->loaded & JR_NEED_STORE)
		jr_store_close(ctx->st);
	if (ctx->loaded & JR_NEED_HOST)
		jr_machine_release(&ctx->host);
	if (ctx->loaded & JR_NEED_JOBS)
		jr_jobset_release(&ctx->jobs);
	if (ctx->loaded & LOADED_CONFIG)
		jr_config_release(&ctx->cfg);
	memset(ctx, 0, sizeof(*ctx));
}
