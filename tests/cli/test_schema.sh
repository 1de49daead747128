#!/usr/bin/env bash
# schemas/job.schema.json against the job files: every valid example (the
# files in tests/jobfiles/good/ and jobs.d/) passes it, and every malformed
# corpus entry marked "# schema: invalid" (what a schema can express) fails
# it. YAML is converted with python3-yaml and checked by python3-jsonschema's
# Draft202012Validator, a real validator rather than our own reading.
. "$(dirname "$0")/lib.sh"
cd "$JR_TOP" || exit 2

if ! python3 -c 'import yaml, jsonschema' 2>/dev/null; then
	echo "1..0 # SKIP python3-yaml or python3-jsonschema missing (make deps)"
	exit 0
fi

# classify SCHEMA FILE...: prints "valid FILE" or "invalid FILE REASON" per file.
classify() {
	python3 - "$@" <<'PY'
import json, sys
import yaml
from jsonschema import Draft202012Validator

schema = json.load(open(sys.argv[1]))
Draft202012Validator.check_schema(schema)
v = Draft202012Validator(schema)
for path in sys.argv[2:]:
    try:
        with open(path, "rb") as f:
            doc = yaml.safe_load(f)
        # JSON types only, as a JSON document of the same job would have.
        doc = json.loads(json.dumps(doc, default=str))
    except Exception as e:
        print("unparsable\t%s\t%s" % (path, str(e).replace("\n", " ")[:200]))
        continue
    errs = sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errs:
        e = errs[0]
        print("invalid\t%s\t%s: %s" % (path, "/".join(map(str, e.absolute_path)), e.message[:200]))
    else:
        print("valid\t%s\t" % path)
PY
}

schema=schemas/job.schema.json
check "the schema is valid JSON Schema 2020-12" \
	python3 -c 'import json,sys; from jsonschema import Draft202012Validator as V; V.check_schema(json.load(open(sys.argv[1])))' "$schema"

# Files that must pass: the valid examples.
good=(tests/jobfiles/good/*.yaml)
for f in jobs.d/*.yaml jobs.d/*.yml; do
	[ -e "$f" ] && good+=("$f")
done
# ... and the examples of jobrunner.yaml(5) (the .EX blocks under EXAMPLES).
awk -v dir="$T" '
	/^\.SH EXAMPLES/ { ex = 1; next }
	/^\.SH / { ex = 0 }
	ex && /^\.EX$/ { n++; out = dir "/man-example-" n ".yaml"; inblk = 1; next }
	ex && /^\.EE$/ { inblk = 0; close(out); next }
	inblk { gsub(/\\-/, "-"); print > out }
' man/jobrunner.yaml.5
nman=0
for f in "$T"/man-example-*.yaml; do
	[ -e "$f" ] && good+=("$f") && nman=$((nman + 1))
done
if [ "$nman" -ge 2 ]; then ok "found the man page's examples ($nman)"; else
	nok "found the man page's examples ($nman)"; fi
# Corpus entries: "# schema: invalid" must fail the schema; "# schema: valid"
# entries are wrong in ways a schema cannot see (cron ranges, unknown needs,
# cycles, duplicate names or fds, spellings a YAML reader erases such as
# retries: +3 read as the number 3), so the schema must pass them, or it would
# be stricter than the loader; "# schema: unparsable" ones are YAML-level
# problems (anchors, tabs, binary, duplicate keys, unknown tags) that never
# reach a schema.
bad=() semantic=()
for f in tests/jobfiles/bad/*.yaml; do
	if grep -q '^# schema: invalid$' "$f"; then bad+=("$f")
	elif grep -q '^# schema: valid$' "$f"; then semantic+=("$f")
	elif ! grep -q '^# schema: unparsable$' "$f"; then nok "$f: no '# schema:' line"
	fi
done
if [ "${#bad[@]}" -ge 20 ]; then ok "at least 20 corpus entries are schema-invalid (${#bad[@]})"
else nok "at least 20 corpus entries are schema-invalid (${#bad[@]})"; fi

declare -A want
for f in "${good[@]}" "${semantic[@]}"; do want[$f]=valid; done
for f in "${bad[@]}"; do want[$f]=invalid; done
while IFS=$'\t' read -r verdict file reason; do
	if [ "${want[$file]}" = valid ]; then
		if [ "$verdict" = valid ]; then ok "schema accepts $file"; else
			nok "schema accepts $file ($verdict: $reason)"; fi
	else
		if [ "$verdict" = invalid ]; then ok "schema rejects $file"; else
			nok "schema rejects $file (got $verdict)"; fi
	fi
	unset "want[$file]"
done < <(classify "$schema" "${good[@]}" "${semantic[@]}" "${bad[@]}")
for f in "${!want[@]}"; do nok "no verdict for $f"; done
done_testing
