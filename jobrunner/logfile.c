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
	char *path; /* where the file is now: the log of an ended run */
};

struct jr_logpool {
	struct spare *v;
	size_t n, max;
	bool no_rename; /* renameat2 refused (file system, kernel): create only */
};

struct jr_logpool *jr_logpool_new(size_t max_spares)
{
	struct jr_logpool *lp = jr_xcalloc(1, sizeof(*lp));

	lp->max = max_spares;
	lp->v = jr_xcalloc(max_spares ? max_spares : 1, sizeof(*lp->v));
	return lp;
}

static void spare_drop(struct spare *sp)
{
	close(sp->fd);
	unlink(sp->path);
	free(sp->path);
}

void jr_logpool_free(struct jr_logpool *lp)
{
	if (!lp)
		return;
	while (lp->n)
		spare_drop(&lp->v[--lp->n]);
	free(lp->v);
	free(lp);
}

/* Makes a spare the file at path: 1 done (fd in *fd), 0 no spare to use. A
 * previous run's job may have changed the open file's offset, status flags
 * or flock: all three are reset, so the next job starts as with a new file. */
static int reuse_spare(struct jr_logpool *lp, const char *path, int *fd)
{
	while (lp->n && !lp->no_rename) {
		struct spare sp = lp->v[--lp->n];

		if (renameat2(AT_FDCWD, sp.path, AT_FDCWD, path, RENAME_NOREPLACE) == 0) {
			free(sp.path);
			lseek(sp.fd, 0, SEEK_SET);
			fcntl(sp.fd, F_SETFL, 0);
			flock(sp.fd, LOCK_UN);
			*fd = sp.fd;
			return 1;
		}
		if (errno == EEXIST) {
			/* The new path is taken: creating it fails the same way. */
			lp->v[lp->n++] = sp;
			return 0;
		}
		/* EINVAL, ENOSYS: no RENAME_NOREPLACE here; EXDEV: another
		 * file system. Either way, stop trying. */
		if (errno == EINVAL || errno == ENOSYS || errno == EXDEV)
			lp->no_rename = true;
		spare_drop(&sp);
	}
	return 0;
}

int jr_log_create(struct jr_logpool *lp, const char *path, struct jr_err *err)
{
	int fd;

	if (lp && reuse_spare(lp, path, &fd))
		return fd;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0600);
	if (fd < 0)
		return jr_err_sys(err, errno, "log file %s", path);
	return fd;
}

int jr_log_finish(struct jr_logpool *lp, int fd, const char *path, enum jr_log_reuse reuse)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || st.st_size > 0) {
		close(fd);
		return 1;
	}
	if (reuse == JR_LOG_NO_REUSE) {
		/* Whoever still has it may write later: that belongs here. */
		close(fd);
		return 1;
	}
	if (lp && lp->n < lp->max && !lp->no_rename) {
		lp->v[lp->n].fd = fd;
		lp->v[lp->n].path = jr_xstrdup(path);
		lp->n++;
		return 0;
	}
	close(fd);
	unlink(path);
	return 0;
}

char *jr_log_tail(const char *path, size_t max)
{
	struct jr_buf b = JR_BUF_INIT;
	struct stat st;
	off_t off;
	ssize_t n;
	int fd;

	if (!path)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		return NULL;
	}
	off = (size_t)st.st_size > max ? st.st_size - (off_t)max : 0;
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
	return jr_buf_detach(&b, NULL);
}
