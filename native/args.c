#include "args.h"

#include <math.h>
#include <stdio.h>

#include "errors.h"

int io_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv, napi_value *self) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, self, NULL) != napi_ok) {
    io_throw_type(env, "could not read call arguments");
    return -1;
  }
  return 0;
}

static void throw_named(napi_env env, const char *name, const char *what, int range) {
  char text[160];
  snprintf(text, sizeof text, "%s must be %s", name, what);
  if (range) io_throw_range(env, text); else io_throw_type(env, text);
}

int io_arg_u32(napi_env env, napi_value v, const char *name, uint32_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
    throw_named(env, name, "a number", 0);
    return -1;
  }
  napi_get_value_double(env, v, &d);
  if (!(d >= 0 && d <= 4294967295.0) || floor(d) != d) {
    char text[160];
    snprintf(text, sizeof text, "%s must be an integer in 0..4294967295, got %g", name, d);
    io_throw_range(env, text);
    return -1;
  }
  *out = (uint32_t)d;
  return 0;
}

int io_arg_bool(napi_env env, napi_value v, const char *name, int *out) {
  bool b;
  if (napi_get_value_bool(env, v, &b) != napi_ok) {
    throw_named(env, name, "a boolean", 0);
    return -1;
  }
  *out = b ? 1 : 0;
  return 0;
}

static int typed_array(napi_env env, napi_value v, const char *name, napi_typedarray_type want,
                       const char *what, void **data, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) != napi_ok || type != want) {
    throw_named(env, name, what, 0);
    return -1;
  }
  return 0;
}

int io_arg_bytes(napi_env env, napi_value v, const char *name, uint8_t **data, size_t *len) {
  void *p = NULL;
  if (typed_array(env, v, name, napi_uint8_array, "a Uint8Array", &p, len) != 0) return -1;
  *data = p;
  return 0;
}

int io_arg_u32_array(napi_env env, napi_value v, const char *name, uint32_t **data, size_t *len) {
  void *p = NULL;
  if (typed_array(env, v, name, napi_uint32_array, "a Uint32Array", &p, len) != 0) return -1;
  *data = p;
  return 0;
}

int io_arg_function(napi_env env, napi_value v, const char *name) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_function) {
    throw_named(env, name, "a function", 0);
    return -1;
  }
  return 0;
}

int io_arg_string(napi_env env, napi_value v, const char *name, char *buf, size_t bufsize) {
  size_t n = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    throw_named(env, name, "a string", 0);
    return -1;
  }
  napi_get_value_string_utf8(env, v, NULL, 0, &n);
  if (n + 1 > bufsize) {
    char text[160];
    snprintf(text, sizeof text, "%s is %zu bytes long, at most %zu allowed", name, n, bufsize - 1);
    io_throw_range(env, text);
    return -1;
  }
  napi_get_value_string_utf8(env, v, buf, bufsize, &n);
  return 0;
}

int io_check_span(napi_env env, size_t buf_len, uint32_t off, uint32_t len, const char *what) {
  if ((uint64_t)off + len > buf_len) {
    char text[160];
    snprintf(text, sizeof text, "%s: offset %u + length %u is past the end of a %zu-byte buffer", what, off, len,
             buf_len);
    io_throw_range(env, text);
    return -1;
  }
  return 0;
}
