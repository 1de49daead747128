/* Unit tests for logfile.c: safe creation, tails, and the reuse of empty
 * log files (a spare is the same file renamed, reset as if new). */
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
#include "util.h"

static char tmpdir[64];

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/jr-test-logfile-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *tpath(const char *name)
{
	return jr_xasprintf("%s/%s", tmpdir, name);
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

/* Created once, private, never over an existing file or through a symlink. */
static void test_create(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	char *a = tpath("c.out"), *l = tpath("c.link"), *t = tpath("c.target");
	struct stat st;
	int fd;

	(void)state;
	fd = jr_log_create(NULL, a, &err);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(fcntl(fd, F_GETFL) & O_ACCMODE, O_WRONLY);
	assert_int_equal(jr_log_create(NULL, a, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_non_null(strstr(err.msg, "c.out"));
	assert_int_equal(symlink(t, l), 0);
	assert_int_equal(jr_log_create(NULL, l, &err), -1);
	assert_false(exists(t)); /* the symlink led nowhere it could write */
	put(fd, "x");
	assert_int_equal(jr_log_finish(NULL, fd, a, JR_LOG_REUSE), 1);
	free(a);
	free(l);
	free(t);
}

/* A log with output stays, and its tail is what the run shows. */
static void test_kept_and_tail(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_logpool *lp = jr_logpool_new(4);
	char *a = tpath("k.err"), *tail;
	int fd, i;

	(void)state;
	fd = jr_log_create(lp, a, &err);
	assert_true(fd >= 0);
	for (i = 0; i < 1000; i++)
		put(fd, "0123456789");
	put(fd, "end");
	assert_int_equal(write(fd, "\0z", 2), 2);
	assert_int_equal(jr_log_finish(lp, fd, a, JR_LOG_REUSE), 1);
	assert_true(exists(a));
	tail = jr_log_tail(a, 16);
	assert_string_equal(tail, "90123456789end?z"); /* NUL shown as '?' */
	free(tail);
	tail = jr_log_tail(a, 100000);
	assert_int_equal(strlen(tail), 10005);
	free(tail);
	assert_null(jr_log_tail(NULL, 16));
	jr_logpool_free(lp);
	assert_true(exists(a)); /* only spares go with the pool */
	free(a);
}

/* An empty log is not kept: its file, renamed, is the next log, starting
 * as a new file would (offset 0, no O_APPEND, no flock left). */
static void test_empty_reused(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_logpool *lp = jr_logpool_new(4);
	char *a = tpath("r1.err"), *b = tpath("r2.err"), *tail;
	ino_t ino;
	int fd, other;

	(void)state;
	fd = jr_log_create(lp, a, &err);
	assert_true(fd >= 0);
	ino = ino_of(a);
	/* what a job may do to its stderr without writing anything */
	assert_int_equal(lseek(fd, 100, SEEK_SET), 100);
	assert_int_equal(fcntl(fd, F_SETFL, O_APPEND), 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(jr_log_finish(lp, fd, a, JR_LOG_REUSE), 0);
	assert_null(jr_log_tail(a, 16));

	fd = jr_log_create(lp, b, &err);
	assert_true(fd >= 0);
	assert_false(exists(a));
	assert_int_equal(ino_of(b), ino); /* the same file, no new inode */
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_APPEND, 0);
	other = open(b, O_RDONLY | O_CLOEXEC);
	assert_true(other >= 0);
	assert_int_equal(flock(other, LOCK_EX | LOCK_NB), 0);
	close(other);
	put(fd, "hello\n");
	assert_int_equal(jr_log_finish(lp, fd, b, JR_LOG_REUSE), 1);
	tail = jr_log_tail(b, 16);
	assert_string_equal(tail, "hello\n");
	free(tail);
	jr_logpool_free(lp);
	free(a);
	free(b);
}

/* A log some process may still hold stays where it is, even empty: what
 * that process writes later belongs to its run, not to the next one. */
static void test_no_reuse_keeps(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_logpool *lp = jr_logpool_new(4);
	char *a = tpath("n1.err"), *b = tpath("n2.err"), *tail;
	ino_t ino;
	int fd, held;

	(void)state;
	fd = jr_log_create(lp, a, &err);
	ino = ino_of(a);
	held = dup(fd); /* a daemon the job left */
	assert_int_equal(jr_log_finish(lp, fd, a, JR_LOG_NO_REUSE), 1);
	fd = jr_log_create(lp, b, &err);
	assert_true(fd >= 0);
	assert_true(ino_of(b) != ino);
	put(held, "late\n");
	close(held);
	tail = jr_log_tail(a, 16);
	assert_string_equal(tail, "late\n");
	free(tail);
	assert_int_equal(jr_log_finish(lp, fd, b, JR_LOG_REUSE), 0);
	jr_logpool_free(lp);
	free(a);
	free(b);
}

/* Spares are bounded; the rest, and those left at the end, are unlinked;
 * a taken path is refused without losing the spare. */
static void test_pool_bounds(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_logpool *lp = jr_logpool_new(1);
	char *p[4], *taken = tpath("b-taken"), *last = tpath("b-last");
	int fd[4], i, tfd;

	(void)state;
	for (i = 0; i < 3; i++) {
		p[i] = jr_xasprintf("%s/b%d", tmpdir, i);
		fd[i] = jr_log_create(lp, p[i], &err);
		assert_true(fd[i] >= 0);
	}
	for (i = 0; i < 3; i++)
		assert_int_equal(jr_log_finish(lp, fd[i], p[i], JR_LOG_REUSE), 0);
	/* one spare kept (at its old path until reused), two unlinked */
	assert_int_equal(exists(p[0]) + exists(p[1]) + exists(p[2]), 1);
	tfd = open(taken, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(tfd >= 0);
	close(tfd);
	assert_int_equal(jr_log_create(lp, taken, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_int_equal(exists(p[0]) + exists(p[1]) + exists(p[2]), 1);
	fd[3] = jr_log_create(lp, last, &err);
	assert_true(fd[3] >= 0);
	assert_int_equal(exists(p[0]) + exists(p[1]) + exists(p[2]), 0);
	assert_int_equal(jr_log_finish(lp, fd[3], last, JR_LOG_REUSE), 0);
	assert_true(exists(last)); /* a spare, until the pool goes */
	jr_logpool_free(lp);
	assert_false(exists(last));
	for (i = 0; i < 3; i++)
		free(p[i]);
	free(taken);
	free(last);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),	      cmocka_unit_test(test_kept_and_tail),
		cmocka_unit_test(test_empty_reused),  cmocka_unit_test(test_no_reuse_keeps),
		cmocka_unit_test(test_pool_bounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
