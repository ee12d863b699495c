/**
 * The classic libpcap file format (the "pcap" of tcpdump/Wireshark; draft-ietf-opsawg-pcap §4-5): a 24-octet file
 * header, then per packet a 16-octet record header and the packet's octets. Pure: bytes in, bytes out.
 *
 * Link type. `pptp-ts capture` writes LINKTYPE_PPP_WITH_DIR (204): each packet is one direction octet (0 received
 * from the peer, 1 sent to it), then a PPP frame as RFC 1661 describes it (here always the uncompressed two-octet
 * protocol field, then the information field). Chosen over LINKTYPE_RAW (101) and LINKTYPE_PPP (9) because one
 * format carries both the decrypted IP datagrams (protocol 0x0021) and, with --control, LCP/PAP/CHAP/IPCP/CCP, with
 * the same dissector in tshark (ip.src, icmp.type, lcp, chap … all work), and because tshark shows the direction
 * (frame.p2p_dir: 1 received, 0 sent; "DCE->DTE"), which raw IP and LINKTYPE_PPP cannot say. LINKTYPE_PPP_PPPD
 * (166), which also has a direction, is not read by tshark 4.0 ("network type 166 unknown or unsupported").
 *
 * Byte order: little-endian, microsecond timestamps (magic 0xA1B2C3D4 written LE); every reader handles either.
 */

export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;
/** Microsecond-resolution pcap magic number. */
export const PCAP_MAGIC = 0xa1b2c3d4;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_PPP = 9;
export const LINKTYPE_PPP_WITH_DIR = 204;
/** The direction octet of LINKTYPE_PPP_WITH_DIR. */
export const PCAP_DIR_RECEIVED = 0;
export const PCAP_DIR_SENT = 1;
/** Snapshot length we announce: nothing is truncated (PPTP frames are a few kilobytes at most). */
export const PCAP_SNAPLEN = 65535;

/** The 24-octet file header (version 2.4, thiszone 0, sigfigs 0). */
export function pcapFileHeader(linkType: number, snaplen: number = PCAP_SNAPLEN): Uint8Array {
  const out = new Uint8Array(PCAP_FILE_HEADER_LEN);
  const v = new DataView(out.buffer);
  v.setUint32(0, PCAP_MAGIC, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true);
  v.setUint32(12, 0, true);
  v.setUint32(16, snaplen >>> 0, true);
  v.setUint32(20, linkType >>> 0, true);
  return out;
}

/**
 * Writes one record header at dst[off..off+16): the time (milliseconds since the Unix epoch, fractions kept to the
 * microsecond), the captured length and the original length.
 */
export function writePcapRecordHeader(dst: Uint8Array, off: number, timeMs: number, capLen: number, origLen: number): void {
  const t = Math.max(0, timeMs);
  let sec = Math.floor(t / 1000);
  let usec = Math.round((t - sec * 1000) * 1000);
  if (usec >= 1_000_000) {
    sec += 1;
    usec -= 1_000_000;
  }
  const v = new DataView(dst.buffer, dst.byteOffset + off, PCAP_RECORD_HEADER_LEN);
  v.setUint32(0, sec >>> 0, true);
  v.setUint32(4, usec, true);
  v.setUint32(8, capLen >>> 0, true);
  v.setUint32(12, origLen >>> 0, true);
}

/** Octets of a LINKTYPE_PPP_WITH_DIR record whose information field is `len` octets long (record header included). */
export function pppRecordLength(len: number): number {
  return PCAP_RECORD_HEADER_LEN + 3 + len;
}

/**
 * One complete LINKTYPE_PPP_WITH_DIR record: record header, direction, the two-octet `protocol`, then
 * src[off..off+len) as the information field. Allocates the record (capture runs only on request).
 */
export function pppRecord(timeMs: number, direction: number, protocol: number, src: Uint8Array, off: number, len: number): Uint8Array {
  const out = new Uint8Array(pppRecordLength(len));
  writePcapRecordHeader(out, 0, timeMs, len + 3, len + 3);
  const h = PCAP_RECORD_HEADER_LEN;
  out[h] = direction === PCAP_DIR_RECEIVED ? PCAP_DIR_RECEIVED : PCAP_DIR_SENT;
  out[h + 1] = (protocol >> 8) & 0xff;
  out[h + 2] = protocol & 0xff;
  out.set(src.subarray(off, off + len), h + 3);
  return out;
}
