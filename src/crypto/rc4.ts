/**
 * RC4 stream cipher. MPPE (RFC 3078 §5-6) encrypts every PPP data packet with it and, in stateless mode, re-keys it
 * twice per packet (RFC 3078 §7.3), so both the key schedule and the keystream loop are on the hot path.
 * Node 20's OpenSSL 3 refuses RC4 without the process-wide legacy provider (see README.md in this folder).
 *
 * The state is one 256-entry table plus two indices; nothing is allocated after construction. The table is a
 * Uint8Array (256 bytes; an Int32Array was 1 KB per instance, several per session). It was an Int32Array when that
 * measured ~15% faster; on Node 20.20 the byte table is as fast or faster (issue 11, same process, best of 8 ×
 * 40,000 packets of 1400 bytes: keystream 509–521 MB/s against 491–497 with Int32Array, key schedule + packet as
 * stateless MPPE does it 441–449 against 401–418), so the smaller one wins.
 */
const IDENTITY = new Uint8Array(256).map((_, i) => i);

export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  /** Runs the key schedule with the first `keyLen` bytes of `key` (default: all of it) and rewinds the stream. */
  setKey(key: Uint8Array, keyLen: number = key.length): void {
    if (keyLen < 1 || keyLen > 256 || keyLen > key.length) {
      throw new RangeError(`RC4 key length must be 1..256 and within the key buffer (${key.length}), got ${keyLen}`);
    }
    const s = this.s;
    s.set(IDENTITY);
    let j = 0;
    if ((keyLen & (keyLen - 1)) === 0) {
      // Power-of-two lengths (MPPE's 8 and 16): the key index is a mask, and unrolling by 4 halved the cost of
      // the schedule, which stateless MPPE runs twice per packet (bench/run.ts).
      const m = keyLen - 1;
      for (let n = 0; n < 256; n += 4) {
        let t = s[n];
        j = (j + t + key[n & m]) & 0xff;
        s[n] = s[j];
        s[j] = t;
        t = s[n + 1];
        j = (j + t + key[(n + 1) & m]) & 0xff;
        s[n + 1] = s[j];
        s[j] = t;
        t = s[n + 2];
        j = (j + t + key[(n + 2) & m]) & 0xff;
        s[n + 2] = s[j];
        s[j] = t;
        t = s[n + 3];
        j = (j + t + key[(n + 3) & m]) & 0xff;
        s[n + 3] = s[j];
        s[j] = t;
      }
    } else {
      let k = 0;
      for (let n = 0; n < 256; n++) {
        const t = s[n];
        j = (j + t + key[k]) & 0xff;
        s[n] = s[j];
        s[j] = t;
        if (++k === keyLen) k = 0;
      }
    }
    this.i = 0;
    this.j = 0;
  }

  /**
   * XORs `len` keystream bytes over src[srcOff..] into dst[dstOff..], advancing the stream. `src` may be `dst`:
   * every byte is read before the same or a later position is written, so in-place (srcOff === dstOff) and
   * "shift towards the front" (dstOff < srcOff) both work.
   */
  process(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, len: number): void {
    const s = this.s;
    let i = this.i;
    let j = this.j;
    let n = 0;
    // Unrolled by 8: measured about twice as fast as the plain loop once the buffers are not compile-time
    // constants (bench/run.ts), presumably because V8 then spends less per byte on loop and bounds bookkeeping.
    const whole = len & ~7;
    for (; n < whole; n += 8) {
      const si = srcOff + n;
      const di = dstOff + n;
      i = (i + 1) & 0xff;
      let a = s[i];
      j = (j + a) & 0xff;
      let b = s[j];
      s[i] = b;
      s[j] = a;
      dst[di] = src[si] ^ s[(a + b) & 0xff];
      i = (i + 1) & 0xff;
      a = s[i];
      j = (j + a) & 0xff;
      b = s[j];
      s[i] = b;
      s[j] = a;
      dst[di + 1] = src[si + 1] ^ s[(a + b) & 0xff];
      i = (i + 1) & 0xff;
      a = s[i];
      j = (j + a) & 0xff;
      b = s[j];
      s[i] = b;
      s[j] = a;
      dst[di + 2] = src[si + 2] ^ s[(a + b) & 0xff];
      i = (i + 1) & 0xff;
      a = s[i];
      j = (j + a) & 0xff;
      b = s[j];
      s[i] = b;
      s[j] = a;
      dst[di + 3] = src[si + 3] ^ s[(a + b) & 0xff];
      i = (i + 1) & 0xff;
      a = s[i];
      j = (j + a) & 0xff;
      b = s[j];
      s[i] = b;
      s[j] = a;
      dst[di + 4] = src[si + 4] ^ s[(a + b) & 0xff];
      i = (i + 1) & 0xff;
      a = s[i];
      j = (j + a) & 0xff;
      b = s[j];
      s[i] = b;
      s[j] = a;
      dst[di + 5] = src[si + 5] ^ s[(a + b) & 0xff];
      i = (i + 1) & 0xff;
      a = s[i];
      j = (j + a) & 0xff;
      b = s[j];
      s[i] = b;
      s[j] = a;
      dst[di + 6] = src[si + 6] ^ s[(a + b) & 0xff];
      i = (i + 1) & 0xff;
      a = s[i];
      j = (j + a) & 0xff;
      b = s[j];
      s[i] = b;
      s[j] = a;
      dst[di + 7] = src[si + 7] ^ s[(a + b) & 0xff];
    }
    for (; n < len; n++) {
      i = (i + 1) & 0xff;
      const a = s[i];
      j = (j + a) & 0xff;
      const b = s[j];
      s[i] = b;
      s[j] = a;
      dst[dstOff + n] = src[srcOff + n] ^ s[(a + b) & 0xff];
    }
    this.i = i;
    this.j = j;
  }
}
