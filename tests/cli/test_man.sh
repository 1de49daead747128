#!/usr/bin/env bash
# The manual: every page renders with man -l and is clean under mandoc's
# and groff's linters; every command of --help is documented in jobrunner(1)
# and every top-level job key in jobrunner.yaml(5).
. "$(dirname "$0")/lib.sh"
cd "$JR_TOP" || exit 1
for page in man/jobrunner.1 man/jobrunner.yaml.5 man/jobrunner.ini.5; do
	check "$page exists" test -s "$page"
	mandoc -Tlint -Wwarning "$page" >"$T/lint" 2>&1
	check "$page: mandoc -Tlint is clean" test ! -s "$T/lint"
	diag <"$T/lint"
	groff -ww -z -man "$page" >"$T/groff" 2>&1
	check "$page: groff -ww -z -man is clean" test ! -s "$T/groff"
	diag <"$T/groff"
	MANWIDTH=80 MANPAGER=cat man -l "$page" >"$T/rendered" 2>/dev/null
	check "$page: renders with man -l" test "$(wc -l <"$T/rendered")" -gt 20
done
"$JR" --help | sed -n '/^Commands:/,/^$/p' | awk 'NF && !/Commands:/ {print $1}' >"$T/commands"
MANWIDTH=200 MANPAGER=cat man -l man/jobrunner.1 >"$T/man1" 2>/dev/null
while read -r c; do
	contains "jobrunner(1) documents '$c'" "$T/man1" "$c"
done <"$T/commands"
MANWIDTH=200 MANPAGER=cat man -l man/jobrunner.yaml.5 >"$T/man5" 2>/dev/null
for key in name description command shell cwd umask user group env stdin stdout stderr fds \
	timeout kill_grace retries limits concurrency needs schedule tags backends targets image \
	slurm on_failure on_success; do
	contains "jobrunner.yaml(5) documents '$key'" "$T/man5" "$key"
done
done_testing
