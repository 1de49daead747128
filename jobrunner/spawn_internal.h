/* spawn_internal: what spawn.c prepares in the parent for the code that runs
 * in the child between fork and exec (spawn_child.c). Everything the child
 * needs is allocated and computed before the child exists; the child only
 * reads this plan and makes async-signal-safe calls. Not for other modules.
 */
#ifndef JR_SPAWN_INTERNAL_H
#define JR_SPAWN_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* The step of the child setup that failed, sent to the parent with errno. */
enum jr_child_step {
	JR_STEP_NONE = 0,
	JR_STEP_SETSID,
	JR_STEP_DUP,
	JR_STEP_CLOSE,
	JR_STEP_CHDIR,
	JR_STEP_RLIMIT,
	JR_STEP_SETGROUPS,
	JR_STEP_SETGID,
	JR_STEP_SETUID,
	JR_STEP_CAPS,
	JR_STEP_FORK,
	JR_STEP_EXEC,
	JR_STEP_DAEMON_PID, /* not an error: the daemon's pid, sent by the
			       intermediate process of a daemonized command */
};

/* One record on the report pipe; small enough to be written atomically. */
struct jr_child_report {
	int32_t step; /* enum jr_child_step */
	int32_t err;  /* errno of the failure */
	int32_t pid;  /* JR_STEP_DAEMON_PID: the daemon's pid */
	int32_t reached; /* in *shared: set first thing by a CLONE_VM child */
};

struct jr_child_rlimit {
	int resource;
	struct rlimit lim;
};

/* The plan the child follows. All arrays are owned by the parent. */
struct jr_child_plan {
	const char *path;  /* resolved program path */
	char *const *argv; /* NULL-terminated */
	char *const *envp; /* NULL-terminated */
	int report_fd;	   /* write end of the CLOEXEC report pipe, or -1 */
	volatile struct jr_child_report *shared; /* clone: the report, also */
	int nmap;	   /* descriptors to install: src[i] -> dst[i] */
	const int *map_src;
	const int *map_dst;
	int *map_tmp;	   /* scratch, nmap entries (written by the child) */
	bool map_direct;   /* no source is a target (nor the report pipe): each
			      can be dup2'd in place, without a scratch copy */
	bool merge_stderr; /* after the map: dup2(1, 2) */
	const int *keep;   /* sorted child descriptors >= 3 to keep open */
	int nkeep;
	int high;	 /* first descriptor above every source and target */
	const char *cwd; /* NULL: inherit */
	bool set_umask;
	mode_t umask;
	const struct rlimit *nofile; /* given back first (jr_spawn_raise_nofile), or NULL */
	int nrlimits;
	const struct jr_child_rlimit *rlimits;
	bool set_ids; /* switch to uid/gid with groups */
	uid_t uid;
	gid_t gid;
	int ngroups;
	const gid_t *groups;
	bool clear_caps;
	sigset_t reset; /* signals to set back to SIG_DFL (not SIG_DFL here) */
	bool daemonize;	 /* fork once more; the intermediate reports and exits */
	bool fork_model; /* the child is a real fork (not sharing memory) */
};

/* Runs the child side of the plan and never returns: execs, or reports
 * {step, errno} on plan->report_fd and exits with 127. Async-signal-safe;
 * expects every signal blocked on entry. */
void jr_spawn_child(const struct jr_child_plan *plan) __attribute__((noreturn));

/* clone(2) entry point: arg is a const struct jr_child_plan *. */
int jr_spawn_child_entry(void *arg);

/* Closes every descriptor >= 3 not listed in keep (sorted ascending), using
 * close_range where the kernel has it and a /proc/self/fd scan with a stack
 * buffer otherwise; never loops up to the descriptor limit. except is one
 * more descriptor to keep open (or -1). Async-signal-safe; 0 or -errno. */
int jr_spawn_close_others(const int *keep, int nkeep, int except);
/* The fallback alone (exported for its test). */
int jr_spawn_close_others_scan(const int *keep, int nkeep, int except);

#endif
