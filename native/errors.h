/* Turning errno values into JS exceptions that name the errno, the syscall and what to do. */
#ifndef PPTP_IO_ERRORS_H
#define PPTP_IO_ERRORS_H

#include <node_api.h>

/*
 * Throws an Error whose message reads "EPERM: operation not permitted, <op> — <hint>"
 * and which carries .code ("EPERM"), .errno (positive errno) and .syscall (<op>).
 * hint may be NULL, in which case a default hint for the errno is used (if any).
 */
void io_throw_errno(napi_env env, int errnum, const char *op, const char *hint);

/* Throws a TypeError / RangeError with code ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE. */
void io_throw_type(napi_env env, const char *message);
void io_throw_range(napi_env env, const char *message);

/* Returns the errno name ("EAGAIN") or "E?" when unknown. */
const char *io_errno_name(int errnum);

#endif
