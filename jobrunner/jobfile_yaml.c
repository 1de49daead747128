/* jobfile_yaml: a bounded YAML reader for job files.
 *
 * libyaml's event API feeds a small node tree in which every node keeps its
 * 1-based line and column. Aliases and anchors are refused (an alias can make
 * a node contain itself, and expanding aliases is how "billion laughs" bombs
 * work), and so are tags (every value is read by its key's rules); depth,
 * scalar size and node count are bounded; NUL bytes, control characters and
 * invalid UTF-8 are refused before libyaml sees the input, so that binary
 * garbage gets a clear message with a position. */
#include "jobfile_yaml.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <yaml.h>

#include "util.h"

#include "banned.h"

void jr_diags_vadd(struct jr_diags *d, const char *file, int line, int col, const char *fmt,
		   va_list ap)
{
	struct jr_buf b = JR_BUF_INIT;

	jr_buf_init(&b);
	if (line > 0)
		jr_buf_addf(&b, "%s:%d:%d: ", file, line, col > 0 ? col : 1);
	else
		jr_buf_addf(&b, "%s: ", file);
	jr_buf_vaddf(&b, fmt, ap);
	jr_xgrow((void **)&d->msg, &d->alloc, d->n + 1, sizeof(*d->msg));
	d->msg[d->n++] = jr_buf_detach(&b, NULL);
	d->errors++;
}

void jr_diags_add_unshown(struct jr_diags *d, const char *file, size_t count, const char *where)
{
	jr_diags_add(d, file, 0, 0, "%zu more error%s%s not shown", count, count == 1 ? "" : "s",
		     where);
	d->errors += count - 1;
}

void jr_diags_add(struct jr_diags *d, const char *file, int line, int col, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jr_diags_vadd(d, file, line, col, fmt, ap);
	va_end(ap);
}

void jr_diags_release(struct jr_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		free(d->msg[i]);
	free(d->msg);
	d->msg = NULL;
	d->n = d->alloc = d->errors = 0;
}

void jr_ynode_free(struct jr_ynode *n)
{
	size_t i;

	if (!n)
		return;
	for (i = 0; i < n->n; i++)
		jr_ynode_free(n->kid[i]);
	free(n->kid);
	free(n->s);
	free(n);
}

/* Refuses what is not text before libyaml sees it. Returns 0 or -1. */
static int check_text(const char *file, const unsigned char *s, size_t len, struct jr_diags *d)
{
	size_t i = 0, l;
	int line = 1, col = 1;
	uint32_t cp;

	while (i < len) {
		unsigned char c = s[i];

		if (c == '\n') {
			line++;
			col = 1;
			i++;
			continue;
		}
		if (c == 0) {
			jr_diags_add(
			    d, file, line, col,
			    "NUL byte: this is not a text file (job files are UTF-8 YAML)");
			return -1;
		}
		if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) {
			jr_diags_add(d, file, line, col,
				     "control character 0x%02x: this is not a text file (job files "
				     "are UTF-8 YAML)",
				     c);
			return -1;
		}
		l = jr_utf8_len(s + i, len - i, &cp);
		if (l == 0) {
			jr_diags_add(d, file, line, col,
				     "invalid UTF-8 byte 0x%02x: this is not a text file (job "
				     "files are UTF-8 YAML)",
				     c);
			return -1;
		}
		/* What YAML calls non-printable: C1 controls but NEL, U+FFFE, U+FFFF. */
		if ((cp >= 0x80 && cp <= 0x9f && cp != 0x85) || cp == 0xfffe || cp == 0xffff) {
			jr_diags_add(d, file, line, col,
				     "non-printable character U+%04X: this is not a text file (job "
				     "files are UTF-8 YAML)",
				     (unsigned)cp);
			return -1;
		}
		i += l;
		col++;
	}
	return 0;
}

/* After a libyaml syntax error: was a tab used for indentation on the
 * failing line or the one before? Then that is the likely cause, and
 * libyaml's own message ("found character that cannot start any token")
 * does not say so. Earlier lines are not blamed: a tab inside a block
 * scalar's text is legal. */
static bool find_indent_tab(const char *s, size_t len, int upto_line, int *tline, int *tcol)
{
	size_t i = 0;
	int line = 1, col;

	while (i < len && line <= upto_line) {
		col = 1;
		while (i < len && (s[i] == ' ' || s[i] == '\t')) {
			if (s[i] == '\t' && line >= upto_line - 1) {
				*tline = line;
				*tcol = col;
				return true;
			}
			i++;
			col++;
		}
		while (i < len && s[i] != '\n')
			i++;
		i++;
		line++;
	}
	return false;
}

/* After a libyaml syntax error on line: was it a cron expression written
 * without quotes? A value starting with '*' reads as an alias, one starting
 * with '@' starts with a reserved character, and libyaml's message says
 * neither. Fills hint (empty when not) with the expression quoted, when it
 * can be shown so (not in a flow mapping, no quotes or backslashes). */
static void find_cron_hint(const char *s, size_t len, int line, char *hint, size_t hlen)
{
	const char *p = s, *end = s + len, *eol, *k, *v, *e;
	size_t i, n;
	int l;

	hint[0] = '\0';
	for (l = 1; l < line; l++) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p)
			return;
		p++;
	}
	eol = memchr(p, '\n', (size_t)(end - p));
	if (!eol)
		eol = end;
	for (k = p; k + 9 <= eol; k++) {
		if (memcmp(k, "schedule:", 9) != 0 || (k > p && !strchr(" \t{,", k[-1])))
			continue;
		for (v = k + 9; v < eol && (*v == ' ' || *v == '\t');)
			v++;
		if (v == eol || (*v != '*' && *v != '@'))
			continue;
		/* The value ends at the line's end or at a comment. */
		for (e = v; e < eol && !(*e == '#' && (e[-1] == ' ' || e[-1] == '\t'));)
			e++;
		while (e > v && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			e--;
		n = (size_t)(e - v);
		for (i = 0; i < n && !strchr("\"\\{}", v[i]); i++)
			;
		if (n > 60 || i < n)
			snprintf(hint, hlen,
				 "; quote the cron expression: schedule: \"*/5 * * * *\"");
		else
			snprintf(hint, hlen, "; quote the cron expression: schedule: \"%.*s\"",
				 (int)n, v);
		return;
	}
}

static void offset_to_pos(const char *s, size_t len, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && i < len; i++) {
		if (s[i] == '\n') {
			(*line)++;
			*col = 1;
		} else if (((unsigned char)s[i] & 0xc0) != 0x80) {
			(*col)++;
		}
	}
}

struct ytree_state {
	const char *file;
	struct jr_diags *d;
	struct jr_ynode *root;
	struct jr_ynode *stack[JR_YAML_MAX_DEPTH + 1];
	int depth;
	size_t nodes;
	int ndocs;
	int nerrs;
	bool failed; /* stop building: a fatal error was reported */
	bool bad;    /* some error was reported */
};

static struct jr_ynode *new_node(struct ytree_state *st, enum jr_ynode_kind kind,
				 const yaml_mark_t *m)
{
	struct jr_ynode *n = jr_xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	st->nodes++;
	return n;
}

static void attach(struct ytree_state *st, struct jr_ynode *n)
{
	struct jr_ynode *p;

	if (st->depth == 0) {
		if (st->root)
			jr_ynode_free(st->root);
		st->root = n;
		return;
	}
	p = st->stack[st->depth - 1];
	jr_xgrow((void **)&p->kid, &p->alloc, p->n + 1, sizeof(*p->kid));
	p->kid[p->n++] = n;
}

/* Counts a non-fatal error; past a bound, parsing stops (bounded output for
 * a file made of thousands of anchors). */
static void count_error(struct ytree_state *st, const yaml_mark_t *m)
{
	st->bad = true;
	if (++st->nerrs == JR_YAML_MAX_ERRORS) {
		jr_diags_add(st->d, st->file, (int)m->line + 1, (int)m->column + 1,
			     "too many errors; stopped reading this file");
		st->failed = true;
	}
}

static void refuse_anchor(struct ytree_state *st, const yaml_char_t *anchor, const yaml_mark_t *m)
{
	if (!anchor)
		return;
	jr_diags_add(st->d, st->file, (int)m->line + 1, (int)m->column + 1,
		     "YAML anchor '&%.60s' is not supported: anchors and aliases are refused in "
		     "job files (write the value out)",
		     (const char *)anchor);
	count_error(st, m);
}

/* A tag changes how a value is read (!!null, !!binary, an application's
 * !custom), and this reader would ignore it: it is refused where written.
 * libyaml hands over the tag resolved; the standard ones are shown as "!!x",
 * as users write them, and other resolved ones verbatim as "!<...>". */
static void refuse_tag(struct ytree_state *st, const yaml_char_t *tag, const yaml_mark_t *m)
{
	static const char std[] = "tag:yaml.org,2002:";
	const char *t = (const char *)tag;

	if (!t)
		return;
	if (!strncmp(t, std, sizeof(std) - 1))
		jr_diags_add(st->d, st->file, (int)m->line + 1, (int)m->column + 1,
			     "YAML tag '!!%.60s' is not supported: tags are refused in job files "
			     "(write the value without it)",
			     t + sizeof(std) - 1);
	else
		jr_diags_add(st->d, st->file, (int)m->line + 1, (int)m->column + 1,
			     "YAML tag '%s%.60s%s' is not supported: tags are refused in job files "
			     "(write the value without it)",
			     t[0] == '!' ? "" : "!<", t, t[0] == '!' ? "" : ">");
	count_error(st, m);
}

static bool is_null_plain(const char *s, size_t len)
{
	return len == 0 || (len == 1 && s[0] == '~') ||
	       (len == 4 &&
		(!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static void handle_event(struct ytree_state *st, yaml_event_t *ev)
{
	const yaml_mark_t *m = &ev->start_mark;
	struct jr_ynode *n;

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++st->ndocs > 1) {
			jr_diags_add(st->d, st->file, (int)m->line + 1, (int)m->column + 1,
				     "a second YAML document ('---'): a job file holds one "
				     "document (use 'jobs:' for several jobs)");
			st->failed = st->bad = true;
		}
		break;
	case YAML_SCALAR_EVENT:
		refuse_anchor(st, ev->data.scalar.anchor, m);
		refuse_tag(st, ev->data.scalar.tag, m);
		if (ev->data.scalar.length > JR_YAML_MAX_SCALAR) {
			jr_diags_add(st->d, st->file, (int)m->line + 1, (int)m->column + 1,
				     "string of %zu bytes is too large (the limit is %u bytes)",
				     (size_t)ev->data.scalar.length, JR_YAML_MAX_SCALAR);
			st->failed = st->bad = true;
			break;
		}
		n = new_node(st, JR_YNODE_SCALAR, m);
		n->len = ev->data.scalar.length;
		n->s = jr_xstrndup((const char *)ev->data.scalar.value, n->len);
		n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		n->is_null = n->plain && !ev->data.scalar.tag && is_null_plain(n->s, n->len);
		if (memchr(ev->data.scalar.value, 0, n->len)) {
			jr_diags_add(st->d, st->file, n->line, n->col,
				     "string contains a NUL character ('\\0'), which no job "
				     "setting can hold");
			count_error(st, m);
		}
		attach(st, n);
		break;
	case YAML_ALIAS_EVENT:
		jr_diags_add(st->d, st->file, (int)m->line + 1, (int)m->column + 1,
			     "YAML alias '*%.60s' is not supported: anchors and aliases are "
			     "refused in job files (write the value out)",
			     (const char *)ev->data.alias.anchor);
		count_error(st, m);
		n = new_node(st, JR_YNODE_SCALAR, m);
		n->s = jr_xstrdup("");
		n->is_null = true;
		n->plain = true;
		attach(st, n);
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT:
		refuse_anchor(st,
			      ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.anchor
								    : ev->data.mapping_start.anchor,
			      m);
		refuse_tag(st,
			   ev->type == YAML_SEQUENCE_START_EVENT ? ev->data.sequence_start.tag
								 : ev->data.mapping_start.tag,
			   m);
		if (st->depth >= JR_YAML_MAX_DEPTH) {
			jr_diags_add(st->d, st->file, (int)m->line + 1, (int)m->column + 1,
				     "nesting is too deep (more than %d levels)",
				     JR_YAML_MAX_DEPTH);
			st->failed = st->bad = true;
			break;
		}
		n = new_node(
		    st, ev->type == YAML_SEQUENCE_START_EVENT ? JR_YNODE_SEQ : JR_YNODE_MAP, m);
		attach(st, n);
		st->stack[st->depth++] = n;
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (st->depth > 0)
			st->depth--;
		break;
	default:
		break;
	}
	if (!st->failed && st->nodes > JR_YAML_MAX_NODES) {
		jr_diags_add(st->d, st->file, (int)m->line + 1, (int)m->column + 1,
			     "too many YAML nodes (the limit is %d)", JR_YAML_MAX_NODES);
		st->failed = st->bad = true;
	}
}

int jr_yaml_load(const char *file, const char *data, size_t len, struct jr_diags *d,
		 struct jr_ynode **root)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	struct ytree_state st;
	int tline, tcol, done = 0;

	*root = NULL;
	memset(&st, 0, sizeof(st));
	st.file = file;
	st.d = d;
	if (len > JR_JOBFILE_MAX_SIZE) {
		jr_diags_add(d, file, 0, 0, JR_JOBFILE_TOO_LARGE);
		return -1;
	}
	/* A leading UTF-8 byte order mark is dropped here, not left to libyaml:
	 * with the encoding set, libyaml does not detect it, and skips it as a
	 * token separator whose column then indents the first key. Dropped
	 * before every check, so that columns are counted as editors show them. */
	if (len >= 3 && !memcmp(data, "\xef\xbb\xbf", 3)) {
		data += 3;
		len -= 3;
	}
	if (check_text(file, (const unsigned char *)data, len, d) < 0)
		return -1;
	if (!yaml_parser_initialize(&parser)) {
		jr_diags_add(d, file, 0, 0, "cannot initialize the YAML parser");
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
	while (!done && !st.failed) {
		if (!yaml_parser_parse(&parser, &ev)) {
			int line = (int)parser.problem_mark.line + 1;
			int col = (int)parser.problem_mark.column + 1;

			if (parser.error == YAML_MEMORY_ERROR) {
				jr_diags_add(d, file, 0, 0, "out of memory while parsing YAML");
			} else if (parser.error == YAML_READER_ERROR) {
				/* Reader errors carry a byte offset, not a mark. */
				offset_to_pos(data, len, parser.problem_offset, &line, &col);
				jr_diags_add(d, file, line, col, "not valid YAML text: %s",
					     parser.problem ? parser.problem : "unreadable input");
			} else if (find_indent_tab(data, len, line, &tline, &tcol)) {
				jr_diags_add(
				    d, file, tline, tcol,
				    "tab character used for indentation: YAML indentation must use "
				    "spaces (the parser then failed at %d:%d: %s)",
				    line, col, parser.problem ? parser.problem : "syntax error");
			} else {
				char where[64] = "", hint[128];

				if (parser.context)
					snprintf(where, sizeof(where),
						 " (the construct started at %d:%d)",
						 (int)parser.context_mark.line + 1,
						 (int)parser.context_mark.column + 1);
				find_cron_hint(data, len, line, hint, sizeof(hint));
				jr_diags_add(d, file, line, col, "YAML syntax error: %s%s%s%s%s",
					     parser.problem ? parser.problem : "unknown problem",
					     parser.context ? " " : "",
					     parser.context ? parser.context : "", where, hint);
			}
			st.failed = st.bad = true;
			break;
		}
		if (ev.type == YAML_STREAM_END_EVENT)
			done = 1;
		handle_event(&st, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	if (st.bad) {
		jr_ynode_free(st.root);
		return -1;
	}
	*root = st.root;
	return 0;
}
