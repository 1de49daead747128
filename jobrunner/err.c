#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

int jr_err_vsys(struct jr_err *err, int errnum, const char *fmt, va_list ap)
{
	size_t len;

	if (!err)
		return -1;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	if (errnum) {
		len = strlen(err->msg);
		snprintf(err->msg + len, sizeof(err->msg) - len, ": %s", strerror(errnum));
	}
	err->errnum = errnum;
	return -1;
}

int jr_err_set(struct jr_err *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jr_err_vsys(err, 0, fmt, ap);
	va_end(ap);
	return -1;
}

int jr_err_sys(struct jr_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	jr_err_vsys(err, errnum, fmt, ap);
	va_end(ap);
	return -1;
}

void jr_err_prefix(struct jr_err *err, const char *fmt, ...)
{
	char old[JR_ERR_MAX];
	size_t len;
	va_list ap;

	if (!err)
		return;
	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	if (len + 2 < sizeof(err->msg)) {
		memcpy(err->msg + len, ": ", 3);
		len += 2;
		memcpy(err->msg + len, old, sizeof(err->msg) - len - 1);
		err->msg[sizeof(err->msg) - 1] = '\0';
	}
}

void jr_err_clear(struct jr_err *err)
{
	if (!err)
		return;
	err->msg[0] = '\0';
	err->errnum = 0;
}
