#ifndef PPTP_IO_RAW_SOCKET_H
#define PPTP_IO_RAW_SOCKET_H
#include <node_api.h>
/* The RawSocket class: a raw IPv4 socket for one IP protocol (47 = GRE), batched receive and send. */
napi_value io_define_raw_socket(napi_env env);
#endif
