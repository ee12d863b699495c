#include "endpoint.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "args.h"
#include "errors.h"

/* ---- teardown ---------------------------------------------------------------------------- */

static void on_poll_closed(uv_handle_t *h) {
  io_poll *p = (io_poll *)h;
  if (p->cleanup != NULL) napi_remove_async_cleanup_hook(p->cleanup);
  free(p);
}

static void delete_ref(napi_env env, napi_ref *ref) {
  if (*ref != NULL) {
    napi_delete_reference(env, *ref);
    *ref = NULL;
  }
}

/* Shared by close() and the env teardown hook; `hook` is that hook's handle or NULL. */
static void close_fd_and_poll(io_endpoint *ep, napi_async_cleanup_hook_handle hook) {
  if (ep->poll != NULL) {
    ep->poll->handle.data = NULL; /* a readiness event already queued must not touch ep */
    ep->poll->cleanup = hook;
    /* uv_close deregisters the fd from epoll synchronously, so closing the fd right after is safe. */
    uv_close((uv_handle_t *)&ep->poll->handle, on_poll_closed);
    ep->poll = NULL;
  } else if (hook != NULL) {
    napi_remove_async_cleanup_hook(hook);
  }
  if (ep->fd >= 0) {
    close(ep->fd);
    ep->fd = -1;
  }
  ep->rx_data = NULL;
  ep->rx_count = 0;
}

void io_endpoint_close(io_endpoint *ep) {
  if (ep->fd < 0) return;
  napi_env env = ep->env;
  if (ep->cleanup_hook != NULL) {
    napi_remove_async_cleanup_hook(ep->cleanup_hook);
    ep->cleanup_hook = NULL;
  }
  close_fd_and_poll(ep, NULL);
  if (ep->polling) {
    ep->polling = 0;
    napi_reference_unref(env, ep->self_ref, NULL);
  }
  delete_ref(env, &ep->rx_data_ref);
  delete_ref(env, &ep->rx_meta_ref);
  delete_ref(env, &ep->callback_ref);
  if (ep->async_ctx != NULL) {
    napi_async_destroy(env, ep->async_ctx);
    ep->async_ctx = NULL;
  }
  if (ep->ops->release != NULL) ep->ops->release(ep);
}

/* Node is tearing the environment down (process exit, worker exit): release the OS resources;
 * JS references die with the environment. */
static void on_env_cleanup(napi_async_cleanup_hook_handle hook, void *arg) {
  io_endpoint *ep = arg;
  ep->cleanup_hook = NULL;
  ep->polling = 0;
  close_fd_and_poll(ep, hook);
}

static void finalize(napi_env env, void *data, void *hint) {
  io_endpoint *ep = data;
  io_endpoint_close(ep);
  if (ep->cleanup_hook != NULL) { /* never opened a poll handle and already closed: nothing left */
    napi_remove_async_cleanup_hook(ep->cleanup_hook);
    ep->cleanup_hook = NULL;
  }
  if (ep->ops->release != NULL) ep->ops->release(ep); /* idempotent; covers teardown-closed endpoints */
  delete_ref(env, &ep->self_ref);
  if (ep->busy > 0) {
    ep->finalized = 1;
    return;
  }
  free(ep);
}

int io_endpoint_wrap(napi_env env, napi_value self, io_endpoint *ep, const io_endpoint_ops *ops, int fd) {
  ep->ops = ops;
  ep->env = env;
  ep->fd = fd;
  if (napi_wrap(env, self, ep, finalize, NULL, &ep->self_ref) != napi_ok) {
    close(fd);
    ep->fd = -1;
    if (ops->release != NULL) ops->release(ep);
    free(ep);
    io_throw_type(env, "could not wrap native endpoint");
    return -1;
  }
  napi_add_async_cleanup_hook(env, on_env_cleanup, ep, &ep->cleanup_hook);
  return 0;
}

io_endpoint *io_endpoint_this(napi_env env, napi_callback_info info, size_t argc, napi_value *argv,
                              int need_open) {
  napi_value self;
  void *data = NULL;
  if (io_args(env, info, argc, argv, &self) != 0) return NULL;
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    io_throw_type(env, "method called on an object that is not a native endpoint");
    return NULL;
  }
  io_endpoint *ep = data;
  if (need_open && ep->fd < 0) {
    char op[64];
    snprintf(op, sizeof op, "%s is closed", ep->ops->name);
    io_throw_errno(env, EBADF, op, "open a new one");
    return NULL;
  }
  return ep;
}

/* ---- receive path ------------------------------------------------------------------------ */

static void stop_polling(io_endpoint *ep);

static void deliver(io_endpoint *ep, uint32_t count, int errnum) {
  napi_env env = ep->env;
  napi_value cb, self, argv[2], result;
  if (ep->callback_ref == NULL) return;
  if (napi_get_reference_value(env, ep->callback_ref, &cb) != napi_ok || cb == NULL) return;
  if (napi_get_reference_value(env, ep->self_ref, &self) != napi_ok || self == NULL) return;
  napi_create_uint32(env, count, &argv[0]);
  napi_create_int32(env, errnum, &argv[1]);
  napi_status st = napi_make_callback(env, ep->async_ctx, self, cb, 2, argv, &result);
  if (st == napi_pending_exception) {
    /* Nothing on the JS stack can catch it: report it as Node does for any callback. */
    napi_value exc;
    if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
  }
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  io_endpoint *ep = handle->data;
  if (ep == NULL || ep->fd < 0) return;
  napi_env env = ep->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  ep->busy++;

  if (status < 0) {
    /* The poll itself failed: it would fail again on every loop turn, so stop and tell JS. */
    ep->stats.rx_errors++;
    ep->stats.last_rx_errno = -status;
    stop_polling(ep);
    deliver(ep, 0, -status);
  } else {
    /* r == 2: the reader holds packets it already took from the fd (a TUN super-packet being cut into segments):
     * the fd may never be readable again for them, so they are drained past the round limit. */
    int r = 0;
    for (int round = 0; round < IO_ROUNDS_PER_WAKEUP || r == 2; round++) {
      if (ep->fd < 0 || !ep->polling || ep->rx_data == NULL) break;
      r = ep->ops->read_batch(ep);
      if (ep->rx_count > 0) {
        ep->stats.rx_batches++;
        deliver(ep, ep->rx_count, 0);
        ep->rx_count = 0;
      }
      if (r < 0) {
        ep->stats.rx_errors++;
        ep->stats.last_rx_errno = -r;
        if (ep->fd >= 0) deliver(ep, 0, -r);
        break;
      }
      if (r == 0) break;
    }
  }

  ep->busy--;
  napi_close_handle_scope(env, scope);
  if (ep->busy == 0 && ep->finalized) free(ep);
}

static int start_polling(napi_env env, io_endpoint *ep) {
  if (ep->poll == NULL) {
    uv_loop_t *loop;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok) {
      io_throw_type(env, "no libuv loop for this environment");
      return -1;
    }
    io_poll *p = calloc(1, sizeof *p);
    if (p == NULL) {
      io_throw_errno(env, ENOMEM, "uv_poll_init", NULL);
      return -1;
    }
    int rc = uv_poll_init(loop, &p->handle, ep->fd);
    if (rc != 0) {
      free(p);
      io_throw_errno(env, -rc, "uv_poll_init", NULL);
      return -1;
    }
    p->handle.data = ep;
    if (ep->unrefed) uv_unref((uv_handle_t *)&p->handle);
    ep->poll = p;
  }
  int rc = uv_poll_start(&ep->poll->handle, UV_READABLE, on_poll);
  if (rc != 0) {
    io_throw_errno(env, -rc, "uv_poll_start", NULL);
    return -1;
  }
  if (!ep->polling) {
    ep->polling = 1;
    napi_reference_ref(env, ep->self_ref, NULL);
  }
  return 0;
}

static void stop_polling(io_endpoint *ep) {
  if (!ep->polling) return;
  if (ep->poll != NULL) uv_poll_stop(&ep->poll->handle);
  ep->polling = 0;
  napi_reference_unref(ep->env, ep->self_ref, NULL);
}

/* start(data: Uint8Array, meta: Uint32Array, slotSize, batchMax, callback(count, errno)) */
static napi_value m_start(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  io_endpoint *ep = io_endpoint_this(env, info, 5, argv, 1);
  if (ep == NULL) return NULL;
  uint8_t *data;
  uint32_t *meta;
  size_t data_len, meta_len;
  uint32_t slot, batch;
  if (io_arg_bytes(env, argv[0], "data", &data, &data_len) != 0) return NULL;
  if (io_arg_u32_array(env, argv[1], "meta", &meta, &meta_len) != 0) return NULL;
  if (io_arg_u32(env, argv[2], "slotSize", &slot) != 0) return NULL;
  if (io_arg_u32(env, argv[3], "batchMax", &batch) != 0) return NULL;
  if (io_arg_function(env, argv[4], "callback") != 0) return NULL;
  char text[200];
  if (batch < 1 || batch > IO_MAX_BATCH) {
    snprintf(text, sizeof text, "batchMax must be in 1..%d, got %u", IO_MAX_BATCH, batch);
    io_throw_range(env, text);
    return NULL;
  }
  if (slot < 64 || slot > 65536 + 64) {
    snprintf(text, sizeof text, "slotSize must be in 64..65600, got %u", slot);
    io_throw_range(env, text);
    return NULL;
  }
  if ((uint64_t)slot * batch > data_len) {
    snprintf(text, sizeof text, "data holds %zu bytes, slotSize*batchMax needs %llu", data_len,
             (unsigned long long)slot * batch);
    io_throw_range(env, text);
    return NULL;
  }
  if ((uint64_t)ep->ops->meta_regions * batch > meta_len) {
    snprintf(text, sizeof text, "meta holds %zu entries, %u*batchMax needs %llu", meta_len,
             ep->ops->meta_regions, (unsigned long long)ep->ops->meta_regions * batch);
    io_throw_range(env, text);
    return NULL;
  }

  delete_ref(env, &ep->rx_data_ref);
  delete_ref(env, &ep->rx_meta_ref);
  delete_ref(env, &ep->callback_ref);
  napi_create_reference(env, argv[0], 1, &ep->rx_data_ref);
  napi_create_reference(env, argv[1], 1, &ep->rx_meta_ref);
  napi_create_reference(env, argv[4], 1, &ep->callback_ref);
  ep->rx_data = data;
  ep->slot_size = slot;
  ep->batch_max = batch;
  ep->rx_count = 0;
  ep->rx_offsets = meta;
  ep->rx_lengths = meta + batch;
  ep->rx_sources = ep->ops->meta_regions >= 3 ? meta + 2 * batch : NULL;
  ep->rx_dests = ep->ops->meta_regions >= 4 ? meta + 3 * batch : NULL;
  if (ep->ops->prepare_rx != NULL) {
    int rc = ep->ops->prepare_rx(ep);
    if (rc != 0) {
      ep->rx_data = NULL;
      io_throw_errno(env, rc, "prepare receive buffers", NULL);
      return NULL;
    }
  }
  if (ep->async_ctx == NULL) {
    napi_value name;
    napi_create_string_utf8(env, ep->ops->name, NAPI_AUTO_LENGTH, &name);
    if (napi_async_init(env, NULL, name, &ep->async_ctx) != napi_ok) {
      io_throw_type(env, "napi_async_init failed");
      return NULL;
    }
  }
  if (start_polling(env, ep) != 0) return NULL;
  return NULL;
}

static napi_value m_pause(napi_env env, napi_callback_info info) {
  io_endpoint *ep = io_endpoint_this(env, info, 0, NULL, 0);
  if (ep != NULL) stop_polling(ep);
  return NULL;
}

static napi_value m_resume(napi_env env, napi_callback_info info) {
  io_endpoint *ep = io_endpoint_this(env, info, 0, NULL, 1);
  if (ep == NULL) return NULL;
  if (ep->rx_data == NULL || ep->callback_ref == NULL) {
    io_throw_type(env, "resume() before start(): no receive buffers");
    return NULL;
  }
  start_polling(env, ep);
  return NULL;
}

static napi_value m_close(napi_env env, napi_callback_info info) {
  io_endpoint *ep = io_endpoint_this(env, info, 0, NULL, 0);
  if (ep != NULL) io_endpoint_close(ep);
  return NULL;
}

static napi_value m_ref(napi_env env, napi_callback_info info) {
  io_endpoint *ep = io_endpoint_this(env, info, 0, NULL, 0);
  if (ep == NULL) return NULL;
  ep->unrefed = 0;
  if (ep->poll != NULL) uv_ref((uv_handle_t *)&ep->poll->handle);
  return NULL;
}

static napi_value m_unref(napi_env env, napi_callback_info info) {
  io_endpoint *ep = io_endpoint_this(env, info, 0, NULL, 0);
  if (ep == NULL) return NULL;
  ep->unrefed = 1;
  if (ep->poll != NULL) uv_unref((uv_handle_t *)&ep->poll->handle);
  return NULL;
}

static napi_value m_fd(napi_env env, napi_callback_info info) {
  io_endpoint *ep = io_endpoint_this(env, info, 0, NULL, 0);
  if (ep == NULL) return NULL;
  napi_value v;
  napi_create_int32(env, ep->fd, &v);
  return v;
}

static void set_num(napi_env env, napi_value obj, const char *key, double v) {
  napi_value n;
  napi_create_double(env, v, &n);
  napi_set_named_property(env, obj, key, n);
}

static napi_value m_stats(napi_env env, napi_callback_info info) {
  io_endpoint *ep = io_endpoint_this(env, info, 0, NULL, 0);
  if (ep == NULL) return NULL;
  napi_value o;
  napi_create_object(env, &o);
  const io_stats *s = &ep->stats;
  set_num(env, o, "rxPackets", (double)s->rx_packets);
  set_num(env, o, "rxBytes", (double)s->rx_bytes);
  set_num(env, o, "rxBatches", (double)s->rx_batches);
  set_num(env, o, "rxDropped", (double)s->rx_dropped);
  set_num(env, o, "rxErrors", (double)s->rx_errors);
  set_num(env, o, "txPackets", (double)s->tx_packets);
  set_num(env, o, "txBytes", (double)s->tx_bytes);
  set_num(env, o, "txErrors", (double)s->tx_errors);
  set_num(env, o, "txWouldBlock", (double)s->tx_would_block);
  napi_value name;
  napi_create_string_utf8(env, s->last_rx_errno ? io_errno_name(s->last_rx_errno) : "", NAPI_AUTO_LENGTH, &name);
  napi_set_named_property(env, o, "lastRxError", name);
  napi_create_string_utf8(env, s->last_tx_errno ? io_errno_name(s->last_tx_errno) : "", NAPI_AUTO_LENGTH, &name);
  napi_set_named_property(env, o, "lastTxError", name);
  return o;
}

void io_endpoint_methods(napi_property_descriptor *out) {
  const napi_property_descriptor methods[IO_ENDPOINT_METHOD_COUNT] = {
      {"start", NULL, m_start, NULL, NULL, NULL, napi_default_method, NULL},
      {"pause", NULL, m_pause, NULL, NULL, NULL, napi_default_method, NULL},
      {"resume", NULL, m_resume, NULL, NULL, NULL, napi_default_method, NULL},
      {"close", NULL, m_close, NULL, NULL, NULL, napi_default_method, NULL},
      {"stats", NULL, m_stats, NULL, NULL, NULL, napi_default_method, NULL},
      {"ref", NULL, m_ref, NULL, NULL, NULL, napi_default_method, NULL},
      {"unref", NULL, m_unref, NULL, NULL, NULL, napi_default_method, NULL},
      {"fd", NULL, NULL, m_fd, NULL, NULL, napi_enumerable | napi_configurable, NULL},
  };
  memcpy(out, methods, sizeof methods);
}

void io_count_tx_error(io_endpoint *ep, int e) {
  if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) ep->stats.tx_would_block++;
  else ep->stats.tx_errors++;
  ep->stats.last_tx_errno = e;
}
