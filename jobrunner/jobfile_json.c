/* jobfile_json: the canonical JSON form of a job, its hash, and redaction.
 *
 * The canonical form is what the job means, not how it was written: every
 * key is present (defaults filled in), object keys are sorted, paths are
 * absolute, and the values of secret variables are "***" wherever they
 * appear (jr_job_redact_json). So reordering keys, reformatting or adding
 * comments leaves the hash unchanged, and changing anything that affects a
 * run changes it. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobfile.h"
#include "jobfile_yaml.h"
#include "util.h"

#include "banned.h"

/* An object being built: keys (string constants, or names the job owns,
 * which outlive it) and values (JSON text, owned). Loading thousands of
 * jobs builds one of these per object of each: kept cheap. */
struct jmember {
	const char *key;
	char *value;
};

struct jobj {
	struct jmember *m;
	size_t n, alloc;
};

static void put(struct jobj *o, const char *key, char *json)
{
	jr_xgrow((void **)&o->m, &o->alloc, o->n + 1, sizeof(*o->m));
	o->m[o->n].key = key;
	o->m[o->n].value = json;
	o->n++;
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct jmember *)a)->key, ((const struct jmember *)b)->key);
}

/* Sorts, emits {"k":v,...} and frees the builder. */
static char *done(struct jobj *o)
{
	struct jr_buf b = JR_BUF_INIT;
	size_t i, len = 2;
	bool sorted = true;

	for (i = 0; i < o->n; i++) {
		len += strlen(o->m[i].key) + strlen(o->m[i].value) + 4;
		if (i && strcmp(o->m[i - 1].key, o->m[i].key) > 0)
			sorted = false;
	}
	if (!sorted)
		qsort(o->m, o->n, sizeof(*o->m), member_cmp);
	jr_buf_init(&b);
	jr_buf_grow(&b, len);
	jr_buf_addch(&b, '{');
	for (i = 0; i < o->n; i++) {
		if (i)
			jr_buf_addch(&b, ',');
		jr_buf_add_json_str(&b, o->m[i].key);
		jr_buf_addch(&b, ':');
		jr_buf_adds(&b, o->m[i].value);
		free(o->m[i].value);
	}
	jr_buf_addch(&b, '}');
	free(o->m);
	memset(o, 0, sizeof(*o));
	return jr_buf_detach(&b, NULL);
}

static char *jstr(const char *s)
{
	struct jr_buf b = JR_BUF_INIT;

	jr_buf_init(&b);
	jr_buf_add_json_str(&b, s);
	return jr_buf_detach(&b, NULL);
}

static char *jint(int64_t v)
{
	return jr_xasprintf("%lld", (long long)v);
}

static char *jbool(bool v)
{
	return jr_xstrdup(v ? "true" : "false");
}

static char *jstrv(const struct jr_strv *v)
{
	struct jr_buf b = JR_BUF_INIT;

	jr_buf_init(&b);
	jr_buf_add_json_strv(&b, (const char *const *)v->v, v->n);
	return jr_buf_detach(&b, NULL);
}

static char *jargvs(const struct jr_strv *v, size_t n)
{
	struct jr_buf b = JR_BUF_INIT;
	size_t i;
	char *s;

	jr_buf_init(&b);
	jr_buf_addch(&b, '[');
	for (i = 0; i < n; i++) {
		if (i)
			jr_buf_addch(&b, ',');
		s = jstrv(&v[i]);
		jr_buf_adds(&b, s);
		free(s);
	}
	jr_buf_addch(&b, ']');
	return jr_buf_detach(&b, NULL);
}

static bool is_secret(const struct jr_job *job, const char *name)
{
	size_t i;

	for (i = 0; i < job->env_secret.n; i++)
		if (strcmp(job->env_secret.v[i], name) == 0)
			return true;
	return false;
}

static char *jkv(const struct jr_kv *kv, size_t n, const struct jr_job *redact_for)
{
	struct jobj o = {0};
	size_t i;

	for (i = 0; i < n; i++)
		put(&o, kv[i].key,
		    jstr(redact_for && is_secret(redact_for, kv[i].key) ? "***" : kv[i].value));
	return done(&o);
}

static char *jio(const struct jr_io *io)
{
	static const char *const kinds[] = {"log", "null", "inherit", "file", "data", "stdout"};
	struct jobj o = {0};

	/* Members in key order, so that done() has nothing to sort. */
	if (io->kind == JR_IO_FILE) {
		put(&o, "append", jbool(io->append));
		put(&o, "file", jstr(io->path));
	} else if (io->kind == JR_IO_DATA) {
		struct jr_buf b = JR_BUF_INIT;

		jr_buf_init(&b);
		jr_buf_add_json_strn(&b, io->data, io->data_len);
		put(&o, "data", jr_buf_detach(&b, NULL));
	}
	put(&o, "kind", jstr(kinds[io->kind]));
	return done(&o);
}

static char *jfds(const struct jr_job *job)
{
	static const char *const modes[] = {"r", "w", "a", "rw"};
	struct jr_buf b = JR_BUF_INIT;
	size_t i;

	jr_buf_init(&b);
	jr_buf_addch(&b, '[');
	for (i = 0; i < job->nfds; i++) {
		struct jobj o = {0};
		char *s;

		put(&o, "fd", jint(job->fds[i].fd));
		put(&o, "file", jstr(job->fds[i].path));
		put(&o, "mode", jstr(modes[job->fds[i].mode]));
		s = done(&o);
		jr_buf_addf(&b, "%s%s", i ? "," : "", s);
		free(s);
	}
	jr_buf_addch(&b, ']');
	return jr_buf_detach(&b, NULL);
}

static char *jlimits(const struct jr_job *job)
{
	static const char *const names[JR_LIMIT_COUNT] = {"nofile", "nproc", "cpu",
							  "as", "fsize", "core"};
	struct jobj o = {0};
	size_t i;

	for (i = 0; i < JR_LIMIT_COUNT; i++) {
		if (!job->limit_set[i])
			put(&o, names[i], jr_xstrdup("null"));
		else if (job->limit[i] == JR_LIMIT_UNLIMITED)
			put(&o, names[i], jstr("unlimited"));
		else
			put(&o, names[i], jr_xasprintf("%llu", (unsigned long long)job->limit[i]));
	}
	return done(&o);
}

static char *jtargets(const struct jr_job *job)
{
	struct jr_buf b = JR_BUF_INIT;
	size_t i;

	jr_buf_init(&b);
	jr_buf_addch(&b, '[');
	for (i = 0; i < job->ntargets; i++) {
		struct jobj o = {0};
		char *s;

		put(&o, "facts", jkv(job->targets[i].facts, job->targets[i].nfacts, NULL));
		put(&o, "tags", jstrv(&job->targets[i].tags));
		s = done(&o);
		jr_buf_addf(&b, "%s%s", i ? "," : "", s);
		free(s);
	}
	jr_buf_addch(&b, ']');
	return jr_buf_detach(&b, NULL);
}

static char *jimage(const struct jr_image *im)
{
	struct jobj o = {0}, base = {0};
	struct jr_buf b = JR_BUF_INIT;
	size_t i;

	if (!im)
		return jr_xstrdup("null");
	put(&base, "dir", jstr(im->base_dir));
	put(&base, "rootfs", jstr(im->base_rootfs));
	put(&o, "base", done(&base));
	put(&o, "provides", jkv(im->provides, im->nprovides, NULL));
	put(&o, "setup", jargvs(im->setup, im->nsetup));
	jr_buf_init(&b);
	jr_buf_addch(&b, '[');
	for (i = 0; i < im->nmounts; i++) {
		struct jobj m = {0};
		char *s;

		put(&m, "mode", jstr(im->mounts[i].readonly ? "ro" : "rw"));
		put(&m, "source", jstr(im->mounts[i].source));
		put(&m, "target", jstr(im->mounts[i].target));
		s = done(&m);
		jr_buf_addf(&b, "%s%s", i ? "," : "", s);
		free(s);
	}
	jr_buf_addch(&b, ']');
	put(&o, "mounts", jr_buf_detach(&b, NULL));
	return done(&o);
}

static char *jslurm(const struct jr_slurm_opts *s)
{
	struct jobj o = {0};

	put(&o, "account", jstr(s->account));
	put(&o, "constraint", jstr(s->constraint));
	put(&o, "cpus", s->cpus ? jint(s->cpus) : jr_xstrdup("null"));
	put(&o, "mem", jstr(s->mem));
	put(&o, "partition", jstr(s->partition));
	put(&o, "time_ms", s->time_ms ? jint(s->time_ms) : jr_xstrdup("null"));
	return done(&o);
}

/* SHA-256, fetched once: OpenSSL 3 would otherwise look the algorithm up
 * in its providers for every job hashed. */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* The length of the escape unit of jr_buf_add_json_strn's output at p:
 * \uXXXX, \x or one byte. */
static size_t json_unit(const char *p)
{
	if (p[0] != '\\')
		return 1;
	return p[1] == 'u' ? 6 : 2;
}

/* Replaces by *** every secret value set in the job file, as it appears
 * escaped inside the string values of json (never in its keys, which are
 * ours): a secret also written in the command, stdin data, a path...
 * leaves no trace in the canonical form, and does not change the hash.
 * Escape units form a prefix code, so a match that starts on a unit ends
 * on one. Consumes json; returns the text to use. */
char *jr_job_redact_json(const struct jr_job *job, char *json)
{
	const char **vals = jr_job_secret_values(job, false);
	struct jr_buf b = JR_BUF_INIT;
	char **pat;
	size_t npat = 0, k, len, i;
	const char *p, *q, *after;
	unsigned char *hide;

	for (k = 0; vals[k]; k++)
		npat++;
	if (npat == 0) {
		free(vals);
		return json;
	}
	pat = jr_xmalloc(npat * sizeof(*pat));
	for (k = 0; k < npat; k++) {
		struct jr_buf e = JR_BUF_INIT;

		jr_buf_init(&e);
		jr_buf_add_json_str(&e, vals[k]);
		e.buf[e.len - 1] = '\0'; /* without its quotes */
		pat[k] = jr_xstrdup(e.buf + 1);
		jr_buf_release(&e);
	}
	free(vals);
	hide = jr_xmalloc(strlen(json) + 1);
	jr_buf_init(&b);
	for (p = json; *p;) {
		if (*p != '"') {
			jr_buf_addch(&b, *p++);
			continue;
		}
		for (q = p + 1; *q && *q != '"'; q += json_unit(q))
			;
		for (after = *q ? q + 1 : q; *after == ' '; after++)
			;
		len = (size_t)(q - p - 1);
		/* As jr_redact: every byte of every match hidden, overlapping
		 * ones too; matches start on escape units, in values only. */
		memset(hide, 0, len);
		for (i = 0; *after != ':' && i < len; i += json_unit(p + 1 + i))
			for (k = 0; k < npat; k++) {
				size_t l = strlen(pat[k]);

				if (len - i >= l && memcmp(p + 1 + i, pat[k], l) == 0)
					memset(hide + i, 1, l);
			}
		jr_buf_addch(&b, '"');
		for (i = 0; i < len;) {
			if (!hide[i]) {
				jr_buf_add(&b, p + 1 + i, json_unit(p + 1 + i));
				i += json_unit(p + 1 + i);
				continue;
			}
			jr_buf_adds(&b, "***");
			while (i < len && hide[i])
				i++;
		}
		if (*q)
			jr_buf_addch(&b, '"');
		p = *q ? q + 1 : q;
	}
	for (k = 0; k < npat; k++)
		free(pat[k]);
	free(pat);
	free(hide);
	free(json);
	return jr_buf_detach(&b, NULL);
}

void jr_job_finish(struct jr_job *job)
{
	static const char *const conc[] = {"forbid", "allow", "queue"};
	struct jobj o = {0}, env = {0}, retry = {0};
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	/* Members in key order, so that done() has nothing to sort. */
	put(&env, "inherit", job->env_inherit_all ? jstr("all") : jstrv(&job->env_inherit));
	/* A list given in the file passes only those: no LC_ALL=C, which the
	 * default (the same common list, filled in) adds. */
	if (!job->env_inherit_all && !job->env_inherit_default)
		put(&env, "inherit_only", jr_xstrdup("true"));
	put(&env, "secret", jstrv(&job->env_secret));
	put(&env, "set", jkv(job->env_set, job->nenv_set, job));
	put(&retry, "backoff", jr_xasprintf("%.17g", job->retry.backoff));
	put(&retry, "count", jint(job->retry.count));
	put(&retry, "delay_ms", jint(job->retry.delay_ms));
	put(&o, "backends", jstrv(&job->backends));
	put(&o, "command", job->command.n ? jstrv(&job->command) : jr_xstrdup("null"));
	put(&o, "concurrency", jstr(conc[job->concurrency]));
	put(&o, "cwd", jstr(job->cwd));
	put(&o, "description", jstr(job->description));
	put(&o, "env", done(&env));
	put(&o, "fds", jfds(job));
	put(&o, "group", jstr(job->group));
	put(&o, "image", jimage(job->image));
	put(&o, "kill_grace_ms", jint(job->kill_grace_ms));
	put(&o, "limits", jlimits(job));
	put(&o, "name", jstr(job->name));
	put(&o, "needs", jstrv(&job->needs));
	put(&o, "on_failure", jargvs(job->on_failure, job->non_failure));
	put(&o, "on_success", jargvs(job->on_success, job->non_success));
	put(&o, "retries", done(&retry));
	put(&o, "schedule", jstr(job->schedule));
	put(&o, "shell", jstr(job->shell));
	put(&o, "slurm", jslurm(&job->slurm));
	put(&o, "stderr", jio(&job->err));
	put(&o, "stdin", jio(&job->in));
	put(&o, "stdout", jio(&job->out));
	put(&o, "tags", jstrv(&job->tags));
	put(&o, "targets", jtargets(job));
	put(&o, "timeout_ms", job->timeout_ms ? jint(job->timeout_ms) : jr_xstrdup("null"));
	put(&o, "umask", jr_xasprintf("\"%04o\"", (unsigned)job->umask));
	put(&o, "user", jstr(job->user));
	free(job->canonical_json);
	job->canonical_json = jr_job_redact_json(job, done(&o));

	pthread_once(&sha256_once, sha256_fetch);
	if (!EVP_Digest(job->canonical_json, strlen(job->canonical_json), md, &mdlen,
			sha256_md ? sha256_md : EVP_sha256(), NULL) ||
	    mdlen != 32) {
		/* Only on a broken libcrypto; an all-zero hash would alias. */
		fprintf(stderr, "jobrunner: SHA-256 failed\n");
		abort();
	}
	for (i = 0; i < mdlen; i++) {
		job->hash[2 * i] = "0123456789abcdef"[md[i] >> 4];
		job->hash[2 * i + 1] = "0123456789abcdef"[md[i] & 15];
	}
	job->hash[2 * mdlen] = '\0';
}

const char **jr_job_secret_values(const struct jr_job *job, bool env)
{
	const char **vals = jr_xmalloc((job->nenv_set + job->env_secret.n + 1) * sizeof(*vals));
	size_t i, n = 0;

	for (i = 0; i < job->nenv_set; i++)
		if (job->env_set[i].value[0] && is_secret(job, job->env_set[i].key))
			vals[n++] = job->env_set[i].value;
	/* From the environment, as the job gets them (backend.c): the names
	 * env.set does not give. */
	for (i = 0; env && i < job->env_secret.n; i++) {
		const char *v = getenv(job->env_secret.v[i]);
		size_t k;

		for (k = 0; k < job->nenv_set; k++)
			if (!strcmp(job->env_set[k].key, job->env_secret.v[i]))
				break;
		if (v && *v && k == job->nenv_set)
			vals[n++] = v;
	}
	vals[n] = NULL;
	return vals;
}

char *jr_job_redact_dup(const struct jr_job *job, const char *text, const char *const *extra_values)
{
	const char **mine = job ? jr_job_secret_values(job, false) : NULL;
	const char **vals;
	size_t n = 0, i;
	char *red;

	for (i = 0; extra_values && extra_values[i]; i++)
		;
	vals = jr_xmalloc(((job ? job->nenv_set : 0) + i + 1) * sizeof(*vals));
	for (i = 0; mine && mine[i]; i++)
		vals[n++] = mine[i];
	for (i = 0; extra_values && extra_values[i]; i++)
		vals[n++] = extra_values[i];
	vals[n] = NULL;
	red = jr_redact(text, vals, false);
	free(mine);
	free(vals);
	return red;
}
