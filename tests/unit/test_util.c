/* Unit tests for util.c: buffers, JSON strings, parsers, trusted open. */
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

#include "util.h"

static void test_buf(void **state)
{
	struct jr_buf b = JR_BUF_INIT;
	char *s;
	size_t len;
	int i;

	(void)state;
	jr_buf_init(&b);
	assert_string_equal(b.buf, "");
	for (i = 0; i < 1000; i++)
		jr_buf_addf(&b, "%d,", i);
	assert_int_equal(b.len, strlen(b.buf));
	assert_memory_equal(b.buf, "0,1,2,", 6);
	jr_buf_reset(&b);
	assert_int_equal(b.len, 0);
	jr_buf_adds(&b, "abc");
	s = jr_buf_detach(&b, &len);
	assert_string_equal(s, "abc");
	assert_int_equal(len, 3);
	free(s);
	jr_buf_release(&b);
}

static void test_json_str(void **state)
{
	struct jr_buf b = JR_BUF_INIT;

	(void)state;
	jr_buf_init(&b);
	jr_buf_add_json_str(&b, "a\"b\\c\n\t\x01 é");
	assert_string_equal(b.buf, "\"a\\\"b\\\\c\\n\\t\\u0001 é\"");
	jr_buf_reset(&b);
	jr_buf_add_json_strn(&b, "\xff\xc3", 2); /* invalid UTF-8 */
	assert_string_equal(b.buf, "\"\\ufffd\\ufffd\"");
	jr_buf_reset(&b);
	jr_buf_add_json_str(&b, NULL);
	assert_string_equal(b.buf, "null");
	jr_buf_release(&b);
}

/* Text for a terminal: controls become '?'; newline, tab and valid UTF-8
 * stay; of the invalid bytes, those that could be C1 controls go. */
static void test_term_text(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain\ttext\n", "plain\ttext\n" },
		{ "hello \033]0;PWNED\007\033[2J", "hello ?]0;PWNED??[2J" },
		{ "a\rb\bc\x7f\x01\x1f", "a?b?c???" },
		{ "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		  "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" }, /* été € 😀 */
		{ "\xc2\x9b" "1m \xc2\x85 \xc2\xa0", "?1m ? \xc2\xa0" }, /* U+009B, U+0085; NBSP stays */
		{ "\x9b" "1m \x80\x9f", "?1m ??" }, /* lone C1 bytes */
		{ "caf\xe9 \xff \xa0", "caf\xe9 \xff \xa0" }, /* Latin-1 is not a control */
		{ "\xc0\x9b \xe0\x80\x9b", "\xc0? \xe0??" }, /* overlong ESC */
		{ "\xe2\x82", "\xe2?" }, /* cut short */
	};
	struct jr_buf b = JR_BUF_INIT;
	size_t i;

	(void)state;
	jr_buf_init(&b);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		jr_buf_reset(&b);
		jr_buf_add_term_text(&b, cases[i].in, strlen(cases[i].in));
		assert_string_equal(b.buf, cases[i].out);
	}
	jr_buf_reset(&b);
	jr_buf_add_term_text(&b, "a\0b", 3); /* a NUL too, should one come */
	assert_memory_equal(b.buf, "a?b", 4);
	jr_buf_release(&b);
}

static void test_durations(void **state)
{
	static const struct { const char *s; int64_t ms; } good[] = {
		{ "90", 90000 }, { "90s", 90000 }, { "15m", 900000 }, { "2h", 7200000 },
		{ "1d", 86400000 }, { "1h30m", 5400000 }, { "500ms", 500 }, { "0", 0 },
	};
	static const char *bad[] = { "", "-1", "1x", "h", "1h30", " 1s", "1.5s", "99999999999999999999" };
	int64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < JR_ARRAY_SIZE(good); i++) {
		assert_int_equal(jr_parse_duration_ms(good[i].s, &v), 0);
		assert_int_equal(v, good[i].ms);
	}
	for (i = 0; i < JR_ARRAY_SIZE(bad); i++)
		assert_int_equal(jr_parse_duration_ms(bad[i], &v), -1);
}

/* What history and show print: readable at every scale. */
static void test_fmt_duration(void **state)
{
	char b[32];

	(void)state;
	jr_fmt_duration(-1, b, sizeof(b));
	assert_string_equal(b, "-");
	jr_fmt_duration(7, b, sizeof(b));
	assert_string_equal(b, "7ms");
	jr_fmt_duration(1250, b, sizeof(b));
	assert_string_equal(b, "1.2s");
	jr_fmt_duration(184000, b, sizeof(b));
	assert_string_equal(b, "3m04s");
	jr_fmt_duration(7500000, b, sizeof(b));
	assert_string_equal(b, "2h05m");
}

static void test_sizes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(jr_parse_size("512", &v), 0);
	assert_int_equal(v, 512);
	assert_int_equal(jr_parse_size("64K", &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(jr_parse_size("10M", &v), 0);
	assert_int_equal(v, 10485760);
	assert_int_equal(jr_parse_size("2G", &v), 0);
	assert_int_equal(v, 2147483648ULL);
	assert_int_equal(jr_parse_size("", &v), -1);
	assert_int_equal(jr_parse_size("K", &v), -1);
	assert_int_equal(jr_parse_size("1.5G", &v), -1);
	assert_int_equal(jr_parse_size("99999999999999T", &v), -1);
	assert_int_equal(errno, ERANGE);
}

static void test_open_trusted(void **state)
{
	char dir[] = "/tmp/jrutil.XXXXXX", path[256], link2[300];
	struct jr_err err = JR_ERR_INIT;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f.yaml", dir);
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_true(fd >= 0);
	close(fd);
	fd = jr_open_trusted(path, &err);
	assert_true(fd >= 0);
	close(fd);

	chmod(path, 0664);
	assert_int_equal(jr_open_trusted(path, &err), -1);
	assert_non_null(strstr(err.msg, "writable by its group"));
	chmod(path, 0646);
	assert_int_equal(jr_open_trusted(path, &err), -1);
	assert_non_null(strstr(err.msg, "writable by everyone"));
	chmod(path, 0644);

	snprintf(link2, sizeof(link2), "%s/hard", dir);
	assert_int_equal(link(path, link2), 0);
	assert_int_equal(jr_open_trusted(path, &err), -1);
	assert_non_null(strstr(err.msg, "hard links"));
	unlink(link2);

	assert_int_equal(jr_open_trusted(dir, &err), -1);
	assert_non_null(strstr(err.msg, "not a regular file"));
	assert_int_equal(mkfifo(link2, 0600), 0);
	assert_int_equal(jr_open_trusted(link2, &err), -1); /* must not hang */
	unlink(link2);
	unlink(path);
	rmdir(dir);
}

/* "Did you mean": the nearest candidate, only when a likely typo. */
static void assert_abs(const char *dir, const char *p, const char *want)
{
	char *got = jr_path_abs(dir, p);

	assert_string_equal(got, want);
	free(got);
}

static void test_utf8_len(void **state)
{
	uint32_t cp = 0;

	(void)state;
	assert_int_equal(jr_utf8_len((const unsigned char *)"a", 1, &cp), 1);
	assert_int_equal(cp, 'a');
	assert_int_equal(jr_utf8_len((const unsigned char *)"\xc3\xa9", 2, &cp), 2);
	assert_int_equal(cp, 0xe9);
	assert_int_equal(jr_utf8_len((const unsigned char *)"\xe2\x82\xac", 3, &cp), 3);
	assert_int_equal(cp, 0x20ac);
	assert_int_equal(jr_utf8_len((const unsigned char *)"\xf0\x9f\x98\x80", 4, &cp), 4);
	assert_int_equal(cp, 0x1f600);
	assert_int_equal(jr_utf8_len((const unsigned char *)"\xc3\xa9", 1, NULL), 0); /* cut */
	assert_int_equal(jr_utf8_len((const unsigned char *)"\xc0\xaf", 2, NULL), 0); /* overlong */
	assert_int_equal(jr_utf8_len((const unsigned char *)"\xed\xa0\x80", 3, NULL), 0); /* surrogate */
	assert_int_equal(jr_utf8_len((const unsigned char *)"\xf4\x90\x80\x80", 4, NULL), 0);
	assert_int_equal(jr_utf8_len((const unsigned char *)"\x80", 1, NULL), 0);
}

static void test_path_abs(void **state)
{
	(void)state;
	assert_abs("/base", "/etc/x", "/etc/x");
	assert_abs("/base", "db/x.db", "/base/db/x.db");
	assert_abs("/base", "./db", "/base/db");
	assert_abs("/base", ".//./db", "/base/db");
	assert_abs("/base", ".", "/base");
	assert_abs("/base", "", "/base");
	assert_abs("/", "x", "/x"); /* not //x */
	assert_abs("/", ".", "/");
	assert_abs("/base", "../up", "/base/../up"); /* nothing else normalised */
}

static void expect_redact(const char *text, const char *const *vals, bool cut, const char *want)
{
	char *got = jr_redact(text, vals, cut);

	assert_string_equal(got, want);
	free(got);
}

/* Every byte of every occurrence is hidden, whatever the order of the
 * values and however they overlap; with cut_before, the end of a value
 * that began before the text too. */
static void test_redact(void **state)
{
	const char *none[] = { NULL }, *empty[] = { "", NULL };
	const char *ab[] = { "abcdef", "defghi", NULL }, *ba[] = { "defghi", "abcdef", NULL };
	const char *s3[] = { "ABcdAB", "cdABSECRET", NULL };

	(void)state;
	expect_redact("x abcdef y", none, false, "x abcdef y");
	expect_redact("x abcdef y", empty, false, "x abcdef y");
	expect_redact("x abcdef y abcdef", ab, false, "x *** y ***");
	/* overlapping occurrences: nothing of either is left */
	expect_redact("1abcdefghi2", ab, false, "1***2");
	expect_redact("1abcdefghi2", ba, false, "1***2");
	/* a value matching inside another's start must not expose the rest */
	expect_redact("ABcdABSECRET tail", s3, false, "*** tail");
	/* adjacent occurrences are one run */
	expect_redact("abcdefabcdef", ab, false, "***");
	/* the text starts inside a value: its end is hidden only when cut */
	expect_redact("efghi and more", ab, false, "efghi and more");
	expect_redact("efghi and more", ab, true, "*** and more");
	expect_redact("dABSECRET!", s3, true, "***!");
	expect_redact("", ab, true, "");
}

static void test_closest(void **state)
{
	const char *const keys[] = {"jobs_dir", "database", "log_dir", "parallel"};

	(void)state;
	assert_int_equal(jr_edit_distance("kitten", "sitting"), 3);
	assert_int_equal(jr_edit_distance("Database", "database"), 0);
	assert_int_equal(jr_edit_distance("", "abc"), 3);
	assert_string_equal(jr_closest("jobs_dr", keys, 4), "jobs_dir");
	assert_string_equal(jr_closest("paralel", keys, 4), "parallel");
	assert_null(jr_closest("xyz", keys, 4));
	assert_null(jr_closest("zz", keys, 4));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf), cmocka_unit_test(test_closest),
		cmocka_unit_test(test_path_abs), cmocka_unit_test(test_utf8_len),
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_term_text),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_fmt_duration),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_open_trusted),
		cmocka_unit_test(test_redact),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
