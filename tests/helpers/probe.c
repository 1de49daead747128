/* probe: a test helper for the spawn core (libvirt's commandtest pattern).
 *
 *   probe dump [args...]      print argv (escaped), environment (sorted),
 *                             open descriptors, signal mask and non-default
 *                             dispositions, cwd, umask, ids and rlimits
 *   probe exit N              exit with code N
 *   probe signal N            kill itself with signal N
 *   probe sleep MS            sleep, then exit 0
 *   probe cpu MS MIB          burn MS ms of user CPU, touch MIB MiB, exit 0
 *   probe bigio MIB           write MIB MiB to stdout, then to stderr, then
 *                             read stdin: exit 0 if it got exactly MIB MiB of
 *                             the same pattern, 3 otherwise
 *   probe bytes N             write N bytes of pattern to stdout
 *   probe grandkids N         ignore SIGTERM, fork N children that ignore it
 *                             too, print their pids and sleep forever
 *   probe leftover N [termproof]  fork N children that sleep 60 s (ignoring
 *                             SIGTERM when termproof), print pids, exit 0
 *   probe escape            fork a child that leaves for its own session and
 *                             sleeps 30 s holding stdout; print its pid, then
 *                             sleep until killed
 *   probe daemon FILE         write getpid() to FILE, then sleep 30 s
 *   probe cat                 copy stdin to stdout
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "banned.h"

static void put_escaped(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\\')
			fputs("\\\\", stdout);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

extern char **environ;

static void dump_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int self = dirfd(d);
	int fds[4096], n = 0;

	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (atoi(de->d_name) != self && n < 4096)
			fds[n++] = atoi(de->d_name);
	}
	closedir(d);
	for (int i = 1; i < n; i++) { /* insertion sort: n is small */
		int v = fds[i], j = i;

		for (; j > 0 && fds[j - 1] > v; j--)
			fds[j] = fds[j - 1];
		fds[j] = v;
	}
	for (int i = 0; i < n; i++) {
		char path[64], target[4096];
		ssize_t len;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fds[i]);
		len = readlink(path, target, sizeof(target) - 1);
		if (len < 0)
			len = 0;
		target[len] = '\0';
		printf("fd %d %s\n", fds[i], target);
	}
}

static void dump_signals(void)
{
	sigset_t mask;
	int sig;

	sigprocmask(SIG_SETMASK, NULL, &mask);
	fputs("blocked:", stdout);
	for (sig = 1; sig < NSIG; sig++) {
		if (sigismember(&mask, sig) == 1)
			printf(" %d", sig);
	}
	fputs("\nnon-default:", stdout);
	for (sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;

		if (sigaction(sig, NULL, &sa) < 0)
			continue;
		if (sa.sa_handler == SIG_IGN)
			printf(" %d=ign", sig);
		else if (sa.sa_handler != SIG_DFL)
			printf(" %d=handler", sig);
	}
	putchar('\n');
}

static void dump_rlimit(const char *name, int res)
{
	struct rlimit rl;

	getrlimit(res, &rl);
	printf("rlimit %s ", name);
	if (rl.rlim_cur == RLIM_INFINITY)
		fputs("inf ", stdout);
	else
		printf("%llu ", (unsigned long long)rl.rlim_cur);
	if (rl.rlim_max == RLIM_INFINITY)
		fputs("inf\n", stdout);
	else
		printf("%llu\n", (unsigned long long)rl.rlim_max);
}

static int dump(int argc, char **argv)
{
	char cwd[4096];
	size_t n = 0;
	char **env;
	mode_t um;
	gid_t groups[256];
	int ng;

	for (int i = 0; i < argc; i++) {
		printf("argv[%d]=", i);
		put_escaped(argv[i]);
		putchar('\n');
	}
	for (char **e = environ; *e; e++)
		n++;
	env = calloc(n + 1, sizeof(*env));
	memcpy(env, environ, n * sizeof(*env));
	qsort(env, n, sizeof(*env), cmp_str);
	for (size_t i = 0; i < n; i++) {
		fputs("env ", stdout);
		put_escaped(env[i]);
		putchar('\n');
	}
	free(env);
	fflush(stdout);
	dump_fds();
	dump_signals();
	printf("cwd %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	um = umask(0);
	printf("umask %04o\n", (unsigned)um);
	printf("ids %u %u %u %u\n", (unsigned)getuid(), (unsigned)geteuid(), (unsigned)getgid(),
	       (unsigned)getegid());
	ng = getgroups(256, groups);
	fputs("groups", stdout);
	for (int i = 0; i < ng; i++)
		printf(" %u", (unsigned)groups[i]);
	putchar('\n');
	printf("session %d pgrp %d pid %d\n", (int)getsid(0), (int)getpgrp(), (int)getpid());
	dump_rlimit("nofile", RLIMIT_NOFILE);
	dump_rlimit("core", RLIMIT_CORE);
	dump_rlimit("cpu", RLIMIT_CPU);
	dump_rlimit("fsize", RLIMIT_FSIZE);
	return 0;
}

static unsigned char pattern(size_t i)
{
	return (unsigned char)((i * 7 + (i >> 12)) % 251);
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_pattern(int fd, size_t total)
{
	static unsigned char buf[65536];
	size_t off = 0;

	while (off < total) {
		size_t chunk = total - off < sizeof(buf) ? total - off : sizeof(buf);

		for (size_t i = 0; i < chunk; i++)
			buf[i] = pattern(off + i);
		if (write_all(fd, buf, chunk) < 0)
			return -1;
		off += chunk;
	}
	return 0;
}

static int bigio(size_t mib)
{
	static unsigned char buf[65536];
	size_t total = mib << 20, got = 0;
	int ok = 1;

	if (write_pattern(1, total) < 0 || write_pattern(2, total) < 0)
		return 4;
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n && ok; i++)
			ok = buf[i] == pattern(got + (size_t)i);
		got += (size_t)n;
	}
	return ok && got == total ? 0 : 3;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int64_t cpu_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int forkers(int n, int ignore_term, int stay)
{
	if (ignore_term)
		signal(SIGTERM, SIG_IGN);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return 5;
		if (pid == 0) {
			for (int s = 0; s < 600; s++)
				sleep_ms(100);
			_exit(0);
		}
		printf("%d\n", (int)pid);
	}
	fflush(stdout);
	if (!stay)
		return 0;
	for (;;)
		pause();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "dump";
	long n = argc > 2 ? strtol(argv[2], NULL, 10) : 0;

	if (!strcmp(mode, "dump"))
		return dump(argc, argv);
	if (!strcmp(mode, "exit"))
		return (int)n;
	if (!strcmp(mode, "signal")) {
		signal((int)n, SIG_DFL);
		kill(getpid(), (int)n);
		sleep_ms(5000);
		return 6;
	}
	if (!strcmp(mode, "sleep")) {
		sleep_ms(n);
		return 0;
	}
	if (!strcmp(mode, "cpu")) {
		int64_t until = cpu_ms() + n;
		size_t mib = argc > 3 ? (size_t)strtol(argv[3], NULL, 10) : 0;
		volatile unsigned long x = 0;
		char *mem;

		while (cpu_ms() < until) {
			for (int i = 0; i < 1000000; i++)
				x++;
		}
		mem = malloc((mib << 20) + 1);
		for (size_t i = 0; i < (mib << 20); i += 4096)
			mem[i] = (char)i;
		free(mem);
		return 0;
	}
	if (!strcmp(mode, "bigio"))
		return bigio((size_t)n);
	if (!strcmp(mode, "bytes"))
		return write_pattern(1, (size_t)n) < 0 ? 4 : 0;
	if (!strcmp(mode, "grandkids"))
		return forkers((int)n, 1, 1);
	if (!strcmp(mode, "leftover"))
		return forkers((int)n, argc > 3 && !strcmp(argv[3], "termproof"), 0);
	if (!strcmp(mode, "escape")) {
		pid_t pid = fork();

		if (pid == 0) {
			setsid();
			for (int s = 0; s < 300; s++)
				sleep_ms(100);
			_exit(0);
		}
		printf("%d\n", (int)pid);
		fflush(stdout);
		for (;;)
			pause();
	}
	if (!strcmp(mode, "daemon")) {
		FILE *f = fopen(argv[2], "w");

		if (!f)
			return 7;
		fprintf(f, "%d\n", (int)getpid());
		fclose(f);
		for (int s = 0; s < 300; s++)
			sleep_ms(100);
		return 0;
	}
	if (!strcmp(mode, "cat")) {
		char buf[65536];
		ssize_t r;

		while ((r = read(0, buf, sizeof(buf))) > 0)
			if (write_all(1, buf, (size_t)r) < 0)
				return 4;
		return 0;
	}
	fprintf(stderr, "probe: unknown mode %s\n", mode);
	return 2;
}
