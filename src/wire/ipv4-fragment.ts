/**
 * IPv4 datagrams too big for the link they must cross: fragmentation (RFC 791 §2.3 "Fragmentation" and §3.2,
 * "An Example Fragmentation Procedure") when the sender allows it, and the ICMP "fragmentation needed and DF set"
 * message with the next-hop MTU (RFC 792, RFC 1191 §4) when it does not.
 *
 * A PPTP peer's PPP MRU may be smaller than the datagrams routed to it (pppd with `mru 1200`, many routers);
 * src/session/call.ts uses this file to keep every frame within that MRU. Pure codecs over caller-supplied
 * buffers: no allocation, no clock.
 */

/** IPv4 header flag: Don't Fragment (RFC 791 §3.1, bit 1 of the Flags field). */
const FLAG_DF = 0x4000;
/** IPv4 header flag: More Fragments. */
const FLAG_MF = 0x2000;
const OFFSET_MASK = 0x1fff;
const IPV4_MIN_HEADER = 20;
const PROTO_ICMP = 1;
/** RFC 1812 §4.3.2.3: an ICMP error holds as much of the original datagram as fits in 576 octets. */
const ICMP_ERROR_MAX = 576;
const ICMP_HEADER = 8;
/** The longest ICMP frag-needed message icmpFragNeeded writes. */
export const ICMP_FRAG_NEEDED_MAX = ICMP_ERROR_MAX;

/** fragmentIpv4 start(): not a well-formed IPv4 datagram of exactly that length (bad version, IHL, Total Length or options). */
export const FRAG_MALFORMED = -1;
/** fragmentIpv4 start(): the MTU cannot carry one 8-octet fragment block behind the header (RFC 791: MTU ≥ 68). */
export const FRAG_MTU_TOO_SMALL = -2;

/** One's-complement sum of 16-bit words (RFC 1071), folded, not inverted. */
function sum16(b: Uint8Array, off: number, len: number, acc: number): number {
  let s = acc;
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) s += (b[i] << 8) | b[i + 1];
  if (len & 1) s += b[off + len - 1] << 8;
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return s;
}

/** The Internet checksum of b[off, off+len) (RFC 1071). */
export function internetChecksum(b: Uint8Array, off: number, len: number): number {
  return ~sum16(b, off, len, 0) & 0xffff;
}

function writeHeaderChecksum(b: Uint8Array, off: number, hl: number): void {
  b[off + 10] = 0;
  b[off + 11] = 0;
  const c = internetChecksum(b, off, hl);
  b[off + 10] = c >> 8;
  b[off + 11] = c & 0xff;
}

/** True when buf[off..] starts an IPv4 header with the Don't Fragment bit set. */
export function ipv4DontFragment(buf: Uint8Array, off: number): boolean {
  return (buf[off + 6] & (FLAG_DF >> 8)) !== 0;
}

/**
 * Splits one IPv4 datagram into fragments of at most `mtu` octets each, one fragment per next() call, written
 * into the caller's buffer. The first fragment keeps every option; the later ones only those whose "copied" flag
 * is set (RFC 791 §3.1, Options), padded to a 32-bit boundary. A datagram that is itself a fragment is split
 * further: offsets continue from its own and its More-Fragments flag stays on the last piece (RFC 791 §3.2).
 * The DF flag is the caller's business (a datagram with DF set must not be given here). One instance is reused
 * for every datagram: start() then next() until it returns 0.
 */
export class Ipv4Fragmenter {
  private src: Uint8Array = new Uint8Array(0);
  private off = 0;
  private hl = 0;
  private totalData = 0;
  /** Bytes of the payload already emitted. */
  private done = 0;
  /** The datagram's own fragment offset (octets) and More-Fragments flag. */
  private baseOffset = 0;
  private baseMf = false;
  private mtu = 0;
  /** The header of the second and later fragments: the fixed part plus the copied options. */
  private readonly laterHeader = new Uint8Array(60);
  private laterHl = 0;

  /**
   * Prepares to fragment src[off, off+len) for a link of `mtu` octets. Returns 0, FRAG_MALFORMED or
   * FRAG_MTU_TOO_SMALL; after an error next() returns 0.
   */
  start(src: Uint8Array, off: number, len: number, mtu: number): number {
    this.totalData = 0;
    this.done = 0;
    if (len < IPV4_MIN_HEADER || src[off] >> 4 !== 4) return FRAG_MALFORMED;
    const hl = (src[off] & 0x0f) * 4;
    if (hl < IPV4_MIN_HEADER || hl > len || ((src[off + 2] << 8) | src[off + 3]) !== len) return FRAG_MALFORMED;
    // The later fragments' header: fixed part, then the options with the copied flag (bit 0x80 of the type).
    const lh = this.laterHeader;
    lh.set(src.subarray(off, off + IPV4_MIN_HEADER), 0);
    let n = IPV4_MIN_HEADER;
    for (let i = off + IPV4_MIN_HEADER; i < off + hl; ) {
      const type = src[i];
      if (type === 0) break; // End of Option List
      if (type === 1) {
        i++; // No Operation: not copied
        continue;
      }
      if (i + 1 >= off + hl) return FRAG_MALFORMED;
      const olen = src[i + 1];
      if (olen < 2 || i + olen > off + hl) return FRAG_MALFORMED;
      if (type & 0x80) {
        lh.set(src.subarray(i, i + olen), n);
        n += olen;
      }
      i += olen;
    }
    while (n & 3) lh[n++] = 0;
    lh[0] = 0x40 | (n >> 2);
    const dataLen = len - hl;
    const room = Math.min(mtu - hl, mtu - n);
    if (room < 8) return FRAG_MTU_TOO_SMALL;
    const fo = (src[off + 6] << 8) | src[off + 7];
    // A fragment whose data would end past offset 65535 cannot be expressed in 13 bits of 8-octet units (RFC 791):
    // splitting it further would spill into the flag bits.
    if ((fo & OFFSET_MASK) * 8 + dataLen > 0xffff) return FRAG_MALFORMED;
    this.src = src;
    this.off = off;
    this.hl = hl;
    this.laterHl = n;
    this.mtu = mtu;
    this.baseOffset = (fo & OFFSET_MASK) * 8;
    this.baseMf = (fo & FLAG_MF) !== 0;
    this.totalData = dataLen;
    return 0;
  }

  /** Writes the next fragment at dst[dstOff..] (room for `mtu` octets needed); returns its length, 0 when done. */
  next(dst: Uint8Array, dstOff: number): number {
    const remaining = this.totalData - this.done;
    if (remaining <= 0) return 0;
    const first = this.done === 0;
    const hl = first ? this.hl : this.laterHl;
    const room = (this.mtu - hl) & ~7; // every fragment but the last carries a multiple of 8 octets
    const chunk = remaining <= this.mtu - hl ? remaining : room;
    const last = chunk === remaining;
    if (first) dst.set(this.src.subarray(this.off, this.off + hl), dstOff);
    else dst.set(this.laterHeader.subarray(0, hl), dstOff);
    const total = hl + chunk;
    dst[dstOff + 2] = total >> 8;
    dst[dstOff + 3] = total & 0xff;
    const flagsDf = dst[dstOff + 6] & (FLAG_DF >> 8);
    const fo = ((this.baseOffset + this.done) >> 3) | (last && !this.baseMf ? 0 : FLAG_MF);
    dst[dstOff + 6] = flagsDf | (fo >> 8);
    dst[dstOff + 7] = fo & 0xff;
    writeHeaderChecksum(dst, dstOff, hl);
    const from = this.off + this.hl + this.done;
    dst.set(this.src.subarray(from, from + chunk), dstOff + hl);
    this.done += chunk;
    return total;
  }
}

/** RFC 1812 §4.3.2.7 / RFC 1122 §3.2.2: no ICMP error about these datagrams. */
function icmpErrorAllowed(b: Uint8Array, off: number, len: number, hl: number): boolean {
  const fo = (b[off + 6] << 8) | b[off + 7];
  if ((fo & OFFSET_MASK) !== 0) return false; // not the first fragment
  const src0 = b[off + 12];
  const srcAll = ((b[off + 12] << 24) | (b[off + 13] << 16) | (b[off + 14] << 8) | b[off + 15]) >>> 0;
  // Source 0.0.0.0/8 ("this network"), loopback, multicast/reserved or limited broadcast: no one to tell.
  if (src0 === 0 || src0 === 127 || src0 >= 224 || srcAll === 0xffffffff) return false;
  const dst0 = b[off + 16];
  if (dst0 >= 224) return false; // multicast or broadcast destination
  if (b[off + 9] === PROTO_ICMP && len >= hl + 1) {
    // An ICMP error message (Destination Unreachable, Source Quench, Redirect, Time Exceeded, Parameter Problem)
    // never causes another one; queries (echo, timestamp...) may.
    const t = b[off + hl];
    if (t === 3 || t === 4 || t === 5 || t === 11 || t === 12) return false;
  }
  return true;
}

/**
 * Writes at dst[dstOff..] an ICMP Destination Unreachable, code 4 ("fragmentation needed and DF set"), about the
 * datagram orig[off, off+len), carrying `nextHopMtu` in the second half of the unused field (RFC 1191 §4) and as
 * much of the datagram as fits in 576 octets (RFC 1812 §4.3.2.3). Returns its length (at most
 * ICMP_FRAG_NEEDED_MAX), or 0 when no ICMP error may be sent about that datagram (an ICMP error itself, a later
 * fragment, a multicast or broadcast address, a malformed header).
 *
 * Addresses: the message goes back to the datagram's source and comes *from the datagram's destination*. A
 * driver writes it into its TUN device, where the kernel takes it as arriving from the tunnel; a source address
 * of this host would be dropped there as a martian, while the destination is an address the host routes into
 * that same device, so reverse-path filtering accepts it. Hosts match a frag-needed message by the quoted
 * header, not by who sent it (RFC 1191 §3, RFC 1122 §3.2.2.1).
 */
export function icmpFragNeeded(orig: Uint8Array, off: number, len: number, nextHopMtu: number, dst: Uint8Array, dstOff: number): number {
  if (len < IPV4_MIN_HEADER || orig[off] >> 4 !== 4) return 0;
  const hl = (orig[off] & 0x0f) * 4;
  if (hl < IPV4_MIN_HEADER || hl > len) return 0;
  if (!icmpErrorAllowed(orig, off, len, hl)) return 0;
  const quote = Math.min(len, ICMP_ERROR_MAX - IPV4_MIN_HEADER - ICMP_HEADER);
  const total = IPV4_MIN_HEADER + ICMP_HEADER + quote;
  const o = dstOff;
  dst[o] = 0x45;
  dst[o + 1] = 0xc0; // precedence "internetwork control", as RFC 1812 §4.3.2.5 has routers use for ICMP errors
  dst[o + 2] = total >> 8;
  dst[o + 3] = total & 0xff;
  dst[o + 4] = 0; // Identification: 0, the datagram has DF set and is never fragmented (RFC 6864 §4.1)
  dst[o + 5] = 0;
  dst[o + 6] = FLAG_DF >> 8;
  dst[o + 7] = 0;
  dst[o + 8] = 64; // TTL
  dst[o + 9] = PROTO_ICMP;
  // source = the datagram's destination, destination = its source (see above)
  for (let i = 0; i < 4; i++) {
    dst[o + 12 + i] = orig[off + 16 + i];
    dst[o + 16 + i] = orig[off + 12 + i];
  }
  writeHeaderChecksum(dst, o, IPV4_MIN_HEADER);
  const c = o + IPV4_MIN_HEADER;
  dst[c] = 3; // Destination Unreachable
  dst[c + 1] = 4; // fragmentation needed and DF set
  dst[c + 2] = 0;
  dst[c + 3] = 0;
  dst[c + 4] = 0;
  dst[c + 5] = 0;
  dst[c + 6] = (nextHopMtu >> 8) & 0xff;
  dst[c + 7] = nextHopMtu & 0xff;
  dst.set(orig.subarray(off, off + quote), c + ICMP_HEADER);
  const ck = internetChecksum(dst, c, ICMP_HEADER + quote);
  dst[c + 2] = ck >> 8;
  dst[c + 3] = ck & 0xff;
  return total;
}
