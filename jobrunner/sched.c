#include "sched.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "backend.h"
#include "logfile.h"
#include "spawn.h"

#include "banned.h"

#define TAIL_BYTES 4096
#define LOCK_RETRY_MS 250    /* concurrency: queue re-tries the lock this often */
#define HOOK_TIMEOUT_MS (5 * 60 * 1000)
#define PROGRESS_EVERY_MS 1000
/* A started attempt's pid is written with the step's next batch, or alone
 * once it has run this long with no batch (a long job run by itself). */
#define PID_WRITE_MS 200
/* The error of a run that an interrupt kept from starting. */
#define INTERRUPTED_UNSTARTED "interrupted before it started"
/* ... and of one that jobrunner's own error (%s) kept from starting. */
#define FATAL_UNSTARTED "not started: jobrunner failed: %s"

enum unit_state {
	U_WAITING,  /* needs not done yet, or not started */
	U_LOCKWAIT, /* concurrency: queue, waiting for another invocation */
	U_STARTING, /* its `running` row is in the step's batch: starts after the commit */
	U_RUNNING,
	U_REAPED,   /* process ended; its row is finished in the next step */
	U_RETRY,    /* waiting for the retry delay */
	U_DONE,
};

struct unit {
	struct jr_job *job;
	size_t js; /* index of its job's state */
	const struct jr_target *target;
	char *target_json;		 /* its target as JSON, secrets hidden */
	const struct jr_backend *backend;
	struct jr_buf decision;
	enum unit_state state;
	int attempt;
	int64_t next_mono; /* U_RETRY / U_LOCKWAIT: when to try again */
	int64_t delay_ms;  /* the next retry's delay */
	struct jr_cmd *cmd;
	struct jr_run run;
	char *stdout_path, *stderr_path; /* where its logs go (JR_IO_LOG) */
	char *out_live, *err_live;	 /* ... the files in use while it runs */
	int out_fd, err_fd;		 /* ... open while it runs, else -1 */
	int64_t out_from, err_from;	 /* {file:, append: true}: its size at the start */
	bool pid_saved;			 /* the running attempt's pid is recorded */
	bool in_act;			 /* listed in sched.act */
	int64_t started_mono;
	const char *machine;
};

struct jobstate {
	struct jr_job *job;
	size_t *needs; /* indices of jobstates, SIZE_MAX-terminated */
	size_t nunits, ndone, nok;
	size_t nbad; /* units that did not succeed and count as failures */
	char *logdir; /* log_dir/JOB: its logs and hooks' output */
	char *out_file, *err_file; /* stdout/stderr: {file:}, as recorded (secrets hidden) */
	enum { LOGDIR_UNCHECKED, LOGDIR_CHECKED, LOGDIR_MADE } logdir_state;
	int lock_fd;   /* -1 when not held */
	bool lock_busy; /* forbid: another invocation holds it */
	char *lock_path;
};

struct hook {
	struct jr_cmd *cmd;
	char *what; /* "on_failure hook of JOB (run ID)" */
};

struct sched {
	const struct jr_config *cfg;
	const struct jr_machine *host;
	struct jr_store *st;
	const struct jr_sched_opts *opts;
	struct jr_sched_summary *sum;
	struct jr_backend_ctx bctx;
	int64_t invocation_id;
	struct jobstate *js;
	size_t njs;
	struct unit *u;
	size_t nu, ndone, nrunning, nstarting;
	size_t live; /* units before it are all done: scans start there */
	/* The units that may be starting, running, reaped or waiting for a
	 * time (retry delay, queued lock), in unit order: what the loop
	 * polls and steps look after, so that a batch of many jobs costs no
	 * scan of all of them per event. Units leave it once done or back to
	 * waiting (act_prune). */
	size_t *act, nact, aact;
	struct hook *hooks;
	size_t nhooks, ahooks;
	char *lock_dir;
	struct jr_logpool *logs;
	int stopping; /* signal number once SIGINT/SIGTERM/SIGHUP arrived */
	const char *fatal; /* the error that stopped jobrunner, once one did */
	int64_t start_mono, last_progress;
	bool progress_shown;
	bool said_log_full;	/* log_dir's filesystem was found full */
	int64_t wait_stop_mono; /* db_wait: a signal or error came: when to give up */
	bool wait_said;		/* ... the current wait was said */
	bool wait_reaped;	/* ... reaped attempts, for the next step */
	bool wait_gave_up;	/* ... gave up: the batch stops on that error */
};

/* ---- signals: a self-pipe the loop polls ---- */

static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char c = (unsigned char)sig;
	ssize_t r = write(sig_pipe[1], &c, 1);

	(void)r;
	errno = saved;
}

struct saved_sigs {
	struct sigaction intr, term, hup, chld;
};

static int signals_setup(struct saved_sigs *old, struct jr_err *err)
{
	struct sigaction sa;

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return jr_err_sys(err, errno, "pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, &old->intr);
	sigaction(SIGTERM, &sa, &old->term);
	/* A hangup (the terminal or ssh session gone) stops the run as
	 * SIGTERM does, rather than kill jobrunner and leave its jobs running
	 * unwatched; but a jobrunner started under nohup, with SIGHUP
	 * ignored, was asked to outlive the hangup and goes on. */
	sigaction(SIGHUP, NULL, &old->hup);
	if (old->hup.sa_handler != SIG_IGN)
		sigaction(SIGHUP, &sa, NULL);
	/* Wakes the loop when an orphan re-parented to us exits, so that it
	 * is reaped at once (jobs' own ends wake it through their pidfds). */
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, &old->chld);
	jr_spawn_signals_changed();
	return 0;
}

static void signals_restore(const struct saved_sigs *old)
{
	sigaction(SIGINT, &old->intr, NULL);
	sigaction(SIGTERM, &old->term, NULL);
	sigaction(SIGHUP, &old->hup, NULL);
	sigaction(SIGCHLD, &old->chld, NULL);
	jr_spawn_signals_changed();
	close(sig_pipe[0]);
	close(sig_pipe[1]);
	sig_pipe[0] = sig_pipe[1] = -1;
}

/* ---- selection and order ---- */

static bool has_tag(const struct jr_job *job, const char *tag)
{
	size_t i;

	for (i = 0; i < job->tags.n; i++)
		if (!strcmp(job->tags.v[i], tag))
			return true;
	return false;
}

int jr_sched_select(const struct jr_jobset *set, char *const *names, size_t n, const char *tag,
		    struct jr_job ***out, size_t *nout, struct jr_err *err)
{
	bool *pick = jr_xcalloc(set->n ? set->n : 1, sizeof(*pick));
	size_t *stack = jr_xmalloc((set->n ? set->n : 1) * sizeof(*stack));
	struct jr_job_index *ix = jr_job_index_new(set->jobs, set->n);
	size_t i, j, k, sp = 0, cnt = 0;
	int ret = -1;

	*out = NULL;
	*nout = 0;
	for (i = 0; i < n; i++) {
		k = jr_job_index_find(ix, names[i]);
		if (k == SIZE_MAX) {
			jr_err_set(err, "no job named '%s' (see 'jobrunner list')", names[i]);
			goto out;
		}
		pick[k] = true;
	}
	if (tag) {
		bool any = false;

		for (i = 0; i < set->n; i++)
			if (has_tag(set->jobs[i], tag) && (!n || pick[i])) {
				any = true;
				if (!n)
					pick[i] = true;
			}
		if (!any) {
			jr_err_set(err, "no%s job has the tag '%s'", n ? " selected" : "", tag);
			goto out;
		}
		/* names and a tag together: the named jobs that carry the tag */
		if (n)
			for (i = 0; i < set->n; i++)
				if (pick[i] && !has_tag(set->jobs[i], tag))
					pick[i] = false;
	}
	if (!n && !tag)
		for (i = 0; i < set->n; i++)
			pick[i] = true;
	/* Add what the picked jobs need, transitively. */
	for (i = 0; i < set->n; i++)
		if (pick[i])
			stack[sp++] = i;
	while (sp) {
		const struct jr_job *job = set->jobs[stack[--sp]];

		for (j = 0; j < job->needs.n; j++) {
			k = jr_job_index_find(ix, job->needs.v[j]);
			if (k != SIZE_MAX && !pick[k]) {
				pick[k] = true;
				stack[sp++] = k;
			}
		}
	}
	*out = jr_xmalloc((set->n ? set->n : 1) * sizeof(**out));
	for (i = 0; i < set->n; i++)
		if (pick[i])
			(*out)[cnt++] = set->jobs[i];
	*nout = cnt;
	ret = 0;
out:
	jr_job_index_free(ix);
	free(pick);
	free(stack);
	return ret;
}

/* For each of the n jobs, the positions in jobs of its needs (those among
 * them), SIZE_MAX-terminated; free with free_needs. */
static size_t **resolve_needs(struct jr_job **jobs, size_t n)
{
	struct jr_job_index *ix = jr_job_index_new(jobs, n);
	size_t **needs = jr_xcalloc(n ? n : 1, sizeof(*needs));
	size_t i, j, m;

	for (i = 0; i < n; i++) {
		needs[i] = jr_xmalloc((jobs[i]->needs.n + 1) * sizeof(**needs));
		for (j = m = 0; j < jobs[i]->needs.n; j++) {
			size_t k = jr_job_index_find(ix, jobs[i]->needs.v[j]);

			if (k != SIZE_MAX)
				needs[i][m++] = k;
		}
		needs[i][m] = SIZE_MAX;
	}
	jr_job_index_free(ix);
	return needs;
}

static void free_needs(size_t **needs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(needs[i]);
	free(needs);
}

void jr_sched_order(struct jr_job **jobs, size_t n)
{
	struct jr_job **sorted = jr_xmalloc((n ? n : 1) * sizeof(*sorted));
	bool *placed = jr_xcalloc(n ? n : 1, sizeof(*placed));
	size_t **needs = resolve_needs(jobs, n);
	size_t i, j, cnt = 0;
	bool progress = true;

	/* Repeatedly place, in set order, every job whose needs are placed:
	 * stable; as many passes as the longest chain of needs. */
	while (cnt < n && progress) {
		progress = false;
		for (i = 0; i < n; i++) {
			bool ready = true;

			if (placed[i])
				continue;
			for (j = 0; needs[i][j] != SIZE_MAX && ready; j++)
				ready = placed[needs[i][j]];
			if (ready) {
				placed[i] = true;
				sorted[cnt++] = jobs[i];
				progress = true;
			}
		}
	}
	/* A cycle (excluded by jr_jobset_check) would leave jobs out: keep them. */
	for (i = 0; i < n; i++)
		if (!placed[i])
			sorted[cnt++] = jobs[i];
	memcpy(jobs, sorted, n * sizeof(*jobs));
	free_needs(needs, n);
	free(sorted);
	free(placed);
}

/* ---- files: log directories and lock files ---- */

/* dir must be a real directory (not a symlink) owned by us and not writable
 * by others: log and lock files are created inside it by name. */
enum dir_make { DIR_MAKE, DIR_CHECK_ONLY };

static int private_dir(const char *dir, enum dir_make make, struct jr_err *err)
{
	struct stat st;

	if (make == DIR_MAKE && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return jr_err_sys(err, errno, "mkdir %s", dir);
	if (lstat(dir, &st) < 0) {
		if (make == DIR_CHECK_ONLY && errno == ENOENT)
			return 0; /* made when first needed */
		return jr_err_sys(err, errno, "%s", dir);
	}
	if (!S_ISDIR(st.st_mode))
		return jr_err_set(err, "%s: not a directory (a symlink?); refusing to write into it", dir);
	if (st.st_uid != geteuid())
		return jr_err_set(err, "%s: owned by uid %lu, not by you; refusing to write into it", dir,
				  (unsigned long)st.st_uid);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return jr_err_set(err,
				  "%s: writable by %s (mode %04o); refusing to write into it "
				  "(chmod go-w)",
				  dir, (st.st_mode & S_IWOTH) ? "everyone" : "its group",
				  (unsigned)(st.st_mode & 07777));
	return 0;
}

static int ensure_private_dir(const char *dir, struct jr_err *err)
{
	return private_dir(dir, DIR_MAKE, err);
}

/* Creates the parents of dir as needed (0700), then checks dir itself. */
static int make_private_dir(const char *dir, struct jr_err *err)
{
	char *parent = jr_xstrdup(dir);
	char *slash = strrchr(parent, '/');
	int ret = 0;

	if (slash && slash != parent) {
		*slash = '\0';
		ret = jr_mkdir_p(parent, 0700, err);
	}
	free(parent);
	return ret < 0 ? -1 : ensure_private_dir(dir, err);
}

/* Opens the lock file of a job: it exists after the job's first run, and
 * is created once, with O_EXCL (another invocation may win that race). */
static int open_lock(const char *path, struct jr_err *err)
{
	int fd = -1, tries;

	for (tries = 0; tries < 3 && fd < 0; tries++) {
		fd = open(path, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT)
			fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0)
		return jr_err_sys(err, errno, "lock file %s", path);
	return fd;
}

/* ---- recording ---- */

static const char *job_target_label(struct unit *u, char *out, size_t len)
{
	if (u->job->ntargets > 1)
		snprintf(out, len, "%s%s", u->job->name, u->target_json);
	else
		snprintf(out, len, "%s", u->job->name);
	return out;
}

static void note_failure(struct sched *s, struct unit *u, const char *what)
{
	char label[512];

	jr_buf_addf(&s->sum->failures, "  %s: %s", job_target_label(u, label, sizeof(label)),
		    what);
	if (u->run.id[0])
		jr_buf_addf(&s->sum->failures, " (run %s)", u->run.id);
	jr_buf_addch(&s->sum->failures, '\n');
}

static void count_status(struct sched *s, enum jr_run_status st)
{
	s->sum->runs++;
	switch (st) {
	case JR_RUN_SUCCEEDED: s->sum->succeeded++; break;
	case JR_RUN_FAILED: s->sum->failed++; break;
	case JR_RUN_TIMED_OUT: s->sum->timed_out++; break;
	case JR_RUN_SKIPPED: s->sum->skipped++; break;
	case JR_RUN_UNRUNNABLE: s->sum->unrunnable++; break;
	default: break;
	}
}

static void run_init(struct sched *s, struct unit *u)
{
	memset(&u->run, 0, sizeof(u->run));
	u->run.invocation_id = s->invocation_id;
	u->run.job = u->job->name;
	u->run.job_hash = u->job->hash;
	u->run.target = u->target_json;
	u->run.backend = u->backend ? u->backend->name : NULL;
	u->run.decision = u->decision.buf;
	u->run.attempt = u->attempt > 0 ? u->attempt : 1;
	u->run.exit_code = -1;
}

/* Lists u in s->act (once), keeping unit order. */
static void act_add(struct sched *s, struct unit *u)
{
	size_t k = (size_t)(u - s->u), i;

	if (u->in_act)
		return;
	jr_xgrow((void **)&s->act, &s->aact, s->nact + 1, sizeof(*s->act));
	for (i = s->nact; i > 0 && s->act[i - 1] > k; i--)
		s->act[i] = s->act[i - 1];
	s->act[i] = k;
	s->nact++;
	u->in_act = true;
}

/* Drops from s->act the units that are done or waiting again. */
static void act_prune(struct sched *s)
{
	size_t i, n = 0;

	for (i = 0; i < s->nact; i++) {
		struct unit *u = &s->u[s->act[i]];

		if (u->state == U_DONE || u->state == U_WAITING)
			u->in_act = false;
		else
			s->act[n++] = s->act[i];
	}
	s->nact = n;
}

/* Marks a unit done; the job's lock goes when its last unit is done. A
 * benign end (skipped because another invocation runs the job) does not
 * count as a failure of this invocation. */
static void unit_done(struct sched *s, struct unit *u, enum jr_run_status final, bool benign)
{
	struct jobstate *js = &s->js[u->js];

	u->state = U_DONE;
	s->ndone++;
	while (s->live < s->nu && s->u[s->live].state == U_DONE)
		s->live++;
	js->ndone++;
	s->sum->units++;
	if (final == JR_RUN_SUCCEEDED) {
		js->nok++;
	} else if (!benign) {
		s->sum->units_failed++;
		js->nbad++;
	}
	if (js->ndone < js->nunits)
		return;
	s->sum->jobs++;
	s->sum->jobs_failed += js->nbad > 0;
	if (js->lock_fd >= 0) {
		close(js->lock_fd); /* releases the flock */
		js->lock_fd = -1;
	}
}

/* text with every secret value of the job hidden, those from jobrunner's
 * environment too. */
static char *redact(const struct jr_job *job, const char *text)
{
	const char **vals = jr_job_secret_values(job, true);
	char *red = jr_redact(text, vals, false);

	free(vals);
	return red;
}

/* The last TAIL_BYTES of what the file at path holds past its first from
 * bytes, redacted; NULL when there is nothing. Redaction comes before the
 * cut, or a secret across the cut would be stored in part: the text read
 * is longer by the longest secret's length but one, so that every secret
 * reaching into the last TAIL_BYTES is whole in it; and when the text
 * read starts after from, its first bytes may be the end of a secret that
 * began before it, which jr_redact hides too (cut_before). */
static char *stored_tail(const struct unit *u, const char *path, int64_t from, bool follow)
{
	const char **vals = jr_job_secret_values(u->job, true);
	size_t i, l, longest = 0, len;
	char *t, *red;
	bool cut;

	for (i = 0; vals[i]; i++) {
		l = strlen(vals[i]);
		longest = l > longest ? l : longest;
	}
	t = jr_log_tail_from(path, from, TAIL_BYTES + (longest ? longest - 1 : 0), follow, &cut);
	if (!t) {
		free(vals);
		return NULL;
	}
	red = jr_redact(t, vals, cut);
	free(vals);
	free(t);
	len = strlen(red);
	if (len > TAIL_BYTES)
		memmove(red, red + len - TAIL_BYTES, TAIL_BYTES + 1);
	return red;
}

/* Records a run that never started (skipped or unrunnable) and ends the unit. */
static int record_unstarted(struct sched *s, struct unit *u, enum jr_run_status status,
			    const char *why, bool benign, struct jr_err *err)
{
	char *red = redact(u->job, why);
	int ret;

	/* It never started: no start time, no usage (the store dates its
	 * end). */
	run_init(s, u);
	u->run.status = status;
	u->run.machine = NULL;
	u->run.error = red;
	jr_run_id_new(u->run.id);
	ret = jr_store_run_insert(s->st, &u->run, err);
	if (ret < 0)
		u->run.id[0] = '\0'; /* no such run to point to */
	count_status(s, status);
	if (!benign)
		note_failure(s, u, red);
	free(red);
	unit_done(s, u, status, benign);
	return ret;
}

/* A message of jobrunner's on stderr, "jobrunner: " and a line: on a
 * terminal, the progress line is cleared first (the next redraws it), so
 * that the two never run into each other. */
JR_PRINTF(2, 3)
static void say(struct sched *s, const char *fmt, ...)
{
	va_list ap;

	if (s->progress_shown) {
		fputs("\r\033[K", stderr);
		s->progress_shown = false;
	}
	fputs("jobrunner: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- hooks ---- */

static int job_log_dir(struct sched *s, struct unit *u, struct jr_err *err);

static void start_hooks(struct sched *s, struct unit *u, enum jr_run_status status)
{
	struct jr_strv *lists = status == JR_RUN_SUCCEEDED ? u->job->on_success : u->job->on_failure;
	size_t n = status == JR_RUN_SUCCEEDED ? u->job->non_success : u->job->non_failure;
	const char *kind = status == JR_RUN_SUCCEEDED ? "on_success" : "on_failure";
	char *logpath = NULL, code[16];
	size_t i;

	if (!n)
		return;
	if (u->run.exit_code >= 0)
		snprintf(code, sizeof(code), "%d", u->run.exit_code);
	else
		code[0] = '\0';
	{
		struct jr_err e = JR_ERR_INIT;

		if (job_log_dir(s, u, &e) == 0)
			logpath = jr_xasprintf("%s/%s.hooks", s->js[u->js].logdir, u->run.id);
		else
			say(s, "%s hooks of %s: %s", kind, u->job->name, e.msg);
	}
	for (i = 0; i < n; i++) {
		struct jr_cmd *cmd = jr_cmd_new_argv((const char *const *)lists[i].v);
		struct hook *h;

		jr_cmd_env_pass_common(cmd);
		jr_cmd_env_pair(cmd, "JOBRUNNER_RUN_ID", u->run.id);
		jr_cmd_env_pair(cmd, "JOBRUNNER_JOB", u->job->name);
		jr_cmd_env_pair(cmd, "JOBRUNNER_STATUS", jr_run_status_name(status));
		jr_cmd_env_pair(cmd, "JOBRUNNER_EXIT_CODE", code);
		jr_cmd_set_cwd(cmd, u->job->cwd);
		if (logpath) {
			jr_cmd_set_output_file(cmd, logpath, JR_FILE_APPEND);
			jr_cmd_merge_stderr(cmd);
		}
		jr_cmd_set_timeout(cmd, HOOK_TIMEOUT_MS, u->job->kill_grace_ms);
		jr_cmd_set_kill_leftovers(cmd, true);
		if (jr_cmd_start(cmd) < 0) {
			char *red = redact(u->job, jr_cmd_error(cmd));

			say(s, "%s hook of %s (run %s): %s", kind, u->job->name, u->run.id, red);
			free(red);
			jr_cmd_free(cmd);
			continue;
		}
		jr_xgrow((void **)&s->hooks, &s->ahooks, s->nhooks + 1, sizeof(*s->hooks));
		h = &s->hooks[s->nhooks++];
		h->cmd = cmd;
		{
			char *what = jr_xasprintf("%s hook '%s' of %s (run %s)", kind,
						  lists[i].v[0], u->job->name, u->run.id);

			h->what = redact(u->job, what); /* its path may hold a secret */
			free(what);
		}
	}
	free(logpath);
}

static void hook_finished(struct sched *s, size_t i)
{
	struct hook *h = &s->hooks[i];
	const struct jr_cmd_result *r = jr_cmd_result(h->cmd);

	if (r->timed_out)
		say(s, "%s timed out", h->what);
	else if (r->signal)
		say(s, "%s killed by signal %d", h->what, r->signal);
	else if (r->exit_code)
		say(s, "%s exited with code %d", h->what, r->exit_code);
	jr_cmd_free(h->cmd);
	free(h->what);
	s->hooks[i] = s->hooks[--s->nhooks];
}

/* ---- attempts ---- */

/* Whether the filesystem of log file fd (-1: none) is full: less room
 * than a write of a few pages needs, for this user (root may use the
 * blocks reserved to it). */
static bool log_full(int fd)
{
	struct statvfs sv;
	unsigned long long room;

	/* (no block count: a filesystem that does not tell, as some FUSE
	 * ones do) */
	if (fd < 0 || fstatvfs(fd, &sv) < 0 || sv.f_blocks == 0)
		return false;
	room = (unsigned long long)(geteuid() == 0 ? sv.f_bfree : sv.f_bavail) * sv.f_frsize;
	return room < 64 * 1024;
}

static void free_paths(struct unit *u)
{
	free(u->stdout_path);
	free(u->stderr_path);
	free(u->out_live);
	free(u->err_live);
	u->stdout_path = u->stderr_path = u->out_live = u->err_live = NULL;
}

/* The directory of u's job's logs, made (private) on first use: only
 * kept logs and hooks' output need it. */
static int job_log_dir(struct sched *s, struct unit *u, struct jr_err *err)
{
	struct jobstate *js = &s->js[u->js];

	if (js->logdir_state == LOGDIR_MADE)
		return 0;
	/* log_dir itself is private (checked at start), so nobody else can
	 * replace the directory afterwards. */
	if (ensure_private_dir(js->logdir, err) < 0)
		return -1;
	js->logdir_state = LOGDIR_MADE;
	return 0;
}

/* Ends the log at *fd (file *live, going to dest): the tail of what it
 * holds, redacted, or NULL when it is empty. *recorded gets where the log
 * is for the run's row: dest, even when an empty log is not kept. */
static char *log_end(struct sched *s, struct unit *u, int *fd, char **live, const char *dest,
		     enum jr_log_reuse reuse, const char **recorded)
{
	struct jr_err e = JR_ERR_INIT;
	char *red = NULL;

	*recorded = dest;
	if (*fd < 0)
		return NULL;
	if (jr_log_end(s->logs, *fd, live, reuse) == 1) {
		/* A log that cannot go to its place stays where it is, and the
		 * row says so: never lost. */
		if (job_log_dir(s, u, &e) < 0 || jr_log_move(live, dest) < 0)
			say(s, "run %s: log kept at %s: %s", u->run.id, *live,
			    e.msg[0] ? e.msg : strerror(errno));
		red = stored_tail(u, *live, 0, false);
		*recorded = *live;
	}
	*fd = -1;
	return red;
}

/* Gives back the unused log files of an attempt that did not start (its
 * paths go with free_paths). */
static void logs_release(struct sched *s, struct unit *u)
{
	if (u->out_fd >= 0 && jr_log_end(s->logs, u->out_fd, &u->out_live, JR_LOG_REUSE) == 1)
		unlink(u->out_live);
	if (u->err_fd >= 0 && jr_log_end(s->logs, u->err_fd, &u->err_live, JR_LOG_REUSE) == 1)
		unlink(u->err_live);
	u->out_fd = u->err_fd = -1;
}

/* Where what an attempt writes to a job's own output file begins: the
 * end of the file it appends to, as the attempt starts (0 for a file it
 * truncates, or one that does not exist yet). */
static int64_t file_start(const struct jr_io *io)
{
	struct stat st;

	if (io->kind != JR_IO_FILE || !io->append || stat(io->path, &st) < 0)
		return 0;
	return (int64_t)st.st_size;
}

/* The tail of a job's own output file (stdout/stderr: {file: ...}): of
 * what the attempt wrote, from where the file ended as it started (an
 * earlier run's output in a file appended to is not this one's). */
static char *file_tail(struct unit *u, const struct jr_io *io, int64_t from)
{
	if (io->kind != JR_IO_FILE)
		return NULL;
	return stored_tail(u, io->path, from, true);
}

/* Finishes the current attempt's row from cmd's result (cmd may be NULL
 * when the start failed, with why saying how). Then retries or ends. */
static int attempt_done(struct sched *s, struct unit *u, const char *why, struct jr_err *err)
{
	const struct jr_cmd_result *r = u->cmd ? jr_cmd_result(u->cmd) : NULL;
	struct jr_buf msg = JR_BUF_INIT;
	char *out_tail = NULL, *err_tail = NULL, *red_err = NULL;
	enum jr_run_status status;
	/* A log file whose every writer is gone may serve the next run; one
	 * that a daemon escaped from the job may still write to may not. A
	 * start that failed left no process. */
	enum jr_log_reuse reuse = !r || r->alone ? JR_LOG_REUSE : JR_LOG_NO_REUSE;
	size_t i, nsig = 0;
	bool stopped = false; /* by jobrunner's own failure (jr_sched_run) */
	int ret = 0;

	if (!r) {
		status = JR_RUN_FAILED;
		jr_buf_adds(&msg, why);
		u->run.finished_ms = jr_now_ms();
		u->run.duration_ms = 0;
	} else {
		const struct jr_cmd_signal *sigs = jr_cmd_signals(u->cmd, &nsig);

		if (u->machine)
			u->run.machine = u->machine;
		u->run.exit_code = r->exit_code;
		u->run.signal = r->signal;
		u->run.pid = r->pid;
		u->run.started_ms = r->started_ms;
		u->run.finished_ms = r->finished_ms;
		u->run.duration_ms = r->duration_ms;
		u->run.user_ms = r->user_ms;
		u->run.sys_ms = r->sys_ms;
		u->run.max_rss_kb = r->max_rss_kb;
		u->run.leftovers = r->leftovers;
		for (i = 0; s->fatal && i < nsig; i++)
			if (sigs[i].reason == JR_KILL_ERROR)
				stopped = true;
		if (r->interrupted) {
			status = JR_RUN_FAILED;
			jr_buf_adds(&msg, "interrupted");
		} else if (stopped) {
			status = JR_RUN_FAILED;
			jr_buf_addf(&msg, "stopped: jobrunner failed: %s", s->fatal);
		} else if (r->timed_out) {
			status = JR_RUN_TIMED_OUT;
			jr_buf_addf(&msg, "timed out after %lld ms",
				    (long long)u->job->timeout_ms);
		} else if (r->signal) {
			status = JR_RUN_FAILED;
			jr_buf_addf(&msg, "killed by signal %d (%s)%s", r->signal,
				    strsignal(r->signal), r->core_dumped ? ", core dumped" : "");
		} else if (r->exit_code) {
			status = JR_RUN_FAILED;
			jr_buf_addf(&msg, "exit code %d", r->exit_code);
		} else {
			status = JR_RUN_SUCCEEDED;
		}
		if (r->leftovers)
			jr_buf_addf(&msg, "%s%d process%s left behind, killed", msg.len ? "; " : "",
				    r->leftovers, r->leftovers == 1 ? "" : "es");
		for (i = 0; i < nsig; i++)
			if (jr_store_run_signal(s->st, u->run.id, sigs[i].sig, sigs[i].at_ms,
						jr_kill_reason_name(sigs[i].reason), err) < 0)
				ret = -1;
	}
	/* A full log_dir cuts the job's output short, and a job that fails
	 * to write (as most do then) fails without a word where its stderr
	 * went: say why, on the run and once to the user. (Both logs are in
	 * log_dir: one look is enough.) */
	if (r && log_full(u->out_fd >= 0 ? u->out_fd : u->err_fd)) {
		if (status != JR_RUN_SUCCEEDED)
			jr_buf_addf(&msg, "%slog_dir is full: output cut short",
				    msg.len ? "; " : "");
		if (!s->said_log_full) {
			s->said_log_full = true;
			say(s, "%s: no space left: the jobs' output is cut short", s->cfg->log_dir);
		}
	}
	/* A job's own files hold what it wrote only if it ran (an attempt
	 * that never started has no from offsets either). */
	if (u->out_fd >= 0)
		out_tail = log_end(s, u, &u->out_fd, &u->out_live, u->stdout_path, reuse,
				   &u->run.stdout_path);
	else if (r)
		out_tail = file_tail(u, &u->job->out, u->out_from);
	if (u->err_fd >= 0)
		err_tail = log_end(s, u, &u->err_fd, &u->err_live, u->stderr_path, reuse,
				   &u->run.stderr_path);
	else if (r)
		err_tail = file_tail(u, &u->job->err, u->err_from);
	if (u->job->err.kind == JR_IO_STDOUT)
		u->run.stderr_path = u->run.stdout_path;
	red_err = msg.len ? redact(u->job, msg.buf) : NULL;
	u->run.status = status;
	u->run.stdout_tail = out_tail;
	u->run.stderr_tail = err_tail;
	u->run.error = red_err;
	if (jr_store_run_finish(s->st, &u->run, err) < 0)
		ret = -1;
	count_status(s, status);
	jr_cmd_free(u->cmd);
	u->cmd = NULL;

	if (status == JR_RUN_SUCCEEDED) {
		start_hooks(s, u, status);
		unit_done(s, u, status, false);
	} else if (u->attempt <= u->job->retry.count && !s->stopping && !s->fatal) {
		u->state = U_RETRY;
		u->next_mono = jr_mono_ms() + u->delay_ms;
		u->delay_ms = (int64_t)((double)u->delay_ms * u->job->retry.backoff);
	} else {
		note_failure(s, u, red_err ? red_err : jr_run_status_name(status));
		/* An operator's interrupt is not the job failing: no hooks; nor
		 * after jobrunner failed, which would kill them at once. */
		if (!s->stopping && !s->fatal)
			start_hooks(s, u, status);
		unit_done(s, u, status, false);
	}
	free(out_tail);
	free(err_tail);
	free(red_err);
	free_paths(u);
	jr_buf_release(&msg);
	return ret;
}

/* Records the next attempt of u as `running`, in the step's batch: its
 * process starts once the batch is committed (attempt_launch). Its logs
 * are files in use (logfile.h), which its row names until it ends. */
static int attempt_begin(struct sched *s, struct unit *u, struct jr_err *err)
{
	struct jobstate *js = &s->js[u->js];
	int tries = 0;

	/* Refused before the job runs if it exists and is not private; made
	 * only when a kept log needs it (job_log_dir). */
	if ((u->job->out.kind == JR_IO_LOG || u->job->err.kind == JR_IO_LOG) &&
	    js->logdir_state == LOGDIR_UNCHECKED) {
		if (private_dir(js->logdir, DIR_CHECK_ONLY, err) < 0)
			goto fail;
		js->logdir_state = LOGDIR_CHECKED;
	}
	if (u->job->out.kind == JR_IO_LOG &&
	    (u->out_fd = jr_log_open(s->logs, &u->out_live, err)) < 0)
		goto fail;
	if (u->job->err.kind == JR_IO_LOG &&
	    (u->err_fd = jr_log_open(s->logs, &u->err_live, err)) < 0)
		goto fail;
	u->attempt++;
again:
	run_init(s, u);
	u->run.status = JR_RUN_RUNNING;
	u->run.machine = s->host->hostname; /* until the backend names its machine */
	u->run.started_ms = jr_now_ms();
	/* The id names the log files, so it is chosen before the insert. */
	jr_run_id_new(u->run.id);
	free(u->stdout_path);
	free(u->stderr_path);
	u->stdout_path = u->stderr_path = NULL;
	if (u->out_live)
		u->stdout_path = jr_log_kept_path(s->cfg->log_dir, u->job->name, u->run.id,
						  JR_LOG_STDOUT);
	if (u->err_live)
		u->stderr_path = jr_log_kept_path(s->cfg->log_dir, u->job->name, u->run.id,
						  JR_LOG_STDERR);
	u->run.stdout_path = u->out_live ? u->out_live : js->out_file;
	u->run.stderr_path = u->err_live ? u->err_live
			     : js->err_file  ? js->err_file
			     : u->job->err.kind == JR_IO_STDOUT ? u->run.stdout_path
								  : NULL;
	if (jr_store_run_insert(s->st, &u->run, err) < 0) {
		if (err->errnum == EEXIST && ++tries < 8)
			goto again;
		u->attempt--;
		goto fail;
	}
	u->state = U_STARTING;
	act_add(s, u);
	s->nstarting++;
	return 0;
fail:
	logs_release(s, u);
	free_paths(u);
	return -1;
}

/* Starts an attempt whose `running` row is committed. A start that fails
 * is a failed attempt, recorded at once. */
static int attempt_launch(struct sched *s, struct unit *u, struct jr_err *err)
{
	struct jr_err serr = JR_ERR_INIT;
	struct jr_attempt a;

	s->nstarting--;
	memset(&a, 0, sizeof(a));
	a.job = u->job;
	a.target = u->target;
	a.run_id = u->run.id;
	a.attempt = u->attempt;
	a.stdout_fd = u->out_fd;
	a.stderr_fd = u->err_fd;
	u->out_from = file_start(&u->job->out);
	u->err_from = file_start(&u->job->err);
	u->machine = NULL;
	u->cmd = u->backend->start(&s->bctx, &a, &u->machine, &serr);
	if (!u->cmd)
		return attempt_done(s, u, serr.msg[0] ? serr.msg : "could not start", err);
	u->state = U_RUNNING;
	u->pid_saved = false;
	u->started_mono = jr_mono_ms();
	s->nrunning++;
	return 0;
}

/* ---- the loop ---- */

/* Whether u can start now: 1 yes, 0 not yet, or it was ended (skipped). */
static int unit_ready(struct sched *s, struct unit *u, struct jr_err *err)
{
	struct jobstate *js = &s->js[u->js];
	size_t i;

	for (i = 0; js->needs[i] != SIZE_MAX; i++) {
		struct jobstate *need = &s->js[js->needs[i]];

		if (need->ndone < need->nunits)
			return 0;
		if (need->nok < need->nunits) {
			/* A need another invocation is running (forbid) did not
			 * fail, but it did not succeed here either: say which. */
			char *why = jr_xasprintf(need->lock_busy
						     ? "need '%s' did not run here: another jobrunner "
						       "is running it (concurrency: forbid)"
						     : "need '%s' did not succeed",
						 need->job->name);
			int r = record_unstarted(s, u, JR_RUN_SKIPPED, why, false, err);

			free(why);
			return r < 0 ? -1 : 0;
		}
	}
	if (!u->backend) {
		char *why = jr_xasprintf("no backend can run it: %s", u->decision.buf);
		int r = record_unstarted(s, u, JR_RUN_UNRUNNABLE, why, false, err);

		free(why);
		return r < 0 ? -1 : 0;
	}
	if (u->job->concurrency == JR_CONC_ALLOW || js->lock_fd >= 0)
		return 1;
	if (js->lock_busy)
		goto busy;
	if (u->state == U_LOCKWAIT && jr_mono_ms() < u->next_mono)
		return 0;
	if (!js->lock_path)
		js->lock_path = jr_xasprintf("%s/%s.lock", s->lock_dir, u->job->name);
	{
		int fd = open_lock(js->lock_path, err);

		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			js->lock_fd = fd;
			return 1;
		}
		close(fd);
		if (errno != EWOULDBLOCK)
			return jr_err_sys(err, errno, "flock %s", js->lock_path);
	}
	if (u->job->concurrency == JR_CONC_QUEUE) {
		u->state = U_LOCKWAIT;
		act_add(s, u);
		u->next_mono = jr_mono_ms() + LOCK_RETRY_MS;
		return 0;
	}
	js->lock_busy = true;
busy: {
		char *why = jr_xasprintf("already running: another jobrunner holds %s (concurrency: forbid)",
					 js->lock_path);
		/* Another invocation runs the job: no failure of this one. */
		int r = record_unstarted(s, u, JR_RUN_SKIPPED, why, !s->stopping, err);

		free(why);
		return r < 0 ? -1 : 0;
	}
}

static void progress(struct sched *s, bool final)
{
	char el[32];

	if (s->opts->progress != JR_PROGRESS_TTY)
		return;
	jr_fmt_duration(jr_mono_ms() - s->start_mono, el, sizeof(el));
	fprintf(stderr, "\r\033[Kjobrunner: %zu/%zu done, %zu running, %d failed, %s%s", s->ndone,
		s->nu, s->nrunning, s->sum->units_failed, el, final ? "\n" : "");
	fflush(stderr);
	s->last_progress = jr_mono_ms();
	s->progress_shown = !final;
}

/* After an error in a step, which stops jobrunner (cause), before the
 * commit: what the step recorded is true (attempts that ended, runs
 * skipped), but for the `running` rows of the attempts it was to start.
 * Those become attempts that failed to start, and the step is committed:
 * 0, or -1 when it cannot be (nothing of it is then recorded). */
static int keep_step(struct sched *s, const struct jr_err *cause)
{
	struct jr_err e = JR_ERR_INIT;
	char *why = jr_xasprintf(FATAL_UNSTARTED, cause->msg);
	size_t i;
	int ret = 0;

	s->fatal = cause->msg;
	for (i = 0; i < s->nact && ret == 0; i++) {
		struct unit *u = &s->u[s->act[i]];

		if (u->state == U_STARTING) {
			s->nstarting--;
			ret = attempt_done(s, u, why, &e);
		}
	}
	free(why);
	if (ret == 0)
		ret = jr_store_batch_commit(s->st, &e);
	if (ret < 0) /* the step's ends are then lost: ending the invocation marks them */
		say(s, "recording the last step: %s", e.msg);
	return ret;
}

/* One step of the loop, in one transaction: the rows of the attempts that
 * ended (and their retries, hooks), then `running` rows for the attempts
 * that fill the free slots, then the pids of attempts already running
 * (when the transaction is written anyway, or PID_WRITE_MS after their
 * start). After the commit, the new attempts start: each process starts
 * only once its row is durable, and one commit records both an attempt's
 * end and its successor's start. Returns 1 when a start failed at once
 * (recorded then): its slot is free again, for another step before any
 * wait; else 0, or -1 on error. */
static int step(struct sched *s, struct jr_err *err)
{
	int64_t now = jr_mono_ms();
	size_t i;
	int r, freed = 0;
	bool changed = false; /* counts on the progress line */

	act_prune(s);
	if (jr_store_batch_begin(s->st, err) < 0)
		return -1;
	for (i = 0; i < s->nact; i++) {
		struct unit *u = &s->u[s->act[i]];

		if (u->state == U_REAPED) {
			if (attempt_done(s, u, NULL, err) < 0)
				goto fail;
			changed = true;
		}
	}
	for (i = s->live; i < s->nu && !s->stopping; i++) {
		struct unit *u = &s->u[i];

		if ((int)(s->nrunning + s->nstarting) >= s->opts->parallel)
			break;
		if (u->state != U_WAITING && u->state != U_LOCKWAIT && u->state != U_RETRY)
			continue;
		if (u->state == U_RETRY) {
			if (now < u->next_mono)
				continue;
		} else {
			r = unit_ready(s, u, err);
			if (r < 0)
				goto fail;
			if (r == 0)
				continue;
		}
		if (attempt_begin(s, u, err) < 0)
			goto fail;
	}
	for (i = 0; i < s->nact; i++) {
		struct unit *u = &s->u[s->act[i]];

		if (u->state != U_RUNNING || u->pid_saved)
			continue;
		if (!jr_store_batch_written(s->st) && now < u->started_mono + PID_WRITE_MS)
			continue;
		u->run.pid = jr_cmd_pid(u->cmd);
		if (jr_store_run_set_pid(s->st, u->run.id, u->run.pid, err) < 0)
			goto fail;
		u->pid_saved = true;
	}
	if (jr_store_batch_commit(s->st, err) < 0)
		goto fail_committed;
	for (i = 0; i < s->nact && s->nstarting; i++) {
		struct unit *u = &s->u[s->act[i]];

		if (u->state != U_STARTING)
			continue;
		/* A signal that came while the step waited for the database
		 * (db_wait) stops what it was about to start. */
		if (s->stopping) {
			s->nstarting--;
			if (attempt_done(s, u, INTERRUPTED_UNSTARTED, err) < 0)
				return -1;
			changed = true;
			continue;
		}
		if (attempt_launch(s, u, err) < 0)
			return -1;
		if (u->state != U_RUNNING)
			freed = 1;
		changed = true;
	}
	/* Once, after the step's successors started: drawn between an end
	 * and the start it frees a slot for, the line would say fewer
	 * running than the batch runs. */
	if (changed)
		progress(s, false);
	/* Attempts reaped while the step waited for the database, after it
	 * looked for them, are for another step: nothing else would wake
	 * the loop for them. */
	if (s->wait_reaped) {
		s->wait_reaped = false;
		freed = 1;
	}
	return freed;
fail:
	if (keep_step(s, err) == 0)
		return -1;
	jr_store_batch_abort(s->st);
fail_committed:
	/* Nothing of this step is recorded: what was to start has not. */
	for (i = 0; i < s->nact; i++) {
		struct unit *u = &s->u[s->act[i]];

		if (u->state == U_STARTING) {
			u->state = U_WAITING;
			u->attempt--;
			logs_release(s, u);
			free_paths(u);
		}
	}
	s->nstarting = 0;
	return -1;
}

/* Ends every unit that has not started, recorded skipped for why: on an
 * interrupt, or after jobrunner failed. */
static int skip_rest(struct sched *s, const char *why, struct jr_err *err)
{
	struct jr_err e = JR_ERR_INIT;
	size_t i;
	int ret = 0;

	/* Each one counted and named in the summary, also when its row
	 * cannot be written (the first error is returned). */
	for (i = s->live; i < s->nu; i++) {
		struct unit *u = &s->u[i];

		if (u->state == U_WAITING || u->state == U_LOCKWAIT || u->state == U_RETRY) {
			if (u->state == U_RETRY)
				u->attempt++; /* the retry that will not happen */
			if (record_unstarted(s, u, JR_RUN_SKIPPED, why, false, ret ? &e : err) < 0)
				ret = -1;
		}
	}
	return ret;
}

static void handle_signals(struct sched *s)
{
	unsigned char c;
	size_t i;

	while (read(sig_pipe[0], &c, 1) == 1) {
		if (c == SIGCHLD)
			continue;
		if (s->stopping)
			continue;
		s->stopping = c;
		say(s, "%s: stopping; terminating %zu running job%s",
		    c == SIGINT ? "interrupted" : c == SIGHUP ? "hangup" : "terminated", s->nrunning,
		    s->nrunning == 1 ? "" : "s");
		for (i = 0; i < s->nact; i++)
			if (s->u[s->act[i]].state == U_RUNNING)
				jr_cmd_terminate(s->u[s->act[i]].cmd, JR_KILL_INTERRUPT);
		for (i = 0; i < s->nhooks; i++)
			jr_cmd_terminate(s->hooks[i].cmd, JR_KILL_INTERRUPT);
	}
	jr_spawn_reap_orphans();
}

/* Polls the running attempts: those that ended are reaped (U_REAPED), to
 * be recorded by the next step. Whether one was. */
static bool reap_pass(struct sched *s)
{
	bool reaped = false;
	size_t i;

	for (i = 0; i < s->nact; i++) {
		struct unit *u = &s->u[s->act[i]];

		if (u->state != U_RUNNING)
			continue;
		if (jr_cmd_poll(u->cmd) == 1) {
			u->state = U_REAPED;
			s->nrunning--;
			reaped = true;
		}
	}
	return reaped;
}

/* How long a step waits for a write lock another process holds on the
 * database (an open sqlite3 transaction, say) before jobrunner gives up
 * (an error, exit 2): the jobs running go on meanwhile (db_wait), none
 * starts. After a signal or an error, only DB_WAIT_STOPPING_MS more, to
 * record what is known. */
#define DB_WAIT_MS	    (10 * 60 * 1000)
#define DB_WAIT_STOPPING_MS 10000
/* On a terminal, a wait this long is said. */
#define DB_WAIT_SAY_MS 2000

/* jr_store_wait_fn of the batch: while a write waits for the database's
 * lock, the running attempts are still reaped when they end (their end
 * time is when they ended, not when the lock came free), timed out,
 * and signals are handled; nothing here uses the store, which is in the
 * middle of a statement: hooks that ended are finished by the loop. */
static bool db_wait(void *arg, int64_t waited_ms)
{
	struct sched *s = arg;
	size_t i;

	if (s->wait_gave_up)
		return false;
	if (waited_ms == 0) {
		s->wait_said = false;
		s->wait_stop_mono = 0;
	}
	/* (After a fatal error, a signal changes nothing: the error is what
	 * ends the batch.) */
	if (!s->fatal)
		handle_signals(s);
	if (reap_pass(s))
		s->wait_reaped = true;
	for (i = 0; i < s->nhooks; i++)
		jr_cmd_poll(s->hooks[i].cmd);
	if ((s->stopping || s->fatal) && !s->wait_stop_mono)
		s->wait_stop_mono = jr_mono_ms() + DB_WAIT_STOPPING_MS;
	if (waited_ms >= DB_WAIT_SAY_MS && !s->wait_said &&
	    s->opts->progress == JR_PROGRESS_TTY) {
		s->wait_said = true;
		say(s, "waiting for the database: another process holds its write lock "
		       "(an open sqlite3 transaction?)");
	}
	/* Given up once, jobrunner stops on that error: its later writes
	 * (what it knows, on the way out) do not wait again. */
	if ((s->wait_stop_mono && jr_mono_ms() >= s->wait_stop_mono) || waited_ms >= DB_WAIT_MS)
		s->wait_gave_up = true;
	return !s->wait_gave_up;
}

static int loop(struct sched *s, struct jr_err *err)
{
	struct pollfd *pfd = NULL;
	size_t apfd = 0;

	for (;;) {
		int64_t now, wake = -1, dl;
		size_t i, n = 0;
		int timeout, k, r;
		bool free_slot, reaped = false;

		/* The steps that end attempts also fill their slots; one whose
		 * start failed at once, with nothing to wake us, is filled now. */
		while ((r = step(s, err)) > 0)
			;
		if (r < 0)
			goto fail;
		if (s->stopping && skip_rest(s, INTERRUPTED_UNSTARTED, err) < 0)
			goto fail;
		if (s->ndone == s->nu && s->nhooks == 0)
			break;
		/* Descriptors: the signal pipe, then each running command's. */
		jr_xgrow((void **)&pfd, &apfd, 1, sizeof(*pfd));
		pfd[n].fd = sig_pipe[0];
		pfd[n].events = POLLIN;
		n++;
		now = jr_mono_ms();
		free_slot = s->nrunning + s->nstarting < (size_t)s->opts->parallel;
		for (i = 0; i < s->nact; i++) {
			struct unit *u = &s->u[s->act[i]];

			/* A retry or lock wait that came due can only start in
			 * a free slot: with none, a process's end wakes us. */
			if ((u->state == U_RETRY || u->state == U_LOCKWAIT) && free_slot &&
			    (wake < 0 || u->next_mono < wake))
				wake = u->next_mono;
			if (u->state != U_RUNNING)
				continue;
			if (!u->pid_saved && (wake < 0 || u->started_mono + PID_WRITE_MS < wake))
				wake = u->started_mono + PID_WRITE_MS;
			jr_xgrow((void **)&pfd, &apfd, n + 4, sizeof(*pfd));
			n += (size_t)jr_cmd_pollfds(u->cmd, pfd + n, 4);
			dl = jr_cmd_deadline(u->cmd);
			if (dl >= 0 && (wake < 0 || dl < wake))
				wake = dl;
		}
		for (i = 0; i < s->nhooks; i++) {
			jr_xgrow((void **)&pfd, &apfd, n + 4, sizeof(*pfd));
			n += (size_t)jr_cmd_pollfds(s->hooks[i].cmd, pfd + n, 4);
			dl = jr_cmd_deadline(s->hooks[i].cmd);
			if (dl >= 0 && (wake < 0 || dl < wake))
				wake = dl;
		}
		if (s->opts->progress == JR_PROGRESS_TTY) {
			dl = s->last_progress + PROGRESS_EVERY_MS;
			if (wake < 0 || dl < wake)
				wake = dl;
		}
		timeout = wake < 0 ? -1 : wake <= now ? 0 : (int)(wake - now);
		k = poll(pfd, (nfds_t)n, timeout);
		if (k < 0 && errno != EINTR) {
			jr_err_sys(err, errno, "poll");
			goto fail;
		}
		handle_signals(s);
		reaped = reap_pass(s);
		for (i = 0; i < s->nhooks;)
			if (jr_cmd_poll(s->hooks[i].cmd) == 1)
				hook_finished(s, i);
			else
				i++;
		/* (After an end, the next step draws it, once it is recorded
		 * and the successors started.) */
		if (s->opts->progress == JR_PROGRESS_TTY && !reaped &&
		    jr_mono_ms() >= s->last_progress + PROGRESS_EVERY_MS)
			progress(s, false);
	}
	free(pfd);
	return 0;
fail:
	free(pfd);
	return -1;
}

/* ---- setup and teardown ---- */

void jr_sched_summary_release(struct jr_sched_summary *sum)
{
	jr_buf_release(&sum->failures);
}

static void sched_release(struct sched *s)
{
	size_t i;

	for (i = 0; i < s->nu; i++) {
		struct unit *u = &s->u[i];

		if (u->cmd) /* only after a fatal error: kill and reap */
			jr_cmd_free(u->cmd);
		free(u->target_json);
		jr_buf_release(&u->decision);
		/* Only after a fatal error: the logs stay where their row says. */
		if (u->out_fd >= 0)
			jr_log_end(s->logs, u->out_fd, &u->out_live, JR_LOG_NO_REUSE);
		if (u->err_fd >= 0)
			jr_log_end(s->logs, u->err_fd, &u->err_live, JR_LOG_NO_REUSE);
		free_paths(u);
	}
	for (i = 0; i < s->nhooks; i++) {
		jr_cmd_free(s->hooks[i].cmd);
		free(s->hooks[i].what);
	}
	for (i = 0; i < s->njs; i++) {
		if (s->js[i].lock_fd >= 0)
			close(s->js[i].lock_fd);
		free(s->js[i].needs);
		free(s->js[i].lock_path);
		free(s->js[i].logdir);
		free(s->js[i].out_file);
		free(s->js[i].err_file);
	}
	free(s->hooks);
	free(s->act);
	free(s->u);
	free(s->js);
	free(s->lock_dir);
	jr_logpool_free(s->logs);
}

static int build_units(struct sched *s, struct jr_job **jobs, size_t n)
{
	size_t **needs = resolve_needs(jobs, n);
	size_t i, j, total = 0;

	s->js = jr_xcalloc(n ? n : 1, sizeof(*s->js));
	s->njs = n;
	for (i = 0; i < n; i++)
		total += jobs[i]->ntargets;
	s->u = jr_xcalloc(total ? total : 1, sizeof(*s->u));
	for (i = 0; i < n; i++) {
		struct jobstate *js = &s->js[i];

		js->job = jobs[i];
		js->lock_fd = -1;
		js->logdir = jr_xasprintf("%s/%s", s->cfg->log_dir, jobs[i]->name);
		if (jobs[i]->out.kind == JR_IO_FILE)
			js->out_file = jr_job_redact_dup(jobs[i], jobs[i]->out.path, NULL);
		if (jobs[i]->err.kind == JR_IO_FILE)
			js->err_file = jr_job_redact_dup(jobs[i], jobs[i]->err.path, NULL);
		js->needs = needs[i];
		for (j = 0; j < jobs[i]->ntargets; j++) {
			struct unit *u = &s->u[s->nu++];

			u->job = jobs[i];
			u->js = i;
			u->target = &jobs[i]->targets[j];
			/* Shown and stored: a secret in it is hidden. */
			u->target_json = jr_job_redact_json(jobs[i], jr_target_json(u->target));
			jr_buf_init(&u->decision);
			u->backend = jr_backend_resolve(&s->bctx, u->job, u->target, &u->decision);
			u->delay_ms = u->job->retry.delay_ms;
			u->out_fd = u->err_fd = -1;
			js->nunits++;
		}
	}
	free(needs); /* the lists went to the jobstates */
	return 0;
}

int jr_sched_run(const struct jr_config *cfg, const struct jr_machine *host, struct jr_store *st,
		 struct jr_job **jobs, size_t n, const struct jr_sched_opts *opts,
		 struct jr_sched_summary *sum, struct jr_err *err)
{
	struct sched s;
	struct saved_sigs old;
	char *dbdir, *running_dir;
	size_t i;
	int ret = -1, exit_status;

	memset(&s, 0, sizeof(s));
	memset(sum, 0, sizeof(*sum));
	jr_buf_init(&sum->failures);
	s.cfg = cfg;
	s.host = host;
	s.st = st;
	s.opts = opts;
	s.sum = sum;
	s.bctx.cfg = cfg;
	s.bctx.host = host;
	s.start_mono = jr_mono_ms();
	s.last_progress = s.start_mono;

	/* Orphans that escape a job's group re-parent to us and are reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	dbdir = jr_xstrdup(cfg->database);
	if (strrchr(dbdir, '/'))
		*strrchr(dbdir, '/') = '\0';
	s.lock_dir = jr_xasprintf("%s/locks", dbdir);
	free(dbdir);
	running_dir = jr_xasprintf("%s/" JR_LOG_RUNNING_DIR, cfg->log_dir);
	if (make_private_dir(s.lock_dir, err) < 0 || make_private_dir(cfg->log_dir, err) < 0 ||
	    make_private_dir(running_dir, err) < 0) {
		free(running_dir);
		goto out_noinv;
	}
	/* Enough spares for every slot's stdout and stderr, and a few more. */
	s.logs = jr_logpool_new(running_dir, 2 * (size_t)opts->parallel + 4);
	free(running_dir);
	if (jr_store_checkpoint_in_background(st, err) < 0)
		goto out_noinv;
	/* Every job's definition, in one transaction. */
	if (jr_store_batch_begin(st, err) < 0)
		goto out_noinv;
	for (i = 0; i < n; i++)
		if (jr_store_job_seen(st, jobs[i]->name, jobs[i]->hash, jobs[i]->source_file,
				      jobs[i]->canonical_json, err) < 0) {
			jr_store_batch_abort(st);
			goto out_noinv;
		}
	if (jr_store_batch_commit(st, err) < 0)
		goto out_noinv;
	build_units(&s, jobs, n);
	if (jr_store_invocation_begin(st, opts->argc, opts->argv, &s.invocation_id, err) < 0)
		goto out_noinv;
	sum->invocation_id = s.invocation_id;
	if (signals_setup(&old, err) < 0)
		goto out_inv;
	progress(&s, false);
	jr_store_set_wait(st, db_wait, &s);
	ret = loop(&s, err);
	/* After a fatal error, stop what still runs (all at once: each may
	 * take its grace) and record it, and what did not start, as ended by
	 * that error (signal reason "error"), not by an interrupt (unless one
	 * came first). */
	if (ret < 0) {
		struct jr_err e2 = JR_ERR_INIT;
		char *why;

		jr_store_batch_abort(st);
		s.fatal = err->msg;
		for (i = 0; i < s.nu; i++)
			if (s.u[i].cmd && s.u[i].state == U_RUNNING)
				jr_cmd_terminate(s.u[i].cmd, JR_KILL_ERROR);
		for (i = 0; i < s.nu; i++)
			if (s.u[i].cmd) {
				if (s.u[i].state == U_RUNNING)
					jr_cmd_wait(s.u[i].cmd, NULL);
				attempt_done(&s, &s.u[i], NULL, &e2);
			}
		why = s.stopping ? jr_xstrdup(INTERRUPTED_UNSTARTED)
				 : jr_xasprintf(FATAL_UNSTARTED, err->msg);
		skip_rest(&s, why, &e2);
		free(why);
	}
	jr_store_set_wait(st, NULL, NULL);
	progress(&s, true);
	signals_restore(&old);
	sum->interrupted = s.stopping;
	jr_spawn_reap_orphans();
out_inv:
	exit_status = s.stopping ? 128 + s.stopping : ret < 0 ? 2 : sum->units_failed ? 1 : 0;
	{
		struct jr_err e2 = JR_ERR_INIT;

		if (jr_store_invocation_end(st, s.invocation_id, exit_status, ret < 0 ? &e2 : err) < 0)
			ret = -1;
	}
out_noinv:
	sum->elapsed_ms = jr_mono_ms() - s.start_mono;
	sched_release(&s);
	return ret;
}
