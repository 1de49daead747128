#!/usr/bin/env bash
# make demo: validate and run the demo batch in jobs.d/ with the history in
# db/, then show what was recorded. Usage: tools/demo.sh path/to/jobrunner
set -u
jr=$(realpath "$1")
cd "$(dirname "$0")/.." || exit 2
# jobrunner refuses job files and configuration that others can write (as
# cron does); a checkout made under a permissive umask would have them so.
chmod go-w jobrunner.ini jobs.d jobs.d/*.yaml
mkdir -p -m 0700 db

echo "== jobrunner validate"
"$jr" validate || exit $?
echo
echo "== jobrunner plan"
"$jr" plan || exit $?
echo
echo "== jobrunner run"
"$jr" run
rc=$?
echo "(exit status $rc)"
echo
echo "== jobrunner history -n 15"
"$jr" history -n 15
echo
echo "== jobrunner logs largest-docs   (a job's name stands for its latest run)"
"$jr" logs largest-docs
echo
echo "== sqlite3 $("$jr" db path) 'SELECT * FROM job_stats'"
sqlite3 -header -column "$("$jr" db path)" 'SELECT * FROM job_stats' 2>/dev/null ||
	echo "(install sqlite3 to query the history directly)"
echo
echo "Next: $jr show RUN, $jr logs RUN, man -l man/jobrunner.1"
exit $rc
