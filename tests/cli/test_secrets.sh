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

done_testing
