#!/usr/bin/env bash
# Another process holding the database's write lock (an open sqlite3
# transaction): a batch waits for it without stopping its jobs' care (they
# are reaped when they end, timed out, stopped by a signal), and records
# what it knows once the lock is free; commands that read do not wait.
. "$(dirname "$0")/lib.sh"
setup_project

# hold NAME: a process holding the write lock until $T/NAME.release exists,
# once $T/NAME.locked exists.
hold() {
	python3 -c '
import os, sqlite3, sys, time
db, locked, release = sys.argv[1:4]
c = sqlite3.connect(db, isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(locked, "w").close()
while not os.path.exists(release):
    time.sleep(0.02)
c.execute("COMMIT")
' "$DB" "$T/$1.locked" "$T/$1.release" &
	holder=$!
	wait_for "the lock is taken ($1)" 10 test -e "$T/$1.locked"
}
release() { date +%s%3N >"$T/$1.at"; touch "$T/$1.release"; wait "$holder"; }
# gone PID: no such process, not even a zombie (reaped).
gone() { ! ps -p "$1" >/dev/null; }

job lock.yaml <<'EOF2'
jobs:
  - name: ends-in-lock
    shell: 'while [ ! -e ends.go ]; do sleep 0.05; done'
    timeout: 60s
  - name: times-out-in-lock
    command: [sleep, "8"]
    timeout: 1s
  - name: after-lock
    command: ["true"]
    needs: [ends-in-lock]
  - name: stopped-in-lock
    shell: 'while :; do sleep 0.05; done'
  - name: late-a
    shell: 'while [ ! -e la.go ]; do sleep 0.05; done'
    timeout: 60s
  - name: early-b
    shell: 'while [ ! -e eb.go ]; do sleep 0.05; done'
    timeout: 60s
  - name: retrier
    shell: 'echo x >> retrier.ran; exit 1'
    retries: {count: 1, delay: 4s}
EOF2
touch "$P/jobs.d/ends.go"
expect_exit 0 "a first run makes the database" jr run after-lock
rm "$P/jobs.d/ends.go"

# --- a batch under a lock: its jobs are still looked after ---
"$JR" -c "$P/jobrunner.ini" run -j 2 ends-in-lock times-out-in-lock after-lock >"$T/run.out" 2>&1 &
runner=$!
wait_for "both jobs run" 10 qeq "select count(*) from runs where status='running' and pid > 0" 2
ends=$(q "select pid from runs where job='ends-in-lock' and status='running'")
tmo=$(q "select pid from runs where job='times-out-in-lock' and status='running'")
hold a
touch "$P/jobs.d/ends.go"
wait_for "a job that ends meanwhile is reaped (no zombie)" 10 gone "$ends"
wait_for "a job that times out meanwhile is stopped" 10 gone "$tmo"
check "jobrunner waits" kill -0 "$runner"
release a
wait "$runner"
equals "then records it all: exit 1 (one timed out)" "$?" 1
equals "the ended job succeeded" "$(q "select status from runs where job='ends-in-lock' order by id desc limit 1")" succeeded
check "... ended when it ended, not when the lock came free" \
	test "$(q "select finished_ms from runs where job='ends-in-lock' order by id desc limit 1")" -lt "$(cat "$T/a.at")"
equals "the other timed out" "$(q "select status, error from runs where job='times-out-in-lock'")" "timed_out|timed out after 1000 ms"
check "... on time" test "$(q "select duration_ms from runs where job='times-out-in-lock'")" -lt 5000
equals "and the job after it ran" "$(q "select status from runs where job='after-lock' order by id desc limit 1")" succeeded

# --- jobs ending while the step that records another's end waits: the
# one before it in the batch is recorded by another step, which nothing
# but the wait could have woken (not on a terminal: no progress line) ---
"$JR" -c "$P/jobrunner.ini" run -j 2 late-a early-b >"$T/run.out" 2>&1 &
runner=$!
wait_for "two jobs run" 10 qeq "select count(*) from runs where job in ('late-a', 'early-b') and status='running' and pid > 0" 2
la=$(q "select pid from runs where job='late-a' and status='running'")
eb=$(q "select pid from runs where job='early-b' and status='running'")
hold d
touch "$P/jobs.d/eb.go"
wait_for "the second ends (its step waits)" 10 gone "$eb"
touch "$P/jobs.d/la.go"
wait_for "the first ends meanwhile" 10 gone "$la"
release d
wait_for "jobrunner ends" 10 bash -c "! kill -0 $runner 2>/dev/null"
kill -INT "$runner" 2>/dev/null
wait "$runner"
equals "both recorded succeeded" "$(q "select group_concat(status) from runs where job in ('late-a', 'early-b')")" "succeeded,succeeded"

# --- a retry that came due while its step waited, then a signal: it does
# not start ---
"$JR" -c "$P/jobrunner.ini" run retrier >"$T/run.out" 2>&1 &
runner=$!
wait_for "the first attempt failed" 10 qeq "select count(*) from runs where job='retrier' and status='failed'" 1
hold e
sleep 5 # the retry is due 4 s after the first attempt: its step waits
kill -INT "$runner"
release e
wait "$runner"
equals "SIGINT: exit 130" "$?" 130
equals "the retry did not start" "$(wc -l <"$P/jobs.d/retrier.ran")" 1
equals "its run says so" "$(q "select status, error from runs where job='retrier' and attempt = 2")" "failed|interrupted before it started"

# --- a signal under a lock: the jobs are stopped at once ---
"$JR" -c "$P/jobrunner.ini" run stopped-in-lock >"$T/run.out" 2>&1 &
runner=$!
wait_for "the job runs" 10 qeq "select count(*) from runs where job='stopped-in-lock' and status='running' and pid > 0" 1
pid=$(q "select pid from runs where job='stopped-in-lock' and status='running'")
hold b
kill -TERM "$runner"
wait_for "SIGTERM stops the job while the lock is held" 10 gone "$pid"
release b
wait "$runner"
equals "jobrunner then exits 143" "$?" 143
equals "having recorded the run interrupted" "$(q "select status, error from runs where job='stopped-in-lock'")" "failed|interrupted"

# --- commands that read do not wait for the lock ---
# A run left running by a jobrunner that was killed: a command that reads
# would record it lost, but the lock is held: it says so and goes on.
"$JR" -c "$P/jobrunner.ini" run stopped-in-lock >/dev/null 2>&1 &
runner=$!
wait_for "another run goes" 10 qeq "select count(*) from runs where job='stopped-in-lock' and status='running' and pid > 0" 1
pid=$(q "select pid from runs where job='stopped-in-lock' and status='running'")
kill -9 "$runner"
wait "$runner" 2>/dev/null
kill -9 -- "-$pid" 2>/dev/null
hold c
before=$(date +%s%3N)
expect_exit 0 "history under a lock" jr history stopped-in-lock
took=$(($(date +%s%3N) - before))
check "... does not wait for it (${took} ms)" test "$took" -lt 5000
contains "shows the runs" "$T/out" "running"
contains "says the lost run is not recorded yet" "$T/err" "not recorded as lost yet"
contains "... and why" "$T/err" "another process held its write lock for"
# Following it meanwhile: unable to record it lost, logs sees for itself
# that its jobrunner is gone.
expect_exit 0 "logs --follow of that run under a lock ends" timeout 20 "$JR" -c "$P/jobrunner.ini" logs --follow stopped-in-lock
contains "saying its jobrunner is gone" "$T/err" "the jobrunner running it is gone"
release c
expect_exit 0 "once the lock is free, history records it" jr history stopped-in-lock
contains "and says so" "$T/err" "recorded as lost"

done_testing
