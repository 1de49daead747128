/* cli_run: `run`, `plan` and `tick`. */
#include "cli.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "cron.h"
#include "sched.h"
#include "spawn.h"
#include "util.h"

#include "banned.h"

struct sel_opts {
	const char *tag;
	int parallel; /* 0: from the configuration */
	bool dry_run, json;
};

/* -j N: 1 to JR_PARALLEL_MAX jobs at once. */
static int parse_parallel(const char *arg, int *out)
{
	int64_t v;

	if (jr_parse_i64(arg, 1, JR_PARALLEL_MAX, &v) < 0) {
		jr_cli_error("-j: expected a number of jobs from 1 to %d, got '%s'", JR_PARALLEL_MAX,
			     arg);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int parse_sel(const char *command, int argc, char **argv, struct sel_opts *o)
{
	/* Each command its own options, so that getopt names a wrong one. */
	static const struct option run_opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "jobs", required_argument, NULL, 'j' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const struct option plan_opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool is_run = !strcmp(command, "run");
	int opt;

	memset(o, 0, sizeof(*o));
	while ((opt = getopt_long(argc, argv, is_run ? "t:j:nh" : "t:h", is_run ? run_opts : plan_opts,
				  NULL)) != -1) {
		switch (opt) {
		case 't':
			o->tag = optarg;
			break;
		case 'j':
			if (parse_parallel(optarg, &o->parallel) < 0)
				return JR_EXIT_USAGE;
			break;
		case 'n':
			o->dry_run = true;
			break;
		case 'J':
			o->json = true;
			break;
		case 'h':
			jr_cli_usage(stdout, command);
			if (is_run)
				printf("\nRuns the named jobs, or those tagged TAG, or every job, with the jobs\n"
				       "they need; records every attempt in the database.\n"
				       "  -t, --tag TAG   the jobs carrying TAG (with names: those of them that do)\n"
				       "  -j, --jobs N    run up to N jobs at once (default: parallel in jobrunner.ini)\n"
				       "  -n, --dry-run   only show the plan (as 'jobrunner plan')\n"
				       "On a terminal a progress line is shown; otherwise (cron) nothing is printed\n"
				       "unless something failed.\n"
				       "Exit status: 0 every job succeeded, 1 a job failed, timed out or could not\n"
				       "run, 2 usage or configuration error, 129/130/143 interrupted\n"
				       "(SIGHUP/SIGINT/SIGTERM).\n");
			else
				printf("\nShows, without running anything, which backend and machine each job\n"
				       "(and each of its targets) would get, and why the backends before it in\n"
				       "the preference order declined.\n"
				       "  -t, --tag TAG   the jobs carrying TAG\n"
				       "  --json          JSON instead of a table\n"
				       "Exit status: 0 every job can run, 1 some job could run nowhere, 2 usage error.\n");
			return JR_EXIT_OK;
		default:
			return jr_cli_bad_usage(command);
		}
	}
	return -1;
}

/* The named jobs (or those tagged tag, or all) and what they need, ordered
 * by needs; prints why not and returns the exit status. */
static int select_jobs(struct jr_cli_ctx *ctx, char *const *names, size_t nnames, const char *tag,
		       struct jr_job ***jobs, size_t *n)
{
	struct jr_err err = JR_ERR_INIT;

	if (jr_sched_select(&ctx->jobs, names, nnames, tag, jobs, n, &err) < 0) {
		jr_cli_error("%s", err.msg);
		return JR_EXIT_USAGE;
	}
	jr_sched_order(*jobs, *n);
	return JR_EXIT_OK;
}

static int do_plan(struct jr_cli_ctx *ctx, struct jr_job **jobs, size_t n, bool json)
{
	struct jr_backend_ctx bctx = { &ctx->cfg, &ctx->host };
	struct jr_buf b = JR_BUF_INIT, dec = JR_BUF_INIT;
	int wname = 3, wtarget = 6, l, rc = JR_EXIT_OK, first = 1;
	size_t i, j;

	for (i = 0; i < n; i++) {
		if ((l = (int)strlen(jobs[i]->name)) > wname)
			wname = l;
		for (j = 0; j < jobs[i]->ntargets; j++) {
			char *t = jr_job_redact_json(jobs[i],
						       jr_target_json(&jobs[i]->targets[j]));

			if ((l = (int)strlen(t)) > wtarget)
				wtarget = l;
			free(t);
		}
	}
	if (json)
		jr_buf_addch(&b, '[');
	else
		printf("%-*s  %-*s  %-8s  %-16s  %s\n", wname, "JOB", wtarget, "TARGET", "BACKEND",
		       "MACHINE", "DECISION");
	for (i = 0; i < n; i++) {
		for (j = 0; j < jobs[i]->ntargets; j++) {
			const struct jr_backend *be;
			char *t = jr_job_redact_json(jobs[i],
						       jr_target_json(&jobs[i]->targets[j]));
			const char *machine;

			jr_buf_reset(&dec);
			be = jr_backend_resolve(&bctx, jobs[i], &jobs[i]->targets[j], &dec);
			if (!be)
				rc = JR_EXIT_FAILED;
			machine = be ? ctx->host.hostname : NULL;
			if (json) {
				jr_buf_adds(&b, first ? "\n {\"job\":" : ",\n {\"job\":");
				first = 0;
				jr_buf_add_json_str(&b, jobs[i]->name);
				jr_buf_addf(&b, ",\"target\":%s,\"backend\":", t);
				jr_buf_add_json_str(&b, be ? be->name : NULL);
				jr_buf_adds(&b, ",\"machine\":");
				jr_buf_add_json_str(&b, machine);
				jr_buf_adds(&b, ",\"runnable\":");
				jr_buf_adds(&b, be ? "true" : "false");
				jr_buf_adds(&b, ",\"decision\":");
				jr_buf_add_json_str(&b, dec.buf);
				jr_buf_addch(&b, '}');
			} else {
				printf("%-*s  %-*s  %-8s  %-16s  %s\n", wname, jobs[i]->name, wtarget, t,
				       be ? be->name : "-", machine ? machine : "-", dec.buf);
			}
			free(t);
		}
	}
	if (json) {
		jr_buf_adds(&b, first ? "]\n" : "\n]\n");
		fwrite(b.buf, 1, b.len, stdout);
	}
	jr_buf_release(&b);
	jr_buf_release(&dec);
	return rc;
}

int jr_cli_plan(const struct jr_cli *cli, int argc, char **argv)
{
	struct jr_cli_ctx ctx;
	struct sel_opts o;
	struct jr_job **jobs = NULL;
	size_t n = 0;
	int rc;

	rc = parse_sel("plan", argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = jr_cli_ctx_load(cli, JR_NEED_JOBS | JR_NEED_HOST, &ctx);
	if (rc == JR_EXIT_OK)
		rc = select_jobs(&ctx, argv + optind, (size_t)(argc - optind), o.tag, &jobs, &n);
	if (rc == JR_EXIT_OK)
		rc = do_plan(&ctx, jobs, n, o.json);
	free(jobs);
	jr_cli_ctx_release(&ctx);
	return rc;
}

static void print_summary(const struct jr_sched_summary *sum, bool tty)
{
	char el[32];

	jr_fmt_duration(sum->elapsed_ms, el, sizeof(el));
	/* Runs as history has them: a job retried until it succeeded had
	 * a failed run, and did not fail; the jobs that did are listed. */
	if (tty)
		fprintf(stderr,
			"jobrunner: %d job%s, %d run%s in %s: %d succeeded, %d failed, %d timed out, "
			"%d skipped, %d unrunnable\n",
			sum->jobs, sum->jobs == 1 ? "" : "s", sum->runs, sum->runs == 1 ? "" : "s", el,
			sum->succeeded, sum->failed, sum->timed_out, sum->skipped, sum->unrunnable);
	if (sum->units_failed) {
		/* Jobs, not (job, target) pairs: the list below names targets. */
		fprintf(stderr, "jobrunner: %d of %d job%s did not succeed:\n%s", sum->jobs_failed,
			sum->jobs, sum->jobs == 1 ? "" : "s", sum->failures.buf);
		fprintf(stderr, "see 'jobrunner history', 'jobrunner show RUN' and 'jobrunner logs RUN'\n");
	} else if (sum->failures.len) {
		fprintf(stderr, "%s", sum->failures.buf);
	}
}

/* Runs the selection through the scheduler, prints the summary (always on
 * a terminal, only when something failed otherwise) and returns the exit
 * status. parallel 0: from the configuration. *invocation_id (when not
 * NULL) gets the batch's invocations row, 0 if none was made. */
static int run_jobs(const struct jr_cli *cli, struct jr_cli_ctx *ctx, struct jr_job **jobs,
		    size_t n, int parallel, int64_t *invocation_id)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_sched_summary sum;
	struct jr_sched_opts so;
	bool tty = isatty(2), live = tty;
	size_t i;
	int rc, r;

	/* A job writing to jobrunner's own terminal would run into the
	 * progress line: none then. */
	for (i = 0; live && i < n; i++)
		if (jobs[i]->out.kind == JR_IO_INHERIT || jobs[i]->err.kind == JR_IO_INHERIT)
			live = false;

	/* Each running job holds a few descriptors (pidfd, logs, lock):
	 * the usual soft limit of 1024 would run out near -j 250. Its jobs
	 * still get the limit jobrunner was given. */
	jr_spawn_raise_nofile(65536);
	memset(&so, 0, sizeof(so));
	so.parallel = parallel ? parallel : ctx->cfg.parallel;
	so.progress = live ? JR_PROGRESS_TTY : JR_PROGRESS_NONE;
	so.argc = cli->argc;
	so.argv = cli->argv;
	r = jr_sched_run(&ctx->cfg, &ctx->host, ctx->st, jobs, n, &so, &sum, &err);
	if (invocation_id)
		*invocation_id = sum.invocation_id;
	print_summary(&sum, tty);
	if (r < 0)
		jr_cli_error("%s", err.msg);
	rc = sum.interrupted ? 128 + sum.interrupted
	     : r < 0	     ? JR_EXIT_USAGE
	     : sum.units_failed ? JR_EXIT_FAILED
				: JR_EXIT_OK;
	jr_sched_summary_release(&sum);
	return rc;
}

int jr_cli_run(const struct jr_cli *cli, int argc, char **argv)
{
	struct jr_cli_ctx ctx;
	struct sel_opts o;
	struct jr_job **jobs = NULL;
	size_t n = 0;
	bool tty = isatty(2);
	int rc;

	rc = parse_sel("run", argc, argv, &o);
	if (rc >= 0)
		return rc;
	rc = jr_cli_ctx_load(cli, JR_NEED_JOBS | JR_NEED_HOST | (o.dry_run ? 0 : JR_NEED_STORE),
			     &ctx);
	if (rc == JR_EXIT_OK)
		rc = select_jobs(&ctx, argv + optind, (size_t)(argc - optind), o.tag, &jobs, &n);
	if (rc != JR_EXIT_OK)
		goto out;
	if (o.dry_run) {
		rc = do_plan(&ctx, jobs, n, false);
		goto out;
	}
	if (n == 0) {
		if (tty)
			fprintf(stderr, "jobrunner: no jobs in %s\n", ctx.cfg.jobs_dir);
		goto out;
	}
	rc = run_jobs(cli, &ctx, jobs, n, o.parallel, NULL);
out:
	free(jobs);
	jr_cli_ctx_release(&ctx);
	return rc;
}

/* Boot time (seconds since the epoch) from /proc/stat, or 0. */
static time_t boot_time(void)
{
	char line[256];
	long long bt = 0;
	FILE *f = fopen("/proc/stat", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lld", &bt) == 1)
			break;
	fclose(f);
	return (time_t)bt;
}

int jr_cli_tick(const struct jr_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "jobs", required_argument, NULL, 'j' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct jr_err err = JR_ERR_INIT;
	struct jr_cli_ctx ctx;
	/* A due job: the tick to record for it (jr_cron_due), and its last
	 * tick as read (had: it had one), which claiming it checks. */
	struct due {
		struct jr_job *job;
		int64_t mark, last;
		bool had;
	} *due = NULL;
	struct jr_job **jobs = NULL;
	char **names = NULL;
	size_t i, k, ndue = 0, n = 0;
	bool dry = false;
	int64_t now_ms, inv = 0;
	time_t booted;
	int par = 0;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "j:nh", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			if (parse_parallel(optarg, &par) < 0)
				return JR_EXIT_USAGE;
			break;
		case 'n':
			dry = true;
			break;
		case 'h':
			jr_cli_usage(stdout, "tick");
			printf("\nRuns the jobs whose `schedule` has come due since the last tick, with\n"
			       "the jobs they need; meant for a crontab line `* * * * * jobrunner tick`.\n"
			       "A job missed by several ticks runs once; a job never ticked before counts\n"
			       "from the previous minute; @reboot jobs run once per boot, on the first tick.\n"
			       "  -j, --jobs N    run up to N jobs at once\n"
			       "  -n, --dry-run   print the jobs that are due, run nothing, record no run\n"
			       "Output and exit status as for run: from cron, silent unless something\n"
			       "failed.\n");
			return JR_EXIT_OK;
		default:
			return jr_cli_bad_usage("tick");
		}
	}
	if (optind < argc)
		return jr_cli_bad_usage("tick");
	rc = jr_cli_ctx_load(cli, JR_NEED_JOBS | JR_NEED_HOST | JR_NEED_STORE, &ctx);
	if (rc != JR_EXIT_OK)
		goto out;
	now_ms = jr_now_ms();
	booted = boot_time();
	due = jr_xmalloc((ctx.jobs.n ? ctx.jobs.n : 1) * sizeof(*due));
	for (i = 0; i < ctx.jobs.n; i++) {
		struct jr_job *job = ctx.jobs.jobs[i];
		int64_t last_ms = 0, mark_ms;
		int r;

		if (!job->schedule)
			continue;
		r = jr_store_schedule_get(ctx.st, job->name, &last_ms, &err);
		if (r < 0) {
			jr_cli_error("%s", err.msg);
			rc = JR_EXIT_USAGE;
			goto out;
		}
		if (jr_cron_due(&job->cron, r == 1 ? 0 : last_ms, now_ms, booted, &mark_ms)) {
			due[ndue++] = (struct due){ job, mark_ms, last_ms, r == 0 };
		} else if (r == 1 && !dry &&
			   jr_store_schedule_claim(ctx.st, job->name, false, 0, mark_ms, &err) < 0) {
			jr_cli_error("%s", err.msg);
			rc = JR_EXIT_USAGE;
			goto out;
		}
	}
	if (dry) {
		for (i = 0; i < ndue; i++)
			printf("%s\t%s\n", due[i].job->name, due[i].job->schedule);
		goto out;
	}
	if (!ndue)
		goto out;
	/* Mark them ticked before running: a tick that crashes or overlaps
	 * the next must not run them again for the same time. Each mark is
	 * taken only if the last tick read is still there: of two ticks at
	 * once, one runs the job, the other leaves it. */
	for (i = k = 0; i < ndue; i++) {
		int r = jr_store_schedule_claim(ctx.st, due[i].job->name, due[i].had, due[i].last,
						due[i].mark, &err);

		if (r < 0) {
			jr_cli_error("%s", err.msg);
			rc = JR_EXIT_USAGE;
			goto out;
		}
		if (r == 1)
			due[k++] = due[i];
	}
	if (!(ndue = k))
		goto out;
	names = jr_xmalloc(ndue * sizeof(*names));
	for (i = 0; i < ndue; i++)
		names[i] = due[i].job->name;
	rc = select_jobs(&ctx, names, ndue, NULL, &jobs, &n);
	if (rc == JR_EXIT_OK)
		rc = run_jobs(cli, &ctx, jobs, n, par, &inv);
	/* Which run each due job got (schedule.last_run_id). Failing to
	 * record it is an error, but not one to hide how the jobs went. */
	for (i = 0; inv && i < ndue; i++)
		if (jr_store_schedule_set_run(ctx.st, due[i].job->name, due[i].mark, inv, &err) < 0) {
			jr_cli_error("%s", err.msg);
			if (rc == JR_EXIT_OK)
				rc = JR_EXIT_USAGE;
			break;
		}
out:
	free(names);
	free(due);
	free(jobs);
	jr_cli_ctx_release(&ctx);
	return rc;
}
