#!/usr/bin/env bash
# Many jobs at once under a low soft limit on open files: jobrunner raises
# its own (each running job holds a few descriptors), and the jobs still get
# the limit jobrunner was started with.
. "$(dirname "$0")/lib.sh"
setup_project

{
	echo "jobs:"
	for i in $(seq 1 40); do echo "  - {name: s$i, command: [sleep, '0.5']}"; done
	echo "  - {name: limit, shell: 'ulimit -Sn'}"
	echo "  - {name: own-limit, shell: 'ulimit -Sn', limits: {nofile: 100}}"
} | job many.yaml
expect_exit 0 "40 jobs at once under 'ulimit -Sn 64' all run" bash -c "ulimit -Sn 64 && exec \"\$0\" -c \"\$1\" run -j 40" "$JR" "$P/jobrunner.ini"
equals "every run succeeded" "$(q "select count(*) from runs where status='succeeded'")" 42
equals "a job gets jobrunner's own soft limit" "$(q "select stdout_tail from runs where job='limit'")" 64
equals "or the one it sets" "$(q "select stdout_tail from runs where job='own-limit'")" 100
done_testing
