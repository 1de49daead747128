/* cli_validate: `validate` and `list`, the commands about job files. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "util.h"

#include "banned.h"

int jr_cli_validate(const struct jr_cli *cli, int argc, char **argv)
{
	struct jr_cli_ctx ctx;
	int rc;

	rc = jr_cli_plain_opts(argc, argv, "validate",
			       "\nChecks the configuration and every job file of the jobs directory, and\n"
			       "prints every error found as FILE:LINE:COLUMN: message.\n"
			       "Exit status: 0 when everything is valid, 2 otherwise.\n",
			       NULL);
	if (rc >= 0)
		return rc;
	if (optind < argc)
		return jr_cli_bad_usage("validate");
	rc = jr_cli_ctx_load(cli, JR_NEED_JOBS, &ctx);
	if (rc == JR_EXIT_OK) {
		size_t nfiles = ctx.jobs.nfiles; /* every file read, with jobs or without */

		printf("%zu job%s in %zu file%s of %s: valid\n", ctx.jobs.n,
		       ctx.jobs.n == 1 ? "" : "s", nfiles, nfiles == 1 ? "" : "s",
		       ctx.cfg.jobs_dir);
	}
	jr_cli_ctx_release(&ctx);
	return rc;
}

static void add_list(struct jr_buf *b, const struct jr_strv *v, const char *sep)
{
	size_t i;

	for (i = 0; i < v->n; i++) {
		if (i)
			jr_buf_adds(b, sep);
		jr_buf_adds(b, v->v[i]);
	}
}

static void json_strv(struct jr_buf *b, const struct jr_strv *v)
{
	jr_buf_add_json_strv(b, (const char *const *)v->v, v->n);
}

/* The backends a job would be tried on, in order. */
static void job_backends(const struct jr_job *job, const struct jr_config *cfg, struct jr_strv *out)
{
	if (job->backends.n) {
		*out = job->backends;
	} else {
		out->v = cfg->backends;
		out->n = cfg->nbackends;
	}
}

static const char *rel_path(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	if (!strncmp(path, dir, n) && path[n] == '/')
		return path + n + 1;
	return path;
}

int jr_cli_list(const struct jr_cli *cli, int argc, char **argv)
{
	struct jr_buf b = JR_BUF_INIT, tmp = JR_BUF_INIT;
	struct jr_cli_ctx ctx;
	bool json = false;
	int rc, wname = 4, wsched = 8, wback = 8, wtags = 4, wfile = 4;
	size_t i;

	rc = jr_cli_plain_opts(argc, argv, "list",
			       "\nLists the jobs of the jobs directory: name, schedule, backends in\n"
			       "preference order, tags, the file that defines it, and its description.\n"
			       "  --json   one JSON array of objects instead of a table\n",
			       &json);
	if (rc >= 0)
		return rc;
	if (optind < argc)
		return jr_cli_bad_usage("list");
	rc = jr_cli_ctx_load(cli, JR_NEED_JOBS, &ctx);
	if (rc != JR_EXIT_OK)
		goto out;
	if (json) {
		jr_buf_addch(&b, '[');
		for (i = 0; i < ctx.jobs.n; i++) {
			const struct jr_job *job = ctx.jobs.jobs[i];
			struct jr_strv bk;

			job_backends(job, &ctx.cfg, &bk);
			jr_buf_adds(&b, i ? ",\n {\"name\":" : "\n {\"name\":");
			jr_buf_add_json_str(&b, job->name);
			jr_buf_adds(&b, ",\"description\":");
			{
				char *d = job->description
						  ? jr_job_redact_dup(job, job->description, NULL)
						  : NULL;

				jr_buf_add_json_str(&b, d); /* null when none */
				free(d);
			}
			jr_buf_adds(&b, ",\"schedule\":");
			jr_buf_add_json_str(&b, job->schedule);
			jr_buf_adds(&b, ",\"backends\":");
			json_strv(&b, &bk);
			jr_buf_adds(&b, ",\"tags\":");
			json_strv(&b, &job->tags);
			jr_buf_adds(&b, ",\"needs\":");
			json_strv(&b, &job->needs);
			jr_buf_adds(&b, ",\"source_file\":");
			jr_buf_add_json_str(&b, job->source_file);
			jr_buf_addf(&b, ",\"source_line\":%d,\"hash\":", job->source_line);
			jr_buf_add_json_str(&b, job->hash);
			jr_buf_addch(&b, '}');
		}
		jr_buf_adds(&b, ctx.jobs.n ? "\n]\n" : "]\n");
		fwrite(b.buf, 1, b.len, stdout);
		goto out;
	}
	for (i = 0; i < ctx.jobs.n; i++) {
		const struct jr_job *job = ctx.jobs.jobs[i];
		struct jr_strv bk;
		int l;

		job_backends(job, &ctx.cfg, &bk);
		if ((l = (int)strlen(job->name)) > wname)
			wname = l;
		if (job->schedule && (l = (int)strlen(job->schedule)) > wsched)
			wsched = l;
		jr_buf_reset(&tmp);
		add_list(&tmp, &bk, ",");
		if ((l = (int)tmp.len) > wback)
			wback = l;
		jr_buf_reset(&tmp);
		add_list(&tmp, &job->tags, ",");
		if ((l = (int)tmp.len) > wtags)
			wtags = l;
		jr_buf_reset(&tmp);
		jr_buf_addf(&tmp, "%s:%d", rel_path(job->source_file, ctx.cfg.jobs_dir),
			    job->source_line);
		if ((l = (int)tmp.len) > wfile)
			wfile = l;
	}
	printf("%-*s  %-*s  %-*s  %-*s  %-*s  %s\n", wname, "NAME", wsched, "SCHEDULE", wback,
	       "BACKENDS", wtags, "TAGS", wfile, "FILE", "DESCRIPTION");
	for (i = 0; i < ctx.jobs.n; i++) {
		const struct jr_job *job = ctx.jobs.jobs[i];
		struct jr_strv bk;
		char file[1024];

		job_backends(job, &ctx.cfg, &bk);
		jr_buf_reset(&tmp);
		add_list(&tmp, &bk, ",");
		printf("%-*s  %-*s  %-*s  ", wname, job->name, wsched,
		       job->schedule ? job->schedule : "-", wback, tmp.buf);
		jr_buf_reset(&tmp);
		add_list(&tmp, &job->tags, ",");
		snprintf(file, sizeof(file), "%s:%d", rel_path(job->source_file, ctx.cfg.jobs_dir),
			 job->source_line);
		{
			/* As show prints the definition: secret values hidden. */
			char *d = jr_job_redact_dup(job, job->description ? job->description : "",
						    NULL);

			printf("%-*s  %-*s  %s\n", wtags, tmp.len ? tmp.buf : "-", wfile, file, d);
			free(d);
		}
	}
out:
	jr_buf_release(&b);
	jr_buf_release(&tmp);
	jr_cli_ctx_release(&ctx);
	return rc;
}
