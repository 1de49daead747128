/* machine: the facts of this host, and matching a job's target against them.
 *
 * Facts are strings: arch (uname -m), os (uname -s, lower case: "linux"),
 * kernel (uname -r), distro and distro_version (ID and VERSION_ID of
 * /etc/os-release), hostname, cpus; tags come from [local] tags in
 * jobrunner.ini. A target matches when every fact it names equals the
 * machine's and its tags are a subset of the machine's tags.
 */
#ifndef JR_MACHINE_H
#define JR_MACHINE_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "jobfile.h"

struct jr_machine {
	char *hostname;
	struct jr_kv *facts; /* sorted by key; includes hostname, arch, os, ... */
	size_t nfacts;
	struct jr_strv tags;
};

/* Detects this host's facts; tags (may be NULL) are copied. */
int jr_machine_detect(struct jr_machine *m, char *const *tags, size_t ntags, struct jr_err *err);
void jr_machine_release(struct jr_machine *m);
/* Reads ID and VERSION_ID from an os-release(5) file at path, unquoting
 * shell-style values ("..." with \ escapes, '...', or bare). *id and
 * *version_id (initially NULL) get malloc'd strings or stay NULL when
 * absent. Returns 0, or -1 when the file cannot be read. */
int jr_machine_read_os_release(const char *path, char **id, char **version_id);
/* The value of a fact, or NULL. */
const char *jr_machine_fact(const struct jr_machine *m, const char *key);
/* Whether t matches m; when not, why gets the first unmet requirement, e.g.
 * "distro=fedora (this host has debian)" or "tag gpu (this host has: a, b)". */
bool jr_machine_matches(const struct jr_machine *m, const struct jr_target *t, char *why,
			size_t whylen);
/* Canonical JSON of a target ("{}" for any machine); caller frees. */
char *jr_target_json(const struct jr_target *t);

#endif
