/* Unit tests for cron.c: parsing (fields, names, ranges, steps, @-forms,
 * errors naming the field) and the next matching minute, across DST changes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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
			localtime_r(&got, &tm);
			strftime(a, sizeof(a), "%F %R %Z", &tm);
		}
		if (want != -1) {
			localtime_r(&want, &tm);
			strftime(b, sizeof(b), "%F %R %Z", &tm);
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

/* jr_cron_due, `jobrunner tick`'s rule, at times given rather than read. */
static void test_due(void **state)
{
	struct jr_cron every = parse_ok("* * * * *"), daily = parse_ok("0 3 * * *"),
		       boot = parse_ok("@reboot");
	const int64_t noon = (int64_t)utc(2024, 1, 1, 12, 0) * 1000, day = 86400000;
	const time_t booted = utc(2024, 1, 1, 11, 59) + 30;
	int64_t mark = -1;

	(void)state;
	/* A time schedule: due once per minute, marked with the minute. */
	assert_true(jr_cron_due(&every, 0, noon + 5000, booted, &mark));
	assert_int_equal(mark, noon);
	assert_false(jr_cron_due(&every, mark, noon + 50000, booted, &mark));
	assert_true(jr_cron_due(&every, noon, noon + 60000, booted, &mark));
	assert_int_equal(mark, noon + 60000);
	/* Never ticked: counts from the previous minute (not the 03:00 it
	 * missed); ticks missed for two days: due, once. */
	assert_false(jr_cron_due(&daily, 0, noon, booted, &mark));
	assert_int_equal(mark, noon);
	assert_true(jr_cron_due(&daily, noon - 2 * day, noon, booted, &mark));
	assert_false(jr_cron_due(&daily, mark, noon + 60000, booted, &mark));
	/* @reboot, booted at 11:59:30 and first ticked at 11:59:32: due then,
	 * and not again at 12:00 (the minute of that tick began before the
	 * boot: its mark is the tick's own time). */
	assert_true(jr_cron_due(&boot, 0, (int64_t)booted * 1000 + 2000, booted, &mark));
	assert_int_equal(mark, (int64_t)booted * 1000 + 2000);
	assert_false(jr_cron_due(&boot, mark, noon, booted, &mark));
	assert_false(jr_cron_due(&boot, mark, noon + day, booted, &mark));
	/* Ticked before this boot: due. Boot time unknown: only if never ticked. */
	assert_true(jr_cron_due(&boot, noon - day, noon, booted, &mark));
	assert_false(jr_cron_due(&boot, noon - day, noon, 0, &mark));
	assert_true(jr_cron_due(&boot, 0, noon, 0, &mark));
}

/* Sets TZ to tz for one test (its teardown sets UTC back); false when its
 * tzdata is not installed. */
static bool set_zone(const char *tz)
{
	char path[128];

	snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
	if (access(path, R_OK) != 0)
		return false;
	setenv("TZ", tz, 1);
	tzset();
	return true;
}

static int set_utc(void **state)
{
	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	return 0;
}

static void test_next_dst_berlin(void **state)
{
	const time_t spring = 1806195600; /* 2027-03-28 03:00 CEST, was 02:00 CET */
	const time_t fall = 1824944400;	  /* 2027-10-31 02:00 CET, was 03:00 CEST */
	struct jr_cron c;
	time_t t, got;

	(void)state;
	if (!set_zone("Europe/Berlin"))
		skip();
	/* 02:00-02:59 does not exist on 2027-03-28: a job with a fixed hour
	 * runs at the change, once, then on the next day as usual. */
	next_is("30 2 * * *", spring - 3600, spring);
	next_is("30 2 * * *", spring, 1806280200); /* 2027-03-29 02:30 CEST */
	next_is("*/15 2 * * *", spring - 3600, spring);
	next_is("*/15 2 * * *", spring, 1806278400); /* 2027-03-29 02:00 CEST */
	/* With '*' in the hour it follows the clock: no 02:30 that day. */
	next_is("30 * * * *", spring - 1800, spring + 1800);
	next_is("0 * * * *", spring - 3600, spring);
	next_is("* * * * *", spring - 60, spring);
	/* 02:00-02:59 is twice on 2027-10-31: a fixed hour runs in the
	 * first pass only; '*' in the hour runs in both. */
	next_is("30 2 * * *", fall - 6 * 3600, fall - 1800); /* 02:30 CEST */
	next_is("30 2 * * *", fall - 1800, 1825032600);	     /* 2027-11-01 02:30 CET */
	next_is("*/20 2 * * *", fall - 1800, fall - 1200);   /* 02:40 CEST */
	next_is("*/20 2 * * *", fall - 1200, 1825030800);    /* 2027-11-01 02:00 CET */
	next_is("30 * * * *", fall - 1800, fall + 1800);     /* 02:30 CET */
	next_is("30 * * * *", fall + 1800, fall + 5400);     /* 03:30 CET */
	next_is("*/20 * * * *", fall - 1200, fall);	     /* 02:00 CET */
	next_is("* * * * *", fall - 60, fall);
	/* Every minute keeps advancing, by at most a minute, across both. */
	c = parse_ok("* * * * *");
	for (t = spring - 3 * 3600; t < spring + 3 * 3600; t = got) {
		got = jr_cron_next(&c, t);
		assert_true(got > t);
		assert_true(got - t <= 60);
	}
	for (t = fall - 3 * 3600; t < fall + 3 * 3600; t = got) {
		got = jr_cron_next(&c, t);
		assert_true(got > t);
		assert_true(got - t <= 60);
	}
}

static void test_next_dst_sao_paulo(void **state)
{
	const time_t spring = 1541300400; /* 2018-11-04 01:00 -02, was 00:00 -03 */
	const time_t fall = 1550368800;	  /* 2019-02-16 23:00 -03, was 2019-02-17 00:00 -02 */

	(void)state;
	if (!set_zone("America/Sao_Paulo"))
		skip();
	/* Midnight is skipped on 2018-11-04: @daily runs at 01:00. */
	next_is("@daily", spring - 12 * 3600, spring);
	next_is("@daily", spring, 1541383200); /* 2018-11-05 00:00 -02 */
	next_is("0 * * * *", spring - 3600, spring);
	/* 23:00-23:59 is twice on 2019-02-16. */
	next_is("30 23 * * *", fall - 12 * 3600, fall - 1800);
	next_is("30 23 * * *", fall - 1800, fall + 86400 + 1800); /* 2019-02-17 23:30 -03 */
	next_is("30 * * * *", fall - 1800, fall + 1800);
	next_is("@daily", fall - 12 * 3600, fall + 3600); /* 2019-02-17 00:00 -03 */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_fields),
	    cmocka_unit_test(test_parse_at_forms),
	    cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_next),
	    cmocka_unit_test(test_due),
	    cmocka_unit_test_teardown(test_next_dst_berlin, set_utc),
	    cmocka_unit_test_teardown(test_next_dst_sao_paulo, set_utc),
	};

	set_utc(NULL);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
