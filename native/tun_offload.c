/*
 * TUN offloads: GRO-style coalescing of written TCP segments, and completion/segmentation of what a TSO device
 * reads. See tun_offload.h. Checksums (RFC 1071) are summed in host order over 32-bit loads and stored in host
 * order, which the one's-complement sum's byte-order independence (RFC 1071 §2(B)) makes right on the wire.
 */
#include "tun_offload.h"

#include <string.h>

#define IPPROTO_TCP_ 6
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

static inline uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]; }
static inline void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void wr32(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v; }

uint64_t tun_csum_add(uint64_t sum, const uint8_t *b, size_t len) {
  size_t i = 0;
  for (; i + 4 <= len; i += 4) {
    uint32_t w;
    memcpy(&w, b + i, 4);
    sum += w;
  }
  if (i + 2 <= len) {
    uint16_t w;
    memcpy(&w, b + i, 2);
    sum += w;
    i += 2;
  }
  if (i < len) {
    uint8_t last[2] = {b[i], 0}; /* an odd byte is the high half of a zero-padded word (RFC 1071 §4.1) */
    uint16_t w;
    memcpy(&w, last, 2);
    sum += w;
  }
  return sum;
}

uint16_t tun_csum_fold(uint64_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

/* The TCP pseudo-header (RFC 793 §3.1) of a segment of `tcp_len` octets, as a partial sum. */
static uint64_t pseudo_sum(const uint8_t *ip, uint32_t tcp_len) {
  uint8_t ph[12];
  memcpy(ph, ip + 12, 8);
  ph[8] = 0;
  ph[9] = IPPROTO_TCP_;
  wr16(ph + 10, (uint16_t)tcp_len);
  return tun_csum_add(0, ph, sizeof ph);
}

static void set_ip_csum(uint8_t *ip, uint32_t ihl) {
  ip[10] = ip[11] = 0;
  uint16_t c = (uint16_t)~tun_csum_fold(tun_csum_add(0, ip, ihl));
  memcpy(ip + 10, &c, 2);
}

/* A well-formed, unfragmented TCP/IPv4 packet of exactly `len` octets: sets its header lengths, else 0. */
static int parse_tcp4(const uint8_t *p, uint32_t len, uint32_t *ihl, uint32_t *thl) {
  if (len < 40 || p[0] >> 4 != 4) return 0;
  uint32_t il = (uint32_t)(p[0] & 15) * 4;
  if (il < 20 || rd16(p + 2) != len || p[9] != IPPROTO_TCP_) return 0;
  if ((rd16(p + 6) & 0x3fff) != 0) return 0; /* MF or a fragment offset */
  if (len < il + 20) return 0;
  uint32_t tl = (uint32_t)(p[il + 12] >> 4) * 4;
  if (tl < 20 || len < il + tl) return 0;
  *ihl = il;
  *thl = tl;
  return 1;
}

/* May this packet be part of a super-packet? Data-bearing, ACK set, no SYN/FIN/RST/URG/ECE/CWR, checksums right. */
static int gro_candidate(const uint8_t *p, uint32_t len, uint32_t *ihl, uint32_t *thl) {
  if (!parse_tcp4(p, len, ihl, thl)) return 0;
  const uint8_t *th = p + *ihl;
  uint8_t flags = th[13];
  if ((flags & ~(TCP_ACK | TCP_PSH)) != 0 || !(flags & TCP_ACK)) return 0;
  if (len == *ihl + *thl) return 0; /* a pure ACK: nothing to coalesce */
  if (tun_csum_fold(tun_csum_add(0, p, *ihl)) != 0xffff) return 0;
  if (tun_csum_fold(tun_csum_add(pseudo_sum(p, len - *ihl), th, len - *ihl)) != 0xffff) return 0;
  return 1;
}

/* Can packet q (headers ql/qt) follow the run whose first packet is h and whose next sequence number is `seq`? */
static int gro_follows(const uint8_t *h, uint32_t hl, uint32_t ht, const uint8_t *q, uint32_t ql, uint32_t qt,
                       uint32_t seq) {
  if (ql != hl || qt != ht) return 0;
  /* IPv4: version/IHL, TOS (with ECN), DF, TTL, protocol, addresses, options equal (Linux GRO's inet_gro_receive
   * flushes on the same differences). */
  if (h[0] != q[0] || h[1] != q[1] || h[6] != q[6] || h[8] != q[8] || memcmp(h + 12, q + 12, 8) != 0) return 0;
  if (hl > 20 && memcmp(h + 20, q + 20, hl - 20) != 0) return 0;
  const uint8_t *a = h + hl, *b = q + ql;
  if (memcmp(a, b, 4) != 0) return 0;                   /* ports */
  if (rd32(b + 4) != seq) return 0;                     /* in order, no gap */
  if (memcmp(a + 8, b + 8, 4) != 0) return 0;           /* ack number */
  if (a[12] != b[12] || memcmp(a + 14, b + 14, 2) != 0) return 0; /* data offset, window */
  if ((a[13] & ~TCP_PSH) != (b[13] & ~TCP_PSH)) return 0;
  if (ht > 20 && memcmp(a + 20, b + 20, ht - 20) != 0) return 0; /* options, timestamps included */
  return 1;
}

uint32_t tun_gro_plan(const uint8_t *buf, const uint32_t *offs, const uint32_t *lens, uint32_t count,
                      tun_gro_run *runs) {
  uint32_t nruns = 0, i = 0;
  while (i < count) {
    const uint8_t *h = buf + offs[i];
    uint32_t hl, ht, j = i + 1;
    if (gro_candidate(h, lens[i], &hl, &ht) && !(h[hl + 13] & TCP_PSH)) {
      uint32_t mss = lens[i] - hl - ht;
      uint32_t total = lens[i];
      uint32_t seq = rd32(h + hl + 4) + mss;
      uint32_t last = mss; /* payload of the run's last segment */
      while (j < count && j - i < TUN_GRO_MAX_SEGS && last == mss) {
        const uint8_t *q = buf + offs[j];
        uint32_t ql, qt;
        if (!gro_candidate(q, lens[j], &ql, &qt) || !gro_follows(h, hl, ht, q, ql, qt, seq)) break;
        uint32_t pay = lens[j] - ql - qt;
        if (pay > mss || total + pay > 65535) break;
        total += pay;
        seq += pay;
        last = pay;
        j++;
        if (q[ql + 13] & TCP_PSH) break; /* PSH ends a run, as in tcp_gro_receive */
      }
    }
    runs[nruns].first = i;
    runs[nruns].count = j - i;
    nruns++;
    i = j;
  }
  return nruns;
}

int tun_gro_iov(const uint8_t *buf, const uint32_t *offs, const uint32_t *lens, tun_gro_run r, uint8_t *vnet,
                uint8_t *hdrs, struct iovec *iov) {
  struct virtio_net_hdr vh;
  memset(&vh, 0, sizeof vh);
  const uint8_t *h = buf + offs[r.first];
  if (r.count == 1) {
    memcpy(vnet, &vh, TUN_VNET_HDR_LEN);
    iov[0] = (struct iovec){vnet, TUN_VNET_HDR_LEN};
    iov[1] = (struct iovec){(void *)h, lens[r.first]};
    return 2;
  }
  uint32_t hl = (uint32_t)(h[0] & 15) * 4;
  uint32_t ht = (uint32_t)(h[hl + 12] >> 4) * 4;
  uint32_t mss = lens[r.first] - hl - ht;
  uint32_t total = hl + ht;
  int n = 2;
  for (uint32_t k = 0; k < r.count; k++) {
    uint32_t at = offs[r.first + k], len = lens[r.first + k];
    iov[n++] = (struct iovec){(void *)(buf + at + hl + ht), len - hl - ht};
    total += len - hl - ht;
  }
  memcpy(hdrs, h, hl + ht);
  wr16(hdrs + 2, (uint16_t)total);
  set_ip_csum(hdrs, hl);
  const uint8_t *lastp = buf + offs[r.first + r.count - 1];
  hdrs[hl + 13] |= lastp[hl + 13] & TCP_PSH;
  /* CHECKSUM_PARTIAL: the field holds the pseudo-header sum, the kernel adds the rest (as virtio does). */
  hdrs[hl + 16] = hdrs[hl + 17] = 0;
  uint16_t ps = tun_csum_fold(pseudo_sum(hdrs, total - hl));
  memcpy(hdrs + hl + 16, &ps, 2);
  vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
  vh.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
  vh.hdr_len = (uint16_t)(hl + ht);
  vh.gso_size = (uint16_t)mss;
  vh.csum_start = (uint16_t)hl;
  vh.csum_offset = 16;
  memcpy(vnet, &vh, TUN_VNET_HDR_LEN);
  iov[0] = (struct iovec){vnet, TUN_VNET_HDR_LEN};
  iov[1] = (struct iovec){hdrs, hl + ht};
  return n;
}

int tun_vnet_rx(const struct virtio_net_hdr *h, uint8_t *pkt, uint32_t len) {
  uint8_t gso = h->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
  if (gso != VIRTIO_NET_HDR_GSO_NONE) {
    uint32_t ihl, thl;
    if (gso != VIRTIO_NET_HDR_GSO_TCPV4 || h->gso_size == 0 || !parse_tcp4(pkt, len, &ihl, &thl)) return -1;
    return 1; /* every segment's checksum is computed when it is cut, whatever this one holds */
  }
  if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
    /* The field at start+offset holds the pseudo-header sum; the checksum covers [start, len). */
    uint32_t start = h->csum_start, at = (uint32_t)h->csum_start + h->csum_offset;
    if (start >= len || at + 2 > len || h->csum_offset & 1 || start & 1) return -1;
    uint16_t c = (uint16_t)~tun_csum_fold(tun_csum_add(0, pkt + start, len - start));
    /* A UDP checksum that sums to zero is sent as all ones (RFC 768); for TCP 0 and 0xffff are the same sum. */
    if (c == 0) c = 0xffff;
    memcpy(pkt + at, &c, 2);
  }
  return 0;
}

int tun_tso_segment(const uint8_t *pkt, uint32_t len, uint32_t mss, uint32_t index, uint8_t *out, uint32_t room) {
  uint32_t ihl, thl;
  if (mss == 0 || !parse_tcp4(pkt, len, &ihl, &thl)) return -1;
  uint32_t hdr = ihl + thl, data = len - hdr;
  uint32_t nseg = data == 0 ? 1 : (data + mss - 1) / mss;
  if (index >= nseg) return 0;
  uint32_t from = index * mss;
  uint32_t pay = data - from < mss ? data - from : mss;
  uint32_t seg_len = hdr + pay;
  if (seg_len > room) return -1;
  memcpy(out, pkt, hdr);
  memcpy(out + hdr, pkt + hdr + from, pay);
  wr16(out + 2, (uint16_t)seg_len);
  wr16(out + 4, (uint16_t)(rd16(pkt + 4) + index)); /* IDs count up per segment, as the kernel's GSO does */
  set_ip_csum(out, ihl);
  uint8_t *th = out + ihl;
  wr32(th + 4, rd32(pkt + ihl + 4) + from);
  uint8_t flags = pkt[ihl + 13];
  if (index + 1 < nseg) flags &= (uint8_t)~(TCP_FIN | TCP_PSH); /* FIN and PSH belong to the last segment */
  if (index > 0) flags &= (uint8_t)~TCP_CWR;                     /* CWR to the first (tcp_gso_segment) */
  th[13] = flags;
  th[16] = th[17] = 0;
  uint16_t c = (uint16_t)~tun_csum_fold(tun_csum_add(pseudo_sum(out, thl + pay), th, thl + pay));
  memcpy(th + 16, &c, 2);
  return (int)seg_len;
}
