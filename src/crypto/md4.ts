/**
 * MD4 message digest (RFC 1320). Broken as a hash, but MS-CHAP (RFC 2433 §A.6, RFC 2759 §8.3) defines the NT
 * password hash with it, and Node 20's OpenSSL 3 only offers MD4 behind the legacy provider — so we carry our own.
 * Called a few times per login; md4Into works in module scratch so a burst of logins allocates nothing here.
 */

/** Round-2 and round-3 additive constants, RFC 1320 §3.4 (sqrt(2) and sqrt(3) scaled to 2^30). */
const K2 = 0x5a827999;
const K3 = 0x6ed9eba1;

function rotl(x: number, s: number): number {
  return (x << s) | (x >>> (32 - s));
}

/** Processes one 64-byte block at `off`, updating the four-word state in place (RFC 1320 §3.4, "Step 4"). */
function md4Block(h: Int32Array, x: Int32Array, b: Uint8Array, off: number): void {
  // Words are little-endian (RFC 1320 §2: "low-order byte first").
  for (let i = 0; i < 16; i++) {
    const o = off + i * 4;
    x[i] = b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);
  }
  let a = h[0];
  let bb = h[1];
  let c = h[2];
  let d = h[3];

  // Round 1: F(X,Y,Z) = XY v not(X)Z, shifts 3,7,11,19, words in order.
  for (let i = 0; i < 16; i += 4) {
    a = rotl((a + ((bb & c) | (~bb & d)) + x[i]) | 0, 3);
    d = rotl((d + ((a & bb) | (~a & c)) + x[i + 1]) | 0, 7);
    c = rotl((c + ((d & a) | (~d & bb)) + x[i + 2]) | 0, 11);
    bb = rotl((bb + ((c & d) | (~c & a)) + x[i + 3]) | 0, 19);
  }
  // Round 2: G(X,Y,Z) = XY v XZ v YZ, shifts 3,5,9,13, words by column.
  for (let i = 0; i < 4; i++) {
    a = rotl((a + ((bb & c) | (bb & d) | (c & d)) + x[i] + K2) | 0, 3);
    d = rotl((d + ((a & bb) | (a & c) | (bb & c)) + x[i + 4] + K2) | 0, 5);
    c = rotl((c + ((d & a) | (d & bb) | (a & bb)) + x[i + 8] + K2) | 0, 9);
    bb = rotl((bb + ((c & d) | (c & a) | (d & a)) + x[i + 12] + K2) | 0, 13);
  }
  // Round 3: H(X,Y,Z) = X xor Y xor Z, shifts 3,9,11,15, words in bit-reversed order 0,8,4,12,2,10,6,14,...
  const order = ROUND3_ORDER;
  for (let i = 0; i < 4; i++) {
    const r = order[i];
    a = rotl((a + (bb ^ c ^ d) + x[r] + K3) | 0, 3);
    d = rotl((d + (a ^ bb ^ c) + x[r + 8] + K3) | 0, 9);
    c = rotl((c + (d ^ a ^ bb) + x[r + 4] + K3) | 0, 11);
    bb = rotl((bb + (c ^ d ^ a) + x[r + 12] + K3) | 0, 15);
  }

  h[0] = (h[0] + a) | 0;
  h[1] = (h[1] + bb) | 0;
  h[2] = (h[2] + c) | 0;
  h[3] = (h[3] + d) | 0;
}

/** Round 3 visits the words of each quadruple as [0,8,4,12], [2,10,6,14], [1,9,5,13], [3,11,7,15]. */
const ROUND3_ORDER = [0, 2, 1, 3];

/** Scratch for md4Into: the padded message (grown when a longer one comes), the state and the word schedule. */
let padBuf = new Uint8Array(128);
const H = new Int32Array(4);
const X = new Int32Array(16);

/**
 * MD4 of data[off..off+len) into out[oo..oo+16). Allocates nothing for messages up to 119 bytes (a password of
 * 59 characters in UTF-16LE); MS-CHAP hashes a password or a 16-byte hash at every login.
 */
export function md4Into(data: Uint8Array, off: number, len: number, out: Uint8Array, oo: number): void {
  // Padding (RFC 1320 §3.1-3.2): 0x80, zeros to 56 mod 64, then the bit length as 64-bit little-endian.
  const total = ((len + 8) >>> 6) * 64 + 64;
  if (padBuf.length < total) padBuf = new Uint8Array(total);
  const padded = padBuf;
  padded.set(data.subarray(off, off + len));
  padded.fill(0, len, total);
  padded[len] = 0x80;
  const bitsLo = (len * 8) >>> 0;
  const bitsHi = Math.floor(len / 0x20000000) >>> 0;
  const p = total - 8;
  for (let i = 0; i < 4; i++) {
    padded[p + i] = (bitsLo >>> (8 * i)) & 0xff;
    padded[p + 4 + i] = (bitsHi >>> (8 * i)) & 0xff;
  }

  const h = H;
  h[0] = 0x67452301;
  h[1] = 0xefcdab89 | 0;
  h[2] = 0x98badcfe | 0;
  h[3] = 0x10325476;
  for (let o = 0; o < total; o += 64) md4Block(h, X, padded, o);

  for (let i = 0; i < 4; i++) {
    const v = h[i];
    out[oo + i * 4] = v & 0xff;
    out[oo + i * 4 + 1] = (v >>> 8) & 0xff;
    out[oo + i * 4 + 2] = (v >>> 16) & 0xff;
    out[oo + i * 4 + 3] = (v >>> 24) & 0xff;
  }
}

/** MD4 of `data`: 16 bytes. */
export function md4(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16);
  md4Into(data, 0, data.length, out, 0);
  return out;
}
