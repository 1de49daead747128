/* spawn: the one place where jobrunner creates processes (see spawn.h).
 *
 * Every child is created the same way, with every signal blocked in the
 * parent and everything allocated beforehand, and runs spawn_child.c until
 * exec, reporting a failed step as {step, errno}: in memory it shares with
 * the suspended parent (clone), or on a CLOEXEC pipe (fork; and the first
 * clone child of a process reports on both, which shows whether its memory
 * is really shared: under valgrind it is not, and the pipe stays):
 *  - clone(CLONE_VM | CLONE_VFORK) on a separate stack: what glibc's
 *    posix_spawn does (no page-table copy, so it stays fast when the parent
 *    is large), but it can also chdir, set umask, rlimits, user and group,
 *    and tell exactly which step failed. We do not call posix_spawn itself:
 *    it cannot name the failed step, and jobrunner/spawn.h shadows the
 *    system <spawn.h> on the include path (-Ijobrunner).
 *  - fork where sharing memory is not possible: daemonize forks again in
 *    the child, and AddressSanitizer cannot follow a CLONE_VM child that
 *    runs instrumented code on a foreign stack (it reports bogus stack
 *    overflows and corrupts the parent's shadow state).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn.h"
#include "spawn_internal.h"
#include "util.h"

#include "banned.h"

#if defined(__SANITIZE_ADDRESS__)
#define JR_SPAWN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JR_SPAWN_ASAN 1
#endif
#endif
#ifndef JR_SPAWN_ASAN
#define JR_SPAWN_ASAN 0
#endif

extern char **environ;

#define JR_DEFAULT_PATH	    "/usr/local/bin:/usr/bin:/bin"
#define JR_DEFAULT_GRACE_MS 10000
#define JR_DRAIN_MS	    1000 /* pipe draining allowed after a kill */
#define JR_RECHECK_MS	    20	 /* re-scan while waiting for a group to empty */
#define JR_NOPIDFD_POLL_MS  10	 /* waitpid polling without pidfd */
#define JR_CHILD_STACK	    (32 * 1024)
#define JR_PIPE_SIZE	    (1024 * 1024)

enum io_kind { IO_NULL, IO_FD, IO_FILE, IO_BUFFER };

struct io_spec {
	enum io_kind kind;
	int fd;
	char *path;
	enum jr_file_mode mode;
	size_t cap;
};

struct fd_map {
	int parent, child;
};

enum cmd_state { ST_NEW, ST_RUNNING, ST_DONE, ST_FAILED };

struct jr_cmd {
	char *path;
	char **argv;
	size_t argc, argv_alloc;
	char **env;
	size_t nenv, env_alloc;
	bool lc_all_default, locale_explicit;

	char *cwd;
	bool set_umask;
	mode_t umask;
	struct jr_child_rlimit *rlimits;
	size_t nrlimits, rlimits_alloc;
	char *user, *group;
	bool clear_caps;

	struct io_spec in, out, err;
	bool merge_stderr;
	char *in_data;
	size_t in_len, in_off;
	struct fd_map *preserve;
	size_t npreserve, preserve_alloc;

	int64_t timeout_ms, grace_ms;
	bool kill_leftovers;
	bool daemonize;
	char *pidfile;

	struct jr_err error;
	bool failed;

	enum cmd_state state;
	pid_t pid;
	int pidfd;
	int in_fd, out_fd, err_fd; /* parent ends of the pipes */
	struct jr_buf outbuf, errbuf;
	bool out_trunc, err_trunc;
	int64_t start_mono;
	int64_t start_ticks; /* jr_boot_ticks() as it started: its processes began since */
	int64_t timeout_at; /* mono; -1 none */
	bool term_sent, kill_sent;
	enum jr_kill_reason term_reason; /* why TERM was sent: KILL says the same */
	int64_t kill_at;
	bool reaped;
	int64_t reaped_mono;
	enum { LEFT_UNCHECKED, LEFT_TERM_SENT, LEFT_DONE } leftovers;
	int64_t leftover_kill_at;
	int64_t last_kill_mono; /* -1: the core never signalled */
	struct jr_cmd_signal *sigs;
	size_t nsigs, sigs_alloc;
	struct jr_cmd_result res;
};

/* Running commands whose main process is not reaped yet, so that
 * jr_spawn_reap_orphans never steals their exit status. */
static struct jr_cmd **live;
static size_t nlive, live_alloc;
static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;

static void live_add(struct jr_cmd *cmd)
{
	pthread_mutex_lock(&live_lock);
	jr_xgrow((void **)&live, &live_alloc, nlive + 1, sizeof(*live));
	live[nlive++] = cmd;
	pthread_mutex_unlock(&live_lock);
}

static void live_del(struct jr_cmd *cmd)
{
	pthread_mutex_lock(&live_lock);
	for (size_t i = 0; i < nlive; i++) {
		if (live[i] == cmd) {
			live[i] = live[--nlive];
			break;
		}
	}
	/* The array stays for the next command (one job after another would
	 * otherwise allocate and free it each time); it stays reachable. */
	pthread_mutex_unlock(&live_lock);
}

const char *jr_kill_reason_name(enum jr_kill_reason r)
{
	switch (r) {
	case JR_KILL_TIMEOUT:
		return "timeout";
	case JR_KILL_INTERRUPT:
		return "interrupt";
	case JR_KILL_LEFTOVER:
		return "leftover";
	case JR_KILL_FREE:
		return "free";
	case JR_KILL_ERROR:
		return "error";
	}
	return "unknown";
}

/* Remembers the first misuse; later ones are dropped (sticky error). */
static void JR_PRINTF(3, 4) cmd_fail(struct jr_cmd *cmd, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (cmd->failed)
		return;
	va_start(ap, fmt);
	jr_err_vsys(&cmd->error, errnum, fmt, ap);
	va_end(ap);
	cmd->failed = true;
}

static void io_init(struct io_spec *io)
{
	io->kind = IO_NULL;
	io->fd = -1;
	io->path = NULL;
	io->mode = JR_FILE_TRUNCATE;
	io->cap = 0;
}

static void io_reset(struct io_spec *io)
{
	free(io->path);
	io_init(io);
}

static struct jr_cmd *cmd_alloc(void)
{
	struct jr_cmd *cmd = jr_xcalloc(1, sizeof(*cmd));

	io_init(&cmd->in);
	io_init(&cmd->out);
	io_init(&cmd->err);
	cmd->grace_ms = JR_DEFAULT_GRACE_MS;
	cmd->pid = -1;
	cmd->pidfd = -1;
	cmd->in_fd = cmd->out_fd = cmd->err_fd = -1;
	cmd->timeout_at = -1;
	cmd->kill_at = -1;
	cmd->last_kill_mono = -1;
	jr_buf_init(&cmd->outbuf);
	jr_buf_init(&cmd->errbuf);
	jr_xgrow((void **)&cmd->argv, &cmd->argv_alloc, 1, sizeof(*cmd->argv));
	cmd->argv[0] = NULL;
	return cmd;
}

static void argv_push(struct jr_cmd *cmd, char *arg)
{
	jr_xgrow((void **)&cmd->argv, &cmd->argv_alloc, cmd->argc + 2, sizeof(*cmd->argv));
	cmd->argv[cmd->argc++] = arg;
	cmd->argv[cmd->argc] = NULL;
}

struct jr_cmd *jr_cmd_new(const char *path)
{
	struct jr_cmd *cmd = cmd_alloc();

	if (!path || !*path) {
		cmd_fail(cmd, EINVAL, "no program given");
		return cmd;
	}
	cmd->path = jr_xstrdup(path);
	argv_push(cmd, jr_xstrdup(path));
	return cmd;
}

struct jr_cmd *jr_cmd_new_argv(const char *const *argv)
{
	struct jr_cmd *cmd;

	if (!argv || !argv[0])
		return jr_cmd_new(NULL);
	cmd = jr_cmd_new(argv[0]);
	jr_cmd_add_args(cmd, argv + 1);
	return cmd;
}

void jr_cmd_add_arg(struct jr_cmd *cmd, const char *arg)
{
	if (!arg) {
		cmd_fail(cmd, EINVAL, "NULL argument");
		return;
	}
	argv_push(cmd, jr_xstrdup(arg));
}

void jr_cmd_add_argf(struct jr_cmd *cmd, const char *fmt, ...)
{
	struct jr_buf b = JR_BUF_INIT;
	va_list ap;

	jr_buf_init(&b);
	va_start(ap, fmt);
	jr_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	argv_push(cmd, jr_buf_detach(&b, NULL));
}

void jr_cmd_add_arg_pair(struct jr_cmd *cmd, const char *name, const char *value)
{
	if (!name || !value) {
		cmd_fail(cmd, EINVAL, "NULL argument");
		return;
	}
	argv_push(cmd, jr_xasprintf("%s=%s", name, value));
}

void jr_cmd_add_args(struct jr_cmd *cmd, const char *const *args)
{
	for (; args && *args; args++)
		jr_cmd_add_arg(cmd, *args);
}

/* Environment: entries "NAME=VALUE"; setting a name removes its old entry. */
static void env_put(struct jr_cmd *cmd, char *entry)
{
	size_t nlen = (size_t)(strchr(entry, '=') - entry);

	for (size_t i = 0; i < cmd->nenv; i++) {
		if (!strncmp(cmd->env[i], entry, nlen + 1)) {
			free(cmd->env[i]);
			memmove(cmd->env + i, cmd->env + i + 1,
				(cmd->nenv - i - 1) * sizeof(*cmd->env));
			cmd->nenv--;
			break;
		}
	}
	jr_xgrow((void **)&cmd->env, &cmd->env_alloc, cmd->nenv + 2, sizeof(*cmd->env));
	cmd->env[cmd->nenv++] = entry;
	cmd->env[cmd->nenv] = NULL;
}

static const char *env_get(const struct jr_cmd *cmd, const char *name)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < cmd->nenv; i++) {
		if (!strncmp(cmd->env[i], name, nlen) && cmd->env[i][nlen] == '=')
			return cmd->env[i] + nlen + 1;
	}
	return NULL;
}

static bool is_locale_name(const char *name, size_t len)
{
	return (len == 4 && !memcmp(name, "LANG", 4)) || (len == 6 && !memcmp(name, "LC_ALL", 6));
}

void jr_cmd_env_pass_common(struct jr_cmd *cmd)
{
	static const char *const names[] = {"PATH",   "HOME", "USER", "LOGNAME",
					    "TMPDIR", "LANG", "TZ"};

	for (size_t i = 0; i < JR_ARRAY_SIZE(names); i++)
		jr_cmd_env_pass(cmd, names[i]);
	cmd->lc_all_default = true;
}

void jr_cmd_env_pass(struct jr_cmd *cmd, const char *name)
{
	const char *v = name ? getenv(name) : NULL;

	if (v)
		env_put(cmd, jr_xasprintf("%s=%s", name, v));
}

void jr_cmd_env_pair(struct jr_cmd *cmd, const char *name, const char *value)
{
	if (!name || !*name || strchr(name, '=') || !value) {
		cmd_fail(cmd, EINVAL, "invalid environment variable name '%s'",
			 name ? name : "(null)");
		return;
	}
	if (is_locale_name(name, strlen(name)))
		cmd->locale_explicit = true;
	env_put(cmd, jr_xasprintf("%s=%s", name, value));
}

void jr_cmd_env_string(struct jr_cmd *cmd, const char *name_eq_value)
{
	const char *eq = name_eq_value ? strchr(name_eq_value, '=') : NULL;

	if (!eq || eq == name_eq_value) {
		cmd_fail(cmd, EINVAL, "invalid environment string '%s'",
			 name_eq_value ? name_eq_value : "(null)");
		return;
	}
	if (is_locale_name(name_eq_value, (size_t)(eq - name_eq_value)))
		cmd->locale_explicit = true;
	env_put(cmd, jr_xstrdup(name_eq_value));
}

void jr_cmd_env_inherit_all(struct jr_cmd *cmd)
{
	for (char **e = environ; e && *e; e++) {
		const char *eq = strchr(*e, '=');

		if (eq && eq != *e)
			env_put(cmd, jr_xstrdup(*e));
	}
}

void jr_cmd_env_unset(struct jr_cmd *cmd, const char *name)
{
	size_t nlen = strlen(name);

	for (size_t i = 0; i < cmd->nenv; i++) {
		if (!strncmp(cmd->env[i], name, nlen) && cmd->env[i][nlen] == '=') {
			free(cmd->env[i]);
			memmove(cmd->env + i, cmd->env + i + 1, (cmd->nenv - i) * sizeof(*cmd->env));
			cmd->nenv--;
			return;
		}
	}
}

void jr_cmd_set_cwd(struct jr_cmd *cmd, const char *dir)
{
	free(cmd->cwd);
	cmd->cwd = dir ? jr_xstrdup(dir) : NULL;
}

void jr_cmd_set_umask(struct jr_cmd *cmd, mode_t mask)
{
	cmd->set_umask = true;
	cmd->umask = mask & 0777;
}

void jr_cmd_set_rlimit(struct jr_cmd *cmd, int resource, rlim_t soft, rlim_t hard)
{
	struct jr_child_rlimit *r = NULL;

	if (resource < 0 || resource >= RLIM_NLIMITS) {
		cmd_fail(cmd, EINVAL, "invalid rlimit resource %d", resource);
		return;
	}
	if (soft > hard) {
		cmd_fail(cmd, EINVAL, "rlimit %d: soft limit above hard limit", resource);
		return;
	}
	for (size_t i = 0; i < cmd->nrlimits; i++) {
		if (cmd->rlimits[i].resource == resource)
			r = &cmd->rlimits[i];
	}
	if (!r) {
		jr_xgrow((void **)&cmd->rlimits, &cmd->rlimits_alloc, cmd->nrlimits + 1,
			 sizeof(*cmd->rlimits));
		r = &cmd->rlimits[cmd->nrlimits++];
	}
	r->resource = resource;
	r->lim.rlim_cur = soft;
	r->lim.rlim_max = hard;
}

void jr_cmd_set_user(struct jr_cmd *cmd, const char *user, const char *group)
{
	free(cmd->user);
	free(cmd->group);
	cmd->user = user ? jr_xstrdup(user) : NULL;
	cmd->group = group ? jr_xstrdup(group) : NULL;
}

void jr_cmd_clear_caps(struct jr_cmd *cmd)
{
	cmd->clear_caps = true;
}

void jr_cmd_set_input_fd(struct jr_cmd *cmd, int fd)
{
	io_reset(&cmd->in);
	if (fd < 0) {
		cmd_fail(cmd, EBADF, "input descriptor %d", fd);
		return;
	}
	cmd->in.kind = IO_FD;
	cmd->in.fd = fd;
}

void jr_cmd_set_input_file(struct jr_cmd *cmd, const char *path)
{
	io_reset(&cmd->in);
	cmd->in.kind = IO_FILE;
	cmd->in.path = jr_xstrdup(path);
}

void jr_cmd_set_input_buffer(struct jr_cmd *cmd, const void *data, size_t len)
{
	io_reset(&cmd->in);
	free(cmd->in_data);
	cmd->in.kind = IO_BUFFER;
	cmd->in_data = jr_xmalloc(len ? len : 1);
	if (len)
		memcpy(cmd->in_data, data, len);
	cmd->in_len = len;
}

static void set_out_fd(struct jr_cmd *cmd, struct io_spec *io, int fd)
{
	io_reset(io);
	if (fd < 0) {
		cmd_fail(cmd, EBADF, "output descriptor %d", fd);
		return;
	}
	io->kind = IO_FD;
	io->fd = fd;
}

static void set_out_file(struct io_spec *io, const char *path, enum jr_file_mode mode)
{
	io_reset(io);
	io->kind = IO_FILE;
	io->path = jr_xstrdup(path);
	io->mode = mode;
}

static void set_out_buffer(struct io_spec *io, size_t cap)
{
	io_reset(io);
	io->kind = IO_BUFFER;
	io->cap = cap;
}

void jr_cmd_set_output_fd(struct jr_cmd *cmd, int fd)
{
	set_out_fd(cmd, &cmd->out, fd);
}

void jr_cmd_set_output_file(struct jr_cmd *cmd, const char *path, enum jr_file_mode mode)
{
	set_out_file(&cmd->out, path, mode);
}

void jr_cmd_set_output_buffer(struct jr_cmd *cmd, size_t cap)
{
	set_out_buffer(&cmd->out, cap);
}

void jr_cmd_set_error_fd(struct jr_cmd *cmd, int fd)
{
	cmd->merge_stderr = false;
	set_out_fd(cmd, &cmd->err, fd);
}

void jr_cmd_set_error_file(struct jr_cmd *cmd, const char *path, enum jr_file_mode mode)
{
	cmd->merge_stderr = false;
	set_out_file(&cmd->err, path, mode);
}

void jr_cmd_set_error_buffer(struct jr_cmd *cmd, size_t cap)
{
	cmd->merge_stderr = false;
	set_out_buffer(&cmd->err, cap);
}

void jr_cmd_merge_stderr(struct jr_cmd *cmd)
{
	io_reset(&cmd->err);
	cmd->merge_stderr = true;
}

static const char *collected(const struct jr_cmd *cmd, const struct io_spec *io,
			     const struct jr_buf *b, bool trunc, size_t *len, bool *truncated)
{
	if (len)
		*len = 0;
	if (truncated)
		*truncated = false;
	if (io->kind != IO_BUFFER || (cmd->state != ST_DONE && cmd->state != ST_RUNNING))
		return NULL;
	if (len)
		*len = b->len;
	if (truncated)
		*truncated = trunc;
	return b->buf ? b->buf : "";
}

const char *jr_cmd_output(const struct jr_cmd *cmd, size_t *len, bool *truncated)
{
	return collected(cmd, &cmd->out, &cmd->outbuf, cmd->out_trunc, len, truncated);
}

const char *jr_cmd_errout(const struct jr_cmd *cmd, size_t *len, bool *truncated)
{
	/* Merged into stdout, stderr is no buffer (jr_cmd_merge_stderr). */
	return collected(cmd, &cmd->err, &cmd->errbuf, cmd->err_trunc, len, truncated);
}

void jr_cmd_preserve_fd(struct jr_cmd *cmd, int parent_fd, int child_fd)
{
	if (parent_fd < 0 || child_fd < 3) {
		cmd_fail(cmd, EBADF, "preserve descriptor %d as %d: child descriptor must be >= 3",
			 parent_fd, child_fd);
		return;
	}
	for (size_t i = 0; i < cmd->npreserve; i++) {
		if (cmd->preserve[i].child == child_fd) {
			cmd->preserve[i].parent = parent_fd;
			return;
		}
	}
	jr_xgrow((void **)&cmd->preserve, &cmd->preserve_alloc, cmd->npreserve + 1,
		 sizeof(*cmd->preserve));
	cmd->preserve[cmd->npreserve].parent = parent_fd;
	cmd->preserve[cmd->npreserve].child = child_fd;
	cmd->npreserve++;
}

void jr_cmd_set_timeout(struct jr_cmd *cmd, int64_t ms, int64_t grace_ms)
{
	cmd->timeout_ms = ms > 0 ? ms : 0;
	cmd->grace_ms = grace_ms >= 0 ? grace_ms : 0;
}

void jr_cmd_set_kill_leftovers(struct jr_cmd *cmd, bool on)
{
	cmd->kill_leftovers = on;
}

void jr_cmd_daemonize(struct jr_cmd *cmd)
{
	cmd->daemonize = true;
}

void jr_cmd_set_pidfile(struct jr_cmd *cmd, const char *path)
{
	free(cmd->pidfile);
	cmd->pidfile = path ? jr_xstrdup(path) : NULL;
}

/* ---- start ---- */

/* Everything prepared for one start; released whatever happens. */
struct prep {
	char *path; /* resolved program */
	int fds_to_close[8]; /* parent copies of child ends */
	int nclose;
	int *src, *dst, *tmp;
	int nmap;
	bool direct; /* see jr_child_plan.map_direct */
	int *keep;
	int nkeep;
	gid_t *groups;
	int ngroups;
	uid_t uid;
	gid_t gid;
	bool set_ids;
	int report[2];
};

static void prep_release(struct prep *p)
{
	for (int i = 0; i < p->nclose; i++)
		close(p->fds_to_close[i]);
	p->nclose = 0;
	for (int i = 0; i < 2; i++) {
		if (p->report[i] >= 0)
			close(p->report[i]);
		p->report[i] = -1;
	}
	free(p->path);
	free(p->src); /* and dst, tmp, keep */
	free(p->groups);
	p->path = NULL;
	p->src = p->dst = p->tmp = p->keep = NULL;
	p->groups = NULL;
}

/* The program to exec: path as given when it holds a '/', else the first
 * executable regular file named path in the child's PATH. */
static int resolve_path(struct jr_cmd *cmd, struct prep *p)
{
	const char *search = env_get(cmd, "PATH");
	const char *s;
	int saw_eacces = 0;
	struct jr_buf b = JR_BUF_INIT;

	if (strchr(cmd->path, '/')) {
		p->path = jr_xstrdup(cmd->path);
		return 0;
	}
	if (!search)
		search = JR_DEFAULT_PATH;
	jr_buf_init(&b);
	for (s = search;; s++) {
		const char *end = strchrnul(s, ':');
		struct stat st;

		jr_buf_reset(&b);
		if (end == s)
			jr_buf_adds(&b, ".");
		else
			jr_buf_add(&b, s, (size_t)(end - s));
		jr_buf_addf(&b, "/%s", cmd->path);
		if (stat(b.buf, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(b.buf, X_OK) == 0) {
				p->path = jr_buf_detach(&b, NULL);
				return 0;
			}
			saw_eacces = 1;
		}
		s = end;
		if (!*s)
			break;
	}
	jr_buf_release(&b);
	cmd_fail(cmd, saw_eacces ? EACCES : ENOENT, "exec %s", cmd->path);
	return -1;
}

/* Resolves user and group in the parent: uid, gid and the supplementary
 * groups the child will set. */
static int resolve_user(struct jr_cmd *cmd, struct prep *p)
{
	struct passwd pw, *pwp = NULL;
	struct group gr, *grp = NULL;
	char *buf = NULL;
	size_t buflen = 16384;
	int64_t id; /* a numeric id: below (uid_t)-1, which means none */
	const char *uname = NULL;
	int rc = -1, e;

	if (!cmd->user && !cmd->group)
		return 0;
	buf = jr_xmalloc(buflen);
	if (cmd->user) {
		if (jr_parse_i64(cmd->user, 0, UINT32_MAX - 1, &id) == 0) {
			p->uid = (uid_t)id;
			e = getpwuid_r(p->uid, &pw, buf, buflen, &pwp);
		} else {
			e = getpwnam_r(cmd->user, &pw, buf, buflen, &pwp);
			if (!pwp) {
				cmd_fail(cmd, e ? e : ENOENT, "unknown user '%s'", cmd->user);
				goto out;
			}
		}
		if (pwp) {
			p->uid = pwp->pw_uid;
			p->gid = pwp->pw_gid;
			uname = pwp->pw_name;
		} else {
			p->gid = (gid_t)id; /* a bare uid without an entry */
		}
	} else {
		p->uid = geteuid();
		p->gid = getegid();
	}
	if (cmd->group) {
		char *gbuf = jr_xmalloc(buflen);

		if (jr_parse_i64(cmd->group, 0, UINT32_MAX - 1, &id) == 0) {
			p->gid = (gid_t)id;
		} else {
			e = getgrnam_r(cmd->group, &gr, gbuf, buflen, &grp);
			if (!grp) {
				free(gbuf);
				cmd_fail(cmd, e ? e : ENOENT, "unknown group '%s'", cmd->group);
				goto out;
			}
			p->gid = grp->gr_gid;
		}
		free(gbuf);
	}
	if (uname) {
		int n = 32;

		for (;;) {
			int want = n;

			p->groups = jr_xrealloc(p->groups, (size_t)n * sizeof(gid_t));
			if (getgrouplist(uname, p->gid, p->groups, &want) >= 0) {
				p->ngroups = want;
				break;
			}
			if (want <= n)
				want = n * 2;
			n = want;
		}
	} else {
		p->groups = jr_xmalloc(sizeof(gid_t));
		p->groups[0] = p->gid;
		p->ngroups = 1;
	}
	if (geteuid() != 0) {
		if (p->uid != geteuid() || p->gid != getegid()) {
			cmd_fail(cmd, EPERM, "set user '%s'", cmd->user ? cmd->user : cmd->group);
			goto out;
		}
		p->set_ids = false; /* already that user */
	} else {
		p->set_ids = true;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

/* One /dev/null for every start, opened once (CLOEXEC: no child inherits it
 * except as the stdin/stdout/stderr it is installed as). */
static int devnull_fd = -1, devnull_errno;
static pthread_once_t devnull_once = PTHREAD_ONCE_INIT;

static void devnull_open(void)
{
	devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	devnull_errno = devnull_fd < 0 ? errno : 0;
}

static int open_devnull(struct jr_cmd *cmd)
{
	pthread_once(&devnull_once, devnull_open);
	if (devnull_fd < 0)
		cmd_fail(cmd, devnull_errno, "open /dev/null");
	return devnull_fd;
}

static void keep_close(struct prep *p, int fd)
{
	p->fds_to_close[p->nclose++] = fd;
}

/* The descriptor the child gets as stdin/out/err, owned by prep or the caller. */
static int io_source(struct jr_cmd *cmd, struct prep *p, struct io_spec *io, bool input,
		     int *parent_end)
{
	int fd, pfd[2];

	switch (io->kind) {
	case IO_NULL:
		return open_devnull(cmd);
	case IO_FD:
		if (fcntl(io->fd, F_GETFD) < 0) {
			cmd_fail(cmd, errno, "%s descriptor %d", input ? "input" : "output",
				 io->fd);
			return -1;
		}
		return io->fd;
	case IO_FILE: {
		/* O_NONBLOCK: opening a FIFO must not hold up the caller (the
		 * scheduler's loop, its timeouts and signals) until its other
		 * end opens; the flag is cleared once open. */
		int flags = O_CLOEXEC | O_NOCTTY | O_NONBLOCK, fl;

		if (input) {
			flags |= O_RDONLY;
		} else {
			flags |= O_WRONLY | O_CREAT;
			if (!(io->mode & JR_FILE_FOLLOW))
				flags |= O_NOFOLLOW;
			switch (io->mode & ~JR_FILE_FOLLOW) {
			case JR_FILE_APPEND:
				flags |= O_APPEND;
				break;
			case JR_FILE_EXCL:
				flags |= O_EXCL;
				break;
			default:
				flags |= O_TRUNC;
			}
		}
		fd = open(io->path, flags, 0600);
		if (fd < 0) {
			int e = errno;

			if (e == ENXIO)
				cmd_fail(cmd, e, "open %s (a FIFO that no process reads)", io->path);
			else if (e == ELOOP && (flags & O_NOFOLLOW))
				cmd_fail(cmd, e, "open %s (a symbolic link, not followed here)",
					 io->path);
			else
				cmd_fail(cmd, e, "open %s", io->path);
			return -1;
		}
		keep_close(p, fd);
		/* The child must not get a non-blocking descriptor. */
		if ((fl = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
			cmd_fail(cmd, errno, "open %s: fcntl", io->path);
			return -1;
		}
		return fd;
	}
	case IO_BUFFER:
		if (pipe2(pfd, O_CLOEXEC) < 0) {
			cmd_fail(cmd, errno, "pipe");
			return -1;
		}
		/* A larger pipe means fewer wake-ups for big transfers; the
		 * default is fine when the kernel refuses. */
		fcntl(pfd[1], F_SETPIPE_SZ, JR_PIPE_SIZE);
		*parent_end = input ? pfd[1] : pfd[0];
		fcntl(*parent_end, F_SETFL, O_NONBLOCK);
		keep_close(p, input ? pfd[0] : pfd[1]);
		return input ? pfd[0] : pfd[1];
	}
	return -1;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int build_map(struct jr_cmd *cmd, struct prep *p)
{
	int s0, s1, s2 = -1, n = 0, high = 0;

	s0 = io_source(cmd, p, &cmd->in, true, &cmd->in_fd);
	if (s0 < 0)
		return -1;
	s1 = io_source(cmd, p, &cmd->out, false, &cmd->out_fd);
	if (s1 < 0)
		return -1;
	if (!cmd->merge_stderr) {
		s2 = io_source(cmd, p, &cmd->err, false, &cmd->err_fd);
		if (s2 < 0)
			return -1;
	}
	/* One allocation for the four lists (src owns it). */
	p->src = jr_xcalloc(4 * (cmd->npreserve + 3), sizeof(int));
	p->dst = p->src + cmd->npreserve + 3;
	p->tmp = p->dst + cmd->npreserve + 3;
	p->keep = p->tmp + cmd->npreserve + 3;
	p->src[n] = s0, p->dst[n++] = 0;
	p->src[n] = s1, p->dst[n++] = 1;
	if (s2 >= 0)
		p->src[n] = s2, p->dst[n++] = 2;
	for (size_t i = 0; i < cmd->npreserve; i++) {
		if (fcntl(cmd->preserve[i].parent, F_GETFD) < 0) {
			cmd_fail(cmd, errno, "preserve descriptor %d", cmd->preserve[i].parent);
			return -1;
		}
		p->src[n] = cmd->preserve[i].parent;
		p->dst[n++] = cmd->preserve[i].child;
		p->keep[p->nkeep++] = cmd->preserve[i].child;
	}
	p->nmap = n;
	qsort(p->keep, (size_t)p->nkeep, sizeof(int), cmp_int);
	for (int i = 0; i < n; i++) {
		if (p->src[i] > high)
			high = p->src[i];
		if (p->dst[i] > high)
			high = p->dst[i];
	}
	/* Sources that are not targets (the usual case: the parent's
	 * descriptors are all above 2) go straight to their targets; dup2 of
	 * a descriptor onto itself would keep its close-on-exec flag. */
	p->direct = true;
	for (int i = 0; i < n && p->direct; i++)
		for (int k = 0; k < n; k++)
			if (p->src[i] == p->dst[k] || p->report[1] == p->dst[k])
				p->direct = false;
	if (p->report[0] > high)
		high = p->report[0];
	if (p->report[1] > high)
		high = p->report[1];
	return high + 1;
}

static void record_signal(struct jr_cmd *cmd, int sig, enum jr_kill_reason reason)
{
	jr_xgrow((void **)&cmd->sigs, &cmd->sigs_alloc, cmd->nsigs + 1, sizeof(*cmd->sigs));
	cmd->sigs[cmd->nsigs].sig = sig;
	cmd->sigs[cmd->nsigs].at_ms = jr_now_ms();
	cmd->sigs[cmd->nsigs].reason = reason;
	cmd->nsigs++;
}

static const char *step_name(enum jr_child_step step)
{
	switch (step) {
	case JR_STEP_SETSID:
		return "setsid";
	case JR_STEP_DUP:
		return "dup2";
	case JR_STEP_CLOSE:
		return "close descriptors";
	case JR_STEP_RLIMIT:
		return "setrlimit";
	case JR_STEP_SETGROUPS:
		return "setgroups";
	case JR_STEP_SETGID:
		return "setgid";
	case JR_STEP_SETUID:
		return "setuid";
	case JR_STEP_CAPS:
		return "clear capabilities";
	case JR_STEP_FORK:
		return "fork";
	default:
		return "spawn";
	}
}

static void step_fail(struct jr_cmd *cmd, const struct prep *p, int step, int err)
{
	if (step == JR_STEP_EXEC)
		cmd_fail(cmd, err, "exec %s", p->path);
	else if (step == JR_STEP_CHDIR)
		cmd_fail(cmd, err, "chdir %s", cmd->cwd);
	else if (step == JR_STEP_SETUID || step == JR_STEP_SETGID)
		cmd_fail(cmd, err, "%s %u", step_name((enum jr_child_step)step),
			 step == JR_STEP_SETUID ? (unsigned)p->uid : (unsigned)p->gid);
	else
		cmd_fail(cmd, err, "%s", step_name((enum jr_child_step)step));
}

static int pidfd_open_probe(pid_t pid)
{
	static int have = 1;
	long fd;

	if (!have)
		return -1;
#ifdef SYS_pidfd_open
	fd = syscall(SYS_pidfd_open, pid, 0);
	if (fd >= 0)
		return (int)fd;
	if (errno == ENOSYS)
		have = 0;
#else
	(void)pid;
	(void)fd;
	have = 0;
#endif
	return -1;
}

/* Reads the child's reports until EOF: 0 when exec succeeded. */
static int read_reports(struct jr_cmd *cmd, struct prep *p, pid_t *daemon_pid)
{
	struct jr_child_report r;
	int ret = 0;

	for (;;) {
		ssize_t n = read(p->report[0], &r, sizeof(r));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			cmd_fail(cmd, errno, "read spawn report");
			return -1;
		}
		if (n == 0)
			break;
		if ((size_t)n != sizeof(r)) {
			cmd_fail(cmd, EIO, "short spawn report");
			return -1;
		}
		if (r.step == JR_STEP_DAEMON_PID) {
			*daemon_pid = r.pid;
			continue;
		}
		step_fail(cmd, p, r.step, r.err);
		ret = -1;
	}
	return ret;
}

/* Whether clone() takes CLONE_PIDFD (Linux 5.2): cleared on the first
 * EINVAL, after which pidfd_open (or polling) takes over. */
static int clone_pidfd_ok = 1;

/* Whether a clone child really shares our memory, so that its report needs
 * no pipe: -1 not known yet (the first start has a pipe too, and says), 1
 * yes, 0 no (valgrind runs a CLONE_VM | CLONE_VFORK child as a fork). */
static int clone_shares = -1;
static pthread_mutex_t clone_shares_lock = PTHREAD_MUTEX_INITIALIZER;

static bool fork_model(const struct jr_cmd *cmd)
{
	return JR_SPAWN_ASAN || cmd->daemonize;
}

/* The signals a child must reset (see jr_spawn_signals_changed). */
static sigset_t reset_set;
static bool reset_known;
static pthread_mutex_t reset_lock = PTHREAD_MUTEX_INITIALIZER;

static void signals_not_default(sigset_t *set)
{
	int sig;

	sigemptyset(set);
	/* glibc's internal signals (32, 33) fail here: exec resets their
	 * handlers, and they are never ignored. */
	for (sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sig != SIGKILL && sig != SIGSTOP && sigaction(sig, NULL, &sa) == 0 &&
		    sa.sa_handler != SIG_DFL)
			sigaddset(set, sig);
	}
}

/* The soft RLIMIT_NOFILE before jr_spawn_raise_nofile raised it, for the
 * children; written once, before any start. */
static struct rlimit nofile_before;
static bool nofile_raised;

rlim_t jr_spawn_raise_nofile(rlim_t cap)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (nofile_raised || rl.rlim_cur >= cap || rl.rlim_cur >= rl.rlim_max)
		return rl.rlim_cur;
	nofile_before = rl;
	rl.rlim_cur = rl.rlim_max < cap ? rl.rlim_max : cap;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return nofile_before.rlim_cur;
	nofile_raised = true;
	return rl.rlim_cur;
}

void jr_spawn_signals_changed(void)
{
	pthread_mutex_lock(&reset_lock);
	reset_known = false;
	pthread_mutex_unlock(&reset_lock);
}

static void signals_to_reset(sigset_t *out)
{
	pthread_mutex_lock(&reset_lock);
	if (!reset_known) {
		signals_not_default(&reset_set);
		reset_known = true;
	}
	*out = reset_set;
	pthread_mutex_unlock(&reset_lock);
#if JR_SPAWN_ASAN
	{
		/* The sanitized test runs check every caller's discipline. */
		sigset_t now;
		int sig;

		signals_not_default(&now);
		for (sig = 1; sig < NSIG; sig++)
			if (sigismember(&now, sig) != sigismember(out, sig)) {
				fprintf(stderr, "spawn: signal %d changed disposition without "
						"jr_spawn_signals_changed()\n", sig);
				abort();
			}
	}
#endif
}

static int spawn_child(struct jr_cmd *cmd, struct prep *p, int high, pid_t *daemon_pid)
{
	struct jr_child_plan plan;
	/* The child's stack lives in this frame, as in musl's posix_spawn: we
	 * are suspended until the child execs or exits (CLONE_VFORK), and these
	 * pages are already mapped, so the child takes no page faults. */
	char stack[JR_CHILD_STACK] __attribute__((aligned(64)));
	volatile struct jr_child_report shared;
	bool forked = fork_model(cmd);
	int rc, pidfd = -1;

	memset(&plan, 0, sizeof(plan));
	plan.path = p->path;
	plan.argv = cmd->argv;
	plan.envp = cmd->env;
	plan.report_fd = p->report[1];
	plan.shared = &shared;
	plan.nmap = p->nmap;
	plan.map_src = p->src;
	plan.map_dst = p->dst;
	plan.map_tmp = p->tmp;
	plan.map_direct = p->direct;
	plan.merge_stderr = cmd->merge_stderr;
	plan.keep = p->keep;
	plan.nkeep = p->nkeep;
	plan.high = high;
	plan.cwd = cmd->cwd;
	plan.set_umask = cmd->set_umask;
	plan.umask = cmd->umask;
	plan.nofile = nofile_raised ? &nofile_before : NULL;
	plan.nrlimits = (int)cmd->nrlimits;
	plan.rlimits = cmd->rlimits;
	plan.set_ids = p->set_ids;
	plan.uid = p->uid;
	plan.gid = p->gid;
	plan.ngroups = p->ngroups;
	plan.groups = p->groups;
	plan.clear_caps = cmd->clear_caps;
	signals_to_reset(&plan.reset);
	plan.daemonize = cmd->daemonize;
	plan.fork_model = forked;
	shared.step = JR_STEP_NONE;
	shared.err = 0;
	shared.pid = 0;
	shared.reached = 0;

	if (forked) {
		cmd->pid = fork();
		if (cmd->pid == 0)
			jr_spawn_child(&plan);
	} else {
		/* The pidfd comes with the child: no pidfd_open, no window in
		 * which the pid could be reaped and reused. */
		int flags = CLONE_VM | CLONE_VFORK | SIGCHLD;

		if (clone_pidfd_ok) {
			cmd->pid = clone(jr_spawn_child_entry, stack + sizeof(stack),
					 flags | CLONE_PIDFD, &plan, &pidfd);
			if (cmd->pid < 0 && errno == EINVAL)
				clone_pidfd_ok = 0;
		}
		if (!clone_pidfd_ok)
			cmd->pid = clone(jr_spawn_child_entry, stack + sizeof(stack), flags,
					 &plan);
	}
	rc = cmd->pid < 0 ? -1 : 0;
	if (rc)
		cmd_fail(cmd, errno, "%s", forked ? "fork" : "clone");
	if (cmd->pid > 0 && pidfd >= 0)
		cmd->pidfd = pidfd;
	if (!forked && rc == 0 && p->report[1] >= 0) {
		pthread_mutex_lock(&clone_shares_lock);
		clone_shares = shared.reached != 0;
		pthread_mutex_unlock(&clone_shares_lock);
	}
	if (!forked && p->report[1] < 0) {
		/* The child has exec'd or exited: what it left is final. */
		if (rc == 0 && shared.step != JR_STEP_NONE) {
			step_fail(cmd, p, shared.step, shared.err);
			return -1;
		}
		return rc;
	}
	close(p->report[1]);
	p->report[1] = -1;
	if (rc)
		return -1;
	return read_reports(cmd, p, daemon_pid);
}

/* A forked child reports on a pipe; a clone child in the memory it shares
 * with us, once a first start has shown that it does. */
static bool report_pipe_needed(const struct jr_cmd *cmd)
{
	int shares;

	if (fork_model(cmd))
		return true;
	pthread_mutex_lock(&clone_shares_lock);
	shares = clone_shares;
	pthread_mutex_unlock(&clone_shares_lock);
	return shares != 1;
}

static int write_pidfile(struct jr_cmd *cmd, pid_t pid)
{
	char *tmp = jr_xasprintf("%s.tmp.%ld", cmd->pidfile, (long)getpid());
	char line[32];
	int fd, n, rc = -1;

	n = snprintf(line, sizeof(line), "%ld\n", (long)pid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		cmd_fail(cmd, errno, "open %s", tmp);
		goto out;
	}
	if (write(fd, line, (size_t)n) != n || close(fd) < 0) {
		cmd_fail(cmd, errno, "write %s", tmp);
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, cmd->pidfile) < 0) {
		cmd_fail(cmd, errno, "rename %s", cmd->pidfile);
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	return rc;
}

/* Records the wait status and the child's own rusage from wait4 (not a
 * RUSAGE_CHILDREN difference, which would mix in other children). Note for
 * max_rss_kb: Linux folds the high-water RSS of the memory the child had
 * before exec into it, and a CLONE_VM (or fork) child starts with ours, so
 * the figure is max(jobrunner's RSS at spawn, the program's own peak). */
static void fill_status(struct jr_cmd *cmd, int status, const struct rusage *ru)
{
	struct jr_cmd_result *r = &cmd->res;

	r->pid = cmd->pid;
	if (WIFEXITED(status)) {
		r->exit_code = WEXITSTATUS(status);
		r->signal = 0;
	} else if (WIFSIGNALED(status)) {
		r->exit_code = -1;
		r->signal = WTERMSIG(status);
		r->core_dumped = WCOREDUMP(status);
	}
	r->user_ms = (int64_t)ru->ru_utime.tv_sec * 1000 + ru->ru_utime.tv_usec / 1000;
	r->sys_ms = (int64_t)ru->ru_stime.tv_sec * 1000 + ru->ru_stime.tv_usec / 1000;
	r->max_rss_kb = ru->ru_maxrss;
	r->finished_ms = jr_now_ms();
	cmd->reaped_mono = jr_mono_ms();
	r->duration_ms = cmd->reaped_mono - cmd->start_mono;
	cmd->reaped = true;
	live_del(cmd);
}

/* Reaps the main process if it exited (or always when block). */
static void try_reap(struct jr_cmd *cmd, bool block)
{
	struct rusage ru;
	int status;
	pid_t r;

	if (cmd->reaped)
		return;
	do {
		r = wait4(cmd->pid, &status, block ? 0 : WNOHANG, &ru);
	} while (r < 0 && errno == EINTR);
	if (r == cmd->pid) {
		fill_status(cmd, status, &ru);
	} else if (r < 0 && errno == ECHILD) {
		/* Someone else reaped it (SIGCHLD ignored?): no status. */
		memset(&ru, 0, sizeof(ru));
		fill_status(cmd, 0, &ru);
		cmd->res.exit_code = -1;
	}
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int jr_cmd_start(struct jr_cmd *cmd)
{
	struct prep p;
	sigset_t all, old;
	pid_t daemon_pid = -1;
	int high, rc = -1;

	memset(&p, 0, sizeof(p));
	p.report[0] = p.report[1] = -1;
	if (cmd->failed)
		goto out;
	if (cmd->state != ST_NEW) {
		cmd_fail(cmd, EINVAL, "command already started");
		goto out;
	}
	if (cmd->daemonize && (cmd->in.kind == IO_BUFFER || cmd->out.kind == IO_BUFFER ||
			       cmd->err.kind == IO_BUFFER)) {
		cmd_fail(cmd, EINVAL, "a daemonized command cannot use buffers");
		goto out;
	}
	if (cmd->lc_all_default && !cmd->locale_explicit)
		env_put(cmd, jr_xstrdup("LC_ALL=C"));
	if (!cmd->env) {
		jr_xgrow((void **)&cmd->env, &cmd->env_alloc, 1, sizeof(*cmd->env));
		cmd->env[0] = NULL;
	}
	if (resolve_path(cmd, &p) < 0 || resolve_user(cmd, &p) < 0)
		goto out;
	if (report_pipe_needed(cmd) && pipe2(p.report, O_CLOEXEC) < 0) {
		cmd_fail(cmd, errno, "pipe");
		goto out;
	}
	high = build_map(cmd, &p);
	if (high < 0)
		goto out;

	cmd->start_mono = jr_mono_ms();
	cmd->start_ticks = jr_boot_ticks();
	cmd->res.started_ms = jr_now_ms();
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = spawn_child(cmd, &p, high, &daemon_pid);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (cmd->pid > 0 && !cmd->daemonize && cmd->pidfd < 0)
		cmd->pidfd = pidfd_open_probe(cmd->pid);
	if (cmd->pid > 0)
		live_add(cmd);
	if (rc < 0) {
		if (cmd->pid > 0)
			try_reap(cmd, true);
		goto out;
	}
	cmd->state = ST_RUNNING;
	if (cmd->timeout_ms > 0)
		cmd->timeout_at = cmd->start_mono + cmd->timeout_ms;
	if (cmd->in_fd >= 0 && cmd->in_len == 0)
		close_fd(&cmd->in_fd);
	if (cmd->daemonize) {
		try_reap(cmd, true);
		if (daemon_pid <= 0) {
			cmd_fail(cmd, EIO, "daemonize: no daemon pid reported");
			rc = -1;
			goto out;
		}
		if (cmd->pidfile && write_pidfile(cmd, daemon_pid) < 0) {
			/* Nobody could find or stop it: do not leave it behind. */
			kill(daemon_pid, SIGKILL);
			rc = -1;
			goto out;
		}
		cmd->res.pid = daemon_pid;
		cmd->state = ST_DONE;
	}
	rc = 0;
out:
	prep_release(&p);
	if (rc < 0) {
		if (!cmd->failed)
			cmd_fail(cmd, EINVAL, "spawn failed");
		close_fd(&cmd->in_fd);
		close_fd(&cmd->out_fd);
		close_fd(&cmd->err_fd);
		close_fd(&cmd->pidfd);
		cmd->state = ST_FAILED;
	}
	return rc;
}

pid_t jr_cmd_pid(const struct jr_cmd *cmd)
{
	return cmd->pid;
}

int jr_cmd_pidfd(const struct jr_cmd *cmd)
{
	return cmd->pidfd;
}

/* ---- running ---- */

static void feed_input(struct jr_cmd *cmd)
{
	sigset_t pipe_set, old, pending;
	bool was_pending;

	if (cmd->in_fd < 0)
		return;
	/* A child that does not read its input must not kill us with SIGPIPE:
	 * block it around the writes and swallow one we caused. */
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	while (cmd->in_off < cmd->in_len) {
		ssize_t n =
		    write(cmd->in_fd, cmd->in_data + cmd->in_off, cmd->in_len - cmd->in_off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN) {
				if (errno == EPIPE && !was_pending) {
					struct timespec zero = {0, 0};

					sigtimedwait(&pipe_set, NULL, &zero);
				}
				close_fd(&cmd->in_fd);
			}
			break;
		}
		cmd->in_off += (size_t)n;
	}
	if (cmd->in_fd >= 0 && cmd->in_off >= cmd->in_len)
		close_fd(&cmd->in_fd);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void drain(int *fd, struct jr_buf *b, size_t cap, bool *trunc)
{
	char scratch[16384];

	while (*fd >= 0) {
		ssize_t n;

		if (!cap || b->len < cap) {
			size_t room;

			if (b->alloc < b->len + 4096 + 1)
				jr_buf_grow(b, 65536);
			room = b->alloc - b->len - 1; /* read into what we have */
			if (cap && cap - b->len < room)
				room = cap - b->len;
			n = read(*fd, b->buf + b->len, room);
			if (n > 0) {
				b->len += (size_t)n;
				b->buf[b->len] = '\0';
			}
		} else {
			n = read(*fd, scratch, sizeof(scratch));
			if (n > 0)
				*trunc = true;
		}
		if (n == 0) {
			close_fd(fd);
		} else if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				close_fd(fd);
			break;
		}
	}
}

static void pump(struct jr_cmd *cmd)
{
	feed_input(cmd);
	drain(&cmd->out_fd, &cmd->outbuf, cmd->out.cap, &cmd->out_trunc);
	drain(&cmd->err_fd, &cmd->errbuf, cmd->err.cap, &cmd->err_trunc);
}

/* Sends sig to the command's process group, or to its process while it is
 * not reaped, and records it: whether one of them got it. */
static bool signal_cmd(struct jr_cmd *cmd, int sig, enum jr_kill_reason reason)
{
	if (kill(-cmd->pid, sig) != 0 && (cmd->reaped || kill(cmd->pid, sig) != 0))
		return false;
	record_signal(cmd, sig, reason);
	return true;
}

static void send_term(struct jr_cmd *cmd, enum jr_kill_reason reason)
{
	int64_t now = jr_mono_ms();

	if (cmd->term_sent)
		return;
	cmd->term_sent = true;
	cmd->term_reason = reason;
	cmd->last_kill_mono = now;
	cmd->kill_at = now + cmd->grace_ms;
	if (reason == JR_KILL_TIMEOUT)
		cmd->res.timed_out = true;
	else if (reason == JR_KILL_INTERRUPT)
		cmd->res.interrupted = true;
	if (!signal_cmd(cmd, SIGTERM, reason) && cmd->reaped)
		cmd->kill_sent = true; /* nothing left to escalate against */
}

static bool group_alive(const struct jr_cmd *cmd)
{
	return kill(-cmd->pid, 0) == 0;
}

static void escalate(struct jr_cmd *cmd, int64_t now)
{
	if (!cmd->term_sent || cmd->kill_sent || now < cmd->kill_at)
		return;
	cmd->kill_sent = true;
	cmd->last_kill_mono = now;
	signal_cmd(cmd, SIGKILL, cmd->term_reason);
}

/* PF_EXITING, of the flags in /proc/PID/stat (include/linux/sched.h): the
 * process is in exit. */
#define PROC_FLAG_EXITING 0x4ul

/* Whether process pid, with flags from its stat, is already on its way
 * out: exiting, or with a SIGKILL pending (a group's SIGKILL reaches each
 * member at once, but a member with much memory to free dies well after
 * the main process is reaped). Such a process was not left behind. */
static bool proc_dying(pid_t pid, unsigned long flags)
{
	static const char *const keys[] = { "\nSigPnd:", "\nShdPnd:" };
	char path[64], buf[4096];
	size_t i;

	if (flags & PROC_FLAG_EXITING)
		return true;
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	if (jr_read_small(path, buf, sizeof(buf)) <= 0)
		return false;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *p = strstr(buf, keys[i]);
		unsigned long long pending;

		if (p && sscanf(p + strlen(keys[i]), "%llx", &pending) == 1 &&
		    (pending & (1ull << (SIGKILL - 1))))
			return true;
	}
	return false;
}

/* Sends sig (0: none) to each process (not a zombie, nor dying) whose
 * process group or session is id; returns how many there are. */
static int scan_group(pid_t id, int sig)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;
	pid_t self = getpid();

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		char buf[1024];
		const char *p;
		long pid, pgrp, sid;
		unsigned long flags;
		char state;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		pid = strtol(de->d_name, NULL, 10);
		if (pid == self)
			continue;
		p = jr_proc_stat((pid_t)pid, buf, sizeof(buf));
		if (!p || sscanf(p, " %c %*d %ld %ld %*d %*d %lu", &state, &pgrp, &sid, &flags) != 4)
			continue;
		if (state == 'Z' || state == 'X')
			continue;
		if (pgrp != id && sid != id)
			continue;
		if (proc_dying((pid_t)pid, flags))
			continue;
		if (sig)
			kill((pid_t)pid, sig);
		n++;
	}
	closedir(d);
	return n;
}

/* /proc/PID/task/PID/children, opened once: each read from offset 0
 * lists the children anew (a seq_file), and the path walk through /proc
 * costs more than the read. -2 until opened, -1 when it cannot be. */
static int children_fd = -2;
static pid_t children_pid;
static pthread_mutex_t children_lock = PTHREAD_MUTEX_INITIALIZER;

static ssize_t read_children(char *buf, size_t size)
{
	ssize_t len = -1;

	pthread_mutex_lock(&children_lock);
	if (children_fd >= 0 && children_pid != getpid()) {
		/* A forked child: ours lists our parent's children. */
		close(children_fd);
		children_fd = -2;
	}
	if (children_fd == -2) {
		char path[64];

		/* Children of every thread count; the threads jobrunner has
		 * besides the main one never start processes, so the main
		 * thread's list (whose id is the pid) is enough. */
		snprintf(path, sizeof(path), "/proc/%ld/task/%ld/children", (long)getpid(),
			 (long)getpid());
		children_fd = open(path, O_RDONLY | O_CLOEXEC);
		children_pid = getpid();
		if (children_fd < 0)
			children_fd = -1; /* kernel without CONFIG_PROC_CHILDREN */
	}
	if (children_fd >= 0)
		len = pread(children_fd, buf, size, 0);
	pthread_mutex_unlock(&children_lock);
	return len;
}

/* Whether our children list holds a child begun at since_ticks or later
 * (jr_boot_ticks) that is not the main process of a live command: 1 yes,
 * 0 no, -1 cannot tell. */
static int untracked_children(int64_t since_ticks)
{
	char buf[4096], *p, *end;
	ssize_t len;
	int found = 0;

	len = read_children(buf, sizeof(buf) - 1);
	if (len < 0 || len == (ssize_t)sizeof(buf) - 1)
		return -1;
	buf[len] = '\0';
	for (p = buf; *p && !found; p = end) {
		long pid = strtol(p, &end, 10);
		int64_t t;
		size_t i;

		if (end == p)
			break;
		found = 1;
		pthread_mutex_lock(&live_lock);
		for (i = 0; i < nlive; i++)
			if (live[i]->pid == (pid_t)pid)
				found = 0;
		pthread_mutex_unlock(&live_lock);
		/* One that began before the command cannot be of it (a daemon
		 * another job left behind, say); one gone since is nothing. */
		if (found && ((t = jr_proc_start_time((pid_t)pid)) < 0 || t < since_ticks))
			found = 0;
	}
	return found;
}

/* Whether anything can be left of cmd, decided cheaply: scanning /proc
 * costs a few milliseconds per command on a busy host, and most commands
 * leave nothing. Something is left when its process group is not empty;
 * or, outside the group but in its session, only a process whose chain of
 * parents ended at the exited main process, which (when jobrunner is a child
 * subreaper, as the scheduler makes it) re-parented that chain to us: a
 * child of ours begun since cmd started. When nothing can be left, cmd's
 * output files have no writer left (res.alone); a daemon another command
 * left behind does not change that. */
static bool maybe_leftovers(const struct jr_cmd *cmd)
{
	int sub = 0;

	if (kill(-cmd->pid, 0) == 0 || errno != ESRCH)
		return true;
	if (prctl(PR_GET_CHILD_SUBREAPER, &sub) < 0 || !sub)
		return true;
	return untracked_children(cmd->start_ticks) != 0;
}

/* Whether leftovers of cmd may still need killing or reaping. */
static bool leftovers_pending(const struct jr_cmd *cmd)
{
	return cmd->kill_leftovers && cmd->leftovers != LEFT_DONE;
}

/* After the main process ended: TERM what is left in its group and session,
 * then, grace_ms later, KILL what is still there. */
static void handle_leftovers(struct jr_cmd *cmd, int64_t now)
{
	int n;

	if (!leftovers_pending(cmd))
		return;
	if (!maybe_leftovers(cmd)) {
		if (cmd->leftovers == LEFT_UNCHECKED)
			cmd->res.alone = true;
		cmd->leftovers = LEFT_DONE;
		return;
	}
	if (cmd->leftovers == LEFT_UNCHECKED) {
		n = scan_group(cmd->pid, SIGTERM);
		cmd->res.leftovers = n;
		if (n == 0) {
			cmd->leftovers = LEFT_DONE;
			return;
		}
		record_signal(cmd, SIGTERM, JR_KILL_LEFTOVER);
		cmd->last_kill_mono = now;
		cmd->leftover_kill_at = now + cmd->grace_ms;
		cmd->leftovers = LEFT_TERM_SENT;
	} else if (now < cmd->leftover_kill_at) {
		if (scan_group(cmd->pid, 0) == 0)
			cmd->leftovers = LEFT_DONE;
	} else {
		if (scan_group(cmd->pid, SIGKILL) > 0) {
			record_signal(cmd, SIGKILL, JR_KILL_LEFTOVER);
			cmd->last_kill_mono = now;
		}
		cmd->leftovers = LEFT_DONE;
	}
}

static int64_t drain_deadline(const struct jr_cmd *cmd)
{
	int64_t t;

	if (!cmd->reaped || cmd->last_kill_mono < 0)
		return -1;
	t = cmd->last_kill_mono > cmd->reaped_mono ? cmd->last_kill_mono : cmd->reaped_mono;
	return t + JR_DRAIN_MS;
}

static bool escalation_pending(const struct jr_cmd *cmd)
{
	return cmd->term_sent && !cmd->kill_sent && group_alive(cmd);
}

static void finish(struct jr_cmd *cmd)
{
	close_fd(&cmd->in_fd);
	close_fd(&cmd->out_fd);
	close_fd(&cmd->err_fd);
	close_fd(&cmd->pidfd);
	cmd->state = ST_DONE;
}

int jr_cmd_poll(struct jr_cmd *cmd)
{
	int64_t now, dd;

	if (cmd->state == ST_DONE)
		return 1;
	if (cmd->state != ST_RUNNING)
		return -1;
	pump(cmd);
	try_reap(cmd, false);
	now = jr_mono_ms();
	if (!cmd->reaped && cmd->timeout_at >= 0 && now >= cmd->timeout_at)
		send_term(cmd, JR_KILL_TIMEOUT);
	escalate(cmd, now);
	if (!cmd->reaped)
		return 0;
	handle_leftovers(cmd, now);
	if (leftovers_pending(cmd))
		return 0;
	if (escalation_pending(cmd))
		return 0;
	dd = drain_deadline(cmd);
	if (cmd->in_fd >= 0 && (dd >= 0 || (cmd->out_fd < 0 && cmd->err_fd < 0)))
		close_fd(&cmd->in_fd); /* nobody left that wants it */
	if (cmd->out_fd >= 0 || cmd->err_fd >= 0) {
		if (dd < 0 || now < dd)
			return 0;
	}
	finish(cmd);
	return 1;
}

static void add_pollfd(struct pollfd *fds, int *n, int max, int fd, short events)
{
	if (fd < 0 || *n >= max)
		return;
	fds[*n].fd = fd;
	fds[*n].events = events;
	fds[*n].revents = 0;
	(*n)++;
}

int jr_cmd_pollfds(struct jr_cmd *cmd, struct pollfd *fds, int max)
{
	int n = 0;

	if (cmd->state != ST_RUNNING)
		return 0;
	add_pollfd(fds, &n, max, cmd->reaped ? -1 : cmd->pidfd, POLLIN);
	add_pollfd(fds, &n, max, cmd->in_fd, POLLOUT);
	add_pollfd(fds, &n, max, cmd->out_fd, POLLIN);
	add_pollfd(fds, &n, max, cmd->err_fd, POLLIN);
	return n;
}

static void dmin(int64_t *d, int64_t t)
{
	if (t >= 0 && (*d < 0 || t < *d))
		*d = t;
}

int64_t jr_cmd_deadline(const struct jr_cmd *cmd)
{
	int64_t d = -1, now;

	if (cmd->state != ST_RUNNING)
		return -1;
	now = jr_mono_ms();
	if (!cmd->reaped) {
		if (!cmd->term_sent)
			dmin(&d, cmd->timeout_at);
		if (cmd->pidfd < 0)
			dmin(&d, now + JR_NOPIDFD_POLL_MS);
	}
	if (cmd->term_sent && !cmd->kill_sent) {
		dmin(&d, cmd->kill_at);
		if (cmd->reaped)
			dmin(&d, now + JR_RECHECK_MS);
	}
	if (cmd->reaped) {
		bool busy = false;

		if (leftovers_pending(cmd)) {
			dmin(&d, now + JR_RECHECK_MS);
			busy = true;
		}
		if (cmd->term_sent && !cmd->kill_sent)
			busy = true;
		if (cmd->out_fd >= 0 || cmd->err_fd >= 0) {
			dmin(&d, drain_deadline(cmd));
			busy = true;
		}
		if (!busy)
			dmin(&d, now); /* only bookkeeping left: poll now */
	}
	return d;
}

int jr_cmd_wait(struct jr_cmd *cmd, struct jr_cmd_result *res)
{
	struct pollfd fds[4];
	int rc, sub = 0;

	if (cmd->state == ST_NEW) {
		cmd_fail(cmd, EINVAL, "command not started");
		return -1;
	}
	/* A child subreaper (the scheduler) inherits the orphans of what it
	 * runs: zombies of its own, they would keep the command's group alive
	 * for kill(2) until its grace ends. Reaped as they come, as its event
	 * loop does (the group is re-checked every JR_RECHECK_MS). */
	if (prctl(PR_GET_CHILD_SUBREAPER, &sub) < 0)
		sub = 0;
	while ((rc = jr_cmd_poll(cmd)) == 0) {
		int n = jr_cmd_pollfds(cmd, fds, 4);
		int64_t d = jr_cmd_deadline(cmd);
		int timeout = -1;

		if (d >= 0) {
			int64_t left = d - jr_mono_ms();

			timeout = left < 0 ? 0 : left > INT_MAX ? INT_MAX : (int)left;
		}
		if (n == 0 && timeout < 0)
			timeout = JR_NOPIDFD_POLL_MS; /* should not happen: stay live */
		if (sub)
			jr_spawn_reap_orphans();
		if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			cmd_fail(cmd, errno, "poll");
			return -1;
		}
	}
	if (rc < 0)
		return -1;
	if (res)
		*res = cmd->res;
	return 0;
}

int jr_cmd_run(struct jr_cmd *cmd, struct jr_cmd_result *res)
{
	if (res)
		memset(res, 0, sizeof(*res));
	if (jr_cmd_start(cmd) < 0)
		return -1;
	return jr_cmd_wait(cmd, res);
}

void jr_cmd_terminate(struct jr_cmd *cmd, enum jr_kill_reason reason)
{
	if (cmd->state != ST_RUNNING)
		return;
	/* One that already exited (not yet polled) was not stopped by this:
	 * its end stands, and what it left is its leftovers. */
	try_reap(cmd, false);
	if (cmd->reaped)
		return;
	send_term(cmd, reason);
}

bool jr_cmd_finished(const struct jr_cmd *cmd)
{
	return cmd->state == ST_DONE;
}

const struct jr_cmd_result *jr_cmd_result(const struct jr_cmd *cmd)
{
	return cmd->state == ST_DONE ? &cmd->res : NULL;
}

const struct jr_cmd_signal *jr_cmd_signals(const struct jr_cmd *cmd, size_t *n)
{
	*n = cmd->nsigs;
	return cmd->sigs;
}

const char *jr_cmd_error(const struct jr_cmd *cmd)
{
	return cmd->failed ? cmd->error.msg : NULL;
}

int jr_cmd_errno(const struct jr_cmd *cmd)
{
	return cmd->failed ? cmd->error.errnum : 0;
}

void jr_cmd_free(struct jr_cmd *cmd)
{
	if (!cmd)
		return;
	if (cmd->state == ST_RUNNING) {
		send_term(cmd, JR_KILL_FREE);
		if (jr_cmd_wait(cmd, NULL) < 0 && !cmd->reaped) {
			kill(-cmd->pid, SIGKILL);
			kill(cmd->pid, SIGKILL);
			try_reap(cmd, true);
		}
	}
	if (!cmd->reaped && cmd->pid > 0 && cmd->state != ST_DONE)
		live_del(cmd);
	finish(cmd);
	free(cmd->path);
	for (size_t i = 0; i < cmd->argc; i++)
		free(cmd->argv[i]);
	free(cmd->argv);
	for (size_t i = 0; i < cmd->nenv; i++)
		free(cmd->env[i]);
	free(cmd->env);
	free(cmd->cwd);
	free(cmd->rlimits);
	free(cmd->user);
	free(cmd->group);
	io_reset(&cmd->in);
	io_reset(&cmd->out);
	io_reset(&cmd->err);
	free(cmd->in_data);
	free(cmd->preserve);
	free(cmd->pidfile);
	jr_buf_release(&cmd->outbuf);
	jr_buf_release(&cmd->errbuf);
	free(cmd->sigs);
	free(cmd);
}

int jr_spawn_reap_orphans(void)
{
	int count = 0;

	for (;;) {
		siginfo_t si;
		struct jr_cmd *owner = NULL;

		memset(&si, 0, sizeof(si));
		if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
			break;
		pthread_mutex_lock(&live_lock);
		for (size_t i = 0; i < nlive; i++) {
			if (live[i]->pid == si.si_pid)
				owner = live[i];
		}
		pthread_mutex_unlock(&live_lock);
		if (owner) {
			/* Reaped on the command's behalf: its status is kept
			 * for it, so nothing is stolen. */
			try_reap(owner, true);
			continue;
		}
		if (waitpid(si.si_pid, NULL, 0) == si.si_pid)
			count++;
	}
	return count;
}
