/**
 * Single-block DES encryption (FIPS 46-3) as MS-CHAP uses it: ChallengeResponse (RFC 2433 §A.7, RFC 2759 §8.5)
 * DES-encrypts the 8-byte challenge under three 7-byte slices of a password hash, and LmPasswordHash (RFC 2433
 * §A.2) encrypts "KGS!@#$%". Node 20's OpenSSL 3 refuses DES without the legacy provider, hence this file.
 *
 * At most five blocks are encrypted per login, so the algorithm is written as the standard's bit permutations over
 * a 64-entry bit array: slow, but each table is the one printed in FIPS 46-3 and easy to check against it.
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

function toBits(bytes: Uint8Array): Uint8Array {
  const bits = new Uint8Array(bytes.length * 8);
  for (let i = 0; i < bits.length; i++) bits[i] = (bytes[i >>> 3] >>> (7 - (i & 7))) & 1;
  return bits;
}

function fromBits(bits: Uint8Array): Uint8Array {
  const out = new Uint8Array(bits.length >>> 3);
  for (let i = 0; i < bits.length; i++) out[i >>> 3] |= bits[i] << (7 - (i & 7));
  return out;
}

function permute(bits: Uint8Array, table: readonly number[]): Uint8Array {
  const out = new Uint8Array(table.length);
  for (let i = 0; i < table.length; i++) out[i] = bits[table[i] - 1];
  return out;
}

function rotateLeft28(half: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(28);
  for (let i = 0; i < 28; i++) out[i] = half[(i + n) % 28];
  return out;
}

/** The sixteen 48-bit round keys (FIPS 46-3, "Key Schedule Calculation"). */
function roundKeys(key8: Uint8Array): Uint8Array[] {
  const cd = permute(toBits(key8), PC1);
  let c = cd.subarray(0, 28);
  let d = cd.subarray(28, 56);
  const keys: Uint8Array[] = [];
  for (let r = 0; r < 16; r++) {
    c = rotateLeft28(c, SHIFTS[r]);
    d = rotateLeft28(d, SHIFTS[r]);
    const joined = new Uint8Array(56);
    joined.set(c, 0);
    joined.set(d, 28);
    keys.push(permute(joined, PC2));
  }
  return keys;
}

/** The cipher function f(R, K): expand, mix in the round key, S-box substitution, permute. */
function feistel(r: Uint8Array, k: Uint8Array): Uint8Array {
  const x = permute(r, E);
  for (let i = 0; i < 48; i++) x[i] ^= k[i];
  const s = new Uint8Array(32);
  for (let box = 0; box < 8; box++) {
    const b = box * 6;
    const row = (x[b] << 1) | x[b + 5];
    const col = (x[b + 1] << 3) | (x[b + 2] << 2) | (x[b + 3] << 1) | x[b + 4];
    const v = S[box][row * 16 + col];
    for (let j = 0; j < 4; j++) s[box * 4 + j] = (v >>> (3 - j)) & 1;
  }
  return permute(s, P);
}

/** DES-encrypts one 8-byte block under an 8-byte key (parity bits are ignored, as FIPS 46-3 allows). */
export function desEncrypt(key8: Uint8Array, clear8: Uint8Array): Uint8Array {
  if (key8.length !== 8) throw new RangeError(`DES key must be 8 bytes, got ${key8.length}`);
  if (clear8.length !== 8) throw new RangeError(`DES block must be 8 bytes, got ${clear8.length}`);
  const keys = roundKeys(key8);
  const lr = permute(toBits(clear8), IP);
  let l = lr.slice(0, 32);
  let r = lr.slice(32, 64);
  for (let round = 0; round < 16; round++) {
    const f = feistel(r, keys[round]);
    const next = new Uint8Array(32);
    for (let i = 0; i < 32; i++) next[i] = l[i] ^ f[i];
    l = r;
    r = next;
  }
  // The halves are swapped before the final permutation (the output is R16 || L16).
  const preOutput = new Uint8Array(64);
  preOutput.set(r, 0);
  preOutput.set(l, 32);
  return fromBits(permute(preOutput, FP));
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
