-- jobrunner's history database: the schema, versioned.
--
-- jobrunner embeds this file and applies it at open: every section below
-- that starts with a line "-- @version N" and whose N is greater than the
-- database's PRAGMA user_version runs, in order, in one transaction, which
-- then sets user_version to the last N. A section is never edited once
-- released; a change to the schema is a new section.
--
-- The database is in WAL mode, so any number of readers (sqlite3 at a prompt,
-- `jobrunner history`) work while jobrunner writes. Times are milliseconds
-- since the Unix epoch (UTC); the views show them as local date and time.
-- A NULL column means "not known / does not apply".
--
-- Durability: jobrunner commits in small transactions (BEGIN IMMEDIATE):
-- while it runs jobs, one per step, holding the ends of the runs that
-- finished and the `running` rows of the runs about to start, each committed
-- before its process starts. PRAGMA synchronous = NORMAL by default: a committed
-- run survives any crash of jobrunner or of a job, but the last commits
-- before a power loss or kernel crash may be lost. `synchronous = full` in
-- jobrunner.ini makes every commit durable against power loss too, at the
-- cost of an fsync per commit.
--
-- Examples at the sqlite3 prompt:
--   SELECT * FROM last_runs;
--   SELECT * FROM failures LIMIT 20;
--   SELECT * FROM job_stats ORDER BY success_rate;
--   SELECT id, status, duration_ms FROM runs WHERE job = 'backup'
--     ORDER BY id DESC LIMIT 10;

-- @version 1

-- One row per jobrunner command that runs jobs (run, tick): who ran it and
-- whether it is still alive. Each command that opens the database (run,
-- tick, history, show, logs) checks invocations still 'running' whose
-- process is gone (another boot, or no process with that pid and start
-- time) and marks them and their unfinished runs 'lost'.
CREATE TABLE invocations (
	id          INTEGER PRIMARY KEY, -- rowid, referenced by runs.invocation_id
	argv        TEXT NOT NULL,       -- the command line, as a JSON array of strings
	host        TEXT NOT NULL,       -- hostname it ran on
	pid         INTEGER NOT NULL,    -- process id of jobrunner
	proc_start  INTEGER NOT NULL,    -- its start time in clock ticks since boot (/proc/PID/stat field 22)
	boot_id     TEXT NOT NULL,       -- /proc/sys/kernel/random/boot_id of that boot
	pid_ns      TEXT,                -- its pid namespace (/proc/self/ns/pid link): pid and
	                                 -- start time are only checked from the same namespace
	started_ms  INTEGER NOT NULL,    -- when it began
	finished_ms INTEGER,             -- when it ended (or was found lost); NULL while running
	status      TEXT NOT NULL DEFAULT 'running'
		CHECK (status IN ('running', 'finished', 'lost')),
	exit_status INTEGER              -- jobrunner's exit status; NULL unless finished
);
-- Reconcile looks only at live invocations.
CREATE INDEX invocations_running ON invocations(id) WHERE status = 'running';

-- Each distinct job definition seen, so history shows exactly what ran.
CREATE TABLE jobs (
	name           TEXT NOT NULL,    -- job name
	hash           TEXT NOT NULL,    -- hash of canonical_json (runs.job_hash)
	source_file    TEXT,             -- job file it came from
	canonical_json TEXT NOT NULL,    -- the normalised definition, as JSON
	first_seen_ms  INTEGER NOT NULL, -- when this definition was first recorded
	PRIMARY KEY (name, hash)
);

-- One row per attempt of a job. A run is inserted 'running' (committed)
-- before its process starts, or directly as 'skipped' / 'unrunnable', and
-- is completed when it ends. Rows of a jobrunner that disappeared are set
-- 'lost' by the next jobrunner command that opens the database (run, tick,
-- history, show, logs). ('queued' is accepted for rows of
-- earlier development versions, which inserted waiting attempts so; lost
-- is found for them as for running ones.) A lost run's finished_ms is when
-- it was found lost; when it ended is unknown, so its duration_ms and usage
-- (user_ms, sys_ms, max_rss_kb, leftovers) stay NULL and job_stats' times
-- leave it out. (Earlier versions set duration_ms of lost runs to the time
-- until the loss was found.)
CREATE TABLE runs (
	id            TEXT PRIMARY KEY NOT NULL, -- 20 hex digits: 12 of ms since the epoch, 8 unique;
	                                         -- sorts by start time; the CLI accepts any unique prefix
	invocation_id INTEGER REFERENCES invocations(id), -- the jobrunner command that ran it
	job           TEXT NOT NULL,    -- job name
	job_hash      TEXT,             -- definition that ran (jobs.hash)
	target        TEXT,             -- target requirements as JSON, '{}' for any machine
	machine       TEXT,             -- host (or cluster node) it ran on
	backend       TEXT,             -- local, container, slurm...; NULL when unrunnable
	decision      TEXT,             -- why this backend: each candidate tried and why it declined
	attempt       INTEGER NOT NULL DEFAULT 1, -- 1 for the first try, 2 for the first retry...
	status        TEXT NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed',
	                                   'timed_out', 'skipped', 'unrunnable', 'lost')),
	exit_code     INTEGER,          -- exit status of the main process, NULL if killed or never run
	signal        INTEGER,          -- signal that killed it, NULL if none
	pid           INTEGER,          -- the job's main process id
	started_ms    INTEGER,          -- when its process started
	finished_ms   INTEGER,          -- when it ended (or was found lost)
	duration_ms   INTEGER,          -- wall-clock run time
	user_ms       INTEGER,          -- user CPU time
	sys_ms        INTEGER,          -- system CPU time
	max_rss_kb    INTEGER,          -- peak resident memory, KiB
	leftovers     INTEGER,          -- processes still alive after the main one exited (killed)
	stdout_path   TEXT,             -- log file of stdout, NULL when not logged; while the run
	                                -- goes, the file in use (in log_dir/.running/); a log the
	                                -- run left empty is not kept (no file at that path)
	stderr_path   TEXT,             -- log file of stderr, likewise
	stdout_tail   TEXT,             -- last 4 KiB of stdout
	stderr_tail   TEXT,             -- last 4 KiB of stderr
	error         TEXT              -- why it failed, was skipped, unrunnable or lost
);
-- `jobrunner history JOB`: newest first.
CREATE INDEX runs_job ON runs(job, id DESC);
-- `jobrunner history --status S`, the failures view.
CREATE INDEX runs_status ON runs(status, id DESC);
-- Reconcile: unfinished runs of an invocation (small: finished runs leave it).
CREATE INDEX runs_active ON runs(invocation_id) WHERE status IN ('running', 'queued');

-- Every signal jobrunner sent to a run: which, when and why.
CREATE TABLE run_signals (
	run_id TEXT NOT NULL REFERENCES runs(id),
	sig    INTEGER NOT NULL, -- signal number (15 TERM, 9 KILL...)
	at_ms  INTEGER NOT NULL, -- when it was sent
	reason TEXT NOT NULL     -- timeout, interrupt, leftover...
);
CREATE INDEX run_signals_run ON run_signals(run_id, at_ms);

-- Container images built for jobs, cached by key.
CREATE TABLE images (
	key          TEXT PRIMARY KEY NOT NULL, -- SHA-256 of the image spec
	spec_json    TEXT NOT NULL,    -- the image spec it was built from
	path         TEXT,             -- where the image root is
	size         INTEGER,          -- bytes on disk
	created_ms   INTEGER NOT NULL, -- when the build began
	last_used_ms INTEGER,          -- last run that used it (for gc)
	build_status TEXT,             -- building, ok, failed
	build_log    TEXT              -- output of the build (tail)
);

-- `jobrunner tick`: the last schedule tick handled per job.
CREATE TABLE schedule (
	job          TEXT PRIMARY KEY NOT NULL, -- job name
	last_tick_ms INTEGER NOT NULL, -- the scheduled time last handled
	last_run_id  TEXT              -- the run it started, if any
) WITHOUT ROWID;

-- The latest run of each job.
CREATE VIEW last_runs AS
SELECT r.job, r.id AS run_id, r.status, r.exit_code, r.attempt,
       datetime(r.started_ms / 1000, 'unixepoch', 'localtime') AS started,
       datetime(r.finished_ms / 1000, 'unixepoch', 'localtime') AS finished,
       round(r.duration_ms / 1000.0, 1) AS seconds, r.machine, r.backend, r.error
FROM runs r
WHERE r.id = (SELECT max(id) FROM runs x WHERE x.job = r.job)
ORDER BY r.job;

-- Runs that did not succeed, newest first.
CREATE VIEW failures AS
SELECT r.id AS run_id, r.job, r.status, r.exit_code, r.signal, r.attempt,
       datetime(r.started_ms / 1000, 'unixepoch', 'localtime') AS started,
       round(r.duration_ms / 1000.0, 1) AS seconds, r.machine, r.error
FROM runs r
WHERE r.status IN ('failed', 'timed_out', 'unrunnable', 'lost')
ORDER BY r.id DESC;

-- Per job: how many runs, how many succeeded, and how long they take.
CREATE VIEW job_stats AS
SELECT job,
       count(*) AS runs,
       sum(status = 'succeeded') AS succeeded,
       sum(status IN ('failed', 'timed_out', 'unrunnable', 'lost')) AS failed,
       round(100.0 * sum(status = 'succeeded') / count(*), 1) AS success_rate,
       round(avg(duration_ms) / 1000.0, 1) AS avg_seconds,
       round(max(duration_ms) / 1000.0, 1) AS max_seconds,
       datetime(max(started_ms) / 1000, 'unixepoch', 'localtime') AS last_run
FROM runs
GROUP BY job
ORDER BY job;

-- @version 2

-- runs_active (version 1) found what runs_status finds as well: the
-- unfinished runs are its short 'running' (and 'queued') ranges, which
-- reconciling names with INDEXED BY runs_status. Without it, recording a
-- run takes two index writes and a page per commit fewer.
DROP INDEX IF EXISTS runs_active;
