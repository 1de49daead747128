/* cron: 5-field cron expressions (Vixie cron syntax) and the @-forms. */
#include "cron.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "banned.h"

struct cron_field {
	const char *name; /* for messages */
	int min, max;
	const char *const *names; /* names for min.., or NULL */
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul",
					  "aug", "sep", "oct", "nov", "dec", NULL};
static const char *const dow_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL};

static const struct cron_field fields[5] = {
    {"minute", 0, 59, NULL},	      {"hour", 0, 23, NULL},
    {"day-of-month", 1, 31, NULL},    {"month", 1, 12, month_names},
    {"day-of-week", 0, 7, dow_names},
};

/* Parses one number or name at *p (advancing it). Returns 0 or -1 (message in errbuf). */
static int parse_value(const struct cron_field *f, const char **p, int *out, char *errbuf,
		       size_t errlen)
{
	const char *s = *p;
	long v = 0;
	int i, ndig = 0;

	if (*s >= '0' && *s <= '9') {
		while (*s >= '0' && *s <= '9') {
			if (v < 100000)
				v = v * 10 + (*s - '0');
			s++;
			ndig++;
		}
		if (v < f->min || v > f->max) {
			snprintf(errbuf, errlen, "%s: value %ld is out of range %d-%d", f->name, v,
				 f->min, f->max);
			return -1;
		}
		*out = (int)v;
		*p = s;
		return 0;
	}
	if (f->names) {
		for (i = 0; f->names[i]; i++) {
			if (strncasecmp(s, f->names[i], 3) == 0 &&
			    !((s[3] >= 'a' && s[3] <= 'z') || (s[3] >= 'A' && s[3] <= 'Z'))) {
				*out = f->min + i;
				*p = s + 3;
				return 0;
			}
		}
		snprintf(errbuf, errlen,
			 "%s: expected a number %d-%d or a name (%s-%s), got '%.20s'", f->name,
			 f->min, f->max, f->names[0], f->names[f == &fields[3] ? 11 : 6], s);
		return -1;
	}
	snprintf(errbuf, errlen,
		 "%s: expected a number %d-%d, '*', a range a-b, a list or a step /n; got '%.20s'",
		 f->name, f->min, f->max, s);
	return -1;
}

/* Parses one field (a comma list of '*', N, N-M, each with an optional /STEP)
 * into bits. */
static int parse_field(const struct cron_field *f, const char *s, uint64_t *bits, bool *star,
		       char *errbuf, size_t errlen)
{
	const char *p = s;
	int lo, hi, step, v;

	*bits = 0;
	*star = (*s == '*');
	for (;;) {
		if (*p == '*') {
			lo = f->min;
			hi = f->max == 7 ? 6 : f->max;
			p++;
		} else {
			if (parse_value(f, &p, &lo, errbuf, errlen) < 0)
				return -1;
			hi = lo;
			if (*p == '-') {
				p++;
				if (parse_value(f, &p, &hi, errbuf, errlen) < 0)
					return -1;
				if (f->max == 7 && hi == 0 && lo > 0)
					hi = 7; /* "sat-sun": Sunday as 7 */
				if (hi < lo) {
					snprintf(errbuf, errlen, "%s: range %d-%d is backwards",
						 f->name, lo, hi);
					return -1;
				}
			} else if (*p == '/') {
				/* "N/step" means N to the end of the range, as Vixie cron. */
				hi = f->max == 7 ? 6 : f->max;
				if (lo > hi)
					hi = lo;
			}
		}
		step = 1;
		if (*p == '/') {
			long sv = 0;

			p++;
			if (*p < '0' || *p > '9') {
				snprintf(errbuf, errlen, "%s: expected a step number after '/'",
					 f->name);
				return -1;
			}
			while (*p >= '0' && *p <= '9') {
				if (sv < 100000)
					sv = sv * 10 + (*p - '0');
				p++;
			}
			if (sv < 1 || sv > f->max) {
				snprintf(errbuf, errlen, "%s: step %ld is out of range 1-%d",
					 f->name, sv, f->max);
				return -1;
			}
			step = (int)sv;
		}
		for (v = lo; v <= hi; v += step)
			*bits |= 1ULL << (f->max == 7 && v == 7 ? 0 : v);
		if (*p == ',') {
			p++;
			continue;
		}
		if (*p) {
			snprintf(errbuf, errlen, "%s: unexpected '%c' in '%s'", f->name, *p, s);
			return -1;
		}
		return 0;
	}
}

static const struct {
	const char *name, *expr;
} at_forms[] = {
	{"@yearly", "0 0 1 1 *"},
	{"@annually", "0 0 1 1 *"},
	{"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"},
	{"@daily", "0 0 * * *"},
	{"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

int jr_cron_parse(const char *expr, struct jr_cron *out, char *errbuf, size_t errlen)
{
	char buf[256];
	char *fv[6];
	uint64_t bits[5];
	bool star[5];
	size_t i, nf = 0;
	char *p;

	memset(out, 0, sizeof(*out));
	while (*expr == ' ' || *expr == '\t')
		expr++;
	if (*expr == '@') {
		if (strcmp(expr, "@reboot") == 0) {
			out->reboot = true;
			return 0;
		}
		for (i = 0; i < sizeof(at_forms) / sizeof(at_forms[0]); i++)
			if (strcmp(expr, at_forms[i].name) == 0)
				return jr_cron_parse(at_forms[i].expr, out, errbuf, errlen);
		snprintf(errbuf, errlen,
			 "unknown '%.40s': expected @yearly, @annually, @monthly, @weekly, @daily, "
			 "@midnight, @hourly or @reboot",
			 expr);
		return -1;
	}
	if (strlen(expr) >= sizeof(buf)) {
		snprintf(errbuf, errlen, "expression is too long");
		return -1;
	}
	memcpy(buf, expr, strlen(expr) + 1);
	p = buf;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (nf == 6)
			break;
		fv[nf++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	if (nf != 5) {
		snprintf(errbuf, errlen,
			 "expected 5 fields (minute hour day-of-month month day-of-week) or an "
			 "@-form like @daily, got %s%zu",
			 nf > 5 ? "more than " : "", nf > 5 ? (size_t)5 : nf);
		return -1;
	}
	for (i = 0; i < 5; i++)
		if (parse_field(&fields[i], fv[i], &bits[i], &star[i], errbuf, errlen) < 0)
			return -1;
	out->minute = bits[0];
	out->hour = (uint32_t)bits[1];
	out->dom = (uint32_t)bits[2];
	out->month = (uint16_t)bits[3];
	out->dow = (uint8_t)bits[4];
	out->hour_star = star[1];
	out->dom_star = star[2];
	out->dow_star = star[4];
	return 0;
}

static bool day_matches(const struct jr_cron *c, const struct tm *tm)
{
	bool dom = c->dom & (1U << tm->tm_mday);
	bool dow = c->dow & (1U << tm->tm_wday);

	/* Classic rule: when both are restricted, either may match. */
	if (c->dom_star || c->dow_star)
		return dom && dow;
	return dom || dow;
}

/* A stretch of time holding at most one change of the local UTC offset:
 * the offset is off1, or when changes, off1 before change and off2 from
 * change on. */
struct zone_span {
	bool changes;
	time_t change;
	long off1, off2;
};

static long utc_offset(time_t t)
{
	struct tm tm;

	localtime_r(&t, &tm);
	return tm.tm_gmtoff;
}

/* Reads the local zone's offsets over [a, b] into z. Two changes within it
 * (none in any zone since 1970 for the 54 hours asked) would read as one or
 * none. */
static void zone_span(time_t a, time_t b, struct zone_span *z)
{
	time_t mid;

	z->off1 = utc_offset(a);
	z->off2 = utc_offset(b);
	z->changes = z->off1 != z->off2;
	z->change = 0;
	if (!z->changes)
		return;
	while (b - a > 1) { /* off(a) is off1, off(b) is not */
		mid = a + (b - a) / 2;
		if (utc_offset(mid) == z->off1)
			a = mid;
		else
			b = mid;
	}
	z->change = b;
	z->off2 = utc_offset(b);
}

/* The first time after t at which c fires on the local calendar day that
 * begins at day (seconds since the epoch of that date at 00:00 as if it
 * were UTC), or -1. Where the clock jumps forward, a time it skips fires at
 * the jump (once however many it skips) when the hour field is fixed, and
 * not at all with '*' in it; where it goes back, a time it repeats fires
 * the first time only when the hour field is fixed, both times with '*'
 * (which follows the clock: an hourly job still runs every hour). */
static time_t day_next(const struct jr_cron *c, time_t day, time_t t)
{
	struct zone_span z;
	time_t best = -1, local, at[2];
	bool ok[2];
	int h, m, i;

	/* Every zone's offset lies within -15h..+15h: the day's instants lie
	 * within [day - 15h, day + 39h]. */
	zone_span(day - 15 * 3600, day + 39 * 3600, &z);
	for (h = 0; h < 24; h++) {
		if (!(c->hour & (1U << h)))
			continue;
		for (m = 0; m < 60; m++) {
			if (!(c->minute & (1ULL << m)))
				continue;
			local = day + h * 3600 + m * 60;
			at[0] = local - z.off1;
			at[1] = local - z.off2;
			ok[0] = !z.changes || at[0] < z.change;
			ok[1] = z.changes && at[1] >= z.change;
			if (!ok[0] && !ok[1]) { /* skipped by a jump forward */
				at[0] = z.change;
				ok[0] = !c->hour_star;
			} else if (ok[0] && ok[1] && !c->hour_star) {
				ok[1] = false; /* repeated: the first time only */
			}
			for (i = 0; i < 2; i++)
				if (ok[i] && at[i] > t && (best < 0 || at[i] < best))
					best = at[i];
		}
	}
	return best;
}

time_t jr_cron_next(const struct jr_cron *c, time_t t)
{
	struct tm tm;
	time_t day, got, best = -1, last_day = 0;
	int limit_year;

	if (c->reboot || !c->minute || !c->hour || !c->dom || !c->month || !c->dow)
		return -1;
	/* Years 1970..9999 only: keeps the arithmetic below far from overflow. */
	if (t < 0 || t > (time_t)253402300799LL)
		return -1;
	/* Walk local calendar days with timegm/gmtime (no zone, no DST) and
	 * map each matching day's times to instants with the zone's offsets.
	 * Start the day before t's and look one day past the first day that
	 * fires: a repeated hour across midnight puts some of one day's
	 * times after the next day's first ones. */
	localtime_r(&t, &tm);
	limit_year = tm.tm_year +
		     9; /* Feb 29 on a given weekday recurs within 28 years; 9 covers leap days */
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	day = timegm(&tm) - 86400;
	for (;;) {
		gmtime_r(&day, &tm);
		if (tm.tm_year > limit_year || (best >= 0 && day > last_day))
			return best;
		if (!(c->month & (1U << (tm.tm_mon + 1)))) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			day = timegm(&tm);
			continue;
		}
		if (day_matches(c, &tm) && (got = day_next(c, day, t)) >= 0 &&
		    (best < 0 || got < best)) {
			if (best < 0)
				last_day = day + 86400;
			best = got;
		}
		day += 86400;
	}
}

bool jr_cron_due(const struct jr_cron *c, int64_t last_ms, int64_t now_ms, time_t booted,
		 int64_t *mark_ms)
{
	time_t now = (time_t)(now_ms / 1000), last = (time_t)(last_ms / 1000), next;

	if (c->reboot) {
		*mark_ms = now_ms;
		return last_ms == 0 || last_ms < (int64_t)booted * 1000;
	}
	now -= now % 60;
	*mark_ms = (int64_t)now * 1000;
	if (last_ms == 0)
		last = now - 60;
	next = jr_cron_next(c, last);
	return next >= 0 && next <= now;
}
