/* machine: this host's facts and target matching (see machine.h). */
#include "machine.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "util.h"

#include "banned.h"

static void add_fact(struct jr_machine *m, const char *key, const char *value)
{
	m->facts = jr_xrealloc(m->facts, (m->nfacts + 1) * sizeof(*m->facts));
	m->facts[m->nfacts].key = jr_xstrdup(key);
	m->facts[m->nfacts].value = jr_xstrdup(value);
	m->nfacts++;
}

static int kv_cmp(const void *a, const void *b)
{
	const struct jr_kv *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* Unquotes an os-release value in place, as os-release(5) describes: shell
 * double quotes (with \" \\ \$ \` escapes), single quotes, or bare. */
static void unquote(char *v)
{
	char *r = v, *w = v;
	char q;

	if (*r != '"' && *r != '\'') {
		/* bare: ends at whitespace */
		while (*r && *r != ' ' && *r != '\t')
			r++;
		*r = '\0';
		return;
	}
	q = *r++;
	while (*r && *r != q) {
		if (q == '"' && *r == '\\' && r[1] &&
		    (r[1] == '"' || r[1] == '\\' || r[1] == '$' || r[1] == '`'))
			r++;
		*w++ = *r++;
	}
	*w = '\0';
}

int jr_machine_read_os_release(const char *path, char **id, char **version_id)
{
	struct jr_buf b = JR_BUF_INIT;
	char *line, *next, *eq;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -1;
	jr_buf_init(&b);
	if (jr_read_all(fd, 64 * 1024, &b, NULL) < 0) {
		close(fd);
		jr_buf_release(&b);
		return -1;
	}
	close(fd);
	for (line = b.buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (*line == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		unquote(eq + 1);
		if (strcmp(line, "ID") == 0 && eq[1]) {
			free(*id);
			*id = jr_xstrdup(eq + 1);
		} else if (strcmp(line, "VERSION_ID") == 0 && eq[1]) {
			free(*version_id);
			*version_id = jr_xstrdup(eq + 1);
		}
	}
	jr_buf_release(&b);
	return 0;
}

int jr_machine_detect(struct jr_machine *m, char *const *tags, size_t ntags, struct jr_err *err)
{
	struct utsname u;
	char *id = NULL, *vid = NULL, *p;
	char buf[32];
	long cpus;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (uname(&u) < 0)
		return jr_err_sys(err, errno, "uname");
	for (p = u.sysname; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	add_fact(m, "arch", u.machine);
	add_fact(m, "os", u.sysname);
	add_fact(m, "kernel", u.release);
	add_fact(m, "hostname", u.nodename);
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	snprintf(buf, sizeof(buf), "%ld", cpus);
	add_fact(m, "cpus", buf);
	if (jr_machine_read_os_release("/etc/os-release", &id, &vid) < 0)
		jr_machine_read_os_release("/usr/lib/os-release", &id, &vid);
	/* os-release(5): ID defaults to "linux" when unset. */
	add_fact(m, "distro", id ? id : "linux");
	if (vid)
		add_fact(m, "distro_version", vid);
	free(id);
	free(vid);
	qsort(m->facts, m->nfacts, sizeof(*m->facts), kv_cmp);
	m->hostname = jr_xstrdup(u.nodename);

	m->tags.v = jr_xcalloc(ntags + 1, sizeof(char *));
	for (i = 0; i < ntags; i++)
		m->tags.v[i] = jr_xstrdup(tags[i]);
	m->tags.n = ntags;
	return 0;
}

void jr_machine_release(struct jr_machine *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nfacts; i++) {
		free(m->facts[i].key);
		free(m->facts[i].value);
	}
	free(m->facts);
	for (i = 0; i < m->tags.n; i++)
		free(m->tags.v[i]);
	free(m->tags.v);
	free(m->hostname);
	memset(m, 0, sizeof(*m));
}

const char *jr_machine_fact(const struct jr_machine *m, const char *key)
{
	size_t i;

	for (i = 0; i < m->nfacts; i++)
		if (strcmp(m->facts[i].key, key) == 0)
			return m->facts[i].value;
	return NULL;
}

static bool has_tag(const struct jr_machine *m, const char *tag)
{
	size_t i;

	for (i = 0; i < m->tags.n; i++)
		if (strcmp(m->tags.v[i], tag) == 0)
			return true;
	return false;
}

bool jr_machine_matches(const struct jr_machine *m, const struct jr_target *t, char *why,
			size_t whylen)
{
	struct jr_buf b = JR_BUF_INIT;
	const char *have;
	size_t i, j;

	if (why && whylen)
		why[0] = '\0';
	for (i = 0; i < t->nfacts; i++) {
		have = jr_machine_fact(m, t->facts[i].key);
		if (!have) {
			if (why)
				snprintf(why, whylen, "fact '%s' (this host has no such fact)",
					 t->facts[i].key);
			return false;
		}
		if (strcmp(have, t->facts[i].value) != 0) {
			if (why)
				snprintf(why, whylen, "%s=%s (this host has %s)", t->facts[i].key,
					 t->facts[i].value, have);
			return false;
		}
	}
	for (i = 0; i < t->tags.n; i++) {
		if (has_tag(m, t->tags.v[i]))
			continue;
		if (why) {
			jr_buf_init(&b);
			if (m->tags.n == 0)
				jr_buf_adds(&b, "has no tags");
			else
				jr_buf_adds(&b, "has: ");
			for (j = 0; j < m->tags.n; j++)
				jr_buf_addf(&b, "%s%s", j ? ", " : "", m->tags.v[j]);
			snprintf(why, whylen, "tag %s (this host %s)", t->tags.v[i], b.buf);
			jr_buf_release(&b);
		}
		return false;
	}
	return true;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *jr_target_json(const struct jr_target *t)
{
	struct jr_buf b = JR_BUF_INIT;
	const char **tags;
	size_t i, j;
	bool tags_done = t->tags.n == 0, first = true;

	jr_buf_init(&b);
	jr_buf_addch(&b, '{');
	tags = jr_xcalloc(t->tags.n + 1, sizeof(*tags));
	for (j = 0; j < t->tags.n; j++)
		tags[j] = t->tags.v[j];
	qsort(tags, t->tags.n, sizeof(*tags), str_cmp);
	/* Facts are sorted by key; "tags" goes in its sorted place among them. */
	for (i = 0; i <= t->nfacts; i++) {
		if (!tags_done && (i == t->nfacts || strcmp(t->facts[i].key, "tags") > 0)) {
			if (!first)
				jr_buf_addch(&b, ',');
			jr_buf_adds(&b, "\"tags\":[");
			for (j = 0; j < t->tags.n; j++) {
				if (j)
					jr_buf_addch(&b, ',');
				jr_buf_add_json_str(&b, tags[j]);
			}
			jr_buf_addch(&b, ']');
			tags_done = true;
			first = false;
		}
		if (i == t->nfacts)
			break;
		if (!first)
			jr_buf_addch(&b, ',');
		jr_buf_add_json_str(&b, t->facts[i].key);
		jr_buf_addch(&b, ':');
		jr_buf_add_json_str(&b, t->facts[i].value);
		first = false;
	}
	jr_buf_addch(&b, '}');
	free(tags);
	return jr_buf_detach(&b, NULL);
}
