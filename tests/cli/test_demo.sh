#!/usr/bin/env bash
# The demo batch (jobs.d/) validates and succeeds on this machine.
. "$(dirname "$0")/lib.sh"
cp -r "$JR_TOP/jobs.d" "$JR_TOP/jobrunner.ini" "$T/"
chmod -R go-w "$T/jobs.d" "$T/jobrunner.ini"
cd "$T" || exit 1
expect_exit 0 "the demo batch is valid" "$JR" validate
expect_exit 0 "the demo batch succeeds" "$JR" run
n=$(sqlite3 db/jobrunner.db "select count(distinct job) from runs where status='succeeded'")
equals "every demo job succeeded" "$n" "$("$JR" list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')"
equals "the flaky job shows a retry" "$(sqlite3 db/jobrunner.db "select group_concat(status) from (select status from runs where job='flaky-demo' order by id)")" "failed,succeeded"
check "the backup was made" test -s db/backup.db
contains "the report ran last" <("$JR" history -n 1) "report"
check "the on_success hook wrote its log" bash -c 'cat db/logs/report/*.hooks | grep -q "hook: report succeeded"'
done_testing
