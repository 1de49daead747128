/* config: jobrunner.ini, read with inih.
 *
 * Found as the explicit path, else ./jobrunner.ini, else
 * $XDG_CONFIG_HOME/jobrunner/jobrunner.ini (~/.config when unset), else
 * /etc/jobrunner/jobrunner.ini; when none exists the built-in defaults apply,
 * relative to the current directory. Relative paths in a file are relative to
 * the file's directory. Unknown sections or keys are errors with file:line.
 * The file must pass jr_open_trusted's checks.
 */
#ifndef JR_CONFIG_H
#define JR_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define JR_PARALLEL_MAX 1024 /* most jobs at once: parallel = , -j */

struct jr_config {
	char *path;     /* the file read (absolute), NULL when defaults only */
	char *jobs_dir; /* absolute */
	char *database; /* absolute */
	char *log_dir;  /* absolute */
	int parallel;   /* >= 1, default 2 */
	bool sync_full; /* [jobrunner] synchronous = full (default normal) */
	char **backends; /* NULL-terminated preference order; default: local */
	size_t nbackends;
	bool backends_set; /* backends came from the file, not the default */

	char **local_tags; /* [local] tags */
	size_t nlocal_tags;

	char *container_runtime;   /* default "bwrap" */
	char *image_dir;           /* absolute, default <dir>/db/images */
	uint64_t cache_max_size;   /* bytes, 0: no limit (default 10G) */
	int64_t cache_max_age_ms;  /* 0: no limit (default 30d) */

	char *slurm_partition; /* NULL when unset */
};

/* Loads the configuration (explicit may be NULL). On failure returns -1 with
 * err "FILE:LINE: message"; cfg is then released. */
int jr_config_load(struct jr_config *cfg, const char *explicit_path, struct jr_err *err);
/* Parses ini text from memory (tests, fuzzing); dir anchors relative paths. */
int jr_config_load_buffer(struct jr_config *cfg, const char *name, const char *data, size_t len,
			  const char *dir, struct jr_err *err);
void jr_config_release(struct jr_config *cfg);

#endif
