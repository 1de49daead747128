/* logfile: see logfile.h. */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

#include "banned.h"

struct spare {
	int fd;
	char *path; /* in the pool's directory */
};

struct jr_logpool {
	char *dir;
	struct spare *v;
	size_t n, max;
	unsigned long seq; /* names of new files: PID-SEQ */
};

struct jr_logpool *jr_logpool_new(const char *dir, size_t max_spares)
{
	struct jr_logpool *lp = jr_xcalloc(1, sizeof(*lp));

	lp->dir = jr_xstrdup(dir);
	lp->max = max_spares;
	lp->v = jr_xcalloc(max_spares ? max_spares : 1, sizeof(*lp->v));
	return lp;
}

void jr_logpool_free(struct jr_logpool *lp)
{
	if (!lp)
		return;
	while (lp->n) {
		struct spare *sp = &lp->v[--lp->n];

		close(sp->fd);
		unlink(sp->path);
		free(sp->path);
	}
	free(lp->v);
	free(lp->dir);
	free(lp);
}

int jr_log_open(struct jr_logpool *lp, char **path, struct jr_err *err)
{
	int fd, tries;

	if (lp->n) {
		struct spare sp = lp->v[--lp->n];

		/* A previous run's job may have moved the shared offset, set
		 * status flags (O_APPEND...), a flock or the mode on it without
		 * writing: the next job starts as with a new file. */
		lseek(sp.fd, 0, SEEK_SET);
		fcntl(sp.fd, F_SETFL, 0);
		flock(sp.fd, LOCK_UN);
		fchmod(sp.fd, 0600);
		*path = sp.path;
		return sp.fd;
	}
	for (tries = 0;; tries++) {
		*path = jr_xasprintf("%s/%ld-%lu", lp->dir, (long)getpid(), lp->seq++);
		fd = open(*path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
			  0600);
		if (fd >= 0)
			return fd;
		/* EEXIST: left by a jobrunner that died with our pid. */
		if (errno != EEXIST || tries >= 100) {
			jr_err_sys(err, errno, "log file %s", *path);
			free(*path);
			*path = NULL;
			return -1;
		}
		free(*path);
	}
}

/* rename that never replaces: renameat2's flag where the file system has
 * it, else link (which fails on an existing name) then unlink. */
static int move_noreplace(const char *from, const char *to)
{
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(from, to) < 0)
		return -1;
	unlink(from);
	return 0;
}

int jr_log_end(struct jr_logpool *lp, int fd, char **path, enum jr_log_reuse reuse)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || st.st_size > 0 || reuse == JR_LOG_NO_REUSE) {
		close(fd);
		return 1;
	}
	if (lp && lp->n < lp->max) {
		lp->v[lp->n].fd = fd;
		lp->v[lp->n].path = *path;
		lp->n++;
	} else {
		close(fd);
		unlink(*path);
		free(*path);
	}
	*path = NULL;
	return 0;
}

int jr_log_move(char **path, const char *dest)
{
	if (move_noreplace(*path, dest) < 0)
		return -1;
	free(*path);
	*path = jr_xstrdup(dest);
	return 0;
}

char *jr_log_kept_path(const char *log_dir, const char *job, const char *run_id,
		       enum jr_log_stream stream)
{
	return jr_xasprintf("%s/%s/%s.%s", log_dir, job, run_id,
			    stream == JR_LOG_STDERR ? "err" : "out");
}

char *jr_log_tail(const char *path, size_t max)
{
	return jr_log_tail_from(path, 0, max, false, NULL);
}

char *jr_log_tail_from(const char *path, int64_t from, size_t max, bool follow, bool *cut)
{
	struct jr_buf b = JR_BUF_INIT;
	struct stat st;
	off_t off;
	ssize_t n;
	int fd;

	if (cut)
		*cut = false;
	if (!path)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW));
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return NULL;
	}
	if (from < 0 || from > (int64_t)st.st_size)
		from = 0;
	off = (uint64_t)(st.st_size - from) > max ? st.st_size - (off_t)max : (off_t)from;
	if (off == st.st_size) {
		close(fd);
		return NULL;
	}
	jr_buf_grow(&b, max);
	n = pread(fd, b.buf, max, off);
	close(fd);
	if (n <= 0) {
		jr_buf_release(&b);
		return NULL;
	}
	b.len = (size_t)n;
	b.buf[b.len] = '\0';
	/* A NUL inside would cut the text short in SQLite's TEXT: show it. */
	for (n = 0; (size_t)n < b.len; n++)
		if (b.buf[n] == '\0')
			b.buf[n] = '?';
	if (cut)
		*cut = off > from;
	return jr_buf_detach(&b, NULL);
}
