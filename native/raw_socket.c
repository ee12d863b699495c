/*
 * RawSocket: socket(AF_INET, SOCK_RAW, proto) — for PPTP, proto 47 (GRE, RFC 2637 §4) shared by all
 * calls. The kernel prepends nothing on send (IP_HDRINCL off: it builds the IPv4 header) but hands
 * us the whole IPv4 datagram on receive; we strip that header, reporting where the payload starts
 * and the source/destination addresses taken from it.
 *
 * One unbound socket serves calls on every local address, so a send may name its source address:
 * an IP_PKTINFO control message (ipi_spec_dst) makes the kernel build the header with that source
 * and route from it, instead of the route's preferred source. Peers that connect() their GRE socket
 * to the address they dialled (pptp-linux, pptpd) drop GRE from any other address of a multi-homed host.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "args.h"
#include "endpoint.h"
#include "errors.h"
#include "raw_socket.h"

/* Packets handed to one sendmmsg call; larger batches are sent in chunks of this size. */
#define TX_CHUNK 64

/* Room for one IP_PKTINFO control message, aligned as a cmsghdr must be. */
typedef union pktinfo_cmsg {
  struct cmsghdr align;
  char buf[CMSG_SPACE(sizeof(struct in_pktinfo))];
} pktinfo_cmsg;

/* Points h at one IP_PKTINFO message in ctrl asking for source address src (host order; 0 = none). */
static void set_source(struct msghdr *h, pktinfo_cmsg *ctrl, uint32_t src) {
  if (src == 0) {
    h->msg_control = NULL;
    h->msg_controllen = 0;
    return;
  }
  memset(ctrl, 0, sizeof *ctrl);
  h->msg_control = ctrl->buf;
  h->msg_controllen = sizeof ctrl->buf;
  struct cmsghdr *c = CMSG_FIRSTHDR(h);
  c->cmsg_level = IPPROTO_IP;
  c->cmsg_type = IP_PKTINFO;
  c->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
  struct in_pktinfo pi = {.ipi_ifindex = 0, .ipi_spec_dst = {.s_addr = htonl(src)}};
  memcpy(CMSG_DATA(c), &pi, sizeof pi);
}

/* An optional uint32 argument: undefined or null reads as 0. */
static int arg_u32_or_zero(napi_env env, napi_value v, const char *name, uint32_t *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) == napi_ok && (t == napi_undefined || t == napi_null)) {
    *out = 0;
    return 0;
  }
  return io_arg_u32(env, v, name, out);
}

typedef struct raw_socket {
  io_endpoint ep; /* first: the endpoint pointer is the raw_socket pointer */
  struct mmsghdr *rx_msgs;
  struct iovec *rx_iovs;
  uint32_t rx_cap;
  struct mmsghdr tx_msgs[TX_CHUNK];
  struct iovec tx_iovs[TX_CHUNK];
  struct sockaddr_in tx_addrs[TX_CHUNK];
  pktinfo_cmsg tx_ctrl[TX_CHUNK]; /* per-packet source address, used when one is given */
} raw_socket;

static inline uint32_t be32(const uint8_t *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int raw_read_batch(io_endpoint *ep) {
  raw_socket *rs = (raw_socket *)ep;
  uint32_t want = ep->batch_max;
  int n;
  ep->rx_count = 0;
  do {
    n = recvmmsg(ep->fd, rs->rx_msgs, want, MSG_DONTWAIT, NULL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;

  uint32_t out = 0;
  for (int i = 0; i < n; i++) {
    const struct mmsghdr *m = &rs->rx_msgs[i];
    uint32_t base = (uint32_t)i * ep->slot_size;
    const uint8_t *p = ep->rx_data + base;
    uint32_t len = m->msg_len;
    /* A datagram larger than a slot is cut short by the kernel (MSG_TRUNC): never hand it on. */
    if (m->msg_hdr.msg_flags & MSG_TRUNC || len < 20 || (p[0] >> 4) != 4) {
      ep->stats.rx_dropped++;
      continue;
    }
    uint32_t ihl = (uint32_t)(p[0] & 0x0f) * 4;
    if (ihl < 20 || ihl > len) {
      ep->stats.rx_dropped++;
      continue;
    }
    ep->rx_offsets[out] = base + ihl;
    ep->rx_lengths[out] = len - ihl;
    ep->rx_sources[out] = be32(p + 12);
    ep->rx_dests[out] = be32(p + 16);
    out++;
    ep->stats.rx_packets++;
    ep->stats.rx_bytes += len - ihl;
  }
  ep->rx_count = out;
  return (uint32_t)n == want ? 1 : 0;
}

static int raw_prepare_rx(io_endpoint *ep) {
  raw_socket *rs = (raw_socket *)ep;
  if (ep->batch_max > rs->rx_cap) {
    struct mmsghdr *msgs = realloc(rs->rx_msgs, ep->batch_max * sizeof *msgs);
    if (msgs == NULL) return ENOMEM;
    rs->rx_msgs = msgs;
    struct iovec *iovs = realloc(rs->rx_iovs, ep->batch_max * sizeof *iovs);
    if (iovs == NULL) return ENOMEM;
    rs->rx_iovs = iovs;
    rs->rx_cap = ep->batch_max;
  }
  for (uint32_t i = 0; i < ep->batch_max; i++) {
    rs->rx_iovs[i].iov_base = ep->rx_data + (size_t)i * ep->slot_size;
    rs->rx_iovs[i].iov_len = ep->slot_size;
    memset(&rs->rx_msgs[i], 0, sizeof rs->rx_msgs[i]);
    rs->rx_msgs[i].msg_hdr.msg_iov = &rs->rx_iovs[i];
    rs->rx_msgs[i].msg_hdr.msg_iovlen = 1;
  }
  return 0;
}

static void raw_release(io_endpoint *ep) {
  raw_socket *rs = (raw_socket *)ep;
  free(rs->rx_msgs);
  free(rs->rx_iovs);
  rs->rx_msgs = NULL;
  rs->rx_iovs = NULL;
  rs->rx_cap = 0;
}

static const io_endpoint_ops raw_ops = {
    .name = "RawSocket",
    .meta_regions = 4,
    .read_batch = raw_read_batch,
    .prepare_rx = raw_prepare_rx,
    .release = raw_release,
};

/*
 * Classic BPF run on each received datagram (starting at its IPv4 header) so the kernel drops
 * every GRE packet that is not PPTP's enhanced GRE (RFC 2637 §4.1: protocol type 0x880B,
 * version 1) before it is queued — other GRE tunnels on the host never reach JS.
 */
static int attach_pptp_filter(int fd) {
  struct sock_filter code[] = {
      BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),            /* X = IPv4 header length */
      BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),             /* A = GRE protocol type */
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x880b, 0, 4), /* not PPP -> drop */
      BPF_STMT(BPF_LD | BPF_B | BPF_IND, 1),             /* A = flags byte 2 (A bit, version) */
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x07),         /* version field */
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),      /* version 1 -> accept */
      BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog);
}

/* Root may exceed net.core.rmem_max/wmem_max with the *FORCE variants; others get the capped size. */
static int set_buffer(int fd, int force_opt, int opt, uint32_t bytes) {
  int v = (int)(bytes > 0x7fffffff ? 0x7fffffff : bytes);
  if (setsockopt(fd, SOL_SOCKET, force_opt, &v, sizeof v) == 0) return 0;
  return setsockopt(fd, SOL_SOCKET, opt, &v, sizeof v);
}

/* new RawSocket(protocol, bindAddress, recvBufferBytes, sendBufferBytes, pptpFilter, dontFragment) */
static napi_value raw_construct(napi_env env, napi_callback_info info) {
  napi_value argv[6], self;
  uint32_t protocol, bind_addr, rcvbuf, sndbuf;
  int pptp_filter, dont_fragment;
  if (io_args(env, info, 6, argv, &self) != 0) return NULL;
  if (io_arg_u32(env, argv[0], "protocol", &protocol) != 0) return NULL;
  if (io_arg_u32(env, argv[1], "bindAddress", &bind_addr) != 0) return NULL;
  if (io_arg_u32(env, argv[2], "recvBufferBytes", &rcvbuf) != 0) return NULL;
  if (io_arg_u32(env, argv[3], "sendBufferBytes", &sndbuf) != 0) return NULL;
  if (io_arg_bool(env, argv[4], "pptpFilter", &pptp_filter) != 0) return NULL;
  if (io_arg_bool(env, argv[5], "dontFragment", &dont_fragment) != 0) return NULL;
  if (protocol < 1 || protocol > 254 || protocol == IPPROTO_RAW) {
    char text[96];
    snprintf(text, sizeof text, "protocol must be an IP protocol number in 1..254, got %u", protocol);
    io_throw_range(env, text);
    return NULL;
  }

  char op[80];
  snprintf(op, sizeof op, "socket(AF_INET, SOCK_RAW, %u)", protocol);
  int fd = socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, (int)protocol);
  if (fd < 0) {
    int e = errno;
    io_throw_errno(env, e, op, (e == EPERM || e == EACCES) ? "need CAP_NET_RAW (run as root)" : NULL);
    return NULL;
  }

  const char *fail_op = NULL;
  const char *hint = NULL;
  int pmtu = dont_fragment ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT;
  if (rcvbuf > 0 && set_buffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, rcvbuf) != 0) fail_op = "setsockopt(SO_RCVBUF)";
  else if (sndbuf > 0 && set_buffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, sndbuf) != 0) fail_op = "setsockopt(SO_SNDBUF)";
  else if (setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof pmtu) != 0) fail_op = "setsockopt(IP_MTU_DISCOVER)";
  else if (pptp_filter && attach_pptp_filter(fd) != 0) fail_op = "setsockopt(SO_ATTACH_FILTER)";
  else if (bind_addr != 0) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0, .sin_addr = {.s_addr = htonl(bind_addr)}};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
      fail_op = "bind";
      if (errno == EADDRNOTAVAIL) hint = "bindAddress is not an address of this host (in this network namespace)";
    }
  }
  if (fail_op != NULL) {
    int e = errno;
    close(fd);
    io_throw_errno(env, e, fail_op, hint);
    return NULL;
  }

  raw_socket *rs = calloc(1, sizeof *rs);
  if (rs == NULL) {
    close(fd);
    io_throw_errno(env, ENOMEM, "calloc", NULL);
    return NULL;
  }
  if (io_endpoint_wrap(env, self, &rs->ep, &raw_ops, fd) != 0) return NULL;
  return NULL;
}

/* send(buf, offset, length, dstAddress[, srcAddress]) -> bytes sent, or -errno (counted in stats).
 * srcAddress 0 or absent: the route's preferred source (or the bound address). */
static napi_value raw_send(napi_env env, napi_callback_info info) {
  napi_value argv[5], result;
  io_endpoint *ep = io_endpoint_this(env, info, 5, argv, 1);
  if (ep == NULL) return NULL;
  uint8_t *buf;
  size_t buf_len;
  uint32_t off, len, dst, src;
  if (io_arg_bytes(env, argv[0], "buf", &buf, &buf_len) != 0) return NULL;
  if (io_arg_u32(env, argv[1], "offset", &off) != 0) return NULL;
  if (io_arg_u32(env, argv[2], "length", &len) != 0) return NULL;
  if (io_arg_u32(env, argv[3], "dstAddress", &dst) != 0) return NULL;
  if (arg_u32_or_zero(env, argv[4], "srcAddress", &src) != 0) return NULL;
  if (io_check_span(env, buf_len, off, len, "send") != 0) return NULL;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = 0, .sin_addr = {.s_addr = htonl(dst)}};
  struct iovec iov = {.iov_base = buf + off, .iov_len = len};
  struct msghdr h = {.msg_name = &sa, .msg_namelen = sizeof sa, .msg_iov = &iov, .msg_iovlen = 1};
  pktinfo_cmsg ctrl;
  set_source(&h, &ctrl, src);
  ssize_t r;
  do {
    r = sendmsg(ep->fd, &h, MSG_DONTWAIT);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    int e = errno;
    io_count_tx_error(ep, e);
    napi_create_int32(env, -e, &result);
    return result;
  }
  ep->stats.tx_packets++;
  ep->stats.tx_bytes += (uint64_t)r;
  napi_create_int32(env, (int32_t)r, &result);
  return result;
}

/* sendBatch(buf, offsets, lengths, dstAddresses, count[, srcAddresses]) -> packets sent; failures are
 * counted. srcAddresses absent (or an entry 0): the route's preferred source for that packet. */
static napi_value raw_send_batch(napi_env env, napi_callback_info info) {
  napi_value argv[6], result;
  io_endpoint *ep = io_endpoint_this(env, info, 6, argv, 1);
  if (ep == NULL) return NULL;
  raw_socket *rs = (raw_socket *)ep;
  uint8_t *buf;
  uint32_t *offs, *lens, *dsts, *srcs = NULL, count;
  size_t buf_len, n_offs, n_lens, n_dsts, n_srcs = 0;
  if (io_arg_bytes(env, argv[0], "buf", &buf, &buf_len) != 0) return NULL;
  if (io_arg_u32_array(env, argv[1], "offsets", &offs, &n_offs) != 0) return NULL;
  if (io_arg_u32_array(env, argv[2], "lengths", &lens, &n_lens) != 0) return NULL;
  if (io_arg_u32_array(env, argv[3], "dstAddresses", &dsts, &n_dsts) != 0) return NULL;
  if (io_arg_u32(env, argv[4], "count", &count) != 0) return NULL;
  napi_valuetype src_type;
  if (napi_typeof(env, argv[5], &src_type) != napi_ok) return NULL;
  if (src_type != napi_undefined && src_type != napi_null) {
    if (io_arg_u32_array(env, argv[5], "srcAddresses", &srcs, &n_srcs) != 0) return NULL;
  }
  if (count > n_offs || count > n_lens || count > n_dsts || (srcs != NULL && count > n_srcs)) {
    char text[200];
    snprintf(text, sizeof text, "count %u exceeds offsets (%zu), lengths (%zu), dstAddresses (%zu) or srcAddresses (%zu)",
             count, n_offs, n_lens, n_dsts, n_srcs);
    io_throw_range(env, text);
    return NULL;
  }
  /* Check every span before sending any, so a bad batch sends nothing. */
  for (uint32_t i = 0; i < count; i++) {
    if (io_check_span(env, buf_len, offs[i], lens[i], "sendBatch") != 0) return NULL;
  }

  uint32_t sent = 0, i = 0;
  while (i < count) {
    uint32_t chunk = count - i < TX_CHUNK ? count - i : TX_CHUNK;
    for (uint32_t j = 0; j < chunk; j++) {
      rs->tx_iovs[j].iov_base = buf + offs[i + j];
      rs->tx_iovs[j].iov_len = lens[i + j];
      rs->tx_addrs[j].sin_family = AF_INET;
      rs->tx_addrs[j].sin_port = 0;
      rs->tx_addrs[j].sin_addr.s_addr = htonl(dsts[i + j]);
      struct msghdr *h = &rs->tx_msgs[j].msg_hdr;
      memset(h, 0, sizeof *h);
      h->msg_name = &rs->tx_addrs[j];
      h->msg_namelen = sizeof rs->tx_addrs[j];
      h->msg_iov = &rs->tx_iovs[j];
      h->msg_iovlen = 1;
      set_source(h, &rs->tx_ctrl[j], srcs == NULL ? 0 : srcs[i + j]);
    }
    int n = sendmmsg(ep->fd, rs->tx_msgs, chunk, MSG_DONTWAIT);
    if (n < 0) {
      int e = errno;
      if (e == EINTR) continue;
      io_count_tx_error(ep, e);
      if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS) {
        /* The send buffer is full: the rest would fail the same way; drop them like a full queue. */
        ep->stats.tx_would_block += count - i - 1;
        break;
      }
      i++; /* this packet failed on its own (e.g. EMSGSIZE, EHOSTUNREACH): skip it */
      continue;
    }
    for (int j = 0; j < n; j++) ep->stats.tx_bytes += rs->tx_msgs[j].msg_len;
    ep->stats.tx_packets += (uint32_t)n;
    sent += (uint32_t)n;
    i += (uint32_t)n;
    /* n < chunk: the next packet failed; the next sendmmsg call reports its errno. */
  }
  napi_create_uint32(env, sent, &result);
  return result;
}

napi_value io_define_raw_socket(napi_env env) {
  napi_property_descriptor props[IO_ENDPOINT_METHOD_COUNT + 2];
  io_endpoint_methods(props);
  props[IO_ENDPOINT_METHOD_COUNT] =
      (napi_property_descriptor){"send", NULL, raw_send, NULL, NULL, NULL, napi_default_method, NULL};
  props[IO_ENDPOINT_METHOD_COUNT + 1] =
      (napi_property_descriptor){"sendBatch", NULL, raw_send_batch, NULL, NULL, NULL, napi_default_method, NULL};
  napi_value cls;
  if (napi_define_class(env, "RawSocket", NAPI_AUTO_LENGTH, raw_construct, NULL,
                        sizeof props / sizeof props[0], props, &cls) != napi_ok)
    return NULL;
  return cls;
}
