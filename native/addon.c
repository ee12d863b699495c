/* pptp_io: the Linux data-plane edge of pptp-ts (raw IPv4/GRE sockets and TUN devices). */
#include <node_api.h>

#include "mppe_napi.h"
#include "raw_socket.h"
#include "rlimit.h"
#include "steering.h"
#include "tun.h"

/* binding.gyp defines it from native/source-stamp.cjs; src/io/native.ts compares it with the sources beside it. */
#ifndef PPTP_IO_SOURCE_STAMP
#define PPTP_IO_SOURCE_STAMP ""
#endif

static napi_value init(napi_env env, napi_value exports) {
  napi_value raw = io_define_raw_socket(env);
  napi_value tun = io_define_tun(env);
  if (raw == NULL || tun == NULL) return NULL;
  napi_set_named_property(env, exports, "RawSocket", raw);
  napi_set_named_property(env, exports, "Tun", tun);
  napi_set_named_property(env, exports, "Steering", io_define_steering(env));
  napi_set_named_property(env, exports, "tunOffloadTest", io_define_tun_offload_test(env));
  napi_set_named_property(env, exports, "raiseNofileLimit", io_define_rlimit(env));
  napi_set_named_property(env, exports, "mppe", io_define_mppe(env));
  napi_value stamp;
  if (napi_create_string_utf8(env, PPTP_IO_SOURCE_STAMP, NAPI_AUTO_LENGTH, &stamp) == napi_ok) {
    napi_set_named_property(env, exports, "sourceStamp", stamp);
  }
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
