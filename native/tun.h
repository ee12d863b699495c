#ifndef PPTP_IO_TUN_H
#define PPTP_IO_TUN_H
#include <node_api.h>
/* The Tun class: one queue of a TUN device, batched read, single and batched write, ioctl config. */
napi_value io_define_tun(napi_env env);
/* Test hooks: { coalesce, receive } run the offload code (tun_offload.c) on plain buffers. */
napi_value io_define_tun_offload_test(napi_env env);
#endif
