/* The `mppe` object of the addon: MPPE's RC4 and stateless key changes in C (mppe.h), per packet and per batch. */
#ifndef PPTP_IO_MPPE_NAPI_H
#define PPTP_IO_MPPE_NAPI_H
#include <node_api.h>

napi_value io_define_mppe(napi_env env);

#endif
