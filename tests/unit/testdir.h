/* A private temporary directory for a unit test group: testdir_setup and
 * testdir_teardown as the group's cmocka setup and teardown (the directory
 * and all it holds go at the end), testdir_path for a name inside it.
 * Included by one test file each: the state is per program. */
#ifndef JR_TESTDIR_H
#define JR_TESTDIR_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

#include "util.h"

static char testdir[64];

static inline int testdir_rm_one(const char *path, const struct stat *sb, int flag,
				 struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* name: what the directory is for, in its name (/tmp/jr-test-NAME-XXXXXX). */
static inline int testdir_make(const char *name)
{
	snprintf(testdir, sizeof(testdir), "/tmp/jr-test-%s-XXXXXX", name);
	return mkdtemp(testdir) ? 0 : -1;
}

static inline int testdir_teardown(void **state)
{
	(void)state;
	return nftw(testdir, testdir_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* testdir/name, to free. */
static inline char *testdir_path(const char *name)
{
	return jr_xasprintf("%s/%s", testdir, name);
}

#endif
