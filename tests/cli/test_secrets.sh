#!/usr/bin/env bash
# env.secret values reach the job but appear nowhere jobrunner writes: the
# database file, its WAL, the logs it writes itself, show, --json.
. "$(dirname "$0")/lib.sh"
setup_project

secret="s3cr3t-$$-value"
# The job checks what it received against digests, so that the value itself
# is nowhere in the job file but env.set.
h1=$(printf %s "$secret" | sha256sum | cut -c1-64)
h2=$(printf %s "env-$secret" | sha256sum | cut -c1-64)
job s.yaml <<EOF2
jobs:
  - name: uses-secret
    env:
      set: {API_TOKEN: "$secret", VISIBLE: plain}
      secret: [API_TOKEN, FROM_ENV]
    shell: |
      [ "\$(printf %s "\$API_TOKEN" | sha256sum | cut -c1-64)" = $h1 ] || exit 1
      [ "\$(printf %s "\$FROM_ENV" | sha256sum | cut -c1-64)" = $h2 ] || exit 2
      echo "token=\$API_TOKEN"
      echo "err \$FROM_ENV" >&2
      exit 3
EOF2
FROM_ENV="env-$secret" jr run uses-secret >"$T/run.out" 2>&1
equals "the job saw both secrets (it exits 3 after checking them)" "$(q "select exit_code from runs")" 3
# jobrunner itself must not have written the value anywhere it controls.
check "not in the database file" bash -c "! grep -a -q -- '$secret' '$DB'"
check "not in the WAL" bash -c "! cat '$DB'-wal 2>/dev/null | grep -a -q -- '$secret'"
check "not in jobrunner's output" bash -c "! grep -q -- '$secret' '$T/run.out'"
equals "the stored stdout tail is redacted" "$(q "select stdout_tail from runs")" "token=***"
contains "the stored stderr tail is redacted" <(q "select stderr_tail from runs") "err "
lacks "no part of the environment secret in the stderr tail" <(q "select stderr_tail from runs") "s3cr3t"
id=$(q "select id from runs")
jr show "$id" >"$T/show" 2>&1
lacks "not in show" "$T/show" "$secret"
jr show "$id" --json >"$T/show.json" 2>&1
lacks "not in show --json" "$T/show.json" "$secret"
contains "the definition shows it redacted" "$T/show.json" '***'
jr history --json >"$T/h.json" 2>&1
lacks "not in history --json" "$T/h.json" "$secret"
jr list --json >"$T/l.json" 2>&1
lacks "not in list --json" "$T/l.json" "$secret"
check "not in the hook or log files jobrunner wrote" bash -c "! grep -r -l -- '$secret' '$P/db/logs' | grep -v -E '\\.(out|err)\$'"

# A secret that straddles the 4 KiB cut of the stored tail is redacted all
# the same: the tail is cut after redaction, not before (30 of its 40
# characters were stored). In a log, in a job's own file, from env.set and
# from jobrunner's environment.
tok=$(printf 'tok%s' "$$-0123456789abcdefghijklmnopqrstuvwxyz" | cut -c1-40)
etok=$(printf 'etok%s' "$$-zyxwvutsrqponmlkjihgfedcba9876543210" | cut -c1-40)
job cut.yaml <<EOF2
jobs:
  - name: cut-log
    env:
      set: {TOK: "$tok"}
      secret: [TOK]
    command: [python3, -c, 'import os, sys; sys.stdout.write(os.environ["TOK"] + "x" * 4066)']
  - name: cut-far
    env:
      set: {TOK: "$tok"}
      secret: [TOK]
    command: [python3, -c, 'import os, sys; sys.stdout.write("a" * 100 + os.environ["TOK"] + "x" * 4066)']
  - name: cut-inside
    env:
      set: {TOK: "$tok"}
      secret: [TOK]
    command: [python3, -c, 'import os, sys; t = os.environ["TOK"]; sys.stdout.write(t + "z" * 2000 + t + "z" * 2056)']
  - name: cut-env
    env:
      secret: [ETOK]
    command: [python3, -c, 'import os, sys; sys.stderr.write("b" * 5000 + os.environ["ETOK"] + "y" * 4070)']
  - name: cut-file
    env:
      set: {TOK: "$tok"}
      secret: [TOK]
    stdout: {file: cut-file.out}
    command: [python3, -c, 'import os, sys; sys.stdout.write("c" * 7 + os.environ["TOK"] + "x" * 4066)']
  - name: cut-overlap
    env:
      set: {S1: "ABcdAB", S2: "cdABSECRETPART0123456789abcdefghijklmn"}
      secret: [S1, S2]
    command: [python3, -c, 'import os, sys; e = os.environ; sys.stdout.write("z" * 100 + e["S1"] + e["S2"] + "x" * 1000 + e["S2"] + "x" * 3055)']
EOF2
ETOK=$etok jr run cut-log cut-far cut-inside cut-env cut-file cut-overlap >"$T/cut.out" 2>&1
equals "the jobs ran" "$(q "select count(*) from runs where job like 'cut-%' and status='succeeded'")" 6
for part in "${tok:1}" "${tok:10}" "${tok:20}" "${etok:10}" "${etok:30}" SECRETPART 0123456789abcdefghijklmn; do
	check "no part of a secret across the cut in the database ($part)" \
		bash -c "! grep -a -q -- '$part' '$DB' && ! cat '$DB'-wal 2>/dev/null | grep -a -q -- '$part'"
done
# (compared in SQL: the tails are 4 KiB long)
xs=$(printf 'x%.0s' $(seq 4066))
equals "the tail holds the secret redacted, and what followed it" \
	"$(q "select stdout_tail = '***$xs' from runs where job='cut-log'")" 1
equals "a secret before the cut is left out, the tail ends as the output did" \
	"$(q "select substr(stdout_tail, -4066) = '$xs', instr(stdout_tail, 'tok') from runs where job='cut-far'")" "1|0"
equals "text read that starts inside a secret: its part is hidden" \
	"$(q "select stdout_tail = '***$(printf 'z%.0s' $(seq 2000))***$(printf 'z%.0s' $(seq 2056))' from runs where job='cut-inside'")" 1
equals "secrets that overlap, the text read starting inside one: all hidden" \
	"$(q "select stdout_tail = '***$(printf 'x%.0s' $(seq 1000))***$(printf 'x%.0s' $(seq 3055))' from runs where job='cut-overlap'")" 1
equals "an inherited secret across the cut: redacted, what followed kept" \
	"$(q "select substr(stderr_tail, -4070) = '$(printf 'y%.0s' $(seq 4070))', instr(stderr_tail, 'etok') from runs where job='cut-env'")" "1|0"
equals "a job's own file: its tail too" \
	"$(q "select stdout_tail = 'ccccccc***$xs' from runs where job='cut-file'")" 1
for j in cut-log cut-far cut-inside cut-env cut-file cut-overlap; do
	jr show "$j" >"$T/show" 2>&1
	jr show "$j" --json >>"$T/show" 2>&1
	check "show and show --json of $j: no part of any secret" \
		bash -c "! grep -q -e '${tok:20}' -e '${etok:20}' -e SECRETPART -e ghijklmn '$T/show'"
done

# A secret value also written elsewhere in the definition: a description,
# the path of the job's own output file, a hook's path. Hidden in what
# jobrunner prints (hook messages, list, show) and stores (run rows).
d="$P/dir-$secret"
mkdir -p "$d"
printf '#!/bin/sh\nexit 4\n' >"$d/hook"
chmod 755 "$d" "$d/hook"
job wide.yaml <<EOF2
jobs:
  - name: wide
    description: "uses $secret"
    shell: 'echo hi; exit 1'
    stdout: {file: $d/out.txt}
    on_failure: [[$d/hook], [$d/nohook]]
    env:
      set: {W: "$secret"}
      secret: [W]
EOF2
jr run wide >"$T/wide.out" 2>&1
contains "the hooks ran and failed" "$T/wide.out" "exited with code 4"
lacks "jobrunner's hook messages hide it" "$T/wide.out" "$secret"
for cmd in "show wide" "show wide --json" "list" "list --json" "plan --json wide" "history --json"; do
	# shellcheck disable=SC2086 # $cmd is words
	jr $cmd >"$T/wide.cmd" 2>&1
	lacks "$cmd hides it" "$T/wide.cmd" "$secret"
done
contains "show gives the file's path, hidden" <(jr show wide) "dir-***/out.txt"
check "not in the database file or its WAL" \
	bash -c "! grep -a -q -- '$secret' '$DB' && ! cat '$DB'-wal 2>/dev/null | grep -a -q -- '$secret'"

# env.inherit: all does not pass on the hooks' own variables (a hook that
# runs jobrunner has them).
job hookvars.yaml <<'EOF2'
name: hookvars
shell: 'echo "[${JOBRUNNER_STATUS-unset}][${JOBRUNNER_EXIT_CODE-unset}]"'
env: {inherit: all}
EOF2
JOBRUNNER_STATUS=failed JOBRUNNER_EXIT_CODE=7 jr run hookvars >/dev/null 2>&1
equals "a job inheriting all gets no JOBRUNNER_STATUS/EXIT_CODE" \
	"$(q "select stdout_tail from runs where job='hookvars'")" "[unset][unset]"

done_testing
