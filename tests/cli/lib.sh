# Shared helpers for the CLI tests: TAP output, a temporary directory per test
# file, assertions. Source it first; every test file ends with `done_testing`.
# $JR is the binary under test (set by tests/run.sh), $JR_HELPERS the helper
# programs, $JR_TOP the source tree.
set -u
: "${JR:?run through make check}"
T=$(mktemp -d "${TMPDIR:-/tmp}/jrtest.XXXXXX")
chmod 700 "$T"
trap 'rm -rf "$T"' EXIT
_n=0
_failed=0

ok()   { _n=$((_n + 1)); echo "ok $_n - $*"; }
nok()  { _n=$((_n + 1)); _failed=$((_failed + 1)); echo "not ok $_n - $*"; }
diag() { sed 's/^/# /'; }

# check DESC CMD...: passes when CMD succeeds.
check() { local d=$1; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }

# expect_exit CODE DESC CMD...: runs CMD, saves stdout/stderr in $T/out, $T/err.
expect_exit() {
	local want=$1 d=$2 rc; shift 2
	"$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$d"; else
		nok "$d (exit $rc, wanted $want)"
		{ echo "command: $*"; echo "--- stdout"; head -c 2000 "$T/out"; echo "--- stderr"; head -c 2000 "$T/err"; } | diag
	fi
}

# contains DESC FILE STRING: FILE holds STRING (fixed string).
contains() {
	if grep -qF -- "$3" "$2"; then ok "$1"; else
		nok "$1 ('$3' not in $2)"; head -c 2000 "$2" | diag
	fi
}
lacks() {
	if ! grep -qF -- "$3" "$2"; then ok "$1"; else
		nok "$1 ('$3' found in $2)"; grep -F -- "$3" "$2" | head -5 | diag
	fi
}
equals() {
	if [ "$2" = "$3" ]; then ok "$1"; else nok "$1 (got '$2', wanted '$3')"; fi
}

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

# ---- a project in a temporary directory, for end-to-end tests ----
# setup_project [INI_EXTRA]: $P/jobrunner.ini, $P/jobs.d, database and logs
# in $P/db. jr ARGS... runs the binary against it.
setup_project() {
	P=$T/p
	rm -rf "$P"
	mkdir -p "$P/jobs.d"
	chmod 755 "$P" "$P/jobs.d"
	cat >"$P/jobrunner.ini" <<EOINI
[jobrunner]
jobs_dir = jobs.d
database = db/jobrunner.db
log_dir = db/logs
parallel = 2
backends = local
${1:-}
EOINI
	chmod 644 "$P/jobrunner.ini"
	DB=$P/db/jobrunner.db
}
jr() { "$JR" -c "$P/jobrunner.ini" "$@"; }
# job FILE: writes stdin to $P/jobs.d/FILE with safe permissions.
job() { cat >"$P/jobs.d/$1"; chmod 644 "$P/jobs.d/$1"; }
# q SQL: one query against the test database, '|'-separated output.
q() { sqlite3 -batch "$DB" "$@"; }
# wait_for DESC SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
	local d=$1 s=$2 i; shift 2
	for ((i = 0; i < s * 10; i++)); do
		if "$@" 2>/dev/null; then ok "$d"; return 0; fi
		sleep 0.1
	done
	nok "$d (not within ${s}s)"
	return 1
}
# qeq SQL VALUE: the query's result is VALUE (for wait_for).
qeq() { [ "$(q "$1" 2>/dev/null)" = "$2" ]; }
