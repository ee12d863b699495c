/* Argument checking for the JS-facing functions: each returns 0, or -1 after throwing. */
#ifndef PPTP_IO_ARGS_H
#define PPTP_IO_ARGS_H

#include <node_api.h>
#include <stddef.h>
#include <stdint.h>

int io_arg_u32(napi_env env, napi_value v, const char *name, uint32_t *out);
int io_arg_bool(napi_env env, napi_value v, const char *name, int *out);
/* A Uint8Array (Buffer included): pointer to its first byte and its length. */
int io_arg_bytes(napi_env env, napi_value v, const char *name, uint8_t **data, size_t *len);
int io_arg_u32_array(napi_env env, napi_value v, const char *name, uint32_t **data, size_t *len);
int io_arg_function(napi_env env, napi_value v, const char *name);
/* A string that fits in bufsize including the terminating NUL. */
int io_arg_string(napi_env env, napi_value v, const char *name, char *buf, size_t bufsize);

/* buf[off, off+len) lies inside a buffer of buf_len bytes; `what` names the call in the RangeError. */
int io_check_span(napi_env env, size_t buf_len, uint32_t off, uint32_t len, const char *what);

/* Fetches exactly `want` arguments and `this` (missing ones are undefined). */
int io_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, napi_value *self);

#endif
