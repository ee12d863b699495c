/**
 * One send batch's packet storage, shared by the GRE send queue (GreDemux) and the TUN write queue: packets are
 * copied in back to back, each at an 8-byte aligned offset (the copy loop and the kernel's copy both like it), and
 * handed to native code as (arena, offsets, lengths). Made once per queue; appending allocates nothing.
 */
/** Int32Array elements are in the platform's byte order; DataView reads are told which that is. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

export class PacketArena {
  readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  /** The last source buffer seen, as 32-bit words (the frame buffer every call shares: made once). */
  private srcBuffer: ArrayBufferLike | undefined;
  private srcWords: Int32Array | undefined;
  /** The last source buffer copied from at an unaligned offset, and a DataView over it (made once per buffer). */
  private viewBuffer: ArrayBufferLike | undefined;
  private srcView: DataView | undefined;
  /** Bytes in use (the next packet's offset). */
  used = 0;

  constructor(readonly capacity: number) {
    this.bytes = new Uint8Array(capacity);
    this.words = new Int32Array(this.bytes.buffer);
  }

  /** True when `len` more bytes still fit. */
  fits(len: number): boolean {
    return this.used + len <= this.capacity;
  }

  /**
   * Takes bytes[off, off+len) as a packet written in place (core/packet-room.ts): true when that span is free
   * (at or after `used`, inside the arena), false when it is not — the caller then copies or writes it directly.
   */
  claim(off: number, len: number): boolean {
    if (off < this.used || len < 0 || off + len > this.capacity) return false;
    this.used = (off + len + 7) & ~7;
    return true;
  }

  /** Copies buf[off, off+len) in and returns its offset; the caller checked fits(len). */
  append(buf: Uint8Array, off: number, len: number): number {
    const a = this.bytes;
    const at = this.used;
    let k = 0;
    const start = buf.byteOffset + off;
    if ((start & 3) === 0) {
      // Four bytes a step when the source allows it (the calls' shared frame buffer always does): the byte loop
      // alone was 8 % of the server's profile under bulk traffic, and set(subarray()) would allocate per packet.
      if (buf.buffer !== this.srcBuffer) {
        this.srcBuffer = buf.buffer;
        this.srcWords = new Int32Array(buf.buffer, 0, buf.buffer.byteLength >> 2);
      }
      const w = this.srcWords!;
      const d = this.words;
      const from = start >> 2;
      const to = at >> 2;
      const nw = len >> 2;
      for (let i = 0; i < nw; i++) d[to + i] = w[from + i];
      k = nw << 2;
    } else {
      // Unaligned: a decrypted datagram sits behind its 2-byte PPP protocol field (PppLink's and DataCall's
      // plaintext buffers), so every packet into the TUN queue came here and went byte by byte — ~2.7 µs a
      // 1400-byte packet, a third of the server's CPU per packet (bench/README.md "Cost per byte, session 8").
      // A DataView reads 32 bits at any offset.
      if (buf.buffer !== this.viewBuffer) {
        this.viewBuffer = buf.buffer;
        this.srcView = new DataView(buf.buffer);
      }
      const v = this.srcView!;
      const d = this.words;
      const to = at >> 2;
      const nw = len >> 2;
      for (let i = 0; i < nw; i++) d[to + i] = v.getInt32(start + 4 * i, LITTLE_ENDIAN);
      k = nw << 2;
    }
    for (; k < len; k++) a[at + k] = buf[off + k];
    this.used = (at + len + 7) & ~7;
    return at;
  }
}
