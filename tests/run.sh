#!/usr/bin/env bash
# Runs every test and ends with one line "N passed, N failed".
#   unit tests: $O/tests/unit/test_* (cmocka, TAP output)
#   CLI tests:  tests/cli/test_*.sh (TAP output, see tests/cli/lib.sh)
# A test binary or script that dies without reporting counts as one failure.
# TESTS=pattern restricts to files whose name contains pattern.
# VALGRIND=1 runs each unit test binary under valgrind (errors and definite
# leaks fail the binary).
set -u
O=${O:-build}
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 2
export JR="$top/$O/jobrunner" JR_HELPERS="$top/$O/tests/helpers" JR_TOP="$top"
export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir="$top/$O/test-logs"
mkdir -p "$logdir"
pass=0 fail=0
failed_names=()

# run_one NAME LOG CMD...: run a TAP producer, count its results.
run_one() {
	local name=$1 log=$2; shift 2
	local start=$SECONDS rc p f
	"$@" >"$log" 2>&1 </dev/null
	rc=$?
	p=$(grep -cE '^ok [0-9]+' "$log")
	f=$(grep -cE '^not ok [0-9]+' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
		echo "not ok - $name exited with status $rc without reporting a failure" >>"$log"
	fi
	pass=$((pass + p)); fail=$((fail + f))
	if [ "$f" -gt 0 ]; then
		failed_names+=("$name")
		printf 'FAIL %-40s %3d passed, %3d failed (%ds)\n' "$name" "$p" "$f" $((SECONDS - start))
		grep -E '^not ok|^# ' "$log" | head -n 40 | sed 's/^/     /'
		echo "     full log: $log"
	else
		printf 'ok   %-40s %3d passed (%ds)\n' "$name" "$p" $((SECONDS - start))
	fi
}

for t in "$O"/tests/unit/test_*; do
	case $t in *.o|*.d) continue ;; esac
	[ -x "$t" ] || continue
	n=$(basename "$t")
	[ -n "${TESTS:-}" ] && [[ $n != *"$TESTS"* ]] && continue
	if [ "${VALGRIND:-0}" = 1 ]; then
		run_one "unit/$n" "$logdir/$n.log" valgrind --error-exitcode=99 --leak-check=full \
			--errors-for-leak-kinds=definite --trace-children=no -q "$t"
	else
		run_one "unit/$n" "$logdir/$n.log" "$t"
	fi
done
for t in tests/cli/test_*.sh; do
	[ -e "$t" ] || continue
	n=$(basename "$t" .sh)
	[ -n "${TESTS:-}" ] && [[ $n != *"$TESTS"* ]] && continue
	run_one "cli/$n" "$logdir/$n.log" bash "$t"
done

echo
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
