/* Unit tests for cron.c: parsing (fields, names, ranges, steps, @-forms,
 * errors naming the field) and the next matching minute. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cron.h"

static struct jr_cron parse_ok(const char *expr)
{
	struct jr_cron c;
	char err[256] = "";

	if (jr_cron_parse(expr, &c, err, sizeof(err)) != 0)
		fail_msg("'%s' did not parse: %s", expr, err);
	return c;
}

static void parse_bad(const char *expr, const char *fragment)
{
	struct jr_cron c;
	char err[256] = "";

	if (jr_cron_parse(expr, &c, err, sizeof(err)) == 0)
		fail_msg("'%s' parsed, expected an error with '%s'", expr, fragment);
	if (!strstr(err, fragment))
		fail_msg("'%s': error '%s' lacks '%s'", expr, err, fragment);
}

static void test_parse_fields(void **state)
{
	struct jr_cron c;
	int i;

	(void)state;
	c = parse_ok("*/5 * * * *");
	for (i = 0; i < 60; i++)
		assert_int_equal(!!(c.minute & (1ULL << i)), i % 5 == 0);
	assert_int_equal(c.hour, 0xffffff);
	assert_int_equal(c.dom, 0xfffffffe);
	assert_int_equal(c.month, 0x1ffe);
	assert_int_equal(c.dow, 0x7f);
	assert_true(c.dom_star);
	assert_true(c.dow_star);

	c = parse_ok("0 3 * * mon-fri");
	assert_int_equal(c.minute, 1);
	assert_int_equal(c.hour, 1u << 3);
	assert_int_equal(c.dow, 0x3e);
	assert_false(c.dow_star);

	c = parse_ok("0-30/10 1,13 1,15 jan,JUL-Sep 7");
	assert_int_equal(c.minute, (1ULL << 0) | (1ULL << 10) | (1ULL << 20) | (1ULL << 30));
	assert_int_equal(c.hour, (1u << 1) | (1u << 13));
	assert_int_equal(c.dom, (1u << 1) | (1u << 15));
	assert_int_equal(c.month, (1u << 1) | (1u << 7) | (1u << 8) | (1u << 9));
	assert_int_equal(c.dow, 1); /* 7 is Sunday */
	assert_false(c.dom_star);

	c = parse_ok("5/20 * * * sat-sun");
	assert_int_equal(c.dow, 0x41);
	assert_int_equal(c.minute, (1ULL << 5) | (1ULL << 25) | (1ULL << 45));
	c = parse_ok("  15   2  *  *  *  ");
	assert_int_equal(c.minute, 1ULL << 15);
}

static void test_parse_at_forms(void **state)
{
	struct jr_cron c;

	(void)state;
	c = parse_ok("@daily");
	assert_int_equal(c.minute, 1);
	assert_int_equal(c.hour, 1);
	assert_true(c.dom_star);
	c = parse_ok("@midnight");
	assert_int_equal(c.hour, 1);
	c = parse_ok("@hourly");
	assert_int_equal(c.hour, 0xffffff);
	c = parse_ok("@weekly");
	assert_int_equal(c.dow, 1);
	c = parse_ok("@monthly");
	assert_int_equal(c.dom, 2);
	c = parse_ok("@yearly");
	assert_int_equal(c.month, 2);
	c = parse_ok("@annually");
	assert_int_equal(c.month, 2);
	c = parse_ok("@reboot");
	assert_true(c.reboot);
	assert_int_equal(jr_cron_next(&c, 1700000000), -1);
}

static void test_parse_errors(void **state)
{
	(void)state;
	parse_bad("* * * *", "expected 5 fields");
	parse_bad("* * * * * *", "expected 5 fields");
	parse_bad("", "expected 5 fields");
	parse_bad("60 * * * *", "minute: value 60 is out of range 0-59");
	parse_bad("* 24 * * *", "hour: value 24 is out of range 0-23");
	parse_bad("* * 0 * *", "day-of-month: value 0 is out of range 1-31");
	parse_bad("* * 32 * *", "day-of-month");
	parse_bad("* * * 13 *", "month: value 13 is out of range 1-12");
	parse_bad("* * * * 8", "day-of-week: value 8 is out of range 0-7");
	parse_bad("* * * foo *", "month: expected a number 1-12 or a name");
	parse_bad("* * * * funday", "day-of-week");
	parse_bad("* * * * monday", "day-of-week");
	parse_bad("*/0 * * * *", "minute: step 0");
	parse_bad("*/ * * * *", "minute: expected a step number");
	parse_bad("5-1 * * * *", "minute: range 5-1 is backwards");
	parse_bad("1,,2 * * * *", "minute");
	parse_bad("1- * * * *", "minute");
	parse_bad("-1 * * * *", "minute");
	parse_bad("@daily2", "unknown '@daily2'");
	parse_bad("@", "unknown");
	parse_bad("x * * * *", "minute: expected a number 0-59");
	parse_bad("99999999999999999999 * * * *", "minute: value");
}

static time_t utc(int y, int mo, int d, int h, int mi)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_isdst = -1;
	return mktime(&tm); /* TZ is UTC in these tests */
}

static void next_is(const char *expr, time_t from, time_t want)
{
	struct jr_cron c = parse_ok(expr);
	time_t got = jr_cron_next(&c, from);

	if (got != want) {
		char a[64] = "-1", b[64] = "-1";
		struct tm tm;

		if (got != -1) {
			gmtime_r(&got, &tm);
			strftime(a, sizeof(a), "%F %R", &tm);
		}
		if (want != -1) {
			gmtime_r(&want, &tm);
			strftime(b, sizeof(b), "%F %R", &tm);
		}
		fail_msg("%s: next is %s, wanted %s", expr, a, b);
	}
}

static void test_next(void **state)
{
	time_t mon = utc(2024, 1, 1, 0, 0); /* a Monday */

	(void)state;
	next_is("* * * * *", mon, mon + 60);
	next_is("* * * * *", mon + 59, mon + 60);
	next_is("*/5 * * * *", mon, mon + 300);
	next_is("*/5 * * * *", mon + 1, mon + 300);
	next_is("0 3 * * *", mon, utc(2024, 1, 1, 3, 0));
	next_is("0 3 * * *", utc(2024, 1, 1, 3, 0), utc(2024, 1, 2, 3, 0));
	next_is("0 3 * * mon-fri", utc(2024, 1, 6, 12, 0), utc(2024, 1, 8, 3, 0));
	next_is("30 23 31 12 *", mon, utc(2024, 12, 31, 23, 30));
	next_is("0 0 29 2 *", utc(2024, 3, 1, 0, 0), utc(2028, 2, 29, 0, 0));
	next_is("0 0 31 2 *", mon, -1);
	next_is("0 0 31 4 *", mon, -1);
	/* Both day fields restricted: either matches (the 13th or a Friday). */
	next_is("0 0 13 * fri", mon, utc(2024, 1, 5, 0, 0));
	next_is("0 0 13 * fri", utc(2024, 1, 12, 0, 0), utc(2024, 1, 13, 0, 0));
	/* One restricted with '*': only it counts. */
	next_is("0 0 * * 0", mon, utc(2024, 1, 7, 0, 0));
	next_is("0 0 * * 7", mon, utc(2024, 1, 7, 0, 0));
	next_is("@monthly", mon, utc(2024, 2, 1, 0, 0));
	next_is("@yearly", mon, utc(2025, 1, 1, 0, 0));
	next_is("@hourly", mon + 1, mon + 3600);
	next_is("59 23 * * *", mon, utc(2024, 1, 1, 23, 59));
	/* Out of the supported range: no answer rather than overflow. */
	next_is("* * * * *", (time_t)INT64_MAX, -1);
	next_is("* * * * *", -1, -1);
}

static void test_next_dst(void **state)
{
	struct jr_cron c;
	time_t t, got;
	struct tm tm;

	(void)state;
	if (access("/usr/share/zoneinfo/Europe/Berlin", R_OK) != 0)
		skip();
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	/* 2024-03-31 02:30 does not exist in Berlin: the 02:xx job runs on
	 * the next day that has it, and the answer is always in the future. */
	c = parse_ok("30 2 * * *");
	t = 1711846800; /* 2024-03-31 01:00 CET */
	got = jr_cron_next(&c, t);
	assert_true(got > t);
	localtime_r(&got, &tm);
	assert_int_equal(tm.tm_min, 30);
	/* Every minute keeps advancing across the change. */
	c = parse_ok("* * * * *");
	for (t = 1711846800; t < 1711846800 + 3 * 3600; t = got) {
		got = jr_cron_next(&c, t);
		assert_true(got > t);
		assert_true(got - t <= 60);
	}
	setenv("TZ", "UTC", 1);
	tzset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_fields), cmocka_unit_test(test_parse_at_forms),
	    cmocka_unit_test(test_parse_errors), cmocka_unit_test(test_next),
	    cmocka_unit_test(test_next_dst),
	};

	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
