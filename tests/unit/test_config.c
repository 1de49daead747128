/* Unit tests for config.c: lookup order, relative paths, every key, every
 * error with file:line, inih quirks, trust refusals. Real files in a
 * temporary directory; the process chdirs into it and back. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
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

#include "config.h"
#include "util.h"

static char tmpdir[PATH_MAX];
static char oldcwd[PATH_MAX];

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static int setup(void **state)
{
	(void)state;
	assert_non_null(getcwd(oldcwd, sizeof(oldcwd)));
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/jr-test-config-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	assert_int_equal(chdir(tmpdir), 0);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	assert_int_equal(chdir(oldcwd), 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	/* test cleanup only: tmpdir is ours and has no quote */
	assert_int_equal(WEXITSTATUS(system(cmd)), 0);
	return 0;
}

/* Parses text expecting success. */
static void load_ok(struct jr_config *cfg, const char *text)
{
	struct jr_err err = JR_ERR_INIT;
	int rc = jr_config_load_buffer(cfg, "t.ini", text, strlen(text), "/base", &err);

	if (rc != 0)
		fail_msg("unexpected error: %s", err.msg);
}

/* Parses text expecting an error equal to want. */
static void load_err(const char *text, const char *want)
{
	struct jr_config cfg;
	struct jr_err err = JR_ERR_INIT;
	int rc = jr_config_load_buffer(&cfg, "t.ini", text, strlen(text), "/base", &err);

	if (rc == 0) {
		jr_config_release(&cfg);
		fail_msg("accepted, expected error %s", want);
	}
	if (strcmp(err.msg, want) != 0)
		fail_msg("got error\n  %s\nwanted\n  %s", err.msg, want);
	assert_null(cfg.jobs_dir); /* released */
}

static void test_defaults(void **state)
{
	struct jr_config cfg;

	(void)state;
	load_ok(&cfg, "");
	assert_null(cfg.path);
	assert_string_equal(cfg.jobs_dir, "/base/jobs.d");
	assert_string_equal(cfg.database, "/base/db/jobrunner.db");
	assert_string_equal(cfg.log_dir, "/base/db/logs");
	assert_string_equal(cfg.image_dir, "/base/db/images");
	assert_int_equal(cfg.parallel, 2);
	assert_false(cfg.sync_full);
	assert_int_equal(cfg.nbackends, 1);
	assert_string_equal(cfg.backends[0], "local");
	assert_null(cfg.backends[1]);
	assert_int_equal(cfg.nlocal_tags, 0);
	assert_string_equal(cfg.container_runtime, "bwrap");
	assert_int_equal(cfg.cache_max_size, (uint64_t)10 << 30);
	assert_int_equal(cfg.cache_max_age_ms, (int64_t)30 * 86400 * 1000);
	assert_null(cfg.slurm_partition);
	jr_config_release(&cfg);
	jr_config_release(&cfg); /* reusable, idempotent */
}

/* The example of DESIGN.md, inline comments included. */
static void test_every_key(void **state)
{
	struct jr_config cfg;

	(void)state;
	load_ok(&cfg, "; a comment\n"
		      "# another\n"
		      "[jobrunner]\n"
		      "jobs_dir = jobs.d            ; where job files are\n"
		      "database = /var/lib/jr/x.db  ; the SQLite file\n"
		      "log_dir  = ./logs/           ; per run\n"
		      "parallel = 16                ; default -j\n"
		      "backends = none, local ,container,slurm   ; order\n"
		      "synchronous = full\n"
		      "\n"
		      "[local]\n"
		      "tags = gpu, big-mem ssd os:v1.2_x\n"
		      "[container]\n"
		      "runtime   = /usr/bin/bwrap\n"
		      "image_dir = ../images\n"
		      "cache_max_size = 512M\n"
		      "cache_max_age  = 1d\n"
		      "[slurm]\n"
		      "partition = debug\n");
	assert_string_equal(cfg.jobs_dir, "/base/jobs.d");
	assert_string_equal(cfg.database, "/var/lib/jr/x.db");
	assert_string_equal(cfg.log_dir, "/base/logs/");
	assert_int_equal(cfg.parallel, 16);
	assert_true(cfg.sync_full);
	assert_int_equal(cfg.nbackends, 4);
	assert_string_equal(cfg.backends[0], "none");
	assert_string_equal(cfg.backends[1], "local");
	assert_string_equal(cfg.backends[2], "container");
	assert_string_equal(cfg.backends[3], "slurm");
	assert_null(cfg.backends[4]);
	assert_int_equal(cfg.nlocal_tags, 4);
	assert_string_equal(cfg.local_tags[0], "gpu");
	assert_string_equal(cfg.local_tags[1], "big-mem");
	assert_string_equal(cfg.local_tags[2], "ssd");
	assert_string_equal(cfg.local_tags[3], "os:v1.2_x");
	assert_null(cfg.local_tags[4]);
	assert_string_equal(cfg.container_runtime, "/usr/bin/bwrap");
	assert_string_equal(cfg.image_dir, "/base/../images");
	assert_int_equal(cfg.cache_max_size, (uint64_t)512 << 20);
	assert_int_equal(cfg.cache_max_age_ms, 86400 * 1000);
	assert_string_equal(cfg.slurm_partition, "debug");
	jr_config_release(&cfg);

	load_ok(&cfg, "[jobrunner]\nsynchronous=normal\nparallel=1\n[container]\ncache_max_size=0\n"
		      "cache_max_age=0\n");
	assert_false(cfg.sync_full);
	assert_int_equal(cfg.parallel, 1);
	assert_int_equal(cfg.cache_max_size, 0);
	assert_int_equal(cfg.cache_max_age_ms, 0);
	jr_config_release(&cfg);

	load_ok(&cfg, "[jobrunner]\nparallel: 1024\n"); /* configparser's ':' */
	assert_int_equal(cfg.parallel, 1024);
	jr_config_release(&cfg);
}

/* What libinih 55 as built by Debian does, pinned down. */
static void test_inih_quirks(void **state)
{
	struct jr_config cfg;

	(void)state;
	/* BOM, CRLF, spaces around section names and keys. */
	load_ok(&cfg, "\xef\xbb\xbf[jobrunner]\r\n  parallel = 3 \r\n");
	/* the indented first key: no previous key, so not a continuation */
	assert_int_equal(cfg.parallel, 3);
	jr_config_release(&cfg);

	/* Multi-line list values: indented lines continue backends/tags. */
	load_ok(&cfg, "[jobrunner]\nbackends = local,\n    none ; trailing\n  ; comment line\n"
		      "[local]\ntags = a\n\tb c\n");
	assert_int_equal(cfg.nbackends, 2);
	assert_string_equal(cfg.backends[1], "none");
	assert_int_equal(cfg.nlocal_tags, 3);
	assert_string_equal(cfg.local_tags[2], "c");
	jr_config_release(&cfg);

	/* ';' only starts an inline comment after whitespace, '#' never does. */
	load_err("[slurm]\npartition = a;b\n[jobrunner]\nparallel = 2 # two\n",
		 "t.ini:4: parallel: expected an integer from 1 to 1024, got '2 # two'");
	load_ok(&cfg, "[slurm]\npartition = a;b\n");
	assert_string_equal(cfg.slurm_partition, "a;b");
	jr_config_release(&cfg);

	/* the example of jobrunner.ini(5) */
	load_ok(&cfg, "[local]\ntags = gpu,\n    ssd       ; fast disk\n    rack:b4\n");
	assert_int_equal(cfg.nlocal_tags, 3);
	assert_string_equal(cfg.local_tags[1], "ssd");
	assert_string_equal(cfg.local_tags[2], "rack:b4");
	jr_config_release(&cfg);

	/* A value may be empty for lists. */
	load_ok(&cfg, "[local]\ntags =\n");
	assert_int_equal(cfg.nlocal_tags, 0);
	jr_config_release(&cfg);
}

static void test_errors(void **state)
{
	char buf[400];

	(void)state;
	load_err("[jobrunner]\nparallel = abc\n",
		 "t.ini:2: parallel: expected an integer from 1 to 1024, got 'abc'");
	load_err("[jobrunner]\nparallel = 0\n",
		 "t.ini:2: parallel: expected an integer from 1 to 1024, got '0'");
	load_err("[jobrunner]\nparallel = 1025\n",
		 "t.ini:2: parallel: expected an integer from 1 to 1024, got '1025'");
	load_err("[jobrunner]\nparallel = -1\n",
		 "t.ini:2: parallel: expected an integer from 1 to 1024, got '-1'");
	load_err("[jobrunner]\nparallel =\n",
		 "t.ini:2: parallel: expected an integer from 1 to 1024, got ''");
	load_err("\n[jobrunner]\nsynchronous = FULL\n",
		 "t.ini:3: synchronous: expected 'normal' or 'full', got 'FULL'");
	load_err("[jobrunner]\njobs_dir =\n", "t.ini:2: jobs_dir: expected a path, got an empty value");
	load_err("[jobrunner]\ndatabase = ; nothing\n",
		 "t.ini:2: database: expected a path, got an empty value");
	load_err("[jobrunner]\nlog_dir=\n", "t.ini:2: log_dir: expected a path, got an empty value");
	load_err("[container]\nimage_dir=\n",
		 "t.ini:2: image_dir: expected a path, got an empty value");
	load_err("[jobrunner]\nbackends = local, docker\n",
		 "t.ini:2: backends: unknown backend 'docker' (known: local, container, slurm, none)");
	load_err("[jobrunner]\nbackends = local, local\n",
		 "t.ini:2: backends: 'local' is listed twice");
	load_err("[jobrunner]\nbackends = ,\n",
		 "t.ini:2: backends: expected a list of backend names, got an empty value");
	load_err("[local]\ntags = ok bad/tag\n",
		 "t.ini:2: tags: invalid tag 'bad/tag' (expected letters, digits and _ . : -, at most 64)");
	load_err("[local]\ntags = a a\n", "t.ini:2: tags: 'a' is listed twice");
	load_err("[container]\nruntime = \n",
		 "t.ini:2: runtime: expected a program name or path, got ''");
	load_err("[container]\nruntime = bw rap\n",
		 "t.ini:2: runtime: expected a program name or path, got 'bw rap'");
	load_err("[container]\ncache_max_size = 10X\n",
		 "t.ini:2: cache_max_size: expected a size (512, 64K, 10M, 2G, 1T; 0 for no limit), got '10X'");
	load_err("[container]\ncache_max_age = soon\n",
		 "t.ini:2: cache_max_age: expected a duration (90s, 15m, 2h, 30d; 0 for no limit), got 'soon'");
	load_err("[slurm]\npartition =\n", "t.ini:2: partition: expected a partition name, got ''");

	/* unknown keys and sections, with and without a suggestion */
	load_err("[jobrunner]\n\nparalel = 2\n",
		 "t.ini:3: unknown key 'paralel' in [jobrunner] (did you mean 'parallel'?)");
	load_err("[container]\nimagedir = x\n",
		 "t.ini:2: unknown key 'imagedir' in [container] (did you mean 'image_dir'?)");
	load_err("[local]\ncolour = blue\n", "t.ini:2: unknown key 'colour' in [local]");
	load_err("[jobrunner]\nparallel = 2\n[contaner]\n",
		 "t.ini:3: unknown section [contaner] (did you mean [container]?)");
	load_err("[jobrunner]\n[weird]\nx = 1\n",
		 "t.ini:2: unknown section [weird] (known: [jobrunner], [local], [container], [slurm])");
	load_err("parallel = 2\n",
		 "t.ini:1: key 'parallel' outside of any section (expected [jobrunner] first)");

	/* duplicates, syntax, continuations */
	load_err("[jobrunner]\nparallel = 2\n[local]\n[jobrunner]\nparallel = 3\n",
		 "t.ini:5: duplicate key 'parallel' in [jobrunner] (first set at line 2)");
	load_err("[jobrunner]\nparallel = 2\njust words\n",
		 "t.ini:3: syntax error: expected '[section]', 'key = value' or a comment");
	load_err("[jobrunner\nparallel = 2\n",
		 "t.ini:1: syntax error: expected '[section]', 'key = value' or a comment");
	load_err("[jobrunner]\nnoise\nparalel = 2\n",
		 "t.ini:2: syntax error: expected '[section]', 'key = value' or a comment");
	load_err("[jobrunner]\nparallel = 2\n  4\n",
		 "t.ini:3: indented line continues the value of 'parallel', which takes one line only (remove the leading whitespace)");
	load_err("[jobrunner]\nbackends = local\n  [local]\n",
		 "t.ini:3: backends: unknown backend '[local]' (known: local, container, slurm, none)");
	load_err("[jobrunner]\nbackends = local\n  parallel = 4\n",
		 "t.ini:3: indented line is read as a continuation of 'backends' (remove the leading whitespace)");

	/* lines inih would split in two */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "[slurm]\npartition = ", 20);
	buf[sizeof(buf) - 1] = '\0';
	load_err(buf, "t.ini:2: line too long (at most 197 characters)");
	/* exactly at the limit, with LF or CRLF */
	{
		struct jr_config cfg;
		char line[256];

		memset(line, 'b', sizeof(line));
		memcpy(line, "[slurm]\npartition = ", 20);
		memcpy(line + 8 + 197, "\r\n", 3);
		load_ok(&cfg, line);
		assert_int_equal(strlen(cfg.slurm_partition), 197 - 12);
		jr_config_release(&cfg);
		memcpy(line + 8 + 197, "\n", 2);
		load_ok(&cfg, line);
		jr_config_release(&cfg);
		memcpy(line + 8 + 197, "b\n", 3);
		load_err(line, "t.ini:2: line too long (at most 197 characters)");
	}
}

static void test_nul_in_buffer(void **state)
{
	struct jr_config cfg;
	struct jr_err err = JR_ERR_INIT;
	static const char text[] = "[jobrunner]\npar\0allel = 2\n";

	(void)state;
	assert_int_equal(jr_config_load_buffer(&cfg, "n.ini", text, sizeof(text) - 1, "/", &err),
			 -1);
	assert_string_equal(err.msg, "n.ini:2: NUL byte in the file");
}

static void test_root_dir_paths(void **state)
{
	struct jr_config cfg;
	struct jr_err err = JR_ERR_INIT;
	static const char text[] = "[jobrunner]\njobs_dir = .\ndatabase = x.db\n";

	(void)state;
	assert_int_equal(jr_config_load_buffer(&cfg, "r.ini", text, sizeof(text) - 1, "/", &err), 0);
	assert_string_equal(cfg.jobs_dir, "/");
	assert_string_equal(cfg.database, "/x.db");
	jr_config_release(&cfg);
}

/* Lookup order: -c, ./jobrunner.ini, $XDG_CONFIG_HOME, ~/.config, defaults. */
static void test_lookup_order(void **state)
{
	struct jr_config cfg;
	struct jr_err err = JR_ERR_INIT;
	char p[PATH_MAX * 2], want[PATH_MAX * 2];

	(void)state;
	if (access("/etc/jobrunner/jobrunner.ini", F_OK) == 0)
		skip();
	assert_int_equal(mkdir("home", 0700), 0);
	assert_int_equal(mkdir("home/.config", 0700), 0);
	assert_int_equal(mkdir("home/.config/jobrunner", 0700), 0);
	assert_int_equal(mkdir("xdg", 0700), 0);
	assert_int_equal(mkdir("xdg/jobrunner", 0700), 0);
	assert_int_equal(mkdir("work", 0700), 0);
	assert_int_equal(mkdir("other", 0700), 0);
	write_file("home/.config/jobrunner/jobrunner.ini", "[jobrunner]\nparallel = 4\n", 0600);
	write_file("xdg/jobrunner/jobrunner.ini", "[jobrunner]\nparallel = 5\n", 0644);
	write_file("work/jobrunner.ini", "[jobrunner]\nparallel = 6\n", 0600);
	write_file("other/x.ini", "[jobrunner]\nparallel = 7\njobs_dir = j\n", 0600);

	snprintf(p, sizeof(p), "%s/home", tmpdir);
	setenv("HOME", p, 1);
	snprintf(p, sizeof(p), "%s/xdg", tmpdir);
	setenv("XDG_CONFIG_HOME", p, 1);
	assert_int_equal(chdir("work"), 0);

	/* explicit wins, relative to the cwd, paths relative to its dir */
	assert_int_equal(jr_config_load(&cfg, "../other/x.ini", &err), 0);
	assert_int_equal(cfg.parallel, 7);
	snprintf(want, sizeof(want), "%s/work/../other/x.ini", tmpdir);
	assert_string_equal(cfg.path, want);
	snprintf(want, sizeof(want), "%s/work/../other/j", tmpdir);
	assert_string_equal(cfg.jobs_dir, want);
	snprintf(want, sizeof(want), "%s/work/../other/db/jobrunner.db", tmpdir);
	assert_string_equal(cfg.database, want);
	jr_config_release(&cfg);

	/* explicit that does not exist: an error, no fallback */
	assert_int_equal(jr_config_load(&cfg, "missing.ini", &err), -1);
	assert_string_equal(err.msg, "missing.ini: No such file or directory");
	assert_int_equal(jr_config_load(&cfg, "", &err), -1);

	/* ./jobrunner.ini */
	assert_int_equal(jr_config_load(&cfg, NULL, &err), 0);
	assert_int_equal(cfg.parallel, 6);
	snprintf(want, sizeof(want), "%s/work/jobrunner.ini", tmpdir);
	assert_string_equal(cfg.path, want);
	snprintf(want, sizeof(want), "%s/work/jobs.d", tmpdir);
	assert_string_equal(cfg.jobs_dir, want);
	jr_config_release(&cfg);

	/* $XDG_CONFIG_HOME/jobrunner/jobrunner.ini */
	assert_int_equal(unlink("jobrunner.ini"), 0);
	assert_int_equal(jr_config_load(&cfg, NULL, &err), 0);
	assert_int_equal(cfg.parallel, 5);
	snprintf(want, sizeof(want), "%s/xdg/jobrunner/db/logs", tmpdir);
	assert_string_equal(cfg.log_dir, want);
	jr_config_release(&cfg);

	/* XDG_CONFIG_HOME unset (or relative): ~/.config */
	setenv("XDG_CONFIG_HOME", "relative/ignored", 1);
	assert_int_equal(jr_config_load(&cfg, NULL, &err), 0);
	assert_int_equal(cfg.parallel, 4);
	jr_config_release(&cfg);
	unsetenv("XDG_CONFIG_HOME");
	assert_int_equal(jr_config_load(&cfg, NULL, &err), 0);
	assert_int_equal(cfg.parallel, 4);
	snprintf(want, sizeof(want), "%s/home/.config/jobrunner/jobrunner.ini", tmpdir);
	assert_string_equal(cfg.path, want);
	jr_config_release(&cfg);

	/* nothing anywhere: defaults relative to the cwd */
	snprintf(p, sizeof(p), "%s/nohome", tmpdir);
	setenv("HOME", p, 1);
	assert_int_equal(jr_config_load(&cfg, NULL, &err), 0);
	assert_null(cfg.path);
	assert_int_equal(cfg.parallel, 2);
	snprintf(want, sizeof(want), "%s/work/jobs.d", tmpdir);
	assert_string_equal(cfg.jobs_dir, want);
	snprintf(want, sizeof(want), "%s/work/db/images", tmpdir);
	assert_string_equal(cfg.image_dir, want);
	jr_config_release(&cfg);

	/* a bad file found on the way is an error, not skipped */
	write_file("jobrunner.ini", "[jobrunner]\nparallel = many\n", 0600);
	assert_int_equal(jr_config_load(&cfg, NULL, &err), -1);
	assert_string_equal(err.msg,
			    "jobrunner.ini:2: parallel: expected an integer from 1 to 1024, got 'many'");
	write_file("jobrunner.ini", "[jobrunner]\n", 0620);
	assert_int_equal(jr_config_load(&cfg, NULL, &err), -1);
	assert_non_null(strstr(err.msg, "jobrunner.ini: is writable by its group"));
	assert_int_equal(chdir(".."), 0);
}

static void expect_refused(const char *path, const char *fragment)
{
	struct jr_config cfg;
	struct jr_err err = JR_ERR_INIT;

	assert_int_equal(jr_config_load(&cfg, path, &err), -1);
	if (!strstr(err.msg, fragment))
		fail_msg("error '%s' lacks '%s'", err.msg, fragment);
	assert_null(cfg.jobs_dir);
}

static void test_trust(void **state)
{
	struct jr_config cfg;
	struct jr_err err = JR_ERR_INIT;
	const char *text = "[jobrunner]\nparallel = 3\n";

	(void)state;
	write_file("gw.ini", text, 0620);
	expect_refused("gw.ini", "gw.ini: is writable by its group (mode 0620); refusing");
	write_file("ww.ini", text, 0602);
	expect_refused("ww.ini", "ww.ini: is writable by everyone");

	write_file("hl.ini", text, 0600);
	assert_int_equal(link("hl.ini", "hl2.ini"), 0);
	expect_refused("hl.ini", "hl.ini: has 2 hard links; refusing to trust it");
	unlink("hl2.ini");

	assert_int_equal(mkfifo("fifo.ini", 0600), 0);
	expect_refused("fifo.ini", "fifo.ini: not a regular file");
	assert_int_equal(mkdir("dir.ini", 0700), 0);
	expect_refused("dir.ini", "dir.ini: not a regular file");

	/* a symlink is followed; the target is what is judged */
	assert_int_equal(symlink("gw.ini", "sl-bad.ini"), 0);
	expect_refused("sl-bad.ini", "sl-bad.ini: is writable by its group");
	write_file("good.ini", text, 0644);
	assert_int_equal(symlink("good.ini", "sl-good.ini"), 0);
	assert_int_equal(jr_config_load(&cfg, "sl-good.ini", &err), 0);
	assert_int_equal(cfg.parallel, 3);
	jr_config_release(&cfg);

	/* owned by someone else (only testable as root: chown needs it) */
	if (geteuid() == 0) {
		write_file("other.ini", text, 0644);
		assert_int_equal(chown("other.ini", 65534, 65534), 0);
		expect_refused("other.ini", "other.ini: is owned by uid 65534");
	}
	/* too big */
	{
		char *big = jr_xmalloc(1024 * 1024 + 10);

		memset(big, ';', 1024 * 1024 + 9);
		big[1024 * 1024 + 9] = '\0';
		write_file("big.ini", big, 0600);
		free(big);
		expect_refused("big.ini", "big.ini");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_inih_quirks),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nul_in_buffer),
		cmocka_unit_test(test_root_dir_paths),
		cmocka_unit_test(test_lookup_order),
		cmocka_unit_test(test_trust),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
