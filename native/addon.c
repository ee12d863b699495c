/* pptp_io: the Linux data-plane edge of pptp-ts (raw IPv4/GRE sockets and TUN devices). */
#include <node_api.h>

#include "mppe_napi.h"
#include "raw_socket.h"
#include "rlimit.h"
#include "steering.h"
#include "tun.h"

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
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
