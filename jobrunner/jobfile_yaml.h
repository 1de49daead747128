/* jobfile_yaml: internal to the jobfile module. A bounded YAML reader that
 * turns a document into a tree of nodes with 1-based line and column. */
#ifndef JR_JOBFILE_YAML_H
#define JR_JOBFILE_YAML_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "jobfile.h"

#define JR_YAML_MAX_DEPTH   64
#define JR_YAML_MAX_SCALAR  (1u << 20) /* bytes in one string */
#define JR_YAML_MAX_NODES   200000
#define JR_JOBFILE_MAX_SIZE (4u << 20) /* bytes in one file */
/* What is said of a larger one (the same for files and buffers). */
#define JR_JOBFILE_TOO_LARGE "file is larger than %u MiB; refusing to load it", JR_JOBFILE_MAX_SIZE >> 20
#define JR_YAML_MAX_ERRORS  100        /* then reading stops */

enum jr_ynode_kind { JR_YNODE_SCALAR, JR_YNODE_SEQ, JR_YNODE_MAP };

struct jr_ynode {
	enum jr_ynode_kind kind;
	int line, col;
	bool plain;   /* scalar written without quotes */
	bool is_null; /* plain "", "~", "null" */
	char *s;      /* scalar value, NUL-terminated */
	size_t len;
	struct jr_ynode **kid; /* seq: items; map: key, value, key, value... */
	size_t n, alloc;
};

/* Parses data (one YAML document) into *root (NULL for an empty stream).
 * Returns 0, or -1 after adding every error found to d (and *root NULL). */
int jr_yaml_load(const char *file, const char *data, size_t len, struct jr_diags *d,
		 struct jr_ynode **root);
void jr_ynode_free(struct jr_ynode *n);
void jr_diags_vadd(struct jr_diags *d, const char *file, int line, int col, const char *fmt,
		   va_list ap);

/* Fills job->canonical_json and job->hash (jobfile_json.c). */
void jr_job_finish(struct jr_job *job);

#endif
