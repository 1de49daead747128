/* util: allocation that dies on exhaustion, a growable string buffer, JSON
 * string escaping, strict number/duration/size parsing, opening files that
 * must be trusted, and clocks. Nothing here is async-signal-safe. */
#ifndef JR_UTIL_H
#define JR_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* Allocation: on exhaustion these print "out of memory" and abort(), as git's
 * xmalloc dies; callers never check for NULL. */
void *jr_xmalloc(size_t size);
void *jr_xcalloc(size_t nmemb, size_t size);
void *jr_xrealloc(void *ptr, size_t size);
/* Grows *ptr (holding *alloc elements of elsize) to hold at least need. */
void jr_xgrow(void **ptr, size_t *alloc, size_t need, size_t elsize);
char *jr_xstrdup(const char *s);
char *jr_xstrndup(const char *s, size_t n);
char *jr_xasprintf(const char *fmt, ...) JR_PRINTF(1, 2);

/* A growable NUL-terminated buffer (git's strbuf). buf is never NULL after
 * jr_buf_init; release frees and leaves it reusable; detach hands the string
 * to the caller. */
struct jr_buf {
	char *buf;
	size_t len;
	size_t alloc;
};
#define JR_BUF_INIT { NULL, 0, 0 }
void jr_buf_init(struct jr_buf *b);
void jr_buf_release(struct jr_buf *b);
void jr_buf_reset(struct jr_buf *b);
char *jr_buf_detach(struct jr_buf *b, size_t *len);
void jr_buf_grow(struct jr_buf *b, size_t extra);
void jr_buf_add(struct jr_buf *b, const void *data, size_t len);
void jr_buf_adds(struct jr_buf *b, const char *s);
void jr_buf_addch(struct jr_buf *b, char c);
void jr_buf_addf(struct jr_buf *b, const char *fmt, ...) JR_PRINTF(2, 3);
void jr_buf_vaddf(struct jr_buf *b, const char *fmt, va_list ap);
/* Appends s as a JSON string literal, quotes included; invalid UTF-8 bytes
 * become U+FFFD so the output is always valid JSON. s may be NULL: null. */
void jr_buf_add_json_str(struct jr_buf *b, const char *s);
void jr_buf_add_json_strn(struct jr_buf *b, const char *s, size_t len);
/* Length (1-4) of the valid UTF-8 sequence at s (at most n bytes, n > 0),
 * 0 when invalid (overlong, surrogate, beyond U+10FFFF, cut short); *cp
 * (may be NULL) gets its code point. */
size_t jr_utf8_len(const unsigned char *s, size_t n, uint32_t *cp);
/* Appends the len bytes of s as text safe to show on a terminal: a control
 * character, which could move the cursor, clear the screen or retitle the
 * window, becomes '?' (as a NUL in a stored tail does); newline and tab
 * stay. See util.c for which bytes that is. */
void jr_buf_add_term_text(struct jr_buf *b, const char *s, size_t len);
/* A JSON array of the n strings of v. */
void jr_buf_add_json_strv(struct jr_buf *b, const char *const *v, size_t n);

/* Strict parsers: the whole string must be consumed; no sign, no spaces.
 * Return 0, or -1 with errno set to EINVAL (malformed) or ERANGE. */
int jr_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Durations: "90" (seconds), "90s", "15m", "2h", "1d", "1h30m", "500ms". */
int jr_parse_duration_ms(const char *s, int64_t *out_ms);
/* Sizes in bytes: "512", "64K", "10M", "2G", "1T" (powers of 1024). */
int jr_parse_size(const char *s, uint64_t *out);

/* p made absolute against the absolute directory dir: p itself when it is
 * absolute, else dir/p without leading "./" (dir for "." or ""); caller
 * frees. Nothing else is normalised. */
char *jr_path_abs(const char *dir, const char *p);

/* text with every byte that belongs to an occurrence of one of vals (a
 * NULL-terminated list; empty values are ignored) hidden: each run of such
 * bytes becomes "***". Occurrences may overlap; the result does not depend
 * on the order of vals or on where a scan starts. With cut_before (text is
 * the end of something longer), text's first bytes are also hidden when
 * they are the end of a value, as a value that began before text would
 * leave them. Returns a new string. */
char *jr_redact(const char *text, const char *const *vals, bool cut_before);

/* Levenshtein distance between a and b, ignoring ASCII case, for "did you
 * mean" hints: SIZE_MAX when either is longer than 64 bytes. */
size_t jr_edit_distance(const char *a, const char *b);
/* The one of the n candidates closest to s when it is close enough to be a
 * likely typo of it (no edit for 1-2 characters, one for 3-4, two up to
 * 8, three beyond), else NULL. */
const char *jr_closest(const char *s, const char *const *cands, size_t n);

/* Opens path read-only for a file jobrunner must trust (job files, ini):
 * refuses, judged by fstat on the opened descriptor, anything that is not a
 * regular file, is group- or world-writable, has more than one hard link,
 * or is owned by someone other than the effective user or root. Returns the
 * descriptor (O_CLOEXEC) or -1 with err set ("PATH: is writable by ..."). */
int jr_open_trusted(const char *path, struct jr_err *err);

/* Reads all of fd into b, failing with EFBIG past max bytes. */
int jr_read_all(int fd, size_t max, struct jr_buf *b, struct jr_err *err);

/* Reads a small file (a /proc or /sys entry) into buf, NUL-terminated, with
 * trailing newlines and spaces cut: its length, or -1. */
ssize_t jr_read_small(const char *path, char *buf, size_t size);

/* /proc/PID/stat of pid, read into buf: a pointer to what follows the
 * command name (" STATE PPID PGRP SESSION ..." from field 3 on; the name
 * may hold spaces and parentheses), or NULL when it cannot be read. */
const char *jr_proc_stat(pid_t pid, char *buf, size_t size);
/* The start time of process pid in clock ticks since boot (field 22 of
 * /proc/PID/stat), or -1 when there is no such process. */
int64_t jr_proc_start_time(pid_t pid);
/* Now, in the same unit (CLOCK_BOOTTIME in clock ticks, rounded down). */
int64_t jr_boot_ticks(void);

/* Creates dir and missing parents with mode (for new directories only). */
int jr_mkdir_p(const char *dir, unsigned mode, struct jr_err *err);

/* Wall clock and monotonic clock in milliseconds. */
int64_t jr_now_ms(void);
int64_t jr_mono_ms(void);

/* Formats a wall-clock ms timestamp as "YYYY-MM-DD HH:MM:SS" local time. */
void jr_fmt_time(int64_t ms, char *out, size_t outlen);
/* Formats a duration in ms as "850ms", "1.2s", "3m04s", "2h05m". */
void jr_fmt_duration(int64_t ms, char *out, size_t outlen);

#define JR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
