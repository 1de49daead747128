#!/usr/bin/env bash
# What run prints: on a terminal the progress line never runs into
# jobrunner's own messages or a job's output on the same terminal; the
# summary counts jobs, not (job, target) pairs; a dependent of a job that
# another jobrunner is running says so.
. "$(dirname "$0")/lib.sh"
setup_project

# tty CMD...: runs CMD on a pseudo-terminal, its output (raw) in $T/tty.
tty() { script -qec "$*" /dev/null >"$T/tty" 2>&1 </dev/null; }

job hooks.yaml <<'EOF2'
jobs:
  - name: ok
    command: ["true"]
    on_success: [[sh, -c, 'exit 4'], [/nonexistent/x]]
  - name: slow
    command: [sleep, "1"]
EOF2
tty "$JR" -c "$P/jobrunner.ini" run -j 2 ok slow
contains "the hook's failure is reported" "$T/tty" "on_success hook 'sh' of ok"
check "on a line of its own, not after the progress text" \
	bash -c "! grep -a -q -E '(ms|s)jobrunner: on_success' '$T/tty'"
check "the progress line is cleared before it" grep -a -q -F $'\r\033[Kjobrunner: on_success hook' "$T/tty"

job hooks.yaml <<'EOF2'
jobs:
  - name: loud
    shell: 'echo out1; sleep 0.3; echo out2'
    stdout: inherit
EOF2
tty "$JR" -c "$P/jobrunner.ini" run loud
contains "a job inheriting the terminal writes to it" "$T/tty" "out2"
lacks "and no progress line is drawn around it" "$T/tty" "done,"
check "its output starts its lines" grep -a -q -E '^out1' "$T/tty"

job hooks.yaml <<'EOF2'
jobs:
  - name: two
    command: ["true"]
    targets: [{os: linux}, {os: linux, arch: "$(uname -m)"}]
  - name: bad
    command: ["false"]
EOF2
sed -i "s/\$(uname -m)/$(uname -m)/" "$P/jobs.d/hooks.yaml"
expect_exit 1 "a batch with a failed job" jr run two bad
contains "the summary counts jobs, not targets" "$T/err" "1 of 2 jobs did not succeed"

job hooks.yaml <<'EOF2'
jobs:
  - name: long
    shell: 'while [ ! -e release ]; do sleep 0.05; done'
  - name: after
    command: ["true"]
    needs: [long]
EOF2
jr run long >/dev/null 2>&1 &
holder=$!
# Its running row is written once it holds long's lock; it keeps it until
# released.
wait_for "the first invocation runs long" 10 qeq "select count(*) from runs where job='long' and status='running'" 1
expect_exit 1 "a dependent of a job another jobrunner runs did not succeed" jr run after
contains "and the summary says why" "$T/err" "need 'long' did not run here: another jobrunner is running it"
equals "long was skipped here, benignly" \
	"$(q "select count(*) from runs where job='long' and status='skipped'")" 1
touch "$P/jobs.d/release"
wait "$holder"
equals "the first invocation ran long" "$?" 0
done_testing
