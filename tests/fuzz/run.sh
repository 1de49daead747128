#!/usr/bin/env bash
# Runs libFuzzer targets for FUZZ_TIME seconds each (called by `make fuzz`).
#   bash tests/fuzz/run.sh build/fuzz/fuzz_jobfile build/fuzz/fuzz_config ...
# With no arguments, every build/fuzz/fuzz_* binary is run.
# Target build/fuzz/fuzz_NAME starts from the seed corpus tests/fuzz/corpus/NAME/
# (and uses tests/fuzz/NAME.dict when present). New inputs go to a scratch copy
# under build/fuzz/work/NAME/, never into the repository; crashes are written
# to build/fuzz/artifacts/NAME/. Exits non-zero if any target failed.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
FUZZ_TIME=${FUZZ_TIME:-60}
FUZZ_JOBS=${FUZZ_JOBS:-1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

if [ $# -eq 0 ]; then
	set -- build/fuzz/fuzz_*
fi
status=0
for bin in "$@"; do
	[ -x "$bin" ] || { echo "fuzz: $bin: not built (make fuzz builds it)" >&2; status=1; continue; }
	name=$(basename "$bin")
	name=${name#fuzz_}
	seeds=tests/fuzz/corpus/$name
	work=build/fuzz/work/$name
	art=build/fuzz/artifacts/$name
	mkdir -p "$work" "$art"
	if [ -d "$seeds" ]; then
		cp -rp "$seeds"/. "$work"/
	else
		echo "fuzz: $name: no seed corpus in $seeds; starting empty" >&2
	fi
	dict=()
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
	log=build/fuzz/$name.log
	echo "fuzz: $name for ${FUZZ_TIME}s (corpus $work, log $log)"
	"$bin" "$work" "${dict[@]}" -max_total_time="$FUZZ_TIME" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -artifact_prefix="$art/" -print_final_stats=1 >"$log" 2>&1
	rc=$?
	runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -n 1)
	if [ "$rc" -ne 0 ]; then
		echo "fuzz: $name FAILED (exit $rc) after ${runs:-?} runs; see $log and $art/"
		grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5
		status=1
	else
		echo "fuzz: $name ok: ${runs:-?} runs, corpus $(ls "$work" | wc -l) inputs"
	fi
done
exit $status
