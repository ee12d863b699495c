/* Kernel-side steering of the data plane across worker threads (eBPF maps and programs, raw bpf()). */
#ifndef PPTP_IO_STEERING_H
#define PPTP_IO_STEERING_H

#include <node_api.h>

/* An object of plain functions (createMap, mapUpdate, mapDelete, greFilter, tunSteering, attach..., closeFd). */
napi_value io_define_steering(napi_env env);

#endif
