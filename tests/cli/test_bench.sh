#!/usr/bin/env bash
# The benchmarks' baselines and script, at a tiny size (speed is measured by
# `make bench`, never here): bare_loop runs what it is told; recorded_loop
# records every run as issue 4's rule demands (each row succeeded, with
# start and end times, in jobrunner's schema, readable by the CLI); the run
# and scale parts of bench_run.sh print their ratios.
. "$(dirname "$0")/lib.sh"
B=$JR_HELPERS

expect_exit 0 "bare_loop runs 20 processes, 2 at a time" "$B/bare_loop" 20 2 /bin/true
check "bare_loop prints its seconds" grep -Eq '^[0-9]+\.[0-9]+$' "$T/out"
expect_exit 0 "bare_loop waits for failing children too" "$B/bare_loop" 3 1 /bin/false

for p in 1 3; do
	db=$T/rec$p/runs.db
	expect_exit 0 "recorded_loop -j$p runs 25 processes" "$B/recorded_loop" 25 "$p" /bin/true "$db"
	check "recorded_loop -j$p prints its seconds" grep -Eq '^[0-9]+\.[0-9]+$' "$T/out"
	equals "recorded_loop -j$p: 25 succeeded runs with their times" \
		"$(sqlite3 "$db" "select count(*) from runs where status = 'succeeded' and exit_code = 0
			and started_ms > 0 and finished_ms >= started_ms")" 25
	equals "recorded_loop -j$p: one run per job name" \
		"$(sqlite3 "$db" "select count(distinct job) from runs")" 25
	equals "recorded_loop -j$p: its invocation ended" \
		"$(sqlite3 "$db" "select status from invocations")" finished
done
db=$T/recf/runs.db
"$B/recorded_loop" 4 2 /bin/false "$db" >/dev/null
equals "recorded_loop records a failing process as failed, exit 1" \
	"$(sqlite3 "$db" "select count(*) from runs where status = 'failed' and exit_code = 1")" 4
mkdir -p "$T/cfg"
printf '[jobrunner]\ndatabase = %s\n' "$T/rec1/runs.db" >"$T/cfg/jobrunner.ini"
expect_exit 0 "jobrunner history reads the recorded baseline's database" \
	"$JR" -c "$T/cfg/jobrunner.ini" history -n 30
equals "history lists its 25 runs" "$(grep -c succeeded "$T/out")" 25

BENCH_JOBS=30 BENCH_REP=1 BENCH_PARTS="run scale" O=${O:-build} \
	bash "$JR_TOP/tests/bench/bench_run.sh" >"$T/bench" 2>&1
check "bench_run.sh run and scale parts succeed at a tiny size" test $? -eq 0
for j in 1 2; do
	check "bench_run.sh prints -j $j ratios against both baselines" \
		grep -Eq "^  -j $j: bare [0-9]+ runs/s; recorded [0-9]+/s \(ratio [0-9.]+\); jobrunner cold" "$T/bench"
done
equals "bench_run.sh: jobrunner over recorded, twice" \
	"$(grep -c 'jobrunner over recorded: cold [0-9.]*, warm [0-9.]*' "$T/bench")" 2
contains "bench_run.sh: every jobrunner run recorded" "$T/bench" "60 runs recorded"
check "bench_run.sh prints the time per run of a 5 times larger batch" \
	grep -Eq '^  30 jobs [0-9.]+s, 150 jobs [0-9.]+s: time per run, ratio [0-9.]+ ' "$T/bench"
check "bench_run.sh prints the cost of ordering a chain of needs" \
	grep -Eq '^  plan of 30 independent jobs [0-9.]+s, of a backwards chain of 30 [0-9.]+s: ratio [0-9.]+ ' "$T/bench"
diag <"$T/bench"
done_testing
