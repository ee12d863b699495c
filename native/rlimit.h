/* The process's open-file limit (RLIMIT_NOFILE): read it, and raise the soft limit to the hard one. */
#ifndef PPTP_IO_RLIMIT_H
#define PPTP_IO_RLIMIT_H

#include <node_api.h>

/* A function raiseNofileLimit() → { soft, hard, before } (Infinity for RLIM_INFINITY). */
napi_value io_define_rlimit(napi_env env);

#endif
