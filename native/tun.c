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
#include <sys/uio.h>
#include <unistd.h>

#include "args.h"
#include "endpoint.h"
#include "errors.h"
#include "tun.h"
#include "tun_config.h"
#include "tun_offload.h"

/* Offload modes (the constructor's third argument). */
#define TUN_OFFLOAD_NONE 0 /* plain IFF_TUN: one bare packet per read/write */
#define TUN_OFFLOAD_GRO 1  /* IFF_VNET_HDR: coalesced writes; reads carry a (plain) vnet header */
#define TUN_OFFLOAD_TSO 2  /* and TUNSETOFFLOAD(TUN_F_CSUM | TUN_F_TSO4): reads of up to 64 KB, cut here */

typedef struct tun_offload_stats {
  uint64_t super_written, segs_coalesced, super_read, segs_cut, gro_fallbacks, vnet_dropped;
} tun_offload_stats;

typedef struct tun_device {
  io_endpoint ep; /* first: the endpoint pointer is the tun_device pointer */
  char name[IFNAMSIZ];
  int mode;       /* what the kernel accepted: TUN_OFFLOAD_* */
  int gro_off;    /* set when the kernel refused a super-packet: coalescing stops, packets go one by one */
  /* TSO reads: the slot and this overflow area take one read; a super-packet is made contiguous in `big`
   * ([0, slot_size) copied from the slot) and cut from there, `pend_*` saying where the next segment starts. */
  uint8_t *big;
  uint32_t big_slot;  /* the slot size `big` was sized for */
  uint32_t pend_len, pend_mss, pend_index;
  tun_offload_stats ostats;
} tun_device;

static int tun_read_plain(io_endpoint *ep);
static int tun_read_vnet(io_endpoint *ep);

static int tun_read_batch(io_endpoint *ep) {
  return ((tun_device *)ep)->mode == TUN_OFFLOAD_NONE ? tun_read_plain(ep) : tun_read_vnet(ep);
}

static void tun_release(io_endpoint *ep) {
  tun_device *td = (tun_device *)ep;
  free(td->big);
  td->big = NULL;
  td->big_slot = 0;
  td->pend_len = 0;
}

/* TSO mode: (re)sizes the contiguous area for one super-packet whenever the receive slots change. */
static int tun_prepare_rx(io_endpoint *ep) {
  tun_device *td = (tun_device *)ep;
  td->pend_len = 0;
  if (td->mode != TUN_OFFLOAD_TSO || td->big_slot == ep->slot_size) return 0;
  free(td->big);
  td->big = malloc((size_t)ep->slot_size + TUN_TSO_READ_MAX);
  td->big_slot = td->big == NULL ? 0 : ep->slot_size;
  return td->big == NULL ? ENOMEM : 0;
}

/* Records the packet in `slot` (length r) as received. */
static void rx_accept(io_endpoint *ep, uint32_t *out, uint32_t slot, uint32_t r) {
  ep->rx_offsets[*out] = slot * ep->slot_size;
  ep->rx_lengths[*out] = r;
  ep->stats.rx_packets++;
  ep->stats.rx_bytes += (uint64_t)r;
  (*out)++;
}

#define READ_AGAIN 1
/* A failed read() of one packet: READ_AGAIN to go on reading, 0 when the queue is empty, else -errno. */
static int read_failed(io_endpoint *ep) {
  int e = errno;
  if (e == EINTR) return READ_AGAIN;
  if (e == EAGAIN || e == EWOULDBLOCK) return 0;
  /* Other kernels fail the copy with EFAULT when a packet is larger than our slot (the device MTU was raised under
   * us); that packet is consumed, so count it and keep reading. */
  if (e == EFAULT || e == EINVAL) {
    ep->stats.rx_dropped++;
    return READ_AGAIN;
  }
  return -e;
}

static int tun_read_vnet(io_endpoint *ep) {
  tun_device *td = (tun_device *)ep;
  uint32_t out = 0, slot = 0;
  ep->rx_count = 0;
  while (slot < ep->batch_max) {
    uint8_t *p = ep->rx_data + (size_t)slot * ep->slot_size;
    if (td->pend_len > 0) {
      /* Cut the next segment of the held super-packet into this slot; a read that fills a slot means "too long"
       * (tun_read_plain), so a segment may take at most slot_size - 1. */
      int n = tun_tso_segment(td->big, td->pend_len, td->pend_mss, td->pend_index, p, ep->slot_size - 1);
      if (n <= 0) {
        if (n < 0) ep->stats.rx_dropped++, td->ostats.vnet_dropped++;
        td->pend_len = 0;
        continue;
      }
      td->pend_index++;
      td->ostats.segs_cut++;
      rx_accept(ep, &out, slot, (uint32_t)n);
      slot++;
      continue;
    }
    struct virtio_net_hdr vh;
    struct iovec iov[3] = {{&vh, TUN_VNET_HDR_LEN}, {p, ep->slot_size}, {NULL, 0}};
    int niov = 2;
    if (td->mode == TUN_OFFLOAD_TSO && td->big != NULL) {
      iov[2] = (struct iovec){td->big + ep->slot_size, TUN_TSO_READ_MAX - TUN_VNET_HDR_LEN};
      niov = 3;
    }
    ssize_t r = readv(ep->fd, iov, niov);
    if (r < 0) {
      int f = read_failed(ep);
      if (f == READ_AGAIN) continue;
      ep->rx_count = out;
      return f;
    }
    if (r == 0) break;
    if (r < TUN_VNET_HDR_LEN) { /* no room for the header: not what the kernel sends */
      ep->stats.rx_dropped++, td->ostats.vnet_dropped++;
      continue;
    }
    uint32_t len = (uint32_t)r - TUN_VNET_HDR_LEN;
    if (len > ep->slot_size) {
      /* Only a super-packet may be longer than a slot: make it contiguous and cut it from the next pass. */
      if ((vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) == VIRTIO_NET_HDR_GSO_NONE) {
        ep->stats.rx_dropped++;
        continue;
      }
      memcpy(td->big, p, ep->slot_size);
      p = td->big;
    }
    int k = tun_vnet_rx(&vh, p, len);
    if (k < 0) {
      ep->stats.rx_dropped++, td->ostats.vnet_dropped++;
      continue;
    }
    if (k == 1) {
      if (td->mode != TUN_OFFLOAD_TSO || td->big == NULL) { /* we never asked for TSO: not ours to cut */
        ep->stats.rx_dropped++, td->ostats.vnet_dropped++;
        continue;
      }
      if (p != td->big) memcpy(td->big, p, len);
      td->pend_len = len;
      td->pend_mss = vh.gso_size;
      td->pend_index = 0;
      td->ostats.super_read++;
      continue;
    }
    if (len >= ep->slot_size) { /* as in tun_read_plain: a full slot is a cut (or oversized) packet */
      ep->stats.rx_dropped++;
      continue;
    }
    rx_accept(ep, &out, slot, len);
    slot++;
  }
  ep->rx_count = out;
  if (td->pend_len > 0) return 2;
  return slot == ep->batch_max ? 1 : 0;
}

static int tun_read_plain(io_endpoint *ep) {
  uint32_t out = 0, slot = 0;
  ep->rx_count = 0;
  /* No recvmmsg for a character device: read() one packet at a time until EAGAIN or the batch is full. */
  while (slot < ep->batch_max) {
    uint8_t *p = ep->rx_data + (size_t)slot * ep->slot_size;
    ssize_t r = read(ep->fd, p, ep->slot_size);
    if (r < 0) {
      int f = read_failed(ep);
      if (f == READ_AGAIN) continue;
      ep->rx_count = out;
      return f;
    }
    if (r == 0) break;
    /* Some kernels (seen on 6.18) do not fail but cut a packet longer than the buffer to the buffer's size.
     * Slots are at least the MTU plus 64 spare octets, so a read that fills the slot is such a packet, or one
     * far over the MTU: drop and count it rather than pass a truncated datagram on. */
    if ((size_t)r >= ep->slot_size) {
      ep->stats.rx_dropped++;
      continue;
    }
    rx_accept(ep, &out, slot, (uint32_t)r);
    slot++;
  }
  ep->rx_count = out;
  return slot == ep->batch_max ? 1 : 0;
}

static const io_endpoint_ops tun_ops = {
    .name = "Tun",
    .meta_regions = 2,
    .read_batch = tun_read_batch,
    .prepare_rx = tun_prepare_rx,
    .release = tun_release,
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

/* Sets the interface flags; 0 or an errno. */
static int set_iff(int fd, const char *want, short flags, struct ifreq *ifr) {
  memset(ifr, 0, sizeof *ifr);
  ifr->ifr_flags = flags;
  memcpy(ifr->ifr_name, want, strlen(want)); /* fits: io_arg_string checked it against IFNAMSIZ */
  return ioctl(fd, TUNSETIFF, ifr) == 0 ? 0 : errno;
}

/* new Tun(name: string ("" = kernel picks tunN), multiQueue: boolean, offload: 0 | 1 | 2 (TUN_OFFLOAD_*)).
 * The mode the kernel accepted is the `offload` property: a kernel without IFF_VNET_HDR or TUNSETOFFLOAD (or
 * refusing it) gives a lower one, never an error. Every queue of a multi-queue device must ask for the same. */
static napi_value tun_construct(napi_env env, napi_callback_info info) {
  napi_value argv[3], self;
  char want[IFNAMSIZ];
  int multi_queue;
  uint32_t offload;
  if (io_args(env, info, 3, argv, &self) != 0) return NULL;
  if (io_arg_string(env, argv[0], "name", want, sizeof want) != 0) return NULL;
  if (io_arg_bool(env, argv[1], "multiQueue", &multi_queue) != 0) return NULL;
  if (io_arg_u32(env, argv[2], "offload", &offload) != 0) return NULL;
  if (offload > TUN_OFFLOAD_TSO) {
    io_throw_range(env, "offload must be 0 (none), 1 (coalesced writes) or 2 (and TSO reads)");
    return NULL;
  }

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
  short base = IFF_TUN | IFF_NO_PI | (multi_queue ? IFF_MULTI_QUEUE : 0);
  int mode = (int)offload;
  int e = set_iff(fd, want, (short)(base | (mode != TUN_OFFLOAD_NONE ? IFF_VNET_HDR : 0)), &ifr);
  if (e == EINVAL && mode != TUN_OFFLOAD_NONE) { /* a kernel (or an existing queue) without IFF_VNET_HDR */
    mode = TUN_OFFLOAD_NONE;
    e = set_iff(fd, want, base, &ifr);
  }
  if (e != 0) {
    close(fd);
    char op[64];
    snprintf(op, sizeof op, "ioctl(TUNSETIFF, \"%s\")", want);
    io_throw_errno(env, e, op, tun_hint(e));
    return NULL;
  }
  if (mode != TUN_OFFLOAD_NONE) {
    int hdr = 0;
    /* Our header is the kernel's default 10 bytes; a queue attached to a device set otherwise cannot use it. */
    if (ioctl(fd, TUNGETVNETHDRSZ, &hdr) != 0 || hdr != TUN_VNET_HDR_LEN) {
      close(fd);
      io_throw_errno(env, EINVAL, "TUNGETVNETHDRSZ", "the device's vnet header is not 10 bytes: open it with offload 0");
      return NULL;
    }
    /* Checksum and TSO offload only for TSO mode; GRO mode asks the kernel for finished packets. */
    unsigned long features = mode == TUN_OFFLOAD_TSO ? TUN_F_CSUM | TUN_F_TSO4 : 0;
    if (ioctl(fd, TUNSETOFFLOAD, features) != 0 && mode == TUN_OFFLOAD_TSO) {
      ioctl(fd, TUNSETOFFLOAD, 0UL);
      mode = TUN_OFFLOAD_GRO;
    }
  }
  tun_device *td = calloc(1, sizeof *td);
  if (td == NULL) {
    close(fd);
    io_throw_errno(env, ENOMEM, "calloc", NULL);
    return NULL;
  }
  memcpy(td->name, ifr.ifr_name, IFNAMSIZ);
  td->name[IFNAMSIZ - 1] = 0;
  td->mode = mode;
  if (io_endpoint_wrap(env, self, &td->ep, &tun_ops, fd) != 0) return NULL;
  return NULL;
}

/* offloadStats() -> { mode, superWritten, segmentsCoalesced, superRead, segmentsCut, groFallbacks, vnetDropped } */
static napi_value tun_offload_stats_get(napi_env env, napi_callback_info info) {
  io_endpoint *ep = io_endpoint_this(env, info, 0, NULL, 0);
  if (ep == NULL) return NULL;
  tun_device *td = (tun_device *)ep;
  napi_value o, v;
  napi_create_object(env, &o);
  napi_create_uint32(env, (uint32_t)td->mode, &v);
  napi_set_named_property(env, o, "mode", v);
  const struct { const char *name; uint64_t value; } f[] = {
      {"superWritten", td->ostats.super_written}, {"segmentsCoalesced", td->ostats.segs_coalesced},
      {"superRead", td->ostats.super_read},       {"segmentsCut", td->ostats.segs_cut},
      {"groFallbacks", td->ostats.gro_fallbacks}, {"vnetDropped", td->ostats.vnet_dropped},
  };
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
    napi_create_double(env, (double)f[i].value, &v);
    napi_set_named_property(env, o, f[i].name, v);
  }
  return o;
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

/* One packet per write() (behind a zero vnet header in the offload modes): returns bytes or -errno. */
static int write_one(io_endpoint *ep, const uint8_t *p, uint32_t len) {
  ssize_t r;
  if (((tun_device *)ep)->mode != TUN_OFFLOAD_NONE) {
    uint8_t vnet[TUN_VNET_HDR_LEN] = {0};
    struct iovec iov[2] = {{vnet, sizeof vnet}, {(void *)p, len}};
    do {
      r = writev(ep->fd, iov, 2);
    } while (r < 0 && errno == EINTR);
    if (r >= TUN_VNET_HDR_LEN) r -= TUN_VNET_HDR_LEN;
  } else {
    do {
      r = write(ep->fd, p, len);
    } while (r < 0 && errno == EINTR);
  }
  if (r < 0) {
    int e = errno;
    io_count_tx_error(ep, e);
    return -e;
  }
  ep->stats.tx_packets++;
  ep->stats.tx_bytes += (uint64_t)r;
  return (int)r;
}

/* Writes packets [0, count) coalescing runs of one TCP flow (tun_offload.h); returns the packets written. */
static uint32_t write_coalesced(tun_device *td, const uint8_t *buf, const uint32_t *offs, const uint32_t *lens,
                                uint32_t count) {
  io_endpoint *ep = &td->ep;
  tun_gro_run runs[TUN_GRO_MAX_SEGS];
  uint8_t vnet[TUN_VNET_HDR_LEN], hdrs[TUN_MAX_HDRS];
  struct iovec iov[TUN_GRO_MAX_SEGS + 2];
  uint32_t written = 0;
  for (uint32_t base = 0; base < count; base += TUN_GRO_MAX_SEGS) {
    uint32_t n = count - base < TUN_GRO_MAX_SEGS ? count - base : TUN_GRO_MAX_SEGS;
    uint32_t nruns = tun_gro_plan(buf, offs + base, lens + base, n, runs);
    for (uint32_t k = 0; k < nruns; k++) {
      tun_gro_run r = runs[k];
      if (r.count == 1 || td->gro_off) {
        for (uint32_t i = 0; i < r.count; i++)
          if (write_one(ep, buf + offs[base + r.first + i], lens[base + r.first + i]) >= 0) written++;
        continue;
      }
      int niov = tun_gro_iov(buf, offs + base, lens + base, r, vnet, hdrs, iov);
      ssize_t w;
      do {
        w = writev(ep->fd, iov, niov);
      } while (w < 0 && errno == EINTR);
      if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
        /* The kernel refused a super-packet (an old or odd kernel): write these one by one and stop coalescing. */
        td->gro_off = 1;
        td->ostats.gro_fallbacks++;
        for (uint32_t i = 0; i < r.count; i++)
          if (write_one(ep, buf + offs[base + r.first + i], lens[base + r.first + i]) >= 0) written++;
        continue;
      }
      if (w < 0) {
        io_count_tx_error(ep, errno);
        continue;
      }
      td->ostats.super_written++;
      td->ostats.segs_coalesced += r.count;
      ep->stats.tx_packets += r.count;
      for (uint32_t i = 0; i < r.count; i++) ep->stats.tx_bytes += lens[base + r.first + i];
      written += r.count;
    }
  }
  return written;
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
  /* A TUN write is one packet (writev glues iovecs into one): without offloads batching is a loop here; with
   * them, runs of one TCP flow become one super-packet each. */
  tun_device *td = (tun_device *)ep;
  if (td->mode != TUN_OFFLOAD_NONE) {
    napi_create_uint32(env, write_coalesced(td, buf, offs, lens, count), &result);
    return result;
  }
  uint32_t written = 0;
  for (uint32_t i = 0; i < count; i++) {
    if (write_one(ep, buf + offs[i], lens[i]) >= 0) written++;
  }
  napi_create_uint32(env, written, &result);
  return result;
}

napi_value io_define_tun(napi_env env) {
  napi_property_descriptor props[IO_ENDPOINT_METHOD_COUNT + 5];
  io_endpoint_methods(props);
  props[IO_ENDPOINT_METHOD_COUNT] =
      (napi_property_descriptor){"name", NULL, NULL, tun_name, NULL, NULL, napi_enumerable | napi_configurable, NULL};
  props[IO_ENDPOINT_METHOD_COUNT + 1] =
      (napi_property_descriptor){"configure", NULL, tun_configure, NULL, NULL, NULL, napi_default_method, NULL};
  props[IO_ENDPOINT_METHOD_COUNT + 2] =
      (napi_property_descriptor){"write", NULL, tun_write, NULL, NULL, NULL, napi_default_method, NULL};
  props[IO_ENDPOINT_METHOD_COUNT + 3] =
      (napi_property_descriptor){"writeBatch", NULL, tun_write_batch, NULL, NULL, NULL, napi_default_method, NULL};
  props[IO_ENDPOINT_METHOD_COUNT + 4] = (napi_property_descriptor){
      "offloadStats", NULL, tun_offload_stats_get, NULL, NULL, NULL, napi_default_method, NULL};
  napi_value cls;
  if (napi_define_class(env, "Tun", NAPI_AUTO_LENGTH, tun_construct, NULL, sizeof props / sizeof props[0], props,
                        &cls) != napi_ok)
    return NULL;
  return cls;
}

/* ---- test hooks: the offload functions on plain buffers, without a device ----------------------------------- */

static napi_value bytes_copy(napi_env env, const struct iovec *iov, int n) {
  size_t total = 0;
  for (int i = 0; i < n; i++) total += iov[i].iov_len;
  void *data;
  napi_value ab, arr;
  napi_create_arraybuffer(env, total, &data, &ab);
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    memcpy((uint8_t *)data + at, iov[i].iov_base, iov[i].iov_len);
    at += iov[i].iov_len;
  }
  napi_create_typedarray(env, napi_uint8_array, total, ab, 0, &arr);
  return arr;
}

/* coalesce(buf, offsets, lengths, count) -> Uint8Array[]: what writeBatch would write, each with its vnet header. */
static napi_value test_coalesce(napi_env env, napi_callback_info info) {
  napi_value argv[4], self, out;
  if (io_args(env, info, 4, argv, &self) != 0) return NULL;
  uint8_t *buf;
  uint32_t *offs, *lens, count;
  size_t buf_len, n_offs, n_lens;
  if (io_arg_bytes(env, argv[0], "buf", &buf, &buf_len) != 0) return NULL;
  if (io_arg_u32_array(env, argv[1], "offsets", &offs, &n_offs) != 0) return NULL;
  if (io_arg_u32_array(env, argv[2], "lengths", &lens, &n_lens) != 0) return NULL;
  if (io_arg_u32(env, argv[3], "count", &count) != 0) return NULL;
  if (count > n_offs || count > n_lens || count > TUN_GRO_MAX_SEGS) {
    io_throw_range(env, "count exceeds offsets, lengths or 64");
    return NULL;
  }
  for (uint32_t i = 0; i < count; i++)
    if (io_check_span(env, buf_len, offs[i], lens[i], "coalesce") != 0) return NULL;
  tun_gro_run runs[TUN_GRO_MAX_SEGS];
  uint8_t vnet[TUN_VNET_HDR_LEN], hdrs[TUN_MAX_HDRS];
  struct iovec iov[TUN_GRO_MAX_SEGS + 2];
  uint32_t nruns = tun_gro_plan(buf, offs, lens, count, runs);
  napi_create_array_with_length(env, nruns, &out);
  for (uint32_t k = 0; k < nruns; k++) {
    int n = tun_gro_iov(buf, offs, lens, runs[k], vnet, hdrs, iov);
    napi_set_element(env, out, k, bytes_copy(env, iov, n));
  }
  return out;
}

/* receive(vnetHeaderAndPacket, room) -> Uint8Array[] (the packets a read delivers) or null (dropped). */
static napi_value test_receive(napi_env env, napi_callback_info info) {
  napi_value argv[2], self, out, nul;
  if (io_args(env, info, 2, argv, &self) != 0) return NULL;
  uint8_t *in;
  size_t in_len;
  uint32_t room;
  if (io_arg_bytes(env, argv[0], "bytes", &in, &in_len) != 0) return NULL;
  if (io_arg_u32(env, argv[1], "room", &room) != 0) return NULL;
  napi_get_null(env, &nul);
  if (in_len < TUN_VNET_HDR_LEN || in_len > TUN_TSO_READ_MAX || room > 65535) return nul;
  struct virtio_net_hdr vh;
  memcpy(&vh, in, TUN_VNET_HDR_LEN);
  uint32_t len = (uint32_t)(in_len - TUN_VNET_HDR_LEN);
  uint8_t *pkt = malloc(len + 1), *seg = malloc(room + 1);
  if (pkt == NULL || seg == NULL) {
    free(pkt);
    free(seg);
    return nul;
  }
  memcpy(pkt, in + TUN_VNET_HDR_LEN, len);
  int k = tun_vnet_rx(&vh, pkt, len);
  out = nul;
  if (k == 0 && len <= room) { /* a longer plain packet would not fit its slot: dropped, as tun_read_vnet does */
    napi_create_array_with_length(env, 1, &out);
    struct iovec one = {pkt, len};
    napi_set_element(env, out, 0, bytes_copy(env, &one, 1));
  } else if (k == 1) {
    napi_create_array(env, &out);
    for (uint32_t i = 0;; i++) {
      int n = tun_tso_segment(pkt, len, vh.gso_size, i, seg, room);
      if (n < 0) {
        out = nul;
        break;
      }
      if (n == 0) break;
      struct iovec one = {seg, (size_t)n};
      napi_set_element(env, out, i, bytes_copy(env, &one, 1));
    }
  }
  free(pkt);
  free(seg);
  return out;
}

napi_value io_define_tun_offload_test(napi_env env) {
  napi_value o, f;
  napi_create_object(env, &o);
  napi_create_function(env, "coalesce", NAPI_AUTO_LENGTH, test_coalesce, NULL, &f);
  napi_set_named_property(env, o, "coalesce", f);
  napi_create_function(env, "receive", NAPI_AUTO_LENGTH, test_receive, NULL, &f);
  napi_set_named_property(env, o, "receive", f);
  return o;
}
