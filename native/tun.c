/*
 * Tun: one queue of a Linux TUN device (IFF_TUN | IFF_NO_PI: each read/write is exactly one bare
 * IP packet, no 4-byte packet-info prefix). The kernel routes packets into the device and we read
 * them; packets we write are received by the kernel as if they arrived on that interface.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "args.h"
#include "endpoint.h"
#include "errors.h"
#include "tun.h"
#include "tun_config.h"

typedef struct tun_device {
  io_endpoint ep; /* first: the endpoint pointer is the tun_device pointer */
  char name[IFNAMSIZ];
} tun_device;

static int tun_read_batch(io_endpoint *ep) {
  uint32_t out = 0, slot = 0;
  ep->rx_count = 0;
  /* No recvmmsg for a character device: read() one packet at a time until EAGAIN or the batch is full. */
  while (slot < ep->batch_max) {
    uint8_t *p = ep->rx_data + (size_t)slot * ep->slot_size;
    ssize_t r = read(ep->fd, p, ep->slot_size);
    if (r < 0) {
      int e = errno;
      if (e == EINTR) continue;
      ep->rx_count = out;
      if (e == EAGAIN || e == EWOULDBLOCK) return 0;
      /* Other kernels fail the copy with EFAULT when a packet is larger than our slot (the device
       * MTU was raised under us); that packet is consumed, so count it and keep reading. */
      if (e == EFAULT || e == EINVAL) {
        ep->stats.rx_dropped++;
        continue;
      }
      return -e;
    }
    if (r == 0) break;
    /* Some kernels (seen on 6.18) do not fail but cut a packet longer than the buffer to the buffer's size.
     * Slots are at least the MTU plus 64 spare octets, so a read that fills the slot is such a packet, or one
     * far over the MTU: drop and count it rather than pass a truncated datagram on. */
    if ((size_t)r >= ep->slot_size) {
      ep->stats.rx_dropped++;
      continue;
    }
    ep->rx_offsets[out] = slot * ep->slot_size;
    ep->rx_lengths[out] = (uint32_t)r;
    ep->stats.rx_packets++;
    ep->stats.rx_bytes += (uint64_t)r;
    out++;
    slot++;
  }
  ep->rx_count = out;
  return slot == ep->batch_max ? 1 : 0;
}

static const io_endpoint_ops tun_ops = {
    .name = "Tun",
    .meta_regions = 2,
    .read_batch = tun_read_batch,
    .prepare_rx = NULL,
    .release = NULL,
};

static const char *tun_hint(int e) {
  switch (e) {
    case EPERM:
    case EACCES:
      return "need CAP_NET_ADMIN (run as root)";
    case ENOENT:
    case ENODEV:
    case ENXIO:
      return "no TUN driver: /dev/net/tun is missing (modprobe tun)";
    case EBUSY:
      return "that interface name is in use by another device or TUN queue";
    default:
      return NULL;
  }
}

/* new Tun(name: string ("" = kernel picks tunN), multiQueue: boolean) */
static napi_value tun_construct(napi_env env, napi_callback_info info) {
  napi_value argv[2], self;
  char want[IFNAMSIZ];
  int multi_queue;
  if (io_args(env, info, 2, argv, &self) != 0) return NULL;
  if (io_arg_string(env, argv[0], "name", want, sizeof want) != 0) return NULL;
  if (io_arg_bool(env, argv[1], "multiQueue", &multi_queue) != 0) return NULL;

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    /* Opening the node is a file permission, not a capability: systemd-udevd makes it 0666, and an unprivileged
     * service (CAP_NET_ADMIN alone) needs exactly that; TUNSETIFF below is where CAP_NET_ADMIN counts. */
    const char *hint = e == EACCES ? "this user may not open /dev/net/tun: it must be mode 0666 (as systemd-udevd makes it: chmod 666 /dev/net/tun), or run as root" : tun_hint(e);
    io_throw_errno(env, e, "open(/dev/net/tun)", hint);
    return NULL;
  }
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (multi_queue ? IFF_MULTI_QUEUE : 0);
  memcpy(ifr.ifr_name, want, strlen(want)); /* fits: io_arg_string checked it against IFNAMSIZ */
  if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
    int e = errno;
    close(fd);
    char op[64];
    snprintf(op, sizeof op, "ioctl(TUNSETIFF, \"%s\")", want);
    io_throw_errno(env, e, op, tun_hint(e));
    return NULL;
  }
  tun_device *td = calloc(1, sizeof *td);
  if (td == NULL) {
    close(fd);
    io_throw_errno(env, ENOMEM, "calloc", NULL);
    return NULL;
  }
  memcpy(td->name, ifr.ifr_name, IFNAMSIZ);
  td->name[IFNAMSIZ - 1] = 0;
  if (io_endpoint_wrap(env, self, &td->ep, &tun_ops, fd) != 0) return NULL;
  return NULL;
}

static napi_value tun_name(napi_env env, napi_callback_info info) {
  io_endpoint *ep = io_endpoint_this(env, info, 0, NULL, 0);
  if (ep == NULL) return NULL;
  napi_value v;
  napi_create_string_utf8(env, ((tun_device *)ep)->name, NAPI_AUTO_LENGTH, &v);
  return v;
}

/* configure(mtu, txQueueLen, address, peer, prefix, up) — zeros mean "leave alone" */
static napi_value tun_configure(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  io_endpoint *ep = io_endpoint_this(env, info, 6, argv, 1);
  if (ep == NULL) return NULL;
  tun_config cfg;
  if (io_arg_u32(env, argv[0], "mtu", &cfg.mtu) != 0) return NULL;
  if (io_arg_u32(env, argv[1], "txQueueLen", &cfg.tx_queue) != 0) return NULL;
  if (io_arg_u32(env, argv[2], "address", &cfg.address) != 0) return NULL;
  if (io_arg_u32(env, argv[3], "peer", &cfg.peer) != 0) return NULL;
  if (io_arg_u32(env, argv[4], "prefix", &cfg.prefix) != 0) return NULL;
  if (io_arg_bool(env, argv[5], "up", &cfg.up) != 0) return NULL;
  if (cfg.prefix > 32) {
    char text[64];
    snprintf(text, sizeof text, "prefix must be in 0..32, got %u", cfg.prefix);
    io_throw_range(env, text);
    return NULL;
  }
  const char *failed = "configure";
  int e = tun_apply_config(((tun_device *)ep)->name, &cfg, &failed);
  if (e != 0) {
    char op[96];
    snprintf(op, sizeof op, "%s on %s", failed, ((tun_device *)ep)->name);
    io_throw_errno(env, e, op, tun_hint(e));
  }
  return NULL;
}

/* One packet per write(): returns bytes or -errno. */
static int write_one(io_endpoint *ep, const uint8_t *p, uint32_t len) {
  ssize_t r;
  do {
    r = write(ep->fd, p, len);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    int e = errno;
    io_count_tx_error(ep, e);
    return -e;
  }
  ep->stats.tx_packets++;
  ep->stats.tx_bytes += (uint64_t)r;
  return (int)r;
}

/* write(buf, offset, length) -> bytes written or -errno */
static napi_value tun_write(napi_env env, napi_callback_info info) {
  napi_value argv[3], result;
  io_endpoint *ep = io_endpoint_this(env, info, 3, argv, 1);
  if (ep == NULL) return NULL;
  uint8_t *buf;
  size_t buf_len;
  uint32_t off, len;
  if (io_arg_bytes(env, argv[0], "buf", &buf, &buf_len) != 0) return NULL;
  if (io_arg_u32(env, argv[1], "offset", &off) != 0) return NULL;
  if (io_arg_u32(env, argv[2], "length", &len) != 0) return NULL;
  if (io_check_span(env, buf_len, off, len, "write") != 0) return NULL;
  napi_create_int32(env, write_one(ep, buf + off, len), &result);
  return result;
}

/* writeBatch(buf, offsets, lengths, count) -> packets written; failures are counted. */
static napi_value tun_write_batch(napi_env env, napi_callback_info info) {
  napi_value argv[4], result;
  io_endpoint *ep = io_endpoint_this(env, info, 4, argv, 1);
  if (ep == NULL) return NULL;
  uint8_t *buf;
  uint32_t *offs, *lens, count;
  size_t buf_len, n_offs, n_lens;
  if (io_arg_bytes(env, argv[0], "buf", &buf, &buf_len) != 0) return NULL;
  if (io_arg_u32_array(env, argv[1], "offsets", &offs, &n_offs) != 0) return NULL;
  if (io_arg_u32_array(env, argv[2], "lengths", &lens, &n_lens) != 0) return NULL;
  if (io_arg_u32(env, argv[3], "count", &count) != 0) return NULL;
  if (count > n_offs || count > n_lens) {
    char text[128];
    snprintf(text, sizeof text, "count %u exceeds offsets (%zu) or lengths (%zu)", count, n_offs, n_lens);
    io_throw_range(env, text);
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++) {
    if (io_check_span(env, buf_len, offs[i], lens[i], "writeBatch") != 0) return NULL;
  }
  /* A TUN write is one packet (writev would glue iovecs into one), so batching is a loop here. */
  uint32_t written = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (write_one(ep, buf + offs[i], lens[i]) >= 0) written++;
  }
  napi_create_uint32(env, written, &result);
  return result;
}

napi_value io_define_tun(napi_env env) {
  napi_property_descriptor props[IO_ENDPOINT_METHOD_COUNT + 4];
  io_endpoint_methods(props);
  props[IO_ENDPOINT_METHOD_COUNT] =
      (napi_property_descriptor){"name", NULL, NULL, tun_name, NULL, NULL, napi_enumerable | napi_configurable, NULL};
  props[IO_ENDPOINT_METHOD_COUNT + 1] =
      (napi_property_descriptor){"configure", NULL, tun_configure, NULL, NULL, NULL, napi_default_method, NULL};
  props[IO_ENDPOINT_METHOD_COUNT + 2] =
      (napi_property_descriptor){"write", NULL, tun_write, NULL, NULL, NULL, napi_default_method, NULL};
  props[IO_ENDPOINT_METHOD_COUNT + 3] =
      (napi_property_descriptor){"writeBatch", NULL, tun_write_batch, NULL, NULL, NULL, napi_default_method, NULL};
  napi_value cls;
  if (napi_define_class(env, "Tun", NAPI_AUTO_LENGTH, tun_construct, NULL, sizeof props / sizeof props[0], props,
                        &cls) != napi_ok)
    return NULL;
  return cls;
}
