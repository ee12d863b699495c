/*
 * The MPPE data path (mppe.h) for JS: one object `mppe` on the addon with per-packet calls over a
 * key-state block the caller owns (a Uint8Array of stateLength bytes; see mppe.h for its layout). No handle, no
 * allocation per call: the state is the JS array's bytes, so it lives and dies with the JS object and can be
 * copied to another thread. Misuse (wrong types, spans past a buffer, a corrupted state) throws; a malformed
 * packet is a result (-2, "drop"), never an exception.
 */
#include <node_api.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "errors.h"
#include "mppe.h"

static int arg_state(napi_env env, napi_value v, uint8_t **st, size_t *st_len) {
  size_t len;
  if (io_arg_bytes(env, v, "state", st, &len) != 0) return -1;
  if (st_len != NULL) *st_len = len;
  if (len < MPPE_STATE_LEN || mppe_state_check(*st) != 0) {
    io_throw_range(env, "state must be an MPPE key state made by mppe.init");
    return -1;
  }
  return 0;
}

static int arg_i32(napi_env env, napi_value v, const char *name, int32_t *out) {
  if (napi_get_value_int32(env, v, out) != napi_ok) {
    char text[96];
    snprintf(text, sizeof text, "%s must be a number", name);
    io_throw_type(env, text);
    return -1;
  }
  return 0;
}

static napi_value num(napi_env env, double v) {
  napi_value r;
  napi_create_double(env, v, &r);
  return r;
}

/* init(state, masterKey, bits): the direction's start state (RFC 3079 §3.1-3.3), count 4095. */
static napi_value js_init(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  uint8_t *st, *master;
  size_t st_len, master_len;
  uint32_t bits;
  if (io_args(env, info, 3, argv, NULL) != 0) return NULL;
  if (io_arg_bytes(env, argv[0], "state", &st, &st_len) != 0 || io_arg_bytes(env, argv[1], "masterKey", &master, &master_len) != 0 ||
      io_arg_u32(env, argv[2], "bits", &bits) != 0)
    return NULL;
  if (st_len < MPPE_STATE_LEN) {
    io_throw_range(env, "state is shorter than mppe.stateLength");
    return NULL;
  }
  if (bits != 40 && bits != 56 && bits != 128) {
    io_throw_range(env, "bits must be 40, 56 or 128");
    return NULL;
  }
  if (master_len < (bits == 128 ? 16u : 8u)) {
    io_throw_range(env, "masterKey is shorter than the key length");
    return NULL;
  }
  mppe_state_init(st, master, (int)bits);
  return NULL;
}

/* changeKey(state, times): `times` key changes (RFC 3078 §7.3); for the tests and the bench. */
static napi_value js_change_key(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint8_t *st;
  uint32_t times;
  if (io_args(env, info, 2, argv, NULL) != 0 || arg_state(env, argv[0], &st, NULL) != 0 || io_arg_u32(env, argv[1], "times", &times) != 0) return NULL;
  while (times-- > 0) mppe_change_key(st);
  return NULL;
}

/* encrypt(state, protocol, src, srcOff, len, dst, dstOff) -> bytes written (stateless sender; protocol -1: none). */
static napi_value js_encrypt(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  uint8_t *st, *src, *dst;
  size_t st_len, src_len, dst_len;
  int32_t protocol, src_off, len, dst_off;
  if (io_args(env, info, 7, argv, NULL) != 0 || arg_state(env, argv[0], &st, &st_len) != 0 || arg_i32(env, argv[1], "protocol", &protocol) != 0 ||
      io_arg_bytes(env, argv[2], "src", &src, &src_len) != 0 || arg_i32(env, argv[3], "srcOff", &src_off) != 0 ||
      arg_i32(env, argv[4], "len", &len) != 0 || io_arg_bytes(env, argv[5], "dst", &dst, &dst_len) != 0 ||
      arg_i32(env, argv[6], "dstOff", &dst_off) != 0)
    return NULL;
  int64_t out = (int64_t)len + MPPE_HDR_LEN + (protocol >= 0 ? 2 : 0);
  if (src_off < 0 || len < 0 || dst_off < 0 || protocol > 0xffff || (int64_t)src_off + len > (int64_t)src_len ||
      (int64_t)dst_off + out > (int64_t)dst_len) {
    io_throw_range(env, "MPPE encrypt: the packet does not fit its buffers");
    return NULL;
  }
  return num(env, (double)mppe_encrypt_stateless(st, st_len, protocol, src + src_off, (size_t)len, dst + dst_off));
}

/* decrypt(state, src, srcOff, len, dst, dstOff) -> plaintext bytes, or -2 (drop). */
static napi_value js_decrypt(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  uint8_t *st, *src, *dst;
  size_t st_len, src_len, dst_len;
  int32_t src_off, len, dst_off;
  if (io_args(env, info, 6, argv, NULL) != 0 || arg_state(env, argv[0], &st, &st_len) != 0 || io_arg_bytes(env, argv[1], "src", &src, &src_len) != 0 ||
      arg_i32(env, argv[2], "srcOff", &src_off) != 0 || arg_i32(env, argv[3], "len", &len) != 0 ||
      io_arg_bytes(env, argv[4], "dst", &dst, &dst_len) != 0 || arg_i32(env, argv[5], "dstOff", &dst_off) != 0)
    return NULL;
  /* A packet that is not inside its buffer is malformed input (a drop), not misuse: the TypeScript receiver agrees. */
  if (len < MPPE_HDR_LEN + 1 || src_off < 0 || (int64_t)src_off + len > (int64_t)src_len) return num(env, MPPE_R_DROP);
  if (dst_off < 0 || (int64_t)dst_off + len - MPPE_HDR_LEN > (int64_t)dst_len) {
    io_throw_range(env, "MPPE decrypt: the plaintext does not fit dst");
    return NULL;
  }
  return num(env, mppe_decrypt_stateless(st, st_len, src + src_off, (size_t)len, dst + dst_off));
}

/* Test hooks: rc4(key, data) and sha1(data) into a new Uint8Array (the oracles in src/crypto check them). */
static napi_value new_bytes(napi_env env, size_t len, uint8_t **data) {
  napi_value ab, ta;
  if (napi_create_arraybuffer(env, len, (void **)data, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint8_array, len, ab, 0, &ta) != napi_ok)
    return NULL;
  return ta;
}

static napi_value js_rc4(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  uint8_t *key, *data, *out;
  size_t key_len, data_len;
  if (io_args(env, info, 2, argv, NULL) != 0 || io_arg_bytes(env, argv[0], "key", &key, &key_len) != 0 ||
      io_arg_bytes(env, argv[1], "data", &data, &data_len) != 0)
    return NULL;
  if (key_len < 1 || key_len > 256) {
    io_throw_range(env, "RC4 key length must be 1..256");
    return NULL;
  }
  napi_value r = new_bytes(env, data_len, &out);
  if (r == NULL) return NULL;
  mppe_rc4 rc4;
  mppe_rc4_setkey(&rc4, key, key_len);
  mppe_rc4_process(&rc4, data, out, data_len);
  return r;
}

static napi_value js_sha1(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  uint8_t *data, *out;
  size_t data_len;
  if (io_args(env, info, 1, argv, NULL) != 0 || io_arg_bytes(env, argv[0], "data", &data, &data_len) != 0) return NULL;
  napi_value r = new_bytes(env, 20, &out);
  if (r == NULL) return NULL;
  mppe_sha1(data, data_len, out);
  return r;
}

/*
 * Test and bench hooks, process-wide: shaImpl(want?) -> "sha-ni" | "portable" ("default": what cpuid allows;
 * throws when "sha-ni" is asked for and the CPU lacks it); keyAhead(on?) -> whether the stateless packets run the
 * next packet's key work beside their keystream (mppe.c "key work ahead").
 */
static napi_value js_sha_impl(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int want = -1;
  napi_valuetype t = napi_undefined;
  if (argc >= 1 && napi_typeof(env, argv[0], &t) != napi_ok) return NULL;
  if (t == napi_string) {
    char name[16];
    size_t n;
    if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &n) != napi_ok) return NULL;
    want = strcmp(name, "sha-ni") == 0 ? MPPE_SHA_NI : strcmp(name, "portable") == 0 ? MPPE_SHA_PORTABLE : strcmp(name, "default") == 0 ? MPPE_SHA_DEFAULT : -2;
    if (want == -2) {
      io_throw_range(env, "shaImpl: \"default\", \"portable\" or \"sha-ni\"");
      return NULL;
    }
  } else if (t != napi_undefined) {
    io_throw_type(env, "shaImpl: a string or nothing");
    return NULL;
  }
  int now = mppe_sha_select(want);
  if (now < 0) {
    io_throw_range(env, "shaImpl: this CPU has no SHA extensions");
    return NULL;
  }
  napi_value r;
  napi_create_string_utf8(env, now == MPPE_SHA_NI ? "sha-ni" : "portable", NAPI_AUTO_LENGTH, &r);
  return r;
}

static napi_value js_key_ahead(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  int on = -1;
  napi_valuetype t = napi_undefined;
  if (argc >= 1 && napi_typeof(env, argv[0], &t) != napi_ok) return NULL;
  if (t == napi_boolean) {
    bool b;
    if (napi_get_value_bool(env, argv[0], &b) != napi_ok) return NULL;
    on = b ? 1 : 0;
  } else if (t != napi_undefined) {
    io_throw_type(env, "keyAhead: a boolean or nothing");
    return NULL;
  }
  napi_value r;
  napi_get_boolean(env, mppe_ahead_select(on) == 1, &r);
  return r;
}

napi_value io_define_mppe(napi_env env) {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {{"init", js_init},         {"changeKey", js_change_key},       {"encrypt", js_encrypt}, {"decrypt", js_decrypt},
             {"rc4", js_rc4},       {"sha1", js_sha1},
             {"shaImpl", js_sha_impl}, {"keyAhead", js_key_ahead}};
  napi_value obj, v;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
    if (napi_create_function(env, fns[k].name, NAPI_AUTO_LENGTH, fns[k].cb, NULL, &v) != napi_ok ||
        napi_set_named_property(env, obj, fns[k].name, v) != napi_ok)
      return NULL;
  }
  if (napi_create_uint32(env, MPPE_STATE_LEN, &v) != napi_ok || napi_set_named_property(env, obj, "stateLength", v) != napi_ok) return NULL;
  if (napi_create_uint32(env, MPPE_STATE_AHEAD_LEN, &v) != napi_ok || napi_set_named_property(env, obj, "stateAheadLength", v) != napi_ok) return NULL;
  return obj;
}
