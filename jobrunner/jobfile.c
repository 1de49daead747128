/* jobfile: YAML job files -> validated struct jr_job.
 *
 * The node tree comes from jobfile_yaml.c; this file walks it key by key.
 * Every problem is reported (never only the first) with the position of the
 * node at fault, the key's path (e.g. "retries.count") and what was expected.
 * A job with any error is not added to the set. */
#include "jobfile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobfile_yaml.h"
#include "util.h"

#include "banned.h"

const char *const jr_known_backends[] = {"local", "container", "slurm", "none", NULL};

static const char *const common_env[] = {"PATH", "HOME", "USER", "LOGNAME",
					 "TMPDIR", "LANG", "TZ", NULL};

#define JR_MAX_FILE_ERRORS 100 /* reported per file; the rest are counted */

struct ctx {
	const char *file;
	const char *basedir; /* absolute */
	struct jr_diags *d;
	size_t nerr;
	struct jr_strv *invalid; /* names of the jobs left out for their errors */
};

JR_PRINTF(3, 4)
static void err_at(struct ctx *c, const struct jr_ynode *n, const char *fmt, ...)
{
	va_list ap;

	/* Bounded output for hostile files: the first errors are the useful ones. */
	if (c->nerr++ >= JR_MAX_FILE_ERRORS)
		return;
	va_start(ap, fmt);
	jr_diags_vadd(c->d, c->file, n ? n->line : 0, n ? n->col : 0, fmt, ap);
	va_end(ap);
}

/* ---- small helpers ---------------------------------------------------- */

static void strv_push(struct jr_strv *v, const char *s)
{
	/* Capacity is the next power of two, so pushes are amortized O(1). */
	if (v->n == 0 || ((v->n + 1) & v->n) == 0)
		v->v = jr_xrealloc(v->v, 2 * (v->n + 1) * sizeof(*v->v));
	v->v[v->n++] = jr_xstrdup(s);
	v->v[v->n] = NULL;
}

static void strv_release(struct jr_strv *v)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

static bool strv_has(const struct jr_strv *v, const char *s)
{
	size_t i;

	for (i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return true;
	return false;
}

static const char *kind_str(const struct jr_ynode *n)
{
	if (n->kind == JR_YNODE_MAP)
		return "a mapping";
	if (n->kind == JR_YNODE_SEQ)
		return "a list";
	if (n->is_null)
		return "nothing (null)";
	return "a string";
}

/* Shows a scalar in a message, shortened and with non-printables as '?'. */
static const char *shown(const struct jr_ynode *n, char *buf, size_t len)
{
	size_t i, j = 0;

	for (i = 0; i < n->len && j + 4 < len; i++) {
		unsigned char ch = (unsigned char)n->s[i];

		buf[j++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
	}
	if (i < n->len && j + 4 <= len) {
		memcpy(buf + j, "...", 3);
		j += 3;
	}
	buf[j] = '\0';
	return buf;
}

/* The closest of known (NULL-terminated) to s, when a likely typo of it. */
static const char *closest(const char *s, const char *const *known)
{
	size_t n = 0;

	while (known[n])
		n++;
	return jr_closest(s, known, n);
}

static void err_unknown(struct ctx *c, const struct jr_ynode *key, const char *what,
			const char *const *known)
{
	char sb[80];
	const char *hint = closest(key->s, known);
	struct jr_buf b = JR_BUF_INIT;
	size_t i;

	jr_buf_init(&b);
	for (i = 0; known[i]; i++)
		jr_buf_addf(&b, "%s%s", i ? ", " : "", known[i]);
	if (hint)
		err_at(c, key, "unknown key '%s' in %s; did you mean '%s'?",
		       shown(key, sb, sizeof(sb)), what, hint);
	else
		err_at(c, key, "unknown key '%s' in %s (expected one of: %s)",
		       shown(key, sb, sizeof(sb)), what, b.buf);
	jr_buf_release(&b);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct sref {
	const char *s;
	size_t len, i;
};

static int sref_cmp(const void *a, const void *b)
{
	const struct sref *x = a, *y = b;
	size_t l = x->len < y->len ? x->len : y->len;
	int r = memcmp(x->s, y->s, l);

	if (r)
		return r;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return x->i < y->i ? -1 : x->i > y->i;
}

/* For the scalars among items[0], items[stride], ... (n of them), sets
 * first[k] to the index k' < k of the first equal scalar, or SIZE_MAX.
 * Sorting keeps this O(n log n) on hostile input. */
static void find_dups(struct jr_ynode *const *items, size_t n, size_t stride, size_t *first)
{
	struct sref *r = jr_xcalloc(n + 1, sizeof(*r));
	size_t k, m = 0, run = 0;

	for (k = 0; k < n; k++) {
		const struct jr_ynode *it = items[k * stride];

		first[k] = SIZE_MAX;
		if (it->kind == JR_YNODE_SCALAR && !it->is_null) {
			r[m].s = it->s;
			r[m].len = it->len;
			r[m].i = k;
			m++;
		}
	}
	if (m > 1)
		qsort(r, m, sizeof(*r), sref_cmp);
	for (k = 1; k < m; k++) {
		if (r[k].len == r[run].len && memcmp(r[k].s, r[run].s, r[k].len) == 0)
			first[r[k].i] = r[run].i;
		else
			run = k;
	}
	free(r);
}

/* Checks a mapping's keys: scalars, no duplicates, all known. */
static void check_keys(struct ctx *c, const struct jr_ynode *map, const char *what,
		       const char *const *known)
{
	size_t i, npairs = map->n / 2;
	size_t *first = jr_xcalloc(npairs + 1, sizeof(*first));
	char sb[80];

	find_dups(map->kid, npairs, 2, first);
	for (i = 0; i + 1 < map->n; i += 2) {
		const struct jr_ynode *k = map->kid[i];

		if (k->kind != JR_YNODE_SCALAR) {
			err_at(c, k, "%s: keys must be plain strings, got %s", what, kind_str(k));
			continue;
		}
		if (first[i / 2] != SIZE_MAX)
			err_at(c, k, "duplicate key '%s' in %s (first at line %d)",
			       shown(k, sb, sizeof(sb)), what, map->kid[2 * first[i / 2]]->line);
		if (known) {
			size_t m;

			for (m = 0; known[m]; m++)
				if (strcmp(known[m], k->s) == 0)
					break;
			if (!known[m])
				err_unknown(c, k, what, known);
		}
	}
	free(first);
}

static const struct jr_ynode *map_get(const struct jr_ynode *map, const char *key)
{
	size_t i;

	for (i = 0; i + 1 < map->n; i += 2)
		if (map->kid[i]->kind == JR_YNODE_SCALAR && strcmp(map->kid[i]->s, key) == 0)
			return map->kid[i + 1];
	return NULL;
}

static bool want_kind(struct ctx *c, const struct jr_ynode *n, enum jr_ynode_kind kind,
		      const char *key, const char *expected)
{
	if (n->kind == kind && !(kind == JR_YNODE_SCALAR && n->is_null))
		return true;
	err_at(c, n, "%s: expected %s, got %s", key, expected, kind_str(n));
	return false;
}

/* A string value, duplicated; NULL after an error. */
static char *get_str(struct ctx *c, const struct jr_ynode *n, const char *key)
{
	if (!want_kind(c, n, JR_YNODE_SCALAR, key, "a string"))
		return NULL;
	return jr_xstrdup(n->s);
}

/* Whether a scalar is one line of text: no control character but tab (C0,
 * DEL, C1) and no Unicode line or paragraph separator. The file's raw text
 * was checked before parsing, but YAML escapes ("\n", "\x1b") and block
 * scalars bring line breaks and escape sequences here; in a description
 * they would break `jobrunner list`. Reports the first one found. */
static bool check_line(struct ctx *c, const struct jr_ynode *n, const char *key)
{
	const unsigned char *s = (const unsigned char *)n->s;
	size_t i = 0, l;
	uint32_t cp;

	while (i < n->len) {
		l = jr_utf8_len(s + i, n->len - i, &cp);
		if (l == 0) { /* libyaml hands over UTF-8; judge the byte if not */
			cp = s[i];
			l = 1;
		}
		if ((cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 ||
		    cp == 0x2029) {
			err_at(c, n, "%s: expected one line of text, got %s U+%04X%s", key,
			       cp >= 0x2028 ? "line separator" : "control character", (unsigned)cp,
			       cp == '\n' && i + 1 == n->len
				   ? " at its end (a '>' or '|' block keeps its last line break; "
				     "'>-' drops it)"
				   : "");
			return false;
		}
		i += l;
	}
	return true;
}

/* A string value that must be one line, duplicated; NULL after an error. */
static char *get_line(struct ctx *c, const struct jr_ynode *n, const char *key)
{
	if (!want_kind(c, n, JR_YNODE_SCALAR, key, "a string") || !check_line(c, n, key))
		return NULL;
	return jr_xstrdup(n->s);
}

static bool get_bool(struct ctx *c, const struct jr_ynode *n, const char *key, bool *out)
{
	/* clang-format off */
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
					  "on", "On", "ON", NULL};
	static const char *const no[] = {"false", "False", "FALSE", "no", "No", "NO",
					 "off", "Off", "OFF", NULL};
	/* clang-format on */
	size_t i;
	char sb[80];

	if (n->kind == JR_YNODE_SCALAR && n->plain) {
		for (i = 0; yes[i]; i++)
			if (strcmp(n->s, yes[i]) == 0) {
				*out = true;
				return true;
			}
		for (i = 0; no[i]; i++)
			if (strcmp(n->s, no[i]) == 0) {
				*out = false;
				return true;
			}
	}
	if (n->kind == JR_YNODE_SCALAR)
		err_at(c, n, "%s: expected true or false, got '%s'", key, shown(n, sb, sizeof(sb)));
	else
		err_at(c, n, "%s: expected true or false, got %s", key, kind_str(n));
	return false;
}

static bool get_int(struct ctx *c, const struct jr_ynode *n, const char *key, int64_t min,
		    int64_t max, int64_t *out)
{
	char sb[80];

	if (!want_kind(c, n, JR_YNODE_SCALAR, key, "an integer"))
		return false;
	if (jr_parse_i64(n->s, min, max, out) < 0) {
		err_at(c, n, "%s: expected an integer from %lld to %lld, got '%s'", key,
		       (long long)min, (long long)max, shown(n, sb, sizeof(sb)));
		return false;
	}
	return true;
}

static bool get_duration(struct ctx *c, const struct jr_ynode *n, const char *key, int64_t *out)
{
	char sb[80];

	if (!want_kind(c, n, JR_YNODE_SCALAR, key, "a duration (90, 90s, 15m, 2h, 1d, 1h30m)"))
		return false;
	if (jr_parse_duration_ms(n->s, out) < 0) {
		err_at(c, n,
		       "%s: expected a duration like 90, 90s, 15m, 2h, 1d or 1h30m, got '%s'%s",
		       key, shown(n, sb, sizeof(sb)), errno == ERANGE ? " (too large)" : "");
		return false;
	}
	return true;
}

/* A path (non-empty string), made absolute. */
static char *get_path(struct ctx *c, const struct jr_ynode *n, const char *key)
{
	if (!want_kind(c, n, JR_YNODE_SCALAR, key, "a path"))
		return NULL;
	if (n->len == 0) {
		err_at(c, n, "%s: expected a path, got an empty string", key);
		return NULL;
	}
	return jr_path_abs(c->basedir, n->s);
}

static bool env_name_valid(const char *s)
{
	size_t i;

	if (!s[0] || isdigit((unsigned char)s[0]))
		return false;
	for (i = 0; s[i]; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return i <= 256;
}

static bool word_valid(const char *s)
{
	size_t i;

	if (!s[0])
		return false;
	for (i = 0; s[i]; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-' ||
		      s[i] == '+' || s[i] == ':' || s[i] == '/'))
			return false;
	return i <= 128;
}

bool jr_machine_tag_valid(const char *t)
{
	size_t i;

	for (i = 0; t[i]; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
		      (t[i] >= '0' && t[i] <= '9') || t[i] == '_' || t[i] == '.' || t[i] == ':' ||
		      t[i] == '-'))
			return false;
	return i > 0 && i <= 64;
}

bool jr_job_name_valid(const char *name)
{
	size_t i;

	if (!name || !name[0] || name[0] == '.' || name[0] == '-')
		return false;
	for (i = 0; name[i]; i++)
		if (!(isalnum((unsigned char)name[i]) || name[i] == '_' || name[i] == '.' ||
		      name[i] == '-') ||
		    (unsigned char)name[i] >= 0x80)
			return false;
	return i <= 64;
}

typedef bool (*item_check_fn)(const char *);

/* A list of strings; check (may be NULL) validates each, what says what is
 * expected of an item. Duplicates are refused when nodup. */
static void get_strv(struct ctx *c, const struct jr_ynode *n, const char *key, struct jr_strv *out,
		     item_check_fn check, const char *what, bool nodup, struct jr_pos **pos)
{
	size_t i, *first;
	char sb[80];

	if (!want_kind(c, n, JR_YNODE_SEQ, key, "a list of strings"))
		return;
	first = jr_xcalloc(n->n + 1, sizeof(*first));
	if (nodup)
		find_dups(n->kid, n->n, 1, first);
	else
		for (i = 0; i < n->n; i++)
			first[i] = SIZE_MAX;
	if (pos) {
		free(*pos);
		*pos = jr_xcalloc(n->n + 1, sizeof(**pos));
	}
	for (i = 0; i < n->n; i++) {
		const struct jr_ynode *it = n->kid[i];

		if (it->kind != JR_YNODE_SCALAR || it->is_null) {
			err_at(c, it, "%s[%zu]: expected a string, got %s", key, i, kind_str(it));
			continue;
		}
		if (check && !check(it->s)) {
			err_at(c, it, "%s[%zu]: '%s' is not %s", key, i, shown(it, sb, sizeof(sb)),
			       what);
			continue;
		}
		if (first[i] != SIZE_MAX) {
			err_at(c, it, "%s[%zu]: '%s' is listed twice", key, i,
			       shown(it, sb, sizeof(sb)));
			continue;
		}
		strv_push(out, it->s);
		if (pos) {
			(*pos)[out->n - 1].line = it->line;
			(*pos)[out->n - 1].col = it->col;
		}
	}
	free(first);
}

/* An argv: a non-empty list of strings, the first non-empty. */
static bool get_argv(struct ctx *c, const struct jr_ynode *n, const char *key, struct jr_strv *out)
{
	size_t before = c->nerr, i;

	if (!want_kind(c, n, JR_YNODE_SEQ, key, "a list of strings (an argv)"))
		return false;
	if (n->n == 0) {
		err_at(c, n,
		       "%s: expected a non-empty list of strings (an argv), got an empty list",
		       key);
		return false;
	}
	for (i = 0; i < n->n; i++) {
		const struct jr_ynode *it = n->kid[i];

		if (it->kind != JR_YNODE_SCALAR || it->is_null)
			err_at(c, it, "%s[%zu]: expected a string, got %s (quote it)", key, i,
			       kind_str(it));
		else if (i == 0 && it->len == 0)
			err_at(c, it, "%s[0]: the program name is empty", key);
		else
			strv_push(out, it->s);
	}
	if (c->nerr != before) {
		strv_release(out);
		return false;
	}
	return true;
}

static void get_argv_list(struct ctx *c, const struct jr_ynode *n, const char *key,
			  struct jr_strv **out, size_t *nout)
{
	size_t i;
	char k[96];

	if (!want_kind(c, n, JR_YNODE_SEQ, key, "a list of argv lists"))
		return;
	*out = jr_xcalloc(n->n + 1, sizeof(**out));
	for (i = 0; i < n->n; i++) {
		snprintf(k, sizeof(k), "%s[%zu]", key, i);
		if (get_argv(c, n->kid[i], k, &(*out)[*nout]))
			(*nout)++;
	}
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct jr_kv *)a)->key, ((const struct jr_kv *)b)->key);
}

enum text_kind {
	TEXT_ANY,  /* any text, line breaks included */
	TEXT_LINE, /* one line (check_line) */
};

/* A mapping of string -> string (scalars of any style); keys checked by check,
 * values as values says. */
static void get_kvmap(struct ctx *c, const struct jr_ynode *n, const char *key, struct jr_kv **out,
		      size_t *nout, item_check_fn check, const char *what, enum text_kind values)
{
	size_t i;
	char sb[80];

	if (!want_kind(c, n, JR_YNODE_MAP, key, "a mapping of strings"))
		return;
	check_keys(c, n, key, NULL);
	*out = jr_xcalloc(n->n / 2 + 1, sizeof(**out));
	for (i = 0; i + 1 < n->n; i += 2) {
		const struct jr_ynode *k = n->kid[i], *v = n->kid[i + 1];

		if (k->kind != JR_YNODE_SCALAR)
			continue;
		if (check && !check(k->s)) {
			err_at(c, k, "%s: '%s' is not %s", key, shown(k, sb, sizeof(sb)), what);
			continue;
		}
		if (v->kind != JR_YNODE_SCALAR || v->is_null) {
			err_at(c, v, "%s.%s: expected a string, got %s", key,
			       shown(k, sb, sizeof(sb)), kind_str(v));
			continue;
		}
		if (values == TEXT_LINE) {
			char vk[96];

			snprintf(vk, sizeof(vk), "%s.%s", key, shown(k, sb, sizeof(sb)));
			if (!check_line(c, v, vk))
				continue;
		}
		(*out)[*nout].key = jr_xstrdup(k->s);
		(*out)[*nout].value = jr_xstrdup(v->s);
		(*nout)++;
	}
	/* Duplicate keys were reported by check_keys. */
	if (*nout > 1)
		qsort(*out, *nout, sizeof(**out), kv_cmp);
}

static int enum_of(struct ctx *c, const struct jr_ynode *n, const char *key,
		   const char *const *names)
{
	size_t i;
	char sb[80];
	struct jr_buf b = JR_BUF_INIT;
	const char *hint;

	if (n->kind == JR_YNODE_SCALAR && !n->is_null)
		for (i = 0; names[i]; i++)
			if (strcmp(n->s, names[i]) == 0)
				return (int)i;
	jr_buf_init(&b);
	for (i = 0; names[i]; i++)
		jr_buf_addf(&b, "%s%s", i ? (names[i + 1] ? ", " : " or ") : "", names[i]);
	if (n->kind != JR_YNODE_SCALAR || n->is_null) {
		err_at(c, n, "%s: expected %s, got %s", key, b.buf, kind_str(n));
	} else {
		hint = closest(n->s, names);
		err_at(c, n, "%s: expected %s, got '%s'%s%s%s", key, b.buf,
		       shown(n, sb, sizeof(sb)), hint ? "; did you mean '" : "", hint ? hint : "",
		       hint ? "'?" : "");
	}
	jr_buf_release(&b);
	return -1;
}

/* ---- keys ------------------------------------------------------------- */

static void io_release(struct jr_io *io)
{
	free(io->path);
	free(io->data);
	memset(io, 0, sizeof(*io));
}

static const char *const stdin_keys[] = {"file", "data", NULL};
static const char *const stdout_keys[] = {"file", "append", NULL};

static void parse_io(struct ctx *c, const struct jr_ynode *n, const char *key, struct jr_io *io,
		     int which /* 0 stdin 1 stdout 2 stderr */)
{
	static const char *const out_words[] = {"log", "null", "inherit", NULL};
	static const char *const err_words[] = {"log", "null", "inherit", "stdout", NULL};
	static const char *const in_words[] = {"null", NULL};
	static const enum jr_io_kind kinds[] = {JR_IO_LOG, JR_IO_NULL, JR_IO_INHERIT, JR_IO_STDOUT};
	const struct jr_ynode *f, *v;
	int i;

	if (n->kind == JR_YNODE_SCALAR) {
		if (n->is_null) {
			io->kind = JR_IO_NULL;
			return;
		}
		if (which == 0) {
			if (enum_of(c, n, key, in_words) == 0)
				io->kind = JR_IO_NULL;
			return;
		}
		i = enum_of(c, n, key, which == 1 ? out_words : err_words);
		if (i >= 0)
			io->kind = kinds[i];
		return;
	}
	if (n->kind != JR_YNODE_MAP) {
		err_at(c, n, "%s: expected %s, got a list", key,
		       which == 0 ? "null, {file: PATH} or {data: STRING}"
				  : "log, null, inherit or {file: PATH, append: BOOL}");
		return;
	}
	check_keys(c, n, key, which == 0 ? stdin_keys : stdout_keys);
	f = map_get(n, "file");
	if (which == 0 && (v = map_get(n, "data"))) {
		if (f) {
			err_at(c, v, "%s: give either 'file' or 'data', not both", key);
			return;
		}
		if (want_kind(c, v, JR_YNODE_SCALAR, "stdin.data", "a string")) {
			io->kind = JR_IO_DATA;
			io->data = jr_xstrndup(v->s, v->len);
			io->data_len = v->len;
		}
		return;
	}
	if (!f) {
		err_at(c, n, "%s: missing 'file'%s", key, which == 0 ? " or 'data'" : "");
		return;
	}
	io->path = get_path(c, f,
			    which == 0	 ? "stdin.file"
			    : which == 1 ? "stdout.file"
					 : "stderr.file");
	if (!io->path)
		return;
	io->kind = JR_IO_FILE;
	if (which != 0 && (v = map_get(n, "append")))
		get_bool(c, v, which == 1 ? "stdout.append" : "stderr.append", &io->append);
}

/* What jobrunner sets in a job's environment after the job's own variables
 * (backend.c), and in its hooks' (sched.c): a job file naming one would be
 * silently overridden. */
/* clang-format off */
static const char *const jobrunner_env[] = {
	"JOBRUNNER_JOB", "JOBRUNNER_RUN_ID", "JOBRUNNER_ATTEMPT", "JOBRUNNER_STATUS",
	"JOBRUNNER_EXIT_CODE", NULL
};
/* clang-format on */

/* Reports the names jobrunner sets among the items of a list or the keys of
 * a mapping. */
static void refuse_jobrunner_env(struct ctx *c, const struct jr_ynode *n, const char *key,
				 const char *verb)
{
	size_t i, k;

	for (i = 0; i < n->n; i += n->kind == JR_YNODE_MAP ? 2 : 1) {
		const struct jr_ynode *it = n->kid[i];

		if (it->kind != JR_YNODE_SCALAR)
			continue;
		for (k = 0; jobrunner_env[k]; k++)
			if (strcmp(it->s, jobrunner_env[k]) == 0)
				err_at(c, it, "%s: %s is set by jobrunner; a job file cannot %s it",
				       key, jobrunner_env[k], verb);
	}
}

static void parse_env(struct ctx *c, const struct jr_ynode *n, struct jr_job *job)
{
	static const char *const keys[] = {"inherit", "set", "secret", NULL};
	const struct jr_ynode *v;

	if (!want_kind(c, n, JR_YNODE_MAP, "env", "a mapping with inherit, set, secret"))
		return;
	check_keys(c, n, "env", keys);
	if ((v = map_get(n, "inherit"))) {
		strv_release(&job->env_inherit);
		job->env_inherit_default = false;
		if (v->kind == JR_YNODE_SCALAR && !v->is_null && strcmp(v->s, "all") == 0)
			job->env_inherit_all = true;
		else if (v->kind == JR_YNODE_SCALAR)
			err_at(c, v,
			       "env.inherit: expected a list of variable names or 'all', got %s",
			       v->is_null ? "nothing (null)" : "a string other than 'all'");
		else
			get_strv(c, v, "env.inherit", &job->env_inherit, env_name_valid,
				 "a variable name ([A-Za-z_][A-Za-z0-9_]*)", true, NULL);
		refuse_jobrunner_env(c, v, "env.inherit", "inherit");
	}
	if ((v = map_get(n, "set"))) {
		get_kvmap(c, v, "env.set", &job->env_set, &job->nenv_set, env_name_valid,
			  "a variable name ([A-Za-z_][A-Za-z0-9_]*)", TEXT_ANY);
		refuse_jobrunner_env(c, v, "env.set", "set");
	}
	if ((v = map_get(n, "secret")))
		get_strv(c, v, "env.secret", &job->env_secret, env_name_valid,
			 "a variable name ([A-Za-z_][A-Za-z0-9_]*)", true, NULL);
}

static void parse_fds(struct ctx *c, const struct jr_ynode *n, struct jr_job *job)
{
	static const char *const keys[] = {"fd", "file", "mode", NULL};
	static const char *const modes[] = {"r", "w", "a", "rw", NULL};
	static const enum jr_fd_mode mode_v[] = {JR_FD_READ, JR_FD_WRITE, JR_FD_APPEND,
						 JR_FD_READWRITE};
	bool seen[1025] = {false};
	size_t i;
	char k[64];

	if (!want_kind(c, n, JR_YNODE_SEQ, "fds", "a list of {fd, file, mode}"))
		return;
	job->fds = jr_xcalloc(n->n + 1, sizeof(*job->fds));
	for (i = 0; i < n->n; i++) {
		const struct jr_ynode *it = n->kid[i], *v;
		struct jr_fd_spec fs = {-1, NULL, JR_FD_READ};
		int64_t fd;
		size_t before = c->nerr;

		snprintf(k, sizeof(k), "fds[%zu]", i);
		if (!want_kind(c, it, JR_YNODE_MAP, k,
			       "a mapping {fd: N, file: PATH, mode: r|w|a|rw}"))
			continue;
		check_keys(c, it, k, keys);
		if (!(v = map_get(it, "fd"))) {
			err_at(c, it, "%s: missing 'fd' (a descriptor number from 3 to 1024)", k);
		} else if (get_int(c, v, "fd", 3, 1024, &fd)) {
			fs.fd = (int)fd;
			if (seen[fd])
				err_at(c, v, "%s.fd: descriptor %d is given twice", k, fs.fd);
			seen[fd] = true;
		}
		if (!(v = map_get(it, "file")))
			err_at(c, it, "%s: missing 'file'", k);
		else
			fs.path = get_path(c, v, "fds.file");
		if ((v = map_get(it, "mode"))) {
			int m = enum_of(c, v, "fds.mode", modes);

			if (m >= 0)
				fs.mode = mode_v[m];
		}
		if (c->nerr != before) {
			free(fs.path);
			continue;
		}
		job->fds[job->nfds++] = fs;
	}
}

static void parse_retries(struct ctx *c, const struct jr_ynode *n, struct jr_job *job)
{
	static const char *const keys[] = {"count", "delay", "backoff", NULL};
	const struct jr_ynode *v;
	int64_t count;
	char sb[80];

	if (n->kind == JR_YNODE_SCALAR) {
		if (get_int(c, n, "retries", 0, 1000, &count))
			job->retry.count = (int)count;
		return;
	}
	if (!want_kind(c, n, JR_YNODE_MAP, "retries", "an integer or {count, delay, backoff}"))
		return;
	check_keys(c, n, "retries", keys);
	if (!(v = map_get(n, "count")))
		err_at(c, n, "retries: missing 'count' (an integer from 0 to 1000)");
	else if (get_int(c, v, "retries.count", 0, 1000, &count))
		job->retry.count = (int)count;
	if ((v = map_get(n, "delay")))
		get_duration(c, v, "retries.delay", &job->retry.delay_ms);
	if ((v = map_get(n, "backoff")) &&
	    want_kind(c, v, JR_YNODE_SCALAR, "retries.backoff", "a number from 1 to 100")) {
		char *end = NULL;
		double b;

		errno = 0;
		b = strtod(v->s, &end);
		if (!v->len || !isdigit((unsigned char)v->s[0]) || *end || errno || !(b >= 1.0) ||
		    b > 100.0)
			err_at(c, v, "retries.backoff: expected a number from 1 to 100, got '%s'",
			       shown(v, sb, sizeof(sb)));
		else
			job->retry.backoff = b;
	}
}

static void parse_limits(struct ctx *c, const struct jr_ynode *n, struct jr_job *job)
{
	static const char *const keys[] = {"nofile", "nproc", "cpu", "as", "fsize", "core", NULL};
	size_t i;
	char k[32], sb[80];

	if (!want_kind(c, n, JR_YNODE_MAP, "limits", "a mapping (nofile nproc cpu as fsize core)"))
		return;
	check_keys(c, n, "limits", keys);
	for (i = 0; i < JR_LIMIT_COUNT; i++) {
		const struct jr_ynode *v = map_get(n, keys[i]);
		int64_t iv;
		uint64_t uv;

		if (!v)
			continue;
		snprintf(k, sizeof(k), "limits.%s", keys[i]);
		if (!want_kind(c, v, JR_YNODE_SCALAR, k, "a number or 'unlimited'"))
			continue;
		if (strcmp(v->s, "unlimited") == 0) {
			job->limit_set[i] = true;
			job->limit[i] = JR_LIMIT_UNLIMITED;
			continue;
		}
		switch (i) {
		case JR_LIMIT_NOFILE:
		case JR_LIMIT_NPROC:
			if (jr_parse_i64(v->s, 0, INT32_MAX, &iv) < 0) {
				err_at(c, v, "%s: expected an integer or 'unlimited', got '%s'", k,
				       shown(v, sb, sizeof(sb)));
				continue;
			}
			uv = (uint64_t)iv;
			break;
		case JR_LIMIT_CPU:
			if (jr_parse_duration_ms(v->s, &iv) < 0 || iv % 1000) {
				err_at(c, v,
				       "%s: expected whole seconds (90, 15m, 1h) or 'unlimited', "
				       "got '%s'",
				       k, shown(v, sb, sizeof(sb)));
				continue;
			}
			uv = (uint64_t)(iv / 1000);
			break;
		default:
			if (jr_parse_size(v->s, &uv) < 0 || uv == UINT64_MAX) {
				err_at(c, v,
				       "%s: expected a size (512, 64K, 10M, 2G) or 'unlimited', "
				       "got '%s'",
				       k, shown(v, sb, sizeof(sb)));
				continue;
			}
			break;
		}
		job->limit_set[i] = true;
		job->limit[i] = uv;
	}
}

static bool fact_name_valid(const char *s)
{
	size_t i;

	if (!s[0] || !(islower((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (i = 0; s[i]; i++)
		if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return i <= 64;
}

static void target_release(struct jr_target *t)
{
	size_t i;

	for (i = 0; i < t->nfacts; i++) {
		free(t->facts[i].key);
		free(t->facts[i].value);
	}
	free(t->facts);
	strv_release(&t->tags);
}

static void parse_targets(struct ctx *c, const struct jr_ynode *n, struct jr_job *job)
{
	size_t i, j;
	char k[64], sb[80], fkey[160];

	if (!want_kind(c, n, JR_YNODE_SEQ, "targets", "a list of mappings of machine facts"))
		return;
	if (n->n == 0) {
		err_at(
		    c, n,
		    "targets: expected at least one target (leave 'targets' out for any machine)");
		return;
	}
	job->targets = jr_xcalloc(n->n, sizeof(*job->targets));
	for (i = 0; i < n->n; i++) {
		const struct jr_ynode *it = n->kid[i];
		struct jr_target *t = &job->targets[job->ntargets];
		size_t before = c->nerr;

		snprintf(k, sizeof(k), "targets[%zu]", i);
		if (it->kind == JR_YNODE_SCALAR && !it->is_null) {
			err_at(c, it,
			       "%s: expected a mapping of facts like {arch: x86_64}, got a string",
			       k);
			continue;
		}
		if (!(it->kind == JR_YNODE_SCALAR && it->is_null) &&
		    !want_kind(c, it, JR_YNODE_MAP, k, "a mapping of machine facts"))
			continue;
		check_keys(c, it, k, NULL);
		t->facts = jr_xcalloc(it->n / 2 + 1, sizeof(*t->facts));
		for (j = 0; j + 1 < it->n; j += 2) {
			const struct jr_ynode *fk = it->kid[j], *fv = it->kid[j + 1];

			if (fk->kind != JR_YNODE_SCALAR)
				continue;
			if (strcmp(fk->s, "tags") == 0) {
				get_strv(c, fv, "targets.tags", &t->tags, jr_machine_tag_valid,
					 "a machine tag (1-64 of letters, digits, _ . : -)", true,
					 NULL);
				/* A set: sorted, so that their order is not in the hash. */
				if (t->tags.n > 1)
					qsort(t->tags.v, t->tags.n, sizeof(*t->tags.v), name_cmp);
				continue;
			}
			if (!fact_name_valid(fk->s)) {
				err_at(c, fk, "%s: '%s' is not a fact name ([a-z_][a-z0-9_]*)", k,
				       shown(fk, sb, sizeof(sb)));
				continue;
			}
			if (fv->kind != JR_YNODE_SCALAR || fv->is_null) {
				err_at(c, fv, "%s.%s: expected a string, got %s", k, fk->s,
				       kind_str(fv));
				continue;
			}
			snprintf(fkey, sizeof(fkey), "%s.%s", k, fk->s);
			if (!check_line(c, fv, fkey))
				continue;
			t->facts[t->nfacts].key = jr_xstrdup(fk->s);
			t->facts[t->nfacts].value = jr_xstrdup(fv->s);
			t->nfacts++;
		}
		if (t->nfacts > 1)
			qsort(t->facts, t->nfacts, sizeof(*t->facts), kv_cmp);
		if (c->nerr != before) {
			target_release(t);
			memset(t, 0, sizeof(*t));
			continue;
		}
		job->ntargets++;
	}
}

static void image_free(struct jr_image *im)
{
	size_t i;

	if (!im)
		return;
	free(im->base_rootfs);
	free(im->base_dir);
	for (i = 0; i < im->nprovides; i++) {
		free(im->provides[i].key);
		free(im->provides[i].value);
	}
	free(im->provides);
	for (i = 0; i < im->nsetup; i++)
		strv_release(&im->setup[i]);
	free(im->setup);
	for (i = 0; i < im->nmounts; i++) {
		free(im->mounts[i].source);
		free(im->mounts[i].target);
	}
	free(im->mounts);
	free(im);
}

static void parse_image(struct ctx *c, const struct jr_ynode *n, struct jr_job *job)
{
	static const char *const keys[] = {"base", "provides", "setup", "mounts", NULL};
	static const char *const base_keys[] = {"rootfs", "dir", NULL};
	static const char *const mount_keys[] = {"source", "target", "mode", NULL};
	static const char *const mount_modes[] = {"ro", "rw", NULL};
	const struct jr_ynode *v, *r, *d;
	struct jr_image *im;
	size_t i, before = c->nerr;
	char k[64];

	if (!want_kind(c, n, JR_YNODE_MAP, "image", "a mapping (base, provides, setup, mounts)"))
		return;
	check_keys(c, n, "image", keys);
	im = jr_xcalloc(1, sizeof(*im));
	if (!(v = map_get(n, "base"))) {
		err_at(c, n, "image: missing 'base' ({rootfs: TARBALL} or {dir: DIRECTORY})");
	} else if (want_kind(c, v, JR_YNODE_MAP, "image.base",
			     "{rootfs: TARBALL} or {dir: DIRECTORY}")) {
		check_keys(c, v, "image.base", base_keys);
		r = map_get(v, "rootfs");
		d = map_get(v, "dir");
		if (r && d)
			err_at(c, v, "image.base: give either 'rootfs' or 'dir', not both");
		else if (!r && !d)
			err_at(c, v,
			       "image.base: missing 'rootfs' (a tarball) or 'dir' (a directory)");
		else if (r)
			im->base_rootfs = get_path(c, r, "image.base.rootfs");
		else
			im->base_dir = get_path(c, d, "image.base.dir");
	}
	if ((v = map_get(n, "provides")))
		get_kvmap(c, v, "image.provides", &im->provides, &im->nprovides, fact_name_valid,
			  "a fact name ([a-z_][a-z0-9_]*)", TEXT_LINE);
	if ((v = map_get(n, "setup")))
		get_argv_list(c, v, "image.setup", &im->setup, &im->nsetup);
	if ((v = map_get(n, "mounts")) &&
	    want_kind(c, v, JR_YNODE_SEQ, "image.mounts", "a list of {source, target, mode}")) {
		im->mounts = jr_xcalloc(v->n + 1, sizeof(*im->mounts));
		for (i = 0; i < v->n; i++) {
			const struct jr_ynode *it = v->kid[i], *s, *t, *m;
			struct jr_mount *mt = &im->mounts[im->nmounts];

			snprintf(k, sizeof(k), "image.mounts[%zu]", i);
			if (!want_kind(c, it, JR_YNODE_MAP, k,
				       "a mapping {source, target, mode: ro|rw}"))
				continue;
			check_keys(c, it, k, mount_keys);
			mt->readonly = true;
			if (!(s = map_get(it, "source")))
				err_at(c, it, "%s: missing 'source'", k);
			else
				mt->source = get_path(c, s, "image.mounts.source");
			if (!(t = map_get(it, "target"))) {
				err_at(c, it, "%s: missing 'target'", k);
			} else if (want_kind(c, t, JR_YNODE_SCALAR, "image.mounts.target",
					     "an absolute path")) {
				if (t->s[0] != '/')
					err_at(c, t,
					       "image.mounts.target: expected an absolute path "
					       "inside the image, got '%s'",
					       t->s);
				else
					mt->target = jr_xstrdup(t->s);
			}
			if ((m = map_get(it, "mode")))
				mt->readonly = enum_of(c, m, "image.mounts.mode", mount_modes) != 1;
			if (mt->source && mt->target) {
				im->nmounts++;
			} else {
				free(mt->source);
				free(mt->target);
				memset(mt, 0, sizeof(*mt));
			}
		}
	}
	if (c->nerr != before) {
		image_free(im);
		return;
	}
	job->image = im;
}

static void parse_slurm(struct ctx *c, const struct jr_ynode *n, struct jr_job *job)
{
	static const char *const keys[] = {"partition", "cpus", "mem", "time",
					   "constraint", "account", NULL};
	const struct jr_ynode *v;
	struct jr_slurm_opts *s = &job->slurm;
	int64_t iv;
	uint64_t uv;
	char sb[80];

	if (!want_kind(c, n, JR_YNODE_MAP, "slurm",
		       "a mapping (partition cpus mem time constraint account)"))
		return;
	check_keys(c, n, "slurm", keys);
	if ((v = map_get(n, "partition")))
		s->partition = get_line(c, v, "slurm.partition");
	if ((v = map_get(n, "constraint")))
		s->constraint = get_line(c, v, "slurm.constraint");
	if ((v = map_get(n, "account")))
		s->account = get_line(c, v, "slurm.account");
	if ((v = map_get(n, "cpus")) && get_int(c, v, "slurm.cpus", 1, 100000, &iv))
		s->cpus = (int)iv;
	if ((v = map_get(n, "time")) && get_duration(c, v, "slurm.time", &iv)) {
		if (iv < 60000)
			err_at(c, v, "slurm.time: expected at least one minute, got '%s'", v->s);
		else
			s->time_ms = iv;
	}
	if ((v = map_get(n, "mem")) && want_kind(c, v, JR_YNODE_SCALAR, "slurm.mem", "a size")) {
		if (jr_parse_size(v->s, &uv) < 0 || uv == 0)
			err_at(c, v, "slurm.mem: expected a size like 512M or 4G, got '%s'",
			       shown(v, sb, sizeof(sb)));
		else
			s->mem = jr_xstrdup(v->s);
	}
}

bool jr_backend_name_known(const char *s)
{
	size_t i;

	for (i = 0; jr_known_backends[i]; i++)
		if (strcmp(jr_known_backends[i], s) == 0)
			return true;
	return false;
}

static void parse_backends(struct ctx *c, const struct jr_ynode *n, struct jr_job *job)
{
	size_t i;
	char sb[80];
	const char *hint;

	if (!want_kind(c, n, JR_YNODE_SEQ, "backends", "a list of backend names"))
		return;
	for (i = 0; i < n->n; i++) {
		const struct jr_ynode *it = n->kid[i];

		if (it->kind != JR_YNODE_SCALAR || it->is_null) {
			err_at(c, it, "backends[%zu]: expected a backend name, got %s", i,
			       kind_str(it));
		} else if (!jr_backend_name_known(it->s)) {
			hint = closest(it->s, jr_known_backends);
			if (hint)
				err_at(c, it,
				       "backends[%zu]: unknown backend '%s'; did you mean '%s'?", i,
				       shown(it, sb, sizeof(sb)), hint);
			else
				err_at(c, it,
				       "backends[%zu]: unknown backend '%s' (known: "
				       JR_KNOWN_BACKENDS_TEXT ")",
				       i, shown(it, sb, sizeof(sb)));
		} else if (strv_has(&job->backends, it->s)) {
			err_at(c, it, "backends[%zu]: '%s' is listed twice", i, it->s);
		} else {
			strv_push(&job->backends, it->s);
		}
	}
}

static bool umask_parse(const char *s, mode_t *out)
{
	size_t i;
	unsigned v = 0;

	if (!s[0] || strlen(s) > 4)
		return false;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '7')
			return false;
		v = v * 8 + (unsigned)(s[i] - '0');
	}
	if (v > 0777)
		return false;
	*out = (mode_t)v;
	return true;
}

static bool user_valid(const char *s)
{
	size_t i;

	if (!s[0] || s[0] == '-')
		return false;
	for (i = 0; s[i]; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == '.' || s[i] == '-' ||
		      (s[i] == '$' && !s[i + 1])))
			return false;
	return i <= 64;
}

/* clang-format off */
static const char *const job_keys[] = {
	"name", "description", "command", "shell", "cwd", "umask", "user", "group",
	"env", "stdin", "stdout", "stderr", "fds", "timeout", "kill_grace", "retries",
	"limits", "concurrency", "needs", "schedule", "tags", "backends", "targets",
	"image", "slurm", "on_failure", "on_success", NULL
};
/* clang-format on */

static void job_defaults(struct ctx *c, struct jr_job *job)
{
	size_t i;

	job->umask = 0022;
	job->kill_grace_ms = 10000;
	job->retry.backoff = 1.0;
	job->in.kind = JR_IO_NULL;
	job->out.kind = JR_IO_LOG;
	job->err.kind = JR_IO_LOG;
	job->concurrency = JR_CONC_FORBID;
	job->env_inherit_default = true;
	for (i = 0; common_env[i]; i++)
		strv_push(&job->env_inherit, common_env[i]);
	job->cwd = jr_xstrdup(c->basedir);
	job->source_file = jr_xstrdup(c->file);
}

/* Parses one job mapping. Returns the job, or NULL after reporting errors. */
static struct jr_job *parse_job(struct ctx *c, const struct jr_ynode *n)
{
	struct jr_job *job;
	const struct jr_ynode *v, *cmd, *sh;
	size_t before = c->nerr;
	int64_t iv;
	int e;
	char sb[80], cerr[256];
	static const char *const conc[] = {"forbid", "allow", "queue", NULL};

	if (n->kind != JR_YNODE_MAP) {
		err_at(c, n,
		       "a job must be a mapping with at least 'name' and 'command' (or 'shell'), "
		       "got %s",
		       kind_str(n));
		return NULL;
	}
	job = jr_xcalloc(1, sizeof(*job));
	job_defaults(c, job);
	job->source_line = n->line;
	check_keys(c, n, "job", job_keys);

	if (!(v = map_get(n, "name"))) {
		err_at(c, n,
		       "missing required key 'name' (a job name: [A-Za-z0-9_.-]{1,64}, not "
		       "starting with '.' or '-')");
	} else if (want_kind(c, v, JR_YNODE_SCALAR, "name", "a job name")) {
		if (!jr_job_name_valid(v->s) || v->len != strlen(v->s))
			err_at(c, v,
			       "name: '%s' is not a valid job name: expected 1 to 64 of A-Z a-z "
			       "0-9 _ . -, not starting with '.' or '-'%s",
			       shown(v, sb, sizeof(sb)), v->len > 64 ? " (too long)" : "");
		else
			job->name = jr_xstrdup(v->s);
		job->name_pos.line = v->line;
		job->name_pos.col = v->col;
	}
	if ((v = map_get(n, "description")))
		job->description = get_line(c, v, "description");
	cmd = map_get(n, "command");
	sh = map_get(n, "shell");
	if (cmd && sh)
		err_at(c, sh,
		       "give either 'command' (an argv list) or 'shell' (a string), not both");
	else if (!cmd && !sh)
		err_at(c, n,
		       "missing 'command' (a list of strings) or 'shell' (a string run by /bin/sh "
		       "-c)");
	if (cmd) {
		if (cmd->kind == JR_YNODE_SCALAR && !cmd->is_null)
			err_at(c, cmd,
			       "command: expected a list of strings such as [echo, hi], got a "
			       "string (use 'shell:' to run a shell command line)");
		else
			get_argv(c, cmd, "command", &job->command);
	}
	if (sh && (job->shell = get_str(c, sh, "shell")) && !job->shell[0])
		err_at(c, sh, "shell: expected a command line, got an empty string");
	if ((v = map_get(n, "cwd"))) {
		char *p = get_path(c, v, "cwd");

		if (p) {
			free(job->cwd);
			job->cwd = p;
		}
	}
	if ((v = map_get(n, "umask")) &&
	    want_kind(c, v, JR_YNODE_SCALAR, "umask", "an octal string like \"0022\"") &&
	    !umask_parse(v->s, &job->umask))
		err_at(c, v,
		       "umask: expected an octal mode from 0000 to 0777 like \"0022\", got '%s'",
		       shown(v, sb, sizeof(sb)));
	if ((v = map_get(n, "user")) && (job->user = get_str(c, v, "user")) &&
	    !user_valid(job->user))
		err_at(c, v, "user: '%s' is not a user name or id", shown(v, sb, sizeof(sb)));
	if ((v = map_get(n, "group")) && (job->group = get_str(c, v, "group")) &&
	    !user_valid(job->group))
		err_at(c, v, "group: '%s' is not a group name or id", shown(v, sb, sizeof(sb)));
	if ((v = map_get(n, "env")))
		parse_env(c, v, job);
	if ((v = map_get(n, "stdin")))
		parse_io(c, v, "stdin", &job->in, 0);
	if ((v = map_get(n, "stdout")))
		parse_io(c, v, "stdout", &job->out, 1);
	if ((v = map_get(n, "stderr")))
		parse_io(c, v, "stderr", &job->err, 2);
	if ((v = map_get(n, "fds")))
		parse_fds(c, v, job);
	if ((v = map_get(n, "timeout")) && get_duration(c, v, "timeout", &iv)) {
		if (iv == 0)
			err_at(
			    c, v,
			    "timeout: expected a positive duration (leave 'timeout' out for none)");
		job->timeout_ms = iv;
	}
	if ((v = map_get(n, "kill_grace")))
		get_duration(c, v, "kill_grace", &job->kill_grace_ms);
	if ((v = map_get(n, "retries")))
		parse_retries(c, v, job);
	if ((v = map_get(n, "limits")))
		parse_limits(c, v, job);
	if ((v = map_get(n, "concurrency")) && (e = enum_of(c, v, "concurrency", conc)) >= 0)
		job->concurrency = (enum jr_concurrency)e;
	if ((v = map_get(n, "needs")))
		get_strv(c, v, "needs", &job->needs, jr_job_name_valid, "a job name", true,
			 &job->needs_pos);
	if ((v = map_get(n, "schedule")) &&
	    want_kind(c, v, JR_YNODE_SCALAR, "schedule",
		      "a cron expression like \"0 3 * * *\" or @daily")) {
		if (jr_cron_parse(v->s, &job->cron, cerr, sizeof(cerr)) < 0)
			err_at(c, v, "schedule: bad cron expression '%s': %s",
			       shown(v, sb, sizeof(sb)), cerr);
		else
			job->schedule = jr_xstrdup(v->s);
	}
	if ((v = map_get(n, "tags")))
		get_strv(c, v, "tags", &job->tags, word_valid,
			 "a tag (1 to 128 of letters, digits and _ . - + : /)", true, NULL);
	if ((v = map_get(n, "backends")))
		parse_backends(c, v, job);
	if ((v = map_get(n, "targets")))
		parse_targets(c, v, job);
	if (job->ntargets == 0) {
		free(job->targets);
		job->targets = jr_xcalloc(1, sizeof(*job->targets));
		job->ntargets = 1;
	}
	if ((v = map_get(n, "image")))
		parse_image(c, v, job);
	if ((v = map_get(n, "slurm")))
		parse_slurm(c, v, job);
	if ((v = map_get(n, "on_failure")))
		get_argv_list(c, v, "on_failure", &job->on_failure, &job->non_failure);
	if ((v = map_get(n, "on_success")))
		get_argv_list(c, v, "on_success", &job->on_success, &job->non_success);

	if (c->nerr != before) {
		/* Remembered, so that a need on it is not called unknown. */
		if (job->name)
			strv_push(c->invalid, job->name);
		jr_job_free(job);
		return NULL;
	}
	jr_job_finish(job);
	return job;
}

void jr_job_free(struct jr_job *job)
{
	size_t i;

	if (!job)
		return;
	free(job->name);
	free(job->description);
	strv_release(&job->command);
	free(job->shell);
	free(job->cwd);
	free(job->user);
	free(job->group);
	strv_release(&job->env_inherit);
	for (i = 0; i < job->nenv_set; i++) {
		free(job->env_set[i].key);
		free(job->env_set[i].value);
	}
	free(job->env_set);
	strv_release(&job->env_secret);
	io_release(&job->in);
	io_release(&job->out);
	io_release(&job->err);
	for (i = 0; i < job->nfds; i++)
		free(job->fds[i].path);
	free(job->fds);
	strv_release(&job->needs);
	free(job->needs_pos);
	free(job->schedule);
	strv_release(&job->tags);
	strv_release(&job->backends);
	for (i = 0; i < job->ntargets; i++)
		target_release(&job->targets[i]);
	free(job->targets);
	image_free(job->image);
	free(job->slurm.partition);
	free(job->slurm.mem);
	free(job->slurm.constraint);
	free(job->slurm.account);
	if (job->on_failure)
		for (i = 0; i < job->non_failure; i++)
			strv_release(&job->on_failure[i]);
	free(job->on_failure);
	if (job->on_success)
		for (i = 0; i < job->non_success; i++)
			strv_release(&job->on_success[i]);
	free(job->on_success);
	free(job->source_file);
	free(job->canonical_json);
	free(job);
}

/* ---- files and sets --------------------------------------------------- */

static void set_add(struct jr_jobset *set, struct jr_job *job)
{
	jr_xgrow((void **)&set->jobs, &set->alloc, set->n + 1, sizeof(*set->jobs));
	set->jobs[set->n++] = job;
}

static char *abs_basedir(const char *basedir)
{
	char cwd[4096];

	if (basedir && basedir[0] == '/')
		return jr_xstrdup(basedir);
	if (!getcwd(cwd, sizeof(cwd)))
		return jr_xstrdup(basedir && basedir[0] ? basedir : ".");
	return jr_path_abs(cwd, basedir ? basedir : "");
}

/* In a top-level mapping without 'jobs', a key that is a likely typo of
 * 'jobs' (closer to it than to any key of a job) holding a list: the file
 * was meant to hold a list of jobs, and saying that a job misses its name
 * and command would hide the one real mistake. */
static const struct jr_ynode *jobs_typo(const struct jr_ynode *map)
{
	static const char *const jobs[] = {"jobs", NULL};
	size_t i;

	for (i = 0; i + 1 < map->n; i += 2) {
		const struct jr_ynode *k = map->kid[i];
		const char *hint;

		if (k->kind != JR_YNODE_SCALAR || map->kid[i + 1]->kind != JR_YNODE_SEQ ||
		    !closest(k->s, jobs))
			continue;
		hint = closest(k->s, job_keys);
		if (!hint || jr_edit_distance(k->s, "jobs") < jr_edit_distance(k->s, hint))
			return k;
	}
	return NULL;
}

int jr_jobset_load_buffer(struct jr_jobset *set, const char *name, const char *data, size_t len,
			  const char *basedir, struct jr_diags *diags)
{
	struct jr_ynode *root = NULL;
	struct ctx c;
	const struct jr_ynode *jobs, *typo;
	struct jr_job *job;
	char *base = abs_basedir(basedir);
	char sb[80];
	size_t i;
	int ret = -1;

	memset(&c, 0, sizeof(c));
	c.file = name;
	c.basedir = base;
	c.d = diags;
	c.invalid = &set->invalid;
	set->nfiles++;
	if (jr_yaml_load(name, data, len, diags, &root) < 0) {
		set->nunread++;
		goto out;
	}
	if (!root || (root->kind == JR_YNODE_SCALAR && root->is_null)) {
		ret = 0; /* empty file (or comments only): valid, no jobs */
		goto out;
	}
	if (root->kind == JR_YNODE_MAP && (jobs = map_get(root, "jobs"))) {
		static const char *const top_keys[] = {"jobs", NULL};

		check_keys(&c, root, "a file with 'jobs:' (put every other key inside a job)",
			   top_keys);
		if (jobs->kind == JR_YNODE_SCALAR && jobs->is_null) {
			/* "jobs:" with nothing: no jobs. */
		} else if (want_kind(&c, jobs, JR_YNODE_SEQ, "jobs", "a list of jobs")) {
			for (i = 0; i < jobs->n; i++)
				if ((job = parse_job(&c, jobs->kid[i])))
					set_add(set, job);
		}
	} else if (root->kind == JR_YNODE_MAP && (typo = jobs_typo(root))) {
		err_at(&c, typo,
		       "unknown key '%s' at the top of the file; did you mean 'jobs'? (a list of "
		       "jobs)",
		       shown(typo, sb, sizeof(sb)));
	} else if (root->kind == JR_YNODE_MAP) {
		if ((job = parse_job(&c, root)))
			set_add(set, job);
	} else {
		err_at(&c, root,
		       "expected a job (a mapping with 'name' and 'command') or a mapping with "
		       "'jobs:' (a list of jobs), got %s",
		       kind_str(root));
	}
	if (c.nerr > JR_MAX_FILE_ERRORS)
		jr_diags_add_unshown(diags, name, c.nerr - JR_MAX_FILE_ERRORS, "");
	ret = c.nerr ? -1 : 0;
out:
	jr_ynode_free(root);
	free(base);
	return ret;
}

int jr_jobset_load_file(struct jr_jobset *set, const char *path, const char *basedir,
			struct jr_diags *diags)
{
	struct jr_err err = JR_ERR_INIT;
	struct jr_buf b = JR_BUF_INIT;
	int fd, ret = -1;

	jr_buf_init(&b);
	fd = jr_open_trusted(path, &err);
	if (fd < 0) {
		set->nunread++;
		jr_diags_add(diags, path, 0, 0, "%s",
			     strncmp(err.msg, path, strlen(path)) == 0 &&
				     err.msg[strlen(path)] == ':'
				 ? err.msg + strlen(path) + 2
				 : err.msg);
		goto out;
	}
	if (jr_read_all(fd, JR_JOBFILE_MAX_SIZE, &b, &err) < 0) {
		if (err.errnum == EFBIG)
			jr_diags_add(diags, path, 0, 0, JR_JOBFILE_TOO_LARGE);
		else
			jr_diags_add(diags, path, 0, 0, "%s", err.msg);
		set->nunread++;
		close(fd);
		goto out;
	}
	close(fd);
	ret = jr_jobset_load_buffer(set, path, b.buf, b.len, basedir, diags);
out:
	jr_buf_release(&b);
	return ret;
}

int jr_jobset_load_dir(struct jr_jobset *set, const char *dir, struct jr_diags *diags)
{
	DIR *dp;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, alloc = 0, i;
	int ret = 0;

	dp = opendir(dir);
	if (!dp) {
		jr_diags_add(diags, dir, 0, 0, "cannot open the jobs directory: %s",
			     strerror(errno));
		return -1;
	}
	while ((de = readdir(dp))) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (!((l > 5 && strcmp(de->d_name + l - 5, ".yaml") == 0) ||
		      (l > 4 && strcmp(de->d_name + l - 4, ".yml") == 0)))
			continue;
		jr_xgrow((void **)&names, &alloc, n + 1, sizeof(*names));
		names[n++] = jr_xstrdup(de->d_name);
	}
	closedir(dp);
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		char *p = jr_xasprintf("%s/%s", dir, names[i]);

		if (jr_jobset_load_file(set, p, dir, diags) < 0)
			ret = -1;
		free(p);
		free(names[i]);
	}
	free(names);
	if (jr_jobset_check(set, diags) < 0)
		ret = -1;
	return ret;
}

struct jr_job *jr_jobset_find(const struct jr_jobset *set, const char *name)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->jobs[i]->name && strcmp(set->jobs[i]->name, name) == 0)
			return set->jobs[i];
	return NULL;
}

struct jr_job_index {
	struct name_ix {
		const char *name;
		size_t i;
	} *v;
	size_t n;
};

static int name_ix_cmp(const void *a, const void *b)
{
	const struct name_ix *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	return r ? r : (x->i < y->i ? -1 : x->i > y->i);
}

struct jr_job_index *jr_job_index_new(struct jr_job *const *jobs, size_t n)
{
	struct jr_job_index *ix = jr_xcalloc(1, sizeof(*ix));
	size_t i;

	ix->v = jr_xcalloc(n + 1, sizeof(*ix->v));
	ix->n = n;
	for (i = 0; i < n; i++) {
		ix->v[i].name = jobs[i]->name;
		ix->v[i].i = i;
	}
	if (n > 1)
		qsort(ix->v, n, sizeof(*ix->v), name_ix_cmp);
	return ix;
}

size_t jr_job_index_find(const struct jr_job_index *ix, const char *name)
{
	size_t lo = 0, hi = ix->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(ix->v[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ix->n && strcmp(ix->v[lo].name, name) == 0 ? ix->v[lo].i : SIZE_MAX;
}

void jr_job_index_free(struct jr_job_index *ix)
{
	if (!ix)
		return;
	free(ix->v);
	free(ix);
}

#define JR_MAX_CHECK_ERRORS 100
#define JR_CYCLE_SHOWN	    16 /* names shown of a long cycle */

struct check_state {
	struct jr_diags *d;
	size_t nerr;
};

JR_PRINTF(5, 6)
static void check_err(struct check_state *cs, const char *file, int line, int col, const char *fmt,
		      ...)
{
	va_list ap;

	if (cs->nerr++ >= JR_MAX_CHECK_ERRORS)
		return;
	va_start(ap, fmt);
	jr_diags_vadd(cs->d, file, line, col, fmt, ap);
	va_end(ap);
}

/* Reports the cycle closed by the edge from path[depth] to path[from]. */
static void report_cycle(struct check_state *cs, const struct jr_jobset *set, const size_t *path,
			 size_t from, size_t depth, size_t k)
{
	const struct jr_job *job = set->jobs[path[depth]];
	struct jr_buf b = JR_BUF_INIT;
	size_t m, len = depth - from + 1;

	jr_buf_init(&b);
	for (m = from; m <= depth; m++) {
		if (len > JR_CYCLE_SHOWN && m == from + JR_CYCLE_SHOWN / 2) {
			jr_buf_addf(&b, "... (%zu more) -> ", len - JR_CYCLE_SHOWN);
			m = depth - JR_CYCLE_SHOWN / 2;
		}
		jr_buf_addf(&b, "%s -> ", set->jobs[path[m]]->name);
	}
	jr_buf_adds(&b, set->jobs[path[from]]->name);
	check_err(cs, job->source_file, job->needs_pos[k].line, job->needs_pos[k].col,
		  "needs: dependency cycle: %s", b.buf);
	jr_buf_release(&b);
}

int jr_jobset_check(struct jr_jobset *set, struct jr_diags *diags)
{
	struct check_state cs = {diags, 0};
	struct jr_job_index *ix = jr_job_index_new(set->jobs, set->n);
	size_t i, j, k, n = set->n;
	ssize_t **adj;
	unsigned char *state;
	size_t *path, *next, *pos;

	/* Duplicates: every later job with a name points at the first. */
	for (i = 1; i < n; i++) {
		if (strcmp(ix->v[i].name, ix->v[i - 1].name) == 0) {
			const struct jr_job *a = set->jobs[ix->v[i].i];
			const struct jr_job *b = set->jobs[jr_job_index_find(ix, a->name)];

			check_err(&cs, a->source_file, a->name_pos.line, a->name_pos.col,
				  "name: duplicate job name '%s' (already defined at %s:%d:%d)",
				  a->name, b->source_file, b->name_pos.line, b->name_pos.col);
		}
	}
	/* Needs, resolved to indices. */
	adj = jr_xcalloc(n + 1, sizeof(*adj));
	for (i = 0; i < n; i++) {
		const struct jr_job *a = set->jobs[i];

		adj[i] = jr_xcalloc(a->needs.n + 1, sizeof(**adj));
		for (k = 0; k < a->needs.n; k++) {
			size_t f = jr_job_index_find(ix, a->needs.v[k]);

			adj[i][k] = f == SIZE_MAX ? -1 : (ssize_t)f;
			if (f != SIZE_MAX)
				continue;
			if (cs.nerr >= JR_MAX_CHECK_ERRORS) {
				cs.nerr++;
				continue;
			}
			if (strv_has(&set->invalid, a->needs.v[k])) {
				check_err(
				    &cs, a->source_file, a->needs_pos[k].line, a->needs_pos[k].col,
				    "needs: job '%s' has errors of its own (reported with it)", a->needs.v[k]);
				continue;
			}
			{
				const char *hint = NULL;
				size_t bd = SIZE_MAX, dd;

				for (j = 0; j < n; j++) {
					dd = jr_edit_distance(a->needs.v[k], set->jobs[j]->name);
					if (dd < bd && dd <= 2) {
						bd = dd;
						hint = set->jobs[j]->name;
					}
				}
				/* A file that could not be read may hold it. */
				check_err(&cs, a->source_file, a->needs_pos[k].line,
					  a->needs_pos[k].col, "needs: unknown job '%s'%s%s%s%s",
					  a->needs.v[k], hint ? "; did you mean '" : "",
					  hint ? hint : "", hint ? "'?" : "",
					  set->nunread ? " (or one in a job file that could not be read)"
						       : "");
			}
		}
	}
	/* Cycles: iterative depth-first search (a long chain of needs must not
	 * exhaust the stack); state 0 new, 1 on the path, 2 done. */
	state = jr_xcalloc(n + 1, 1);
	path = jr_xcalloc(n + 1, sizeof(*path));
	next = jr_xcalloc(n + 1, sizeof(*next));
	pos = jr_xcalloc(n + 1, sizeof(*pos));
	for (i = 0; i < n; i++) {
		size_t depth = 0;

		if (state[i])
			continue;
		path[0] = i;
		next[0] = 0;
		pos[i] = 0;
		state[i] = 1;
		for (;;) {
			size_t u = path[depth];
			ssize_t v;

			if (next[depth] == set->jobs[u]->needs.n) {
				state[u] = 2;
				if (depth == 0)
					break;
				depth--;
				continue;
			}
			k = next[depth]++;
			v = adj[u][k];
			if (v < 0)
				continue;
			if (state[v] == 1) {
				report_cycle(&cs, set, path, pos[v], depth, k);
			} else if (state[v] == 0) {
				depth++;
				path[depth] = (size_t)v;
				next[depth] = 0;
				pos[v] = depth;
				state[v] = 1;
			}
		}
	}
	if (cs.nerr > JR_MAX_CHECK_ERRORS)
		jr_diags_add_unshown(diags, "jobs", cs.nerr - JR_MAX_CHECK_ERRORS, " across jobs");
	for (i = 0; i < n; i++)
		free(adj[i]);
	free(adj);
	free(state);
	free(path);
	free(next);
	free(pos);
	jr_job_index_free(ix);
	return cs.nerr ? -1 : 0;
}

void jr_jobset_release(struct jr_jobset *set)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		jr_job_free(set->jobs[i]);
	free(set->jobs);
	set->jobs = NULL;
	set->n = set->alloc = 0;
	strv_release(&set->invalid);
	set->nfiles = 0;
}
