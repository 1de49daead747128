/* Unit tests for the job-file loader: every key and default, errors (the
 * malformed corpus in tests/jobfiles/bad/ included), trust checks, limits,
 * canonical JSON and hash stability, redaction. Run from the source tree's
 * top directory (tests/run.sh does). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "jobfile.h"
#include "util.h"

struct fixture {
	struct jr_jobset set;
	struct jr_diags d;
	char dir[64];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	snprintf(f->dir, sizeof(f->dir), "/tmp/jr-jobfile.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	DIR *dp = opendir(f->dir);
	struct dirent *de;
	char p[512];

	while (dp && (de = readdir(dp))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
			unlink(p);
		}
	}
	if (dp)
		closedir(dp);
	rmdir(f->dir);
	jr_jobset_release(&f->set);
	jr_diags_release(&f->d);
	free(f);
	return 0;
}

static void reset(struct fixture *f)
{
	jr_jobset_release(&f->set);
	jr_diags_release(&f->d);
}

static int load(struct fixture *f, const char *yaml)
{
	reset(f);
	return jr_jobset_load_buffer(&f->set, "t.yaml", yaml, strlen(yaml), "/base", &f->d);
}

static void dump(const struct fixture *f)
{
	size_t i;

	for (i = 0; i < f->d.n; i++)
		print_message("  diag: %s\n", f->d.msg[i]);
}

/* Some diagnostic names line (or any line when 0) and contains fragment. */
static bool has_diag(const struct fixture *f, int line, const char *fragment)
{
	char pat[32];
	size_t i;

	snprintf(pat, sizeof(pat), ":%d:", line);
	for (i = 0; i < f->d.n; i++)
		if ((line == 0 || strstr(f->d.msg[i], pat)) && strstr(f->d.msg[i], fragment))
			return true;
	return false;
}

#define assert_diag(f, line, frag)                                                                 \
	do {                                                                                       \
		if (!has_diag(f, line, frag)) {                                                    \
			dump(f);                                                                   \
			fail_msg("no diagnostic at line %d with '%s'", line, frag);                \
		}                                                                                  \
	} while (0)

static void load_ok(struct fixture *f, const char *yaml)
{
	if (load(f, yaml) != 0) {
		dump(f);
		fail_msg("expected the job file to load");
	}
	assert_int_equal(f->d.n, 0);
}

static void write_file(const char *path, const char *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_defaults(void **state)
{
	struct fixture *f = *state;
	struct jr_job *j;
	size_t i;

	load_ok(f, "name: hello\ncommand: [echo, hi]\n");
	assert_int_equal(f->set.n, 1);
	j = f->set.jobs[0];
	assert_string_equal(j->name, "hello");
	assert_null(j->description);
	assert_int_equal(j->command.n, 2);
	assert_string_equal(j->command.v[0], "echo");
	assert_string_equal(j->command.v[1], "hi");
	assert_null(j->command.v[2]);
	assert_null(j->shell);
	assert_string_equal(j->cwd, "/base");
	assert_int_equal(j->umask, 0022);
	assert_null(j->user);
	assert_null(j->group);
	assert_false(j->env_inherit_all);
	assert_true(j->env_inherit_default);
	assert_int_equal(j->env_inherit.n, 7);
	assert_string_equal(j->env_inherit.v[0], "PATH");
	assert_int_equal(j->nenv_set, 0);
	assert_int_equal(j->env_secret.n, 0);
	assert_int_equal(j->in.kind, JR_IO_NULL);
	assert_int_equal(j->out.kind, JR_IO_LOG);
	assert_int_equal(j->err.kind, JR_IO_LOG);
	assert_int_equal(j->nfds, 0);
	assert_int_equal(j->timeout_ms, 0);
	assert_int_equal(j->kill_grace_ms, 10000);
	assert_int_equal(j->retry.count, 0);
	assert_int_equal(j->retry.delay_ms, 0);
	assert_true(j->retry.backoff == 1.0);
	for (i = 0; i < JR_LIMIT_COUNT; i++)
		assert_false(j->limit_set[i]);
	assert_int_equal(j->concurrency, JR_CONC_FORBID);
	assert_int_equal(j->needs.n, 0);
	assert_null(j->schedule);
	assert_int_equal(j->tags.n, 0);
	assert_int_equal(j->backends.n, 0);
	assert_int_equal(j->ntargets, 1);
	assert_int_equal(j->targets[0].nfacts, 0);
	assert_int_equal(j->targets[0].tags.n, 0);
	assert_null(j->image);
	assert_null(j->slurm.partition);
	assert_int_equal(j->slurm.cpus, 0);
	assert_int_equal(j->non_failure, 0);
	assert_int_equal(j->non_success, 0);
	assert_string_equal(j->source_file, "t.yaml");
	assert_int_equal(j->source_line, 1);
	assert_int_equal(strlen(j->hash), 64);
	assert_non_null(strstr(j->canonical_json, "\"umask\":\"0022\""));
	assert_non_null(strstr(j->canonical_json, "\"kill_grace_ms\":10000"));
	assert_ptr_equal(jr_jobset_find(&f->set, "hello"), j);
	assert_null(jr_jobset_find(&f->set, "nope"));
	assert_int_equal(jr_jobset_check(&f->set, &f->d), 0);
}

static void test_full_file(void **state)
{
	struct fixture *f = *state;
	struct jr_job *j;

	reset(f);
	if (jr_jobset_load_file(&f->set, "tests/jobfiles/good/full.yaml", "/jobs", &f->d) != 0) {
		dump(f);
		fail();
	}
	assert_int_equal(f->set.n, 1);
	j = f->set.jobs[0];
	assert_string_equal(j->name, "full-example");
	assert_string_equal(j->description, "exercises every key");
	assert_int_equal(j->command.n, 3);
	assert_string_equal(j->command.v[2], "world");
	assert_string_equal(j->cwd, "/jobs/work");
	assert_int_equal(j->umask, 0027);
	assert_string_equal(j->user, "nobody");
	assert_string_equal(j->group, "nogroup");
	assert_false(j->env_inherit_default);
	assert_false(j->env_inherit_all);
	assert_int_equal(j->env_inherit.n, 2);
	assert_string_equal(j->env_inherit.v[1], "HOME");
	assert_int_equal(j->nenv_set, 3);
	assert_string_equal(j->env_set[0].key, "GREETING"); /* sorted */
	assert_string_equal(j->env_set[1].key, "N");
	assert_string_equal(j->env_set[1].value, "1");
	assert_string_equal(j->env_set[2].value, "s3cret");
	assert_int_equal(j->env_secret.n, 1);
	assert_int_equal(j->in.kind, JR_IO_DATA);
	assert_int_equal(j->in.data_len, 9);
	assert_string_equal(j->in.data, "line one\n");
	assert_int_equal(j->out.kind, JR_IO_FILE);
	assert_string_equal(j->out.path, "/jobs/logs/out.txt");
	assert_true(j->out.append);
	assert_int_equal(j->err.kind, JR_IO_STDOUT);
	assert_int_equal(j->nfds, 2);
	assert_int_equal(j->fds[0].fd, 3);
	assert_string_equal(j->fds[0].path, "/jobs/input.txt");
	assert_int_equal(j->fds[0].mode, JR_FD_READ);
	assert_int_equal(j->fds[1].mode, JR_FD_APPEND);
	assert_string_equal(j->fds[1].path, "/tmp/extra.log");
	assert_int_equal(j->timeout_ms, 5400000);
	assert_int_equal(j->kill_grace_ms, 5000);
	assert_int_equal(j->retry.count, 3);
	assert_int_equal(j->retry.delay_ms, 10000);
	assert_true(j->retry.backoff == 2.0);
	assert_int_equal(j->limit[JR_LIMIT_NOFILE], 1024);
	assert_true(j->limit[JR_LIMIT_NPROC] == JR_LIMIT_UNLIMITED);
	assert_int_equal(j->limit[JR_LIMIT_CPU], 3600);
	assert_true(j->limit[JR_LIMIT_AS] == 2ULL << 30);
	assert_int_equal(j->limit[JR_LIMIT_FSIZE], 100 << 20);
	assert_true(j->limit_set[JR_LIMIT_CORE]);
	assert_int_equal(j->limit[JR_LIMIT_CORE], 0);
	assert_int_equal(j->concurrency, JR_CONC_QUEUE);
	assert_int_equal(j->needs.n, 1);
	assert_string_equal(j->schedule, "0 3 * * mon-fri");
	assert_int_equal(j->cron.dow, 0x3e);
	assert_int_equal(j->tags.n, 2);
	assert_int_equal(j->backends.n, 2);
	assert_string_equal(j->backends.v[0], "container");
	assert_int_equal(j->ntargets, 2);
	assert_int_equal(j->targets[0].nfacts, 2);
	assert_string_equal(j->targets[0].facts[0].key, "arch");
	assert_string_equal(j->targets[0].facts[1].value, "debian");
	assert_int_equal(j->targets[1].tags.n, 1);
	assert_string_equal(j->targets[1].tags.v[0], "gpu");
	assert_non_null(j->image);
	assert_string_equal(j->image->base_rootfs, "/jobs/images/bookworm.tar");
	assert_null(j->image->base_dir);
	assert_int_equal(j->image->nprovides, 2);
	assert_int_equal(j->image->nsetup, 1);
	assert_string_equal(j->image->setup[0].v[0], "apt-get");
	assert_int_equal(j->image->nmounts, 2);
	assert_string_equal(j->image->mounts[0].source, "/jobs/data");
	assert_string_equal(j->image->mounts[0].target, "/data");
	assert_true(j->image->mounts[0].readonly);
	assert_false(j->image->mounts[1].readonly);
	assert_string_equal(j->slurm.partition, "batch");
	assert_int_equal(j->slurm.cpus, 4);
	assert_string_equal(j->slurm.mem, "8G");
	assert_int_equal(j->slurm.time_ms, 7200000);
	assert_string_equal(j->slurm.constraint, "avx2");
	assert_string_equal(j->slurm.account, "proj1");
	assert_int_equal(j->non_failure, 1);
	assert_string_equal(j->on_failure[0].v[1], "job failed");
	assert_int_equal(j->non_success, 1);
	/* secrets never reach the canonical form */
	assert_null(strstr(j->canonical_json, "s3cret"));
	assert_non_null(strstr(j->canonical_json, "\"TOKEN\":\"***\""));
	/* "prepare" is not in this file */
	assert_int_equal(jr_jobset_check(&f->set, &f->d), -1);
	assert_diag(f, 24, "needs: unknown job 'prepare'");
}

static void test_variants(void **state)
{
	struct fixture *f = *state;
	struct jr_job *j;

	load_ok(f, "name: s\nshell: 'echo $HOME'\nenv: {inherit: all}\nstdin: {file: in.txt}\n"
		   "stdout: inherit\nstderr: {file: /var/log/x}\nretries: 4\numask: '077'\n"
		   "limits: {cpu: 90, as: unlimited, nofile: 10}\nconcurrency: allow\n"
		   "image: {base: {dir: rootfs}}\nuser: '1000'\ntargets: [{}, {os: linux}]\n");
	j = f->set.jobs[0];
	assert_string_equal(j->shell, "echo $HOME");
	assert_int_equal(j->command.n, 0);
	assert_true(j->env_inherit_all);
	assert_false(j->env_inherit_default);
	assert_int_equal(j->in.kind, JR_IO_FILE);
	assert_string_equal(j->in.path, "/base/in.txt");
	assert_int_equal(j->out.kind, JR_IO_INHERIT);
	assert_int_equal(j->err.kind, JR_IO_FILE);
	assert_false(j->err.append);
	assert_int_equal(j->retry.count, 4);
	assert_int_equal(j->umask, 077);
	assert_int_equal(j->limit[JR_LIMIT_CPU], 90);
	assert_true(j->limit[JR_LIMIT_AS] == JR_LIMIT_UNLIMITED);
	assert_int_equal(j->concurrency, JR_CONC_ALLOW);
	assert_string_equal(j->image->base_dir, "/base/rootfs");
	assert_string_equal(j->user, "1000");
	assert_int_equal(j->ntargets, 2);
	assert_int_equal(j->targets[1].nfacts, 1);

	load_ok(f, "name: n\ncommand: [x]\nstdout: null\nstderr: ~\nstdin: null\numask: 0022\n");
	j = f->set.jobs[0];
	assert_int_equal(j->out.kind, JR_IO_NULL);
	assert_int_equal(j->err.kind, JR_IO_NULL);
	assert_int_equal(j->in.kind, JR_IO_NULL);
	assert_int_equal(j->umask, 0022);

	/* absolute basedir from a relative one */
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "r.yaml",
					       "name: r\ncommand: [x]\ncwd: sub\n", 30, "rel",
					       &f->d),
			 0);
	assert_true(f->set.jobs[0]->cwd[0] == '/');
	assert_non_null(strstr(f->set.jobs[0]->cwd, "/rel/sub"));
}

static void test_multi_and_empty(void **state)
{
	struct fixture *f = *state;

	reset(f);
	assert_int_equal(
	    jr_jobset_load_file(&f->set, "tests/jobfiles/good/multi.yaml", "/j", &f->d), 0);
	assert_int_equal(f->set.n, 3);
	assert_string_equal(f->set.jobs[0]->name, "prepare");
	assert_string_equal(f->set.jobs[2]->name, "report");
	assert_int_equal(f->set.jobs[1]->source_line, 5);
	assert_int_equal(jr_jobset_check(&f->set, &f->d), 0);

	/* An empty file, or one with only comments, is valid and defines no jobs. */
	load_ok(f, "");
	assert_int_equal(f->set.n, 0);
	load_ok(f, "# nothing here yet\n\n   # indented comment\n");
	assert_int_equal(f->set.n, 0);
	load_ok(f, "---\n...\n");
	assert_int_equal(f->set.n, 0);
	load_ok(f, "jobs: []\n");
	assert_int_equal(f->set.n, 0);
	load_ok(f, "jobs:\n");
	assert_int_equal(f->set.n, 0);
	reset(f);
	assert_int_equal(
	    jr_jobset_load_file(&f->set, "tests/jobfiles/good/empty.yaml", "/j", &f->d), 0);
	assert_int_equal(f->set.n, 0);
	/* Files without jobs are files read all the same (validate counts them). */
	assert_int_equal(f->set.nfiles, 1);
	assert_int_equal(
	    jr_jobset_load_file(&f->set, "tests/jobfiles/good/multi.yaml", "/j", &f->d), 0);
	assert_int_equal(f->set.nfiles, 2);
	reset(f);
	assert_int_equal(f->set.nfiles, 0);
}

static void test_errors_collected(void **state)
{
	struct fixture *f = *state;

	/* Every problem of a file is reported, not just the first. */
	assert_int_equal(
	    load(f, "name: -bad\ncommand: []\ntimeout: soon\nconcurrency: never\n"
		    "fds: [{fd: 1, file: x}]\nbackends: [slurmm]\nschedule: '61 * * * *'\n"
		    "colour: red\n"),
	    -1);
	assert_int_equal(f->set.n, 0);
	assert_diag(f, 1, "not a valid job name");
	assert_diag(f, 2, "got an empty list");
	assert_diag(f, 3, "timeout: expected a duration");
	assert_diag(f, 4, "concurrency: expected forbid, allow or queue");
	assert_diag(f, 5, "expected an integer from 3 to 1024, got '1'");
	assert_diag(f, 6, "unknown backend 'slurmm'; did you mean 'slurm'?");
	assert_diag(f, 7, "minute: value 61");
	assert_diag(f, 8, "unknown key 'colour'");
	assert_true(f->d.n >= 8);
	/* messages are "file:line:col: ..." */
	assert_non_null(strstr(f->d.msg[0], "t.yaml:"));

	/* 'job:' for 'jobs:' gets one message, with the hint, not three about a
	 * job without a name or command. */
	assert_int_equal(load(f, "job:\n  - name: a\n    command: [x]\n"), -1);
	assert_diag(f, 1, "t.yaml:1:1: unknown key 'job' at the top of the file; did you "
			  "mean 'jobs'? (a list of jobs)");
	assert_int_equal(f->d.n, 1);
	assert_int_equal(load(f, "# two jobs\nJobs: [{name: a, command: [x]}]\n"), -1);
	assert_diag(f, 2, "unknown key 'Jobs' at the top of the file; did you mean 'jobs'?");
	assert_int_equal(f->d.n, 1);
	/* ... while a job's own typo keeps its hint, and a key near 'jobs'
	 * whose value is not a list is a job's unknown key. */
	assert_int_equal(load(f, "name: a\ncommand: [x]\ntag: [x]\n"), -1);
	assert_diag(f, 3, "unknown key 'tag' in job; did you mean 'tags'?");
	assert_int_equal(load(f, "name: a\ncommand: [x]\njob: x\n"), -1);
	assert_diag(f, 3, "unknown key 'job' in job");

	/* A bad job in a jobs: list does not hide the good ones' errors. */
	assert_int_equal(load(f,
			      "jobs:\n  - name: ok\n    command: [x]\n  - name: b\n    shell: 3\n"
			      "    command: [y]\n  - 42\n"),
			 -1);
	assert_int_equal(f->set.n, 1);
	assert_diag(f, 5, "not both");
	assert_diag(f, 7, "a job must be a mapping");
}

static void test_type_errors(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *yaml, *frag;
	} cases[] = {
	    {"name: [a]\ncommand: [x]\n", "name: expected a job name, got a list"},
	    {"name: a\ncommand: [x, null]\n", "command[1]: expected a string, got nothing"},
	    {"name: a\ncommand: [\"\"]\n", "program name is empty"},
	    {"name: a\nshell: ''\n", "shell: expected a command line"},
	    {"name: a\ncommand: [x]\nenv: [PATH]\n", "env: expected a mapping"},
	    {"name: a\ncommand: [x]\nenv: {inherit: some}\n", "env.inherit: expected a list"},
	    {"name: a\ncommand: [x]\nenv: {set: {A: [1]}}\n", "env.set.A: expected a string"},
	    {"name: a\ncommand: [x]\nenv: {secret: [1A]}\n", "not a variable name"},
	    {"name: a\ncommand: [x]\nenv: {set: {JOBRUNNER_JOB: x}}\n",
	     "t.yaml:3:13: env.set: JOBRUNNER_JOB is set by jobrunner; a job file cannot set it"},
	    {"name: a\ncommand: [x]\nenv: {set: {A: b, JOBRUNNER_RUN_ID: x}}\n",
	     "3:19: env.set: JOBRUNNER_RUN_ID is set by jobrunner"},
	    {"name: a\ncommand: [x]\nenv:\n  set:\n    JOBRUNNER_ATTEMPT: 1\n",
	     "5:5: env.set: JOBRUNNER_ATTEMPT is set by jobrunner"},
	    {"name: a\ncommand: [x]\nenv: {set: {JOBRUNNER_STATUS: ok}}\n",
	     "env.set: JOBRUNNER_STATUS is set by jobrunner"},
	    {"name: a\ncommand: [x]\nenv: {set: {JOBRUNNER_EXIT_CODE: '0'}}\n",
	     "env.set: JOBRUNNER_EXIT_CODE is set by jobrunner"},
	    {"name: a\ncommand: [x]\nenv: {inherit: [PATH, JOBRUNNER_JOB]}\n",
	     "3:23: env.inherit: JOBRUNNER_JOB is set by jobrunner; a job file cannot inherit it"},
	    {"name: a\ncommand: [x]\nstdin: {file: a, data: b}\n", "not both"},
	    {"name: a\ncommand: [x]\nstdin: log\n", "stdin: expected null"},
	    {"name: a\ncommand: [x]\nstderr: {append: true}\n", "stderr: missing 'file'"},
	    {"name: a\ncommand: [x]\nstdout: {file: x, append: maybe}\n",
	     "stdout.append: expected true or false"},
	    {"name: a\ncommand: [x]\nfds: [{file: x}]\n", "missing 'fd'"},
	    {"name: a\ncommand: [x]\nfds: [{fd: 3}]\n", "missing 'file'"},
	    {"name: a\ncommand: [x]\nfds: [{fd: 1025, file: x}]\n", "from 3 to 1024"},
	    {"name: a\ncommand: [x]\nretries: -1\n", "retries: expected an integer from 0 to 1000"},
	    {"name: a\ncommand: [x]\nretries: {delay: 5s}\n", "retries: missing 'count'"},
	    {"name: a\ncommand: [x]\nretries: {count: 1, delay: 5x}\n",
	     "retries.delay: expected a duration"},
	    {"name: a\ncommand: [x]\nlimits: {nofile: many}\n",
	     "limits.nofile: expected an integer"},
	    {"name: a\ncommand: [x]\nlimits: {cpu: 1500ms}\n",
	     "limits.cpu: expected whole seconds"},
	    {"name: a\ncommand: [x]\nlimits: {stack: 1M}\n", "unknown key 'stack' in limits"},
	    {"name: a\ncommand: [x]\numask: 0800\n", "umask: expected an octal mode"},
	    {"name: a\ncommand: [x]\numask: '01777'\n", "umask: expected an octal mode"},
	    {"name: a\ncommand: [x]\ntimeout: 0\n", "timeout: expected a positive duration"},
	    {"name: a\ncommand: [x]\ntimeout: 99999999999999999999d\n", "(too large)"},
	    {"name: a\ncommand: [x]\nneeds: [../x]\n", "needs[0]: '../x' is not a job name"},
	    {"name: a\ncommand: [x]\nneeds: [b, b]\n", "listed twice"},
	    {"name: a\ncommand: [x]\ntags: [\"a b\"]\n", "tags[0]: 'a b' is not a tag"},
	    {"name: a\ncommand: [x]\ntags: [ok, "
	     "a234567890123456789012345678901234567890123456789012345678901234"
	     "5678901234567890123456789012345678901234567890123456789012345678x]\n",
	     "tags[1]: 'a2345678901234567890123456789012345678901234567890123456789012345678901234"
	     "56...' is not a tag (1 to 128 of letters"},
	    {"name: a\ncommand: [x]\nbackends: [local, local]\n", "listed twice"},
	    {"name: a\ncommand: [x]\nbackends: local\n", "backends: expected a list"},
	    {"name: a\ncommand: [x]\ntargets: []\n", "targets: expected at least one"},
	    {"name: a\ncommand: [x]\ntargets: [x86]\n", "targets[0]: expected a mapping"},
	    {"name: a\ncommand: [x]\ntargets: [{Arch: x}]\n", "'Arch' is not a fact name"},
	    {"name: a\ncommand: [x]\nimage: {base: {rootfs: a, dir: b}}\n", "not both"},
	    {"name: a\ncommand: [x]\nimage: {base: {}}\n", "missing 'rootfs'"},
	    {"name: a\ncommand: [x]\nimage: {base: {dir: d}, mounts: [{source: s, target: rel}]}\n",
	     "expected an absolute path"},
	    {"name: a\ncommand: [x]\nimage: {base: {dir: d}, mounts: [{source: s, target: /t, "
	     "mode: rx}]}\n",
	     "image.mounts.mode: expected ro or rw"},
	    {"name: a\ncommand: [x]\nimage: {base: {dir: d}, setup: [apt]}\n",
	     "image.setup[0]: expected a list"},
	    {"name: a\ncommand: [x]\nslurm: {cpus: 0}\n", "slurm.cpus: expected an integer from 1"},
	    {"name: a\ncommand: [x]\nslurm: {time: 10s}\n",
	     "slurm.time: expected at least one minute"},
	    {"name: a\ncommand: [x]\nslurm: {mem: lots}\n", "slurm.mem: expected a size"},
	    {"name: a\ncommand: [x]\nslurm: {qos: high}\n", "unknown key 'qos' in slurm"},
	    {"name: a\ncommand: [x]\non_failure: [notify]\n", "on_failure[0]: expected a list"},
	    {"name: a\ncommand: [x]\non_success: [[]]\n",
	     "on_success[0]: expected a non-empty list"},
	    {"name: a\ncommand: [x]\nuser: 'a b'\n", "user: 'a b' is not a user name"},
	    {"name: a\ncommand: [x]\ndescription: {a: b}\n", "description: expected a string"},
	    {"name: a\ncommand: [x]\ndescription: \"a\\nb\"\n",
	     "t.yaml:3:14: description: expected one line of text, got control character U+000A"},
	    {"name: a\ncommand: [x]\ndescription: \"red \\x1b[31m\"\n", "control character U+001B"},
	    {"name: a\ncommand: [x]\ndescription: \"a\\x7f\"\n", "control character U+007F"},
	    {"name: a\ncommand: [x]\ndescription: \"a\\N\"\n", "control character U+0085"},
	    {"name: a\ncommand: [x]\ndescription: \"a\\Lb\"\n", "line separator U+2028"},
	    {"name: a\ncommand: [x]\ndescription: |\n  two\n  lines\n",
	     "got control character U+000A"},
	    {"name: a\ncommand: [x]\ndescription: >\n  one\n  line\n",
	     "U+000A at its end (a '>' or '|' block keeps its last line break; '>-' drops it)"},
	    {"name: a\ncommand: [x]\nslurm: {partition: \"a\\nb\"}\n",
	     "slurm.partition: expected one line of text"},
	    {"name: a\ncommand: [x]\nslurm: {account: \"a\\rb\"}\n",
	     "slurm.account: expected one line"},
	    {"name: a\ncommand: [x]\nslurm: {constraint: \"\\e\"}\n",
	     "slurm.constraint: expected one line"},
	    {"name: a\ncommand: [x]\ntargets: [{distro: \"a\\nb\"}]\n",
	     "targets[0].distro: expected one line of text"},
	    {"name: a\ncommand: [x]\nimage: {base: {dir: d}, provides: {distro: \"a\\nb\"}}\n",
	     "image.provides.distro: expected one line of text"},
	    {"name: a\ncommand: [x]\n[k]: v\n", "keys must be plain strings"},
	    {"jobs: [{name: a, command: [x]}]\nname: b\n",
	     "unknown key 'name' in a file with 'jobs:'"},
	    {"jobs: {name: a}\n", "jobs: expected a list of jobs"},
	    {"just a string\n", "expected a job"},
	    {"name: \"a\\0b\"\ncommand: [x]\n", "NUL character"},
	    {"name: a\ncommand: [x]\nschedule: ''\n", "expected 5 fields"},
	    {"name: a\ncommand: [x]\nconcurrency: Forbid\n", "did you mean 'forbid'?"},
	};
	size_t i;

	for (i = 0; i < JR_ARRAY_SIZE(cases); i++) {
		if (load(f, cases[i].yaml) != -1 || !has_diag(f, 0, cases[i].frag)) {
			dump(f);
			fail_msg("case %zu (%s): no error with '%s'", i, cases[i].yaml,
				 cases[i].frag);
		}
	}
	/* A tab is not a line break; text in other keys may span lines. */
	load_ok(f, "name: a\ncommand: [x]\ndescription: \"a\\tb\"\n");
	assert_string_equal(f->set.jobs[0]->description, "a\tb");
	load_ok(f, "name: a\ncommand: [x, \"a\\nb\"]\nenv: {set: {A: \"1\\n2\"}}\n");
	load_ok(f, "name: a\ncommand: [x]\ndescription: >-\n  one\n  line\n");
	assert_string_equal(f->set.jobs[0]->description, "one line");
	/* Only the variables jobrunner sets are its own. */
	load_ok(f, "name: a\ncommand: [x]\nenv: {set: {JOBRUNNER_MINE: x}}\n");
}

static void test_yaml_abuse(void **state)
{
	struct fixture *f = *state;
	struct jr_buf b = JR_BUF_INIT;
	char *big;
	size_t i;

	/* A huge scalar (over 1 MiB) is refused, generated here rather than committed. */
	jr_buf_init(&b);
	jr_buf_adds(&b, "name: big\ncommand: [echo]\ndescription: ");
	big = malloc((1u << 20) + 100);
	memset(big, 'x', (1u << 20) + 99);
	big[(1u << 20) + 99] = '\0';
	jr_buf_adds(&b, big);
	jr_buf_adds(&b, "\n");
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "t.yaml", b.buf, b.len, "/", &f->d), -1);
	assert_diag(f, 3, "is too large");

	/* A whole file over 4 MiB is refused before parsing. */
	jr_buf_reset(&b);
	while (b.len <= (4u << 20))
		jr_buf_adds(&b, "# padding comment line, not YAML content at all, just filling\n");
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "t.yaml", b.buf, b.len, "/", &f->d), -1);
	assert_diag(f, 0, "larger than");
	/* ... and through a real file, by jr_read_all's limit. */
	{
		char p[128];

		snprintf(p, sizeof(p), "%s/big.yaml", f->dir);
		write_file(p, b.buf, b.len, 0644);
		reset(f);
		assert_int_equal(jr_jobset_load_file(&f->set, p, f->dir, &f->d), -1);
		assert_diag(f, 0, "larger than 4 MiB");
		unlink(p);
	}

	/* Deep nesting: flow and block. */
	jr_buf_reset(&b);
	jr_buf_adds(&b, "name: deep\ncommand: [x]\nenv: ");
	for (i = 0; i < 10000; i++)
		jr_buf_addch(&b, '[');
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "t.yaml", b.buf, b.len, "/", &f->d), -1);
	assert_diag(f, 3, "nesting is too deep");
	jr_buf_reset(&b);
	for (i = 0; i < 100; i++)
		jr_buf_addf(&b, "%*sk%zu:\n", (int)i, "", i);
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "t.yaml", b.buf, b.len, "/", &f->d), -1);
	assert_diag(f, 65, "nesting is too deep");

	/* Too many nodes (a long flat list). */
	jr_buf_reset(&b);
	jr_buf_adds(&b, "name: many\ncommand: [x]\ntags: [");
	for (i = 0; i < 210000; i++)
		jr_buf_adds(&b, "a,");
	jr_buf_adds(&b, "a]\n");
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "t.yaml", b.buf, b.len, "/", &f->d), -1);
	assert_diag(f, 3, "too many YAML nodes");

	/* Billion laughs: refused at the first anchor, nothing is expanded. */
	assert_int_equal(load(f, "a: &a [lol, lol]\nb: &b [*a, *a, *a]\nc: [*b, *b, *b, *b]\n"),
			 -1);
	assert_diag(f, 1, "anchor '&a' is not supported");
	assert_diag(f, 2, "alias '*a' is not supported");
	/* Thousands of anchors: the messages stop at a bound. */
	jr_buf_reset(&b);
	for (i = 0; i < 5000; i++)
		jr_buf_addf(&b, "k%zu: &a%zu [*a%zu]\n", i, i, i);
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "t.yaml", b.buf, b.len, "/", &f->d), -1);
	assert_true(f->d.n <= 101);
	assert_diag(f, 0, "too many errors; stopped reading this file");
	/* Self-referencing alias (libyaml's document API would build a cycle). */
	assert_int_equal(load(f, "name: &x [*x]\ncommand: [x]\n"), -1);
	assert_diag(f, 1, "alias '*x'");
	/* A merge key is an alias too. */
	assert_int_equal(load(f, "base: &b {command: [x]}\nname: m\n<<: *b\n"), -1);
	assert_diag(f, 3, "alias '*b'");

	/* Tags are refused where they are written, whatever they say: a job
	 * file's values are read by the key's rules, and a tag ignored would
	 * turn !!null into an empty string. */
	assert_int_equal(load(f, "name: a\ncommand: [echo, !custom foo]\n"), -1);
	assert_diag(f, 2, "t.yaml:2:17: YAML tag '!custom' is not supported");
	assert_int_equal(load(f, "name: a\ncommand: [x]\nenv: {set: {Y: !!null }}\n"), -1);
	assert_diag(f, 3, "t.yaml:3:16: YAML tag '!!null' is not supported");
	assert_int_equal(load(f, "name: !!str a\ncommand: !!seq [x]\nenv: !!map {}\n"), -1);
	assert_diag(f, 1, "t.yaml:1:7: YAML tag '!!str'");
	assert_diag(f, 2, "t.yaml:2:10: YAML tag '!!seq'");
	assert_diag(f, 3, "t.yaml:3:6: YAML tag '!!map'");
	assert_int_equal(load(f, "name: ! a\ncommand: [!<tag:x.org,2020:y> x]\n"), -1);
	assert_diag(f, 1, "YAML tag '!' is not supported");
	assert_diag(f, 2, "YAML tag '!<tag:x.org,2020:y>' is not supported");
	/* ... and their directives define nothing a file could use. */
	assert_int_equal(load(f, "%TAG !e! tag:example.com,2000:\n---\nname: !e!n a\n"), -1);
	assert_diag(f, 3, "YAML tag '!<tag:example.com,2000:n>'");

	/* Binary garbage and control characters. */
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "t.yaml",
					       "\x7f"
					       "ELF\x02\x01\x01\0\0",
					       9, "/", &f->d),
			 -1);
	assert_diag(f, 1, "not a text file");
	reset(f);
	assert_int_equal(
	    jr_jobset_load_buffer(&f->set, "t.yaml", "name: a\x1b[0m\n", 12, "/", &f->d), -1);
	assert_diag(f, 1, "control character 0x1b");
	reset(f);
	assert_int_equal(
	    jr_jobset_load_buffer(&f->set, "t.yaml", "name: \xed\xa0\x80\n", 10, "/", &f->d), -1);
	assert_diag(f, 1, "invalid UTF-8");

	reset(f);
	assert_int_equal(
	    jr_jobset_load_buffer(&f->set, "t.yaml", "name: a\n\xc2\x80\n", 11, "/", &f->d), -1);
	assert_diag(f, 2, "non-printable character U+0080");
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "t.yaml", "a: \xef\xbf\xbf", 6, "/", &f->d),
			 -1);
	assert_diag(f, 1, "non-printable character U+FFFF");

	/* An unquoted cron expression is a YAML alias (or a reserved '@'):
	 * libyaml's message gets a hint, with the expression quoted. */
	assert_int_equal(load(f, "name: a\ncommand: [x]\nschedule: */5 * * * *\n"), -1);
	assert_diag(f, 3, "t.yaml:3:12: YAML syntax error: did not find expected alphabetic");
	assert_diag(f, 3, "; quote the cron expression: schedule: \"*/5 * * * *\"");
	assert_int_equal(load(f, "jobs:\n  - name: a\n    command: [x]\n"
				 "    schedule: * * * * 1-5   # weekdays\r\n"),
			 -1);
	assert_diag(f, 4, "; quote the cron expression: schedule: \"* * * * 1-5\"");
	assert_int_equal(load(f, "name: a\ncommand: [x]\nschedule: @daily\n"), -1);
	assert_diag(f, 3, "cannot start any token");
	assert_diag(f, 3, "; quote the cron expression: schedule: \"@daily\"");
	assert_int_equal(load(f, "jobs:\n- {name: a, command: [x], schedule: * * * * *}\n"), -1);
	assert_diag(f, 2, "; quote the cron expression: schedule: \"*/5 * * * *\"");
	/* ... and only there. */
	assert_int_equal(load(f, "name: a\ncommand: [x]\nstdin: * x\n"), -1);
	assert_false(has_diag(f, 0, "cron"));

	/* Tabs for indentation: a clear message naming the tab's position. */
	assert_int_equal(load(f, "name: t\ncommand:\n\t- echo\n"), -1);
	assert_diag(f, 3, "tab character used for indentation");
	/* ... while a tab inside a value is fine, and one in a block scalar's
	 * text is not blamed for a later syntax error. */
	load_ok(f, "name: t\ncommand: [echo, \"a\tb\"]\ndescription: a\tb\n");
	load_ok(f, "name: t\ncommand: [x]\nstdin:\n  data: |\n    a\n    \tb\n");
	assert_string_equal(f->set.jobs[0]->in.data, "a\n\tb\n");
	assert_int_equal(load(f, "name: t\ndescription: |\n  a\n  \tb\n\ncommand: [x\n"), -1);
	assert_diag(f, 7, "YAML syntax error");
	jr_buf_release(&b);
	free(big);
}

/* A UTF-8 byte order mark at the start of a file, as some Windows editors
 * write, is skipped; positions are those an editor shows (the mark takes no
 * column). */
static void test_bom(void **state)
{
	struct fixture *f = *state;

	load_ok(f, "\xef\xbb\xbfname: hello\ncommand: [echo, hi]\n");
	assert_int_equal(f->set.n, 1);
	assert_string_equal(f->set.jobs[0]->name, "hello");
	assert_int_equal(f->set.jobs[0]->name_pos.line, 1);
	assert_int_equal(f->set.jobs[0]->name_pos.col, 7);
	load_ok(f, "\xef\xbb\xbfjobs:\n  - name: a\n    command: [x]\n");
	load_ok(f, "\xef\xbb\xbf# only a comment\n");
	assert_int_equal(f->set.n, 0);
	/* Errors after it keep their columns: the text check's, libyaml's, ours. */
	assert_int_equal(load(f, "\xef\xbb\xbfname: a b\ncommand: [x]\n"), -1);
	assert_diag(f, 1, "t.yaml:1:7: name: 'a b' is not a valid job name");
	assert_int_equal(load(f, "\xef\xbb\xbfname: a\x01\n"), -1);
	assert_diag(f, 1, "t.yaml:1:8: control character 0x01");
	assert_int_equal(load(f, "\xef\xbb\xbfname: [a\n"), -1);
	assert_diag(f, 2, "YAML syntax error");
	assert_diag(f, 2, "(the construct started at 1:7)");
}

/* Hostile sizes stay fast and bounded: many keys, long lists, long chains
 * of needs (no recursion), and a cap on the number of messages per file. */
static void test_scale(void **state)
{
	struct fixture *f = *state;
	struct jr_buf b = JR_BUF_INIT;
	size_t i;

	jr_buf_init(&b);
	/* 20000 keys, all the same: one message each up to the cap, then a count. */
	jr_buf_adds(&b, "name: k\ncommand: [x]\nenv:\n  set:\n");
	for (i = 0; i < 20000; i++)
		jr_buf_adds(&b, "    A: x\n");
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "t.yaml", b.buf, b.len, "/", &f->d), -1);
	assert_diag(f, 6, "duplicate key 'A' in env.set (first at line 5)");
	assert_diag(f, 0, "19899 more errors not shown");
	assert_true(f->d.n <= 101);
	assert_int_equal(f->d.errors, 19999); /* shown or not */

	/* A long list of tags, all different, and one of needs. */
	jr_buf_reset(&b);
	jr_buf_adds(&b, "name: t\ncommand: [x]\ntags: [");
	for (i = 0; i < 20000; i++)
		jr_buf_addf(&b, "t%zu,", i);
	jr_buf_adds(&b, "t]\n");
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "t.yaml", b.buf, b.len, "/", &f->d), 0);
	assert_int_equal(f->set.jobs[0]->tags.n, 20001);
	assert_string_equal(f->set.jobs[0]->tags.v[19999], "t19999");

	/* 5000 jobs in one chain of needs, closed into a cycle. */
	jr_buf_reset(&b);
	jr_buf_adds(&b, "jobs:\n");
	for (i = 0; i < 5000; i++)
		jr_buf_addf(&b, "- {name: j%zu, command: [x], needs: [j%zu]}\n", i, (i + 1) % 5000);
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "t.yaml", b.buf, b.len, "/", &f->d), 0);
	assert_int_equal(f->set.n, 5000);
	assert_int_equal(jr_jobset_check(&f->set, &f->d), -1);
	assert_int_equal(f->d.n, 1);
	assert_diag(f, 5001, "dependency cycle: j0 -> j1 -> ");
	assert_diag(f, 5001, "(4984 more) -> ");
	assert_diag(f, 5001, "-> j4999 -> j0");

	/* Many duplicates and unknown needs across jobs: capped too. */
	jr_buf_reset(&b);
	jr_buf_adds(&b, "jobs:\n");
	for (i = 0; i < 1000; i++)
		jr_buf_addf(&b, "- {name: same, command: [x], needs: [nope%zu]}\n", i);
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "t.yaml", b.buf, b.len, "/", &f->d), 0);
	assert_int_equal(jr_jobset_check(&f->set, &f->d), -1);
	assert_true(f->d.n <= 101);
	assert_diag(f, 0, "1899 more errors across jobs not shown");
	assert_int_equal(f->d.errors, 1999); /* 999 duplicates, 1000 unknown needs */
	jr_buf_release(&b);
}

static void test_corpus(void **state)
{
	struct fixture *f = *state;
	const char *dir = "tests/jobfiles/bad";
	struct dirent **ents;
	int n, i, checked = 0;

	n = scandir(dir, &ents, NULL, alphasort);
	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		char src[512], dst[512], first[512], frag[400];
		struct jr_buf b = JR_BUF_INIT;
		struct jr_err err = JR_ERR_INIT;
		int fd, line;
		char *nl;

		if (!strstr(ents[i]->d_name, ".yaml")) {
			free(ents[i]);
			continue;
		}
		snprintf(src, sizeof(src), "%s/%s", dir, ents[i]->d_name);
		snprintf(dst, sizeof(dst), "%s/%s", f->dir, ents[i]->d_name);
		jr_buf_init(&b);
		fd = open(src, O_RDONLY);
		assert_true(fd >= 0);
		assert_int_equal(jr_read_all(fd, 1 << 20, &b, &err), 0);
		close(fd);
		/* A private 0644 copy, whatever the checkout's umask made of it. */
		write_file(dst, b.buf, b.len, 0644);
		nl = memchr(b.buf, '\n', b.len);
		assert_non_null(nl);
		snprintf(first, sizeof(first), "%.*s", (int)(nl - b.buf), b.buf);
		if (sscanf(first, "# expect: %d: %399[^\n]", &line, frag) != 2)
			fail_msg("%s: first line must be '# expect: LINE: fragment'", src);
		reset(f);
		jr_jobset_load_file(&f->set, dst, f->dir, &f->d);
		jr_jobset_check(&f->set, &f->d);
		if (!has_diag(f, line, frag)) {
			dump(f);
			fail_msg("%s: no error at line %d with '%s'", src, line, frag);
		}
		unlink(dst);
		jr_buf_release(&b);
		free(ents[i]);
		checked++;
	}
	free(ents);
	assert_true(checked >= 30);
}

static void test_good_files(void **state)
{
	struct fixture *f = *state;

	reset(f);
	/* full.yaml needs 'prepare', which multi.yaml defines. */
	if (jr_jobset_load_dir(&f->set, "tests/jobfiles/good", &f->d) != 0) {
		dump(f);
		fail();
	}
	assert_int_equal(f->d.n, 0);
	assert_true(f->set.n >= 5);
}

/* The examples of jobrunner.yaml(5) (the .EX blocks after .SH EXAMPLES)
 * are valid job files. */
static void test_man_examples(void **state)
{
	struct fixture *f = *state;
	struct jr_buf man = JR_BUF_INIT, ex = JR_BUF_INIT;
	struct jr_err err = JR_ERR_INIT;
	const char *p, *end;
	int fd, nex = 0;

	jr_buf_init(&man);
	jr_buf_init(&ex);
	fd = open("man/jobrunner.yaml.5", O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(jr_read_all(fd, 1 << 20, &man, &err), 0);
	close(fd);
	p = strstr(man.buf, "\n.SH EXAMPLES\n");
	assert_non_null(p);
	while ((p = strstr(p, "\n.EX\n"))) {
		p += 5;
		end = strstr(p, "\n.EE\n");
		assert_non_null(end);
		jr_buf_reset(&ex);
		for (; p <= end; p++) {
			if (p[0] == '\\' && p[1] == '-') /* roff's \- is a plain '-' */
				p++;
			jr_buf_addch(&ex, *p);
		}
		reset(f);
		if (jr_jobset_load_buffer(&f->set, "man-example", ex.buf, ex.len, "/j", &f->d) != 0) {
			dump(f);
			fail_msg("man page example %d does not load:\n%s", nex + 1, ex.buf);
		}
		assert_int_equal(f->set.n, 1);
		nex++;
	}
	assert_int_equal(nex, 2);
	jr_buf_release(&man);
	jr_buf_release(&ex);
}

static void test_dir_and_trust(void **state)
{
	struct fixture *f = *state;
	char a[128], b[128], c[128], h[128], t[128], l[128], y[128];
	const char *job = "name: same\ncommand: [x]\n";

	snprintf(a, sizeof(a), "%s/a.yaml", f->dir);
	snprintf(b, sizeof(b), "%s/b.yml", f->dir);
	snprintf(c, sizeof(c), "%s/c.txt", f->dir);
	snprintf(h, sizeof(h), "%s/.hidden.yaml", f->dir);
	write_file(a, job, strlen(job), 0644);
	write_file(b, "# other\n\nname: same\ncommand: [y]\n", 33, 0600);
	write_file(c, "not yaml at all: [", 18, 0644);
	write_file(h, "garbage: [", 10, 0644);

	/* Duplicate names across files: both places named. */
	reset(f);
	assert_int_equal(jr_jobset_load_dir(&f->set, f->dir, &f->d), -1);
	assert_int_equal(f->set.n, 2);
	assert_diag(f, 3, "duplicate job name 'same' (already defined at");
	assert_diag(f, 3, "a.yaml:1:7)");
	assert_non_null(strstr(f->d.msg[0], "b.yml:3:7:"));
	assert_int_equal(f->d.n, 1); /* .hidden and .txt were not read */

	/* Group- or world-writable files are refused, and named. */
	assert_int_equal(chmod(b, 0666), 0);
	reset(f);
	assert_int_equal(jr_jobset_load_dir(&f->set, f->dir, &f->d), -1);
	assert_int_equal(f->set.n, 1);
	assert_diag(f, 0, "b.yml: is writable by everyone");
	assert_int_equal(chmod(b, 0620), 0);
	reset(f);
	assert_int_equal(jr_jobset_load_file(&f->set, b, f->dir, &f->d), -1);
	assert_diag(f, 0, "writable by its group");
	unlink(b);

	/* More than one hard link. */
	snprintf(l, sizeof(l), "%s/link.yaml", f->dir);
	assert_int_equal(link(a, l), 0);
	reset(f);
	assert_int_equal(jr_jobset_load_file(&f->set, a, f->dir, &f->d), -1);
	assert_diag(f, 0, "hard links");
	unlink(l);

	/* Not a regular file (a directory named like a job file). */
	snprintf(y, sizeof(y), "%s/d.yaml", f->dir);
	assert_int_equal(mkdir(y, 0700), 0);
	reset(f);
	assert_int_equal(jr_jobset_load_dir(&f->set, f->dir, &f->d), -1);
	assert_diag(f, 0, "not a regular file");
	rmdir(y);

	/* Owned by someone else (only testable as root, by chown). */
	if (geteuid() == 0) {
		assert_int_equal(chown(a, 12345, 12345), 0);
		reset(f);
		assert_int_equal(jr_jobset_load_file(&f->set, a, f->dir, &f->d), -1);
		assert_diag(f, 0, "owned by uid 12345");
	}
	unlink(a);
	unlink(c);
	unlink(h);

	/* Missing directory and missing file. */
	snprintf(t, sizeof(t), "%s/none", f->dir);
	reset(f);
	assert_int_equal(jr_jobset_load_dir(&f->set, t, &f->d), -1);
	assert_diag(f, 0, "cannot open the jobs directory");
	reset(f);
	assert_int_equal(jr_jobset_load_file(&f->set, t, f->dir, &f->d), -1);
	assert_int_equal(f->d.n, 1);

	/* An empty directory is valid: no jobs. */
	reset(f);
	assert_int_equal(jr_jobset_load_dir(&f->set, f->dir, &f->d), 0);
	assert_int_equal(f->set.n, 0);
}

static void test_check(void **state)
{
	struct fixture *f = *state;

	/* Two loads, then one check over both. */
	reset(f);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "one.yaml",
					       "name: a\ncommand: [x]\nneeds: [b]\n", 32, "/",
					       &f->d),
			 0);
	assert_int_equal(
	    jr_jobset_load_buffer(&f->set, "two.yaml",
				  "jobs:\n- name: b\n  command: [x]\n  needs: [c]\n"
				  "- name: c\n  command: [x]\n  needs: [a, bb]\n",
				  strlen("jobs:\n- name: b\n  command: [x]\n  needs: [c]\n"
					 "- name: c\n  command: [x]\n  needs: [a, bb]\n"),
				  "/", &f->d),
	    0);
	assert_int_equal(jr_jobset_check(&f->set, &f->d), -1);
	assert_diag(f, 7, "needs: unknown job 'bb'; did you mean 'b'?");
	assert_diag(f, 0, "dependency cycle: a -> b -> c -> a");
	/* The cycle is reported once. */
	{
		size_t i, cycles = 0;

		for (i = 0; i < f->d.n; i++)
			cycles += strstr(f->d.msg[i], "cycle") != NULL;
		assert_int_equal(cycles, 1);
	}

	/* A need on a job left out for its own errors is not "unknown": it is
	 * defined, and its errors were reported with it. Across files too. */
	assert_int_equal(load(f, "jobs:\n- {name: prepare, command: [x], timeout: 10x}\n"
				 "- {name: build, command: [x], needs: [prepare]}\n"),
			 -1);
	assert_int_equal(f->set.n, 1);
	assert_int_equal(jr_jobset_check(&f->set, &f->d), -1);
	assert_diag(f, 2, "timeout: expected a duration");
	assert_diag(f, 3, "t.yaml:3:39: needs: job 'prepare' has errors of its own (reported with it)");
	assert_false(has_diag(f, 0, "unknown job"));
	assert_int_equal(jr_jobset_load_buffer(&f->set, "u.yaml",
					       "name: late\ncommand: [x]\nneeds: [prepare, nope]\n",
					       47, "/", &f->d),
			 0);
	jr_diags_release(&f->d);
	assert_int_equal(jr_jobset_check(&f->set, &f->d), -1);
	assert_diag(f, 3, "u.yaml:3:9: needs: job 'prepare' has errors");
	assert_diag(f, 3, "u.yaml:3:18: needs: unknown job 'nope'");
	assert_false(has_diag(f, 3, "could not be read"));
	/* With a file that could not be read at all, an unknown need may be
	 * in it: the message says so. */
	assert_int_equal(load(f, "name: broken\ncommand: [x\n"), -1);
	assert_int_equal(jr_jobset_load_buffer(&f->set, "u.yaml",
					       "name: late\ncommand: [x]\nneeds: [broken]\n", 40, "/",
					       &f->d),
			 0);
	jr_diags_release(&f->d);
	assert_int_equal(jr_jobset_check(&f->set, &f->d), -1);
	assert_diag(f, 3,
		    "u.yaml:3:9: needs: unknown job 'broken' (or one in a job file that could not be "
		    "read)");

	/* A diamond is not a cycle. */
	load_ok(
	    f, "jobs:\n- {name: a, command: [x]}\n- {name: b, command: [x], needs: [a]}\n"
	       "- {name: c, command: [x], needs: [a]}\n- {name: d, command: [x], needs: [b, c]}\n");
	assert_int_equal(jr_jobset_check(&f->set, &f->d), 0);

	/* Duplicate names within one file. */
	load_ok(f, "jobs:\n- {name: a, command: [x]}\n- {name: a, command: [y]}\n");
	assert_int_equal(jr_jobset_check(&f->set, &f->d), -1);
	assert_diag(f, 3, "duplicate job name 'a' (already defined at t.yaml:2:");

	assert_true(jr_job_name_valid("a"));
	assert_true(jr_job_name_valid("Build_1.2-x"));
	assert_true(jr_job_name_valid("0"));
	assert_false(jr_job_name_valid(""));
	assert_false(jr_job_name_valid(NULL));
	assert_false(jr_job_name_valid(".a"));
	assert_false(jr_job_name_valid("-a"));
	assert_false(jr_job_name_valid("a/b"));
	assert_false(jr_job_name_valid("a b"));
	assert_false(jr_job_name_valid("caf\xc3\xa9"));
	assert_true(
	    jr_job_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_false(
	    jr_job_name_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	/* Messages list the known backends from a copy: the same names. */
	{
		struct jr_buf b = JR_BUF_INIT;

		jr_buf_init(&b);
		for (size_t i = 0; jr_known_backends[i]; i++)
			jr_buf_addf(&b, "%s%s", i ? ", " : "", jr_known_backends[i]);
		assert_string_equal(b.buf, JR_KNOWN_BACKENDS_TEXT);
		jr_buf_release(&b);
	}
	/* Machine tags: the rule of [local] tags and of targets' tags. */
	assert_true(jr_machine_tag_valid("rack:b4"));
	assert_true(jr_machine_tag_valid("big-mem_2.x"));
	assert_false(jr_machine_tag_valid(""));
	assert_false(jr_machine_tag_valid("a/b"));
	assert_false(jr_machine_tag_valid("a+b"));
	assert_false(
	    jr_machine_tag_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static char *hash_of(struct fixture *f, const char *yaml)
{
	load_ok(f, yaml);
	assert_int_equal(f->set.n, 1);
	return jr_xstrdup(f->set.jobs[0]->hash);
}

static void test_hash(void **state)
{
	struct fixture *f = *state;
	char *h1, *h2, *h3, *h4, *h5, *h6, *h7;

	h1 = hash_of(f, "name: h\ncommand: [echo, hi]\ntimeout: 90\nenv: {set: {A: '1', B: '2'}}\n"
			"retries: {count: 2, delay: 1m}\n");
	/* Reordered keys, block style, comments, different spellings of the same values. */
	h2 = hash_of(
	    f, "# a comment\nretries:\n  delay: 60s   # one minute\n  count: 2\nenv:\n"
	       "  set:\n    B: \"2\"\n    A: 1\ntimeout: 1m30s\ncommand:\n  - echo\n  - 'hi'\n"
	       "name: h\nkill_grace: 10s\numask: '0022'\nconcurrency: forbid\n");
	assert_string_equal(h1, h2);
	/* The same job inside a jobs: list hashes the same. */
	h3 = hash_of(f, "jobs:\n  - {name: h, command: [echo, hi], timeout: 90s, "
			"env: {set: {B: '2', A: '1'}}, retries: {count: 2, delay: 60}}\n");
	assert_string_equal(h1, h3);
	/* A changed command changes it, and so does any other setting. */
	h4 = hash_of(f, "name: h\ncommand: [echo, ho]\ntimeout: 90\nenv: {set: {A: '1', B: '2'}}\n"
			"retries: {count: 2, delay: 1m}\n");
	assert_string_not_equal(h1, h4);
	h5 = hash_of(f, "name: h\ncommand: [echo, hi]\ntimeout: 91\nenv: {set: {A: '1', B: '2'}}\n"
			"retries: {count: 2, delay: 1m}\n");
	assert_string_not_equal(h1, h5);
	/* Secret values are redacted in the canonical form, so they do not
	 * change the hash (the hash is stored; the value must not be derivable). */
	h6 = hash_of(f, "name: s\ncommand: [x]\nenv: {set: {T: one}, secret: [T]}\n");
	h7 = hash_of(f, "name: s\ncommand: [x]\nenv: {set: {T: two}, secret: [T]}\n");
	assert_string_equal(h6, h7);
	assert_null(strstr(f->set.jobs[0]->canonical_json, "two"));
	/* Nor where the job writes them elsewhere: its command, stdin data,
	 * hooks; escaped as JSON escapes them; never in a key ("m" is in
	 * many), and the form stays valid. */
	free(h6);
	free(h7);
	h6 = hash_of(f, "name: s\ncommand: [echo, 'tok a\"b\\c ok']\nstdin: {data: 'xa\"b\\c'}\n"
			"on_failure: [[echo, 'a\"b\\c']]\nenv: {set: {T: 'a\"b\\c', E: m}, secret: [T, E]}\n");
	h7 = hash_of(f, "name: s\ncommand: [echo, 'tok other ok']\nstdin: {data: 'xother'}\n"
			"on_failure: [[echo, other]]\nenv: {set: {T: other, E: m}, secret: [T, E]}\n");
	assert_string_equal(h6, h7);
	{
		const char *cj = f->set.jobs[0]->canonical_json;

		assert_non_null(strstr(cj, "[\"echo\",\"tok *** ok\"]"));
		assert_non_null(strstr(cj, "\"x***\""));
		assert_null(strstr(cj, "other"));
		assert_non_null(strstr(cj, "\"name\":\"s\""));
		assert_non_null(strstr(cj, "\"command\":"));
		assert_non_null(strstr(cj, "\"timeout_ms\":"));
	}
	free(h1);
	free(h2);
	free(h3);
	free(h4);
	free(h5);
	free(h6);
	free(h7);
	/* A target's tags are a set: their order is not in the hash. */
	h1 = hash_of(f, "name: t\ncommand: [x]\ntargets: [{tags: [ssd, gpu]}]\n");
	h2 = hash_of(f, "name: t\ncommand: [x]\ntargets: [{tags: [gpu, ssd]}]\n");
	assert_string_equal(h1, h2);
	free(h1);
	free(h2);
	/* The default inherit list and the same list written out differ in
	 * what the job gets (LC_ALL=C only by default), so in their hash. */
	h1 = hash_of(f, "name: e\ncommand: [x]\n");
	h2 = hash_of(f, "name: e\ncommand: [x]\n"
			"env: {inherit: [PATH, HOME, USER, LOGNAME, TMPDIR, LANG, TZ]}\n");
	assert_string_not_equal(h1, h2);
	free(h1);
	free(h2);

	/* The hash is SHA-256 of the canonical JSON (checked against a known value). */
	load_ok(f, "name: hello\ncommand: [echo, hello]\ncwd: /base\n");
	assert_string_equal(f->set.jobs[0]->hash,
			    "a22692cafd777673a317d822393ae71ec6270a382471e8ef7125181f202c8988");
}

static void test_redact(void **state)
{
	struct fixture *f = *state;
	const char *extra[] = {"frompassenv", "", NULL};
	char *s;

	load_ok(f, "name: r\ncommand: [x]\nenv:\n  set: {TOKEN: abc123, PASS: abc, OPEN: visible}\n"
		   "  secret: [TOKEN, PASS, INHERITED]\n");
	s = jr_job_redact_dup(f->set.jobs[0], "token=abc123 pass=abc open=visible x=frompassenv",
			      extra);
	assert_string_equal(s, "token=*** pass=*** open=visible x=***");
	free(s);
	s = jr_job_redact_dup(f->set.jobs[0], "", NULL);
	assert_string_equal(s, "");
	free(s);
	s = jr_job_redact_dup(NULL, "abc frompassenv", extra);
	assert_string_equal(s, "abc ***");
	free(s);
	/* Secrets that overlap leave nothing of either in the canonical
	 * form, and an escape is never cut ("n" is in "\n"). */
	load_ok(f, "name: o\ncommand: [echo, ABcdABSECRET, \"a\\nn\"]\nenv:\n"
		   "  set: {S1: ABcdAB, S2: cdABSECRET, S3: n}\n  secret: [S1, S2, S3]\n");
	assert_non_null(strstr(f->set.jobs[0]->canonical_json, "[\"echo\",\"***\",\"a\\n***\"]"));
	assert_null(strstr(f->set.jobs[0]->canonical_json, "SECRET"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_full_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_variants, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_multi_and_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors_collected, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_type_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_yaml_abuse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bom, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_scale, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corpus, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_good_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_man_examples, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_and_trust, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_redact, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
