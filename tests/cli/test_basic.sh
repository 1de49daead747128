#!/usr/bin/env bash
# The binary answers --help and --version; usage errors exit 2.
. "$(dirname "$0")/lib.sh"

expect_exit 0 "--help exits 0" "$JR" --help
contains "--help lists commands" "$T/out" "Commands:"
contains "--help names exit statuses" "$T/out" "Exit status"
expect_exit 0 "--version exits 0" "$JR" --version
contains "--version prints the version" "$T/out" "jobrunner 0."
expect_exit 2 "unknown command exits 2" "$JR" frobnicate
contains "unknown command is named" "$T/err" "unknown command 'frobnicate'"
expect_exit 2 "unknown option exits 2" "$JR" --frob
contains "an unknown option is named" "$T/err" "unknown option '--frob'"
expect_exit 2 "-c without its FILE exits 2" "$JR" -c
contains "-c without its FILE says what is missing" "$T/err" "option '-c' needs an argument"
expect_exit 2 "--config without its FILE exits 2" "$JR" --config
contains "--config without its FILE says what is missing" "$T/err" "option '--config' needs an argument"
expect_exit 2 "no command exits 2" "$JR"
expect_exit 0 "help exits 0" "$JR" help
expect_exit 0 "help help exits 0" "$JR" help help
contains "help help shows help's own usage" "$T/out" "help [COMMAND]"
expect_exit 2 "db without its subcommand exits 2" "$JR" db
contains "and says what is missing" "$T/err" "missing subcommand 'path'"
expect_exit 2 "db with an unknown subcommand exits 2" "$JR" db frob
contains "and names it" "$T/err" "unknown subcommand 'frob'"
expect_exit 2 "db path with an extra argument exits 2" "$JR" db path extra
contains "and names it" "$T/err" "unexpected argument 'extra'"
(cd "$T" && "$JR" machines >"$T/m.out" 2>&1)
contains "machines without a configuration file names the built-in default" "$T/m.out" \
	"backends in preference order (built-in default): local"
mkdir -p "$T/c"
printf '[jobrunner]\nparallel = 2\n' >"$T/c/jobrunner.ini"
chmod 644 "$T/c/jobrunner.ini"
"$JR" -c "$T/c/jobrunner.ini" machines >"$T/m.out" 2>&1
contains "... and so does one with a file that does not set backends" "$T/m.out" \
	"backends in preference order (built-in default): local"
printf '[jobrunner]\nbackends = local\n' >"$T/c/jobrunner.ini"
"$JR" -c "$T/c/jobrunner.ini" machines >"$T/m.out" 2>&1
contains "a file that sets them is named" "$T/m.out" "backends in preference order ($T/c/jobrunner.ini): local"
# Where it cannot tell whether a configuration file exists (a home it may
# not search), it does not go on to the next place (jobrunner.ini(5)).
if [ "$(id -u)" = 0 ]; then
	expect_exit 2 "a home that cannot be searched is an error, not skipped" \
		bash -c "cd / && env -u XDG_CONFIG_HOME HOME='$T' setpriv --reuid=65534 --regid=65534 --clear-groups '$JR' list"
	contains "naming the path" "$T/err" "$T/.config/jobrunner/jobrunner.ini: Permission denied"
fi

done_testing
