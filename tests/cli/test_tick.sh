#!/usr/bin/env bash
# jobrunner tick: runs what came due since the last tick, once; silent.
. "$(dirname "$0")/lib.sh"
setup_project

# Schedules far from the current time, so that the first tick never finds
# them due whenever the test runs; and no tick pair across a minute boundary.
min=$(((10#$(date +%M) + 30) % 60))
hour=$(((10#$(date +%H) + 12) % 24))
# The dry run and the two ticks below must fall in one minute: 20 s is
# ample, even under ASan on a loaded machine.
while [ "$(date +%S)" -ge 40 ]; do sleep 1; done
job t.yaml <<EOF2
jobs:
  - name: every-minute
    schedule: "* * * * *"
    command: ["true"]
  - name: hourly
    schedule: "$min * * * *"
    command: ["true"]
  - name: at-boot
    schedule: "@reboot"
    command: ["true"]
  - name: unscheduled
    command: ["true"]
  - name: prep
    command: ["true"]
  - name: daily-with-need
    schedule: "$min $hour * * *"
    needs: [prep]
    command: ["true"]
EOF2
expect_exit 0 "tick --dry-run" jr tick --dry-run
lacks "a job whose time has not come is not due" "$T/out" "hourly"
contains "an every-minute job is due on the first tick" "$T/out" "every-minute"
contains "an @reboot job is due on the first tick" "$T/out" "at-boot"
lacks "an unscheduled job never is" "$T/out" "unscheduled"
check "dry run records nothing" test ! -e "$DB" -o "$(q "select count(*) from runs")" = 0

before=$(date +%s%3N)
expect_exit 0 "tick runs what is due" jr tick
after=$(date +%s%3N)
equals "tick is silent when all succeeded" "$(cat "$T/out" "$T/err")" ""
equals "every-minute ran once" "$(q "select count(*) from runs where job='every-minute'")" 1
equals "at-boot ran once" "$(q "select count(*) from runs where job='at-boot'")" 1
equals "unscheduled did not run" "$(q "select count(*) from runs where job='unscheduled'")" 0
equals "the schedule table records the tick" "$(q "select count(*) from schedule where job='every-minute'")" 1
equals "a time schedule's tick is recorded as its minute" "$(q "select last_tick_ms % 60000 from schedule where job='every-minute'")" 0
# An @reboot job's is the tick's own time: a tick in the minute of the boot
# recorded as that minute's start would be before the boot, and the next
# tick would run the job again.
mark=$(q "select last_tick_ms from schedule where job='at-boot'")
check "an @reboot job's tick is recorded as the time of the tick" test "$mark" -ge "$before" -a "$mark" -le "$after"

equals "the schedule records the run the tick started" \
	"$(q "select last_run_id from schedule where job='every-minute'")" \
	"$(q "select id from runs where job='every-minute'")"
equals "also for an @reboot job" \
	"$(q "select last_run_id from schedule where job='at-boot'")" \
	"$(q "select id from runs where job='at-boot'")"
equals "a job that was not due has none" \
	"$(q "select count(*) from schedule where job='hourly' and last_run_id is null")" 1

expect_exit 0 "a second tick in the same minute" jr tick
equals "runs nothing again" "$(q "select count(*) from runs where job in ('every-minute', 'at-boot')")" 2

# Pretend the last tick was two hours ago: the hourly and the every-minute
# job are due once each (missed ticks are not replayed); at-boot is not
# (this boot was ticked).
q "update schedule set last_tick_ms = last_tick_ms - 7200 * 1000 where job in ('hourly', 'every-minute')"
jr tick >/dev/null 2>&1
equals "a missed hourly job runs once" "$(q "select count(*) from runs where job='hourly'")" 1
equals "every-minute runs once more, not 120 times" "$(q "select count(*) from runs where job='every-minute'")" 2
equals "at-boot does not run again in the same boot" "$(q "select count(*) from runs where job='at-boot'")" 1

# Ticked before this boot: @reboot runs again.
q "update schedule set last_tick_ms = 1000 where job = 'at-boot'"
jr tick >/dev/null 2>&1
equals "at-boot runs after a reboot" "$(q "select count(*) from runs where job='at-boot'")" 2

# A due job brings what it needs.
q "update schedule set last_tick_ms = last_tick_ms - 2 * 86400 * 1000 where job = 'daily-with-need'"
jr tick >/dev/null 2>&1
equals "the daily job ran" "$(q "select count(*) from runs where job='daily-with-need'")" 1
equals "with its need first" "$(q "select group_concat(job) from (select job from runs where job in ('prep', 'daily-with-need') order by id)")" "prep,daily-with-need"

# Ticks at the same moment: one of them runs a due job, once (all in one
# minute: a tick in the next would rightly run it again).
while [ "$(date +%S)" -ge 40 ]; do sleep 1; done
q "update schedule set last_tick_ms = last_tick_ms - 7200 * 1000 where job = 'every-minute'"
before=$(q "select count(*) from runs where job='every-minute'")
for i in 1 2 3 4; do jr tick >/dev/null 2>&1 & done
wait
equals "four ticks at once run a due job once" \
	"$(q "select count(*) from runs where job='every-minute'")" $((before + 1))

job f.yaml <<'EOF2'
name: failing-cron
schedule: "* * * * *"
command: ["false"]
EOF2
expect_exit 1 "a failing scheduled job makes tick exit 1" jr tick
contains "and print a summary" "$T/err" "failing-cron"
expect_exit 2 "tick takes no job names" jr tick every-minute
done_testing
