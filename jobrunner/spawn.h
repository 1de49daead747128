/* spawn: the one place where jobrunner creates processes.
 *
 * A builder in the style of libvirt's virCommand: create a struct jr_cmd, add
 * arguments, environment, descriptors and limits, then run it. No shell is
 * ever involved. The child gets an empty environment unless asked, only
 * descriptors 0, 1, 2 and the preserved ones, default signal dispositions and
 * an empty signal mask, and its own session (setsid), so that a timeout or
 * jr_cmd_terminate reaches every descendant through the process group.
 *
 * Errors are sticky and deferred: the builder functions never fail (memory
 * exhaustion aborts, see util.h); the first misuse or failure is remembered
 * and reported by jr_cmd_run / jr_cmd_start, which return -1 and leave the
 * message in jr_cmd_error(). Exec failures (missing program, EACCES, bad cwd,
 * bad user...) are reported by the child through a CLOEXEC pipe as the step
 * that failed and its errno, never as exit code 127.
 *
 * All allocation, PATH lookup and environment building happen in the parent
 * before the child is created; the code between fork and exec lives in
 * spawn_child.c and is async-signal-safe. Nothing here is safe to call from a
 * signal handler or in a forked child. A struct jr_cmd is used by one thread.
 */
#ifndef JR_SPAWN_H
#define JR_SPAWN_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

struct jr_cmd;

/* Where a file-bound output goes when opened by the core. */
enum jr_file_mode {
	JR_FILE_TRUNCATE = 0, /* create or truncate */
	JR_FILE_APPEND = 1,   /* create or append */
	JR_FILE_EXCL = 2,     /* create; fail if it exists (O_EXCL) */
	/* OR'd into one of the above: a symlink as the last component is
	 * followed (a path the user chose, as a shell's > would). Without
	 * it the open fails (O_NOFOLLOW): jobrunner's own files. */
	JR_FILE_FOLLOW = 4,
};

/* Why jobrunner sent a signal to a command's process group. */
enum jr_kill_reason {
	JR_KILL_TIMEOUT,   /* jr_cmd_set_timeout expired */
	JR_KILL_INTERRUPT, /* jr_cmd_terminate (e.g. SIGINT to jobrunner) */
	JR_KILL_LEFTOVER,  /* main process exited, group members remained */
	JR_KILL_FREE,      /* jr_cmd_free of a running command */
	JR_KILL_ERROR,     /* jr_cmd_terminate by a caller stopping on an error of its own */
};
const char *jr_kill_reason_name(enum jr_kill_reason r); /* "timeout"... */

/* One signal sent by the core, in order; kept in the command. */
struct jr_cmd_signal {
	int sig;
	int64_t at_ms; /* wall clock, ms since the epoch */
	enum jr_kill_reason reason;
};

/* The outcome of a command that ran (jr_cmd_result after it finished). */
struct jr_cmd_result {
	pid_t pid;
	int exit_code;     /* 0..255, or -1 when killed by a signal */
	int signal;        /* terminating signal, 0 when it exited */
	bool core_dumped;
	bool timed_out;    /* killed because the timeout expired */
	bool interrupted;  /* killed through jr_cmd_terminate */
	int leftovers;     /* processes still in its group/session when it exited */
	bool alone;        /* when it ended, nothing it started was alive anywhere
			      (not even a daemon outside its session): nobody
			      else holds what it had open. Only known with
			      leftover killing on, under a child subreaper. */
	int64_t started_ms, finished_ms; /* wall clock */
	int64_t duration_ms;             /* monotonic */
	int64_t user_ms, sys_ms;         /* CPU time of the command and its reaped children */
	int64_t max_rss_kb;
};

/* Construction. path without '/' is looked up in the child's PATH (the PATH
 * the child will get, else the default /usr/local/bin:/usr/bin:/bin) at
 * start, in the parent. argv[0] is path unless jr_cmd_new_argv is used. */
struct jr_cmd *jr_cmd_new(const char *path);
struct jr_cmd *jr_cmd_new_argv(const char *const *argv); /* NULL-terminated */
void jr_cmd_add_arg(struct jr_cmd *cmd, const char *arg);
void jr_cmd_add_argf(struct jr_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void jr_cmd_add_arg_pair(struct jr_cmd *cmd, const char *name, const char *value); /* name=value */
void jr_cmd_add_args(struct jr_cmd *cmd, const char *const *args);             /* NULL-terminated */

/* Environment: empty unless one of these is called. A later setting of a
 * name replaces an earlier one. pass_common passes PATH HOME USER LOGNAME
 * TMPDIR LANG TZ (those set in jobrunner's environment) and sets LC_ALL=C
 * unless LANG or LC_ALL is set explicitly on the command (pair/string). */
void jr_cmd_env_pass_common(struct jr_cmd *cmd);
void jr_cmd_env_pass(struct jr_cmd *cmd, const char *name); /* if set in jobrunner */
void jr_cmd_env_pair(struct jr_cmd *cmd, const char *name, const char *value);
void jr_cmd_env_string(struct jr_cmd *cmd, const char *name_eq_value);
void jr_cmd_env_inherit_all(struct jr_cmd *cmd);
void jr_cmd_env_unset(struct jr_cmd *cmd, const char *name); /* drops it, if there */

/* Process attributes, applied in the child before exec. */
void jr_cmd_set_cwd(struct jr_cmd *cmd, const char *dir);
void jr_cmd_set_umask(struct jr_cmd *cmd, mode_t mask);
void jr_cmd_set_rlimit(struct jr_cmd *cmd, int resource, rlim_t soft, rlim_t hard);
/* user/group: names or numeric ids, resolved in the parent at start; the
 * child calls setgroups/initgroups, setgid, then setuid. group may be NULL
 * (the user's primary group). Only meaningful when jobrunner is root. */
void jr_cmd_set_user(struct jr_cmd *cmd, const char *user, const char *group);
void jr_cmd_clear_caps(struct jr_cmd *cmd);

/* Standard input: /dev/null by default. The fd is dup'd into the child; the
 * caller keeps ownership. The buffer is copied and fed by the core. */
void jr_cmd_set_input_fd(struct jr_cmd *cmd, int fd);
void jr_cmd_set_input_file(struct jr_cmd *cmd, const char *path);
void jr_cmd_set_input_buffer(struct jr_cmd *cmd, const void *data, size_t len);

/* Standard output and error: /dev/null by default. A file is opened by the
 * parent at start (O_CLOEXEC, O_NOFOLLOW unless JR_FILE_FOLLOW, mode 0600
 * when created) and written by the child directly. Files, input ones too,
 * are opened without blocking: a FIFO with no reader fails the start
 * (ENXIO), and a FIFO input with no writer reads as empty, rather than the
 * parent waiting in open(); the child gets a blocking descriptor. A buffer collects output in memory; cap > 0 keeps
 * the first cap bytes, discards the rest (still draining the pipe) and marks
 * the buffer truncated; cap == 0 means no cap. */
void jr_cmd_set_output_fd(struct jr_cmd *cmd, int fd);
void jr_cmd_set_output_file(struct jr_cmd *cmd, const char *path, enum jr_file_mode mode);
void jr_cmd_set_output_buffer(struct jr_cmd *cmd, size_t cap);
void jr_cmd_set_error_fd(struct jr_cmd *cmd, int fd);
void jr_cmd_set_error_file(struct jr_cmd *cmd, const char *path, enum jr_file_mode mode);
void jr_cmd_set_error_buffer(struct jr_cmd *cmd, size_t cap);
void jr_cmd_merge_stderr(struct jr_cmd *cmd); /* child's 2 = its 1 */
/* After the command finished: the collected bytes (NUL-terminated, owned by
 * cmd), their length, and whether the cap cut them. NULL if no buffer. */
const char *jr_cmd_output(const struct jr_cmd *cmd, size_t *len, bool *truncated);
const char *jr_cmd_errout(const struct jr_cmd *cmd, size_t *len, bool *truncated);

/* parent_fd becomes child_fd in the child (crossed mappings allowed). The
 * caller keeps ownership of parent_fd. child_fd must be >= 3. */
void jr_cmd_preserve_fd(struct jr_cmd *cmd, int parent_fd, int child_fd);

/* After ms, SIGTERM to the process group; after grace_ms more, SIGKILL.
 * ms <= 0: no timeout. grace_ms also applies to jr_cmd_terminate and to
 * killing leftovers (default grace: 10 s). */
void jr_cmd_set_timeout(struct jr_cmd *cmd, int64_t ms, int64_t grace_ms);
/* When the main process exits, TERM then KILL (after grace) whatever is left
 * in its process group and session, and count it in result.leftovers. */
void jr_cmd_set_kill_leftovers(struct jr_cmd *cmd, bool on);

/* The command detaches (double fork, new session); run returns once the
 * intermediate process exited, after the pidfile (if any) holds the real
 * daemon's pid. */
void jr_cmd_daemonize(struct jr_cmd *cmd);
void jr_cmd_set_pidfile(struct jr_cmd *cmd, const char *path);

/* Synchronous: start, feed and drain, wait. Returns 0 when the command ran
 * (whatever its exit status; see res), -1 on a spawn/exec/setup error
 * (jr_cmd_error tells). res may be NULL. */
int jr_cmd_run(struct jr_cmd *cmd, struct jr_cmd_result *res);

/* Asynchronous use, for an event loop over many commands:
 *   jr_cmd_start      spawns; -1 on error (exec failures included)
 *   jr_cmd_pollfds    fills up to max pollfds the loop must watch for this
 *                     command (its pidfd and pipes); returns how many
 *   jr_cmd_deadline   monotonic ms by which jr_cmd_poll must be called
 *                     (timeout, kill escalation), or -1 for none
 *   jr_cmd_poll       does any pending work without blocking: feeds/drains
 *                     pipes, escalates kills, reaps; 1 when finished
 *   jr_cmd_wait       blocks until finished; 0, or -1 on error (in a child
 *                     subreaper, reaps orphans meanwhile: jr_spawn_reap_orphans)
 *   jr_cmd_terminate  TERM to the group now, KILL after grace; nothing when
 *                     the main process already exited (its end stands)
 * jr_cmd_poll may be called at any time, for any command, any number of times.
 */
int jr_cmd_start(struct jr_cmd *cmd);
pid_t jr_cmd_pid(const struct jr_cmd *cmd);
int jr_cmd_pidfd(const struct jr_cmd *cmd); /* -1 when the kernel has none */
int jr_cmd_pollfds(struct jr_cmd *cmd, struct pollfd *fds, int max);
int64_t jr_cmd_deadline(const struct jr_cmd *cmd);
int jr_cmd_poll(struct jr_cmd *cmd);
int jr_cmd_wait(struct jr_cmd *cmd, struct jr_cmd_result *res);
void jr_cmd_terminate(struct jr_cmd *cmd, enum jr_kill_reason reason);
bool jr_cmd_finished(const struct jr_cmd *cmd);

/* Valid once finished. */
const struct jr_cmd_result *jr_cmd_result(const struct jr_cmd *cmd);
/* Signals the core sent, in order; *n gets the count. */
const struct jr_cmd_signal *jr_cmd_signals(const struct jr_cmd *cmd, size_t *n);
/* The deferred error message, or NULL; its errno (0 when none). */
const char *jr_cmd_error(const struct jr_cmd *cmd);
int jr_cmd_errno(const struct jr_cmd *cmd);

/* Kills (TERM, grace, KILL) and reaps a command still running, closes every
 * descriptor and frees it. NULL is fine. */
void jr_cmd_free(struct jr_cmd *cmd);

/* Every child starts with every signal at its default disposition. The
 * signals that need resetting (those not at SIG_DFL here) are found once
 * and remembered: a program that changes a disposition (sigaction,
 * signal) calls this afterwards, before its next start. Under the address
 * sanitizer every start checks that the remembered set is right. */
void jr_spawn_signals_changed(void);

/* For a program that keeps many commands going at once: raises its own
 * soft RLIMIT_NOFILE to the hard limit, but to no more than cap, so that
 * descriptors (pidfds, logs, pipes) do not run out first. Every child
 * started afterwards gets back the soft limit the program had before
 * (programs may rely on it, select() for one), unless the command sets its
 * own with jr_cmd_set_rlimit. Call it once, before starting commands, from
 * one thread; returns the soft limit now in force. */
rlim_t jr_spawn_raise_nofile(rlim_t cap);

/* For a child subreaper (prctl PR_SET_CHILD_SUBREAPER): reaps every exited
 * child that is not a running jr_cmd's main process, without ever stealing
 * one of those. Returns how many were reaped. */
int jr_spawn_reap_orphans(void);

#endif
