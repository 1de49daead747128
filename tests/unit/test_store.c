/* Unit tests for store.c against real SQLite files in a temporary directory:
 * open and migration, recording runs, history and prefix lookup, reconcile
 * of vanished invocations, concurrent writers in two processes, query
 * plans, JSON. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "store.h"
#include "testdir.h"
#include "util.h"

#include "banned.h"

static int setup(void **state)
{
	(void)state;
	return testdir_make("store");
}


static struct jr_store *open_ok(const char *path)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_store *st = NULL;

	if (jr_store_open(&st, path, JR_SYNC_NORMAL, &err) < 0)
		fail_msg("jr_store_open: %s", err.msg);
	return st;
}

/* Runs one SQL query on a separate connection and returns column 0 of its
 * first row as a malloc'd string ("" if none). */
static char *sql1(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *s = NULL;
	char *res;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		res = jr_xstrdup((const char *)sqlite3_column_text(s, 0));
	else
		res = jr_xstrdup("");
	sqlite3_finalize(s);
	sqlite3_close(db);
	return res;
}

static void sql_exec(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static void assert_sql(const char *path, const char *sql, const char *want)
{
	char *got = sql1(path, sql);

	if (strcmp(got, want))
		fail_msg("%s: got '%s', want '%s'", sql, got, want);
	free(got);
}

static void run_init(struct jr_run *r, int64_t inv, const char *job)
{
	memset(r, 0, sizeof(*r));
	r->invocation_id = inv;
	r->job = job;
	r->job_hash = "h1";
	r->target = "{\"arch\":\"x86_64\"}";
	r->machine = "host1";
	r->backend = "local";
	r->decision = "local: ok";
	r->attempt = 1;
	r->status = JR_RUN_RUNNING;
	r->exit_code = -1;
	r->started_ms = jr_now_ms();
}

static void insert_ok(struct jr_store *st, struct jr_run *r)
{
	struct jr_err err = JR_ERR_INIT;

	if (jr_store_run_insert(st, r, &err) < 0)
		fail_msg("insert: %s", err.msg);
}

static void test_open_migrate(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_store *st;
	struct jr_run r;
	struct stat sb;
	char *path = testdir_path("a/b/jr.db"), *dir = testdir_path("a"), *dir2 = testdir_path("a/b");
	char want[16];

	(void)state;
	st = open_ok(path);
	/* open_ok asks for NORMAL: a committed run survives a crash of
	 * jobrunner; FULL (below) adds power loss. */
	assert_int_equal(jr_store_sync_level(st), 1);
	assert_int_equal(stat(dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(stat(dir2, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0077, 0);
	snprintf(want, sizeof(want), "%d", jr_store_schema_version());
	assert_true(jr_store_schema_version() >= 1);
	assert_sql(path, "PRAGMA user_version", want);
	assert_sql(path, "PRAGMA journal_mode", "wal");
	assert_sql(path,
		   "SELECT count(*) FROM sqlite_master WHERE name IN ('invocations', 'jobs',"
		   " 'runs', 'run_signals', 'images', 'schedule', 'last_runs', 'failures',"
		   " 'job_stats')",
		   "9");
	/* Foreign keys are on in the store's connection: a run of an unknown
	 * invocation is refused. */
	run_init(&r, 424242, "fk");
	assert_int_equal(jr_store_run_insert(st, &r, &err), -1);
	assert_non_null(strstr(err.msg, "FOREIGN KEY"));
	assert_string_equal(r.id, "");
	/* The WAL and shared-memory files are as private as the database. */
	run_init(&r, 0, "w");
	insert_ok(st, &r);
	{
		char *wal = testdir_path("a/b/jr.db-wal"), *shm = testdir_path("a/b/jr.db-shm");

		assert_int_equal(stat(wal, &sb), 0);
		assert_int_equal(sb.st_mode & 0077, 0);
		assert_int_equal(stat(shm, &sb), 0);
		assert_int_equal(sb.st_mode & 0077, 0);
		free(wal);
		free(shm);
	}
	jr_store_close(st);
	/* Idempotent: reopening migrates nothing and keeps data. */
	sql_exec(path, "INSERT INTO schedule VALUES ('x', 5, NULL)");
	assert_int_equal(jr_store_open(&st, path, JR_SYNC_FULL, &err), 0);
	assert_int_equal(jr_store_sync_level(st), 2);
	jr_store_close(st);
	assert_sql(path, "PRAGMA user_version", want);
	assert_sql(path, "SELECT last_tick_ms FROM schedule WHERE job = 'x'", "5");
	/* Version 2 dropped runs_active, from databases of version 1 too
	 * (faked here: the index put back, the version set back), keeping
	 * their rows. */
	assert_sql(path, "SELECT count(*) FROM sqlite_master WHERE name = 'runs_active'", "0");
	sql_exec(path, "CREATE INDEX runs_active ON runs(invocation_id)"
		       " WHERE status IN ('running', 'queued'); PRAGMA user_version = 1");
	st = open_ok(path);
	jr_store_close(st);
	assert_sql(path, "PRAGMA user_version", want);
	assert_sql(path, "SELECT count(*) FROM sqlite_master WHERE name = 'runs_active'", "0");
	assert_sql(path, "SELECT count(*) FROM runs WHERE job = 'w'", "1");
	/* A database from a newer jobrunner is refused. */
	sql_exec(path, "PRAGMA user_version = 999");
	st = NULL;
	assert_int_equal(jr_store_open(&st, path, JR_SYNC_FULL, &err), -1);
	assert_null(st);
	assert_non_null(strstr(err.msg, "newer"));
	free(path);
	free(dir);
	free(dir2);
}

/* Only a regular file (or a symbolic link to one) is opened: SQLite on a
 * FIFO or a device fails later, as "disk I/O error". Nothing is created
 * or changed in their place. */
static void test_open_not_regular(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_store *st;
	char *fifo = testdir_path("fifo.db"), *null = testdir_path("null.db");
	char *dir = testdir_path("dir.db"), *real = testdir_path("real.db");
	char *link = testdir_path("link.db"), *want;
	struct stat sb;

	(void)state;
	/* A path SQLite cannot take is refused saying so. */
	{
		char *dirs = testdir_path("x"), *p;

		p = jr_xasprintf("%s%0200d/%0200d/%0150d.db", dirs, 1, 2, 3);
		assert_int_equal(jr_store_open(&st, p, JR_SYNC_NORMAL, &err), -1);
		assert_non_null(strstr(err.msg, "path too long for SQLite"));
		assert_int_equal(jr_store_open_read(&st, p, JR_SYNC_NORMAL, &err), -1);
		assert_non_null(strstr(err.msg, "path too long for SQLite"));
		free(p);
		free(dirs);
	}
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(symlink("/dev/null", null), 0);
	assert_int_equal(mkdir(dir, 0700), 0);
	st = (struct jr_store *)1;
	assert_int_equal(jr_store_open(&st, fifo, JR_SYNC_NORMAL, &err), -1);
	assert_null(st);
	want = jr_xasprintf("%s: not a regular file", fifo);
	assert_string_equal(err.msg, want);
	free(want);
	assert_int_equal(lstat(fifo, &sb), 0);
	assert_true(S_ISFIFO(sb.st_mode));
	assert_int_equal(jr_store_open(&st, null, JR_SYNC_NORMAL, &err), -1);
	want = jr_xasprintf("%s: not a regular file", null);
	assert_string_equal(err.msg, want);
	free(want);
	assert_int_equal(jr_store_open(&st, dir, JR_SYNC_NORMAL, &err), -1);
	want = jr_xasprintf("%s: not a regular file", dir);
	assert_string_equal(err.msg, want);
	free(want);
	/* A symbolic link to a regular file is the file. */
	jr_store_close(open_ok(real));
	assert_int_equal(symlink("real.db", link), 0);
	jr_store_close(open_ok(link));
	free(fifo);
	free(null);
	free(dir);
	free(real);
	free(link);
}

/* Another application's SQLite file (user_version 0, tables of its own) is
 * refused before anything changes in it: no WAL, no jobrunner tables, even
 * when a table name collides with one of jobrunner's. An empty file, or an
 * empty database, is jobrunner's to make. */
static void test_open_foreign(void **state)
{
	static const char *const schemas[] = {
	    "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",
	    "CREATE TABLE runs (id INTEGER PRIMARY KEY, distance REAL)",
	    "CREATE VIEW answer AS SELECT 42",
	};
	struct jr_err err = JR_ERR_INIT;
	struct jr_store *st;
	char name[32], *path, *want;
	size_t i;
	int fd;

	(void)state;
	for (i = 0; i < JR_ARRAY_SIZE(schemas); i++) {
		snprintf(name, sizeof(name), "foreign%zu.db", i);
		path = testdir_path(name);
		sql_exec(path, schemas[i]);
		st = (struct jr_store *)1;
		assert_int_equal(jr_store_open(&st, path, JR_SYNC_NORMAL, &err), -1);
		assert_null(st);
		want = jr_xasprintf("%s: not a jobrunner database (it has tables and no "
				    "jobrunner schema version)",
				    path);
		assert_string_equal(err.msg, want);
		free(want);
		assert_sql(path, "PRAGMA journal_mode", "delete");
		assert_sql(path, "PRAGMA user_version", "0");
		assert_sql(path, "SELECT count(*) FROM sqlite_master", "1");
		free(path);
	}
	/* An empty file, as a writer that died before migrating leaves. */
	path = testdir_path("empty-file.db");
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	jr_store_close(open_ok(path));
	assert_sql(path, "SELECT count(*) FROM sqlite_master WHERE name = 'runs'", "1");
	free(path);
	/* A database with no tables (only a setting made). */
	path = testdir_path("empty-db.db");
	sql_exec(path, "PRAGMA page_size = 8192; VACUUM");
	jr_store_close(open_ok(path));
	assert_sql(path, "SELECT count(*) FROM sqlite_master WHERE name = 'runs'", "1");
	free(path);
}

/* A reader of a database that does not exist gets an empty history, and
 * nothing is created: not the file, not its directory. */
static void test_open_read_missing(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	char *dir = testdir_path("none"), *path = testdir_path("none/x.db");
	struct jr_run_row *rows = (struct jr_run_row *)1, row;
	struct jr_store *st = NULL;
	struct jr_run r;
	size_t n = 1, nc;
	int64_t tick;

	(void)state;
	assert_int_equal(jr_store_open_read(&st, path, JR_SYNC_NORMAL, &err), 0);
	assert_non_null(st);
	assert_false(jr_store_writable(st));
	assert_int_equal(jr_store_history(st, NULL, NULL, 0, &rows, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(rows);
	assert_int_equal(jr_store_run_lookup(st, "0a", &row, NULL, 0, &nc, &err), 1);
	assert_int_equal(jr_store_job_definition(st, "a", "h", NULL, NULL, &err), 1);
	assert_int_equal(jr_store_schedule_get(st, "a", &tick, &err), 1);
	run_init(&r, 0, "a");
	assert_int_equal(jr_store_run_insert(st, &r, &err), -1);
	assert_non_null(strstr(err.msg, "opened only to read it"));
	jr_store_close(st);
	assert_int_equal(access(dir, F_OK), -1);
	assert_int_equal(errno, ENOENT);
	/* Once a writer made it, the reader reads it (and can write). */
	jr_store_close(open_ok(path));
	assert_int_equal(jr_store_open_read(&st, path, JR_SYNC_NORMAL, &err), 0);
	assert_true(jr_store_writable(st));
	insert_ok(st, &r);
	jr_store_close(st);
	free(dir);
	free(path);
}

/* ---- readers without write access, in a child that has none ---- */

#define READER_CHECK(cond)                                                                         \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "%s:%d: reader: %s: %s\n", __FILE__, __LINE__, #cond,      \
				err.msg);                                                          \
			return 1;                                                                  \
		}                                                                                  \
	} while (0)

/* Runs fn(path, want) in a child without write access to what the test
 * made read-only: as nobody when the test runs as root (who may write
 * anything), else as the user, whom the modes set stop. Returns fn's
 * value, 0 when all went as it expected. */
static int as_reader(int (*fn)(const char *, const char *), const char *path, const char *want)
{
	int status = -1;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
		     setresuid(65534, 65534, 65534) < 0))
			_exit(100);
		_exit(fn(path, want));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Opens path to read, expecting it read-only with want_runs runs (as a
 * decimal string), nothing written and nothing created beside it. */
static int reader_reads(const char *path, const char *want_runs)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_run_row *rows = NULL;
	struct jr_store *st = NULL;
	char *shm = jr_xasprintf("%s-shm", path), *wal = jr_xasprintf("%s-wal", path);
	bool had_shm = access(shm, F_OK) == 0, had_wal = access(wal, F_OK) == 0;
	struct jr_run r;
	size_t n = 0;

	READER_CHECK(jr_store_open_read(&st, path, JR_SYNC_NORMAL, &err) == 0);
	READER_CHECK(!jr_store_writable(st));
	READER_CHECK(jr_store_history(st, NULL, NULL, 0, &rows, &n, &err) == 0);
	READER_CHECK(n == (size_t)atoi(want_runs));
	jr_run_rows_free(rows, n);
	run_init(&r, 0, "a");
	READER_CHECK(jr_store_run_insert(st, &r, &err) == -1);
	READER_CHECK(strstr(err.msg, "opened only to read it"));
	jr_store_close(st);
	READER_CHECK((access(shm, F_OK) == 0) == had_shm);
	READER_CHECK((access(wal, F_OK) == 0) == had_wal);
	free(shm);
	free(wal);
	return 0;
}

/* Opens path to read, expecting the error want. */
static int reader_refused(const char *path, const char *want)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_store *st = (struct jr_store *)1;

	READER_CHECK(jr_store_open_read(&st, path, JR_SYNC_NORMAL, &err) == -1);
	READER_CHECK(st == NULL);
	READER_CHECK(strstr(err.msg, want));
	return 0;
}

/* A writer in a process of its own, keeping path open. */
struct writer {
	pid_t pid;
	int go; /* closing it lets the writer close the store and exit */
};

/* Starts a writer that records one run in path and keeps it open. */
static struct writer writer_start(const char *path)
{
	struct writer w;
	int ready[2], go[2];
	char c;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	w.pid = fork();
	assert_true(w.pid >= 0);
	if (w.pid == 0) {
		struct jr_err err = JR_ERR_INIT;
		struct jr_store *st = NULL;
		struct jr_run r;

		close(ready[0]);
		close(go[1]);
		run_init(&r, 0, "w");
		if (jr_store_open(&st, path, JR_SYNC_NORMAL, &err) < 0 ||
		    jr_store_run_insert(st, &r, &err) < 0) {
			fprintf(stderr, "writer: %s\n", err.msg);
			_exit(1);
		}
		if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) < 0)
			_exit(1);
		jr_store_close(st);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	w.go = go[1];
	return w;
}

static void writer_stop(struct writer *w)
{
	int status = -1;

	close(w->go);
	assert_int_equal(waitpid(w->pid, &status, 0), w->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_open_read_only(void **state)
{
	/* On the stack, not malloc'd: under valgrind, the children forked
	 * here would count what the parent allocated as their leaks. */
	char dir[128], path[128], shm[128], want[256];
	struct writer w;
	struct jr_store *st;
	struct jr_run r;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/ro", testdir);
	snprintf(path, sizeof(path), "%s/ro/jr.db", testdir);
	snprintf(shm, sizeof(shm), "%s/ro/jr.db-shm", testdir);
	assert_int_equal(chmod(testdir, 0711), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	st = open_ok(path);
	run_init(&r, 0, "a");
	insert_ok(st, &r);
	jr_store_close(st);

	/* Not in use (no -wal, no -shm), directory writable or not: read as
	 * it is, creating nothing beside it (a -shm of the reader's would stop
	 * the owner's jobrunner from writing). */
	assert_int_equal(chmod(path, 0444), 0);
	assert_int_equal(as_reader(reader_reads, path, "1"), 0);
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(as_reader(reader_reads, path, "1"), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_sql(path, "PRAGMA journal_mode", "wal");

	/* In use: a writer (another process: SQLite in a child of this one
	 * would share this one's files) has it open, with its -shm readable
	 * by others; the reader sees what the writer committed, still in the
	 * WAL. */
	assert_int_equal(chmod(path, 0644), 0);
	w = writer_start(path);
	assert_int_equal(chmod(path, 0444), 0);
	assert_int_equal(access(shm, F_OK), 0);
	assert_int_equal(as_reader(reader_reads, path, "2"), 0);
	/* ... and with its -shm unreadable, a message that says so. */
	assert_int_equal(chmod(shm, 0600), 0);
	snprintf(want, sizeof(want), "reading it so needs %s to exist and be readable", shm);
	if (geteuid() == 0)
		assert_int_equal(as_reader(reader_refused, path, want), 0);
	assert_int_equal(chmod(shm, 0644), 0);
	writer_stop(&w);
	assert_int_equal(access(shm, F_OK), -1);

	/* A file it may write in a directory it may not (no -wal or -shm can
	 * be made there): read-only too. */
	assert_int_equal(chmod(path, 0644), 0);
	if (geteuid() == 0)
		assert_int_equal(chown(path, 65534, 65534), 0);
	assert_int_equal(chmod(dir, 0555), 0);
	assert_int_equal(as_reader(reader_reads, path, "2"), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	if (geteuid() == 0)
		assert_int_equal(chown(path, 0, 0), 0);

	/* An older schema needs migrating, which needs write access; a newer
	 * one and another application's database are refused as by a writer. */
	sql_exec(path, "PRAGMA user_version = 1");
	assert_int_equal(chmod(path, 0444), 0);
	assert_int_equal(as_reader(reader_refused, path,
				   "database schema version 1 is older than this jobrunner's"),
			 0);
	assert_int_equal(as_reader(reader_refused, path, "needs write access"), 0);
	assert_int_equal(chmod(path, 0644), 0);
	sql_exec(path, "PRAGMA user_version = 999");
	assert_int_equal(chmod(path, 0444), 0);
	assert_int_equal(as_reader(reader_refused, path, "is newer than this jobrunner's"), 0);
	assert_int_equal(chmod(path, 0644), 0);
	sql_exec(path, "PRAGMA user_version = 0");
	assert_int_equal(chmod(path, 0444), 0);
	assert_int_equal(as_reader(reader_refused, path, "not a jobrunner database"), 0);
	assert_int_equal(chmod(path, 0644), 0);
	/* None of that changed it. */
	assert_sql(path, "SELECT count(*) FROM runs", "2");
	assert_sql(path, "PRAGMA journal_mode", "wal");

	/* Unreadable: the system's error, not an empty history. */
	if (geteuid() == 0) {
		assert_int_equal(chmod(path, 0600), 0);
		assert_int_equal(as_reader(reader_refused, path, "Permission denied"), 0);
	}
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(chmod(testdir, 0700), 0);
}

static void test_run_ids(void **state)
{
	char prev[JR_RUN_ID_LEN + 1] = "", id[JR_RUN_ID_LEN + 1];
	int64_t now = jr_now_ms(), ms;
	int i;

	(void)state;
	for (i = 0; i < 200000; i++) {
		jr_run_id_new(id);
		assert_int_equal(strlen(id), JR_RUN_ID_LEN);
		assert_int_equal(strspn(id, "0123456789abcdef"), JR_RUN_ID_LEN);
		if (strcmp(prev, id) >= 0)
			fail_msg("ids not increasing: %s then %s", prev, id);
		memcpy(prev, id, sizeof(id));
	}
	/* The first 12 digits are the time in ms (pushed ahead at most by the
	 * counter wrapping: 200000 ids in one ms could add 3). */
	jr_run_id_new(id);
	id[12] = '\0';
	ms = strtoll(id, NULL, 16);
	assert_true(ms >= now && ms <= jr_now_ms() + 10);
}

static void test_record_and_history(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	char *path = testdir_path("h.db"), *canon = NULL, *src = NULL;
	char *argv[] = {"jobrunner", "run", "-j", "2", "quote\"d"};
	struct jr_run_row *rows = NULL;
	struct jr_run r[6];
	struct jr_store *st;
	int64_t inv;
	size_t n;
	int i;

	(void)state;
	st = open_ok(path);
	assert_int_equal(jr_store_invocation_begin(st, 5, argv, &inv, &err), 0);
	assert_true(inv > 0);
	assert_int_equal(
	    jr_store_job_seen(st, "a", "h1", "jobs.d/a.yaml", "{\"name\":\"a\"}", &err), 0);
	assert_int_equal(jr_store_job_seen(st, "a", "h1", "other", "{}", &err), 0);
	for (i = 0; i < 6; i++) {
		run_init(&r[i], inv, i % 2 ? "b" : "a");
		r[i].attempt = i + 1;
		insert_ok(st, &r[i]);
		assert_int_equal(strlen(r[i].id), JR_RUN_ID_LEN);
		assert_int_equal(jr_store_run_set_pid(st, r[i].id, 1000 + i, &err), 0);
	}
	/* Finish all but the last one of a (r[4]). */
	for (i = 0; i < 6; i++) {
		if (i == 4)
			continue;
		r[i].status = i == 2 ? JR_RUN_FAILED : JR_RUN_SUCCEEDED;
		r[i].exit_code = i == 2 ? 3 : 0;
		r[i].finished_ms = r[i].started_ms + 1500;
		r[i].duration_ms = 1500;
		r[i].user_ms = 10;
		r[i].sys_ms = 5;
		r[i].max_rss_kb = 2048;
		r[i].stdout_tail = "out\n";
		r[i].error = i == 2 ? "exited with status 3" : NULL;
		if (jr_store_run_finish(st, &r[i], &err) < 0)
			fail_msg("finish: %s", err.msg);
	}
	assert_int_equal(jr_store_run_signal(st, r[2].id, SIGTERM, 111, "timeout", &err), 0);
	assert_int_equal(jr_store_run_signal(st, r[2].id, SIGKILL, 222, "timeout", &err), 0);
	/* r[4] is still running when its invocation ends: it cannot stay so
	 * (nothing would ever reconcile it), it is lost. */
	assert_int_equal(jr_store_invocation_end(st, inv, 1, &err), 0);

	/* Finishing an unknown run is an error. */
	{
		struct jr_run bad = r[0];

		memcpy(bad.id, "00000000000000000000", JR_RUN_ID_LEN + 1);
		assert_int_equal(jr_store_run_finish(st, &bad, &err), -1);
		assert_non_null(strstr(err.msg, "no run"));
	}

	assert_int_equal(jr_store_history(st, "a", NULL, 20, &rows, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(rows[0].id, r[4].id); /* newest first */
	assert_string_equal(rows[1].id, r[2].id);
	assert_string_equal(rows[2].id, r[0].id);
	assert_int_equal(rows[0].status, JR_RUN_LOST);
	assert_string_equal(rows[0].error, "jobrunner ended without recording its end");
	assert_false(rows[0].has_usage);
	assert_int_equal(rows[0].exit_code, -1);
	assert_int_equal(rows[0].pid, 1004);
	assert_int_equal(rows[1].status, JR_RUN_FAILED);
	assert_int_equal(rows[1].exit_code, 3);
	assert_true(rows[1].has_usage);
	assert_int_equal(rows[1].duration_ms, 1500);
	assert_int_equal(rows[1].max_rss_kb, 2048);
	assert_int_equal(rows[1].attempt, 3);
	assert_int_equal(rows[1].pid, 1002); /* kept from set_pid */
	assert_string_equal(rows[1].error, "exited with status 3");
	assert_string_equal(rows[1].stdout_tail, "out\n");
	assert_null(rows[1].stderr_tail);
	assert_string_equal(rows[1].machine, "host1");
	assert_non_null(strstr(rows[1].invocation_argv, "quote\\\"d"));
	jr_run_rows_free(rows, n);

	assert_int_equal(jr_store_history(st, "a", NULL, 2, &rows, &n, &err), 0);
	assert_int_equal(n, 2);
	jr_run_rows_free(rows, n);
	assert_int_equal(jr_store_history(st, NULL, NULL, 0, &rows, &n, &err), 0);
	assert_int_equal(n, 6);
	assert_string_equal(rows[0].id, r[5].id);
	jr_run_rows_free(rows, n);
	assert_int_equal(jr_store_history(st, NULL, "failed", 0, &rows, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rows[0].id, r[2].id);
	jr_run_rows_free(rows, n);
	assert_int_equal(jr_store_history(st, "b", "succeeded", 10, &rows, &n, &err), 0);
	assert_int_equal(n, 3);
	jr_run_rows_free(rows, n);
	assert_int_equal(jr_store_history(st, "nope", NULL, 10, &rows, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(rows);
	assert_int_equal(jr_store_history(st, NULL, "bogus", 10, &rows, &n, &err), -1);
	assert_non_null(strstr(err.msg, "bogus"));

	assert_int_equal(jr_store_job_definition(st, "a", "h1", &canon, &src, &err), 0);
	assert_string_equal(canon, "{\"name\":\"a\"}"); /* the first one recorded */
	assert_string_equal(src, "jobs.d/a.yaml");
	free(canon);
	free(src);
	assert_int_equal(jr_store_job_definition(st, "a", "h2", &canon, NULL, &err), 1);
	assert_null(canon);

	/* Views work and see the runs. */
	jr_store_close(st);
	assert_sql(path, "SELECT run_id FROM last_runs WHERE job = 'a'", r[4].id);
	/* (the failed run, and the one lost when its invocation ended) */
	assert_sql(path, "SELECT count(*) FROM failures", "2");
	assert_sql(path, "SELECT run_id FROM failures ORDER BY run_id LIMIT 1", r[2].id);
	assert_sql(path,
		   "SELECT runs || '/' || succeeded || '/' || failed FROM job_stats"
		   " WHERE job = 'a'",
		   "3/1/2"); /* failed counts the lost one */
	assert_sql(path, "SELECT status || exit_status FROM invocations", "finished1");
	free(path);
}

static void test_lookup(void **state)
{
	char cands[JR_RUN_LOOKUP_MAX_CANDS][JR_RUN_ID_LEN + 1];
	struct jr_err err = JR_ERR_INIT;
	char *path = testdir_path("l.db"), upper[JR_RUN_ID_LEN + 1], prefix[JR_RUN_ID_LEN + 1];
	struct jr_run_row row;
	struct jr_run r[3];
	struct jr_store *st;
	size_t nc, i, k;

	(void)state;
	st = open_ok(path);
	for (i = 0; i < 3; i++) {
		run_init(&r[i], 0, "j");
		insert_ok(st, &r[i]);
	}
	/* Full id, and the same in upper case. */
	/* By exact id: found, or 1 for none (a prefix is not an id). */
	assert_int_equal(jr_store_run_get(st, r[1].id, &row, &err), 0);
	assert_string_equal(row.id, r[1].id);
	jr_run_row_release(&row);
	assert_int_equal(jr_store_run_get(st, "ffffffffffffffffffff", &row, &err), 1);
	assert_null(row.id);
	{
		char pfx[8];

		memcpy(pfx, r[1].id, 7);
		pfx[7] = '\0';
		assert_int_equal(jr_store_run_get(st, pfx, &row, &err), 1);
	}
	assert_int_equal(jr_store_run_lookup(st, r[1].id, &row, cands, 10, &nc, &err), 0);
	assert_string_equal(row.id, r[1].id);
	assert_string_equal(row.job, "j");
	assert_int_equal(row.invocation_id, 0);
	assert_null(row.invocation_argv);
	jr_run_row_release(&row);
	for (i = 0; i <= JR_RUN_ID_LEN; i++)
		upper[i] = (char)(r[2].id[i] >= 'a' ? r[2].id[i] - 'a' + 'A' : r[2].id[i]);
	assert_int_equal(jr_store_run_lookup(st, upper, &row, cands, 10, &nc, &err), 0);
	assert_string_equal(row.id, r[2].id);
	jr_run_row_release(&row);
	/* The shortest unique prefix of r[2] (the newest). */
	for (k = 1; k <= JR_RUN_ID_LEN; k++) {
		memcpy(prefix, r[2].id, k);
		prefix[k] = '\0';
		if (strncmp(prefix, r[1].id, k))
			break;
	}
	assert_int_equal(jr_store_run_lookup(st, prefix, &row, cands, 10, &nc, &err), 0);
	assert_string_equal(row.id, r[2].id);
	jr_run_row_release(&row);
	/* A prefix common to all three: ambiguous, candidates oldest first. */
	memcpy(prefix, r[0].id, 4);
	prefix[4] = '\0';
	assert_int_equal(jr_store_run_lookup(st, prefix, &row, cands, 10, &nc, &err), 2);
	assert_int_equal(nc, 3);
	assert_string_equal(cands[0], r[0].id);
	assert_string_equal(cands[2], r[2].id);
	assert_null(row.id);
	assert_int_equal(jr_store_run_lookup(st, prefix, &row, cands, 2, &nc, &err), 2);
	assert_int_equal(nc, 2);
	assert_int_equal(jr_store_run_lookup(st, prefix, &row, NULL, 0, &nc, &err), 2);
	assert_int_equal(nc, 0);
	/* A run recorded as skipped ends when recorded, with no usage. */
	run_init(&r[0], 0, "sk");
	r[0].status = JR_RUN_SKIPPED;
	r[0].started_ms = 0;
	r[0].error = "concurrency: forbid, already running";
	insert_ok(st, &r[0]);
	assert_int_equal(jr_store_run_lookup(st, r[0].id, &row, cands, 10, &nc, &err), 0);
	assert_int_equal(row.status, JR_RUN_SKIPPED);
	assert_true(row.finished_ms > 0);
	assert_int_equal(row.started_ms, 0);
	assert_false(row.has_usage);
	assert_string_equal(row.error, "concurrency: forbid, already running");
	jr_run_row_release(&row);
	/* None. */
	assert_int_equal(jr_store_run_lookup(st, "ffff", &row, cands, 10, &nc, &err), 1);
	assert_int_equal(jr_store_run_lookup(st, "f", &row, cands, 10, &nc, &err), 1);
	assert_int_equal(jr_store_run_lookup(st, "0", &row, cands, 10, &nc, &err), 2);
	/* Not hex, empty, too long. */
	assert_int_equal(jr_store_run_lookup(st, "12g4", &row, cands, 10, &nc, &err), -1);
	assert_non_null(strstr(err.msg, "12g4"));
	assert_int_equal(jr_store_run_lookup(st, "", &row, cands, 10, &nc, &err), -1);
	assert_int_equal(
	    jr_store_run_lookup(st, "0123456789abcdef01234", &row, cands, 10, &nc, &err), -1);
	assert_int_equal(jr_store_run_lookup(st, "12%", &row, cands, 10, &nc, &err), -1);
	jr_store_close(st);
	free(path);
}

/* A pid that no process has: a child that has been reaped. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static long long own_start(void)
{
	char buf[1024], *p;
	long long v = -1;
	int fd = open("/proc/self/stat", O_RDONLY), i;
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(n > 0);
	buf[n] = '\0';
	p = strrchr(buf, ')') + 2; /* field 3 */
	for (i = 3; i < 22; i++)
		p = strchr(p, ' ') + 1;
	v = strtoll(p, NULL, 10);
	return v;
}

static void test_reconcile(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	char *path = testdir_path("r.db"), sql[1024], host[256] = "", want[192], boot[64] = "";
	char *argv[] = {"jobrunner", "run"};
	struct jr_run r;
	struct jr_store *st;
	int64_t inv_live;
	pid_t gone = dead_pid();
	long long start = own_start();
	int nlost = -1, fd;

	(void)state;
	gethostname(host, sizeof(host) - 1);
	fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY);
	assert_true(fd >= 0);
	assert_true(read(fd, boot, 36) == 36);
	close(fd);
	st = open_ok(path);
	/* 100: a pid that does not exist; 101: our pid with a wrong start time;
	 * 102: our pid and start time but another boot of this host;
	 * 103: another host's other boot (not ours to judge); 104: already
	 * finished; 105: a dead pid, but in another pid namespace (not ours to
	 * judge). Our own live invocation comes from invocation_begin. */
	snprintf(
	    sql, sizeof(sql),
	    "INSERT INTO invocations (id, argv, host, pid, proc_start, boot_id, started_ms)"
	    " VALUES (100, '[]', '%s', %ld, %lld, '%s', 1),"
	    " (101, '[]', '%s', %ld, %lld, '%s', 1),"
	    " (102, '[]', '%s', %ld, %lld, 'other-boot', 1),"
	    " (103, '[]', 'elsewhere', %ld, %lld, 'other-boot', 1);"
	    "INSERT INTO invocations (id, argv, host, pid, proc_start, boot_id, started_ms, status)"
	    " VALUES (104, '[]', '%s', %ld, 5, '%s', 1, 'finished');"
	    "INSERT INTO invocations (id, argv, host, pid, proc_start, boot_id, started_ms, pid_ns)"
	    " VALUES (105, '[]', '%s', %ld, 5, '%s', 1, 'pid:[1]')",
	    host, (long)gone, start, boot, host, (long)getpid(), start + 1, boot, host,
	    (long)getpid(), start, (long)getpid(), start, host, (long)gone, boot, host, (long)gone,
	    boot);
	sql_exec(path, sql);
	assert_int_equal(jr_store_invocation_begin(st, 2, argv, &inv_live, &err), 0);
	assert_sql(path, "SELECT count(*) FROM invocations WHERE status = 'running'", "6");
	snprintf(sql, sizeof(sql), "SELECT pid_ns IS NOT NULL FROM invocations WHERE id = %lld",
		 (long long)inv_live);
	assert_sql(path, sql, "1");
	{
		int64_t invs[] = {100, 100, 101, 102, 103, 104, 105, 0};
		size_t i;

		invs[7] = inv_live;
		for (i = 0; i < JR_ARRAY_SIZE(invs); i++) {
			run_init(&r, invs[i], "j");
			r.status = i == 1 ? JR_RUN_QUEUED : JR_RUN_RUNNING;
			r.started_ms = i == 1 ? 0 : 1000;
			insert_ok(st, &r);
		}
		/* A finished run of a lost invocation stays as it is. */
		run_init(&r, 100, "done");
		insert_ok(st, &r);
		r.status = JR_RUN_SUCCEEDED;
		r.exit_code = 0;
		r.finished_ms = 2000;
		assert_int_equal(jr_store_run_finish(st, &r, &err), 0);
	}
	assert_int_equal(jr_store_reconcile(st, &nlost, &err), 0);
	assert_int_equal(nlost, 4);
	assert_sql(path,
		   "SELECT group_concat(id) FROM (SELECT id FROM invocations"
		   " WHERE status = 'lost' ORDER BY id)",
		   "100,101,102");
	assert_sql(path,
		   "SELECT count(*) FROM invocations WHERE status = 'lost'"
		   " AND finished_ms IS NOT NULL",
		   "3");
	assert_sql(path,
		   "SELECT group_concat(invocation_id) FROM (SELECT invocation_id FROM runs"
		   " WHERE status = 'lost' ORDER BY invocation_id)",
		   "100,100,101,102");
	snprintf(want, sizeof(want),
		 "jobrunner process (pid %ld) disappeared without recording its end (killed, crashed, "
		 "or its database failed)",
		 (long)gone);
	assert_sql(path,
		   "SELECT min(error) FROM runs WHERE invocation_id = 100 AND status = 'lost'",
		   want);
	assert_sql(path, "SELECT count(*) FROM runs WHERE status = 'lost' AND finished_ms > 0",
		   "4");
	/* When a lost run ended is unknown: no duration, no usage (and so
	 * nothing in job_stats' times), whatever its start time. */
	assert_sql(path,
		   "SELECT count(*) FROM runs WHERE status = 'lost' AND duration_ms IS NULL"
		   " AND user_ms IS NULL AND sys_ms IS NULL AND max_rss_kb IS NULL"
		   " AND leftovers IS NULL",
		   "4");
	assert_sql(path,
		   "SELECT avg_seconds IS NULL AND max_seconds IS NULL FROM job_stats"
		   " WHERE job = 'j'",
		   "1");
	{
		struct jr_run_row *rows = NULL;
		size_t n = 0, i;

		assert_int_equal(jr_store_history(st, "j", "lost", 0, &rows, &n, &err), 0);
		assert_int_equal(n, 4);
		for (i = 0; i < n; i++) {
			assert_false(rows[i].has_duration);
			assert_false(rows[i].has_usage);
			assert_true(rows[i].finished_ms > 0);
		}
		jr_run_rows_free(rows, n);
	}
	snprintf(sql, sizeof(sql), "SELECT status FROM runs WHERE invocation_id = %lld",
		 (long long)inv_live);
	assert_sql(path, sql, "running");
	assert_sql(path, "SELECT status FROM runs WHERE invocation_id = 103", "running");
	assert_sql(path, "SELECT status FROM runs WHERE invocation_id = 104", "running");
	assert_sql(path, "SELECT status FROM runs WHERE invocation_id = 105", "running");
	assert_sql(path, "SELECT status FROM runs WHERE job = 'done'", "succeeded");
	/* What reconciling wrote passes the schema's CHECK constraints. */
	assert_sql(path, "PRAGMA integrity_check", "ok");
	/* Nothing more to do the second time. */
	assert_int_equal(jr_store_reconcile(st, &nlost, &err), 0);
	assert_int_equal(nlost, 0);
	assert_int_equal(jr_store_reconcile(st, NULL, &err), 0);
	jr_store_close(st);
	free(path);
}

#define NPER 150

static int child_writer(const char *path)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_store *st = NULL;
	struct jr_run r;
	int i;

	/* Its own connection, opened after fork. */
	if (jr_store_open(&st, path, JR_SYNC_NORMAL, &err) < 0) {
		fprintf(stderr, "child open: %s\n", err.msg);
		return 1;
	}
	for (i = 0; i < NPER; i++) {
		memset(&r, 0, sizeof(r));
		r.job = "child";
		r.status = JR_RUN_RUNNING;
		r.exit_code = -1;
		if (jr_store_run_insert(st, &r, &err) < 0)
			goto fail;
		r.status = JR_RUN_SUCCEEDED;
		r.exit_code = 0;
		if (jr_store_run_finish(st, &r, &err) < 0)
			goto fail;
	}
	jr_store_close(st);
	return 0;
fail:
	fprintf(stderr, "child: %s\n", err.msg);
	jr_store_close(st);
	return 1;
}

static void test_two_writers(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	char *path = testdir_path("c.db");
	struct jr_store *st;
	struct jr_run r;
	pid_t pid;
	int i, status, nlost;

	(void)state;
	st = open_ok(path); /* creates the schema */
	jr_store_close(st);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_writer(path));
	st = open_ok(path);
	for (i = 0; i < NPER; i++) {
		run_init(&r, 0, "parent");
		insert_ok(st, &r);
		r.status = JR_RUN_SUCCEEDED;
		r.exit_code = 0;
		if (jr_store_run_finish(st, &r, &err) < 0)
			fail_msg("parent finish: %s", err.msg);
		if (i % 10 == 0 && jr_store_reconcile(st, &nlost, &err) < 0)
			fail_msg("parent reconcile: %s", err.msg);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	jr_store_close(st);
	assert_sql(path, "SELECT count(*) FROM runs WHERE status = 'succeeded'", "300");
	free(path);
}

/* Five processes opening the same new file at once: the schema is created
 * once, nobody gets SQLITE_BUSY, every insert lands. */
static void test_concurrent_open(void **state)
{
	char *path = testdir_path("new/co.db");
	pid_t pids[5];
	int i, status;

	(void)state;
	for (i = 0; i < 5; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct jr_err err = JR_ERR_INIT;
			struct jr_store *st = NULL;
			struct jr_run r;
			int k, nlost;

			if (jr_store_open(&st, path, JR_SYNC_FULL, &err) < 0 ||
			    jr_store_reconcile(st, &nlost, &err) < 0) {
				fprintf(stderr, "child %d: %s\n", i, err.msg);
				_exit(1);
			}
			for (k = 0; k < 20; k++) {
				memset(&r, 0, sizeof(r));
				r.job = "co";
				r.exit_code = -1;
				r.status = JR_RUN_SKIPPED;
				r.error = "concurrency: forbid";
				if (jr_store_run_insert(st, &r, &err) < 0) {
					fprintf(stderr, "child %d: %s\n", i, err.msg);
					_exit(1);
				}
			}
			jr_store_close(st);
			_exit(0);
		}
	}
	for (i = 0; i < 5; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_sql(path, "SELECT count(*) FROM runs WHERE status = 'skipped'", "100");
	assert_sql(path, "SELECT count(DISTINCT substr(id, 13, 4)) > 1 FROM runs", "1");
	free(path);
}

/* A connection is never used across fork: the child gets an error, and
 * closing it there leaves the parent's connection working. */
static void test_fork_guard(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	char *path = testdir_path("f.db");
	struct jr_store *st;
	struct jr_run r;
	pid_t pid;
	int status;

	(void)state;
	st = open_ok(path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct jr_err cerr = JR_ERR_INIT;
		struct jr_run cr;
		int bad;

		memset(&cr, 0, sizeof(cr));
		cr.job = "x";
		bad = jr_store_run_insert(st, &cr, &cerr) == 0 || !strstr(cerr.msg, "after fork");
		jr_store_close(st);
		/* The abandoned connection is memory still in use by design: a
		 * real child execs, and so does this one (keeping valgrind's leak
		 * check of the child quiet). */
		execl("/bin/sh", "sh", "-c", bad ? "exit 1" : "exit 0", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	run_init(&r, 0, "after");
	insert_ok(st, &r);
	(void)err;
	jr_store_close(st);
	free(path);
}

static void fill_many(const char *path, int n)
{
	char sql[512];

	/* Enough rows, and enough distinct jobs and statuses, that the planner's
	 * choices are the ones it makes on a large database. */
	snprintf(sql, sizeof(sql),
		 "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < %d)"
		 " INSERT INTO runs (id, job, status, attempt) SELECT printf('%%012x%%08x', "
		 "1700000000000"
		 " + i, i), 'job' || (i %% 50), CASE WHEN i %% 7 = 0 THEN 'failed' ELSE 'succeeded'"
		 " END, 1 FROM c;",
		 n);
	sql_exec(path, sql);
}

static void assert_plan(struct jr_store *st, const char *query, const char *want,
			const char *unwanted)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_buf b = JR_BUF_INIT;

	jr_buf_init(&b);
	if (jr_store_explain(st, query, &b, &err) < 0)
		fail_msg("explain %s: %s", query, err.msg);
	if (!strstr(b.buf, want))
		fail_msg("plan of %s lacks '%s':\n%s", query, want, b.buf);
	if (unwanted && strstr(b.buf, unwanted))
		fail_msg("plan of %s has '%s':\n%s", query, unwanted, b.buf);
	if (strstr(b.buf, "TEMP B-TREE"))
		fail_msg("plan of %s sorts:\n%s", query, b.buf);
	jr_buf_release(&b);
}

static void test_query_plans(void **state)
{
	char *path = testdir_path("p.db");
	struct jr_store *st;
	int pass;

	(void)state;
	st = open_ok(path);
	jr_store_close(st);
	fill_many(path, 5000);
	/* As jobrunner leaves it (no statistics), then after an ANALYZE. */
	for (pass = 0; pass < 2; pass++) {
		if (pass)
			sql_exec(path, "ANALYZE");
		st = open_ok(path);
		assert_plan(st, "history_job", "USING INDEX runs_job (job=?)", "SCAN r");
		assert_plan(st, "history_job_status", "USING INDEX runs_job (job=?)", "SCAN r");
		assert_plan(st, "history_status", "USING INDEX runs_status (status=?)", "SCAN r");
		assert_plan(st, "history", "SCAN r USING INDEX sqlite_autoindex_runs_1", NULL);
		assert_plan(
		    st, "lookup",
		    "SEARCH runs USING COVERING INDEX sqlite_autoindex_runs_1 (id>? AND id<?)",
		    "SCAN");
		assert_plan(st, "run_get", "SEARCH r USING INDEX sqlite_autoindex_runs_1 (id=?)",
			    "SCAN");
		assert_plan(st, "reconcile_invocations", "invocations_running", NULL);
		assert_plan(st, "reconcile_runs", "USING INDEX runs_status (status=?)", "SCAN");
		assert_plan(st, "run_finish", "sqlite_autoindex_runs_1 (id=?)", "SCAN");
		assert_plan(st, "signals", "run_signals_run (run_id=?)", "SCAN");
		jr_store_close(st);
	}
	free(path);
}

/* Writes s to a file and has python3 parse it and evaluate check on the
 * result d; returns python's exit status. */
static int python_check(const char *s, const char *check)
{
	char *file = testdir_path("out.json");
	char *prog = jr_xasprintf("import json, sys\nd = json.load(open(sys.argv[1]))\n"
				  "sys.exit(0 if (%s) else 1)\n",
				  check);
	int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0600), status = -1;
	pid_t pid;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		execlp("python3", "python3", "-c", prog, file, (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	free(prog);
	free(file);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void test_json(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_buf b = JR_BUF_INIT;
	char *path = testdir_path("j.db"), *argv[] = {"jobrunner", "run", "t\xffx"};
	struct jr_run_signal_row *sigs = NULL;
	size_t nsigs, nc;
	struct jr_run_row row;
	struct jr_store *st;
	struct jr_run r;
	int64_t inv;

	(void)state;
	jr_buf_init(&b);
	st = open_ok(path);
	assert_int_equal(jr_store_invocation_begin(st, 3, argv, &inv, &err), 0);
	run_init(&r, inv, "quo\"te");
	r.decision = "container: no bwrap\nlocal: ok";
	insert_ok(st, &r);
	r.status = JR_RUN_TIMED_OUT;
	r.signal = SIGKILL;
	r.stderr_tail = "bad \x01 bytes \xc3\x28 here";
	r.error = "timed out after 1s";
	r.finished_ms = r.started_ms + 1000;
	r.duration_ms = 1000;
	r.leftovers = 2;
	assert_int_equal(jr_store_run_finish(st, &r, &err), 0);
	assert_int_equal(jr_store_run_signal(st, r.id, SIGTERM, 5, "timeout", &err), 0);
	assert_int_equal(jr_store_run_signal(st, r.id, SIGKILL, 6, "timeout", &err), 0);
	assert_int_equal(jr_store_run_lookup(st, r.id, &row, NULL, 0, &nc, &err), 0);
	jr_run_row_to_json(&row, &b);
	{
		char *chk = jr_xasprintf("d['id'] == '%s' and d['invocation_id'] == %lld", r.id,
					 (long long)inv);

		assert_int_equal(python_check(b.buf, chk), 0);
		free(chk);
	}
	assert_int_equal(python_check(b.buf, "d['job'] == 'quo\"te' and d['status'] == 'timed_out'"
					     " and d['exit_code'] is None and d['signal'] == 9"
					     " and d['target'] == {'arch': 'x86_64'}"
					     " and d['invocation_argv'][1] == 'run'"
					     " and d['leftovers'] == 2 and d['duration_ms'] == 1000"
					     " and d['stdout_path'] is None"
					     " and d['decision'].startswith('container')"),
			 0);
	/* Unknown figures are null, each after its own column: a lost run
	 * recorded by an earlier jobrunner kept a duration and no usage. */
	{
		struct jr_run_row lr;

		sql_exec(path,
			 "INSERT INTO runs (id, job, status, started_ms, finished_ms,"
			 " duration_ms) VALUES ('00000000000100000000', 'l', 'lost', 1, 7, 6)");
		assert_int_equal(jr_store_run_get(st, "00000000000100000000", &lr, &err), 0);
		assert_true(lr.has_duration);
		assert_false(lr.has_usage);
		jr_buf_reset(&b);
		jr_run_row_to_json(&lr, &b);
		assert_int_equal(python_check(b.buf, "d['duration_ms'] == 6 and d['user_ms'] is None"
						     " and d['sys_ms'] is None"
						     " and d['max_rss_kb'] is None"
						     " and d['leftovers'] is None"),
				 0);
		jr_run_row_release(&lr);
		jr_buf_reset(&b);
	}
	/* A target that is not JSON is kept as a string. */
	free(row.target);
	row.target = jr_xstrdup("{oops");
	row.target_is_json = false;
	jr_buf_reset(&b);
	jr_run_row_to_json(&row, &b);
	assert_int_equal(python_check(b.buf, "d['target'] == '{oops'"), 0);
	jr_run_row_release(&row);

	assert_int_equal(jr_store_run_signals_list(st, r.id, &sigs, &nsigs, &err), 0);
	assert_int_equal(nsigs, 2);
	assert_int_equal(sigs[0].sig, SIGTERM);
	assert_string_equal(sigs[1].reason, "timeout");
	jr_buf_reset(&b);
	jr_run_signals_to_json(sigs, nsigs, &b);
	assert_int_equal(python_check(b.buf, "[s['name'] for s in d] == ['TERM', 'KILL']"
					     " and d[1]['at_ms'] == 6 and d[0]['signal'] == 15"),
			 0);
	jr_run_signal_rows_free(sigs, nsigs);
	assert_int_equal(jr_store_run_signals_list(st, "0000", &sigs, &nsigs, &err), 0);
	assert_int_equal(nsigs, 0);
	jr_buf_reset(&b);
	jr_run_signals_to_json(sigs, nsigs, &b);
	assert_string_equal(b.buf, "[]");
	jr_buf_release(&b);
	jr_store_close(st);
	free(path);
}

/* Whether another connection could take the write lock right now. */
static bool writable_elsewhere(const char *path)
{
	sqlite3 *db = NULL;
	int rc;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 0);
	rc = sqlite3_exec(db, "BEGIN IMMEDIATE; COMMIT", NULL, NULL, NULL);
	sqlite3_close(db);
	return rc == SQLITE_OK;
}

/* The scheduler names log files after a run id it chooses, and records the
 * runs of one step in a batch: the id is kept (or refused with EEXIST),
 * and a batch holds the write lock only from its first write to its
 * commit, and publishes everything at once. */
/* In a child whose files may not grow past a limit: a batch whose
 * transaction SQLite rolls back on an I/O error; exits 0 when the batch's
 * next write fails instead of committing on its own. */
static int child_rolled_back_batch(const char *path)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_store *st = NULL;
	struct rlimit rl = {4 << 20, 4 << 20};
	char *big = jr_xmalloc(1 << 20);
	struct jr_run r;
	int i, rc = -1;

	if (jr_store_open(&st, path, JR_SYNC_NORMAL, &err) < 0)
		return 2;
	memset(big, 'x', (1 << 20) - 1);
	big[(1 << 20) - 1] = '\0';
	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0 || jr_store_batch_begin(st, &err) < 0)
		return 2;
	/* Rows too big for the page cache spill to the WAL, which cannot grow. */
	for (i = 0; i < 64 && rc == -1; i++) {
		memset(&r, 0, sizeof(r));
		r.job = "big";
		r.status = JR_RUN_RUNNING;
		r.error = big;
		if (jr_store_run_insert(st, &r, &err) < 0)
			rc = 0;
	}
	if (rc < 0)
		return 3; /* never failed: the test proves nothing */
	memset(&r, 0, sizeof(r));
	r.job = "after";
	r.status = JR_RUN_RUNNING;
	if (jr_store_run_insert(st, &r, &err) == 0)
		return 4;
	jr_store_batch_abort(st);
	jr_store_close(st);
	free(big);
	return 0;
}

static void test_rolled_back_batch(void **state)
{
	char *path = testdir_path("rb.db");
	struct jr_store *st;
	pid_t pid;
	int status;

	(void)state;
	st = open_ok(path);
	jr_store_close(st);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(child_rolled_back_batch(path));
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* Nothing of the batch was committed, the row after it neither. */
	assert_sql(path, "SELECT count(*) FROM runs", "0");
	free(path);
}

static void test_chosen_id_and_batch(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	char *path = testdir_path("q.db");
	struct jr_store *st;
	struct jr_run r, dup;
	int64_t inv;
	char *argv[] = {"jobrunner", "run"};

	(void)state;
	st = open_ok(path);
	assert_int_equal(jr_store_invocation_begin(st, 2, argv, &inv, &err), 0);
	run_init(&r, inv, "q");
	jr_run_id_new(r.id);
	memcpy(dup.id, r.id, sizeof(r.id));
	insert_ok(st, &r);
	assert_string_equal(r.id, dup.id); /* the caller's id is kept */
	assert_sql(path, "SELECT status FROM runs", "running");
	/* a chosen id that is taken fails with EEXIST, so the caller picks another */
	run_init(&dup, inv, "q");
	memcpy(dup.id, r.id, sizeof(r.id));
	assert_int_equal(jr_store_run_insert(st, &dup, &err), -1);
	assert_int_equal(err.errnum, EEXIST);
	assert_string_equal(dup.id, r.id);

	/* a batch that writes nothing takes no lock and commits nothing */
	assert_int_equal(jr_store_batch_begin(st, &err), 0);
	assert_false(jr_store_batch_written(st));
	assert_true(writable_elsewhere(path));
	assert_int_equal(jr_store_batch_commit(st, &err), 0);
	/* one that writes holds the lock from its first write, and its writes
	 * appear together at the commit */
	assert_int_equal(jr_store_batch_begin(st, &err), 0);
	r.status = JR_RUN_SUCCEEDED;
	r.exit_code = 0;
	assert_int_equal(jr_store_run_finish(st, &r, &err), 0);
	assert_true(jr_store_batch_written(st));
	run_init(&dup, inv, "q");
	insert_ok(st, &dup);
	assert_false(writable_elsewhere(path));
	assert_sql(path, "SELECT group_concat(status) FROM runs", "running");
	assert_int_equal(jr_store_batch_commit(st, &err), 0);
	assert_false(jr_store_batch_written(st));
	assert_sql(path, "SELECT group_concat(status, ',') FROM (SELECT status FROM runs ORDER BY id)",
		   "succeeded,running");
	/* an aborted batch leaves nothing */
	assert_int_equal(jr_store_batch_begin(st, &err), 0);
	run_init(&dup, inv, "q");
	insert_ok(st, &dup);
	jr_store_batch_abort(st);
	assert_sql(path, "SELECT count(*) FROM runs", "2");
	assert_true(writable_elsewhere(path));
	jr_store_close(st);
	free(path);
}

static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A long writer's checkpoints run in a thread of their own: the WAL is
 * copied into the database file while the store stays open and busy. */
static void test_background_checkpoint(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	char *path = testdir_path("ckpt.db"), tail[3000];
	struct jr_store *st;
	struct jr_run r;
	struct stat before, now;
	int i, waited;

	(void)state;
	st = open_ok(path);
	assert_int_equal(jr_store_checkpoint_in_background(st, &err), 0);
	assert_int_equal(jr_store_checkpoint_in_background(st, &err), 0); /* once */
	assert_int_equal(threads(), 1); /* none until a checkpoint is due */
	assert_int_equal(stat(path, &before), 0);
	memset(tail, 'x', sizeof(tail) - 1);
	tail[sizeof(tail) - 1] = '\0';
	for (i = 0; i < 1200; i++) { /* a page or more each: past 1000 WAL pages */
		run_init(&r, 0, "ckpt");
		r.stdout_tail = tail;
		insert_ok(st, &r);
	}
	for (waited = 0; waited < 100; waited++) {
		assert_int_equal(stat(path, &now), 0);
		if (now.st_size > before.st_size + 1000 * 4096)
			break;
		usleep(100 * 1000);
	}
	assert_true(now.st_size > before.st_size + 1000 * 4096);
	assert_int_equal(threads(), 2); /* the checkpointer, not the commits */
	jr_store_close(st);
	assert_int_equal(threads(), 1);
	assert_sql(path, "SELECT count(*) FROM runs", "1200");
	free(path);
}

static void test_schedule(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	char *path = testdir_path("s.db");
	char *argv[] = { "jobrunner", "tick" };
	struct jr_store *st;
	struct jr_run other, mine, later;
	int64_t t = -1, inv;

	(void)state;
	st = open_ok(path);
	assert_int_equal(jr_store_schedule_get(st, "nightly", &t, &err), 1);
	assert_int_equal(t, 0);
	/* A claim takes a tick only from the last tick read: of two ticks
	 * that read the same (or both read none), the second gets nothing. */
	assert_int_equal(jr_store_schedule_claim(st, "nightly", false, 0, 1000, &err), 1);
	assert_int_equal(jr_store_schedule_claim(st, "nightly", false, 0, 1500, &err), 0);
	assert_int_equal(jr_store_schedule_claim(st, "nightly", true, 1000, 2000, &err), 1);
	assert_int_equal(jr_store_schedule_get(st, "nightly", &t, &err), 0);
	assert_int_equal(t, 2000);
	assert_int_equal(jr_store_schedule_claim(st, "nightly", true, 2000, 3000, &err), 1);
	assert_int_equal(jr_store_schedule_claim(st, "nightly", true, 2000, 3000, &err), 0);
	assert_int_equal(jr_store_schedule_get(st, "nightly", &t, &err), 0);
	assert_int_equal(t, 3000);
	assert_int_equal(jr_store_schedule_claim(st, "fresh", false, 0, 500, &err), 1);
	assert_int_equal(jr_store_schedule_claim(st, "fresh", false, 0, 600, &err), 0);
	assert_int_equal(jr_store_schedule_get(st, "fresh", &t, &err), 0);
	assert_int_equal(t, 500);
	/* The run recorded is the job's first of the invocation, not another
	 * job's, nor its later attempts. */
	assert_int_equal(jr_store_invocation_begin(st, 2, argv, &inv, &err), 0);
	run_init(&other, inv, "other");
	insert_ok(st, &other);
	run_init(&mine, inv, "nightly");
	insert_ok(st, &mine);
	run_init(&later, inv, "nightly");
	later.attempt = 2;
	insert_ok(st, &later);
	assert_int_equal(jr_store_schedule_set_run(st, "nightly", 3000, inv, &err), 0);
	/* A claim clears it; a stale tick (2000) records nothing. */
	assert_int_equal(jr_store_schedule_claim(st, "fresh", true, 500, 700, &err), 1);
	assert_int_equal(jr_store_schedule_set_run(st, "fresh", 500, inv, &err), 0);
	jr_store_close(st);
	assert_sql(path, "SELECT last_run_id FROM schedule WHERE job = 'nightly'", mine.id);
	assert_sql(path, "SELECT count(*) FROM schedule WHERE job = 'fresh' AND last_run_id IS NULL",
		   "1");
	free(path);
}

static void test_status_names(void **state)
{
	enum jr_run_status s;
	int i;

	(void)state;
	for (i = JR_RUN_QUEUED; i <= JR_RUN_LOST; i++) {
		assert_int_equal(jr_run_status_parse(jr_run_status_name((enum jr_run_status)i), &s),
				 0);
		assert_int_equal(s, i);
	}
	assert_string_equal(jr_run_status_name(JR_RUN_TIMED_OUT), "timed_out");
	assert_int_equal(jr_run_status_parse("Failed", &s), -1);
	assert_int_equal(jr_run_status_parse(NULL, &s), -1);
}

/* The store's connection does not evaluate CHECK constraints (store.c):
 * whatever it writes passes the schema's, as PRAGMA integrity_check (which
 * evaluates them) finds, and they still refuse anything else from other
 * connections. Reconciling (lost) is checked in test_reconcile. */
static void test_status_check(void **state)
{
	struct jr_err err = JR_ERR_INIT;
	char *path = testdir_path("check.db");
	char *const argv[] = { "jobrunner", "run" };
	struct jr_run r;
	struct jr_store *st;
	sqlite3 *db = NULL;
	char *msg = NULL;
	int64_t inv;
	int i;

	(void)state;
	st = open_ok(path);
	assert_int_equal(jr_store_invocation_begin(st, 2, argv, &inv, &err), 0);
	assert_int_equal(jr_store_invocation_begin(st, 2, argv, &inv, &err), 0);
	assert_int_equal(jr_store_invocation_end(st, inv, 0, &err), 0);
	run_init(&r, inv, "c");
	for (i = JR_RUN_QUEUED; i <= JR_RUN_LOST; i++) {
		r.status = (enum jr_run_status)i;
		r.id[0] = '\0';
		insert_ok(st, &r);
		r.status = (enum jr_run_status)(JR_RUN_LOST - (i - JR_RUN_QUEUED));
		assert_int_equal(jr_store_run_finish(st, &r, &err), 0);
	}
	jr_store_close(st);
	assert_sql(path, "SELECT count(DISTINCT status) FROM runs", "8");
	assert_sql(path, "SELECT group_concat(status) FROM invocations", "running,finished");
	assert_sql(path, "PRAGMA integrity_check", "ok");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_not_equal(sqlite3_exec(db, "UPDATE runs SET status = 'bogus'", NULL, NULL, &msg),
			     SQLITE_OK);
	assert_non_null(strstr(msg, "CHECK constraint failed"));
	sqlite3_free(msg);
	sqlite3_close(db);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_names), cmocka_unit_test(test_status_check),
	    cmocka_unit_test(test_open_migrate), cmocka_unit_test(test_open_not_regular),
	    cmocka_unit_test(test_open_foreign), cmocka_unit_test(test_open_read_missing),
	    cmocka_unit_test(test_open_read_only),
	    cmocka_unit_test(test_run_ids),	 cmocka_unit_test(test_record_and_history),
	    cmocka_unit_test(test_lookup),	 cmocka_unit_test(test_reconcile),
	    cmocka_unit_test(test_two_writers),	 cmocka_unit_test(test_concurrent_open),
	    cmocka_unit_test(test_fork_guard),	 cmocka_unit_test(test_query_plans),
	    cmocka_unit_test(test_json),	 cmocka_unit_test(test_schedule), cmocka_unit_test(test_chosen_id_and_batch),
	    cmocka_unit_test(test_background_checkpoint),
	    cmocka_unit_test(test_rolled_back_batch),
	};

	return cmocka_run_group_tests(tests, setup, testdir_teardown);
}
