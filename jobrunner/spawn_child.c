/* spawn_child: the code that runs in a new child between its creation and
 * exec. It may share memory with a suspended parent (clone with CLONE_VM |
 * CLONE_VFORK) or be a real fork of a possibly multi-threaded parent, so
 * everything here is async-signal-safe: no allocation, no locks, no stdio,
 * and raw system calls where glibc's wrappers would talk to other threads
 * (set*id in glibc signals every thread of the process).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spawn_internal.h"

#include "banned.h"

/* Tells the parent about a step: in the plan itself, which a CLONE_VM child
 * shares with its parent (read only once we have exec'd or exited), and on
 * the report pipe when there is one (always in the fork model). */
static void report(const struct jr_child_plan *p, int fd, enum jr_child_step step, int err,
		   pid_t pid)
{
	struct jr_child_report r;
	ssize_t n;

	r.step = step;
	r.err = err;
	r.pid = pid;
	r.reached = 1;
	if (!p->fork_model)
		*p->shared = r;
	if (fd < 0)
		return;
	do {
		n = write(fd, &r, sizeof(r));
	} while (n < 0 && errno == EINTR);
}

static void __attribute__((noreturn))
fail(const struct jr_child_plan *p, int fd, enum jr_child_step step, int err)
{
	report(p, fd, step, err, 0);
	_exit(127);
}

static int sys_close_range(unsigned int lo, unsigned int hi)
{
#ifdef SYS_close_range
	return (int)syscall(SYS_close_range, lo, hi, 0);
#else
	(void)lo;
	(void)hi;
	errno = ENOSYS;
	return -1;
#endif
}

/* Whether fd is in the sorted keep list or equal to except. */
static int kept(int fd, const int *keep, int nkeep, int except)
{
	int lo = 0, hi = nkeep;

	if (fd == except)
		return 1;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;

		if (keep[mid] == fd)
			return 1;
		if (keep[mid] < fd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

struct jr_dirent64 {
	uint64_t d_ino;
	int64_t d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* The fallback: list /proc/self/fd into a stack buffer with getdents64. */
int jr_spawn_close_others_scan(const int *keep, int nkeep, int except)
{
	char buf[2048] __attribute__((aligned(8)));
	int dfd, ret = 0;

	dfd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
		long off;

		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0)
			break;
		for (off = 0; off < n;) {
			struct jr_dirent64 *d = (struct jr_dirent64 *)(void *)(buf + off);
			const char *s = d->d_name;
			int fd = 0;

			off += d->d_reclen;
			if (*s < '0' || *s > '9')
				continue;
			for (; *s >= '0' && *s <= '9'; s++)
				fd = fd * 10 + (*s - '0');
			if (fd < 3 || fd == dfd || kept(fd, keep, nkeep, except))
				continue;
			close(fd);
		}
	}
	close(dfd);
	return ret;
}

int jr_spawn_close_others(const int *keep, int nkeep, int except)
{
	unsigned int lo = 3;
	int i = 0, done_except = except < 3;

	/* Walk the gaps between the kept descriptors (keep merged with except),
	 * closing each gap with one close_range call. */
	for (;;) {
		int next;

		if (i < nkeep && (done_except || keep[i] <= except)) {
			next = keep[i++];
			if (next == except)
				done_except = 1;
		} else if (!done_except) {
			next = except;
			done_except = 1;
		} else {
			break;
		}
		if (next < 3 || (unsigned int)next < lo)
			continue;
		if ((unsigned int)next > lo && sys_close_range(lo, (unsigned int)next - 1) < 0)
			goto fallback;
		lo = (unsigned int)next + 1;
	}
	if (sys_close_range(lo, ~0U) < 0)
		goto fallback;
	return 0;
fallback:
	if (errno != ENOSYS && errno != EINVAL)
		return -errno;
	return jr_spawn_close_others_scan(keep, nkeep, except);
}

/* Back to SIG_DFL: a handler of the parent must not run here (we share
 * its memory) in the moment between unblocking signals and exec, and an
 * ignored signal would stay ignored across exec. Only the signals the
 * parent found not at SIG_DFL: one system call each. */
static void reset_signals(const sigset_t *set)
{
	struct sigaction sa;
	int sig;

	for (size_t i = 0; i < sizeof(sa); i++)
		((volatile char *)&sa)[i] = 0;
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sigismember(set, sig) == 1)
			sigaction(sig, &sa, NULL);
}

static int drop_caps_bounding(void)
{
	int cap;

	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	for (cap = 0; cap < 64; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break; /* past the last capability */
			if (errno == EPERM)
				break; /* no CAP_SETPCAP: nothing we may drop */
			return -1;
		}
	}
	return 0;
}

static int clear_cap_sets(void)
{
	struct __user_cap_header_struct hdr;
	struct __user_cap_data_struct data[2];

	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	hdr.pid = 0;
	for (int i = 0; i < 2; i++) {
		data[i].effective = 0;
		data[i].permitted = 0;
		data[i].inheritable = 0;
	}
	return (int)syscall(SYS_capset, &hdr, data);
}

void jr_spawn_child(const struct jr_child_plan *p)
{
	int rfd = p->report_fd;
	int i;
	sigset_t empty;

	if (!p->fork_model)
		p->shared->reached = 1;
	reset_signals(&p->reset);
	if (setsid() < 0)
		fail(p, rfd, JR_STEP_SETSID, errno);

	/* Move the report pipe out of the way of every target, then every
	 * source to a fresh high descriptor, so that crossed mappings (3->4,
	 * 4->3) and sources that are also targets cannot clobber each other. */
	if (rfd >= 0 && (p->nmap > 0 || p->nkeep > 0)) {
		int nfd = fcntl(rfd, F_DUPFD_CLOEXEC, p->high);

		if (nfd < 0)
			fail(p, rfd, JR_STEP_DUP, errno);
		rfd = nfd;
	}
	for (i = 0; i < p->nmap && !p->map_direct; i++) {
		p->map_tmp[i] = fcntl(p->map_src[i], F_DUPFD_CLOEXEC, p->high);
		if (p->map_tmp[i] < 0)
			fail(p, rfd, JR_STEP_DUP, errno);
	}
	for (i = 0; i < p->nmap; i++) {
		if (dup2(p->map_direct ? p->map_src[i] : p->map_tmp[i], p->map_dst[i]) < 0)
			fail(p, rfd, JR_STEP_DUP, errno);
	}
	if (p->merge_stderr && dup2(1, 2) < 0)
		fail(p, rfd, JR_STEP_DUP, errno);
	i = jr_spawn_close_others(p->keep, p->nkeep, rfd);
	if (i < 0)
		fail(p, rfd, JR_STEP_CLOSE, -i);

	if (p->cwd && chdir(p->cwd) < 0)
		fail(p, rfd, JR_STEP_CHDIR, errno);
	if (p->set_umask)
		umask(p->umask);
	if (p->nofile && setrlimit(RLIMIT_NOFILE, p->nofile) < 0)
		fail(p, rfd, JR_STEP_RLIMIT, errno);
	for (i = 0; i < p->nrlimits; i++) {
		if (setrlimit(p->rlimits[i].resource, &p->rlimits[i].lim) < 0)
			fail(p, rfd, JR_STEP_RLIMIT, errno);
	}
	if (p->clear_caps && drop_caps_bounding() < 0)
		fail(p, rfd, JR_STEP_CAPS, errno);
	if (p->set_ids) {
		if (syscall(SYS_setgroups, (size_t)p->ngroups, p->groups) < 0)
			fail(p, rfd, JR_STEP_SETGROUPS, errno);
		if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0)
			fail(p, rfd, JR_STEP_SETGID, errno);
		if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
			fail(p, rfd, JR_STEP_SETUID, errno);
	}
	if (p->clear_caps && clear_cap_sets() < 0)
		fail(p, rfd, JR_STEP_CAPS, errno);

	if (p->daemonize) {
		/* Only reached in the fork model: _Fork is async-signal-safe. */
		pid_t pid = _Fork();

		if (pid < 0)
			fail(p, rfd, JR_STEP_FORK, errno);
		if (pid > 0) {
			report(p, rfd, JR_STEP_DAEMON_PID, 0, pid);
			_exit(0);
		}
	}

	sigemptyset(&empty);
	sigprocmask(SIG_SETMASK, &empty, NULL);
	execve(p->path, p->argv, p->envp);
	fail(p, rfd, JR_STEP_EXEC, errno);
}

int jr_spawn_child_entry(void *arg)
{
	jr_spawn_child(arg);
}
