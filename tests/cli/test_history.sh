#!/usr/bin/env bash
# Reading the history: history, show, logs, run id prefixes, --json, db path.
. "$(dirname "$0")/lib.sh"
setup_project

job a.yaml <<'EOF2'
jobs:
  - name: alpha
    shell: 'echo out-alpha; echo err-alpha >&2'
  - name: beta
    command: [sh, -c, "echo beta; exit 2"]
  - name: quiet
    command: ["true"]
    stdout: "null"
EOF2
jr run alpha >/dev/null 2>&1
jr run beta >/dev/null 2>&1
jr run alpha >/dev/null 2>&1
jr run quiet >/dev/null 2>&1

expect_exit 0 "history exits 0" jr history
equals "history lists every run (header + 4)" "$(wc -l <"$T/out")" 5
head -2 "$T/out" | tail -1 >"$T/first"
contains "newest first" "$T/first" "quiet"
contains "history shows whole run ids (abbreviations can be ambiguous within a millisecond)" "$T/first" "$(q "select id from runs where job='quiet'")"
expect_exit 0 "history JOB" jr history alpha
equals "history JOB lists only that job" "$(grep -c alpha "$T/out")" 2
lacks "history JOB excludes others" "$T/out" "beta"
expect_exit 0 "history -n 1" jr history -n 1
equals "-n limits" "$(wc -l <"$T/out")" 2
expect_exit 0 "history --status failed" jr history --status failed
contains "--status filters" "$T/out" "beta"
lacks "--status excludes others" "$T/out" "alpha"
expect_exit 2 "unknown status is a usage error" jr history --status bogus
expect_exit 0 "history --json" jr history --json
check "history --json is valid JSON" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d)==4 and d[0]["job"]=="quiet" and d[3]["status"]=="succeeded"' "$T/out"

id=$(q "select id from runs where job='beta'")
equals "run ids are 20 hex digits" "$(echo "$id" | grep -cE '^[0-9a-f]{20}$')" 1
expect_exit 0 "show with the full id" jr show "$id"
contains "show has the status" "$T/out" "failed"
contains "show has the exit code" "$T/out" "exit        2"
contains "show has the decision" "$T/out" "decision    local"
check "show gives a short duration once, without repeating it in ms" \
	grep -Eq '^duration    [0-9]+ms$' "$T/out"
contains "show has the stdout tail" "$T/out" "beta"
expect_exit 0 "show with a unique prefix" jr show "${id:0:16}"
contains "prefix finds the run" "$T/out" "$id"
expect_exit 0 "show --json" jr show "${id:0:16}" --json
check "show --json is valid JSON with the run and signals" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["run"]["job"]=="beta" and d["signals"]==[] and d["definition"]["name"]=="beta"' "$T/out"

# An ambiguous prefix exits 2 and lists the candidates: every id shares the
# millisecond-clock prefix of this test's runs.
expect_exit 2 "an ambiguous prefix exits 2" jr show "${id:0:1}"
contains "ambiguity is explained" "$T/err" "ambiguous"
contains "candidates are listed" "$T/err" "$id"
# Ten runs sharing a prefix are all listed, with no "..." for more.
for i in 0 1 2 3 4 5 6 7 8 9; do
	q "insert into runs (id, job, status) values ('dddddddddddd0000000$i', 'fake', 'succeeded')"
done
expect_exit 2 "ten runs match a prefix" jr show dddddddddddd
equals "all ten are listed" "$(grep -c '^  dddddddddddd' "$T/err")" 10
lacks "and no more are hinted at" "$T/err" "..."
q "insert into runs (id, job, status) values ('dddddddddddd00000010', 'fake', 'succeeded')"
expect_exit 2 "eleven runs match a prefix" jr show dddddddddddd
equals "ten are listed" "$(grep -c '^  dddddddddddd' "$T/err")" 10
contains "and '...' says there are more" "$T/err" "  ..."
q "delete from runs where job = 'fake'"
expect_exit 2 "an unknown prefix exits 2" jr show ffffffffffff
contains "unknown prefix is explained" "$T/err" "no run"
expect_exit 2 "a non-hex prefix exits 2" jr show "../etc"

# A job's name stands for its latest run.
expect_exit 0 "show JOB" jr show alpha
contains "shows the job's latest run" "$T/out" "$(q "select id from runs where job='alpha' order by id desc limit 1")"
expect_exit 0 "logs JOB" jr logs beta
equals "prints the latest run's log" "$(cat "$T/out")" "beta"
expect_exit 2 "a name that is neither a run nor a job with runs" jr show no-such-job
contains "says so" "$T/err" "neither a run id"

aid=$(q "select id from runs where job='alpha' order by id limit 1")
expect_exit 0 "logs RUN" jr logs "$aid"
equals "logs prints stdout" "$(cat "$T/out")" "out-alpha"
expect_exit 0 "logs --stderr" jr logs --stderr "$aid"
equals "logs --stderr prints stderr" "$(cat "$T/out")" "err-alpha"
# A log the run left empty is not kept: no file, logs prints nothing.
bid=$(q "select id from runs where job='beta'")
check "beta's stderr (empty) left no file" test ! -e "$(q "select stderr_path from runs where job='beta'")"
check "... and so did every empty log" test "$(find "$P/db/logs" -type f -empty | wc -l)" -eq 0
expect_exit 0 "logs --stderr of an empty log" jr logs --stderr "$bid"
equals "prints nothing" "$(cat "$T/out")" ""
expect_exit 0 "show of a run with an empty log" jr show "$bid"
contains "show says the empty log was not kept" "$T/out" "(empty: not kept)"
qid=$(q "select id from runs where job='quiet'")
expect_exit 2 "logs of a job with stdout: null" jr logs "$qid"
contains "explains there is no log" "$T/err" "no stdout log"

# --follow: prints what a running job writes, ends when it ends.
job f.yaml <<'EOF2'
name: follow-me
shell: 'echo one; sleep 1; echo two'
EOF2
jr run follow-me >/dev/null 2>&1 &
runner=$!
wait_for "the run appears as running" 10 qeq "select count(*) from runs where job='follow-me' and status='running'" 1
fid=$(q "select id from runs where job='follow-me'")
expect_exit 0 "logs --follow ends with the run" timeout 20 "$JR" -c "$P/jobrunner.ini" logs --follow "$fid"
equals "logs --follow saw everything" "$(tr '\n' ' ' <"$T/out")" "one two "
wait "$runner"
expect_exit 0 "show of a run of a second or more" jr show "$fid"
check "show gives its duration short and exact" \
	grep -Eq '^duration    [0-9]+\.[0-9]s \([0-9]{4,} ms\)$' "$T/out"

expect_exit 0 "db path" jr db path
equals "db path prints the database" "$(cat "$T/out")" "$DB"
expect_exit 2 "db without path" jr db

# The views for people at the sqlite3 prompt.
equals "last_runs view" "$(q "select count(*) from last_runs")" 4
check "failures view lists the failure" test "$(q "select count(*) from failures where job='beta'")" -ge 1
check "job_stats view" test -n "$(q "select * from job_stats where job='alpha'")"

expect_exit 0 "machines" jr machines
contains "machines shows arch" "$T/out" "arch"
contains "machines shows the hostname" "$T/out" "$(uname -n)"
expect_exit 0 "machines --json" jr machines --json
check "machines --json is valid JSON" python3 -m json.tool "$T/out"
check "machines --json has the configured backends" python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))[0]
assert m["backends"] == [{"name": "local", "available": True}], m["backends"]' "$T/out"

# An empty log's file serves the next run once its own run ended: following
# the first run shows nothing of what the next one writes into that file.
job g.yaml <<'EOF2'
jobs:
  - name: quiet-long
    command: [sleep, "1"]
  - name: chatty
    shell: 'echo CHATTY; echo CHATTY >&2; sleep 1'
    needs: [quiet-long]
EOF2
jr run quiet-long chatty -j 1 >/dev/null 2>&1 &
runner=$!
wait_for "quiet-long runs" 10 qeq "select count(*) from runs where job='quiet-long' and status='running'" 1
gid=$(q "select id from runs where job='quiet-long' order by id desc limit 1")
expect_exit 0 "logs --stderr --follow of a run whose log stays empty" timeout 20 "$JR" -c "$P/jobrunner.ini" logs --stderr --follow "$gid"
equals "prints nothing, not the next run's output" "$(cat "$T/out")" ""
wait "$runner"
equals "the next run's stderr log is its own" "$(jr logs --stderr chatty)" "CHATTY"

# A job that writes its output to a file of its own has no log: logs says
# where the output went rather than print that file, which holds another
# run's output once the job ran again (or every run's, with append).
job o.yaml <<EOF2
jobs:
  - name: to-file
    shell: 'echo "to-file \$JOBRUNNER_RUN_ID"'
    stdout: {file: $T/own.log}
  - name: to-file-append
    shell: 'echo "appended \$JOBRUNNER_RUN_ID"; echo err-appended >&2'
    stdout: {file: $T/own-append.log, append: true}
    stderr: stdout
EOF2
jr run to-file to-file-append >/dev/null 2>&1
jr run to-file to-file-append >/dev/null 2>&1
oid=$(q "select id from runs where job='to-file' order by id limit 1")
expect_exit 2 "logs of a run whose stdout went to the job's own file" jr logs "$oid"
equals "prints nothing (the file now holds the next run's output)" "$(cat "$T/out")" ""
contains "names where its stdout went" "$T/err" "run $oid sends stdout to $T/own.log, not to a log of its own"
expect_exit 0 "show of that run" jr show "$oid"
contains "show still names the file" "$T/out" "stdout      $T/own.log"
oid=$(q "select id from runs where job='to-file-append' order by id limit 1")
expect_exit 2 "logs of a run whose stdout is appended to the job's own file" jr logs "$oid"
equals "prints nothing (the file holds every run's output)" "$(cat "$T/out")" ""
contains "names where its stdout went" "$T/err" "run $oid sends stdout to $T/own-append.log, not to a log of its own"
expect_exit 2 "logs --stderr of a run whose stderr went with that stdout" jr logs --stderr "$oid"
contains "names where its stderr went" "$T/err" "run $oid sends stderr to $T/own-append.log"

# A run that never started has no output at all, whatever its job does
# with it.
job n.yaml <<'EOF2'
jobs:
  - name: fails-first
    command: ["false"]
  - name: never-started
    command: [echo, never]
    needs: [fails-first]
  - name: nowhere
    command: [echo, nowhere]
    targets: [{arch: no-such-arch}]
EOF2
jr run never-started nowhere >/dev/null 2>&1
sid=$(q "select id from runs where job='never-started'")
equals "the dependent run was skipped" "$(q "select status from runs where id='$sid'")" "skipped"
expect_exit 2 "logs of a skipped run" jr logs "$sid"
contains "says it never started" "$T/err" "run $sid was skipped: it never started, so it has no output"
lacks "and not that its job sends stdout elsewhere" "$T/err" "elsewhere"
expect_exit 2 "logs --stderr of a skipped run" jr logs --stderr "$sid"
contains "says so for stderr too" "$T/err" "run $sid was skipped: it never started"
uid=$(q "select id from runs where job='nowhere'")
expect_exit 2 "logs of an unrunnable run" jr logs "$uid"
contains "says it never started" "$T/err" "run $uid was unrunnable: it never started, so it has no output"

# A job named in hex digits: every run id starts with the same few hex
# digits, so its name is an ambiguous prefix (or matches no id), and RUN
# then stands for the job's latest run. Run ids begin with the time in ms
# in hex, which begins 01a only from 2026-08 to 2028-10: two fake runs make
# 0, 01 and 01a ambiguous prefixes whatever the date.
job h.yaml <<'EOF2'
jobs:
  - {name: "0", shell: 'echo zero'}
  - {name: "01", shell: 'echo zero-one'}
  - {name: "01a", shell: 'echo zero-one-a'}
  - {name: "ffff", shell: 'echo f'}
EOF2
jr run 0 01 01a ffff >/dev/null 2>&1
for i in 1 2; do
	q "insert into runs (id, job, status) values ('01a0000000000000000$i', 'fake', 'succeeded')"
done
for name in 0 01 01a ffff; do
	expect_exit 0 "show of job '$name'" jr show "$name"
	contains "shows job '$name''s latest run" "$T/out" "$(q "select id from runs where job='$name' order by id desc limit 1")"
done
expect_exit 0 "logs of job '01'" jr logs 01
equals "prints its latest run's log" "$(cat "$T/out")" "zero-one"
expect_exit 0 "logs of job '01a'" jr logs 01a
equals "prints its latest run's log" "$(cat "$T/out")" "zero-one-a"
expect_exit 2 "an ambiguous prefix that is no job's name is still ambiguous" jr show 01A
contains "and says so" "$T/err" "ambiguous"
q "delete from runs where job = 'fake'"

# help, which points to these commands' help.
expect_exit 0 "help history" "$JR" help history
contains "prints history's help" "$T/out" "usage: jobrunner [-c FILE] history"
for opt in --help -h; do
	expect_exit 0 "help $opt" "$JR" help "$opt"
	contains "help $opt prints help's usage" "$T/out" "usage: jobrunner [-c FILE] help [COMMAND]"
done
expect_exit 2 "help with two commands is a usage error" "$JR" help history logs
contains "it prints help's usage" "$T/err" "usage: jobrunner [-c FILE] help [COMMAND]"
equals "and nothing on stdout" "$(cat "$T/out")" ""
expect_exit 2 "help of an unknown command" "$JR" help frobnicate
contains "names it" "$T/err" "unknown command 'frobnicate'"

# An option error of a command begins as every other message does.
expect_exit 2 "an unknown option of history" jr history -x
equals "getopt's message begins 'jobrunner: '" "$(head -1 "$T/err")" "jobrunner: invalid option -- 'x'"
contains "the usage line names the command" "$T/err" "usage: jobrunner [-c FILE] history"
expect_exit 2 "an unknown long option of logs" jr logs --bogus x
equals "getopt's message begins 'jobrunner: '" "$(head -1 "$T/err")" "jobrunner: unrecognized option '--bogus'"
equals "the command line is recorded as typed after an option error" \
	"$(jr run -x >/dev/null 2>&1; jr run alpha >/dev/null 2>&1; q "select argv from invocations order by id desc limit 1")" \
	"[\"$JR\",\"-c\",\"$P/jobrunner.ini\",\"run\",\"alpha\"]"

# show prints the tail of what a job wrote amid its own lines, on the
# operator's terminal: the job's control characters are shown as '?' (an
# escape sequence could retitle the window and clear the screen), its
# UTF-8 text as it is. logs prints the log byte for byte.
job esc.yaml <<'EOF2'
name: escapes
shell: 'printf "hello \033]0;PWNED\007\033[2J\r\b\177 \302\233c1 \233raw \303\251t\303\251 \342\202\254\n"; printf "err \033[31mred" >&2'
EOF2
jr run escapes >/dev/null 2>&1
expect_exit 0 "show of a run whose output holds escape sequences" jr show escapes
check "show prints no control character of the job's (but newlines)" \
	python3 -c 'import sys; d=open(sys.argv[1],"rb").read().decode(); assert not [c for c in d if (ord(c) < 32 and c != "\n") or 127 <= ord(c) < 160], repr(d)' "$T/out"
contains "each shown as '?'" "$T/out" "hello ?]0;PWNED??[2J??? ?c1 ?raw été €"
contains "the stderr tail too" "$T/out" "err ?[31mred"
expect_exit 0 "show --json of that run" jr show escapes --json
check "show --json escapes them as JSON does (invalid UTF-8 as U+FFFD)" python3 -c '
import json, sys
raw = open(sys.argv[1], "rb").read()
assert not [b for b in raw if b < 32 and b != 10], raw
r = json.loads(raw)["run"]
assert r["stdout_tail"] == "hello \x1b]0;PWNED\x07\x1b[2J\r\x08\x7f \x9bc1 \ufffdraw été €\n", r["stdout_tail"]
assert r["stderr_tail"] == "err \x1b[31mred", r["stderr_tail"]' "$T/out"
expect_exit 0 "logs of that run" jr logs escapes
check "logs prints the log as the job wrote it, byte for byte" \
	cmp "$T/out" <(printf "hello \033]0;PWNED\007\033[2J\r\b\177 \302\233c1 \233raw \303\251t\303\251 \342\202\254\n")

# --follow of a run whose jobrunner is killed: it notices the jobrunner is
# gone, records the run lost, prints what the run wrote and ends.
job k.yaml <<'EOF2'
name: orphaned
shell: 'echo a; sleep 30'
EOF2
"$JR" -c "$P/jobrunner.ini" run orphaned >/dev/null 2>&1 &
runner=$!
wait_for "the run to orphan is running" 10 qeq "select pid > 0 from runs where job='orphaned'" 1
kid=$(q "select id from runs where job='orphaned'")
kpid=$(q "select pid from runs where job='orphaned'")
(sleep 1; kill -9 "$runner") &
killer=$!
expect_exit 0 "logs --follow ends when the run's jobrunner is killed" timeout 8 "$JR" -c "$P/jobrunner.ini" logs --follow "$kid"
equals "it printed what the run wrote" "$(cat "$T/out")" "a"
contains "it says the run is lost" "$T/err" "lost"
equals "the run is lost" "$(q "select status from runs where id='$kid'")" "lost"
wait "$killer"
wait "$runner" 2>/dev/null
# Its row names its file in use, in log_dir/.running: its own log, however
# the configuration is reached.
ln -s "$P" "$T/p-link"
expect_exit 0 "logs of the lost run through another path to log_dir" "$JR" -c "$T/p-link/jobrunner.ini" logs "$kid"
equals "prints what it wrote" "$(cat "$T/out")" "a"
# ... and under a configuration whose log_dir is elsewhere now.
mkdir -p "$T/other"
sed "s|^log_dir = .*|log_dir = $T/other/logs|; s|^database = .*|database = $DB|; s|^jobs_dir = .*|jobs_dir = $P/jobs.d|" \
	"$P/jobrunner.ini" >"$T/other/jobrunner.ini"
chmod 644 "$T/other/jobrunner.ini"
grep -q "^log_dir = $T/other/logs" "$T/other/jobrunner.ini" || echo "log_dir = $T/other/logs" >>"$T/other/jobrunner.ini"
expect_exit 0 "logs of the lost run with log_dir moved since" "$JR" -c "$T/other/jobrunner.ini" logs "$kid"
equals "prints what it wrote" "$(cat "$T/out")" "a"
# show: a job's own output file that does not exist is said to be missing,
# not "empty: not kept" (which jobrunner's own logs are when left empty).
job nofile.yaml <<'EOF2'
name: nofile
command: ["true"]
stdout: {file: /nonexistent-dir/out.txt}
EOF2
jr run nofile >/dev/null 2>&1
jr show nofile >"$T/nofile.show" 2>&1
contains "show: a job's file that is not there" "$T/nofile.show" "/nonexistent-dir/out.txt (no such file)"
lacks "is not said to be an empty log" "$T/nofile.show" "out.txt (empty"
# The job (its own session, pid = process group) outlived its jobrunner.
kill -9 -- "-$kpid" 2>/dev/null

done_testing
