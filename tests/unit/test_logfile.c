/* Unit tests for logfile.c: private files in use, moved to their place
 * when they hold output; empty ones reused, reset as if new. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "logfile.h"
#include "testdir.h"
#include "util.h"

static int setup(void **state)
{
	(void)state;
	return testdir_make("logfile");
}


static ino_t ino_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static void put(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* What the scheduler does when a run ends: end the log, and move a kept
 * one to its place (where it stays if that fails). */
static int finish(struct jr_logpool *lp, int fd, char **live, const char *dest,
		  enum jr_log_reuse reuse)
{
	int r = jr_log_end(lp, fd, live, reuse);

	if (r == 1 && dest)
		jr_log_move(live, dest);
	return r;
}

/* A pool in a directory of its own, testdir/SUB. */
static struct jr_logpool *pool(const char *sub, size_t max)
{
	char *dir = testdir_path(sub);
	struct jr_logpool *lp;

	mkdir(dir, 0700);
	lp = jr_logpool_new(dir, max);
	free(dir);
	return lp;
}

static size_t files_in(const char *sub)
{
	char *cmd = jr_xasprintf("find %s/%s -type f | wc -l", testdir, sub);
	FILE *f = popen(cmd, "r");
	size_t n = 0;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%zu", &n), 1);
	pclose(f);
	free(cmd);
	return n;
}

/* A log is a new private file in the pool's directory; one with output
 * moves to its place at the end, never over an existing file, and its
 * tail is what the run shows. */
static void test_kept_and_tail(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_logpool *lp = pool("k", 4);
	char *live = NULL, *dest = testdir_path("k.err"), *taken = testdir_path("k.taken"), *tail;
	struct stat st;
	int fd, i, tfd;

	(void)state;
	fd = jr_log_open(lp, &live, &err);
	assert_true(fd >= 0);
	assert_non_null(strstr(live, "/k/"));
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
	for (i = 0; i < 1000; i++)
		put(fd, "0123456789");
	put(fd, "end");
	assert_int_equal(write(fd, "\0z", 2), 2);
	assert_int_equal(finish(lp, fd, &live, dest, JR_LOG_REUSE), 1);
	assert_string_equal(live, dest);
	assert_true(exists(dest));
	tail = jr_log_tail(dest, 16);
	assert_string_equal(tail, "90123456789end?z"); /* NUL shown as '?' */
	free(tail);
	tail = jr_log_tail(dest, 100000);
	assert_int_equal(strlen(tail), 10005);
	free(tail);
	assert_null(jr_log_tail(NULL, 16));
	free(live);
	/* where the scheduler moves kept logs, and readers look for them */
	tail = jr_log_kept_path("/l", "job", "01ab", JR_LOG_STDOUT);
	assert_string_equal(tail, "/l/job/01ab.out");
	free(tail);
	tail = jr_log_kept_path("/l", "job", "01ab", JR_LOG_STDERR);
	assert_string_equal(tail, "/l/job/01ab.err");
	free(tail);

	/* a taken place is not overwritten: the log stays where it is */
	tfd = open(taken, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(tfd >= 0);
	put(tfd, "mine");
	close(tfd);
	fd = jr_log_open(lp, &live, &err);
	put(fd, "theirs");
	assert_int_equal(finish(lp, fd, &live, taken, JR_LOG_REUSE), 1);
	assert_string_not_equal(live, taken);
	tail = jr_log_tail(taken, 16);
	assert_string_equal(tail, "mine");
	free(tail);
	tail = jr_log_tail(live, 16);
	assert_string_equal(tail, "theirs");
	free(tail);
	free(live);
	jr_logpool_free(lp);
	assert_true(exists(dest)); /* only spares go with the pool */
	free(dest);
	free(taken);
}

/* An empty log is not kept: its file is the next run's log, starting as a
 * new file would (offset 0, no O_APPEND, no flock left, mode 0600). */
static void test_empty_reused(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_logpool *lp = pool("r", 4);
	char *live = NULL, *first, *dest = testdir_path("r1.err"), *dest2 = testdir_path("r2.err"), *tail;
	ino_t ino;
	int fd, other;

	(void)state;
	fd = jr_log_open(lp, &live, &err);
	assert_true(fd >= 0);
	first = jr_xstrdup(live);
	ino = ino_of(live);
	/* what a job may do to its stderr without writing anything */
	assert_int_equal(lseek(fd, 100, SEEK_SET), 100);
	assert_int_equal(fcntl(fd, F_SETFL, O_APPEND), 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	assert_int_equal(finish(lp, fd, &live, dest, JR_LOG_REUSE), 0);
	assert_null(live);
	assert_false(exists(dest));

	fd = jr_log_open(lp, &live, &err);
	assert_true(fd >= 0);
	assert_string_equal(live, first);
	assert_int_equal(ino_of(live), ino); /* the same file: no new inode */
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_APPEND, 0);
	{
		struct stat st;

		assert_int_equal(fstat(fd, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	other = open(live, O_RDONLY | O_CLOEXEC);
	assert_true(other >= 0);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
	put(fd, "hello\n");
	assert_int_equal(finish(lp, fd, &live, dest2, JR_LOG_REUSE), 1);
	assert_int_equal(ino_of(dest2), ino);
	tail = jr_log_tail(dest2, 16);
	assert_string_equal(tail, "hello\n");
	free(tail);
	jr_logpool_free(lp);
	free(live);
	free(first);
	free(dest);
	free(dest2);
}

/* A log some process may still hold goes to its place even empty: what
 * that process writes later belongs to its run, not to the next one. */
static void test_no_reuse_keeps(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_logpool *lp = pool("n", 4);
	char *live = NULL, *dest = testdir_path("n1.err"), *tail;
	ino_t ino;
	int fd, held;

	(void)state;
	fd = jr_log_open(lp, &live, &err);
	ino = ino_of(live);
	held = dup(fd); /* a daemon the job left */
	assert_int_equal(finish(lp, fd, &live, dest, JR_LOG_NO_REUSE), 1);
	assert_string_equal(live, dest);
	free(live);
	fd = jr_log_open(lp, &live, &err);
	assert_true(fd >= 0);
	assert_true(ino_of(live) != ino);
	put(held, "late\n");
	close(held);
	tail = jr_log_tail(dest, 16);
	assert_string_equal(tail, "late\n");
	free(tail);
	assert_int_equal(finish(lp, fd, &live, NULL, JR_LOG_REUSE), 0);
	jr_logpool_free(lp);
	free(dest);
}

/* Spares are bounded; the rest, and those left at the end, are unlinked. */
static void test_pool_bounds(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_logpool *lp = pool("b", 1);
	char *live[3];
	int fd[3], i;

	(void)state;
	for (i = 0; i < 3; i++) {
		fd[i] = jr_log_open(lp, &live[i], &err);
		assert_true(fd[i] >= 0);
	}
	assert_int_equal(files_in("b"), 3);
	for (i = 0; i < 3; i++)
		assert_int_equal(finish(lp, fd[i], &live[i], NULL, JR_LOG_REUSE), 0);
	assert_int_equal(files_in("b"), 1); /* one spare */
	jr_logpool_free(lp);
	assert_int_equal(files_in("b"), 0);
}

/* A file left by a jobrunner that died with our pid is not touched. */
static void test_leftover_name(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_logpool *lp = pool("l", 1);
	char *old = jr_xasprintf("%s/l/%ld-0", testdir, (long)getpid()), *live = NULL, *tail;
	int fd;

	(void)state;
	fd = open(old, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	put(fd, "a lost run's output");
	close(fd);
	fd = jr_log_open(lp, &live, &err);
	assert_true(fd >= 0);
	assert_string_not_equal(live, old);
	assert_int_equal(finish(lp, fd, &live, NULL, JR_LOG_REUSE), 0);
	jr_logpool_free(lp);
	tail = jr_log_tail(old, 64);
	assert_string_equal(tail, "a lost run's output");
	free(tail);
	unlink(old);
	free(old);

	/* Past a hundred taken names, it gives up with an error naming one. */
	lp = pool("l2", 1);
	for (int i = 0; i < 200; i++) {
		char *p = jr_xasprintf("%s/l2/%ld-%d", testdir, (long)getpid(), i);

		close(open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
		free(p);
	}
	assert_int_equal(jr_log_open(lp, &live, &err), -1);
	assert_null(live);
	assert_int_equal(err.errnum, EEXIST);
	assert_non_null(strstr(err.msg, "/l2/"));
	jr_logpool_free(lp);
}

/* The tail of what a file holds past an offset (a file appended to: what
 * one run wrote), and whether it starts past the offset (the text read
 * may start inside something longer). */
static void test_tail_from(void **state)
{
	char *path = testdir_path("from.log"), *tail;
	bool cut = true;
	int fd;

	(void)state;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	put(fd, "earlier run\n");
	/* nothing written past the offset: nothing, not the earlier run's */
	assert_null(jr_log_tail_from(path, 12, 16, false, &cut));
	assert_false(cut);
	put(fd, "this run");
	close(fd);
	tail = jr_log_tail_from(path, 12, 16, false, &cut);
	assert_string_equal(tail, "this run");
	assert_false(cut);
	free(tail);
	tail = jr_log_tail_from(path, 12, 8, false, &cut);
	assert_string_equal(tail, "this run");
	assert_false(cut); /* exactly what is past the offset */
	free(tail);
	tail = jr_log_tail_from(path, 12, 3, false, &cut);
	assert_string_equal(tail, "run");
	assert_true(cut);
	free(tail);
	tail = jr_log_tail_from(path, 0, 100, false, &cut);
	assert_string_equal(tail, "earlier run\nthis run");
	assert_false(cut);
	free(tail);
	/* a file shorter than the offset was truncated since: all of it */
	tail = jr_log_tail_from(path, 1000, 100, false, NULL);
	assert_string_equal(tail, "earlier run\nthis run");
	free(tail);
	assert_null(jr_log_tail_from(NULL, 0, 16, false, &cut));
	/* A symlink is read through only when asked (a job's own file). */
	{
		char *link = testdir_path("tail-link");

		assert_int_equal(symlink(path, link), 0);
		assert_null(jr_log_tail_from(link, 0, 100, false, &cut));
		tail = jr_log_tail_from(link, 0, 100, true, &cut);
		assert_string_equal(tail, "earlier run\nthis run");
		free(tail);
		unlink(link);
		free(link);
	}
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_and_tail),  cmocka_unit_test(test_empty_reused),
		cmocka_unit_test(test_no_reuse_keeps), cmocka_unit_test(test_pool_bounds),
		cmocka_unit_test(test_leftover_name),  cmocka_unit_test(test_tail_from),
	};

	return cmocka_run_group_tests(tests, setup, testdir_teardown);
}
