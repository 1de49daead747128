/* Unit tests for the spawn core (issue 2), with the probe helper
 * (tests/helpers/probe.c) reporting what the child really got. Each numbered
 * behaviour of the issue has at least one test, named after it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "spawn.h"
#include "spawn_internal.h"
#include "util.h"

#include "banned.h"

static char *probe;
static char tmpdir[64];

static void find_probe(void)
{
	const char *h = getenv("JR_HELPERS");
	char cwd[PATH_MAX];

	if (!h || !*h)
		h = "build/tests/helpers";
	if (h[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		probe = jr_xasprintf("%s/probe", h);
	else
		probe = jr_xasprintf("%s/%s/probe", cwd, h);
}

static struct jr_cmd *probe_cmd(const char *mode)
{
	struct jr_cmd *cmd = jr_cmd_new(probe);

	jr_cmd_add_arg(cmd, mode);
	return cmd;
}

#if defined(__SANITIZE_ADDRESS__)
#define JR_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define JR_TEST_ASAN 1
#endif
#endif

/* Under SANITIZE=1 the probe is built with ASan too, which installs its own
 * SIGSEGV/SIGBUS/SIGFPE handlers and disables core dumps at startup; this
 * turns that off so the probe shows what the spawn core gave it. */
static void no_sanitizer_signals(struct jr_cmd *cmd)
{
#ifdef JR_TEST_ASAN
	jr_cmd_env_pair(cmd, "ASAN_OPTIONS",
			"handle_segv=0:handle_sigbus=0:handle_sigfpe=0:"
			"handle_abort=0:handle_sigill=0:disable_coredump=0");
#else
	(void)cmd;
#endif
}

/* Runs cmd (stdout to a buffer) and returns a copy of its output. */
static char *run_output(struct jr_cmd *cmd, struct jr_cmd_result *res)
{
	const char *out;
	size_t len;

	jr_cmd_set_output_buffer(cmd, 0);
	if (jr_cmd_run(cmd, res) < 0)
		fail_msg("run failed: %s", jr_cmd_error(cmd));
	out = jr_cmd_output(cmd, &len, NULL);
	assert_non_null(out);
	return jr_xstrdup(out);
}

static bool has_line(const char *out, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = out; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (!strncmp(p, line, n) && (p[n] == '\n' || p[n] == '\0'))
			return true;
	}
	return false;
}

/* All lines of out that start with prefix, concatenated. */
static char *lines_with(const char *out, const char *prefix)
{
	struct jr_buf b = JR_BUF_INIT;
	size_t n = strlen(prefix);

	jr_buf_init(&b);
	for (const char *p = out; p && *p;) {
		const char *e = strchrnul(p, '\n');

		if (!strncmp(p, prefix, n)) {
			jr_buf_add(&b, p, (size_t)(e - p));
			jr_buf_addch(&b, '\n');
		}
		p = *e ? e + 1 : e;
	}
	return jr_buf_detach(&b, NULL);
}

/* Runs cmd (then frees it) and returns the lines of its output that start
 * with prefix. */
static char *run_lines(struct jr_cmd *cmd, const char *prefix)
{
	char *out = run_output(cmd, NULL), *lines = lines_with(out, prefix);

	free(out);
	jr_cmd_free(cmd);
	return lines;
}

/* How many times needle occurs in s. */
static int count_of(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void fd_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 7 + (i >> 12)) % 251);
}

/* Processes other than us whose pgrp or session is id, or our zombies. */
static int count_procs(pid_t pgrp_or_sid, bool zombies_of_self)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d))) {
		char buf[1024], st;
		const char *p;
		long ppid, pgrp, sid;

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		p = jr_proc_stat((pid_t)strtol(de->d_name, NULL, 10), buf, sizeof(buf));
		if (!p || sscanf(p, " %c %ld %ld %ld", &st, &ppid, &pgrp, &sid) != 4)
			continue;
		if (zombies_of_self) {
			if (st == 'Z' && ppid == getpid())
				n++;
		} else if (st != 'Z' && (pgrp == pgrp_or_sid || sid == pgrp_or_sid)) {
			n++;
		}
	}
	closedir(d);
	return n;
}

/* Ends a forked copy of the test process with exit code 0 (ok) or 1.
 * It execs rather than _exit so that valgrind and LeakSanitizer do not run a
 * leak check over the copy of our heap that the child inherited. */
static void __attribute__((noreturn)) child_exit(bool ok)
{
	execl(ok ? "/bin/true" : "/bin/false", ok ? "true" : "false", (char *)NULL);
	_exit(ok ? 0 : 1);
}

/* Whether pid exists and is not a zombie (dead, not yet reaped by init). */
static bool proc_alive(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd;
	ssize_t len;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

/* Waits up to ms for no live process in group/session id. */
static int wait_group_gone(pid_t id, int ms)
{
	for (int i = 0; i < ms / 10; i++) {
		if (count_procs(id, false) == 0)
			return 0;
		usleep(10000);
	}
	return count_procs(id, false);
}

/* 1. argv arrives exactly; no shell. */
static void test_1_argv_exact(void **state)
{
	static const char *const args[] = {"",	    " a  b ",	   "'q\"",	 "x\ny",
					   ";|&$*", "back\\slash", "$(echo hi)", NULL};
	struct jr_cmd *cmd = probe_cmd("dump");
	char *out;

	(void)state;
	jr_cmd_add_args(cmd, args);
	jr_cmd_add_arg_pair(cmd, "--k", "v w");
	jr_cmd_add_argf(cmd, "n=%d", 42);
	out = run_output(cmd, NULL);
	assert_true(has_line(out, "argv[1]=dump"));
	assert_true(has_line(out, "argv[2]="));
	assert_true(has_line(out, "argv[3]= a  b "));
	assert_true(has_line(out, "argv[4]='q\""));
	assert_true(has_line(out, "argv[5]=x\\ny"));
	assert_true(has_line(out, "argv[6]=;|&$*"));
	assert_true(has_line(out, "argv[7]=back\\\\slash"));
	assert_true(has_line(out, "argv[8]=$(echo hi)"));
	assert_true(has_line(out, "argv[9]=--k=v w"));
	assert_true(has_line(out, "argv[10]=n=42"));
	assert_null(strstr(out, "argv[11]"));
	free(out);
	jr_cmd_free(cmd);

	/* jr_cmd_new_argv: argv[0] as given, program looked up in PATH. */
	{
		const char *av[] = {"probe", "dump", "z", NULL};
		char *dir = jr_xstrdup(probe), *slash = strrchr(dir, '/');

		*slash = '\0';
		cmd = jr_cmd_new_argv(av);
		jr_cmd_env_pair(cmd, "PATH", dir);
		out = run_output(cmd, NULL);
		assert_true(has_line(out, "argv[0]=probe"));
		assert_true(has_line(out, "argv[2]=z"));
		free(out);
		free(dir);
		jr_cmd_free(cmd);
	}
}

/* 2. Environment: empty unless asked, pass-common, pass, pair, string,
 * inherit-all, later pair wins. */
static void test_2_environment(void **state)
{
	struct jr_cmd *cmd;
	char *out, *env;

	(void)state;
	cmd = probe_cmd("dump");
	env = run_lines(cmd, "env ");
	assert_string_equal(env, "");
	free(env);

	setenv("PATH", "/usr/bin:/bin", 1);
	setenv("HOME", "/home/h", 1);
	setenv("USER", "u", 1);
	unsetenv("LOGNAME");
	setenv("TMPDIR", "/tmp/t", 1);
	setenv("LANG", "en_US.UTF-8", 1);
	unsetenv("TZ");
	setenv("JR_SECRET", "s", 1);
	setenv("JR_PASSED", "p=q", 1);
	unsetenv("JR_UNSET");

	cmd = probe_cmd("dump");
	jr_cmd_env_pass_common(cmd);
	env = run_lines(cmd, "env ");
	assert_string_equal(env, "env HOME=/home/h\n"
				 "env LANG=en_US.UTF-8\n"
				 "env LC_ALL=C\n"
				 "env PATH=/usr/bin:/bin\n"
				 "env TMPDIR=/tmp/t\n"
				 "env USER=u\n");
	free(env);

	/* An explicit locale suppresses LC_ALL=C, whatever the order. */
	cmd = probe_cmd("dump");
	jr_cmd_env_pair(cmd, "LANG", "fr_FR.UTF-8");
	jr_cmd_env_pass_common(cmd);
	jr_cmd_env_pair(cmd, "LANG", "de_DE.UTF-8");
	env = run_lines(cmd, "env L");
	assert_string_equal(env, "env LANG=de_DE.UTF-8\n");
	free(env);

	cmd = probe_cmd("dump");
	jr_cmd_env_pass_common(cmd);
	jr_cmd_env_string(cmd, "LC_ALL=en_GB.UTF-8");
	out = run_output(cmd, NULL);
	assert_true(has_line(out, "env LC_ALL=en_GB.UTF-8"));
	assert_false(has_line(out, "env LC_ALL=C"));
	free(out);
	jr_cmd_free(cmd);

	/* pass, pair, string; a later pair overrides an earlier one. */
	cmd = probe_cmd("dump");
	jr_cmd_env_pass(cmd, "JR_PASSED");
	jr_cmd_env_pass(cmd, "JR_UNSET");
	jr_cmd_env_pair(cmd, "A", "1");
	jr_cmd_env_string(cmd, "B=two words");
	jr_cmd_env_pair(cmd, "A", "3");
	jr_cmd_env_pair(cmd, "NL", "x\ny");
	env = run_lines(cmd, "env ");
	assert_string_equal(env, "env A=3\nenv B=two words\nenv JR_PASSED=p=q\nenv NL=x\\ny\n");
	free(env);

	/* inherit-all, then an override. */
	cmd = probe_cmd("dump");
	jr_cmd_env_inherit_all(cmd);
	jr_cmd_env_pair(cmd, "JR_SECRET", "overridden");
	out = run_output(cmd, NULL);
	assert_true(has_line(out, "env JR_PASSED=p=q"));
	assert_true(has_line(out, "env HOME=/home/h"));
	assert_true(has_line(out, "env JR_SECRET=overridden"));
	assert_false(has_line(out, "env JR_SECRET=s"));
	free(out);
	jr_cmd_free(cmd);

	/* A bad name is a deferred error. */
	cmd = probe_cmd("dump");
	jr_cmd_env_pair(cmd, "A=B", "x");
	assert_int_equal(jr_cmd_run(cmd, NULL), -1);
	assert_non_null(strstr(jr_cmd_error(cmd), "A=B"));
	jr_cmd_free(cmd);
	unsetenv("JR_SECRET");
	unsetenv("JR_PASSED");
}

/* 3. Only 0, 1, 2 and the preserved descriptors, with crossed mappings. */
static void test_3_descriptors(void **state)
{
	int extra[200], fa, fb, sa = -1, sb = -1;
	char pa[PATH_MAX], pb[PATH_MAX], line[PATH_MAX + 16];
	struct jr_cmd *cmd;
	char *fds;

	(void)state;
	for (int i = 0; i < 200; i++) {
		extra[i] = open("/dev/null", O_RDONLY); /* no O_CLOEXEC on purpose */
		assert_true(extra[i] >= 0);
	}
	cmd = probe_cmd("dump");
	fds = run_lines(cmd, "fd ");
	/* stdin and stderr are /dev/null, stdout the output pipe. */
	assert_true(has_line(fds, "fd 0 /dev/null"));
	assert_true(has_line(fds, "fd 2 /dev/null"));
	assert_non_null(strstr(fds, "fd 1 pipe:"));
	assert_null(strstr(fds, "fd 3"));
	assert_int_equal(count_of(fds, "fd "), 3);
	free(fds);

	/* Crossed: parent 3 -> child 4, parent 4 -> child 3. */
	snprintf(pa, sizeof(pa), "%s/fileA", tmpdir);
	snprintf(pb, sizeof(pb), "%s/fileB", tmpdir);
	fa = open(pa, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	fb = open(pb, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fa >= 0 && fb >= 0);
	sa = fcntl(3, F_DUPFD_CLOEXEC, 500);
	sb = fcntl(4, F_DUPFD_CLOEXEC, 500);
	assert_true(dup2(fa, 3) == 3 && dup2(fb, 4) == 4);
	cmd = probe_cmd("dump");
	jr_cmd_preserve_fd(cmd, 3, 4);
	jr_cmd_preserve_fd(cmd, 4, 3);
	jr_cmd_preserve_fd(cmd, fa, 9);
	fds = run_lines(cmd, "fd ");
	snprintf(line, sizeof(line), "fd 3 %s", pb);
	assert_true(has_line(fds, line));
	snprintf(line, sizeof(line), "fd 4 %s", pa);
	assert_true(has_line(fds, line));
	snprintf(line, sizeof(line), "fd 9 %s", pa);
	assert_true(has_line(fds, line));
	/* exactly 0 1 2 3 4 9 */
	assert_int_equal(count_of(fds, "fd "), 6);
	free(fds);

	/* No crossing (each source goes straight to its target): fa to its
	 * own number (its close-on-exec flag must not survive), fb elsewhere. */
	cmd = probe_cmd("dump");
	jr_cmd_preserve_fd(cmd, fa, fa);
	jr_cmd_preserve_fd(cmd, fb, 20);
	fds = run_lines(cmd, "fd ");
	snprintf(line, sizeof(line), "fd %d %s", fa, pa);
	assert_true(has_line(fds, line));
	snprintf(line, sizeof(line), "fd 20 %s", pb);
	assert_true(has_line(fds, line));
	assert_true(has_line(fds, "fd 0 /dev/null"));
	free(fds);

	/* preserve to a child number < 3 is a deferred error. */
	cmd = probe_cmd("dump");
	jr_cmd_preserve_fd(cmd, fa, 1);
	assert_int_equal(jr_cmd_run(cmd, NULL), -1);
	jr_cmd_free(cmd);

	if (sa >= 0)
		dup2(sa, 3), close(sa);
	else
		close(3);
	if (sb >= 0)
		dup2(sb, 4), close(sb);
	else
		close(4);
	close(fa);
	close(fb);
	for (int i = 0; i < 200; i++)
		close(extra[i]);
}

/* 4. 64 MiB each way at once; cap; output file written directly. */
static void test_4_buffers(void **state)
{
	const size_t total = (size_t)64 << 20;
	unsigned char *in = jr_xmalloc(total);
	struct jr_cmd_result res;
	struct jr_cmd *cmd;
	const char *out, *err;
	size_t olen, elen;
	bool trunc;
	char path[PATH_MAX], line[PATH_MAX + 16];
	struct stat st;

	(void)state;
	for (size_t i = 0; i < total; i++)
		in[i] = pattern(i);
	cmd = probe_cmd("bigio");
	jr_cmd_add_arg(cmd, "64");
	jr_cmd_set_input_buffer(cmd, in, total);
	jr_cmd_set_output_buffer(cmd, 0);
	jr_cmd_set_error_buffer(cmd, 0);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	assert_int_equal(res.exit_code, 0); /* the probe got exactly our input */
	out = jr_cmd_output(cmd, &olen, &trunc);
	assert_int_equal(olen, total);
	assert_false(trunc);
	err = jr_cmd_errout(cmd, &elen, &trunc);
	assert_int_equal(elen, total);
	assert_memory_equal(out, in, total);
	assert_memory_equal(err, in, total);
	jr_cmd_free(cmd);
	free(in);

	/* Cap: the first bytes up to the cap, truncated, pipe still drained. */
	cmd = probe_cmd("bytes");
	jr_cmd_add_arg(cmd, "1000000");
	jr_cmd_set_output_buffer(cmd, 1000);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	assert_int_equal(res.exit_code, 0);
	out = jr_cmd_output(cmd, &olen, &trunc);
	assert_int_equal(olen, 1000);
	assert_true(trunc);
	for (size_t i = 0; i < 1000; i++)
		assert_int_equal((unsigned char)out[i], pattern(i));
	assert_null(jr_cmd_errout(cmd, &elen, NULL));
	jr_cmd_free(cmd);

	/* Under the cap: not truncated. */
	cmd = probe_cmd("bytes");
	jr_cmd_add_arg(cmd, "999");
	jr_cmd_set_output_buffer(cmd, 1000);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	jr_cmd_output(cmd, &olen, &trunc);
	assert_int_equal(olen, 999);
	assert_false(trunc);
	jr_cmd_free(cmd);

	/* Output file: the child's fd 1 is the file itself (no copy). */
	snprintf(path, sizeof(path), "%s/out.txt", tmpdir);
	unlink(path);
	cmd = probe_cmd("dump");
	jr_cmd_set_output_file(cmd, path, JR_FILE_EXCL);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	jr_cmd_free(cmd);
	{
		struct jr_buf b = JR_BUF_INIT;
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		assert_true(fd >= 0);
		assert_int_equal(jr_read_all(fd, 1 << 20, &b, NULL), 0);
		close(fd);
		snprintf(line, sizeof(line), "fd 1 %s", path);
		assert_true(has_line(b.buf, line));
		jr_buf_release(&b);
	}
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	/* EXCL refuses an existing file; APPEND appends. */
	cmd = probe_cmd("dump");
	jr_cmd_set_output_file(cmd, path, JR_FILE_EXCL);
	assert_int_equal(jr_cmd_run(cmd, NULL), -1);
	assert_int_equal(jr_cmd_errno(cmd), EEXIST);
	jr_cmd_free(cmd);
	cmd = probe_cmd("bytes");
	jr_cmd_add_arg(cmd, "10");
	jr_cmd_set_output_file(cmd, path, JR_FILE_APPEND);
	assert_int_equal(jr_cmd_run(cmd, NULL), 0);
	jr_cmd_free(cmd);
	assert_int_equal(stat(path, &st), 0);
	{
		off_t before = st.st_size;

		cmd = probe_cmd("bytes");
		jr_cmd_add_arg(cmd, "10");
		jr_cmd_set_error_file(cmd, path, JR_FILE_TRUNCATE);
		jr_cmd_set_output_file(cmd, path, JR_FILE_APPEND);
		assert_int_equal(jr_cmd_run(cmd, NULL), 0);
		jr_cmd_free(cmd);
		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_size, 10);
		assert_true(before > 10);
	}

	/* Input from a file and from a descriptor; output and error to
	 * descriptors the caller keeps. */
	{
		int pfd[2], rfd;
		char buf[64];
		ssize_t n;

		snprintf(path, sizeof(path), "%s/in.txt", tmpdir);
		fd_write_file(path, "from a file\n");
		cmd = probe_cmd("cat");
		jr_cmd_set_input_file(cmd, path);
		jr_cmd_set_output_buffer(cmd, 0);
		assert_int_equal(jr_cmd_run(cmd, &res), 0);
		assert_string_equal(jr_cmd_output(cmd, NULL, NULL), "from a file\n");
		jr_cmd_free(cmd);

		rfd = open(path, O_RDONLY | O_CLOEXEC);
		assert_true(rfd >= 0);
		assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
		cmd = probe_cmd("cat");
		jr_cmd_set_input_fd(cmd, rfd);
		jr_cmd_set_output_fd(cmd, pfd[1]);
		assert_int_equal(jr_cmd_run(cmd, &res), 0);
		jr_cmd_free(cmd);
		assert_int_equal(fcntl(rfd, F_GETFD), FD_CLOEXEC); /* still ours */
		close(rfd);
		n = read(pfd[0], buf, sizeof(buf) - 1);
		assert_int_equal(n, 12);
		buf[n] = '\0';
		assert_string_equal(buf, "from a file\n");

		cmd = jr_cmd_new("/bin/sh");
		jr_cmd_add_arg(cmd, "-c");
		jr_cmd_add_arg(cmd, "echo to stderr >&2");
		jr_cmd_set_error_fd(cmd, pfd[1]);
		assert_int_equal(jr_cmd_run(cmd, &res), 0);
		jr_cmd_free(cmd);
		n = read(pfd[0], buf, sizeof(buf) - 1);
		assert_int_equal(n, 10);
		buf[n] = '\0';
		assert_string_equal(buf, "to stderr\n");
		close(pfd[1]);
		close(pfd[0]);

		cmd = probe_cmd("cat");
		jr_cmd_set_input_file(cmd, "/nonexistent/in");
		assert_int_equal(jr_cmd_run(cmd, &res), -1);
		assert_string_equal(jr_cmd_error(cmd),
				    "open /nonexistent/in: No such file or directory");
		jr_cmd_free(cmd);
	}

	/* A symlink is not followed for output. */
	{
		char link[PATH_MAX];

		snprintf(link, sizeof(link), "%s/link.txt", tmpdir);
		assert_int_equal(symlink(path, link), 0);
		cmd = probe_cmd("dump");
		jr_cmd_set_output_file(cmd, link, JR_FILE_APPEND);
		assert_int_equal(jr_cmd_run(cmd, &res), -1);
		assert_int_equal(jr_cmd_errno(cmd), ELOOP);
		jr_cmd_free(cmd);
	}

	/* merge_stderr: both streams into one buffer. */
	cmd = probe_cmd("bigio");
	jr_cmd_add_arg(cmd, "1");
	jr_cmd_set_output_buffer(cmd, 0);
	jr_cmd_merge_stderr(cmd);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	jr_cmd_output(cmd, &olen, NULL);
	assert_int_equal(olen, (size_t)2 << 20);
	assert_int_equal(res.exit_code, 3); /* empty stdin: not 1 MiB */
	jr_cmd_free(cmd);
}

static void expect_spawn_error(struct jr_cmd *cmd, const char *msg, int err)
{
	struct jr_cmd_result res;

	assert_int_equal(jr_cmd_run(cmd, &res), -1);
	assert_non_null(jr_cmd_error(cmd));
	if (strcmp(jr_cmd_error(cmd), msg))
		fail_msg("error '%s', expected '%s'", jr_cmd_error(cmd), msg);
	assert_int_equal(jr_cmd_errno(cmd), err);
	assert_false(jr_cmd_finished(cmd));
	jr_cmd_free(cmd);
}

/* 5. Exec failures are errors with cause and errno, not exit 127. */
static void test_5_exec_failures(void **state)
{
	char path[PATH_MAX], msg[PATH_MAX + 64];
	struct jr_cmd_result res;
	struct jr_cmd *cmd;
	int fd;

	(void)state;
	expect_spawn_error(jr_cmd_new("/nonexistent/prog"),
			   "exec /nonexistent/prog: No such file or directory", ENOENT);
	expect_spawn_error(jr_cmd_new("no-such-program-jr"),
			   "exec no-such-program-jr: No such file or directory", ENOENT);

	snprintf(path, sizeof(path), "%s/notexec", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
	close(fd);
	snprintf(msg, sizeof(msg), "exec %s: Permission denied", path);
	expect_spawn_error(jr_cmd_new(path), msg, EACCES);

	snprintf(msg, sizeof(msg), "exec %s: Permission denied", tmpdir);
	expect_spawn_error(jr_cmd_new(tmpdir), msg, EACCES);

	cmd = probe_cmd("dump");
	jr_cmd_set_cwd(cmd, "/nonexistent-dir");
	expect_spawn_error(cmd, "chdir /nonexistent-dir: No such file or directory", ENOENT);

	cmd = probe_cmd("dump");
	jr_cmd_set_user(cmd, "nosuchuser", NULL);
	expect_spawn_error(cmd, "unknown user 'nosuchuser': No such file or directory", ENOENT);

	/* Through the asynchronous API too. */
	cmd = jr_cmd_new("/nonexistent/prog");
	assert_int_equal(jr_cmd_start(cmd), -1);
	assert_int_equal(jr_cmd_errno(cmd), ENOENT);
	jr_cmd_free(cmd);

	/* A program that exits 127 is a normal result. */
	cmd = probe_cmd("exit");
	jr_cmd_add_arg(cmd, "127");
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	assert_null(jr_cmd_error(cmd));
	assert_int_equal(jr_cmd_errno(cmd), 0);
	assert_int_equal(res.exit_code, 127);
	assert_int_equal(res.signal, 0);
	jr_cmd_free(cmd);
}

/* Files are opened without blocking: a FIFO nobody reads fails the start
 * at once (the caller's loop is never stuck in open), a FIFO input with no
 * writer reads as empty; a symlink is followed only with JR_FILE_FOLLOW. */
static void test_files_fifo_symlink(void **state)
{
	char fifo[PATH_MAX], real[PATH_MAX], link[PATH_MAX], msg[PATH_MAX + 80];
	struct jr_cmd_result res;
	struct jr_cmd *cmd;
	struct stat st;
	int rfd;

	(void)state;
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	cmd = probe_cmd("dump");
	jr_cmd_set_output_file(cmd, fifo, JR_FILE_APPEND);
	snprintf(msg, sizeof(msg), "open %s (a FIFO that no process reads): %s", fifo,
		 strerror(ENXIO));
	expect_spawn_error(cmd, msg, ENXIO);
	cmd = probe_cmd("cat");
	jr_cmd_set_input_file(cmd, fifo);
	jr_cmd_set_output_buffer(cmd, 0);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	assert_int_equal(res.exit_code, 0);
	assert_string_equal(jr_cmd_output(cmd, NULL, NULL), "");
	jr_cmd_free(cmd);
	/* With a reader, the FIFO is written, through a blocking descriptor. */
	rfd = open(fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(rfd >= 0);
	cmd = probe_cmd("bytes");
	jr_cmd_add_arg(cmd, "10");
	jr_cmd_set_output_file(cmd, fifo, JR_FILE_APPEND);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	assert_int_equal(res.exit_code, 0);
	jr_cmd_free(cmd);
	{
		char buf[32];

		assert_int_equal(read(rfd, buf, sizeof(buf)), 10);
	}
	close(rfd);

	snprintf(real, sizeof(real), "%s/target.txt", tmpdir);
	snprintf(link, sizeof(link), "%s/followed.txt", tmpdir);
	fd_write_file(real, "");
	assert_int_equal(symlink(real, link), 0);
	cmd = probe_cmd("dump");
	jr_cmd_set_output_file(cmd, link, JR_FILE_APPEND);
	snprintf(msg, sizeof(msg), "open %s (a symbolic link, not followed here): %s", link,
		 strerror(ELOOP));
	expect_spawn_error(cmd, msg, ELOOP);
	cmd = probe_cmd("bytes");
	jr_cmd_add_arg(cmd, "10");
	jr_cmd_set_output_file(cmd, link, JR_FILE_TRUNCATE | JR_FILE_FOLLOW);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	jr_cmd_free(cmd);
	assert_int_equal(stat(real, &st), 0);
	assert_int_equal(st.st_size, 10);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

/* 6. Exit code, signal, core, CPU, RSS, durations. */
static void test_6_result(void **state)
{
	struct jr_cmd_result res;
	struct jr_cmd *cmd;
	int64_t before = jr_now_ms();

	(void)state;
	cmd = probe_cmd("exit");
	jr_cmd_add_arg(cmd, "3");
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	assert_int_equal(res.exit_code, 3);
	assert_int_equal(res.signal, 0);
	assert_false(res.core_dumped);
	assert_true(res.pid > 0);
	assert_int_equal(res.pid, jr_cmd_pid(cmd));
	assert_true(jr_cmd_finished(cmd));
	assert_memory_equal(jr_cmd_result(cmd), &res, sizeof(res));

	/* A child created with CLONE_VM (or fork) inherits our high-water RSS
	 * at exec (Linux's exec_mmap folds the old mm into it), so its max RSS
	 * is max(ours, its own peak): bounded by ours for a tiny program. */
	{
		struct rusage self;

		getrusage(RUSAGE_SELF, &self);
		assert_true(res.max_rss_kb > 0);
		assert_true(res.max_rss_kb <= self.ru_maxrss + 16 * 1024);
	}
	jr_cmd_free(cmd);

	cmd = probe_cmd("signal");
	jr_cmd_add_argf(cmd, "%d", SIGKILL);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	assert_int_equal(res.exit_code, -1);
	assert_int_equal(res.signal, SIGKILL);
	assert_false(res.core_dumped);
	jr_cmd_free(cmd);

	/* Core dump (core_pattern "core" writes into the cwd). */
	cmd = probe_cmd("signal");
	jr_cmd_add_argf(cmd, "%d", SIGQUIT);
	jr_cmd_set_rlimit(cmd, RLIMIT_CORE, 64 << 20, 64 << 20);
	jr_cmd_set_cwd(cmd, tmpdir);
	no_sanitizer_signals(cmd);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	assert_int_equal(res.signal, SIGQUIT);
	assert_true(res.core_dumped);
	jr_cmd_free(cmd);

	cmd = probe_cmd("cpu");
	jr_cmd_add_arg(cmd, "300");
	jr_cmd_add_arg(cmd, "64");
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	assert_int_equal(res.exit_code, 0);
	assert_true(res.user_ms + res.sys_ms >= 250);
	if (res.user_ms < 150)
		fail_msg("user %lld sys %lld", (long long)res.user_ms, (long long)res.sys_ms);
	assert_true(res.sys_ms >= 0);
	assert_true(res.max_rss_kb >= 32 * 1024); /* it touched 64 MiB */
	assert_true(res.max_rss_kb < 1024 * 1024);
	assert_true(res.duration_ms >= 250);
	assert_true(res.started_ms >= before);
	assert_true(res.finished_ms >= res.started_ms + 250);
	assert_true(res.finished_ms <= jr_now_ms());
	assert_false(res.timed_out);
	jr_cmd_free(cmd);
}

/* 7. Timeout kills grandchildren that ignore SIGTERM within timeout+grace. */
static void test_7_timeout(void **state)
{
	struct jr_cmd_result res;
	const struct jr_cmd_signal *sigs;
	struct jr_cmd *cmd;
	size_t n;
	int64_t t0 = jr_mono_ms(), took;

	(void)state;
	cmd = probe_cmd("grandkids");
	jr_cmd_add_arg(cmd, "3");
	jr_cmd_set_timeout(cmd, 300, 300);
	jr_cmd_set_output_buffer(cmd, 0); /* the grandchildren hold it open */
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	took = jr_mono_ms() - t0;
	assert_true(res.timed_out);
	assert_false(res.interrupted);
	assert_int_equal(res.signal, SIGKILL);
	assert_true(took >= 550);
	assert_true(took < 5000);
	sigs = jr_cmd_signals(cmd, &n);
	assert_int_equal(n, 2);
	assert_int_equal(sigs[0].sig, SIGTERM);
	assert_int_equal(sigs[0].reason, JR_KILL_TIMEOUT);
	assert_int_equal(sigs[1].sig, SIGKILL);
	assert_int_equal(sigs[1].reason, JR_KILL_TIMEOUT);
	assert_true(sigs[1].at_ms - sigs[0].at_ms >= 250);
	assert_string_equal(jr_kill_reason_name(sigs[0].reason), "timeout");
	/* the three grandchildren printed their pids before the kill */
	{
		size_t len;
		const char *out = jr_cmd_output(cmd, &len, NULL);
		int lines = 0;

		for (size_t i = 0; i < len; i++)
			lines += out[i] == '\n';
		assert_int_equal(lines, 3);
	}
	assert_int_equal(wait_group_gone(res.pid, 2000), 0);
	jr_cmd_free(cmd);

	/* A grandchild that left for its own session keeps the output pipe
	 * open: after the kill, draining is bounded (1 s). */
	t0 = jr_mono_ms();
	cmd = probe_cmd("escape");
	jr_cmd_set_timeout(cmd, 300, 300);
	jr_cmd_set_output_buffer(cmd, 0);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	took = jr_mono_ms() - t0;
	assert_true(res.timed_out);
	assert_int_equal(res.signal, SIGTERM);
	assert_true(took < 5000);
	{
		const char *out = jr_cmd_output(cmd, NULL, NULL);
		int64_t esc = 0;
		char *nl = strchr(out, '\n');

		assert_non_null(nl);
		*nl = '\0';
		assert_int_equal(jr_parse_i64(out, 1, INT_MAX, &esc), 0);
		assert_int_equal(kill((pid_t)esc, SIGKILL), 0);
	}
	jr_cmd_free(cmd);

	/* jr_cmd_terminate: TERM now; a cooperative child dies of it. */
	cmd = probe_cmd("sleep");
	jr_cmd_add_arg(cmd, "30000");
	jr_cmd_set_timeout(cmd, 0, 300);
	assert_int_equal(jr_cmd_start(cmd), 0);
	jr_cmd_terminate(cmd, JR_KILL_INTERRUPT);
	assert_int_equal(jr_cmd_wait(cmd, &res), 0);
	assert_true(res.interrupted);
	assert_false(res.timed_out);
	assert_int_equal(res.signal, SIGTERM);
	sigs = jr_cmd_signals(cmd, &n);
	assert_int_equal(n, 1);
	assert_int_equal(sigs[0].reason, JR_KILL_INTERRUPT);
	jr_cmd_free(cmd);

	/* ... but one that already exited, not yet polled, keeps its end. */
	cmd = jr_cmd_new("/bin/true");
	assert_int_equal(jr_cmd_start(cmd), 0);
	for (int i = 0; i < 500; i++) {
		char buf[1024];
		const char *p = jr_proc_stat(jr_cmd_pid(cmd), buf, sizeof(buf));

		if (p && p[1] == 'Z')
			break;
		usleep(10000);
	}
	jr_cmd_terminate(cmd, JR_KILL_INTERRUPT);
	assert_int_equal(jr_cmd_wait(cmd, &res), 0);
	assert_false(res.interrupted);
	assert_int_equal(res.signal, 0);
	assert_int_equal(res.exit_code, 0);
	jr_cmd_signals(cmd, &n);
	assert_int_equal(n, 0);
	jr_cmd_free(cmd);
}

/* 8. 50 commands through one event loop; free kills; no zombies. */
static void test_8_many_event_loop(void **state)
{
	enum { N = 50 };
	struct jr_cmd *cmds[N];
	struct pollfd fds[N * 4];
	int left = N;

	(void)state;
	for (int i = 0; i < N; i++) {
		cmds[i] = probe_cmd(i % 5 ? "exit" : "bytes");
		jr_cmd_add_argf(cmds[i], "%d", i % 5 ? i : 70000 + i);
		jr_cmd_set_output_buffer(cmds[i], 0);
		assert_int_equal(jr_cmd_start(cmds[i]), 0);
		assert_true(jr_cmd_pid(cmds[i]) > 0);
	}
	/* pidfds where the kernel has them (valgrind 3.19 does not know the
	 * system call: the core falls back to polling waitpid then) */
	if (jr_cmd_pidfd(cmds[0]) < 0)
		assert_true(syscall(SYS_pidfd_open, getpid(), 0) < 0 && errno == ENOSYS);
	while (left > 0) {
		int nfds = 0;
		int64_t dl = -1, now;

		for (int i = 0; i < N; i++) {
			int64_t d;

			if (jr_cmd_finished(cmds[i]))
				continue;
			nfds += jr_cmd_pollfds(cmds[i], fds + nfds, 4);
			d = jr_cmd_deadline(cmds[i]);
			if (d >= 0 && (dl < 0 || d < dl))
				dl = d;
		}
		now = jr_mono_ms();
		assert_true(
		    poll(fds, (nfds_t)nfds, dl < 0 ? 5000 : (int)(dl > now ? dl - now : 0)) >= 0);
		left = 0;
		for (int i = 0; i < N; i++) {
			int r = jr_cmd_poll(cmds[i]);

			assert_true(r >= 0);
			left += r == 0;
		}
	}
	for (int i = 0; i < N; i++) {
		const struct jr_cmd_result *r = jr_cmd_result(cmds[i]);
		size_t len;

		assert_non_null(r);
		jr_cmd_output(cmds[i], &len, NULL);
		if (i % 5) {
			assert_int_equal(r->exit_code, i);
			assert_int_equal(len, 0);
		} else {
			assert_int_equal(r->exit_code, 0);
			assert_int_equal(len, 70000 + i);
		}
		assert_int_equal(jr_cmd_poll(cmds[i]), 1); /* any number of times */
		jr_cmd_free(cmds[i]);
	}

	/* Freeing a running command kills and reaps it. */
	{
		struct jr_cmd *cmd = probe_cmd("sleep");
		pid_t pid;
		int64_t t0;

		jr_cmd_add_arg(cmd, "30000");
		assert_int_equal(jr_cmd_start(cmd), 0);
		pid = jr_cmd_pid(cmd);
		assert_int_equal(kill(pid, 0), 0);
		t0 = jr_mono_ms();
		jr_cmd_free(cmd);
		assert_true(jr_mono_ms() - t0 < 5000);
		assert_int_equal(kill(pid, 0), -1);
		assert_int_equal(errno, ESRCH);
	}
	assert_int_equal(count_procs(0, true), 0);
}

/* 9. rlimits, umask, cwd; daemonize with pidfile. */
static void test_9_attributes_daemon(void **state)
{
	struct jr_cmd_result res;
	struct jr_cmd *cmd;
	char *out, line[PATH_MAX + 16], pidfile[PATH_MAX], seen[PATH_MAX];
	struct jr_buf b = JR_BUF_INIT;
	int64_t pid = 0, real = 0;
	int fd;

	(void)state;
	/* Not RLIMIT_NOFILE: under valgrind the child's setrlimit of it is
	 * emulated until exec and never reaches the kernel. */
	cmd = probe_cmd("dump");
	jr_cmd_set_rlimit(cmd, RLIMIT_CPU, 100, 200);
	jr_cmd_set_rlimit(cmd, RLIMIT_CORE, 0, 0);
	jr_cmd_set_rlimit(cmd, RLIMIT_FSIZE, 1 << 20, RLIM_INFINITY);
	jr_cmd_set_umask(cmd, 027);
	jr_cmd_set_cwd(cmd, tmpdir);
	out = run_output(cmd, &res);
	assert_true(has_line(out, "rlimit cpu 100 200"));
	assert_true(has_line(out, "rlimit core 0 0"));
	assert_true(has_line(out, "rlimit fsize 1048576 inf"));
	assert_true(has_line(out, "umask 0027"));
	snprintf(line, sizeof(line), "cwd %s", tmpdir);
	assert_true(has_line(out, line));
	free(out);
	jr_cmd_free(cmd);

	/* Own session and process group. */
	cmd = probe_cmd("dump");
	out = run_output(cmd, &res);
	snprintf(line, sizeof(line), "session %d pgrp %d pid %d", (int)res.pid, (int)res.pid,
		 (int)res.pid);
	assert_true(has_line(out, line));
	free(out);
	jr_cmd_free(cmd);

	/* Daemonize: the pidfile holds the daemon's own pid when run returns. */
	snprintf(pidfile, sizeof(pidfile), "%s/daemon.pid", tmpdir);
	snprintf(seen, sizeof(seen), "%s/daemon.seen", tmpdir);
	unlink(seen);
	cmd = probe_cmd("daemon");
	jr_cmd_add_arg(cmd, seen);
	jr_cmd_daemonize(cmd);
	jr_cmd_set_pidfile(cmd, pidfile);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	fd = open(pidfile, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	jr_buf_init(&b);
	assert_int_equal(jr_read_all(fd, 64, &b, NULL), 0);
	close(fd);
	assert_true(b.len > 1 && b.buf[b.len - 1] == '\n');
	b.buf[--b.len] = '\0';
	assert_int_equal(jr_parse_i64(b.buf, 1, INT_MAX, &pid), 0);
	assert_int_equal(pid, res.pid);
	assert_int_not_equal(pid, jr_cmd_pid(cmd)); /* not the intermediate */
	for (int i = 0; i < 500 && access(seen, F_OK) < 0; i++)
		usleep(10000);
	jr_buf_reset(&b);
	fd = open(seen, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (int i = 0; i < 100 && b.len == 0; i++) {
		usleep(10000);
		assert_int_equal(jr_read_all(fd, 64, &b, NULL), 0);
	}
	close(fd);
	b.buf[b.len - 1] = '\0';
	assert_int_equal(jr_parse_i64(b.buf, 1, INT_MAX, &real), 0);
	assert_int_equal(real, pid);
	assert_int_equal(kill((pid_t)pid, SIGKILL), 0);
	jr_cmd_free(cmd);

	/* A pidfile that cannot be written fails run; the daemon is killed. */
	unlink(seen);
	cmd = probe_cmd("daemon");
	jr_cmd_add_arg(cmd, seen);
	jr_cmd_daemonize(cmd);
	jr_cmd_set_pidfile(cmd, "/nonexistent/dir/daemon.pid");
	assert_int_equal(jr_cmd_run(cmd, &res), -1);
	assert_int_equal(jr_cmd_errno(cmd), ENOENT);
	jr_cmd_free(cmd);
	usleep(300000);
	if (access(seen, F_OK) == 0) { /* it got to run: it must be gone */
		jr_buf_reset(&b);
		fd = open(seen, O_RDONLY | O_CLOEXEC);
		assert_true(fd >= 0);
		assert_int_equal(jr_read_all(fd, 64, &b, NULL), 0);
		close(fd);
		if (b.len > 0) {
			b.buf[b.len - 1] = '\0';
			assert_int_equal(jr_parse_i64(b.buf, 1, INT_MAX, &real), 0);
			for (int i = 0; i < 200 && proc_alive((pid_t)real); i++)
				usleep(10000);
			assert_false(proc_alive((pid_t)real));
		}
	}

	/* The daemon's exec failure still reaches run. */
	cmd = jr_cmd_new("/nonexistent/daemon");
	jr_cmd_daemonize(cmd);
	jr_cmd_set_pidfile(cmd, pidfile);
	assert_int_equal(jr_cmd_run(cmd, &res), -1);
	assert_string_equal(jr_cmd_error(cmd),
			    "exec /nonexistent/daemon: No such file or directory");
	jr_cmd_free(cmd);
	jr_buf_release(&b);
}

/* 10. Default dispositions and an empty mask whatever the parent has. */
static void test_10_signals_reset(void **state)
{
	struct sigaction ign, old_int, old_pipe;
	sigset_t block, old_mask;
	struct jr_cmd *cmd;
	char *out;

	(void)state;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGPIPE, &ign, &old_pipe);
	jr_spawn_signals_changed();
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, &old_mask);

	cmd = probe_cmd("dump");
	no_sanitizer_signals(cmd);
	out = run_output(cmd, NULL);
	assert_true(has_line(out, "blocked:"));
	assert_true(has_line(out, "non-default:"));
	free(out);
	jr_cmd_free(cmd);

	/* With a umask to apply too. */
	cmd = probe_cmd("dump");
	jr_cmd_set_umask(cmd, 022);
	no_sanitizer_signals(cmd);
	out = run_output(cmd, NULL);
	assert_true(has_line(out, "blocked:"));
	assert_true(has_line(out, "non-default:"));
	free(out);
	jr_cmd_free(cmd);

	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	jr_spawn_signals_changed();
}

static int64_t self_cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

/* Leftovers: counted, TERMed, then KILLed after grace. */
static void test_leftovers(void **state)
{
	struct jr_cmd_result res;
	const struct jr_cmd_signal *sigs;
	struct jr_cmd *cmd;
	size_t n;
	int64_t cpu0;

	(void)state;
	cmd = probe_cmd("leftover");
	jr_cmd_add_arg(cmd, "3");
	jr_cmd_add_arg(cmd, "termproof");
	jr_cmd_set_timeout(cmd, 0, 600);
	jr_cmd_set_kill_leftovers(cmd, true);
	cpu0 = self_cpu_ms();
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	/* waiting out the grace period re-checks now and then, no busy loop */
	assert_true(self_cpu_ms() - cpu0 < 250);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(res.leftovers, 3);
	sigs = jr_cmd_signals(cmd, &n);
	assert_int_equal(n, 2);
	assert_int_equal(sigs[0].sig, SIGTERM);
	assert_int_equal(sigs[0].reason, JR_KILL_LEFTOVER);
	assert_int_equal(sigs[1].sig, SIGKILL);
	assert_int_equal(sigs[1].reason, JR_KILL_LEFTOVER);
	assert_int_equal(wait_group_gone(res.pid, 2000), 0);
	jr_cmd_free(cmd);

	/* Cooperative leftovers go on TERM; none: nothing sent. */
	cmd = probe_cmd("leftover");
	jr_cmd_add_arg(cmd, "2");
	jr_cmd_set_kill_leftovers(cmd, true);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	assert_int_equal(res.leftovers, 2);
	sigs = jr_cmd_signals(cmd, &n);
	assert_int_equal(n, 1);
	assert_int_equal(wait_group_gone(res.pid, 2000), 0);
	jr_cmd_free(cmd);

	cmd = probe_cmd("exit");
	jr_cmd_add_arg(cmd, "0");
	jr_cmd_set_kill_leftovers(cmd, true);
	assert_int_equal(jr_cmd_run(cmd, &res), 0);
	assert_int_equal(res.leftovers, 0);
	jr_cmd_signals(cmd, &n);
	assert_int_equal(n, 0);
	jr_cmd_free(cmd);
}

/* Subreaper: orphans are reaped, a running command's exit is not stolen. */
static void test_reap_orphans(void **state)
{
	struct jr_cmd_result res;
	struct jr_cmd *orphaner, *mine;
	int reaped = 0;

	(void)state;
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), 0);
	orphaner = probe_cmd("leftover");
	jr_cmd_add_arg(orphaner, "2");
	assert_int_equal(jr_cmd_run(orphaner, &res), 0);
	mine = probe_cmd("exit");
	jr_cmd_add_arg(mine, "5");
	assert_int_equal(jr_cmd_start(mine), 0);
	kill(-res.pid, SIGTERM); /* the orphans exit and become our zombies */
	for (int i = 0; i < 300 && reaped < 2; i++) {
		usleep(10000);
		reaped += jr_spawn_reap_orphans();
	}
	assert_int_equal(reaped, 2);
	assert_int_equal(jr_cmd_wait(mine, &res), 0);
	assert_int_equal(res.exit_code, 5);
	assert_int_equal(jr_spawn_reap_orphans(), 0);
	assert_int_equal(count_procs(0, true), 0);
	jr_cmd_free(orphaner);
	jr_cmd_free(mine);
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0), 0);
}

/* User and group switching (we run as root in CI; skipped otherwise). */
static void test_user(void **state)
{
	struct jr_cmd *cmd;
	char *out;

	(void)state;
	if (geteuid() != 0) {
		cmd = probe_cmd("dump");
		jr_cmd_set_user(cmd, "root", NULL);
		assert_int_equal(jr_cmd_run(cmd, NULL), -1);
		assert_int_equal(jr_cmd_errno(cmd), EPERM);
		jr_cmd_free(cmd);
		skip();
	}
	cmd = jr_cmd_new("/bin/sh");
	jr_cmd_add_arg(cmd, "-c");
	jr_cmd_add_arg(cmd, "id -u; id -g; id -G");
	jr_cmd_set_user(cmd, "nobody", "65534");
	jr_cmd_clear_caps(cmd);
	jr_cmd_env_pair(cmd, "PATH", "/usr/bin:/bin");
	out = run_output(cmd, NULL);
	assert_string_equal(out, "65534\n65534\n65534\n");
	free(out);
	jr_cmd_free(cmd);

	cmd = jr_cmd_new("/bin/sh");
	jr_cmd_add_arg(cmd, "-c");
	jr_cmd_add_arg(cmd, "grep -E '^Cap(Eff|Prm|Bnd)' /proc/self/status");
	jr_cmd_clear_caps(cmd);
	jr_cmd_env_pair(cmd, "PATH", "/usr/bin:/bin");
	out = run_output(cmd, NULL);
	assert_string_equal(out, "CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
				 "CapBnd:\t0000000000000000\n");
	free(out);
	jr_cmd_free(cmd);

	/* Not root: another user is an error at start; our own is fine. */
	{
		pid_t pid = fork();
		int status;

		assert_true(pid >= 0);
		if (pid == 0) {
			int ok;

			if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
			    setresuid(65534, 65534, 65534) < 0)
				child_exit(false);
			cmd = jr_cmd_new("/bin/true");
			jr_cmd_set_user(cmd, "root", NULL);
			ok = jr_cmd_run(cmd, NULL) == -1 && jr_cmd_errno(cmd) == EPERM &&
			     !strcmp(jr_cmd_error(cmd), "set user 'root': Operation not permitted");
			jr_cmd_free(cmd);
			cmd = jr_cmd_new("/bin/true");
			jr_cmd_set_user(cmd, "65534", "65534");
			ok = ok && jr_cmd_run(cmd, NULL) == 0;
			jr_cmd_free(cmd);
			child_exit(ok);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}

	cmd = probe_cmd("dump");
	jr_cmd_set_user(cmd, "root", "nosuchgroup-jr");
	assert_int_equal(jr_cmd_run(cmd, NULL), -1);
	assert_non_null(strstr(jr_cmd_error(cmd), "unknown group 'nosuchgroup-jr'"));
	jr_cmd_free(cmd);
}

/* The /proc/self/fd fallback closes exactly what close_range would. */
static void test_3_close_fallback(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static const int keep[] = {12, 15};
		int bad = 0;

		for (int fd = 3; fd <= 40; fd++)
			dup2(0, fd);
		if (jr_spawn_close_others_scan(keep, 2, 30) < 0)
			child_exit(false);
		for (int fd = 3; fd <= 45; fd++) {
			bool open_now = fcntl(fd, F_GETFD) >= 0;
			bool want = fd == 12 || fd == 15 || fd == 30;

			bad += open_now != want;
		}
		dup2(0, 20);
		if (jr_spawn_close_others(keep, 2, 30) < 0 || fcntl(20, F_GETFD) >= 0)
			bad++;
		child_exit(bad == 0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static int setup(void **state)
{
	char tmpl[] = "/tmp/jrspawn.XXXXXX";

	(void)state;
	find_probe();
	if (access(probe, X_OK) < 0) {
		fprintf(stderr, "probe helper %s missing\n", probe);
		return -1;
	}
	if (!mkdtemp(tmpl))
		return -1;
	snprintf(tmpdir, sizeof(tmpdir), "%s", tmpl);
	return 0;
}

static int teardown(void **state)
{
	DIR *d = opendir(tmpdir);
	struct dirent *de;

	(void)state;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	}
	if (d)
		closedir(d);
	rmdir(tmpdir);
	free(probe);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_1_argv_exact),      cmocka_unit_test(test_2_environment),
	    cmocka_unit_test(test_3_descriptors),     cmocka_unit_test(test_3_close_fallback),
	    cmocka_unit_test(test_4_buffers),	      cmocka_unit_test(test_5_exec_failures),
	    cmocka_unit_test(test_6_result),	      cmocka_unit_test(test_7_timeout),
	    cmocka_unit_test(test_8_many_event_loop), cmocka_unit_test(test_9_attributes_daemon),
	    cmocka_unit_test(test_10_signals_reset),  cmocka_unit_test(test_leftovers),
	    cmocka_unit_test(test_reap_orphans),      cmocka_unit_test(test_user),
	    cmocka_unit_test(test_files_fifo_symlink),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
