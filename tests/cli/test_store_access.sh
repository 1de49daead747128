#!/usr/bin/env bash
# How commands open the database and what they read back from it: read
# commands (history, show, logs) do not create it, and read it without
# write access; the figures of a lost run; a database path that is not a
# regular file; another application's database.
. "$(dirname "$0")/lib.sh"
setup_project

job s.yaml <<'EOF2'
jobs:
  - name: long
    shell: 'echo started; exec sleep 53'
  - name: quick
    command: ["true"]
EOF2

# --- no database yet: read commands find no runs and create nothing ---
expect_exit 0 "history without a database" jr history
equals "prints nothing (not on a terminal)" "$(cat "$T/out" "$T/err")" ""
expect_exit 0 "history --json without a database" jr history --json
equals "an empty array" "$(cat "$T/out")" "[]"
expect_exit 2 "show without a database" jr show quick
contains "finds no run" "$T/err" "'quick' is neither a run id (or a prefix of one) nor a job with runs"
expect_exit 2 "logs without a database" jr logs abc
contains "finds no run" "$T/err" "no run id starts with 'abc'"
check "none of them created the database or its directory" test ! -e "$P/db"
expect_exit 0 "run creates it" jr run quick
check "the database exists now" test -f "$DB"

# --- a lost run: when it ended is unknown, and so are its figures ---
jr run quick >/dev/null 2>&1
"$JR" -c "$P/jobrunner.ini" run long >/dev/null 2>&1 &
runner=$!
wait_for "the run is recorded running" 10 qeq "select count(*) from runs where job='long' and status='running' and pid > 0" 1
kill -9 "$runner"
wait "$runner" 2>/dev/null
# The job's own process group (its pid, recorded by its row).
kill -9 -- "-$(q "select pid from runs where job='long'")" 2>/dev/null
# Commands that never open the database leave it as it is (RUN STATUSES).
for cmd in list plan validate machines "db path" "run --dry-run quick"; do
	# shellcheck disable=SC2086 # $cmd is words
	jr $cmd >/dev/null 2>&1
done
equals "list, plan, validate, machines, db path, run --dry-run do not record it" \
	"$(q "select status from runs where job='long'")" "running"
expect_exit 0 "a later command that opens the database records the run lost" jr history
contains "and says so" "$T/err" "recorded as lost"
equals "the run is lost" "$(q "select status from runs where job='long'")" "lost"
equals "it has a finish time (when it was found lost) and no duration or usage" \
	"$(q "select finished_ms > 0, duration_ms is null, user_ms is null, sys_ms is null, max_rss_kb is null, leftovers is null from runs where job='long'")" \
	"1|1|1|1|1|1"
equals "job_stats has no time for it" "$(q "select avg_seconds is null, max_seconds is null from job_stats where job='long'")" "1|1"
expect_exit 0 "show the lost run" jr show long
contains "show says it is lost" "$T/out" "lost"
lacks "show has no duration for it" "$T/out" "duration"
lacks "show makes up no CPU time" "$T/out" "cpu"
lacks "show makes up no memory" "$T/out" "max rss"
lacks "show makes up no processes left behind" "$T/out" "left behind"
expect_exit 0 "show --json the lost run" jr show long --json
check "its figures are null in JSON" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["run"]
assert r["status"] == "lost" and r["finished_ms"] > 0, r
for k in ("duration_ms", "user_ms", "sys_ms", "max_rss_kb", "leftovers"):
    assert r[k] is None, (k, r[k])
' "$T/out"
expect_exit 0 "history of the lost run" jr history long
check "history shows no duration for it" grep -qE ' lost +[0-9-]+ [0-9:]+ +- ' "$T/out"
expect_exit 0 "show a finished run" jr show quick --json
check "a finished run keeps its figures" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))["run"]
for k in ("duration_ms", "user_ms", "sys_ms", "max_rss_kb", "leftovers"):
    assert isinstance(r[k], int), (k, r[k])
' "$T/out"

# --- read commands without write access ---
# As root (who may write anything) the reader is nobody; as anyone else,
# the modes set here stop the user.
if [ "$(id -u)" = 0 ]; then
	reader() { setpriv --reuid=65534 --regid=65534 --clear-groups "$JR" -c "$P/jobrunner.ini" "$@"; }
else
	reader() { "$JR" -c "$P/jobrunner.ini" "$@"; }
fi
chmod 711 "$T"
chmod 755 "$P/db"
nruns=$(q "select count(*) from runs")
chmod 444 "$DB"
check "not in use: no -wal or -shm" test ! -e "$DB-wal" -a ! -e "$DB-shm"
expect_exit 0 "history without write access" reader history
equals "lists every run" "$(($(wc -l <"$T/out") - 1))" "$nruns"
expect_exit 0 "show without write access" reader show quick
contains "shows the run" "$T/out" "succeeded"
expect_exit 0 "history --json without write access" reader history --json
check "--json is whole" python3 -c 'import json,sys; assert len(json.load(open(sys.argv[1]))) == int(sys.argv[2])' "$T/out" "$nruns"
check "nothing created beside it" test ! -e "$DB-wal" -a ! -e "$DB-shm"
equals "still in WAL mode" "$(q "PRAGMA journal_mode")" "wal"
# With the directory writable, SQLite would make a -shm and -wal of the
# reader's, with which the owner's jobrunner could no longer write.
chmod 777 "$P/db"
expect_exit 0 "history without write access, directory writable" reader history
check "nothing created beside it either" test ! -e "$DB-wal" -a ! -e "$DB-shm"
chmod 755 "$P/db"
chmod 644 "$DB"
expect_exit 0 "the owner records runs as before" jr run quick
chmod 444 "$DB"

# In use: a runner has it open (its -shm readable, as the database is).
chmod 644 "$DB"
"$JR" -c "$P/jobrunner.ini" run long >/dev/null 2>&1 &
runner=$!
wait_for "a runner has a run going" 10 qeq "select count(*) from runs where job='long' and status='running' and pid > 0" 1
chmod 444 "$DB"
expect_exit 0 "history without write access while a runner writes" reader history long
contains "sees the run going" "$T/out" "running"
if [ "$(id -u)" = 0 ]; then
	chmod 600 "$DB-shm"
	expect_exit 2 "in use with an unreadable -shm: refused" reader history
	contains "saying what it needs" "$T/err" "$DB: no write access, and while it is in use (it has a -wal or -shm file) reading it so needs $DB-shm to exist and be readable"
	chmod 644 "$DB-shm"
fi
# The runner vanishes: a reader cannot record it lost, and does not try.
kill -9 "$runner"
wait "$runner" 2>/dev/null
kill -9 -- "-$(q "select pid from runs where job='long' and status='running'")" 2>/dev/null
expect_exit 0 "history without write access after the runner vanished" reader history long
lacks "does not record it lost" "$T/err" "lost"
equals "it stays running" "$(q "select count(*) from runs where job='long' and status='running'")" 1
# A reader following the run meanwhile (its log made readable to it) reads
# the database afresh, even when it first read it while nothing had it
# open (q closed it last: no -wal, no -shm): it ends when a command that
# can write records the run lost, or (first) when it sees for itself that
# the run's jobrunner is gone.
live=$(q "select stdout_path from runs where job='long' and status='running'")
chmod 755 "$P/db/logs" "$(dirname "$live")"
chmod 644 "$live"
check "nothing has the database open" test ! -e "$DB-wal" -a ! -e "$DB-shm"
reader logs --follow long >"$T/follow.out" 2>"$T/follow.err" &
follower=$!
# (once it has read the run, without write access: with it, it would
# record the run lost itself)
wait_for "a reader follows the run" 10 grep -q started "$T/follow.out"
chmod 644 "$DB"
expect_exit 0 "a command that can write records it" jr history long
contains "and says so" "$T/err" "recorded as lost"
wait_for "the follower sees it and ends" 10 bash -c "! kill -0 $follower 2>/dev/null"
kill "$follower" 2>/dev/null
wait "$follower"
equals "... with exit 0" "$?" 0
check "saying the run is lost, or its jobrunner gone" grep -q -E "is lost|is gone" "$T/follow.err"
equals "having printed what it wrote" "$(cat "$T/follow.out")" "started"
chmod 700 "$P/db/logs" "$(dirname "$live")"

# With no command that can write coming, a reader following a run whose
# jobrunner was killed sees it is gone, prints what the run wrote, ends.
chmod 644 "$DB"
"$JR" -c "$P/jobrunner.ini" run long >/dev/null 2>&1 &
runner=$!
wait_for "another run is going" 10 qeq "select count(*) from runs where job='long' and status='running' and pid > 0" 1
live=$(q "select stdout_path from runs where job='long' and status='running'")
wait_for "it wrote its line" 10 grep -q started "$live"
chmod 755 "$P/db/logs" "$(dirname "$live")"
chmod 644 "$live"
chmod 444 "$DB"
follow() { timeout -k 2 20 setpriv --reuid=65534 --regid=65534 --clear-groups "$JR" -c "$P/jobrunner.ini" logs --follow long; }
# Reading the database again fails (here: no access to it): following
# gives up after five tries a second apart...
follow >"$T/follow2.out" 2>"$T/follow2.err" &
follower=$!
wait_for "a reader follows the run" 10 grep -q started "$T/follow2.out"
chmod 000 "$DB"
wait "$follower"
equals "a database it cannot read again ends logs --follow: exit 2" "$?" 2
contains "saying why, and that it tried" "$T/follow2.err" "Permission denied (5 tries, a second apart)"
# ... but bears a failure or two (a writer's checkpoint, say).
chmod 444 "$DB"
follow >"$T/follow3.out" 2>"$T/follow3.err" &
follower=$!
wait_for "a reader follows the run again" 10 grep -q started "$T/follow3.out"
chmod 000 "$DB"
sleep 2.5
chmod 444 "$DB"
kill -9 "$runner"
wait "$runner" 2>/dev/null
kill -9 -- "-$(q "select pid from runs where job='long' and status='running'")" 2>/dev/null
wait "$follower"
equals "a reader's logs --follow of a run whose jobrunner is gone ends, with exit 0" "$?" 0
equals "having printed what it wrote" "$(cat "$T/follow3.out")" "started"
contains "saying its jobrunner is gone" "$T/follow3.err" "the jobrunner running it is gone"
equals "the run is still running in the database (a reader records nothing)" \
	"$(q "select count(*) from runs where job='long' and status='running'")" 1
chmod 644 "$DB"
jr history long >/dev/null 2>&1
chmod 700 "$P/db/logs" "$(dirname "$live")"

# An older schema needs migrating, which needs write access.
ver=$(q "PRAGMA user_version")
sqlite3 "$DB" "PRAGMA user_version = 1"
chmod 444 "$DB"
expect_exit 2 "an older schema without write access" reader history
contains "says write access is needed" "$T/err" "database schema version 1 is older than this jobrunner's ($ver), and migrating it needs write access"
chmod 644 "$DB"
expect_exit 0 "with write access it is migrated" jr history
equals "to the current version" "$(q "PRAGMA user_version")" "$ver"
chmod 700 "$T"

# jrdb PATH ARGS...: jobrunner with `database = PATH` (relative to $P).
jrdb() {
	local db=$1; shift
	sed "s|^database = .*|database = $db|" "$P/jobrunner.ini" >"$P/other.ini"
	chmod 644 "$P/other.ini"
	"$JR" -c "$P/other.ini" "$@"
}

# --- a database path that is not a regular file ---
mkfifo "$P/fifo.db"
ln -s /dev/null "$P/null.db"
mkdir "$P/dir.db"
for f in fifo.db null.db dir.db; do
	expect_exit 2 "$f: history refuses it" jrdb "$f" history
	contains "$f: history says why" "$T/err" "$P/$f: not a regular file"
	expect_exit 2 "$f: run refuses it" jrdb "$f" run quick
	contains "$f: run says why" "$T/err" "$P/$f: not a regular file"
done
check "the FIFO is left as it was" test -p "$P/fifo.db"
check "nothing was created beside the link to /dev/null" test ! -e "$P/null.db-wal" -a ! -e "$P/null.db-shm"
ln -s db/jobrunner.db "$P/link.db"
expect_exit 0 "a symbolic link to the database is the database" jrdb link.db history
contains "it reads the runs" "$T/out" "quick"

# --- another application's SQLite file is left alone ---
sqlite3 "$P/other.db" "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep');"
sqlite3 "$P/clash.db" "CREATE TABLE runs (km REAL)"
cp "$P/other.db" "$T/other.orig"
for f in other.db clash.db; do
	for cmd in history "run quick" "show x"; do
		# shellcheck disable=SC2086 # $cmd is words
		expect_exit 2 "$f: $cmd refuses it" jrdb "$f" $cmd
		contains "$f: $cmd says why" "$T/err" "$P/$f: not a jobrunner database (it has tables and no jobrunner schema version)"
	done
	equals "$f: still in its journal mode" "$(sqlite3 "$P/$f" "PRAGMA journal_mode")" "delete"
	equals "$f: no table added" "$(sqlite3 "$P/$f" "SELECT count(*) FROM sqlite_master")" "1"
	check "$f: no -wal or -shm left" test ! -e "$P/$f-wal" -a ! -e "$P/$f-shm"
done
check "other.db: not a byte changed" cmp -s "$P/other.db" "$T/other.orig"

# The database deleted while a batch records in it: what is recorded
# since would be lost with it; jobrunner says so and exits 2.
job moved.yaml <<'EOF2'
jobs:
  - {name: moved-a, shell: "while [ ! -e moved.go ]; do sleep 0.05; done"}
  - {name: moved-b, command: ["true"]}
EOF2
jr run quick >/dev/null 2>&1
jr run -j 1 moved-a moved-b >"$T/moved.out" 2>&1 &
runner=$!
wait_for "the batch is running" 10 qeq "select count(*) from runs where job='moved-a' and status='running'" 1
rm "$DB"
touch "$P/jobs.d/moved.go"
wait "$runner"
equals "a database deleted under a batch: exit 2" "$?" 2
contains "saying so" "$T/moved.out" "the database file was deleted or replaced while jobrunner was recording in it"
rm -f "$DB-wal" "$DB-shm"

# A file size limit (ulimit -f) for jobrunner: writes past it fail, and
# the batch stops with an error, not killed by SIGXFSZ.
jr run quick >/dev/null 2>&1
# (the -wal file grows by a few pages a step, from 0: past 24 KiB soon)
(ulimit -f 24 && exec "$JR" -c "$P/jobrunner.ini" run -j 2 moved-a moved-b quick >"$T/fsize.out" 2>&1)
rc=$?
check "under a file size limit jobrunner exits 2 (got $rc), not by SIGXFSZ (153)" test "$rc" -eq 2
contains "naming what failed" "$T/fsize.out" "File too large"

done_testing
