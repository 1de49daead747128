#!/usr/bin/env bash
# Runs every benchmark: each built binary in $O/tests/bench/, then every
# tests/bench/bench_*.sh script, printing their output. Benchmarks print
# ratios against baselines measured in the same run; they never fail on
# speed, only when they cannot run.
set -u
O=${O:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 2
export JR="$top/$O/jobrunner" JR_HELPERS="$top/$O/tests/helpers" JR_TOP="$top" O
rc=0
for b in "$O"/tests/bench/*; do
	case $b in *.o|*.d) continue ;; esac
	[ -f "$b" ] && [ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b" || { st=$?; echo "   $(basename "$b") failed with status $st"; rc=1; }
done
for s in tests/bench/bench_*.sh; do
	[ -e "$s" ] || continue
	echo "== $(basename "$s")"
	bash "$s" || { st=$?; echo "   $(basename "$s") failed with status $st"; rc=1; }
done
exit $rc
