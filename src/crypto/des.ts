/**
 * Single-block DES encryption (FIPS 46-3) as MS-CHAP uses it: ChallengeResponse (RFC 2433 §A.7, RFC 2759 §8.5)
 * DES-encrypts the 8-byte challenge under three 7-byte slices of a password hash, and LmPasswordHash (RFC 2433
 * §A.2) encrypts "KGS!@#$%". Node 20's OpenSSL 3 refuses DES without the legacy provider, hence this file.
 *
 * The tables are the ones printed in FIPS 46-3, easy to check against it; the cipher derives faster tables from
 * them at load (below).
 */

/** FIPS 46-3 tables, 1-based bit numbers with bit 1 the most significant bit of the first byte. */
const IP = [
  58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24,
  16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31,
  23, 15, 7,
];
const FP = [
  40, 8, 48, 16, 56, 24, 64, 32, 39, 7, 47, 15, 55, 23, 63, 31, 38, 6, 46, 14, 54, 22, 62, 30, 37, 5, 45, 13, 53, 21,
  61, 29, 36, 4, 44, 12, 52, 20, 60, 28, 35, 3, 43, 11, 51, 19, 59, 27, 34, 2, 42, 10, 50, 18, 58, 26, 33, 1, 41, 9, 49,
  17, 57, 25,
];
const E = [
  32, 1, 2, 3, 4, 5, 4, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12, 13, 12, 13, 14, 15, 16, 17, 16, 17, 18, 19, 20, 21, 20, 21, 22,
  23, 24, 25, 24, 25, 26, 27, 28, 29, 28, 29, 30, 31, 32, 1,
];
const P = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25];
/** Permuted Choice 1: selects the 56 key bits (dropping parity bits 8, 16, ..., 64) into C0 || D0. */
const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36, 63, 55, 47,
  39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];
const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52, 31, 37, 47, 55, 30, 40,
  51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];
const SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];
/** S-boxes S1..S8, each 4 rows of 16, indexed [row * 16 + column]. */
const S = [
  [
    14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8, 4, 1, 14,
    8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
  ],
  [
    15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5, 0, 14, 7,
    11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
  ],
  [
    10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1, 13, 6, 4,
    9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
  ],
  [
    7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9, 10, 6, 9,
    0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
  ],
  [
    2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6, 4, 2, 1,
    11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
  ],
  [
    12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8, 9, 14, 15,
    5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
  ],
  [
    4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6, 1, 4, 11,
    13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
  ],
  [
    13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2, 7, 11, 4,
    1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
  ],
];

/*
 * The tables above stay the reference; the cipher below runs on 32-bit integers and tables derived from them once
 * at load, so a block costs a few hundred integer operations and no allocation. A login encrypts three blocks
 * (MS-CHAPv2's ChallengeResponse) and a server verifying thousands of logins a second pays for every one: the
 * bit-array version allocated some 70 small arrays per block and showed in a setup ramp's profile.
 *
 * Bit numbering: FIPS bit 1 of a 32-bit half is the most significant bit (bit 31 of the integer).
 */

/** SP[box * 64 + six]: S-box `box`'s output for the 6-bit input `six` (bits b1..b6, b1 high), placed and P-permuted. */
const SP = new Int32Array(8 * 64);
for (let box = 0; box < 8; box++) {
  for (let six = 0; six < 64; six++) {
    const row = ((six >>> 4) & 2) | (six & 1);
    const col = (six >>> 1) & 15;
    const v = S[box][row * 16 + col];
    // The four output bits are bits 4*box+1 .. 4*box+4 of the S output; P's output bit i is its input bit P[i].
    let out = 0;
    for (let i = 0; i < 32; i++) {
      const src = P[i] - 1;
      if (src >>> 2 !== box) continue;
      if ((v >>> (3 - (src & 3))) & 1) out |= 1 << (31 - i);
    }
    SP[box * 64 + six] = out;
  }
}

/** Round keys of the last call, 16 rounds × 8 six-bit groups; reused (one block is encrypted at a time). */
const KS = new Int32Array(16 * 8);
/** The key's 64 bits as two words (FIPS bits 1-32, 33-64). */
function bitOf(hi: number, lo: number, n: number): number {
  // n is 1-based over the 64-bit string.
  return n <= 32 ? (hi >>> (32 - n)) & 1 : (lo >>> (64 - n)) & 1;
}

function rotl28(x: number, n: number): number {
  return ((x << n) | (x >>> (28 - n))) & 0xfffffff;
}

/** The sixteen 48-bit round keys (FIPS 46-3, "Key Schedule Calculation") into KS, as 6-bit groups. */
function roundKeys(key8: Uint8Array): void {
  const hi = ((key8[0] << 24) | (key8[1] << 16) | (key8[2] << 8) | key8[3]) >>> 0;
  const lo = ((key8[4] << 24) | (key8[5] << 16) | (key8[6] << 8) | key8[7]) >>> 0;
  let c = 0;
  let d = 0;
  for (let i = 0; i < 28; i++) c = (c << 1) | bitOf(hi, lo, PC1[i]);
  for (let i = 28; i < 56; i++) d = (d << 1) | bitOf(hi, lo, PC1[i]);
  for (let r = 0; r < 16; r++) {
    c = rotl28(c, SHIFTS[r]);
    d = rotl28(d, SHIFTS[r]);
    // PC2 picks from C (positions 1-28) and D (29-56); bit 1 of C is bit 27 of the integer.
    for (let g = 0; g < 8; g++) {
      let six = 0;
      for (let j = 0; j < 6; j++) {
        const n = PC2[g * 6 + j];
        six = (six << 1) | (n <= 28 ? (c >>> (28 - n)) & 1 : (d >>> (56 - n)) & 1);
      }
      KS[r * 8 + g] = six;
    }
  }
}

/** Applies a 64-entry permutation table to the 64-bit value (hi, lo); the result lands in PERM_OUT[0..1]. */
const PERM_OUT = new Int32Array(2);
function permute64(hi: number, lo: number, table: readonly number[]): void {
  let a = 0;
  let b = 0;
  for (let i = 0; i < 32; i++) a = (a << 1) | bitOf(hi, lo, table[i]);
  for (let i = 32; i < 64; i++) b = (b << 1) | bitOf(hi, lo, table[i]);
  PERM_OUT[0] = a;
  PERM_OUT[1] = b;
}

/**
 * The cipher function f(R, K) (FIPS 46-3): E(R) taken six bits at a time — group g is bits 4g .. 4g+5 of R
 * (1-based, bit 0 meaning bit 32), i.e. R rotated left by 4g-1 and its top six bits — XORed with the round key's
 * group and looked up in SP, which has the S-box and P folded in.
 */
function feistel(r: number, round: number): number {
  const k = round * 8;
  let f = 0;
  for (let g = 0; g < 8; g++) {
    const rot = (4 * g + 31) & 31; // 31, 3, 7, ..., 27: never 0
    const six = ((r << rot) | (r >>> (32 - rot))) >>> 26;
    f ^= SP[g * 64 + (six ^ KS[k + g])];
  }
  return f;
}

/** DES-encrypts the block at clear[co..co+8) under key8 into out[oo..oo+8). Allocates nothing. */
export function desEncryptInto(key8: Uint8Array, clear: Uint8Array, co: number, out: Uint8Array, oo: number): void {
  roundKeys(key8);
  const hi = ((clear[co] << 24) | (clear[co + 1] << 16) | (clear[co + 2] << 8) | clear[co + 3]) >>> 0;
  const lo = ((clear[co + 4] << 24) | (clear[co + 5] << 16) | (clear[co + 6] << 8) | clear[co + 7]) >>> 0;
  permute64(hi, lo, IP);
  let l = PERM_OUT[0];
  let r = PERM_OUT[1];
  for (let round = 0; round < 16; round++) {
    const next = l ^ feistel(r, round);
    l = r;
    r = next;
  }
  // The halves are swapped before the final permutation (the output is R16 || L16).
  permute64(r >>> 0, l >>> 0, FP);
  const a = PERM_OUT[0];
  const b = PERM_OUT[1];
  out[oo] = a >>> 24;
  out[oo + 1] = a >>> 16;
  out[oo + 2] = a >>> 8;
  out[oo + 3] = a;
  out[oo + 4] = b >>> 24;
  out[oo + 5] = b >>> 16;
  out[oo + 6] = b >>> 8;
  out[oo + 7] = b;
}

/** DES-encrypts one 8-byte block under an 8-byte key (parity bits are ignored, as FIPS 46-3 allows). */
export function desEncrypt(key8: Uint8Array, clear8: Uint8Array): Uint8Array {
  if (key8.length !== 8) throw new RangeError(`DES key must be 8 bytes, got ${key8.length}`);
  if (clear8.length !== 8) throw new RangeError(`DES block must be 8 bytes, got ${clear8.length}`);
  const out = new Uint8Array(8);
  desEncryptInto(key8, clear8, 0, out, 0);
  return out;
}

/**
 * Spreads 56 key bits over 8 bytes, 7 bits per byte in the high positions, and sets each low bit so the byte has
 * odd parity (RFC 2433 §A.4 note and Appendix B.3; RFC 2759 §9.3 shows FC 15 6A F7 ED CD 6C -> FD 0B 5B 5E 7F 6E 34 D9).
 */
export function desExpandKey7(key7: Uint8Array): Uint8Array {
  if (key7.length !== 7) throw new RangeError(`7-byte DES key expected, got ${key7.length}`);
  const out = new Uint8Array(8);
  for (let i = 0; i < 8; i++) {
    // Bits 7i .. 7i+6 of the 56-bit string, read big-endian across the input bytes.
    let v = 0;
    for (let j = 0; j < 7; j++) {
      const bit = 7 * i + j;
      v = (v << 1) | ((key7[bit >>> 3] >>> (7 - (bit & 7))) & 1);
    }
    const byte = v << 1;
    out[i] = byte | (popcount7(v) & 1 ? 0 : 1);
  }
  return out;
}

function popcount7(v: number): number {
  let n = 0;
  for (let x = v; x !== 0; x >>>= 1) n += x & 1;
  return n;
}

/** RFC 2433 §A.4 / RFC 2759 §8.6 DesEncrypt(Clear, 7-octet Key): DES-ECB of one block under the expanded key. */
export function desEncrypt7(key7: Uint8Array, clear8: Uint8Array): Uint8Array {
  return desEncrypt(desExpandKey7(key7), clear8);
}

const KEY8 = new Uint8Array(8);

/**
 * desEncrypt7 without allocating: the 7-byte key at key[ko..ko+7), the block at clear[co..co+8), the result to
 * out[oo..oo+8). The parity bits desExpandKey7 sets are ignored by the cipher, so only the 7-bit groups are spread.
 */
export function desEncrypt7Into(key: Uint8Array, ko: number, clear: Uint8Array, co: number, out: Uint8Array, oo: number): void {
  const hi = ((key[ko] << 24) | (key[ko + 1] << 16) | (key[ko + 2] << 8) | key[ko + 3]) >>> 0;
  const lo = ((key[ko + 4] << 16) | (key[ko + 5] << 8) | key[ko + 6]) >>> 0;
  // 56 bits = hi (32) then lo (24); group i is bits 7i .. 7i+6, placed in the high seven bits of byte i.
  for (let i = 0; i < 8; i++) {
    const bit = 7 * i;
    let v: number;
    if (bit + 7 <= 32) v = (hi >>> (25 - bit)) & 0x7f;
    else if (bit >= 32) v = (lo >>> (24 - (bit - 32) - 7)) & 0x7f;
    else v = ((hi << (bit + 7 - 32)) | (lo >>> (24 - (bit + 7 - 32)))) & 0x7f;
    KEY8[i] = v << 1;
  }
  desEncryptInto(KEY8, clear, co, out, oo);
}
