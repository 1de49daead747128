/* config: jobrunner.ini through inih (see config.h and jobrunner.ini(5)).
 *
 * inih (Debian's libinih 55, built with its defaults) is fed by our own line
 * reader so that we know the line of everything the handler sees, refuse
 * what inih would silently mangle (lines longer than its buffer are split
 * into two "lines", NUL bytes end a line early), and catch section headers
 * (inih only reports sections through the keys under them, so an empty
 * unknown section would otherwise pass). The defaults of that build that
 * matter here: "key = value ; comment" strips the comment (an inline ';'
 * must follow whitespace), lines starting with ';' or '#' are comments, a
 * UTF-8 BOM is skipped, and an indented line continues the previous key's
 * value (we accept that only for list keys; inih does not strip inline
 * comments there, so we do).
 */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jobfile.h"
#include "util.h"

#include "banned.h"

#define CFG_MAX_BYTES (1024 * 1024)


enum key_id {
	K_JOBS_DIR,
	K_DATABASE,
	K_LOG_DIR,
	K_PARALLEL,
	K_BACKENDS,
	K_SYNCHRONOUS,
	K_LOCAL_TAGS,
	K_RUNTIME,
	K_IMAGE_DIR,
	K_CACHE_MAX_SIZE,
	K_CACHE_MAX_AGE,
	K_PARTITION,
	K_COUNT
};

struct key_def {
	const char *section;
	const char *name;
	enum key_id id;
	bool list; /* may continue on indented lines */
};

static const struct key_def key_defs[] = {
	{ "jobrunner", "jobs_dir", K_JOBS_DIR, false },
	{ "jobrunner", "database", K_DATABASE, false },
	{ "jobrunner", "log_dir", K_LOG_DIR, false },
	{ "jobrunner", "parallel", K_PARALLEL, false },
	{ "jobrunner", "backends", K_BACKENDS, true },
	{ "jobrunner", "synchronous", K_SYNCHRONOUS, false },
	{ "local", "tags", K_LOCAL_TAGS, true },
	{ "container", "runtime", K_RUNTIME, false },
	{ "container", "image_dir", K_IMAGE_DIR, false },
	{ "container", "cache_max_size", K_CACHE_MAX_SIZE, false },
	{ "container", "cache_max_age", K_CACHE_MAX_AGE, false },
	{ "slurm", "partition", K_PARTITION, false },
};

static const char *const sections[] = { "jobrunner", "local", "container", "slurm", NULL };

struct parse_ctx {
	struct jr_config *cfg;
	const char *name; /* file name for messages */
	const char *dir;  /* anchors relative paths */
	const char *data;
	size_t len, pos;
	int lineno;        /* line last handed to inih */
	const char *line;  /* start of that line in data */
	size_t linelen;    /* its length without the newline */
	int seen[K_COUNT]; /* line where each key was set, 0 if not */
	enum key_id last;  /* key of the last handler call (continuations) */
	bool have_prev;    /* inih has a previous key name in this section */
	bool cont;         /* the current line is one inih reads as a continuation */
	bool failed;
	int errline;
	struct jr_err *err;
};

/* Records the first error only; later ones are consequences or noise. */
static int ctx_fail(struct parse_ctx *c, int line, const char *fmt, ...) JR_PRINTF(3, 4);
static int ctx_fail(struct parse_ctx *c, int line, const char *fmt, ...)
{
	char msg[JR_ERR_MAX];
	va_list ap;

	if (c->failed)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	jr_err_set(c->err, "%s:%d: %s", c->name, line, msg);
	c->failed = true;
	c->errline = line;
	return 0;
}

static bool section_known(const char *s)
{
	size_t i;

	for (i = 0; sections[i]; i++)
		if (strcmp(sections[i], s) == 0)
			return true;
	return false;
}

static void strv_push(char ***v, size_t *n, const char *s)
{
	*v = jr_xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = jr_xstrdup(s);
	(*v)[*n] = NULL;
}

static void strv_free(char ***v, size_t *n)
{
	size_t i;

	if (*v)
		for (i = 0; i < *n; i++)
			free((*v)[i]);
	free(*v);
	*v = NULL;
	*n = 0;
}

static bool strv_has(char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

/* Splits value at commas and whitespace into items appended to *v; items
 * are checked by the key's rule. */
static int parse_list(struct parse_ctx *c, const char *key, enum key_id id, const char *value,
		      char ***v, size_t *n)
{
	const char *p = value, *q;
	char item[128];
	size_t len;

	for (;;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		q = p;
		while (*q && *q != ',' && *q != ' ' && *q != '\t')
			q++;
		len = (size_t)(q - p);
		if (len >= sizeof(item))
			return ctx_fail(c, c->lineno, "%s: item too long (at most %zu characters)",
					key, sizeof(item) - 1);
		memcpy(item, p, len);
		item[len] = '\0';
		if (id == K_BACKENDS && !jr_backend_name_known(item))
			return ctx_fail(c, c->lineno,
					"backends: unknown backend '%s' (known: " JR_KNOWN_BACKENDS_TEXT ")",
					item);
		if (id == K_LOCAL_TAGS && !jr_machine_tag_valid(item))
			return ctx_fail(c, c->lineno,
					"tags: invalid tag '%s' (expected letters, digits and _ . : -, at most 64)",
					item);
		if (strv_has(*v, *n, item))
			return ctx_fail(c, c->lineno, "%s: '%s' is listed twice", key, item);
		if (*n >= 256)
			return ctx_fail(c, c->lineno, "%s: too many items (at most 256)", key);
		strv_push(v, n, item);
		p = q;
	}
	return 1;
}

static int set_path(struct parse_ctx *c, const char *key, const char *value, char **dst)
{
	if (!*value)
		return ctx_fail(c, c->lineno, "%s: expected a path, got an empty value", key);
	if (strlen(value) >= PATH_MAX)
		return ctx_fail(c, c->lineno, "%s: path too long", key);
	free(*dst);
	*dst = jr_path_abs(c->dir, value);
	return 1;
}

static bool word_valid(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s == ' ' || *s == '\t' || (unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static int set_value(struct parse_ctx *c, const struct key_def *k, const char *value)
{
	struct jr_config *cfg = c->cfg;
	int64_t v;

	switch (k->id) {
	case K_JOBS_DIR:
		return set_path(c, k->name, value, &cfg->jobs_dir);
	case K_DATABASE:
		return set_path(c, k->name, value, &cfg->database);
	case K_LOG_DIR:
		return set_path(c, k->name, value, &cfg->log_dir);
	case K_IMAGE_DIR:
		return set_path(c, k->name, value, &cfg->image_dir);
	case K_PARALLEL:
		if (jr_parse_i64(value, 1, JR_PARALLEL_MAX, &v) < 0)
			return ctx_fail(c, c->lineno,
					"parallel: expected an integer from 1 to %d, got '%s'",
					JR_PARALLEL_MAX, value);
		cfg->parallel = (int)v;
		return 1;
	case K_SYNCHRONOUS:
		if (strcmp(value, "normal") == 0)
			cfg->sync_full = false;
		else if (strcmp(value, "full") == 0)
			cfg->sync_full = true;
		else
			return ctx_fail(c, c->lineno,
					"synchronous: expected 'normal' or 'full', got '%s'", value);
		return 1;
	case K_BACKENDS:
		return parse_list(c, k->name, k->id, value, &cfg->backends, &cfg->nbackends);
	case K_LOCAL_TAGS:
		return parse_list(c, k->name, k->id, value, &cfg->local_tags, &cfg->nlocal_tags);
	case K_RUNTIME:
		if (!word_valid(value))
			return ctx_fail(c, c->lineno,
					"runtime: expected a program name or path, got '%s'", value);
		free(cfg->container_runtime);
		cfg->container_runtime = jr_xstrdup(value);
		return 1;
	case K_CACHE_MAX_SIZE:
		if (jr_parse_size(value, &cfg->cache_max_size) < 0)
			return ctx_fail(c, c->lineno,
					"cache_max_size: expected a size (512, 64K, 10M, 2G, 1T; 0 for no limit), got '%s'",
					value);
		return 1;
	case K_CACHE_MAX_AGE:
		if (jr_parse_duration_ms(value, &cfg->cache_max_age_ms) < 0)
			return ctx_fail(c, c->lineno,
					"cache_max_age: expected a duration (90s, 15m, 2h, 30d; 0 for no limit), got '%s'",
					value);
		return 1;
	case K_PARTITION:
		if (!word_valid(value))
			return ctx_fail(c, c->lineno,
					"partition: expected a partition name, got '%s'", value);
		free(cfg->slurm_partition);
		cfg->slurm_partition = jr_xstrdup(value);
		return 1;
	case K_COUNT:
		break;
	}
	return 0;
}

/* inih 55 does not strip "value ; comment" on continuation lines: do it as
 * it does on first lines (a ';' after whitespace starts the comment). */
static int set_continuation(struct parse_ctx *c, const struct key_def *k, const char *value)
{
	char *v = jr_xstrdup(value);
	size_t i;
	int rc;

	for (i = 1; v[i]; i++)
		if (v[i] == ';' && (v[i - 1] == ' ' || v[i - 1] == '\t')) {
			v[i] = '\0';
			break;
		}
	rc = set_value(c, k, v);
	free(v);
	return rc;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *c = user;
	const char *cands[JR_ARRAY_SIZE(key_defs)];
	const struct key_def *k = NULL;
	const char *hint;
	size_t i, ncands = 0;
	bool continuation = c->cont;

	if (c->failed)
		return 0;
	c->have_prev = true;
	if (!*section)
		return ctx_fail(c, c->lineno, "key '%s' outside of any section (expected [jobrunner] first)",
				name);
	for (i = 0; i < JR_ARRAY_SIZE(key_defs); i++) {
		if (strcmp(key_defs[i].section, section) != 0)
			continue;
		cands[ncands++] = key_defs[i].name;
		if (strcmp(key_defs[i].name, name) == 0)
			k = &key_defs[i];
	}
	if (!k) {
		/* Unknown sections are reported by the reader, at their header. */
		hint = jr_closest(name, cands, ncands);
		if (hint)
			return ctx_fail(c, c->lineno, "unknown key '%s' in [%s] (did you mean '%s'?)",
					name, section, hint);
		return ctx_fail(c, c->lineno, "unknown key '%s' in [%s]", name, section);
	}
	if (continuation) {
		if (strchr(value, '='))
			return ctx_fail(c, c->lineno,
					"indented line is read as a continuation of '%s' (remove the leading whitespace)",
					name);
		if (!k->list || c->last != k->id)
			return ctx_fail(c, c->lineno,
					"indented line continues the value of '%s', which takes one line only (remove the leading whitespace)",
					name);
		return set_continuation(c, k, value);
	}
	if (c->seen[k->id])
		return ctx_fail(c, c->lineno, "duplicate key '%s' in [%s] (first set at line %d)",
				name, section, c->seen[k->id]);
	c->seen[k->id] = c->lineno;
	c->last = k->id;
	return set_value(c, k, value);
}

/* Checks a "[section]" line as the reader hands it to inih. */
static void check_section_line(struct parse_ctx *c, const char *p, size_t len)
{
	const char *end;
	char name[64];
	const char *hint;
	size_t n;

	end = memchr(p, ']', len);
	if (!end)
		return; /* inih reports the syntax error */
	n = (size_t)(end - p - 1);
	if (n >= sizeof(name)) {
		ctx_fail(c, c->lineno, "unknown section [%.*s]", 60, p + 1);
		return;
	}
	memcpy(name, p + 1, n);
	name[n] = '\0';
	if (section_known(name))
		return;
	hint = jr_closest(name, sections, JR_ARRAY_SIZE(sections) - 1);
	if (hint)
		ctx_fail(c, c->lineno, "unknown section [%s] (did you mean [%s]?)", name, hint);
	else
		ctx_fail(c, c->lineno,
			 "unknown section [%s] (known: [jobrunner], [local], [container], [slurm])",
			 name);
}

/* fgets-like reader over the buffer. Returns NULL at the end or once an
 * error is recorded, which makes inih stop. */
static char *reader(char *str, int num, void *stream)
{
	struct parse_ctx *c = stream;
	const char *p, *nl;
	size_t len, clen, full, i;

	if (c->failed || c->pos >= c->len || num < 4)
		return NULL;
	p = c->data + c->pos;
	nl = memchr(p, '\n', c->len - c->pos);
	len = nl ? (size_t)(nl - p) : c->len - c->pos;
	full = nl ? len + 1 : len;
	c->lineno++;
	c->line = p;
	c->linelen = len;
	if (memchr(p, '\0', len)) {
		ctx_fail(c, c->lineno, "NUL byte in the file");
		return NULL;
	}
	/* inih's buffer must hold the line, its "\r\n" and the NUL. */
	clen = len > 0 && p[len - 1] == '\r' ? len - 1 : len;
	if (clen + 3 > (size_t)num) {
		ctx_fail(c, c->lineno, "line too long (at most %d characters)", num - 3);
		return NULL;
	}
	memcpy(str, p, full);
	str[full] = '\0';
	c->pos += full;
	/* inih reads a non-blank, non-comment indented line after a key of
	 * the same section as a continuation of that key, before anything
	 * else (even "  [section]"); otherwise a '[' line is a section. */
	for (i = 0; i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'); i++)
		;
	c->cont = c->have_prev && i > 0 && i < len && p[i] != ';' && p[i] != '#';
	if (!c->cont && i < len && p[i] == '[') {
		c->have_prev = false;
		check_section_line(c, p + i, len - i);
	}
	if (c->failed)
		return NULL;
	return str;
}

static void set_defaults(struct jr_config *cfg, const char *dir)
{
	cfg->jobs_dir = jr_path_abs(dir, "jobs.d");
	cfg->database = jr_path_abs(dir, "db/jobrunner.db");
	cfg->log_dir = jr_path_abs(dir, "db/logs");
	cfg->image_dir = jr_path_abs(dir, "db/images");
	cfg->parallel = 2;
	cfg->sync_full = false;
	cfg->container_runtime = jr_xstrdup("bwrap");
	cfg->cache_max_size = (uint64_t)10 << 30;
	cfg->cache_max_age_ms = (int64_t)30 * 24 * 3600 * 1000;
}

static char *cwd_or_root(void)
{
	char *d = getcwd(NULL, 0);
	char *r;

	if (!d)
		return jr_xstrdup("/");
	r = jr_xstrdup(d);
	free(d);
	return r;
}

int jr_config_load_buffer(struct jr_config *cfg, const char *name, const char *data, size_t len,
			  const char *dir, struct jr_err *err)
{
	struct parse_ctx c;
	char *cwd = NULL;
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	memset(&c, 0, sizeof(c));
	if (!dir)
		dir = cwd = cwd_or_root();
	c.cfg = cfg;
	c.name = name ? name : "jobrunner.ini";
	c.dir = dir;
	c.data = data;
	c.len = len;
	c.err = err;
	c.last = K_COUNT;
	set_defaults(cfg, dir);

	rc = ini_parse_stream(reader, &c, handler, &c);
	if (rc > 0 && (!c.failed || rc < c.errline)) {
		c.failed = false;
		ctx_fail(&c, rc, "syntax error: expected '[section]', 'key = value' or a comment");
	} else if (rc < 0 && !c.failed) {
		ctx_fail(&c, c.lineno, "cannot parse (error %d from inih)", rc);
	}
	if (!c.failed && c.seen[K_BACKENDS] && cfg->nbackends == 0)
		ctx_fail(&c, c.seen[K_BACKENDS],
			 "backends: expected a list of backend names, got an empty value");
	if (c.failed)
		goto fail;
	cfg->backends_set = cfg->nbackends > 0;
	if (cfg->nbackends == 0)
		strv_push(&cfg->backends, &cfg->nbackends, "local");
	free(cwd);
	return 0;
fail:
	free(cwd);
	jr_config_release(cfg);
	return -1;
}

/* Loads one file: trusted open, bounded read, relative paths against its
 * directory. Sets *absent when it does not exist (ENOENT/ENOTDIR). */
static int load_file(struct jr_config *cfg, const char *path, bool *absent, struct jr_err *err)
{
	struct jr_buf b = JR_BUF_INIT;
	char *abs = NULL, *dir = NULL, *slash;
	int fd, rc = -1;

	*absent = false;
	fd = jr_open_trusted(path, err);
	if (fd < 0) {
		if (err && (err->errnum == ENOENT || err->errnum == ENOTDIR))
			*absent = true;
		return -1;
	}
	jr_buf_init(&b);
	if (jr_read_all(fd, CFG_MAX_BYTES, &b, err) < 0) {
		jr_err_prefix(err, "%s", path);
		goto out;
	}
	if (path[0] == '/') {
		abs = jr_xstrdup(path);
	} else {
		dir = cwd_or_root();
		abs = jr_path_abs(dir, path);
		free(dir);
	}
	dir = jr_xstrdup(abs);
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (jr_config_load_buffer(cfg, path, b.buf, b.len, dir, err) < 0)
		goto out;
	cfg->path = abs;
	abs = NULL;
	rc = 0;
out:
	close(fd);
	jr_buf_release(&b);
	free(abs);
	free(dir);
	return rc;
}

int jr_config_load(struct jr_config *cfg, const char *explicit_path, struct jr_err *err)
{
	const char *xdg, *home;
	char *cands[3] = { NULL, NULL, NULL };
	char *cwd = NULL;
	bool absent;
	size_t i, n = 0;
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	if (explicit_path) {
		if (!*explicit_path)
			return jr_err_set(err, "-c: empty configuration file name");
		return load_file(cfg, explicit_path, &absent, err);
	}
	cands[n++] = jr_xstrdup("jobrunner.ini");
	xdg = getenv("XDG_CONFIG_HOME");
	home = getenv("HOME");
	/* The XDG spec: a relative XDG_CONFIG_HOME is invalid and ignored. */
	if (xdg && xdg[0] == '/')
		cands[n++] = jr_xasprintf("%s/jobrunner/jobrunner.ini", xdg);
	else if (home && home[0] == '/')
		cands[n++] = jr_xasprintf("%s/.config/jobrunner/jobrunner.ini", home);
	cands[n++] = jr_xstrdup("/etc/jobrunner/jobrunner.ini");
	for (i = 0; i < n; i++) {
		if (load_file(cfg, cands[i], &absent, err) == 0) {
			rc = 0;
			goto out;
		}
		if (!absent)
			goto out;
	}
	/* No file anywhere: built-in defaults relative to the current directory. */
	jr_err_clear(err);
	cwd = cwd_or_root();
	rc = jr_config_load_buffer(cfg, "(defaults)", "", 0, cwd, err);
out:
	for (i = 0; i < n; i++)
		free(cands[i]);
	free(cwd);
	return rc;
}

void jr_config_release(struct jr_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->jobs_dir);
	free(cfg->database);
	free(cfg->log_dir);
	strv_free(&cfg->backends, &cfg->nbackends);
	strv_free(&cfg->local_tags, &cfg->nlocal_tags);
	free(cfg->container_runtime);
	free(cfg->image_dir);
	free(cfg->slurm_partition);
	memset(cfg, 0, sizeof(*cfg));
}
