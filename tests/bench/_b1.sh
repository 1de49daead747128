#!/usr/bin/env bash
# Benchmarks of `jobrunner run` and of the history commands, each printed as
# a ratio against a baseline measured in the same run (issue 4):
#   1. 2,000 trivial jobs through run -j 1 / -j 2 vs a bare vfork+exec+wait
#      loop at the same parallelism (target >= 0.85), every run recorded;
#   2. peak RSS of run over those jobs minus that of validate (<= 8 MiB);
#   3. a one-job run on a database of 1,000,000 runs vs an empty one (<= 1.2);
#   4. history JOB -n 20 and show PREFIX at 1,000,000 runs vs 1,000 (<= 1.5).
# BENCH_JOBS and BENCH_ROWS scale it down for a quick look.
set -u
O=${O:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
JR=$top/$O/jobrunner
BARE=$top/$O/tests/helpers/bare_loop
N=${BENCH_JOBS:-2000}
ROWS=${BENCH_ROWS:-1000000}
W=$(mktemp -d "${TMPDIR:-/tmp}/jrbench.XXXXXX")
trap 'rm -rf "$W"' EXIT
chmod 700 "$W"

project() { # project DIR NJOBS
	mkdir -p "$1/jobs.d"
	printf '[jobrunner]\njobs_dir = jobs.d\ndatabase = db/jobrunner.db\nlog_dir = db/logs\n' >"$1/jobrunner.ini"
	{
		echo "jobs:"
		for ((i = 0; i < $2; i++)); do
			printf '  - {name: j%05d, command: [/bin/true], stdout: "null"}\n' "$i"
		done
	} >"$1/jobs.d/jobs.yaml"
	chmod 644 "$1/jobrunner.ini" "$1/jobs.d/jobs.yaml"
}
# secs CMD...: wall seconds of one run of CMD (best of $REP).
secs() {
	python3 - "$@" <<'PY'
import subprocess, sys, time, os
best = None
for _ in range(int(os.environ.get("REP", "1"))):
    t = time.monotonic()
    subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    d = time.monotonic() - t
    best = d if best is None or d < best else best
print("%.4f" % best)
PY
}
# maxrss_kb CMD...: peak RSS of CMD in KiB.
maxrss_kb() {
	python3 - "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}
ratio() { python3 -c "import sys; print('%.3f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }

echo "== run: $N trivial jobs (stdout: null) vs bare vfork+exec+wait"
# Cold: a fresh database, so every job's lock file and log directory is
# created too. Warm: the same batch again (as from cron), where only each
# run's rows and its stderr log file are new. Each measurement gets a new
# directory: on ext4, creating files where many were just deleted costs
# several times more (the allocator skips recently freed inodes), which
# would measure the file system, not jobrunner.
for j in 1 2; do
	project "$W/a$j" "$N"
	"$JR" -c "$W/a$j/jobrunner.ini" validate >/dev/null || exit 1
	bare=$("$BARE" "$N" "$j" /bin/true)
	cold=$(secs "$JR" -c "$W/a$j/jobrunner.ini" run -j "$j")
	warm=$(secs "$JR" -c "$W/a$j/jobrunner.ini" run -j "$j")
	rec=$(sqlite3 "$W/a$j/db/jobrunner.db" "select count(*) from runs where status='succeeded'")
	echo "  -j $j: bare $(python3 -c "print('%.0f' % ($N/$bare))") runs/s;" \
		"jobrunner cold $(python3 -c "print('%.0f' % ($N/$cold))")/s (ratio $(ratio "$bare" "$cold")), warm" \
		"$(python3 -c "print('%.0f' % ($N/$warm))")/s (ratio $(ratio "$bare" "$warm")); target >= 0.85; $rec runs recorded"
done

