/* cli_util: what every subcommand loads (config, job files, machine facts,
 * the store), with errors printed once, here. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#include "banned.h"

#define LOADED_CONFIG (1u << 8)

int jr_cli_bad_usage(const char *command)
{
	jr_cli_usage(stderr, command);
	fprintf(stderr, "see 'jobrunner %s --help'\n", command);
	return JR_EXIT_USAGE;
}

/* Where a "FILE:LINE:COL: message" diagnostic points: the length of FILE
 * and the line and column (0 when the message has no position). */
struct diag_pos {
	const char *msg;
	size_t flen, idx;
	long line, col;
};

static void diag_pos(const char *msg, size_t idx, struct diag_pos *d)
{
	const char *p;

	d->msg = msg;
	d->idx = idx;
	d->flen = strlen(msg);
	d->line = d->col = 0;
	for (p = strchr(msg, ':'); p; p = strchr(p + 1, ':')) {
		char *e1, *e2;
		long l = strtol(p + 1, &e1, 10), c;

		if (e1 == p + 1 || *e1 != ':')
			continue;
		c = strtol(e1 + 1, &e2, 10);
		if (e2 == e1 + 1 || *e2 != ':')
			continue;
		d->flen = (size_t)(p - msg);
		d->line = l;
		d->col = c;
		return;
	}
}

static int diag_cmp(const void *a, const void *b)
{
	const struct diag_pos *x = a, *y = b;
	size_t n = x->flen < y->flen ? x->flen : y->flen;
	int c = memcmp(x->msg, y->msg, n);

	if (c || x->flen != y->flen)
		return c ? c : x->flen < y->flen ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	if (x->col != y->col)
		return x->col < y->col ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Prints diagnostics in file order, then line and column, as a person reads
 * a file; the loader reports them in the order it checks. */
static void print_diags(const struct jr_diags *diags)
{
	struct diag_pos *d = jr_xmalloc((diags->n ? diags->n : 1) * sizeof(*d));
	size_t i;

	for (i = 0; i < diags->n; i++)
		diag_pos(diags->msg[i], i, &d[i]);
	qsort(d, diags->n, sizeof(*d), diag_cmp);
	for (i = 0; i < diags->n; i++)
		fprintf(stderr, "%s\n", d[i].msg);
	free(d);
}

int jr_cli_plain_opts(int argc, char **argv, const char *command, const char *help,
		      bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "h", json ? opts : opts + 1, NULL)) != -1) {
		switch (opt) {
		case 'J':
			*json = true;
			break;
		case 'h':
			jr_cli_usage(stdout, command);
			fputs(help, stdout);
			return JR_EXIT_OK;
		default:
			return jr_cli_bad_usage(command);
		}
	}
	return -1;
}

/* A read command's wait for the database's write lock (jr_store_wait_fn). */
#define READER_WAIT_MS 500

static bool reader_wait(void *arg, int64_t waited_ms)
{
	(void)arg;
	return waited_ms < READER_WAIT_MS;
}

int jr_cli_ctx_load(const struct jr_cli *cli, unsigned need, struct jr_cli_ctx *ctx)
{
	struct jr_err err = JR_ERR_INIT;

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
			print_diags(&diags);
			if (diags.n)
				fprintf(stderr, "jobrunner: %zu error%s in the job files of %s\n",
					diags.errors, diags.errors == 1 ? "" : "s",
					ctx->cfg.jobs_dir);
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
	if (need & (JR_NEED_STORE | JR_NEED_STORE_READ)) {
		enum jr_sync_mode sync = ctx->cfg.sync_full ? JR_SYNC_FULL : JR_SYNC_NORMAL;
		bool reader = !(need & JR_NEED_STORE);
		int nlost = 0, r;

		r = reader ? jr_store_open_read(&ctx->st, ctx->cfg.database, sync, &err)
			   : jr_store_open(&ctx->st, ctx->cfg.database, sync, &err);
		if (r < 0) {
			jr_cli_error("%s", err.msg);
			return JR_EXIT_USAGE;
		}
		ctx->loaded |= JR_NEED_STORE;
		/* Opened read-only, vanished runs stay `running` until a
		 * command that can write the database comes. A command that
		 * reads records them only by the way: it neither waits long
		 * for the database's lock nor fails for want of it. */
		if (reader)
			jr_store_set_wait(ctx->st, reader_wait, NULL);
		if (jr_store_writable(ctx->st) && jr_store_reconcile(ctx->st, &nlost, &err) < 0) {
			if (!reader) {
				jr_cli_error("%s", err.msg);
				return JR_EXIT_USAGE;
			}
			jr_cli_error("runs left running by a jobrunner that disappeared are not "
				     "recorded as lost yet: %s",
				     err.msg);
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
