/* jobfile: YAML job files -> struct jr_job, validated.
 *
 * The format is the contract of man/jobrunner.yaml.5 (and ../shared/jobfile.md,
 * schemas/job.schema.json). Loading never stops at the first problem: every
 * error of every file is collected in a struct jr_diags as
 * "FILE:LINE:COL: message", and a set with any error must not be run.
 * Paths in a job (cwd, stdin/stdout/stderr files, fds, image paths) are made
 * absolute against the jobs directory at load time.
 */
#ifndef JR_JOBFILE_H
#define JR_JOBFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cron.h"

/* Collected diagnostics, each "file:line:col: message" (no newline). */
struct jr_diags {
	char **msg;
	size_t n, alloc;
	size_t errors; /* each message's, and those a "more not shown" stands for */
};
void jr_diags_add(struct jr_diags *d, const char *file, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Adds "file: COUNT more errors[ across]... not shown": COUNT errors, one
 * message. */
void jr_diags_add_unshown(struct jr_diags *d, const char *file, size_t count, const char *where);
void jr_diags_release(struct jr_diags *d);

/* Backend names a job may list in `backends:` (NULL-terminated); the backend
 * module uses the same list. */
extern const char *const jr_known_backends[];
/* The same names, for messages (keep the two in step). */
#define JR_KNOWN_BACKENDS_TEXT "local, container, slurm, none"
/* Whether name is one of jr_known_backends (implemented in this build or
 * not): what job files and jobrunner.ini may name. */
bool jr_backend_name_known(const char *name);

/* A position in a job file, 1-based. */
struct jr_pos {
	int line, col;
};

struct jr_kv {
	char *key;
	char *value;
};

struct jr_strv { /* a NULL-terminated string list */
	char **v;
	size_t n;
};

enum jr_io_kind {
	JR_IO_LOG = 0, /* default for stdout/stderr: the run's log file */
	JR_IO_NULL,    /* /dev/null (default for stdin) */
	JR_IO_INHERIT, /* jobrunner's own descriptor */
	JR_IO_FILE,    /* path, append */
	JR_IO_DATA,    /* stdin only: literal data */
	JR_IO_STDOUT,  /* stderr only: merged into stdout */
};

struct jr_io {
	enum jr_io_kind kind;
	char *path;  /* JR_IO_FILE, absolute */
	bool append; /* JR_IO_FILE */
	char *data;  /* JR_IO_DATA */
	size_t data_len;
};

enum jr_fd_mode { JR_FD_READ, JR_FD_WRITE, JR_FD_APPEND, JR_FD_READWRITE };

struct jr_fd_spec {
	int fd; /* child descriptor number, >= 3 */
	char *path;
	enum jr_fd_mode mode;
};

struct jr_retry {
	int count;        /* re-runs after the first attempt */
	int64_t delay_ms; /* before the first re-run */
	double backoff;   /* delay multiplier per re-run, >= 1 */
};

enum jr_limit {
	JR_LIMIT_NOFILE,
	JR_LIMIT_NPROC,
	JR_LIMIT_CPU, /* seconds */
	JR_LIMIT_AS,  /* bytes */
	JR_LIMIT_FSIZE,
	JR_LIMIT_CORE,
	JR_LIMIT_COUNT
};
#define JR_LIMIT_UNLIMITED UINT64_MAX

enum jr_concurrency { JR_CONC_FORBID = 0, JR_CONC_ALLOW, JR_CONC_QUEUE };

/* A requirement set over machine facts: every fact must equal the machine's;
 * tags must be a subset of the machine's tags. */
struct jr_target {
	struct jr_kv *facts; /* sorted by key */
	size_t nfacts;
	struct jr_strv tags;
};

struct jr_mount {
	char *source; /* absolute */
	char *target;
	bool readonly;
};

struct jr_image {
	char *base_rootfs; /* absolute path of a tarball, or NULL */
	char *base_dir;    /* absolute path of a directory, or NULL */
	struct jr_kv *provides;
	size_t nprovides;
	struct jr_strv *setup; /* argv lists */
	size_t nsetup;
	struct jr_mount *mounts;
	size_t nmounts;
};

struct jr_slurm_opts {
	char *partition, *mem, *constraint, *account;
	int cpus;         /* 0: unset */
	int64_t time_ms;  /* 0: unset */
};

struct jr_job {
	char *name;
	char *description;
	struct jr_strv command; /* argv; n == 0 when shell is used */
	char *shell;            /* run as /bin/sh -c shell */
	char *cwd;              /* absolute; default the jobs directory */
	mode_t umask;           /* default 0022 */
	char *user, *group;     /* NULL: unchanged */

	bool env_inherit_all;
	struct jr_strv env_inherit; /* when !env_inherit_all; default: the common set */
	bool env_inherit_default;   /* env.inherit not given: use the common set */
	struct jr_kv *env_set;
	size_t nenv_set;
	struct jr_strv env_secret;

	struct jr_io in, out, err;
	struct jr_fd_spec *fds;
	size_t nfds;

	int64_t timeout_ms;    /* 0: none */
	int64_t kill_grace_ms; /* default 10 s */
	struct jr_retry retry;
	bool limit_set[JR_LIMIT_COUNT];
	uint64_t limit[JR_LIMIT_COUNT];
	enum jr_concurrency concurrency;
	struct jr_strv needs;
	char *schedule; /* as written, NULL if none */
	struct jr_cron cron;
	struct jr_strv tags;
	struct jr_strv backends; /* n == 0: from jobrunner.ini */
	struct jr_target *targets;
	size_t ntargets;      /* >= 1: [{}] when not given */
	struct jr_image *image; /* NULL if none */
	struct jr_slurm_opts slurm;
	struct jr_strv *on_failure, *on_success; /* argv lists */
	size_t non_failure, non_success;

	char *source_file; /* as found */
	int source_line;   /* line of the job's mapping */
	struct jr_pos name_pos;  /* of the name's value */
	struct jr_pos *needs_pos; /* of needs.v[i] */
	char *canonical_json; /* canonical JSON of the definition (secrets' values redacted) */
	char hash[65];        /* hex SHA-256 of canonical_json */
};

struct jr_jobset {
	struct jr_job **jobs; /* in file-name order, then order within a file */
	size_t n, alloc;
	struct jr_strv invalid; /* names of the jobs left out for their errors */
	size_t nfiles;		/* files (buffers) read, with jobs or without */
	size_t nunread;		/* files whose jobs could not be read at all */
};

/* Loads every *.yaml / *.yml file in dir (name order). Returns 0 when every
 * file was valid, -1 otherwise (diags says why; set holds the valid jobs). */
int jr_jobset_load_dir(struct jr_jobset *set, const char *dir, struct jr_diags *diags);
/* Loads one file (trusted-open checks apply); basedir resolves relative paths. */
int jr_jobset_load_file(struct jr_jobset *set, const char *path, const char *basedir,
			struct jr_diags *diags);
/* Loads from memory (for tests and fuzzing); name is used in messages.
 * An empty document (nothing, or only comments) is valid and defines no jobs.
 * Input limits: 4 MiB, 1 MiB per string, nesting 64 deep, 200000 YAML nodes;
 * anchors/aliases, tags, tabs used for indentation, NUL bytes, control
 * characters and invalid UTF-8 are refused (a leading UTF-8 byte order mark
 * is skipped); at most 100 messages per file are kept. */
int jr_jobset_load_buffer(struct jr_jobset *set, const char *name, const char *data, size_t len,
			  const char *basedir, struct jr_diags *diags);
/* Checks across jobs: unique names, needs that exist, no cycles. Called by
 * load_dir; call it after several load_file/load_buffer calls. */
int jr_jobset_check(struct jr_jobset *set, struct jr_diags *diags);
struct jr_job *jr_jobset_find(const struct jr_jobset *set, const char *name);

/* An index of the names of n jobs, for lookups in O(log n): the position
 * in jobs of the first one named name, or SIZE_MAX. jobs must outlive it. */
struct jr_job_index;
struct jr_job_index *jr_job_index_new(struct jr_job *const *jobs, size_t n);
size_t jr_job_index_find(const struct jr_job_index *ix, const char *name);
void jr_job_index_free(struct jr_job_index *ix);
void jr_jobset_release(struct jr_jobset *set);

/* Frees a job and everything it owns (NULL is fine). */
void jr_job_free(struct jr_job *job);

/* The values of job's secret variables, empty ones left out: those env.set
 * gives, and with env those jobrunner's environment gives the other names
 * of env.secret (as the job gets them). A NULL-terminated array of
 * pointers into job and environ; the caller frees the array. */
const char **jr_job_secret_values(const struct jr_job *job, bool env);
/* JSON text (of jr_buf_add_json_str's escaping) with the job's env.set
 * secret values replaced by *** inside its string values, never in its
 * keys. Consumes json; returns the text to use. */
char *jr_job_redact_json(const struct jr_job *job, char *json);
/* Returns a copy of text (caller frees) in which every secret value is
 * replaced by "***": the env.set values of names listed in env.secret, and
 * each non-empty string of extra_values (NULL-terminated, may be NULL; for
 * secrets inherited from the environment): every byte of every occurrence
 * hidden, as jr_redact does; job may be NULL (only extra_values then).
 * Never returns NULL. */
char *jr_job_redact_dup(const struct jr_job *job, const char *text,
			const char *const *extra_values);

/* Is name a valid job name ([A-Za-z0-9_.-]{1,64}, not starting with . or -)? */
bool jr_job_name_valid(const char *name);
/* A machine tag ([local] tags in jobrunner.ini, the tags of a job's
 * targets): 1-64 of letters, digits, '_', '.', ':', '-'. */
bool jr_machine_tag_valid(const char *tag);

#endif
