/**
 * Free space in a send queue that a producer may build one packet in, so that handing the packet to the queue's
 * sink costs no copy (issue 11 item 4: the copy into the GRE send queue and the one into the TUN write queue were
 * each ~0.5 µs of the server's ~6.5 µs per 1400-byte packet). The protocol layers see only this interface; the I/O
 * edge (src/io/gre-demux.ts, src/io/tun.ts) implements it over its packet arena.
 *
 * Use: `at = room(len)`, write at most `len` bytes anywhere in bytes[at, at + len), then pass the packet to the
 * queue's ordinary sink (GreDemux.send, TunDevice.write, or a ByteSink that ends there) as (bytes, off, n). The
 * queue recognises its own buffer and takes the packet where it is. Nothing else may be queued in between (the
 * producer does both synchronously); a room that is not used is simply not taken, so a packet that is dropped on
 * the way (a lost or late MPPE packet, a full send window) leaves nothing behind in the queue.
 */
export interface PacketRoom {
  /** The queue's buffer: every room is in it. */
  readonly bytes: Uint8Array;
  /** The offset of `len` free bytes in `bytes` (the queue is written first if it is full), or -1 when it has none. */
  room(len: number): number;
}

/**
 * Where a datagram decrypted into a TUN queue's room starts: 6 bytes in, so that behind the 2-byte PPP protocol
 * field (the usual, uncompressed one) the IP datagram begins 8-byte aligned, as the queue's copies placed it.
 */
export const IP_ROOM_LEAD = 6;
/** A frame's PPP and MPPE headers and protocol field at most, in front of the datagram (PppLink.sendIp: len + 8). */
export const FRAME_OVERHEAD = 8;
