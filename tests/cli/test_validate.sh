#!/usr/bin/env bash
# validate and list from the command line: every error of every file in one
# pass with FILE:LINE:COL, trust refusals, configuration errors, exit codes.
. "$(dirname "$0")/lib.sh"
setup_project

expect_exit 0 "an empty jobs directory is valid" jr validate
contains "validate says how many jobs" "$T/out" "0 jobs in 0 files"
expect_exit 0 "run with no jobs does nothing" jr run
# Files that define no jobs are files read all the same.
job empty.yaml </dev/null
echo 'jobs: []' | job none.yaml
printf '# nothing yet\n' | job later.yml
expect_exit 0 "files without jobs are valid" jr validate
contains "and counted" "$T/out" "0 jobs in 3 files"

job a.yaml <<'EOF2'
jobs:
  - name: one
    description: the first
    command: [echo, one]
    tags: [x, y]
    schedule: "*/5 * * * *"
  - name: two
    shell: echo two
    backends: [local, none]
EOF2
expect_exit 0 "valid files validate" jr validate
contains "counted" "$T/out" "2 jobs in 4 files"
rm "$P/jobs.d/empty.yaml" "$P/jobs.d/none.yaml" "$P/jobs.d/later.yml"
expect_exit 0 "valid files validate" jr validate
contains "counted" "$T/out" "2 jobs in 1 file "
expect_exit 0 "list" jr list
contains "list shows the schedule" "$T/out" "*/5 * * * *"
contains "list shows the file and line" "$T/out" "a.yaml:2"
contains "list shows the description" "$T/out" "the first"
expect_exit 0 "list --json" jr list --json
check "list --json is valid and complete" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert [j["name"] for j in d] == ["one", "two"]
assert d[0]["tags"] == ["x", "y"] and d[1]["backends"] == ["local", "none"]
assert d[0]["backends"] == ["local"] and len(d[0]["hash"]) == 64' "$T/out"

# Two bad files: both reported, in one pass, with file:line:col.
job b.yaml <<'EOF2'
name: bad-one
comand: [true]
EOF2
job c.yml <<'EOF2'
name: bad-two
command: [echo]
timeout: 5 parsecs
EOF2
expect_exit 2 "invalid files make validate exit 2" jr validate
contains "the first file's error, with line and column" "$T/err" "b.yaml:2:1"
contains "a did-you-mean hint" "$T/err" "command"
contains "the second file's error too" "$T/err" "c.yml:3"
job e.yaml <<'EOF2'
name: many-errors
comand: [make]
timeout: 5 minutes
schedule: "61 * * * *"
stdout: {file: out.log, apend: true}
EOF2
expect_exit 2 "a file with many errors" jr validate
grep -F "e.yaml:" "$T/err" | cut -d: -f2 >"$T/lines"
check "its errors are listed in line order" sort -n -c "$T/lines"
equals "all of them" "$(wc -l <"$T/lines")" 5
rm "$P/jobs.d/e.yaml"
# Past 100 messages a file's errors are counted, not listed: the total
# counts them all.
{
	echo "jobs:"
	for i in $(seq 1 150); do echo "  - {name: j$i, command: [x], bogus: 1}"; done
} | job many.yaml
expect_exit 2 "a file with 150 errors" jr validate
equals "100 of them are listed" "$(grep -c "many.yaml:[0-9]*:[0-9]*: " "$T/err")" 100
contains "the rest counted" "$T/err" "many.yaml: 50 more errors not shown"
contains "the total counts them all" "$T/err" "jobrunner: 153 errors in the job files of"
rm "$P/jobs.d/many.yaml"
expect_exit 2 "list refuses invalid files too" jr list
expect_exit 2 "run starts nothing" jr run one
rm "$P/jobs.d/b.yaml" "$P/jobs.d/c.yml"

# Trust: a job file others can write is refused, as cron refuses crontabs.
job d.yaml <<'EOF2'
name: writable
command: ["true"]
EOF2
chmod 664 "$P/jobs.d/d.yaml"
expect_exit 2 "a group-writable job file is refused" jr validate
contains "and the reason is given" "$T/err" "writable by its group"
chmod 644 "$P/jobs.d/d.yaml"
ln "$P/jobs.d/d.yaml" "$T/hardlink"
expect_exit 2 "a job file with two hard links is refused" jr validate
contains "hard links named" "$T/err" "hard link"
rm "$T/hardlink"
expect_exit 0 "valid again" jr validate

# Configuration errors name file and line.
cp "$P/jobrunner.ini" "$T/good.ini"
printf '[jobrunner]\nparalel = 3\n' >>"$P/jobrunner.ini"
expect_exit 2 "an unknown ini key exits 2" jr validate
contains "with file:line and a suggestion" "$T/err" "jobrunner.ini:9"
contains "suggesting parallel" "$T/err" "parallel"
cp "$T/good.ini" "$P/jobrunner.ini"
chmod 666 "$P/jobrunner.ini"
expect_exit 2 "a world-writable ini is refused" jr validate
chmod 644 "$P/jobrunner.ini"
expect_exit 2 "a missing -c file exits 2" "$JR" -c "$T/nope.ini" validate
contains "naming it" "$T/err" "nope.ini"
expect_exit 2 "validate takes no arguments" jr validate extra
done_testing
