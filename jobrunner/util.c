#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

static void jr_oom(void)
{
	static const char msg[] = "jobrunner: out of memory\n";
	ssize_t r = write(2, msg, sizeof(msg) - 1);

	(void)r;
	abort();
}

void *jr_xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (!p)
		jr_oom();
	return p;
}

void *jr_xcalloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (!p)
		jr_oom();
	return p;
}

void *jr_xrealloc(void *ptr, size_t size)
{
	void *p = realloc(ptr, size ? size : 1);

	if (!p)
		jr_oom();
	return p;
}

void jr_xgrow(void **ptr, size_t *alloc, size_t need, size_t elsize)
{
	size_t n;

	if (need <= *alloc)
		return;
	n = *alloc ? *alloc : 8;
	while (n < need) {
		if (n > SIZE_MAX / 2 / elsize)
			jr_oom();
		n *= 2;
	}
	*ptr = jr_xrealloc(*ptr, n * elsize);
	*alloc = n;
}

char *jr_xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		jr_oom();
	return p;
}

char *jr_xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p)
		jr_oom();
	return p;
}

char *jr_xasprintf(const char *fmt, ...)
{
	struct jr_buf b = JR_BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	jr_buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return jr_buf_detach(&b, NULL);
}

static char jr_buf_empty[1];

void jr_buf_init(struct jr_buf *b)
{
	b->buf = jr_buf_empty;
	b->len = 0;
	b->alloc = 0;
}

void jr_buf_release(struct jr_buf *b)
{
	if (b->alloc)
		free(b->buf);
	jr_buf_init(b);
}

void jr_buf_reset(struct jr_buf *b)
{
	b->len = 0;
	if (b->alloc)
		b->buf[0] = '\0';
}

char *jr_buf_detach(struct jr_buf *b, size_t *len)
{
	char *s;

	if (!b->alloc)
		jr_buf_grow(b, 0);
	s = b->buf;
	if (len)
		*len = b->len;
	jr_buf_init(b);
	return s;
}

void jr_buf_grow(struct jr_buf *b, size_t extra)
{
	size_t need;

	if (!b->alloc)
		b->buf = NULL;
	if (extra > SIZE_MAX - b->len - 1)
		jr_oom();
	need = b->len + extra + 1;
	if (need > b->alloc) {
		size_t n = b->alloc ? b->alloc : 64;

		while (n < need)
			n = n > SIZE_MAX / 2 ? need : n * 2;
		b->buf = jr_xrealloc(b->buf, n);
		b->alloc = n;
	}
	if (b->len == 0)
		b->buf[0] = '\0';
}

void jr_buf_add(struct jr_buf *b, const void *data, size_t len)
{
	jr_buf_grow(b, len);
	if (len)
		memcpy(b->buf + b->len, data, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

void jr_buf_adds(struct jr_buf *b, const char *s)
{
	jr_buf_add(b, s, strlen(s));
}

void jr_buf_addch(struct jr_buf *b, char c)
{
	jr_buf_add(b, &c, 1);
}

void jr_buf_vaddf(struct jr_buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	jr_buf_grow(b, 64);
	va_copy(cp, ap);
	n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return;
	if ((size_t)n >= b->alloc - b->len) {
		jr_buf_grow(b, (size_t)n);
		vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void jr_buf_addf(struct jr_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jr_buf_vaddf(b, fmt, ap);
	va_end(ap);
}

size_t jr_utf8_len(const unsigned char *s, size_t n, uint32_t *cpp)
{
	size_t len, i;
	uint32_t cp;

	if (s[0] < 0x80) {
		if (cpp)
			*cpp = s[0];
		return 1;
	}
	if ((s[0] & 0xE0) == 0xC0) {
		len = 2;
		cp = s[0] & 0x1F;
	} else if ((s[0] & 0xF0) == 0xE0) {
		len = 3;
		cp = s[0] & 0x0F;
	} else if ((s[0] & 0xF8) == 0xF0) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3F);
	}
	if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	if (cpp)
		*cpp = cp;
	return len;
}

void jr_buf_add_json_strn(struct jr_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	jr_buf_addch(b, '"');
	while (i < len) {
		unsigned char c = p[i];

		switch (c) {
		case '"': jr_buf_adds(b, "\\\""); i++; continue;
		case '\\': jr_buf_adds(b, "\\\\"); i++; continue;
		case '\n': jr_buf_adds(b, "\\n"); i++; continue;
		case '\r': jr_buf_adds(b, "\\r"); i++; continue;
		case '\t': jr_buf_adds(b, "\\t"); i++; continue;
		default: break;
		}
		if (c < 0x20 || c == 0x7F) {
			jr_buf_addf(b, "\\u%04x", c);
			i++;
			continue;
		}
		n = jr_utf8_len(p + i, len - i, NULL);
		if (!n) {
			jr_buf_adds(b, "\\ufffd");
			i++;
			continue;
		}
		jr_buf_add(b, p + i, n);
		i += n;
	}
	jr_buf_addch(b, '"');
}

void jr_buf_add_json_str(struct jr_buf *b, const char *s)
{
	if (!s)
		jr_buf_adds(b, "null");
	else
		jr_buf_add_json_strn(b, s, strlen(s));
}

/* Controls: C0 (but newline and tab), DEL and C1, as characters of valid
 * UTF-8 (U+0080-U+009F) or as bytes 0x80-0x9F outside of it (a terminal in
 * an 8-bit charset takes 0x9B for CSI, as ESC [). Carriage return and
 * backspace go too: they let a line overwrite what it showed before.
 * Other text, valid UTF-8 first of all, is left as it is: it is what the
 * job wrote, in any language; and invalid bytes from 0xA0 up (Latin-1
 * text, say) control nothing. Every encoding of a control, overlong ones
 * included, holds a byte below 0x20 or from 0x80 to 0x9F, replaced: all
 * but an overlong DEL (C1 BF), which a terminal decoding UTF-8 refuses as
 * it does every overlong form. The terminal is taken to use UTF-8, as the
 * rest of jobrunner's output does: in an 8-bit charset, bytes of many a
 * valid character (À is C3 80, € E2 82 AC) read as C1 controls still. */
void jr_buf_add_term_text(struct jr_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t cp;

	while (i < len) {
		n = jr_utf8_len(p + i, len - i, &cp);
		if (!n) {
			jr_buf_addch(b, p[i] < 0xA0 ? '?' : (char)p[i]);
			i++;
			continue;
		}
		if ((cp < 0x20 && cp != '\n' && cp != '\t') || (cp >= 0x7F && cp < 0xA0))
			jr_buf_addch(b, '?');
		else
			jr_buf_add(b, p + i, n);
		i += n;
	}
}

char *jr_redact(const char *text, const char *const *vals, bool cut_before)
{
	size_t n = strlen(text), i, k, l, j;
	struct jr_buf b = JR_BUF_INIT;
	unsigned char *hide;
	bool any = false;

	for (k = 0; vals && vals[k]; k++)
		any |= vals[k][0] != '\0';
	if (!any || n == 0)
		return jr_xstrdup(text);
	hide = jr_xcalloc(n, 1);
	for (k = 0; vals[k]; k++) {
		const char *v = vals[k];

		if (!(l = strlen(v)))
			continue;
		for (i = 0; i + l <= n; i++)
			if (text[i] == v[0] && !memcmp(text + i, v, l))
				memset(hide + i, 1, l);
		/* The longest proper suffix of v that text starts with. */
		for (j = l - 1; cut_before && j > 0; j--)
			if (j <= n && !memcmp(text, v + l - j, j)) {
				memset(hide, 1, j);
				break;
			}
	}
	jr_buf_init(&b);
	for (i = 0; i < n;) {
		if (!hide[i]) {
			jr_buf_addch(&b, text[i++]);
			continue;
		}
		jr_buf_adds(&b, "***");
		while (i < n && hide[i])
			i++;
	}
	free(hide);
	return jr_buf_detach(&b, NULL);
}

char *jr_path_abs(const char *dir, const char *p)
{
	if (p[0] == '/')
		return jr_xstrdup(p);
	while (p[0] == '.' && p[1] == '/') {
		p += 2;
		while (*p == '/')
			p++;
	}
	if (strcmp(p, ".") == 0 || !*p)
		return jr_xstrdup(dir);
	return jr_xasprintf("%s/%s", strcmp(dir, "/") == 0 ? "" : dir, p);
}

void jr_buf_add_json_strv(struct jr_buf *b, const char *const *v, size_t n)
{
	jr_buf_addch(b, '[');
	for (size_t i = 0; i < n; i++) {
		if (i)
			jr_buf_addch(b, ',');
		jr_buf_add_json_str(b, v[i]);
	}
	jr_buf_addch(b, ']');
}

int jr_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	int64_t v = 0;
	bool neg = false;

	if (*s == '-' && min < 0) {
		neg = true;
		s++;
	}
	if (*s < '0' || *s > '9') {
		errno = EINVAL;
		return -1;
	}
	for (; *s; s++) {
		if (*s < '0' || *s > '9') {
			errno = EINVAL;
			return -1;
		}
		if (v > (INT64_MAX - (*s - '0')) / 10) {
			errno = ERANGE;
			return -1;
		}
		v = v * 10 + (*s - '0');
	}
	if (neg)
		v = -v;
	if (v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

int jr_parse_duration_ms(const char *s, int64_t *out_ms)
{
	int64_t total = 0, v, mult;
	const char *p = s;
	bool any = false;

	if (!*s) {
		errno = EINVAL;
		return -1;
	}
	/* A bare number means seconds. */
	if (jr_parse_i64(s, 0, INT64_MAX / 1000, &v) == 0) {
		*out_ms = v * 1000;
		return 0;
	}
	if (errno == ERANGE)
		return -1;
	while (*p) {
		v = 0;
		if (*p < '0' || *p > '9') {
			errno = EINVAL;
			return -1;
		}
		while (*p >= '0' && *p <= '9') {
			if (v > (INT64_MAX / 1000 - (*p - '0')) / 10) {
				errno = ERANGE;
				return -1;
			}
			v = v * 10 + (*p++ - '0');
		}
		if (p[0] == 'm' && p[1] == 's') {
			mult = 1;
			p += 2;
		} else if (*p == 's') {
			mult = 1000;
			p++;
		} else if (*p == 'm') {
			mult = 60 * 1000;
			p++;
		} else if (*p == 'h') {
			mult = 3600 * 1000;
			p++;
		} else if (*p == 'd') {
			mult = 86400 * 1000;
			p++;
		} else {
			errno = EINVAL;
			return -1;
		}
		if (v > (INT64_MAX / 4 - total) / mult) {
			errno = ERANGE;
			return -1;
		}
		total += v * mult;
		any = true;
	}
	if (!any) {
		errno = EINVAL;
		return -1;
	}
	*out_ms = total;
	return 0;
}

int jr_parse_size(const char *s, uint64_t *out)
{
	size_t len = strlen(s);
	uint64_t mult = 1;
	char num[32];
	int64_t v;

	if (len == 0 || len >= sizeof(num)) {
		errno = len ? ERANGE : EINVAL;
		return -1;
	}
	switch (s[len - 1]) {
	case 'K': case 'k': mult = 1ULL << 10; len--; break;
	case 'M': case 'm': mult = 1ULL << 20; len--; break;
	case 'G': case 'g': mult = 1ULL << 30; len--; break;
	case 'T': case 't': mult = 1ULL << 40; len--; break;
	default: break;
	}
	memcpy(num, s, len);
	num[len] = '\0';
	if (jr_parse_i64(num, 0, INT64_MAX, &v) < 0)
		return -1;
	if ((uint64_t)v > UINT64_MAX / mult) {
		errno = ERANGE;
		return -1;
	}
	*out = (uint64_t)v * mult;
	return 0;
}

size_t jr_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[65], prev, tmp;

	if (la > 64 || lb > 64)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t best = prev + (tolower((unsigned char)a[i - 1]) !=
					      tolower((unsigned char)b[j - 1]));

			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			tmp = row[j];
			row[j] = best;
			prev = tmp;
		}
	}
	return row[lb];
}

const char *jr_closest(const char *s, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bd = SIZE_MAX, d, i, len = strlen(s), limit;

	for (i = 0; i < n; i++) {
		d = jr_edit_distance(s, cands[i]);
		if (d < bd) {
			bd = d;
			best = cands[i];
		}
	}
	limit = len <= 2 ? 0 : len <= 4 ? 1 : len <= 8 ? 2 : 3;
	return bd <= limit ? best : NULL;
}

int jr_open_trusted(const char *path, struct jr_err *err)
{
	struct stat st;
	int fd;

	/* O_NONBLOCK so that a FIFO planted in place of a file cannot hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return jr_err_sys(err, errno, "%s", path);
	if (fstat(fd, &st) < 0) {
		jr_err_sys(err, errno, "%s", path);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		jr_err_set(err, "%s: not a regular file; refusing to read it", path);
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		jr_err_set(err, "%s: is writable by %s (mode %04o); refusing to trust it (chmod go-w)",
			   path, (st.st_mode & S_IWOTH) ? "everyone" : "its group",
			   (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if (st.st_nlink > 1) {
		jr_err_set(err, "%s: has %lu hard links; refusing to trust it", path,
			   (unsigned long)st.st_nlink);
		goto fail;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		jr_err_set(err, "%s: is owned by uid %lu, not by you (uid %lu) or root; refusing to trust it",
			   path, (unsigned long)st.st_uid, (unsigned long)geteuid());
		goto fail;
	}
	/* Back to blocking reads now that it is known to be a regular file. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
fail:
	close(fd);
	return -1;
}

int jr_read_all(int fd, size_t max, struct jr_buf *b, struct jr_err *err)
{
	ssize_t n;

	for (;;) {
		jr_buf_grow(b, 8192);
		n = read(fd, b->buf + b->len, b->alloc - b->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return jr_err_sys(err, errno, "read");
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->buf[b->len] = '\0';
		if (b->len > max)
			return jr_err_sys(err, EFBIG, "larger than %zu bytes", max);
	}
	return 0;
}

ssize_t jr_read_small(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return n;
}

const char *jr_proc_stat(pid_t pid, char *buf, size_t size)
{
	char path[64];
	const char *p;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (jr_read_small(path, buf, size) <= 0)
		return NULL;
	p = strrchr(buf, ')');
	return p ? p + 1 : NULL;
}

int64_t jr_proc_start_time(pid_t pid)
{
	char buf[1024];
	const char *p = jr_proc_stat(pid, buf, sizeof(buf));
	int field;

	if (!p)
		return -1;
	for (field = 2; field < 22; field++) {
		while (*p == ' ')
			p++;
		if (field < 21) {
			while (*p && *p != ' ')
				p++;
		}
	}
	if (*p < '0' || *p > '9')
		return -1;
	return strtoll(p, NULL, 10);
}

int64_t jr_boot_ticks(void)
{
	static long hz;
	struct timespec ts;

	if (!hz && (hz = sysconf(_SC_CLK_TCK)) <= 0)
		hz = 100;
	if (clock_gettime(CLOCK_BOOTTIME, &ts) < 0)
		return 0;
	return (int64_t)ts.tv_sec * hz + (int64_t)ts.tv_nsec / (1000000000L / hz);
}

int jr_mkdir_p(const char *dir, unsigned mode, struct jr_err *err)
{
	char *p, *path = jr_xstrdup(dir);
	int ret = -1;

	for (p = path + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(path, mode) < 0 && errno != EEXIST) {
				jr_err_sys(err, errno, "mkdir %s", path);
				goto out;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	ret = 0;
out:
	free(path);
	return ret;
}

int64_t jr_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t jr_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void jr_fmt_time(int64_t ms, char *out, size_t outlen)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || !localtime_r(&t, &tm)) {
		snprintf(out, outlen, "-");
		return;
	}
	strftime(out, outlen, "%Y-%m-%d %H:%M:%S", &tm);
}

void jr_fmt_duration(int64_t ms, char *out, size_t outlen)
{
	if (ms < 0)
		snprintf(out, outlen, "-");
	else if (ms < 1000)
		snprintf(out, outlen, "%dms", (int)ms);
	else if (ms < 60000)
		snprintf(out, outlen, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(out, outlen, "%dm%02ds", (int)(ms / 60000), (int)(ms / 1000 % 60));
	else
		snprintf(out, outlen, "%dh%02dm", (int)(ms / 3600000), (int)(ms / 60000 % 60));
}
