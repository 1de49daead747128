/* Benchmark of the store's queries against database size.
 *
 * Builds one database holding 1,000,000 runs (300 jobs) and one holding
 * 1,000, then times, with the store's own functions, best of several
 * batches:
 *   history JOB -n 20   (jr_store_history)     target 1M/1k <= 1.5
 *   show PREFIX         (jr_store_run_lookup + signals)  target <= 1.5
 *   recording one run   (reconcile + insert running + finish) on the 1M
 *                       database against an empty one: target <= 1.2
 *   a whole one-job session (open, reconcile, invocation, insert, finish,
 *                       invocation end, close): reported, target <= 1.2
 * The small database has 30 jobs so that a job has 20 runs to show.
 * Prints one line per measure and exits 1 when a target is missed.
 * BENCH_STORE_RUNS overrides 1,000,000 (e.g. for a quick try). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store.h"
#include "util.h"

#include "banned.h"

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what, const char *msg)
{
	fprintf(stderr, "bench_store: %s: %s\n", what, msg);
	exit(2);
}

static struct jr_store *open_store(const char *path)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_store *st = NULL;

	if (jr_store_open(&st, path, JR_SYNC_NORMAL, &err) < 0)
		die(path, err.msg);
	return st;
}

static void exec_sql(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		die(sql, msg ? msg : "?");
}

/* Creates path with the schema and n runs as jobrunner would have written
 * them over time: time-ordered ids, one invocation per 100 runs, a few
 * hundred jobs, mostly succeeded, some failed with a tail. One transaction,
 * one prepared statement. Returns the id of a run from the middle. */
static void populate(const char *path, long n, int njobs, char mid_id[JR_RUN_ID_LEN + 1])
{
	struct jr_buf idx = JR_BUF_INIT, drop = JR_BUF_INIT;
	sqlite3 *db = NULL;
	sqlite3_stmt *ins = NULL, *inv = NULL, *q = NULL;
	int64_t base = jr_now_ms() - (int64_t)n * 1000;
	char id[JR_RUN_ID_LEN + 1], job[16];
	long i;

	jr_store_close(open_store(path)); /* schema */
	if (sqlite3_open(path, &db) != SQLITE_OK)
		die(path, sqlite3_errmsg(db));
	exec_sql(db, "PRAGMA synchronous = OFF; PRAGMA cache_size = -100000; BEGIN");
	/* Faster: drop the secondary indexes of runs (as the schema defines
	 * them) while loading, and build them again at the end. */
	jr_buf_init(&idx);
	jr_buf_init(&drop);
	if (sqlite3_prepare_v2(db,
			       "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
			       " AND tbl_name = 'runs' AND sql IS NOT NULL",
			       -1, &q, NULL) != SQLITE_OK)
		die("indexes", sqlite3_errmsg(db));
	while (sqlite3_step(q) == SQLITE_ROW) {
		jr_buf_addf(&drop, "DROP INDEX %s;", (const char *)sqlite3_column_text(q, 0));
		jr_buf_addf(&idx, "%s;", (const char *)sqlite3_column_text(q, 1));
	}
	sqlite3_finalize(q);
	exec_sql(db, drop.buf);
	jr_buf_release(&drop);
	if (sqlite3_prepare_v2(
		db,
		"INSERT INTO runs (id, invocation_id, job, job_hash, target, machine,"
		" backend, decision, attempt, status, exit_code, pid, started_ms,"
		" finished_ms, duration_ms, user_ms, sys_ms, max_rss_kb, leftovers,"
		" stdout_tail, error) VALUES (?, ?, ?, 'abcdef0123456789', '{}',"
		" 'host1', 'local', 'local: ok', 1, ?, ?, ?, ?, ?, ?, 3, 2, 4096, 0,"
		" ?, ?)",
		-1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
			       "INSERT INTO invocations (id, argv, host, pid, proc_start, boot_id,"
			       " started_ms, finished_ms, status, exit_status) VALUES (?,"
			       " '[\"jobrunner\",\"run\"]', 'host1', 1234, 5678, 'old-boot', ?, ?,"
			       " 'finished', 0)",
			       -1, &inv, NULL) != SQLITE_OK)
		die("prepare", sqlite3_errmsg(db));
	for (i = 0; i < n; i++) {
		int64_t t = base + i * 1000;
		bool failed = i % 13 == 0;

		if (i % 100 == 0) {
			sqlite3_bind_int64(inv, 1, i / 100 + 1);
			sqlite3_bind_int64(inv, 2, t);
			sqlite3_bind_int64(inv, 3, t + 100 * 1000);
			if (sqlite3_step(inv) != SQLITE_DONE)
				die("insert invocation", sqlite3_errmsg(db));
			sqlite3_reset(inv);
		}
		snprintf(id, sizeof(id), "%012" PRIx64 "%08x", (uint64_t)(t & 0xffffffffffffLL),
			 (unsigned)(i & 0x7fffffff));
		snprintf(job, sizeof(job), "job%03ld", (i * 7919) % njobs);
		if (i == n / 2)
			memcpy(mid_id, id, sizeof(id));
		sqlite3_bind_text(ins, 1, id, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(ins, 2, i / 100 + 1);
		sqlite3_bind_text(ins, 3, job, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(ins, 4, failed ? "failed" : "succeeded", -1, SQLITE_STATIC);
		sqlite3_bind_int(ins, 5, failed ? 1 : 0);
		sqlite3_bind_int64(ins, 6, 10000 + i % 30000);
		sqlite3_bind_int64(ins, 7, t);
		sqlite3_bind_int64(ins, 8, t + 250);
		sqlite3_bind_int64(ins, 9, 250);
		if (failed) {
			sqlite3_bind_text(ins, 10, "error: something went wrong\n", -1,
					  SQLITE_STATIC);
			sqlite3_bind_text(ins, 11, "exited with status 1", -1, SQLITE_STATIC);
		} else {
			sqlite3_bind_null(ins, 10);
			sqlite3_bind_null(ins, 11);
		}
		if (sqlite3_step(ins) != SQLITE_DONE)
			die("insert run", sqlite3_errmsg(db));
		sqlite3_reset(ins);
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(inv);
	exec_sql(db, idx.buf);
	jr_buf_release(&idx);
	exec_sql(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)");
	sqlite3_close(db);
}

typedef void (*bench_fn)(struct jr_store *st, const char *arg);

static double batch(struct jr_store *st, const char *arg, bench_fn fn, int reps)
{
	double t0 = now_us();
	int r;

	for (r = 0; r < reps; r++)
		fn(st, arg);
	return (now_us() - t0) / reps;
}

/* The best (lowest) mean time per call of fn over `batches` batches of
 * `reps` calls, on (sa, aa) into *a and on (sb, ab) into *b, the batches
 * of the two interleaved so that load from other processes hits both. */
static void best_of2(bench_fn fn, struct jr_store *sa, const char *aa, struct jr_store *sb,
		     const char *ab, int batches, int reps, double *a, double *b)
{
	int i;

	*a = *b = 1e30;
	fn(sa, aa); /* warm the caches */
	fn(sb, ab);
	for (i = 0; i < batches; i++) {
		double ta = batch(sa, aa, fn, reps), tb = batch(sb, ab, fn, reps);

		if (ta < *a)
			*a = ta;
		if (tb < *b)
			*b = tb;
	}
}

/* Makes what populate wrote durable, so that its write-back does not
 * land in the middle of a measurement. */
static void flush_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

static void do_history(struct jr_store *st, const char *job)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_run_row *rows;
	size_t n;

	if (jr_store_history(st, job, NULL, 20, &rows, &n, &err) < 0)
		die("history", err.msg);
	if (n != 20)
		die("history", "expected 20 rows");
	jr_run_rows_free(rows, n);
}

static void do_show(struct jr_store *st, const char *prefix)
{
	char cands[JR_RUN_LOOKUP_MAX_CANDS][JR_RUN_ID_LEN + 1];
	struct jr_err err = JR_ERR_INIT;
	struct jr_run_signal_row *sigs;
	struct jr_run_row row;
	size_t nc, ns;

	if (jr_store_run_lookup(st, prefix, &row, cands, JR_RUN_LOOKUP_MAX_CANDS, &nc, &err) != 0)
		die("lookup", err.msg[0] ? err.msg : "not found");
	if (jr_store_run_signals_list(st, row.id, &sigs, &ns, &err) < 0)
		die("signals", err.msg);
	jr_run_signal_rows_free(sigs, ns);
	jr_run_row_release(&row);
}

static void do_record(struct jr_store *st, const char *arg)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_run r;
	int nlost;

	(void)arg;
	memset(&r, 0, sizeof(r));
	r.job = "bench";
	r.target = "{}";
	r.status = JR_RUN_RUNNING;
	r.exit_code = -1;
	r.started_ms = jr_now_ms();
	if (jr_store_reconcile(st, &nlost, &err) < 0 || jr_store_run_insert(st, &r, &err) < 0)
		die("record", err.msg);
	r.status = JR_RUN_SUCCEEDED;
	r.exit_code = 0;
	r.finished_ms = jr_now_ms();
	if (jr_store_run_finish(st, &r, &err) < 0)
		die("finish", err.msg);
}

/* What `jobrunner run` of one job does with the store, connection and all. */
static void do_session(struct jr_store *unused, const char *path)
{
	char *argv[] = {"jobrunner", "run", "bench"};
	struct jr_err err = JR_ERR_INIT;
	struct jr_store *st = open_store(path);
	int64_t inv;

	(void)unused;
	if (jr_store_invocation_begin(st, 3, argv, &inv, &err) < 0)
		die("invocation", err.msg);
	do_record(st, NULL);
	if (jr_store_invocation_end(st, inv, 0, &err) < 0)
		die("invocation end", err.msg);
	jr_store_close(st);
}

static int report(const char *what, double small, double big, const char *names, double target)
{
	double ratio = big / small;
	int ok = ratio <= target;

	printf("%-34s %s: %9.1f us %9.1f us  ratio %.2f (target <= %.1f) %s\n", what, names, small,
	       big, ratio, target, ok ? "ok" : "MISSED");
	return ok ? 0 : 1;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char dir[256], *big, *small, *empty, *files[3], big_mid[JR_RUN_ID_LEN + 1],
	    small_mid[JR_RUN_ID_LEN + 1], big_pfx[16], small_pfx[16];
	long nbig = 1000000;
	struct jr_store *sb, *ss, *se;
	double t0, a, b;
	int missed = 0, i;
	const char *ext[] = {"", "-wal", "-shm"};

	if (getenv("BENCH_STORE_RUNS"))
		nbig = atol(getenv("BENCH_STORE_RUNS"));
	snprintf(dir, sizeof(dir), "%s/jr-bench-store-XXXXXX", tmp);
	if (!mkdtemp(dir))
		die(dir, strerror(errno));
	big = jr_xasprintf("%s/big.db", dir);
	small = jr_xasprintf("%s/small.db", dir);
	empty = jr_xasprintf("%s/empty.db", dir);
	files[0] = big;
	files[1] = small;
	files[2] = empty;

	t0 = now_us();
	populate(big, nbig, 300, big_mid);
	printf("populated %ld runs (300 jobs) in %.1f s\n", nbig, (now_us() - t0) / 1e6);
	fflush(stdout);
	/* Fewer jobs, so that a job has 20 runs to show here too. */
	populate(small, 1000, 30, small_mid);
	jr_store_close(open_store(empty));
	/* A unique prefix: the ms part and a digit of the counter. */
	snprintf(big_pfx, sizeof(big_pfx), "%.13s", big_mid);
	snprintf(small_pfx, sizeof(small_pfx), "%.13s", small_mid);

	for (i = 0; i < 3; i++)
		flush_file(files[i]);
	sync();

	sb = open_store(big);
	ss = open_store(small);
	se = open_store(empty);
	best_of2(do_history, ss, "job023", sb, "job023", 9, 200, &a, &b);
	missed += report("history JOB -n 20", a, b, "1k vs 1M", 1.5);
	best_of2(do_show, ss, small_pfx, sb, big_pfx, 9, 500, &a, &b);
	missed += report("show PREFIX (lookup + signals)", a, b, "1k vs 1M", 1.5);
	best_of2(do_record, se, NULL, sb, NULL, 9, 50, &a, &b);
	missed += report("reconcile + insert + finish", a, b, "0 vs 1M", 1.2);
	jr_store_close(sb);
	jr_store_close(ss);
	jr_store_close(se);
	best_of2(do_session, NULL, empty, NULL, big, 7, 10, &a, &b);
	missed += report("one-job session (open..close)", a, b, "0 vs 1M", 1.2);

	for (i = 0; i < 3; i++) {
		size_t k;

		if (getenv("BENCH_STORE_KEEP")) {
			printf("kept %s\n", files[i]);
			free(files[i]);
			continue;
		}
		for (k = 0; k < JR_ARRAY_SIZE(ext); k++) {
			char *f = jr_xasprintf("%s%s", files[i], ext[k]);

			unlink(f);
			free(f);
		}
		free(files[i]);
	}
	rmdir(dir);
	printf("bench_store: %s\n", missed ? "target MISSED" : "all targets met");
	return missed ? 1 : 0;
}
