#include "errors.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

const char *io_errno_name(int errnum) {
  /* libuv's error codes on Unix are the negated errno values, so its name table doubles as ours. */
  const char *name = uv_err_name(-errnum);
  if (name == NULL || strncmp(name, "Unknown", 7) == 0) return "E?";
  return name;
}

static const char *default_hint(int errnum) {
  switch (errnum) {
    case EPERM:
    case EACCES:
      return "insufficient privilege (run as root)";
    default:
      return NULL;
  }
}

void io_throw_errno(napi_env env, int errnum, const char *op, const char *hint) {
  char text[512];
  const char *name = io_errno_name(errnum);
  if (hint == NULL) hint = default_hint(errnum);
  if (hint != NULL) {
    snprintf(text, sizeof text, "%s: %s, %s: %s", name, uv_strerror(-errnum), op, hint);
  } else {
    snprintf(text, sizeof text, "%s: %s, %s", name, uv_strerror(-errnum), op);
  }

  napi_value msg, code, error, errno_value, syscall;
  if (napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &msg) != napi_ok) return;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code) != napi_ok) return;
  if (napi_create_error(env, code, msg, &error) != napi_ok) return;
  napi_create_int32(env, errnum, &errno_value);
  napi_create_string_utf8(env, op, NAPI_AUTO_LENGTH, &syscall);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_set_named_property(env, error, "syscall", syscall);
  napi_throw(env, error);
}

void io_throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
}

void io_throw_range(napi_env env, const char *message) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", message);
}
