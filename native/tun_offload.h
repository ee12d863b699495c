/*
 * TUN offloads (IFF_VNET_HDR): every packet on the fd carries a 10-byte struct virtio_net_hdr in front.
 *  - Writes: consecutive in-order TCP segments of one flow are coalesced into one GSO super-packet (what the
 *    kernel's GRO does on a NIC), so the local receive path (IP, TCP, the socket wake-up) runs once per run of
 *    segments instead of once per segment.
 *  - Reads: with TUN_F_TSO4 | TUN_F_CSUM the kernel hands TCP super-packets of up to 64 KB and leaves checksums
 *    partial; they are completed and segmented here to at most the device MTU, one segment per receive slot.
 * Pure functions on buffers: no fd, no N-API, so the tests can drive them through the addon's test hooks.
 */
#ifndef PPTP_IO_TUN_OFFLOAD_H
#define PPTP_IO_TUN_OFFLOAD_H
#include <linux/virtio_net.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define TUN_VNET_HDR_LEN 10 /* sizeof(struct virtio_net_hdr): the kernel's default TUNSETVNETHDRSZ */
/* Segments coalesced into one super-packet at most (the kernel accepts more; 64 keeps the iovec short). */
#define TUN_GRO_MAX_SEGS 64
/* Largest IPv4 + TCP header pair: 60 + 60. */
#define TUN_MAX_HDRS 120
/* The biggest read a TSO device can hand over: an IPv4 packet of 64 KB plus its vnet header. */
#define TUN_TSO_READ_MAX (TUN_VNET_HDR_LEN + 65535)

/* The Internet checksum (RFC 1071) of b[0..len) added to `sum` (32-bit partial sums, unfolded). */
uint64_t tun_csum_add(uint64_t sum, const uint8_t *b, size_t len);
/* Folds a partial sum to 16 bits (not complemented). */
uint16_t tun_csum_fold(uint64_t sum);

/* One run of packets to write as one: a plan entry made by tun_gro_plan. */
typedef struct tun_gro_run {
  uint32_t first, count; /* packet indexes [first, first+count) of the batch */
} tun_gro_run;

/*
 * Splits a batch into runs: a run of count > 1 is TCP/IPv4 segments of one flow, in sequence, with equal
 * headers (but length, id, checksums, seq, PSH), each with valid IP and TCP checksums (MPPE has no integrity
 * check of its own: the TCP checksum is the only one, and a super-packet's is trusted by the kernel), all but the
 * last exactly as long as the first. Returns the number of runs written to `runs` (at most `count`).
 */
uint32_t tun_gro_plan(const uint8_t *buf, const uint32_t *offs, const uint32_t *lens, uint32_t count,
                      tun_gro_run *runs);

/*
 * Builds the iovec for writing run `r` as one packet: the vnet header (into `vnet`, 10 bytes), then for a
 * single packet the packet itself, for a super-packet its rewritten headers (into `hdrs`, TUN_MAX_HDRS bytes:
 * total length, IP checksum, PSH of the last, the TCP pseudo-header sum left partial for the kernel) and each
 * segment's payload. `iov` holds at least TUN_GRO_MAX_SEGS + 2 entries. Returns the iovec count.
 */
int tun_gro_iov(const uint8_t *buf, const uint32_t *offs, const uint32_t *lens, tun_gro_run r, uint8_t *vnet,
                uint8_t *hdrs, struct iovec *iov);

/*
 * A packet read with its vnet header: completes a partial checksum in place. Returns 0 when `pkt` is ready as
 * it is, 1 when it is a TCP/IPv4 super-packet to segment with tun_tso_segment, -1 when malformed (drop it).
 */
int tun_vnet_rx(const struct virtio_net_hdr *h, uint8_t *pkt, uint32_t len);

/*
 * Segment `index` (from 0) of a TCP/IPv4 super-packet `pkt` (checksum already irrelevant: every segment's is
 * computed here) with segment payload size `mss`, written to `out` (room for `room` bytes). Returns the segment's
 * length, 0 when `index` is past the last segment, -1 when malformed or it does not fit.
 */
int tun_tso_segment(const uint8_t *pkt, uint32_t len, uint32_t mss, uint32_t index, uint8_t *out, uint32_t room);

#endif
