#!/usr/bin/env bash
# Files a job names for stdin/stdout/stderr: a FIFO never holds up the
# scheduler (its other jobs, timeouts and signals go on), and a symlink the
# user wrote is followed, as for fds.
. "$(dirname "$0")/lib.sh"
setup_project

mkfifo "$P/in.fifo" "$P/out.fifo"
: >"$P/real.log"
ln -s real.log "$P/link.log"
job f.yaml <<'EOF2'
jobs:
  - {name: fifo-in, command: [cat], stdin: {file: ../in.fifo}, timeout: 5s}
  - {name: fifo-out, command: [echo, hi], stdout: {file: ../out.fifo}}
  - {name: other, command: [true]}
  - {name: to-link, command: [echo, through the link], stdout: {file: ../link.log, append: true}}
  - {name: flags, command: [grep, ^flags, /proc/self/fdinfo/1], stdout: {file: ../flags.txt}}
EOF2
start=$SECONDS
expect_exit 1 "a FIFO nobody reads fails only its own job" timeout -k 5 20 "$JR" -c "$P/jobrunner.ini" run -j 2
check "and nothing waited on the FIFOs" test $((SECONDS - start)) -lt 15
equals "a FIFO input with no writer reads as empty" "$(q "select status from runs where job='fifo-in'")" succeeded
equals "the FIFO output job failed" "$(q "select status from runs where job='fifo-out'")" failed
contains "saying why" <(q "select error from runs where job='fifo-out'") "a FIFO that no process reads"
equals "the other job ran" "$(q "select status from runs where job='other'")" succeeded
equals "a symlinked stdout file is written through" "$(cat "$P/real.log")" "through the link"
check "and stays a symlink" test -L "$P/link.log"
flags=$(awk '{print $2}' "$P/flags.txt")
check "the job's file descriptor is blocking (O_NONBLOCK, used to open it, is cleared)" \
	test -n "$flags" -a $((0$flags & 04000)) -eq 0

# With a reader, the job writes into the FIFO.
exec 7<>"$P/out.fifo"
expect_exit 0 "a FIFO with a reader is written" jr run fifo-out
IFS= read -r -t 5 line <&7
equals "what the job wrote arrives" "$line" "hi"
exec 7<&-

# A full log_dir: the job's writes fail, and it says so only where its
# output went; jobrunner says it, on the run and to the user, once.
if [ "$(id -u)" = 0 ] && mkdir "$T/small" && mount -t tmpfs -o size=1m tmpfs "$T/small" 2>/dev/null; then
	sed "s|^log_dir = .*|log_dir = $T/small/logs|" "$P/jobrunner.ini" >"$P/small.ini"
	chmod 644 "$P/small.ini"
	job full.yaml <<'EOF2'
jobs:
  - {name: fills, shell: 'head -c 3000000 /dev/zero'}
  - {name: writes-after, command: [echo, hello]}
EOF2
	expect_exit 1 "jobs writing to a full log_dir fail" "$JR" -c "$P/small.ini" run -j 1 fills writes-after
	contains "the user is told why" "$T/err" "$T/small/logs: no space left: the jobs' output is cut short"
	equals "once" "$(grep -c "no space left" "$T/err")" 1
	equals "each run says why it failed" \
		"$(q "select count(*) from runs where job in ('fills', 'writes-after') and error like '%log_dir is full: output cut short'")" 2
	umount "$T/small"
fi
done_testing
