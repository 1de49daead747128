/* cli_history: `history`, `show`, `logs` and `db path`: reading what the
 * store recorded. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "logfile.h"
#include "util.h"

#include "banned.h"

#define HISTORY_DEFAULT 20

static void fmt_exit(const struct jr_run_row *r, char *out, size_t len)
{
	if (r->signal)
		snprintf(out, len, "SIG%s", sigabbrev_np(r->signal) ? sigabbrev_np(r->signal) : "?");
	else if (r->exit_code >= 0)
		snprintf(out, len, "%d", r->exit_code);
	else
		snprintf(out, len, "-");
}

/* One line of text for a table cell: newlines become spaces, cut at max. */
static void cell(const char *s, char *out, size_t max)
{
	size_t i;

	for (i = 0; s && s[i] && i + 1 < max; i++)
		out[i] = (s[i] == '\n' || s[i] == '\t') ? ' ' : s[i];
	out[i] = '\0';
	if (s && s[i] && max > 4)
		memcpy(out + max - 4, "...", 4);
}

int jr_cli_history(const struct jr_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "number", required_argument, NULL, 'n' },
		{ "status", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'J' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct jr_err err = JR_ERR_INIT;
	struct jr_run_row *rows = NULL;
	struct jr_buf b = JR_BUF_INIT;
	const char *job = NULL, *status = NULL;
	enum jr_run_status stv;
	struct jr_cli_ctx ctx;
	int64_t limit = HISTORY_DEFAULT;
	bool json = false;
	size_t i, n = 0;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "n:s:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (jr_parse_i64(optarg, 0, 1000000000, &limit) < 0) {
				jr_cli_error("-n: expected a number of runs (0 for all), got '%s'", optarg);
				return JR_EXIT_USAGE;
			}
			break;
		case 's':
			if (jr_run_status_parse(optarg, &stv) < 0) {
				jr_cli_error("--status: unknown status '%s' (running, succeeded, "
					     "failed, timed_out, skipped, unrunnable, lost)", optarg);
				return JR_EXIT_USAGE;
			}
			status = optarg;
			break;
		case 'J':
			json = true;
			break;
		case 'h':
			jr_cli_usage(stdout, "history");
			printf("\nShows runs, newest first: every attempt of every job, or of JOB.\n"
			       "  -n, --number N   at most N runs (default %d; 0 for all)\n"
			       "  -s, --status S   only runs with status S (running succeeded failed\n"
			       "                   timed_out skipped unrunnable lost)\n"
			       "  --json           one JSON array of run objects\n"
			       "RUN ids may be abbreviated to any unique prefix in show and logs.\n",
			       HISTORY_DEFAULT);
			return JR_EXIT_OK;
		default:
			return jr_cli_bad_usage("history");
		}
	}
	if (argc - optind > 1)
		return jr_cli_bad_usage("history");
	if (optind < argc)
		job = argv[optind];
	rc = jr_cli_ctx_load(cli, JR_NEED_STORE_READ, &ctx);
	if (rc != JR_EXIT_OK)
		goto out;
	if (jr_store_history(ctx.st, job, status, (int)limit, &rows, &n, &err) < 0) {
		jr_cli_error("%s", err.msg);
		rc = JR_EXIT_USAGE;
		goto out;
	}
	if (json) {
		jr_buf_addch(&b, '[');
		for (i = 0; i < n; i++) {
			jr_buf_adds(&b, i ? ",\n " : "\n ");
			jr_run_row_to_json(&rows[i], &b);
		}
		jr_buf_adds(&b, n ? "\n]\n" : "]\n");
		fwrite(b.buf, 1, b.len, stdout);
		goto out;
	}
	if (n == 0) {
		if (isatty(1))
			printf("no runs%s%s%s%s recorded in %s\n", job ? " of " : "", job ? job : "",
			       status ? " with status " : "", status ? status : "", ctx.cfg.database);
		goto out;
	}
	{
		int wjob = 3;

		for (i = 0; i < n; i++)
			if ((int)strlen(rows[i].job) > wjob)
				wjob = (int)strlen(rows[i].job);
		printf("%-20s  %-*s  %3s  %-10s  %-19s  %8s  %7s  %s\n", "RUN", wjob, "JOB", "ATT",
		       "STATUS", "STARTED", "DURATION", "EXIT", "ERROR");
		for (i = 0; i < n; i++) {
			const struct jr_run_row *r = &rows[i];
			char started[32], dur[32], ex[16], er[80];

			jr_fmt_time(r->started_ms, started, sizeof(started));
			if (r->has_duration)
				jr_fmt_duration(r->duration_ms, dur, sizeof(dur));
			else
				snprintf(dur, sizeof(dur), "-");
			fmt_exit(r, ex, sizeof(ex));
			cell(r->error, er, sizeof(er));
			printf("%-20s  %-*s  %3d  %-10s  %-19s  %8s  %7s  %s\n", r->id, wjob, r->job,
			       r->attempt, jr_run_status_name(r->status), started, dur, ex, er);
		}
	}
out:
	jr_run_rows_free(rows, n);
	jr_buf_release(&b);
	jr_cli_ctx_release(&ctx);
	return rc;
}

/* Resolves RUN: a run id or a unique prefix of one; else, when it names a
 * job with runs, that job's latest run (so a job named in hex digits, such
 * as 01, which every run id starts with, is found by name). Prints why not
 * and returns the exit status. */
static int find_run(struct jr_cli_ctx *ctx, const char *arg, struct jr_run_row *row)
{
	/* One more than shown, to know whether there are more. */
	char cands[JR_RUN_LOOKUP_MAX_CANDS + 1][JR_RUN_ID_LEN + 1];
	struct jr_err err = JR_ERR_INIT;
	struct jr_run_row *rows = NULL;
	size_t i, n = 0, nc = 0, len = strlen(arg);
	bool hex = len > 0 && len <= JR_RUN_ID_LEN &&
		   strspn(arg, "0123456789abcdefABCDEF") == len;
	int r = 1;

	if (hex) {
		r = jr_store_run_lookup(ctx->st, arg, row, cands, JR_RUN_LOOKUP_MAX_CANDS + 1, &nc,
					&err);
		if (r == 0)
			return JR_EXIT_OK;
		if (r < 0) {
			jr_cli_error("%s", err.msg);
			return JR_EXIT_USAGE;
		}
	}
	if (jr_job_name_valid(arg)) {
		if (jr_store_history(ctx->st, arg, NULL, 1, &rows, &n, &err) < 0) {
			jr_cli_error("%s", err.msg);
			return JR_EXIT_USAGE;
		}
		if (n == 1) {
			*row = rows[0]; /* the row's strings now belong to the caller */
			free(rows);
			return JR_EXIT_OK;
		}
	}
	if (r == 2) {
		jr_cli_error("run id prefix '%s' is ambiguous; it matches:", arg);
		for (i = 0; i < nc && i < JR_RUN_LOOKUP_MAX_CANDS; i++)
			fprintf(stderr, "  %s\n", cands[i]);
		if (nc > JR_RUN_LOOKUP_MAX_CANDS)
			fprintf(stderr, "  ...\n");
	} else if (hex) {
		jr_cli_error("no run id starts with '%s', and no job of that name has runs "
			     "(see 'jobrunner history')", arg);
	} else {
		jr_cli_error("'%s' is neither a run id (or a prefix of one) nor a job with runs "
			     "(see 'jobrunner history')", arg);
	}
	return JR_EXIT_USAGE;
}

/* The tail is what the job wrote, printed amid show's own lines, on the
 * operator's terminal: its control characters are shown as '?'
 * (jr_buf_add_term_text), or a job could clear the screen, retitle the
 * window or rewrite the lines above. logs prints the log as it is. */
static void print_tail(const char *title, const char *path, const char *tail)
{
	struct jr_buf b = JR_BUF_INIT;

	if (!tail || !*tail)
		return;
	printf("--- %s (last 4 KiB; all of it: %s)\n", title, path ? path : "-");
	jr_buf_add_term_text(&b, tail, strlen(tail));
	fwrite(b.buf, 1, b.len, stdout);
	if (b.buf[b.len - 1] != '\n')
		putchar('\n');
	jr_buf_release(&b);
}

static bool run_active(const struct jr_run_row *r)
{
	return r->status == JR_RUN_RUNNING || r->status == JR_RUN_QUEUED;
}

/* Whether path is a file in use, log_dir/.running/NAME (logfile.h); if so,
 * *dlen gets the length of its log_dir. */
static bool in_use_log(const char *path, size_t *dlen)
{
	static const char dir[] = "/" JR_LOG_RUNNING_DIR;
	const char *slash = strrchr(path, '/');
	size_t n = sizeof(dir) - 1;

	if (!slash || !slash[1] || (size_t)(slash - path) < n || memcmp(slash - n, dir, n))
		return false;
	*dlen = (size_t)(slash - path) - n;
	return true;
}

/* Whether path, where r's row says one of its streams went, is a log of
 * jobrunner's own (logfile.h): a file in use in a directory .running
 * (log_dir/.running, wherever log_dir was when the run went), or a kept
 * log JOB/RUN.out or .err named after this very run. Anything else is a
 * file the job chose (stdout: {file: ...}), which other runs of it may
 * have written since; a job's own path cannot name a run before it
 * exists. */
static bool own_log(const struct jr_run_row *r, const char *path)
{
	char *kept = jr_xasprintf("/%s/%s.", r->job, r->id);
	size_t plen = strlen(path), klen = strlen(kept), dlen;
	bool own = false;

	/* "/JOB/RUN." and "out" or "err" end path, with log_dir before them. */
	if (plen > klen + 3 && !memcmp(path + plen - klen - 3, kept, klen))
		own = !strcmp(path + plen - 3, "out") || !strcmp(path + plen - 3, "err");
	if (!own)
		own = in_use_log(path, &dlen);
	free(kept);
	return own;
}

/* Where the log that r's row names at path is now: the caller's, to free,
 * or NULL when it is at path if anywhere. A row names the log's file in
 * use, log_dir/.running/NAME, until the run's end is recorded. Should that
 * fail (the commit of its end: disk full, database locked), the run is
 * lost, and its log had moved already to its place, log_dir/JOB/RUN.out or
 * .err (logfile.h), log_dir being the directory around .running. A regular
 * file there is the answer even should path name a file too: a kept log
 * is this run's for good (its name says so, and moves never replace),
 * whereas a name in .running may since serve another run (a later
 * jobrunner with the same pid). */
static char *moved_log(const struct jr_run_row *r, const char *path)
{
	enum jr_log_stream stream = JR_LOG_STDERR;
	struct stat st;
	char *log_dir, *kept;
	size_t dlen;

	if (!path || !in_use_log(path, &dlen))
		return NULL;
	/* A stream sent to the other (stderr: stdout) has that one's log. */
	if (r->stdout_path && !strcmp(path, r->stdout_path))
		stream = JR_LOG_STDOUT;
	log_dir = jr_xstrndup(path, dlen);
	kept = jr_log_kept_path(log_dir, r->job, r->id, stream);
	free(log_dir);
	if (lstat(kept, &st) == 0 && S_ISREG(st.st_mode))
		return kept;
	free(kept);
	return NULL;
}

/* A log the run left empty is not kept (logfile.h): say so, rather than
 * leave a path that leads nowhere. */
static void print_log_path(const char *title, const struct jr_run_row *r, const char *path)
{
	struct stat st;

	if (!path)
		printf("%-11s -\n", title);
	else if (!run_active(r) && lstat(path, &st) < 0 && errno == ENOENT)
		printf("%-11s %s (%s)\n", title, path,
		       own_log(r, path) ? "empty: not kept" : "no such file");
	else
		printf("%-11s %s\n", title, path);
}

static void show_text(const struct jr_run_row *r, const struct jr_run_signal_row *sigs,
		      size_t nsig)
{
	char t1[32], t2[32], d[32], ex[16];
	size_t i;

	jr_fmt_time(r->started_ms, t1, sizeof(t1));
	jr_fmt_time(r->finished_ms, t2, sizeof(t2));
	fmt_exit(r, ex, sizeof(ex));
	printf("run         %s\n", r->id);
	printf("job         %s (definition %.12s)\n", r->job, r->job_hash ? r->job_hash : "-");
	printf("attempt     %d\n", r->attempt);
	printf("status      %s\n", jr_run_status_name(r->status));
	if (r->error)
		printf("error       %s\n", r->error);
	printf("exit        %s\n", ex);
	printf("target      %s\n", r->target ? r->target : "{}");
	printf("backend     %s\n", r->backend ? r->backend : "-");
	printf("machine     %s\n", r->machine ? r->machine : "-");
	printf("decision    %s\n", r->decision ? r->decision : "-");
	if (r->pid)
		printf("pid         %lld\n", (long long)r->pid);
	printf("started     %s\n", t1);
	printf("finished    %s\n", t2);
	if (r->has_duration) {
		jr_fmt_duration(r->duration_ms, d, sizeof(d));
		/* The exact figure only where the short form rounds. */
		if (r->duration_ms >= 1000)
			printf("duration    %s (%lld ms)\n", d, (long long)r->duration_ms);
		else
			printf("duration    %s\n", d);
	}
	if (r->has_usage) {
		printf("cpu         user %lld ms, system %lld ms\n", (long long)r->user_ms,
		       (long long)r->sys_ms);
		printf("max rss     %lld KiB\n", (long long)r->max_rss_kb);
		printf("left behind %d process%s\n", r->leftovers,
		       r->leftovers == 1 ? "" : "es");
	}
	for (i = 0; i < nsig; i++) {
		jr_fmt_time(sigs[i].at_ms, t1, sizeof(t1));
		printf("%s SIG%s sent at %s (%s)\n", i ? "           " : "signals    ",
		       sigabbrev_np(sigs[i].sig) ? sigabbrev_np(sigs[i].sig) : "?", t1,
		       sigs[i].reason ? sigs[i].reason : "-");
	}
	print_log_path("stdout", r, r->stdout_path);
	print_log_path("stderr", r, r->stderr_path);
	if (r->invocation_argv)
		printf("invocation  %s\n", r->invocation_argv);
	print_tail("stdout", r->stdout_path, r->stdout_tail);
	print_tail("stderr", r->stderr_path, r->stderr_tail);
}

int jr_cli_show(const struct jr_cli *cli, int argc, char **argv)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_run_signal_row *sigs = NULL;
	struct jr_run_row row;
	struct jr_buf b = JR_BUF_INIT;
	struct jr_cli_ctx ctx;
	char *def = NULL, *moved_out, *moved_err;
	bool json = false;
	size_t nsig = 0;
	int rc;

	memset(&row, 0, sizeof(row));
	rc = jr_cli_plain_opts(argc, argv, "show",
			       "\nShows one run in full: status, exit, the backend and machine chosen and\n"
			       "why, times, CPU and memory, the signals jobrunner sent it and why,\n"
			       "processes left behind, log paths and the tails of its output.\n"
			       "RUN is a run id, any unique prefix of one, or a job's name for its\n"
			       "latest run.\n"
			       "  --json   one JSON object {\"run\", \"signals\", \"definition\"}\n",
			       &json);
	if (rc >= 0)
		return rc;
	if (argc - optind != 1)
		return jr_cli_bad_usage("show");
	rc = jr_cli_ctx_load(cli, JR_NEED_STORE_READ, &ctx);
	if (rc == JR_EXIT_OK)
		rc = find_run(&ctx, argv[optind], &row);
	if (rc != JR_EXIT_OK)
		goto out;
	/* Where its logs are, should they have moved since its row was last
	 * written, in text and JSON alike: both being for finding them. */
	moved_out = moved_log(&row, row.stdout_path);
	moved_err = moved_log(&row, row.stderr_path);
	if (moved_out) {
		free(row.stdout_path);
		row.stdout_path = moved_out;
	}
	if (moved_err) {
		free(row.stderr_path);
		row.stderr_path = moved_err;
	}
	if (jr_store_run_signals_list(ctx.st, row.id, &sigs, &nsig, &err) < 0 ||
	    (row.job_hash && jr_store_job_definition(ctx.st, row.job, row.job_hash, &def, NULL,
						     &err) < 0)) {
		jr_cli_error("%s", err.msg);
		rc = JR_EXIT_USAGE;
		goto out;
	}
	if (json) {
		jr_buf_adds(&b, "{\"run\":");
		jr_run_row_to_json(&row, &b);
		jr_buf_adds(&b, ",\"signals\":");
		jr_run_signals_to_json(sigs, nsig, &b);
		jr_buf_adds(&b, ",\"definition\":");
		jr_buf_adds(&b, def ? def : "null");
		jr_buf_adds(&b, "}\n");
		fwrite(b.buf, 1, b.len, stdout);
	} else {
		show_text(&row, sigs, nsig);
	}
out:
	free(def);
	jr_run_signal_rows_free(sigs, nsig);
	jr_run_row_release(&row);
	jr_buf_release(&b);
	jr_cli_ctx_release(&ctx);
	return rc;
}

/* Copies what fd has from *off on to stdout. */
static int copy_from(int fd, off_t *off)
{
	char buf[65536];
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), *off)) > 0) {
		if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
			return -1;
		*off += n;
	}
	fflush(stdout);
	return n < 0 ? -1 : 0;
}

/* exit status after a failed open or copy of path (a closed pipe is fine) */
static int copy_failed(const char *path)
{
	if (errno == EPIPE)
		return JR_EXIT_OK;
	jr_cli_error("%s: %s", path, strerror(errno));
	return JR_EXIT_USAGE;
}

static bool same_file(int fd, const char *path)
{
	struct stat a, b;

	return path && fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

/* After a lost run's log: what was printed may stop short. */
static void say_lost(const struct jr_run_row *row)
{
	if (row->status == JR_RUN_LOST)
		jr_cli_error("run %s is lost: %s", row->id,
			     row->error ? row->error : "its jobrunner disappeared");
}

/* How often logs --follow checks that the jobrunner running the run is
 * still there (a reconcile: a read of the unfinished invocations). */
#define FOLLOW_RECONCILE_MS 1000

/* Reading the database while following: how many failures in a row are
 * borne (each retried a reconcile period later). A reader opens it afresh
 * each time, and a writer's checkpoint or the removal of its -wal and -shm
 * files just then fails that once. */
#define FOLLOW_TRIES 5

/* A failure to read the database while following (in err): true when it
 * is the last one borne, after saying so. */
static bool follow_failed(int *fails, struct jr_err *err)
{
	if (++*fails < FOLLOW_TRIES)
		return false;
	jr_cli_error("%s (%d tries, a second apart)", err->msg, FOLLOW_TRIES);
	return true;
}

static void sleep_until(int64_t mono_ms)
{
	int64_t ms = mono_ms - jr_mono_ms();
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	nanosleep(&ts, NULL);
}

/* The log of a run still going, at live (a file in use, logfile.h). Once
 * the run ends, an empty log's file may serve a later run: so nothing read
 * is printed before the run is seen still going after the read; once it
 * has ended, only if the file is its kept log. With follow, until it ends;
 * a run whose jobrunner disappeared (killed) never ends by itself, so
 * following reconciles now and then, which records it lost. */
static int logs_live(struct jr_cli_ctx *ctx, const char *id, const char *live, bool use_err,
		     bool follow)
{
	struct jr_err err = JR_ERR_INIT;
	char buf[65536];
	off_t off = 0;
	int64_t next_reconcile = jr_mono_ms() + FOLLOW_RECONCILE_MS;
	int fd, r, rc = JR_EXIT_OK, waits = 0, fails = 0;
	/* The database was just opened again (a reader's follow), or could
	 * not be reconciled: whether the run's jobrunner is gone is seen here. */
	bool reread;
	bool checked; /* ... or reconciled, and the run read from it */

	fd = open(live, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno != ENOENT)
		return copy_failed(live);
	for (;;) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		struct jr_run_row now;
		ssize_t n = 0;
		bool active;

		if (fd < 0)
			fd = open(live, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0 && (n = pread(fd, buf, sizeof(buf), off)) < 0) {
			rc = copy_failed(live);
			break;
		}
		memset(&now, 0, sizeof(now));
		/* Read-only (another user's database), nothing can be
		 * recorded: the run stays running until a command that may
		 * write comes. The database is opened again instead: one
		 * read while nothing had it open (jr_store_open_read) would
		 * not see later changes. */
		reread = false;
		checked = false;
		if (follow && jr_mono_ms() >= next_reconcile) {
			next_reconcile = jr_mono_ms() + FOLLOW_RECONCILE_MS;
			reread = !ctx->st || !jr_store_writable(ctx->st);
			if (!reread) {
				/* Unable to record a lost run now (another
				 * process holds the database's lock, say), it
				 * sees for itself, as a reader does. */
				if (jr_store_reconcile(ctx->st, NULL, &err) < 0)
					reread = true;
				r = 0;
			} else {
				jr_store_close(ctx->st);
				ctx->st = NULL;
				r = jr_store_open_read(&ctx->st, ctx->cfg.database,
						       ctx->cfg.sync_full ? JR_SYNC_FULL : JR_SYNC_NORMAL,
						       &err);
			}
			checked = r == 0;
		} else {
			r = ctx->st ? 0 : -1; /* the last reopen failed */
		}
		if (r == 0 && (r = jr_store_run_get(ctx->st, id, &now, &err)) > 0)
			r = jr_err_set(&err, "run %s is no longer in %s", id, ctx->cfg.database);
		if (r < 0) {
			/* Nothing read is printed: whether the run goes on is
			 * not known. Following, tried again a period later. */
			if (!follow || follow_failed(&fails, &err)) {
				if (!follow)
					jr_cli_error("%s", err.msg);
				rc = JR_EXIT_USAGE;
				break;
			}
			sleep_until(next_reconcile);
			continue;
		}
		if (checked)
			fails = 0;
		active = run_active(&now);
		if (!active) {
			const char *ended = use_err ? now.stderr_path : now.stdout_path;
			/* Recorded lost, its row may name its file in use
			 * still, though the log moved to its place. */
			char *moved = moved_log(&now, ended);
			const char *kept = moved ? moved : ended;

			if (fd >= 0 && same_file(fd, kept)) {
				off += n;
				if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n ||
				    copy_from(fd, &off) < 0)
					rc = copy_failed(kept);
			} else if (fd < 0 && kept) {
				/* It ended before we could open it: the kept log. */
				fd = open(kept, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
				if (fd >= 0 && copy_from(fd, &off) < 0)
					rc = copy_failed(kept);
			}
			say_lost(&now);
			free(moved);
			jr_run_row_release(&now);
			break;
		}
		/* A reader cannot record it lost, but can see its jobrunner is
		 * gone: what the run wrote is all there will be. */
		if (reread && now.invocation_id > 0 &&
		    jr_store_invocation_gone(ctx->st, now.invocation_id, &err) == 1) {
			if (n > 0 && fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
				rc = copy_failed(live);
			off += n;
			if (fd >= 0 && rc == JR_EXIT_OK && copy_from(fd, &off) < 0)
				rc = copy_failed(live);
			jr_cli_error("run %s: the jobrunner running it is gone; the next command "
				     "that can write the database records it lost",
				     id);
			jr_run_row_release(&now);
			break;
		}
		jr_run_row_release(&now);
		if (n > 0) {
			if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) {
				rc = copy_failed(live);
				break;
			}
			off += n;
			continue;
		}
		fflush(stdout);
		/* Without follow: what it wrote so far, unless its file is
		 * between places (it is ending): then a moment more. */
		if (!follow && (fd >= 0 || ++waits > 20))
			break;
		nanosleep(&ts, NULL);
	}
	fflush(stdout);
	if (fd >= 0)
		close(fd);
	return rc;
}

int jr_cli_logs(const struct jr_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "stderr", no_argument, NULL, 'e' },
		{ "follow", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct jr_run_row row;
	struct jr_cli_ctx ctx;
	bool use_err = false, follow = false;
	const char *path;
	char *moved = NULL;
	off_t off = 0;
	int opt, rc, fd = -1;

	memset(&row, 0, sizeof(row));
	while ((opt = getopt_long(argc, argv, "efh", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			use_err = true;
			break;
		case 'f':
			follow = true;
			break;
		case 'h':
			jr_cli_usage(stdout, "logs");
			printf("\nPrints the whole stdout log of a run (RUN: its id, any unique prefix of\n"
			       "it, or a job's name for the job's latest run).\n"
			       "  -e, --stderr   its stderr log instead\n"
			       "  -f, --follow   keep printing what the run writes until it ends\n");
			return JR_EXIT_OK;
		default:
			return jr_cli_bad_usage("logs");
		}
	}
	if (argc - optind != 1)
		return jr_cli_bad_usage("logs");
	rc = jr_cli_ctx_load(cli, JR_NEED_STORE_READ, &ctx);
	if (rc == JR_EXIT_OK)
		rc = find_run(&ctx, argv[optind], &row);
	if (rc != JR_EXIT_OK)
		goto out;
	if (row.status == JR_RUN_SKIPPED || row.status == JR_RUN_UNRUNNABLE) {
		jr_cli_error("run %s was %s: it never started, so it has no output", row.id,
			     jr_run_status_name(row.status));
		rc = JR_EXIT_USAGE;
		goto out;
	}
	path = use_err ? row.stderr_path : row.stdout_path;
	if (!path) {
		jr_cli_error("run %s has no %s log (its job sends %s elsewhere)", row.id,
			     use_err ? "stderr" : "stdout", use_err ? "stderr" : "stdout");
		rc = JR_EXIT_USAGE;
		goto out;
	}
	if (!own_log(&row, path)) {
		jr_cli_error("run %s sends %s to %s, not to a log of its own", row.id,
			     use_err ? "stderr" : "stdout", path);
		rc = JR_EXIT_USAGE;
		goto out;
	}
	/* A log at its place is the whole of it: the run ended, whatever its
	 * row says (moved_log). */
	moved = moved_log(&row, path);
	if (moved) {
		path = moved;
	} else if (run_active(&row)) {
		rc = logs_live(&ctx, row.id, path, use_err, follow);
		goto out;
	}
	/* Ended: its log is where its row says, or at its place though the
	 * row says otherwise, or it stayed empty and was not kept. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT) {
		say_lost(&row);
		rc = JR_EXIT_OK;
		goto out;
	}
	if (fd < 0 || copy_from(fd, &off) < 0)
		rc = copy_failed(path);
	if (rc == JR_EXIT_OK)
		say_lost(&row);
out:
	if (fd >= 0)
		close(fd);
	free(moved);
	jr_run_row_release(&row);
	jr_cli_ctx_release(&ctx);
	return rc;
}

int jr_cli_db(const struct jr_cli *cli, int argc, char **argv)
{
	struct jr_cli_ctx ctx;
	int rc;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		jr_cli_usage(stdout, "db");
		printf("\nPrints the path of the history database, for example:\n"
		       "  sqlite3 \"$(jobrunner db path)\" 'SELECT * FROM job_stats'\n");
		return JR_EXIT_OK;
	}
	if (argc < 2) {
		jr_cli_error("db: missing subcommand 'path'");
		return jr_cli_bad_usage("db");
	}
	if (strcmp(argv[1], "path")) {
		jr_cli_error("db: unknown subcommand '%s' (the one subcommand is 'path')", argv[1]);
		return jr_cli_bad_usage("db");
	}
	if (argc > 2) {
		jr_cli_error("db path: unexpected argument '%s'", argv[2]);
		return jr_cli_bad_usage("db");
	}
	rc = jr_cli_ctx_load(cli, JR_NEED_CONFIG, &ctx);
	if (rc == JR_EXIT_OK)
		printf("%s\n", ctx.cfg.database);
	jr_cli_ctx_release(&ctx);
	return rc;
}
