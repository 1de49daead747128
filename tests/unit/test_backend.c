/* Unit tests for backend.c, backend_local.c, backend_none.c: resolve
 * decisions, and job commands really run through the spawn core (real
 * processes, real files in a temporary directory). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "backend.h"
#include "util.h"

static char tmpdir[PATH_MAX];
static struct jr_config cfg;
static struct jr_machine host;
static struct jr_backend_ctx ctx;
static struct jr_target any; /* {} */

static int setup(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	static const char ini[] = "[jobrunner]\nbackends = container, local\n[local]\ntags = a b\n";
	char *tags[] = { "a", "b" };

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/jr-test-backend-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	if (jr_config_load_buffer(&cfg, "t.ini", ini, sizeof(ini) - 1, tmpdir, &err) < 0)
		fail_msg("%s", err.msg);
	assert_int_equal(jr_machine_detect(&host, tags, 2, &err), 0);
	assert_int_equal(mkdir(cfg.jobs_dir, 0700), 0);
	ctx.cfg = &cfg;
	ctx.host = &host;
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	jr_config_release(&cfg);
	jr_machine_release(&host);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(WEXITSTATUS(system(cmd)), 0);
	return 0;
}

/* A job as the loader would produce it with no keys but a command. */
static void job_init(struct jr_job *j, char **argv)
{
	size_t n = 0;

	memset(j, 0, sizeof(*j));
	j->name = "t";
	while (argv && argv[n])
		n++;
	j->command.v = argv;
	j->command.n = n;
	j->umask = 022;
	j->env_inherit_default = true;
	j->in.kind = JR_IO_NULL;
	j->out.kind = JR_IO_NULL;
	j->err.kind = JR_IO_NULL;
	j->kill_grace_ms = 10000;
	j->ntargets = 1;
	j->targets = &any;
}

static char *path_in_tmp(const char *name)
{
	return jr_xasprintf("%s/%s", tmpdir, name);
}

static char *slurp(const char *path)
{
	struct jr_buf b = JR_BUF_INIT;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	jr_buf_init(&b);
	assert_int_equal(jr_read_all(fd, 1 << 20, &b, NULL), 0);
	close(fd);
	return jr_buf_detach(&b, NULL);
}

/* Runs job through the local backend's start, waits, returns the result;
 * *out gets the content of its stdout file when out is not NULL. */
static struct jr_cmd_result run_job(struct jr_job *j, char **out)
{
	struct jr_attempt a = { .job = j, .target = &any, .run_id = "r1", .attempt = 1 };
	struct jr_err err = JR_ERR_INIT;
	struct jr_cmd_result res;
	const char *machine = NULL;
	struct jr_cmd *cmd;
	char *outp = NULL;
	struct jr_io saved = j->out;

	if (out) {
		outp = path_in_tmp("out.txt");
		unlink(outp);
		j->out.kind = JR_IO_FILE;
		j->out.path = outp;
		j->out.append = false;
	}
	cmd = jr_backend_local.start(&ctx, &a, &machine, &err);
	if (!cmd)
		fail_msg("start failed: %s", err.msg);
	assert_string_equal(machine, host.hostname);
	assert_int_equal(jr_cmd_wait(cmd, &res), 0);
	jr_cmd_free(cmd);
	if (out) {
		*out = slurp(outp);
		j->out = saved;
		free(outp);
	}
	return res;
}

static void test_names_find(void **state)
{
	const char *const *n = jr_backend_names();

	(void)state;
	assert_string_equal(n[0], "local");
	assert_string_equal(n[1], "none");
	assert_null(n[2]);
	assert_ptr_equal(jr_backend_find("local"), &jr_backend_local);
	assert_ptr_equal(jr_backend_find("none"), &jr_backend_none);
	assert_null(jr_backend_find("container"));
	assert_null(jr_backend_find("slurm"));
	assert_null(jr_backend_find(""));
}

static void test_resolve(void **state)
{
	struct jr_buf d = JR_BUF_INIT;
	struct jr_job j;
	struct jr_kv facts[1];
	char *tgtags[2] = { "gpu", NULL };
	struct jr_target t = { facts, 1, { NULL, 0 } };
	char *jb[4] = { "none", "slurm", "local", NULL };
	char want[512], other[32];
	const char *distro = jr_machine_fact(&host, "distro");

	(void)state;
	jr_buf_init(&d);
	job_init(&j, NULL);
	j.shell = "true";

	/* jobrunner.ini's order: container (not built), then local */
	assert_ptr_equal(jr_backend_resolve(&ctx, &j, &any, &d), &jr_backend_local);
	snprintf(want, sizeof(want), "container: not available in this build; local: chosen (host %s)",
		 host.hostname);
	assert_string_equal(d.buf, want);

	/* a target this host cannot satisfy */
	snprintf(other, sizeof(other), "%s", strcmp(distro, "fedora") ? "fedora" : "debian");
	facts[0].key = "distro";
	facts[0].value = other;
	jr_buf_reset(&d);
	assert_null(jr_backend_resolve(&ctx, &j, &t, &d));
	snprintf(want, sizeof(want),
		 "container: not available in this build; local: distro=%s (this host has %s)", other,
		 distro);
	assert_string_equal(d.buf, want);

	/* the job's own order wins over the ini's */
	j.backends.v = jb;
	j.backends.n = 3;
	jr_buf_reset(&d);
	assert_null(jr_backend_resolve(&ctx, &j, &t, &d));
	snprintf(want, sizeof(want),
		 "none: never runs jobs; slurm: not available in this build; local: distro=%s (this host has %s)",
		 other, distro);
	assert_string_equal(d.buf, want);

	/* tags of the host come from [local] tags */
	t.nfacts = 0;
	t.tags.v = tgtags;
	t.tags.n = 1;
	jr_buf_reset(&d);
	assert_null(jr_backend_resolve(&ctx, &j, &t, &d));
	assert_string_equal(d.buf, "none: never runs jobs; slurm: not available in this build; "
				   "local: tag gpu (this host has: a, b)");
	tgtags[0] = "b";
	jr_buf_reset(&d);
	assert_ptr_equal(jr_backend_resolve(&ctx, &j, &t, &d), &jr_backend_local);

	/* only none: a disabled job */
	jb[0] = "none";
	j.backends.n = 1;
	jr_buf_reset(&d);
	assert_null(jr_backend_resolve(&ctx, &j, &any, &d));
	assert_string_equal(d.buf, "none: never runs jobs");

	/* an unknown name, and no decision buffer */
	jb[0] = "docker";
	jr_buf_reset(&d);
	assert_null(jr_backend_resolve(&ctx, &j, &any, &d));
	assert_string_equal(d.buf, "docker: unknown backend");
	jb[1] = "local";
	j.backends.n = 2;
	assert_ptr_equal(jr_backend_resolve(&ctx, &j, &any, NULL), &jr_backend_local);
	jr_buf_release(&d);
}

static void test_none_start(void **state)
{
	char *argv[] = { "/bin/true", NULL };
	struct jr_job j;
	struct jr_attempt a = { .target = &any, .run_id = "r", .attempt = 1 };
	struct jr_err err = JR_ERR_INIT;
	const char *machine = "x";

	(void)state;
	job_init(&j, argv);
	a.job = &j;
	assert_null(jr_backend_none.start(&ctx, &a, &machine, &err));
	assert_null(machine);
	assert_string_equal(err.msg, "none: never runs jobs");
}

static void test_argv_and_shell(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "for a; do printf '[%s]\\n' \"$a\"; done; exit 7",
			       "zero", "a b", "", "*", "$HOME", NULL };
	struct jr_job j;
	struct jr_cmd_result r;
	char *out;

	(void)state;
	job_init(&j, argv);
	r = run_job(&j, &out);
	assert_int_equal(r.exit_code, 7);
	assert_string_equal(out, "[a b]\n[]\n[*]\n[$HOME]\n");
	free(out);

	/* command[0] without '/' is looked up in PATH */
	{
		char *argv2[] = { "echo", "x", NULL };

		job_init(&j, argv2);
		r = run_job(&j, &out);
		assert_int_equal(r.exit_code, 0);
		assert_string_equal(out, "x\n");
		free(out);
	}

	job_init(&j, NULL);
	j.shell = "echo \"$0\" $((1+2)); exit 3";
	r = run_job(&j, &out);
	assert_int_equal(r.exit_code, 3);
	assert_string_equal(out, "/bin/sh 3\n");
	free(out);

	job_init(&j, NULL);
	{
		struct jr_attempt a = { .job = &j, .target = &any, .run_id = "r", .attempt = 1 };
		struct jr_err err = JR_ERR_INIT;

		assert_null(jr_backend_job_cmd(&ctx, &a, &err));
		assert_string_equal(err.msg, "job t: neither command nor shell");
	}
}

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	const char *p = text;

	while ((p = strstr(p, line))) {
		if ((p == text || p[-1] == '\n') && (p[n] == '\n' || p[n] == '\0'))
			return true;
		p++;
	}
	return false;
}

static void test_env(void **state)
{
	char *argv[] = { "/usr/bin/env", NULL };
	struct jr_kv set[] = { { "FOO", "bar baz" }, { "SEC_IN_FILE", "fromfile" } };
	char *secrets[] = { "SEC_IN_FILE", "SEC_FROM_ENV", "SEC_UNSET", NULL };
	char *inherit[] = { "HOME", "JR_T_PASS", NULL };
	struct jr_job j;
	char *out;
	const char *lang = getenv("LANG");

	(void)state;
	setenv("JR_T_NOT_PASSED", "1", 1);
	setenv("JR_T_PASS", "p", 1);
	setenv("SEC_FROM_ENV", "s3cret", 1);
	setenv("SEC_IN_FILE", "ignored", 1);
	unsetenv("SEC_UNSET");
	setenv("PATH", "/usr/bin:/bin", 1);
	setenv("HOME", "/root-test", 1);
	unsetenv("LANG");
	unsetenv("LC_ALL");

	/* the default: the common set, plus LC_ALL=C */
	job_init(&j, argv);
	run_job(&j, &out);
	assert_true(has_line(out, "PATH=/usr/bin:/bin"));
	assert_true(has_line(out, "HOME=/root-test"));
	assert_true(has_line(out, "LC_ALL=C"));
	assert_null(strstr(out, "JR_T_"));
	assert_null(strstr(out, "SEC_"));
	free(out);

	/* env.set and secrets */
	j.env_set = set;
	j.nenv_set = 2;
	j.env_secret.v = secrets;
	j.env_secret.n = 3;
	run_job(&j, &out);
	assert_true(has_line(out, "FOO=bar baz"));
	assert_true(has_line(out, "SEC_IN_FILE=fromfile"));
	assert_true(has_line(out, "SEC_FROM_ENV=s3cret"));
	assert_null(strstr(out, "SEC_UNSET"));
	assert_null(strstr(out, "ignored"));
	free(out);

	/* an explicit inherit list: only those (no LC_ALL=C) */
	job_init(&j, argv);
	j.env_inherit_default = false;
	j.env_inherit.v = inherit;
	j.env_inherit.n = 2;
	run_job(&j, &out);
	/* ... plus what jobrunner always sets: who and which attempt */
	assert_string_equal(out, "HOME=/root-test\nJR_T_PASS=p\nJOBRUNNER_JOB=t\n"
				 "JOBRUNNER_RUN_ID=r1\nJOBRUNNER_ATTEMPT=1\n");
	free(out);

	/* inherit: [] means nothing of jobrunner's environment */
	j.env_inherit.n = 0;
	run_job(&j, &out);
	assert_string_equal(out, "JOBRUNNER_JOB=t\nJOBRUNNER_RUN_ID=r1\nJOBRUNNER_ATTEMPT=1\n");
	free(out);

	/* inherit: all */
	j.env_inherit_all = true;
	run_job(&j, &out);
	assert_true(has_line(out, "JR_T_NOT_PASSED=1"));
	assert_true(has_line(out, "JR_T_PASS=p"));
	free(out);

	if (lang)
		setenv("LANG", lang, 1);
	unsetenv("JR_T_NOT_PASSED");
	unsetenv("JR_T_PASS");
	unsetenv("SEC_FROM_ENV");
	unsetenv("SEC_IN_FILE");
}

static void test_stdin(void **state)
{
	char *argv[] = { "/bin/cat", NULL };
	struct jr_job j;
	char *out, *in = path_in_tmp("in.txt");
	int fd;

	(void)state;
	job_init(&j, argv);
	j.in.kind = JR_IO_DATA;
	j.in.data = "hello\nworld";
	j.in.data_len = 11;
	run_job(&j, &out);
	assert_string_equal(out, "hello\nworld");
	free(out);

	fd = open(in, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_int_equal(write(fd, "from file\n", 10), 10);
	close(fd);
	j.in.kind = JR_IO_FILE;
	j.in.path = in;
	run_job(&j, &out);
	assert_string_equal(out, "from file\n");
	free(out);

	j.in.kind = JR_IO_NULL;
	run_job(&j, &out);
	assert_string_equal(out, "");
	free(out);
	free(in);
}

static void test_outputs(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "echo out; echo err >&2", NULL };
	struct jr_job j;
	struct jr_attempt a = { .target = &any, .run_id = "r", .attempt = 1 };
	struct jr_err err = JR_ERR_INIT;
	struct jr_cmd_result r;
	const char *machine;
	struct jr_cmd *cmd;
	char *so = path_in_tmp("log.out"), *se = path_in_tmp("log.err");
	char *f = path_in_tmp("f.txt"), *text;
	struct stat st;

	(void)state;
	job_init(&j, argv);
	a.job = &j;
	j.out.kind = JR_IO_LOG;
	j.err.kind = JR_IO_LOG;
	a.stdout_fd = open(so, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	a.stderr_fd = open(se, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(a.stdout_fd >= 0 && a.stderr_fd >= 0);
	cmd = jr_backend_local.start(&ctx, &a, &machine, &err);
	assert_non_null(cmd);
	assert_int_equal(jr_cmd_wait(cmd, &r), 0);
	jr_cmd_free(cmd);
	/* the descriptors stay the caller's */
	assert_int_equal(close(a.stdout_fd), 0);
	assert_int_equal(close(a.stderr_fd), 0);
	text = slurp(so);
	assert_string_equal(text, "out\n");
	free(text);
	text = slurp(se);
	assert_string_equal(text, "err\n");
	free(text);
	assert_int_equal(stat(so, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	a.stdout_fd = -1;
	assert_null(jr_backend_local.start(&ctx, &a, &machine, &err));
	assert_string_equal(err.msg, "stdout: no log file for this attempt");

	/* merge, and append vs truncate */
	j.out.kind = JR_IO_FILE;
	j.out.path = f;
	j.out.append = true;
	j.err.kind = JR_IO_STDOUT;
	r = run_job(&j, NULL);
	(void)r;
	r = run_job(&j, NULL);
	text = slurp(f);
	assert_string_equal(text, "out\nerr\nout\nerr\n");
	free(text);
	j.out.append = false;
	run_job(&j, NULL);
	text = slurp(f);
	assert_string_equal(text, "out\nerr\n");
	free(text);

	/* stderr to a file, stdout to null */
	j.out.kind = JR_IO_NULL;
	j.err.kind = JR_IO_FILE;
	j.err.path = f;
	j.err.append = false;
	run_job(&j, NULL);
	text = slurp(f);
	assert_string_equal(text, "err\n");
	free(text);
	free(so);
	free(se);
	free(f);
}

/* stdout: inherit writes to jobrunner's own descriptor 1. */
static void test_inherit(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "echo to-one; echo to-two >&2", NULL };
	struct jr_job j;
	char *f = path_in_tmp("inherit.txt"), *text;
	int saved1, saved2, fd;

	(void)state;
	job_init(&j, argv);
	j.out.kind = JR_IO_INHERIT;
	j.err.kind = JR_IO_INHERIT;
	fd = open(f, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stdout);
	fflush(stderr);
	saved1 = dup(1);
	saved2 = dup(2);
	dup2(fd, 1);
	dup2(fd, 2);
	run_job(&j, NULL);
	dup2(saved1, 1);
	dup2(saved2, 2);
	close(saved1);
	close(saved2);
	close(fd);
	text = slurp(f);
	assert_string_equal(text, "to-one\nto-two\n");
	free(text);
	free(f);
}

static int count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the DIR's own */
}

static void test_fds(void **state)
{
	char *argv[] = { "/bin/sh", "-c",
			       "cat <&5 >&7; echo more >&7; echo app >&8; ls /proc/self/fd | sort -n | tr '\\n' ' '",
			       NULL };
	struct jr_fd_spec specs[3];
	struct jr_job j;
	struct jr_attempt a = { .target = &any, .run_id = "r", .attempt = 1 };
	struct jr_backend_fds fds = JR_BACKEND_FDS_INIT;
	struct jr_err err = JR_ERR_INIT;
	char *in = path_in_tmp("fd-in"), *o = path_in_tmp("fd-out"), *ap = path_in_tmp("fd-app");
	char *text, *out;
	int before, fd;

	(void)state;
	fd = open(in, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_int_equal(write(fd, "input\n", 6), 6);
	close(fd);
	fd = open(ap, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_int_equal(write(fd, "old\n", 4), 4);
	close(fd);
	specs[0] = (struct jr_fd_spec){ 5, in, JR_FD_READ };
	specs[1] = (struct jr_fd_spec){ 7, o, JR_FD_WRITE };
	specs[2] = (struct jr_fd_spec){ 8, ap, JR_FD_APPEND };
	job_init(&j, argv);
	j.fds = specs;
	j.nfds = 3;
	a.job = &j;

	before = count_open_fds();
	run_job(&j, &out);
	/* the parent's copies were closed after the start */
	assert_int_equal(count_open_fds(), before);
	/* 0 1 2, the three declared, and ls's directory fd 3 */
	assert_string_equal(out, "0 1 2 3 5 7 8 ");
	free(out);
	text = slurp(o);
	assert_string_equal(text, "input\nmore\n");
	free(text);
	text = slurp(ap);
	assert_string_equal(text, "old\napp\n");
	free(text);

	/* jr_backend_job_cmd cannot hand out the descriptors: refused */
	assert_null(jr_backend_job_cmd(&ctx, &a, &err));
	assert_non_null(strstr(err.msg, "use jr_backend_job_cmd_fds"));

	/* a missing input file: an error naming the fd, nothing left open */
	specs[0].path = "/nonexistent/x";
	assert_null(jr_backend_job_cmd_fds(&ctx, &a, &fds, &err));
	assert_string_equal(err.msg, "fd 5: /nonexistent/x: No such file or directory");
	assert_int_equal(fds.n, 0);
	assert_null(fds.v);
	assert_int_equal(count_open_fds(), before);
	assert_null(jr_backend_local.start(&ctx, &a, NULL, &err));
	assert_int_equal(count_open_fds(), before);

	/* a FIFO without a reader does not hang the parent */
	specs[0].path = in;
	{
		char *fifo = path_in_tmp("fifo");

		assert_int_equal(mkfifo(fifo, 0600), 0);
		specs[1].path = fifo;
		assert_null(jr_backend_job_cmd_fds(&ctx, &a, &fds, &err));
		assert_non_null(strstr(err.msg, "fd 7: "));
		assert_int_equal(err.errnum, ENXIO);
		free(fifo);
	}
	free(in);
	free(o);
	free(ap);
}

static bool under_valgrind(void)
{
	const char *p = getenv("LD_PRELOAD");

	return p && strstr(p, "vgpreload");
}

static void test_limits_umask_cwd(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "ulimit -t; ulimit -c; ulimit -f; umask; pwd", NULL };
	char *argv_n[] = { "/bin/sh", "-c", "ulimit -n; ulimit -H -n", NULL };
	struct jr_job j;
	char *out, *want;

	(void)state;
	job_init(&j, argv);
	j.limit_set[JR_LIMIT_CPU] = true;
	j.limit[JR_LIMIT_CPU] = 100;
	j.limit_set[JR_LIMIT_CORE] = true;
	j.limit[JR_LIMIT_CORE] = 0;
	j.limit_set[JR_LIMIT_FSIZE] = true;
	j.limit[JR_LIMIT_FSIZE] = 1 << 20; /* dash counts 512-byte blocks */
	j.umask = 027;
	j.cwd = tmpdir;
	run_job(&j, &out);
	want = jr_xasprintf("100\n0\n2048\n0027\n%s\n", tmpdir);
	assert_string_equal(out, want);
	free(want);
	free(out);

	/* nofile, soft and hard (valgrind forbids changing the hard limit) */
	if (!under_valgrind()) {
		job_init(&j, argv_n);
		j.limit_set[JR_LIMIT_NOFILE] = true;
		j.limit[JR_LIMIT_NOFILE] = 64;
		run_job(&j, &out);
		assert_string_equal(out, "64\n64\n");
		free(out);
	}
	job_init(&j, argv);

	/* default cwd: the jobs directory of jobrunner.ini */
	j.cwd = NULL;
	j.limit_set[JR_LIMIT_CORE] = true;
	j.limit[JR_LIMIT_CORE] = JR_LIMIT_UNLIMITED;
	j.umask = 0;
	run_job(&j, &out);
	assert_non_null(strstr(out, "unlimited\n0000\n"));
	assert_non_null(strstr(out, cfg.jobs_dir));
	free(out);

	/* a cwd that does not exist: the start fails, with the step named */
	{
		struct jr_attempt a = { .job = &j, .target = &any, .run_id = "r", .attempt = 1 };
		struct jr_err err = JR_ERR_INIT;

		j.cwd = "/nonexistent-dir";
		assert_null(jr_backend_local.start(&ctx, &a, NULL, &err));
		assert_non_null(strstr(err.msg, "/nonexistent-dir"));
		assert_int_equal(err.errnum, ENOENT);
	}
}

/* user and group: only root can switch, so only tested as root. */
static void test_user(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "id -u; id -g", NULL };
	struct jr_job j;
	char *out;

	(void)state;
	if (geteuid() != 0)
		skip();
	job_init(&j, argv);
	j.cwd = "/";
	j.user = "65534";
	j.group = "65534";
	run_job(&j, &out);
	assert_string_equal(out, "65534\n65534\n");
	free(out);
	j.user = NULL;
	run_job(&j, &out);
	assert_string_equal(out, "0\n65534\n");
	free(out);
}

static void test_timeout(void **state)
{
	char *argv[] = { "/bin/sleep", "30", NULL };
	struct jr_job j;
	struct jr_cmd_result r;

	(void)state;
	job_init(&j, argv);
	j.timeout_ms = 200;
	j.kill_grace_ms = 2000;
	r = run_job(&j, NULL);
	assert_true(r.timed_out);
	assert_int_equal(r.signal, SIGTERM);
	assert_int_equal(r.exit_code, -1);
	assert_true(r.duration_ms < 20000);
}

/* Whether pid is a live process (not gone, not a zombie awaiting reaping
 * by whoever adopted it). */
static bool process_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	FILE *f;
	bool alive = false;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false;
	if (fgets(buf, sizeof(buf), f) && (p = strrchr(buf, ')')) && p[1] == ' ')
		alive = p[2] != 'Z' && p[2] != 'X';
	fclose(f);
	return alive;
}

/* Leftover killing is on: a background child of the job does not survive. */
static void test_leftovers(void **state)
{
	char *argv[] = { "/bin/sh", "-c", "sleep 30 & echo $!", NULL };
	struct jr_job j;
	struct jr_cmd_result r;
	char *out;
	pid_t pid;

	(void)state;
	job_init(&j, argv);
	j.kill_grace_ms = 2000;
	r = run_job(&j, &out);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.leftovers, 1);
	pid = (pid_t)atoi(out);
	assert_true(pid > 0);
	assert_false(process_alive(pid));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_find),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_none_start),
		cmocka_unit_test(test_argv_and_shell),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_stdin),
		cmocka_unit_test(test_outputs),
		cmocka_unit_test(test_inherit),
		cmocka_unit_test(test_fds),
		cmocka_unit_test(test_limits_umask_cwd),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_leftovers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
