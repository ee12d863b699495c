/*
 * The MPPE data path (mppe.h) for JS: one object `mppe` on the addon with per-packet and per-batch calls over a
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

static int arg_state(napi_env env, napi_value v, uint8_t **st) {
  size_t len;
  if (io_arg_bytes(env, v, "state", st, &len) != 0) return -1;
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

static int arg_i32_array(napi_env env, napi_value v, const char *name, int32_t **data, size_t *len) {
  bool is_ta = false;
  napi_typedarray_type type;
  void *p = NULL;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta ||
      napi_get_typedarray_info(env, v, &type, len, &p, NULL, NULL) != napi_ok || type != napi_int32_array) {
    char text[96];
    snprintf(text, sizeof text, "%s must be an Int32Array", name);
    io_throw_type(env, text);
    return -1;
  }
  *data = p;
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
  if (io_args(env, info, 2, argv, NULL) != 0 || arg_state(env, argv[0], &st) != 0 || io_arg_u32(env, argv[1], "times", &times) != 0) return NULL;
  while (times-- > 0) mppe_change_key(st);
  return NULL;
}

/* encrypt(state, protocol, src, srcOff, len, dst, dstOff) -> bytes written (stateless sender; protocol -1: none). */
static napi_value js_encrypt(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  uint8_t *st, *src, *dst;
  size_t src_len, dst_len;
  int32_t protocol, src_off, len, dst_off;
  if (io_args(env, info, 7, argv, NULL) != 0 || arg_state(env, argv[0], &st) != 0 || arg_i32(env, argv[1], "protocol", &protocol) != 0 ||
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
  return num(env, (double)mppe_encrypt_stateless(st, protocol, src + src_off, (size_t)len, dst + dst_off));
}

/* decrypt(state, src, srcOff, len, dst, dstOff) -> plaintext bytes, or -2 (drop). */
static napi_value js_decrypt(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  uint8_t *st, *src, *dst;
  size_t src_len, dst_len;
  int32_t src_off, len, dst_off;
  if (io_args(env, info, 6, argv, NULL) != 0 || arg_state(env, argv[0], &st) != 0 || io_arg_bytes(env, argv[1], "src", &src, &src_len) != 0 ||
      arg_i32(env, argv[2], "srcOff", &src_off) != 0 || arg_i32(env, argv[3], "len", &len) != 0 ||
      io_arg_bytes(env, argv[4], "dst", &dst, &dst_len) != 0 || arg_i32(env, argv[5], "dstOff", &dst_off) != 0)
    return NULL;
  /* A packet that is not inside its buffer is malformed input (a drop), not misuse: the TypeScript receiver agrees. */
  if (len < MPPE_HDR_LEN + 1 || src_off < 0 || (int64_t)src_off + len > (int64_t)src_len) return num(env, MPPE_R_DROP);
  if (dst_off < 0 || (int64_t)dst_off + len - MPPE_HDR_LEN > (int64_t)dst_len) {
    io_throw_range(env, "MPPE decrypt: the plaintext does not fit dst");
    return NULL;
  }
  return num(env, mppe_decrypt_stateless(st, src + src_off, (size_t)len, dst + dst_off));
}

/*
 * decryptBatch(state, src, offsets, lengths, count, dst, dstOffsets, results) -> packets decrypted. Packet k is
 * src[offsets[k], +lengths[k]) (a whole MPPE datagram); its plaintext goes to dst at dstOffsets[k] (dst may be
 * src, e.g. in place at offsets[k] + 2, or another buffer such as a write queue); results[k] is its length or -2.
 * All spans are checked before any key moves: one that does not fit throws and nothing is decrypted.
 */
static napi_value js_decrypt_batch(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  uint8_t *st, *src, *dst;
  uint32_t *offs, *lens, *doffs, count;
  int32_t *res;
  size_t src_len, dst_len, n_offs, n_lens, n_doffs, n_res;
  if (io_args(env, info, 8, argv, NULL) != 0 || arg_state(env, argv[0], &st) != 0 || io_arg_bytes(env, argv[1], "src", &src, &src_len) != 0 ||
      io_arg_u32_array(env, argv[2], "offsets", &offs, &n_offs) != 0 || io_arg_u32_array(env, argv[3], "lengths", &lens, &n_lens) != 0 ||
      io_arg_u32(env, argv[4], "count", &count) != 0 || io_arg_bytes(env, argv[5], "dst", &dst, &dst_len) != 0 ||
      io_arg_u32_array(env, argv[6], "dstOffsets", &doffs, &n_doffs) != 0 || arg_i32_array(env, argv[7], "results", &res, &n_res) != 0)
    return NULL;
  if (count > n_offs || count > n_lens || count > n_doffs || count > n_res) {
    io_throw_range(env, "MPPE decryptBatch: count is larger than an array");
    return NULL;
  }
  for (uint32_t k = 0; k < count; k++) {
    if (io_check_span(env, src_len, offs[k], lens[k], "MPPE decryptBatch src") != 0) return NULL;
    if (lens[k] >= MPPE_HDR_LEN && io_check_span(env, dst_len, doffs[k], lens[k] - MPPE_HDR_LEN, "MPPE decryptBatch dst") != 0) return NULL;
  }
  uint32_t ok = 0;
  for (uint32_t k = 0; k < count; k++) {
    int r = mppe_decrypt_stateless(st, src + offs[k], lens[k], dst + doffs[k]);
    res[k] = r;
    if (r >= 0) ok++;
  }
  return num(env, ok);
}

/*
 * encryptBatch(state, protocol, src, offsets, lengths, count, dst, dstOffsets, outLengths) -> count: packet k,
 * src[offsets[k], +lengths[k]), becomes an MPPE datagram at dst[dstOffsets[k]..] (protocol field first when
 * protocol >= 0), its length in outLengths[k]. Spans checked first, as in decryptBatch.
 */
static napi_value js_encrypt_batch(napi_env env, napi_callback_info info) {
  napi_value argv[9];
  uint8_t *st, *src, *dst;
  uint32_t *offs, *lens, *doffs, *outs, count;
  int32_t protocol;
  size_t src_len, dst_len, n_offs, n_lens, n_doffs, n_outs;
  if (io_args(env, info, 9, argv, NULL) != 0 || arg_state(env, argv[0], &st) != 0 || arg_i32(env, argv[1], "protocol", &protocol) != 0 ||
      io_arg_bytes(env, argv[2], "src", &src, &src_len) != 0 || io_arg_u32_array(env, argv[3], "offsets", &offs, &n_offs) != 0 ||
      io_arg_u32_array(env, argv[4], "lengths", &lens, &n_lens) != 0 || io_arg_u32(env, argv[5], "count", &count) != 0 ||
      io_arg_bytes(env, argv[6], "dst", &dst, &dst_len) != 0 || io_arg_u32_array(env, argv[7], "dstOffsets", &doffs, &n_doffs) != 0 ||
      io_arg_u32_array(env, argv[8], "outLengths", &outs, &n_outs) != 0)
    return NULL;
  if (count > n_offs || count > n_lens || count > n_doffs || count > n_outs || protocol > 0xffff) {
    io_throw_range(env, "MPPE encryptBatch: count is larger than an array, or protocol is not 16 bits");
    return NULL;
  }
  uint32_t extra = MPPE_HDR_LEN + (protocol >= 0 ? 2 : 0);
  for (uint32_t k = 0; k < count; k++) {
    if (io_check_span(env, src_len, offs[k], lens[k], "MPPE encryptBatch src") != 0) return NULL;
    if (lens[k] > 0xffff || io_check_span(env, dst_len, doffs[k], lens[k] + extra, "MPPE encryptBatch dst") != 0) return NULL;
  }
  for (uint32_t k = 0; k < count; k++) outs[k] = (uint32_t)mppe_encrypt_stateless(st, protocol, src + offs[k], lens[k], dst + doffs[k]);
  return num(env, count);
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

napi_value io_define_mppe(napi_env env) {
  static const struct {
    const char *name;
    napi_callback cb;
  } fns[] = {{"init", js_init},         {"changeKey", js_change_key},       {"encrypt", js_encrypt}, {"decrypt", js_decrypt},
             {"decryptBatch", js_decrypt_batch}, {"encryptBatch", js_encrypt_batch}, {"rc4", js_rc4},     {"sha1", js_sha1}};
  napi_value obj, v;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
  for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) {
    if (napi_create_function(env, fns[k].name, NAPI_AUTO_LENGTH, fns[k].cb, NULL, &v) != napi_ok ||
        napi_set_named_property(env, obj, fns[k].name, v) != napi_ok)
      return NULL;
  }
  if (napi_create_uint32(env, MPPE_STATE_LEN, &v) != napi_ok || napi_set_named_property(env, obj, "stateLength", v) != napi_ok) return NULL;
  return obj;
}
