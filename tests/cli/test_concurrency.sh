#!/usr/bin/env bash
# Overlapping invocations (cron): forbid skips, queue waits, allow overlaps;
# never two runs of a forbid job at once.
. "$(dirname "$0")/lib.sh"
setup_project

# The job detects overlap itself: mkdir is atomic.
job f.yaml <<'EOF2'
jobs:
  - name: exclusive
    shell: 'mkdir inside.d || { echo OVERLAP >> overlap.txt; exit 9; }; while [ ! -e release ]; do sleep 0.05; done; rmdir inside.d'
  - name: queued
    concurrency: queue
    shell: 'mkdir q.d || { echo OVERLAP >> overlap.txt; exit 9; }; sleep 0.5; rmdir q.d'
EOF2
jr validate >/dev/null   # creates nothing, but warms the page cache
pids=()
for i in 1 2 3 4 5; do jr run exclusive >"$T/run$i.out" 2>&1 & pids+=($!); done
# The one that got the job holds it until the other four have skipped it,
# however slowly they start (a fixed time would let a late one run it).
wait_for "four of the five skip it" 60 qeq "select count(*) from runs where job='exclusive' and status='skipped'" 4
touch "$P/jobs.d/release"
codes=""
for p in "${pids[@]}"; do wait "$p"; codes="$codes $?"; done
equals "all five invocations exit 0 (skipping is not failing)" "$codes" " 0 0 0 0 0"
equals "one succeeded" "$(q "select count(*) from runs where job='exclusive' and status='succeeded'")" 1
equals "four skipped" "$(q "select count(*) from runs where job='exclusive' and status='skipped'")" 4
contains "skipped runs say why" <(q "select error from runs where status='skipped' limit 1") "already running"
check "never two at once" test ! -e "$P/jobs.d/overlap.txt"

pids=()
for i in 1 2 3; do jr run queued >/dev/null 2>&1 & pids+=($!); done
codes=""
for p in "${pids[@]}"; do wait "$p"; codes="$codes $?"; done
equals "queue: all three invocations succeed" "$codes" " 0 0 0"
equals "queue: three runs, one after another" "$(q "select count(*) from runs where job='queued' and status='succeeded'")" 3
check "queue: never two at once" test ! -e "$P/jobs.d/overlap.txt"
equals "lock files live beside the database" "$(ls "$P/db/locks")" "$(printf 'exclusive.lock\nqueued.lock')"

done_testing
