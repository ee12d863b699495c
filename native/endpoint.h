/*
 * An endpoint is one non-blocking file descriptor (a raw IP socket or a TUN queue) watched by a
 * libuv poll handle. Received packets land in a JS-owned ArrayBuffer split into fixed-size slots;
 * per-packet offset/length (and, for sockets, source/destination address) go into a JS-owned
 * Uint32Array; JS gets one callback per batch. Nothing is allocated per packet or per batch.
 */
#ifndef PPTP_IO_ENDPOINT_H
#define PPTP_IO_ENDPOINT_H

#include <node_api.h>
#include <stdint.h>
#include <uv.h>

/* Largest batch JS may ask for; bounds the per-endpoint mmsghdr arrays. */
#define IO_MAX_BATCH 1024
/* Batches read per readiness wakeup before yielding to the rest of the event loop (fairness). */
#define IO_ROUNDS_PER_WAKEUP 8

typedef struct io_stats {
  uint64_t rx_packets, rx_bytes, rx_batches, rx_dropped, rx_errors;
  uint64_t tx_packets, tx_bytes, tx_errors, tx_would_block;
  int last_rx_errno, last_tx_errno;
} io_stats;

typedef struct io_endpoint io_endpoint;

typedef struct io_endpoint_ops {
  const char *name;        /* "RawSocket", "Tun": used as the async resource name */
  uint32_t meta_regions;   /* how many batch_max-long regions the meta array has */
  /* Reads one batch: sets ep->rx_count; returns 1 if more may be pending, 0 when drained, -errno; 2 when the
   * reader itself still holds packets taken from the fd (they are drained even past IO_ROUNDS_PER_WAKEUP). */
  int (*read_batch)(io_endpoint *ep);
  /* Called after the receive buffers changed; returns 0 or an errno. */
  int (*prepare_rx)(io_endpoint *ep);
  /* Frees kind-specific memory; called once, from close. */
  void (*release)(io_endpoint *ep);
} io_endpoint_ops;

/* The poll handle is its own allocation: libuv finishes closing it on a later loop turn. */
typedef struct io_poll {
  uv_poll_t handle;
  napi_async_cleanup_hook_handle cleanup; /* non-NULL when closed by the env teardown hook */
} io_poll;

struct io_endpoint {
  const io_endpoint_ops *ops;
  napi_env env;
  int fd;

  /* Receive buffers (owned by JS, pinned by the references below). Meta regions, each batch_max
   * long: offsets, lengths, then for sockets source and destination IPv4 addresses. */
  uint8_t *rx_data;
  uint32_t slot_size, batch_max, rx_count;
  uint32_t *rx_offsets, *rx_lengths, *rx_sources, *rx_dests;
  napi_ref rx_data_ref, rx_meta_ref, callback_ref;

  napi_ref self_ref; /* weak, strong while polling so a listening endpoint is not collected */
  napi_async_context async_ctx;
  io_poll *poll;
  int polling, unrefed;

  napi_async_cleanup_hook_handle cleanup_hook;
  unsigned busy;  /* >0 while on_poll runs: free is deferred */
  int finalized;

  io_stats stats;
};

/* Wraps `self` around ep (ep must be the first member of a malloc'd kind struct). Returns 0 or -1 (thrown). */
int io_endpoint_wrap(napi_env env, napi_value self, io_endpoint *ep, const io_endpoint_ops *ops, int fd);

/* Unwraps `this`; throws and returns NULL if it is not an endpoint or (when need_open) is closed. */
io_endpoint *io_endpoint_this(napi_env env, napi_callback_info info, size_t argc, napi_value *argv,
                              int need_open);

/* Counts a failed send/write: EAGAIN/EWOULDBLOCK/ENOBUFS as "would block" (queue full), anything else as an error. */
void io_count_tx_error(io_endpoint *ep, int e);

/* Releases the fd, the poll handle and the JS references. Idempotent. */
void io_endpoint_close(io_endpoint *ep);

/* Property descriptors shared by every endpoint class: start, pause, resume, close, stats, ref, unref, fd. */
#define IO_ENDPOINT_METHOD_COUNT 8
void io_endpoint_methods(napi_property_descriptor *out);

#endif
