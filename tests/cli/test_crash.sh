#!/usr/bin/env bash
# A runner killed with SIGKILL leaves its runs `lost` for the next command;
# SIGINT and SIGTERM stop the runner cleanly, recording `interrupted`.
. "$(dirname "$0")/lib.sh"
setup_project

job s.yaml <<'EOF2'
jobs:
  - name: long
    shell: 'echo started; exec sleep 47'
    on_failure:
      - [touch, hook-ran]
  - name: long2
    command: [sleep, "47"]
  - name: later
    needs: [long]
    command: ["true"]
EOF2

# --- kill -9 mid-run: the next command reconciles to lost ---
"$JR" -c "$P/jobrunner.ini" run long >/dev/null 2>&1 &
runner=$!
wait_for "the run is recorded running" 10 qeq "select count(*) from runs where status='running'" 1
wait_for "its pid is recorded while it runs" 10 qeq "select pid > 0 from runs where job='long'" 1
wrote() { grep -q started "$(q "select stdout_path from runs where job='long'")" 2>/dev/null; }
wait_for "it wrote its first line" 10 wrote
kill -9 "$runner"
wait "$runner" 2>/dev/null
pkill -f "sleep 4[7]"
equals "the row is still running before any command" "$(q "select status from runs where job='long'")" "running"
expect_exit 0 "any later command (history) works" jr history
contains "it says runs were lost" "$T/err" "lost"
equals "the run is now lost" "$(q "select status from runs where job='long'")" "lost"
contains "lost run says why" <(q "select error from runs where job='long'") "disappeared"
equals "the invocation is closed" "$(q "select status from invocations order by id limit 1")" "lost"
# What it wrote is not lost with it: the row names the log file in use.
expect_exit 0 "logs of the lost run" jr logs long
equals "prints what it wrote before jobrunner died" "$(cat "$T/out")" "started"
contains "and says the run is lost (its log may stop short)" "$T/err" "is lost: "
# Following a run already recorded lost (as when it is recorded between
# the command's start and its first read) ends at once, saying so too.
expect_exit 0 "logs --follow of the lost run" timeout 8 "$JR" -c "$P/jobrunner.ini" logs --follow long
equals "prints what it wrote" "$(cat "$T/out")" "started"
contains "and says the run is lost" "$T/err" "is lost: "

# A live runner's rows are not touched by another command.
"$JR" -c "$P/jobrunner.ini" run long >/dev/null 2>&1 &
runner=$!
wait_for "second run recorded running" 10 qeq "select count(*) from runs where status='running'" 1
jr history >/dev/null 2>&1
equals "a live runner's run stays running" "$(q "select count(*) from runs where status='running'")" 1

# --- SIGTERM: stop, terminate jobs, record interrupted, exit 143 ---
kill -TERM "$runner"
wait "$runner"
equals "SIGTERM: exit 143" "$?" 143
equals "the run is failed/interrupted" "$(q "select status, error from runs where job='long' order by id desc limit 1")" "failed|interrupted"
contains "the signal sent is recorded as interrupt" <(q "select reason from run_signals") "interrupt"
check "the job's process is gone" bash -c '! pgrep -f "sleep 4[7]" >/dev/null'
check "an interrupt is not a job failure: no on_failure hook" test ! -e "$P/jobs.d/hook-ran"

# --- SIGINT: exit 130; jobs not yet started are recorded skipped ---
"$JR" -c "$P/jobrunner.ini" run later long2 -j 2 >/dev/null 2>&1 &
runner=$!
wait_for "both long jobs running" 10 qeq "select count(*) from runs where status='running'" 2
kill -INT "$runner"
wait "$runner"
equals "SIGINT: exit 130" "$?" 130
equals "dependent not started is skipped" "$(q "select status from runs where job='later'")" "skipped"
equals "no run left running" "$(q "select count(*) from runs where status='running'")" 0
check "no job process left" bash -c '! pgrep -f "sleep 4[7]" >/dev/null'

# --- -j 1: the next job has no run (nothing `running`) while the slot is
# busy; interrupted before it starts, it ends `skipped` ---
"$JR" -c "$P/jobrunner.ini" run long long2 -j 1 >/dev/null 2>&1 &
runner=$!
wait_for "one job running" 10 qeq "select count(*) from runs where status='running'" 1
sleep 0.3
equals "the other has no run yet" "$(q "select count(*) from runs where job='long2' and invocation_id = (select max(id) from invocations)")" "0"
kill -INT "$runner"
wait "$runner"
equals "SIGINT with a job waiting for a slot: exit 130" "$?" 130
equals "the waiting job ended skipped, once" "$(q "select count(*), status, error from runs where job='long2' and invocation_id = (select max(id) from invocations)")" "1|skipped|interrupted before it started"
equals "nothing left queued or running" "$(q "select count(*) from runs where status in ('queued', 'running')")" 0

done_testing
