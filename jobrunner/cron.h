/* cron: 5-field cron expressions and @-forms, as used by `schedule:`. */
#ifndef JR_CRON_H
#define JR_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct jr_cron {
	uint64_t minute; /* bit i: minute i (0-59) */
	uint32_t hour;   /* 0-23 */
	uint32_t dom;    /* 1-31 */
	uint16_t month;  /* 1-12 */
	uint8_t dow;     /* 0-6, Sunday 0 (7 accepted as Sunday) */
	bool hour_star;  /* hour written with '*' ("*", "*\/2"): follows the clock across DST */
	bool dom_star, dow_star; /* for the classic day-of-month OR day-of-week rule */
	bool reboot;     /* @reboot: never matched by time */
};

/* Parses expr ("*\/5 * * * *", "0 3 * * mon-fri", "@daily"...). Returns 0, or
 * -1 with a message in errbuf naming the field and what was expected. */
int jr_cron_parse(const char *expr, struct jr_cron *out, char *errbuf, size_t errlen);
/* The first minute strictly after t (local time) that matches; -1 if none.
 * Where the local clock jumps forward (DST begins), the times it skips fire
 * at the jump, once, when the hour is fixed ("30 2 * * *", @daily), and not
 * at all when the hour is written with '*'; where it goes back, the times
 * it repeats fire once (the first time) when the hour is fixed, twice with
 * '*', which follows the clock. Close to Vixie cron and cronie, which
 * also count a '*' minute as a wildcard ("*\/15 2 * * *" does not fire at
 * the jump there; it does here). */
time_t jr_cron_next(const struct jr_cron *c, time_t t);
/* `jobrunner tick`'s rule: whether a job scheduled c is due at now_ms (the
 * wall clock), given the mark its last tick recorded (last_ms, 0: never
 * ticked) and the boot time (booted, seconds; 0: unknown). *mark_ms gets
 * what to record as its last tick: for a time schedule the start of now's
 * minute (every tick within a minute sees the same times; a job never
 * ticked counts from the previous minute, so that a daily job added at
 * noon does not run for the midnight it missed; missed ticks make it due
 * once, not once per missed time); for @reboot now_ms itself, so that a
 * tick in the minute of the boot is not taken for one before it. */
bool jr_cron_due(const struct jr_cron *c, int64_t last_ms, int64_t now_ms, time_t booted,
		 int64_t *mark_ms);

#endif
