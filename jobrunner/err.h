/* err: the error type every module returns through.
 *
 * Functions return 0 on success and -1 on failure, filling a caller-supplied
 * struct jr_err with a one-line message (with file:line context where there
 * is one). Only main and the CLI layer print errors and choose exit codes. */
#ifndef JR_ERR_H
#define JR_ERR_H

#include <stdarg.h>

#define JR_ERR_MAX 1024

struct jr_err {
	char msg[JR_ERR_MAX];
	int errnum; /* errno of the failure, 0 when not a system error */
};

#define JR_ERR_INIT { { 0 }, 0 }

/* printf-style format checking; gcc and clang both support this attribute,
 * and it catches mismatched arguments at compile time. */
#define JR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))

/* Sets err's message (err may be NULL); returns -1 so callers can
 * `return jr_err_set(err, ...)`. Not async-signal-safe. */
int jr_err_set(struct jr_err *err, const char *fmt, ...) JR_PRINTF(2, 3);

/* Like jr_err_set, then appends ": strerror(errnum)" and records errnum. */
int jr_err_sys(struct jr_err *err, int errnum, const char *fmt, ...) JR_PRINTF(3, 4);
/* Either, from a va_list: jr_err_set's when errnum is 0. */
int jr_err_vsys(struct jr_err *err, int errnum, const char *fmt, va_list ap) JR_PRINTF(3, 0);

/* Prefixes the existing message with "prefix: ". */
void jr_err_prefix(struct jr_err *err, const char *fmt, ...) JR_PRINTF(2, 3);

void jr_err_clear(struct jr_err *err);

#endif
