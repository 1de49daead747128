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

# --- a run whose end could not be recorded (the commit failed, as on a
# full disk) after its logs had moved to their place: its row names their
# files in use still, in .running, where they are no more. The commit is
# made to fail by lowering the file size limit of the jobrunner running it
# to 0 (prlimit) while the job waits: nothing more can be written to the
# database, and the next write is the run's end. ---
if command -v prlimit >/dev/null; then
	job m.yaml <<EOF2
jobs:
  - name: moved
    shell: 'echo important output; echo important error >&2; while [ ! -e $T/go ]; do sleep 0.1; done; echo last words'
  - name: moved-joined
    shell: 'echo joined output; echo joined error >&2; while [ ! -e $T/go ]; do sleep 0.1; done'
    stderr: stdout
EOF2
	# unrecorded JOB: runs JOB, followed by logs --follow (into
	# $T/follow.out), and makes the commit of its end fail; the follower
	# (which may write the database) then records the run lost.
	unrecorded() {
		local runner follower
		rm -f "$T/go" "$T/follow.out"
		"$JR" -c "$P/jobrunner.ini" run "$1" >/dev/null 2>&1 &
		runner=$!
		wait_for "$1: the run is recorded running, with its pid" 10 \
			qeq "select pid > 0 from runs where job='$1'" 1
		timeout 8 "$JR" -c "$P/jobrunner.ini" logs --follow "$1" >"$T/follow.out" 2>"$T/follow.err" &
		follower=$!
		wait_for "$1: the follower has printed the first line" 10 test -s "$T/follow.out"
		check "$1: the jobrunner's file size limit is lowered to 0" prlimit --fsize=0 \
			--pid "$(q "select i.pid from invocations i join runs r on r.invocation_id = i.id where r.job='$1'")"
		touch "$T/go"
		wait "$runner"
		equals "$1: the jobrunner stops: it could not record the run's end" "$?" 2
		wait "$follower"
		equals "$1: the follower ends when it finds the jobrunner gone" "$?" 0
		contains "$1: and says the run is lost" "$T/follow.err" " is lost: "
		equals "$1: the run is lost" "$(q "select status from runs where job='$1'")" "lost"
	}
	unrecorded moved
	equals "the follower printed all the run wrote, from the file in use, then from its place" \
		"$(cat "$T/follow.out")" "$(printf 'important output\nlast words')"
	unrecorded moved-joined
	mid=$(q "select id from runs where job='moved'")
	jid=$(q "select id from runs where job='moved-joined'")
	mout=$(q "select stdout_path from runs where id='$mid'")
	merr=$(q "select stderr_path from runs where id='$mid'")
	jout=$(q "select stdout_path from runs where id='$jid'")
	check "their rows name the files in use" \
		test "${mout%/*}" = "$P/db/logs/.running" -a "${merr%/*}" = "$P/db/logs/.running" \
		-a "${jout%/*}" = "$P/db/logs/.running" -a "$jout" = "$(q "select stderr_path from runs where id='$jid'")"
	check "where they are no more" test ! -e "$mout" -a ! -e "$merr" -a ! -e "$jout"
	check "the logs moved to their place" test -s "$P/db/logs/moved/$mid.out" \
		-a -s "$P/db/logs/moved/$mid.err" -a -s "$P/db/logs/moved-joined/$jid.out"
	expect_exit 0 "logs of the run" jr logs moved
	equals "prints what it wrote, from its place" "$(cat "$T/out")" "$(printf 'important output\nlast words')"
	contains "and says it is lost" "$T/err" "run $mid is lost: "
	expect_exit 0 "logs --stderr of the run" jr logs --stderr moved
	equals "prints its stderr, from its place" "$(cat "$T/out")" "important error"
	expect_exit 0 "logs --follow of the run" timeout 8 "$JR" -c "$P/jobrunner.ini" logs --follow moved
	equals "prints what it wrote" "$(cat "$T/out")" "$(printf 'important output\nlast words')"
	expect_exit 0 "logs --stderr of a run whose stderr went to its stdout" jr logs --stderr moved-joined
	equals "prints their log, RUN.out" "$(cat "$T/out")" "$(printf 'joined output\njoined error')"
	expect_exit 0 "show of the run" jr show moved
	contains "show names its stdout log where it is" "$T/out" "stdout      $P/db/logs/moved/$mid.out"
	contains "and its stderr log" "$T/out" "stderr      $P/db/logs/moved/$mid.err"
	lacks "not as an empty log" "$T/out" "not kept"
	expect_exit 0 "show --json of the run" jr show moved --json
	check "show --json names them where they are" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["run"]
assert (r["stdout_path"], r["stderr_path"]) == (sys.argv[2] + ".out", sys.argv[2] + ".err"), r' \
		"$T/out" "$P/db/logs/moved/$mid"
	expect_exit 0 "show of the run whose stderr went to its stdout" jr show moved-joined
	contains "show names the one log for both" "$T/out" "stderr      $P/db/logs/moved-joined/$jid.out"
	# Before it is recorded lost (by a reader, which cannot record it, or
	# in the moment between a log's move and its run's commit), the row
	# says running: a log at its place is the whole of it still. The
	# invocation is made to look alive here: its pid becomes this shell's.
	q "update runs set status = 'running', error = NULL, finished_ms = NULL where id = '$mid';
	   update invocations set status = 'running', finished_ms = NULL, pid = $$,
	   proc_start = $(sed 's/.*) //' /proc/$$/stat | awk '{print $20}')
	   where id = (select invocation_id from runs where id = '$mid')"
	expect_exit 0 "logs of the run still running" timeout 8 "$JR" -c "$P/jobrunner.ini" logs moved
	equals "prints what it wrote, from its place" "$(cat "$T/out")" "$(printf 'important output\nlast words')"
	equals "the run is running still" "$(q "select status from runs where id='$mid'")" "running"
	expect_exit 0 "logs --follow of the run still running ends at once" \
		timeout 8 "$JR" -c "$P/jobrunner.ini" logs --follow moved
	equals "prints what it wrote" "$(cat "$T/out")" "$(printf 'important output\nlast words')"
	expect_exit 0 "show of the run still running" jr show moved
	contains "show names its log where it is" "$T/out" "stdout      $P/db/logs/moved/$mid.out"
	# The name in .running may since be another run's file: the log at
	# its place is the run's own.
	echo "another run's output" >"$mout"
	expect_exit 0 "logs of the run, its old name in .running taken" jr logs moved
	equals "prints the run's own log" "$(cat "$T/out")" "$(printf 'important output\nlast words')"
	rm -f "$mout"

	# A job still running when jobrunner stops on such an error is stopped
	# at once, though a process of it outlives its shell (a zombie of
	# jobrunner's, as child subreaper, until reaped): not held until its
	# kill_grace.
	rm -f "$T/go"
	job stays.yaml <<EOF2
jobs:
  - name: ends-first
    shell: 'while [ ! -e $T/go ]; do sleep 0.05; done'
  - name: stays
    shell: 'while :; do sleep 0.05; done'
    kill_grace: 60s
EOF2
	"$JR" -c "$P/jobrunner.ini" run -j 2 ends-first stays >/dev/null 2>&1 &
	runner=$!
	wait_for "both run" 10 qeq "select count(*) from runs where job in ('ends-first', 'stays') and status='running' and pid > 0" 2
	prlimit --fsize=0 --pid "$runner"
	before=$(date +%s)
	touch "$T/go"
	wait "$runner"
	equals "the jobrunner stops: it could not record" "$?" 2
	took=$(($(date +%s) - before))
	check "at once, not after the running job's kill_grace (${took} s)" test "$took" -lt 30
else
	echo "# no prlimit: a run whose end could not be recorded is not tested"
fi

done_testing
