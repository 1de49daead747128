#!/usr/bin/env bash
# jobrunner run end to end: statuses, exit codes, retries, timeouts, needs,
# hooks, leftovers, unrunnable jobs, logs and the silence cron relies on.
. "$(dirname "$0")/lib.sh"
setup_project

# --- a job that succeeds: exit 0, silent when not on a terminal, recorded ---
job ok.yaml <<'EOF2'
name: hello
command: [printf, "%s|", "a b", "", "c;d$HOME"]
EOF2
expect_exit 0 "a succeeding job exits 0" jr run hello
equals "silent on success when not on a terminal" "$(cat "$T/out" "$T/err")" ""
equals "one run recorded as succeeded" "$(q "select count(*), status, exit_code, attempt from runs where job='hello'")" "1|succeeded|0|1"
out=$(q "select stdout_path from runs where job='hello'")
equals "argv arrives exactly, stdout in the run's log file" "$(cat "$out")" 'a b||c;d$HOME|'
case $out in "$P/db/logs/hello/"*.out) ok "log file is log_dir/JOB/RUN.out" ;; *) nok "log path $out" ;; esac
equals "log directories are private (0700)" "$(stat -c %a "$P/db/logs/hello")" 700
equals "log files are private (0600)" "$(stat -c %a "$out")" 600
equals "stdout tail stored" "$(q "select stdout_tail from runs where job='hello'")" 'a b||c;d$HOME|'
equals "machine and backend recorded" "$(q "select backend, machine from runs where job='hello'")" "local|$(uname -n)"
contains "decision recorded" <(q "select decision from runs where job='hello'") "local"
equals "invocation closed with status 0" "$(q "select exit_status from invocations order by id desc limit 1")" 0
equals "job definition recorded" "$(q "select count(*) from jobs where name='hello'")" 1

# --- failure: exit 1 and a short summary naming the job ---
job fail.yaml <<'EOF2'
name: failing
command: [sh, -c, "echo to-stderr >&2; exit 3"]
EOF2
expect_exit 1 "a failing job makes run exit 1" jr run failing
contains "failure summary names the job" "$T/err" "failing: exit code 3"
equals "failed run recorded with its exit code" "$(q "select status, exit_code, error from runs where job='failing'")" "failed|3|exit code 3"
equals "stderr tail stored" "$(q "select stderr_tail from runs where job='failing'")" "to-stderr"

# --- exec failure: a missing program is a failed run with the cause ---
job missing.yaml <<'EOF2'
name: missing-prog
command: [/nonexistent/prog]
EOF2
expect_exit 1 "a missing program fails the run" jr run missing-prog
contains "the error names the cause" <(q "select error from runs where job='missing-prog'") "No such file or directory"

# A start that fails in jobrunner itself (an unknown user) frees its slot
# at once: the next job starts (jobrunner waited for an event that would
# never come, with nothing running, until killed).
job badstart.yaml <<'EOF2'
jobs:
  - {name: bad-user, command: ["true"], user: no-such-user-jr}
  - {name: after-bad-start, command: ["true"]}
EOF2
expect_exit 1 "a start failing in jobrunner, then another job in the same slot" \
	timeout 20 "$JR" -c "$P/jobrunner.ini" run -j 1 bad-user after-bad-start
equals "the start failure is recorded with its cause" \
	"$(q "select status, instr(error, 'no-such-user-jr') > 0 from runs where job='bad-user'")" "failed|1"
equals "and the next job ran" "$(q "select status from runs where job='after-bad-start'")" "succeeded"

# --- retries with delay: each attempt its own row ---
job retry.yaml <<'EOF2'
name: flaky
shell: '[ "$JOBRUNNER_ATTEMPT" -ge 3 ]'
retries: {count: 3, delay: 200ms, backoff: 2}
EOF2
expect_exit 0 "a job that succeeds on its third attempt succeeds" jr run flaky
equals "three attempts recorded" "$(q "select group_concat(attempt || ':' || status, ' ') from (select * from runs where job='flaky' order by id)")" "1:failed 2:failed 3:succeeded"
gap=$(q "select (select started_ms from runs where job='flaky' and attempt=3) - (select finished_ms from runs where job='flaky' and attempt=2)")
if [ "$gap" -ge 390 ]; then ok "backoff doubles the delay (${gap} ms)"; else nok "backoff: gap $gap ms"; fi

job retry2.yaml <<'EOF2'
name: always-fails
command: ["false"]
retries: 2
EOF2
expect_exit 1 "retries exhausted: exit 1" jr run always-fails
equals "1 + 2 attempts" "$(q "select count(*) from runs where job='always-fails' and status='failed'")" 3

# A retry that comes due while every slot is busy waits for a slot without
# spinning: jobrunner's CPU over two seconds of a sleeping job stays small
# (a busy loop took the whole two seconds of CPU).
job retry3.yaml <<'EOF2'
jobs:
  - name: retry-while-full
    command: ["false"]
    retries: {count: 1, delay: 100ms}
  - name: holds-the-slot
    command: [sleep, "2"]
EOF2
cpu=$(python3 - "$JR" "$P/jobrunner.ini" <<'PY'
import resource, subprocess, sys
subprocess.run([sys.argv[1], "-c", sys.argv[2], "run", "-j", "1", "holds-the-slot", "retry-while-full"],
               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(int((r.ru_utime + r.ru_stime) * 1000))
PY
)
if [ "$cpu" -lt 1000 ]; then ok "a due retry waits for a free slot without spinning (${cpu} ms CPU)"
else nok "a due retry with no free slot spun: ${cpu} ms CPU in 2 s"; fi
equals "the retry ran once the slot was free" \
	"$(q "select count(*) from runs where job='retry-while-full'")" 2

# --- timeout: the whole process group goes, the run is timed_out ---
job timeout.yaml <<'EOF2'
name: slow
shell: 'trap "" TERM; (trap "" TERM; sleep 37; echo survived) & sleep 37'
timeout: 300ms
kill_grace: 300ms
EOF2
start=$SECONDS
expect_exit 1 "a timed-out job makes run exit 1" jr run slow
if [ $((SECONDS - start)) -lt 10 ]; then ok "timeout + grace respected"; else nok "took $((SECONDS - start))s"; fi
equals "timed_out recorded" "$(q "select status from runs where job='slow'")" "timed_out"
contains "signals recorded with their reason" <(q "select group_concat(sig || ':' || reason, ' ') from run_signals") "15:timeout"
contains "SIGKILL after grace" <(q "select group_concat(sig || ':' || reason, ' ') from run_signals") "9:timeout"
jr history slow -n 1 >"$T/hist"
equals "history: a signal name fits its EXIT column (ERROR stays aligned)" \
	"$(awk 'NR == 1 { print index($0, "ERROR") } NR == 2 { print index($0, "timed out") }' "$T/hist" | uniq | wc -l)" 1
check "no process of the job survived" bash -c '! pgrep -f "sleep 3[7]" >/dev/null'

# --- needs: order, and skipped dependents naming the need ---
job needs.yaml <<'EOF2'
jobs:
  - name: first
    shell: 'sleep 0.2; echo first >> order.txt'
  - name: second
    needs: [first]
    shell: 'echo second >> order.txt'
  - name: broken
    command: ["false"]
  - name: after-broken
    needs: [broken]
    command: ["true"]
EOF2
expect_exit 0 "run JOB pulls in what it needs" jr run second
equals "needs run first" "$(tr '\n' ' ' <"$P/jobs.d/order.txt")" "first second "
# A chain whose jobs are listed before what they need runs from its end.
{
	echo "jobs:"
	for ((i = 0; i < 40; i++)); do
		printf '  - {name: chain%02d, shell: "echo %d >> chain.txt", needs: [chain%02d]}\n' "$i" "$i" "$((i + 1))"
	done
	printf '  - {name: chain40, shell: "echo 40 >> chain.txt"}\n'
} | job chain.yaml
expect_exit 0 "a chain of 41 needs listed backwards" jr run chain00
equals "it ran from its end to its start" "$(tr '\n' ' ' <"$P/jobs.d/chain.txt")" \
	"$(seq 40 -1 0 | tr '\n' ' ')"
expect_exit 1 "a failed need fails the batch" jr run after-broken
equals "dependent of a failed need is skipped, naming it" "$(q "select status, error from runs where job='after-broken'")" "skipped|need 'broken' did not succeed"
contains "summary names the skipped dependent" "$T/err" "after-broken"
equals "a skipped run has no start time and no usage" \
	"$(q "select started_ms is null, finished_ms > 0, duration_ms is null, user_ms is null, leftovers is null from runs where job='after-broken'")" "1|1|1|1|1"
expect_exit 0 "show of a skipped run" jr show after-broken
contains "show: it never started" "$T/out" "started     -"
lacks "show: no duration for it" "$T/out" "duration"
lacks "show: nothing left behind by what never ran" "$T/out" "left behind"

# --- unrunnable: no backend can, and the reasons are recorded ---
job unrunnable.yaml <<'EOF2'
jobs:
  - name: elsewhere
    command: ["true"]
    targets: [{distro: no-such-distro}]
  - name: nowhere
    command: ["true"]
    backends: [none]
EOF2
expect_exit 1 "an unrunnable job makes run exit 1" jr run elsewhere nowhere
equals "recorded unrunnable" "$(q "select count(*) from runs where status='unrunnable'")" 2
contains "the reason names the fact" <(q "select error from runs where job='elsewhere'") "distro=no-such-distro"
contains "the reason names the backend" <(q "select error from runs where job='nowhere'") "none"
expect_exit 1 "plan exits 1 when a job can run nowhere" jr plan elsewhere
contains "plan explains why" "$T/out" "distro=no-such-distro"
expect_exit 0 "plan of a runnable job" jr plan hello
contains "plan names the backend and machine" "$T/out" "$(uname -n)"
expect_exit 0 "plan --json" jr plan hello --json
check "plan --json is valid JSON" python3 -m json.tool "$T/out"

# --- one run per target ---
arch=$(uname -m)
job targets.yaml <<EOF2
name: per-target
command: ["true"]
targets: [{arch: $arch}, {os: linux}, {arch: no-such-arch}]
EOF2
expect_exit 1 "a job with one unrunnable target of three exits 1" jr run per-target
equals "one run per target" "$(q "select count(*) from runs where job='per-target'")" 3
equals "two succeeded" "$(q "select count(*) from runs where job='per-target' and status='succeeded'")" 2
equals "each records its target" "$(q "select target from runs where job='per-target' and status='unrunnable'")" '{"arch":"no-such-arch"}'
contains "the summary names the target" "$T/err" 'per-target{"arch":"no-such-arch"}'

# --- leftovers: processes left behind are killed and counted ---
job leftover.yaml <<'EOF2'
name: leaves-child
shell: 'sleep 61 & echo started'
kill_grace: 500ms
EOF2
expect_exit 0 "a job leaving a child behind still succeeds" jr run leaves-child
equals "leftovers counted" "$(q "select leftovers from runs where job='leaves-child'")" 1
contains "leftover signal recorded" <(q "select group_concat(reason) from run_signals s join runs r on r.id = s.run_id where r.job='leaves-child'") "leftover"
check "the leftover is gone" bash -c '! pgrep -f "sleep 6[1]" >/dev/null'

# A process that left the job's process group but not its session is found
# too (through jobrunner being the child subreaper it re-parents to). The
# job ends only once the process has left the group (still in it, it would
# be found through the group, which is not what this tests).
job leftover2.yaml <<'EOF2'
name: leaves-group
shell: 'python3 -c "import os, pathlib, sys, time; os.setpgid(0, 0); pathlib.Path(sys.argv[1]).touch(); time.sleep(59)" left.group & while [ ! -e left.group ]; do sleep 0.05; done; echo started'
kill_grace: 500ms
timeout: 60s
EOF2
expect_exit 0 "a job leaving a process in another group of its session" jr run leaves-group
equals "that leftover is counted" "$(q "select leftovers from runs where job='leaves-group'")" 1
check "and gone" bash -c '! pgrep -f "time.sleep\(5[9]\)" >/dev/null'

# A timeout's SIGKILL reaches the whole group at once; a member with much
# memory to free dies well after the main process is reaped: dying, it was
# not left behind.
job leftover3.yaml <<'EOF2'
name: dies-slowly
shell: 'trap "" TERM; python3 -c "import time; b = bytearray(256 << 20); open(\"big.ready\", \"w\"); time.sleep(29)" & while [ ! -e big.ready ]; do sleep 0.05; done; rm big.ready; sleep 29'
timeout: 1s
kill_grace: 200ms
EOF2
expect_exit 1 "a job whose group ignores TERM times out" jr run dies-slowly
equals "its members killed with it are no leftovers" \
	"$(q "select leftovers, error from runs where job='dies-slowly'")" "0|timed out after 1000 ms"
check "and gone" bash -c '! pgrep -f "time.sleep\(2[9]\)" >/dev/null'

# A process that escapes the job's session (a daemon) is not a leftover,
# but jobrunner, as child subreaper, becomes its parent and reaps it: no
# zombie accumulates in a long run. The escaped process writes its pid
# once it has its own session, and the job ends only then (until then it
# is in the job's session, and the clean-up would kill it); it lives until
# the test kills it, and the waiter until the test is done with jobrunner,
# so that nothing here depends on how fast the machine is.
job escape.yaml <<'EOF2'
jobs:
  - name: escaper
    shell: 'setsid sh -c "echo \$\$ >esc.pid; exec sleep 30" </dev/null >/dev/null 2>&1 & while [ ! -s esc.pid ]; do sleep 0.05; done'
    timeout: 60s
  - name: waiter
    shell: 'while [ ! -e esc.done ]; do sleep 0.05; done'
    timeout: 60s
EOF2
"$JR" -c "$P/jobrunner.ini" run escaper waiter -j 2 >/dev/null 2>&1 &
runner=$!
wait_for "the escaped process starts (it writes its pid)" 10 test -s "$P/jobs.d/esc.pid"
esc=$(cat "$P/jobs.d/esc.pid")
equals "it leads a session of its own" "$(ps -o sid= -p "$esc" | tr -d ' ')" "$esc"
# (once its parent, the job's sh, has ended)
reparented() { [ "$(ps -o ppid= -p "$esc" | tr -d ' ')" = "$runner" ]; }
wait_for "the escaped process is re-parented to jobrunner, not init" 10 reparented
kill "$esc"
# Gone altogether: no longer even a zombie.
reaped() { ! ps -p "$esc" >/dev/null && ! ps --ppid "$runner" -o stat= | grep -q Z; }
wait_for "once it ends, jobrunner reaps it: no zombie under jobrunner" 10 reaped
check "jobrunner is still running (the waiter)" kill -0 "$runner"
touch "$P/jobs.d/esc.done"
wait "$runner"
equals "the escaper succeeded without leftovers" "$(q "select status, leftovers from runs where job='escaper'")" "succeeded|0"

# An empty log file is reused for the next run, but not one that a daemon
# escaped from the job still holds: what it writes later stays in its own
# run's log, never in another run's.
job late.yaml <<'EOF2'
jobs:
  - name: late-writer
    # It ends once the daemon has its own session: until then, the daemon
    # is in the job's session, and the clean-up would kill it.
    shell: 'setsid sh -c ": >late.detached; sleep 0.6; echo late >&2" </dev/null >/dev/null & while [ ! -e late.detached ]; do sleep 0.05; done'
  - name: after-it
    command: [sleep, "1"]
    needs: [late-writer]
  - name: quiet-one
    command: ["true"]
    needs: [after-it]
EOF2
expect_exit 0 "a job leaving a writing daemon, then others" jr run late-writer after-it quiet-one -j 1
lw=$(q "select stderr_path from runs where job='late-writer' order by id desc limit 1")
wait_for "the daemon's late line is in its job's stderr log" 10 grep -qx late "$lw"
for j in after-it quiet-one; do
	for c in stdout_path stderr_path; do
		f=$(q "select $c from runs where job='$j' order by id desc limit 1")
		check "$j's log ($c) holds nothing of it (no file: empty)" test ! -e "$f"
	done
done
check "a job that never wrote anything has no log directory" test ! -e "$P/db/logs/quiet-one"
check "nothing is left in use in .running" test -z "$(ls -A "$P/db/logs/.running")"

# A daemon one job left behind does not make the others keep their empty
# logs (it began before them: it cannot hold their files). The job ends
# once the daemon has its own session (before, the clean-up would kill it).
{
	echo "jobs:"
	echo "  - {name: leaves-daemon, shell: 'setsid sh -c \": >daemon.detached; exec sleep 4\" </dev/null >/dev/null 2>&1 & while [ ! -e daemon.detached ]; do sleep 0.05; done', timeout: 60s}"
	echo "  - {name: settle, command: [sleep, '0.1'], needs: [leaves-daemon]}"
	for i in $(seq 1 20); do echo "  - {name: after$i, command: ['true'], needs: [settle]}"; done
} | job daemon.yaml
expect_exit 0 "a batch after a job that left a daemon" jr run -j 4 leaves-daemon settle \
	$(seq -f 'after%g' 1 20)
equals "the daemon was no leftover of its job" "$(q "select leftovers from runs where job='leaves-daemon'")" 0
equals "the jobs after it keep no empty logs" \
	"$(find "$P/db/logs" -path '*/after*' -type f | wc -l)" 0
pkill -f '^sleep 4$' 2>/dev/null

# --- output to a file the job appends to: the stored tail is this run's ---
job append.yaml <<'EOF2'
name: appends
shell: '[ -e say ] && cat say; exit 0'
stdout: {file: ../appended.log, append: true}
stderr: {file: ../appended.log, append: true}
EOF2
echo "an earlier run's line" >"$P/jobs.d/say"
expect_exit 0 "a job appending to its own file" jr run appends
rm "$P/jobs.d/say"
expect_exit 0 "the same job, printing nothing this time" jr run appends
equals "the file holds what the first run wrote" "$(cat "$P/appended.log")" "an earlier run's line"
equals "the first run's tail is its line" \
	"$(q "select stdout_tail from runs where job='appends' order by id limit 1")" "an earlier run's line"
equals "a run that printed nothing has no tail, not an earlier run's" \
	"$(q "select stdout_tail is null, stderr_tail is null from runs where job='appends' order by id desc limit 1")" "1|1"
echo "its own line" >"$P/jobs.d/say"
expect_exit 0 "a third run, printing again" jr run appends
equals "its tail is only what it wrote" \
	"$(q "select stdout_tail from runs where job='appends' order by id desc limit 1")" "its own line"

# --- SIGHUP stops a run as SIGTERM does (exit 129), unless it was ignored
# when jobrunner started (nohup): jobrunner died of it, leaving its job
# running past its timeout, its lock gone and its run taken for lost ---
job hup.yaml <<'EOF2'
name: hangup
command: [sleep, "21"]
timeout: 2s
kill_grace: 500ms
EOF2
env --default-signal=HUP "$JR" -c "$P/jobrunner.ini" run hangup >/dev/null 2>"$T/hup.err" &
runner=$!
wait_for "the job runs" 10 qeq "select count(*) from runs where job='hangup' and pid > 0 and status='running'" 1
kill -HUP "$runner"
wait "$runner"
equals "SIGHUP: exit 129" "$?" 129
contains "it says why it stops" "$T/hup.err" "hangup: stopping"
equals "the run is failed/interrupted" "$(q "select status, error from runs where job='hangup'")" "failed|interrupted"
equals "the signal sent is recorded as interrupt" \
	"$(q "select s.reason from run_signals s join runs r on r.id = s.run_id where r.job='hangup' limit 1")" "interrupt"
equals "the invocation ended 129" "$(q "select exit_status from invocations order by id desc limit 1")" 129
check "the job's process is gone" bash -c '! pgrep -f "sleep 2[1]" >/dev/null'
env --ignore-signal=HUP "$JR" -c "$P/jobrunner.ini" run hangup >/dev/null 2>&1 &
runner=$!
wait_for "run with SIGHUP ignored (nohup): the job runs" 10 \
	qeq "select count(*) from runs where job='hangup' and pid > 0 and status='running'" 1
kill -HUP "$runner"
# Whether it is still running a moment later depends on how soon the
# timeout ends it; its exit status says it all: 1, not 129 (stopped by the
# signal, or killed by it).
wait "$runner"
equals "SIGHUP ignored: jobrunner goes on until its job times out (exit 1)" "$?" 1
equals "and records it so" "$(q "select status from runs where job='hangup' order by id desc limit 1")" "timed_out"

# --- an error that stops jobrunner itself is not an interrupt: the runs it
# stopped and those it did not start say so, with the error ---
job fatal.yaml <<'EOF2'
jobs:
  - {name: fatal-a, command: [sleep, "30"]}
  - {name: fatal-b, shell: "sleep 0.5"}
  - {name: fatal-d, command: ["true"], needs: [fatal-b], stdout: {file: ../fatal-d.out, append: true}}
  - {name: fatal-c, command: ["true"], needs: [fatal-b]}
EOF2
echo "an earlier run's output" >"$P/fatal-d.out"
# fatal-c's lock file cannot be opened: once fatal-b ended, one step
# records its end and fatal-d's start, then fails on fatal-c.
mkdir -p "$P/db/locks/fatal-c.lock"
expect_exit 2 "a lock file that cannot be opened stops run (exit 2)" \
	jr run -j 3 fatal-a fatal-b fatal-c fatal-d
contains "naming the error" "$T/err" "fatal-c.lock: Is a directory"
rmdir "$P/db/locks/fatal-c.lock"
why="jobrunner failed: lock file $P/db/locks/fatal-c.lock: Is a directory"
equals "the running job it stopped: failed, with jobrunner's error" \
	"$(q "select status, error from runs where job='fatal-a'")" "failed|stopped: $why"
equals "the job that ended in the step that failed is recorded as it ended" \
	"$(q "select status, error is null from runs where job='fatal-b'")" "succeeded|1"
equals "the job that step was to start: failed to start, with jobrunner's error" \
	"$(q "select status, error from runs where job='fatal-d'")" "failed|not started: $why"
equals "and no tail from its file, which it never wrote" \
	"$(q "select stdout_tail is null from runs where job='fatal-d'")" 1
equals "the job not started: skipped, with jobrunner's error" \
	"$(q "select status, error from runs where job='fatal-c'")" "skipped|not started: $why"
equals "the signal it got is not an operator's interrupt" \
	"$(q "select s.reason from run_signals s join runs r on r.id = s.run_id where r.job='fatal-a' limit 1")" "error"
equals "the invocation ended 2" "$(q "select exit_status from invocations order by id desc limit 1")" 2
check "no job process left" bash -c '! pgrep -f "sleep 3[0]" >/dev/null'

# The same when the error is running out of descriptors, in a batch.
{
	echo "jobs:"
	for ((i = 0; i < 60; i++)); do printf '  - {name: nofile%02d, command: [sleep, "3"]}\n' "$i"; done
} | job nofile.yaml
(ulimit -n 64 && exec "$JR" -c "$P/jobrunner.ini" run -j 30 $(seq -f 'nofile%02g' 0 59)) >"$T/out" 2>"$T/err"
equals "out of descriptors: exit 2" "$?" 2
contains "naming the error" "$T/err" "Too many open files"
equals "every job has its row, none left running" \
	"$(q "select count(*), sum(status in ('running', 'queued')) from runs where job like 'nofile%'")" "60|0"
equals "no run says it was interrupted" \
	"$(q "select count(*) from runs where job like 'nofile%' and error like '%interrupted%'")" 0
equals "none was stopped by an interrupt" \
	"$(q "select count(*) from run_signals s join runs r on r.id = s.run_id where r.job like 'nofile%' and s.reason = 'interrupt'")" 0
equals "what did not start says why" \
	"$(q "select count(*) > 0, sum(error not like 'not started: jobrunner failed: %Too many open files') from runs where job like 'nofile%' and status = 'skipped'")" "1|0"
equals "what was stopped says why" \
	"$(q "select count(*) from runs where job like 'nofile%' and status = 'failed' and error not like '%Too many open files%'")" 0

# --- hooks ---
job hooks.yaml <<'EOF2'
jobs:
  - name: hooked-fail
    command: [sh, -c, "exit 4"]
    on_failure:
      - [sh, -c, 'echo "$JOBRUNNER_JOB $JOBRUNNER_STATUS $JOBRUNNER_EXIT_CODE $JOBRUNNER_RUN_ID" > hook.txt']
  - name: hooked-ok
    command: ["true"]
    on_success:
      - [sh, -c, 'echo "$JOBRUNNER_STATUS" > hook-ok.txt']
EOF2
expect_exit 1 "hooked failing job" jr run hooked-fail hooked-ok
rid=$(q "select id from runs where job='hooked-fail'")
equals "on_failure hook ran with the run's variables" "$(cat "$P/jobs.d/hook.txt")" "hooked-fail failed 4 $rid"
equals "on_success hook ran" "$(cat "$P/jobs.d/hook-ok.txt")" "succeeded"
job hooks2.yaml <<'EOF2'
name: hooked-quiet
command: ["true"]
stdout: "null"
on_success:
  - [sh, -c, 'echo "said by the hook"']
EOF2
expect_exit 0 "a job whose stdout is not logged, with a hook" jr run hooked-quiet
rid=$(q "select id from runs where job='hooked-quiet'")
equals "its hook's output is in RUN.hooks all the same" \
	"$(cat "$P/db/logs/hooked-quiet/$rid.hooks" 2>&1)" "said by the hook"

# --- environment: clean by default, set, and JOBRUNNER_* ---
job env.yaml <<'EOF2'
name: env-dump
command: [env]
env:
  set: {GREETING: hello world}
EOF2
FOO_SHOULD_NOT_PASS=1 jr run env-dump >/dev/null 2>&1
envout=$(cat "$(q "select stdout_path from runs where job='env-dump'")")
case $envout in *"GREETING=hello world"*) ok "env.set reaches the job" ;; *) nok "env.set" ;; esac
case $envout in *FOO_SHOULD_NOT_PASS*) nok "environment leaked" ;; *) ok "jobrunner's environment does not leak" ;; esac
case $envout in *"JOBRUNNER_JOB=env-dump"*) ok "JOBRUNNER_JOB set" ;; *) nok "JOBRUNNER_JOB" ;; esac
case $envout in *"LC_ALL=C"*) ok "LC_ALL=C by default" ;; *) nok "LC_ALL" ;; esac

# --- invalid job files: run starts nothing and exits 2 ---
job zz-bad.yaml <<'EOF2'
name: bad
command: ["true"]
timeout: soon
EOF2
before=$(q "select count(*) from runs")
expect_exit 2 "an invalid job file makes run exit 2" jr run hello
contains "the error names file and line" "$T/err" "zz-bad.yaml:3"
equals "nothing ran" "$(q "select count(*) from runs")" "$before"
rm "$P/jobs.d/zz-bad.yaml"

# --- no symlink can redirect what jobrunner writes ---
job sym.yaml <<'EOF2'
name: symlinked
command: [echo, hi]
EOF2
mkdir -p "$T/elsewhere" "$P/db/logs"
ln -s "$T/elsewhere" "$P/db/logs/symlinked"
expect_exit 2 "a log directory that is a symlink is refused" jr run symlinked
contains "with the reason" "$T/err" "symlink"
equals "nothing was written through it" "$(ls "$T/elsewhere" | wc -l)" 0
rm "$P/db/logs/symlinked"
mv "$P/db/locks" "$T/locks.real"
ln -s "$T/locks.real" "$P/db/locks"
expect_exit 2 "a lock directory that is a symlink is refused" jr run symlinked
rm "$P/db/locks"
mv "$T/locks.real" "$P/db/locks"
chmod 777 "$P/db/logs"
expect_exit 2 "a log directory others can write is refused" jr run symlinked
contains "naming the mode" "$T/err" "writable by everyone (mode 0777)"
chmod 770 "$P/db/logs"
expect_exit 2 "a log directory its group can write is refused" jr run symlinked
contains "naming the mode" "$T/err" "writable by its group (mode 0770); refusing to write into it (chmod go-w)"
chmod 700 "$P/db/logs"
expect_exit 0 "and all is well again" jr run symlinked

# --- on a terminal: a live progress line and a summary ---
script -qec "$JR -c $P/jobrunner.ini run hello failing" /dev/null >"$T/tty" 2>&1
tr '\r' '\n' <"$T/tty" >"$T/tty.txt"
contains "a progress line on a terminal" "$T/tty.txt" "done,"
contains "it counts failures" "$T/tty.txt" "1 failed"
contains "a summary at the end" "$T/tty.txt" "2 jobs, 2 runs in"
contains "naming what failed" "$T/tty.txt" "failing: exit code 3"
# A job retried until it succeeded: its failed runs are counted as runs,
# and it is no failed job.
script -qec "$JR -c $P/jobrunner.ini run flaky" /dev/null >"$T/tty" 2>&1
tr '\r' '\n' <"$T/tty" >"$T/tty.txt"
contains "the summary counts one job and its three runs" "$T/tty.txt" "1 job, 3 runs in"
contains "... two of them failed" "$T/tty.txt" ": 1 succeeded, 2 failed, "
lacks "and no job is said to have failed" "$T/tty.txt" "did not succeed"
# -j 1: each job's successor starts in the step that records its end, and
# the line is drawn after it: never "1/2 done, 0 running" in between.
script -qec "$JR -c $P/jobrunner.ini run -j 1 hello failing" /dev/null >"$T/tty" 2>&1
tr '\r' '\n' <"$T/tty" >"$T/tty.txt"
contains "one job done, the next running" "$T/tty.txt" "1/2 done, 1 running"
lacks "no line with one done and none running" "$T/tty.txt" "1/2 done, 0 running"

# --- usage ---
expect_exit 2 "unknown job exits 2" jr run no-such-job
contains "unknown job named" "$T/err" "no-such-job"
expect_exit 2 "bad -j exits 2" jr run -j zero hello
expect_exit 2 "an option of plan given to run exits 2" jr run --json hello
contains "... and is named" "$T/err" "unrecognized option '--json'"
expect_exit 2 "an option of run given to plan exits 2" jr plan --dry-run hello
contains "... and is named" "$T/err" "unrecognized option '--dry-run'"
expect_exit 2 "unknown tag exits 2" jr run -t no-such-tag
expect_exit 0 "run --help" jr run --help
contains "run --help explains exit status" "$T/out" "Exit status"

done_testing
