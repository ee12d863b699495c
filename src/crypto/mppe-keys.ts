/**
 * MPPE start ("master session") keys from MS-CHAP credentials (RFC 3079 §2, §3) and the key-change primitive
 * GetNewKeyFromSHA (RFC 3078 §7.3 = RFC 3079 §2.4 Get_Key). These run once per session; the per-packet key
 * change uses the allocation-free twin in mppe-session-key.ts, which the tests check against `getNewKeyFromSha`.
 *
 * Errata handled here (each checked against the RFC's own sample values in test/crypto/mppe-keys.test.ts):
 * - RFC 3079 §2.5.3 step 3 prints the MS-CHAPv1 start key as "... ac ca ..."; the computed value (and the copy in
 *   step 4) is "... ac c1 ...".
 * - RFC 3079 §3.4 presents Magic2/Magic3 and the IsSend/IsServer choice confusingly; the rule that reproduces
 *   §3.5's SendStartKey is: server send = client receive = Magic3, server receive = client send = Magic2.
 * - RFC 3079 §3.5.2 labels the 56-bit sample ciphertext "rc4(SendSessionKey40, ...)" and prints its last byte as
 *   58; it is rc4(SendSessionKey56, ...) and the last byte is B8 (the 40-bit line is correct).
 */
import { md4 } from "./md4.js";
import { Rc4 } from "./rc4.js";
import { sha1 } from "./sha1.js";
import { lmPasswordHash, lmPasswordProblem } from "./mschap.js";

export type MppeBits = 40 | 56 | 128;

/** One start key per direction, from the perspective of the side that holds them. */
export interface MppeStartKeys {
  readonly send: Uint8Array;
  readonly recv: Uint8Array;
}

/**
 * 16-byte start ("master session") keys from the perspective of the side that holds them. `send`/`recv` key
 * 128-bit sessions, and 40/56-bit ones too (their first 8 bytes, RFC 3079 §3.1) unless `short` says otherwise.
 */
export interface MppeMasterKeys extends MppeStartKeys {
  /**
   * MS-CHAPv1 only: 40- and 56-bit sessions start from the LAN Manager password hash, not from `send`/`recv`
   * (RFC 3079 §2.1/§2.2). A string says why that hash is not available (only the NT hash is known, or the
   * password has no LM hash): 40/56-bit MPPE must then not be negotiated — keys that differ from the peer's bring
   * up a session that carries no data. See mppeStartKeys().
   */
  readonly short?: MppeStartKeys | string;
}

/** The start keys of a session of `bits` from these credentials, or why there are none for that strength. */
export function mppeStartKeys(keys: MppeMasterKeys, bits: MppeBits): MppeStartKeys | string {
  if (bits === 128 || keys.short === undefined) return keys;
  return keys.short;
}

/** Why these keys cannot run 40- or 56-bit sessions, or undefined when they can. */
export function mppeShortKeysProblem(keys: MppeMasterKeys): string | undefined {
  return typeof keys.short === "string" ? keys.short : undefined;
}

/** Session key length in bytes: 40- and 56-bit keys are 8 bytes with known leading bytes, 128-bit keys 16. */
export function mppeKeyLength(bits: MppeBits): 8 | 16 {
  return bits === 128 ? 16 : 8;
}

/** SHApad1 / SHSpad1: 40 zero bytes (RFC 3079 §2.4, §3.4). */
export const SHA_PAD1 = new Uint8Array(40);
/** SHApad2 / SHSpad2: 40 bytes of 0xF2. */
export const SHA_PAD2 = new Uint8Array(40).fill(0xf2);

/**
 * GetNewKeyFromSHA (RFC 3078 §7.3): first `keyLen` bytes of SHA-1(Start || pad1 || Session || pad2), each key cut
 * to `keyLen` bytes. Allocates; the hot path has its own copy.
 */
export function getNewKeyFromSha(startKey: Uint8Array, sessionKey: Uint8Array, keyLen: number): Uint8Array {
  return sha1(startKey.subarray(0, keyLen), SHA_PAD1, sessionKey.subarray(0, keyLen), SHA_PAD2).slice(0, keyLen);
}

/**
 * Lowers the effective strength of an 8-byte key (RFC 3078 §7.3, RFC 3079 §3.1/§3.2): 40-bit keys get D1 26 9E as
 * their first three bytes, 56-bit keys D1 as their first. 128-bit keys are left alone. In place.
 */
export function reduceKeyStrength(key: Uint8Array, bits: MppeBits): void {
  if (bits === 128) return;
  key[0] = 0xd1;
  if (bits === 40) {
    key[1] = 0x26;
    key[2] = 0x9e;
  }
}

/**
 * The first session key of a direction. RFC 3079 §3.1-3.3 (and §2.5 step 5): GetNewKeyFromSHA(Start, Start) and
 * then the strength reduction — without the RC4 "encrypt the interim key with itself" step that RFC 3078 §7.3
 * applies to every later key change. The RFC 3079 §3.5 samples (SendSessionKey40/56/128 and their "test message"
 * ciphertexts) only come out this way, and Linux ppp_mppe / pppd do the same.
 */
export function mppeInitialSessionKey(masterKey: Uint8Array, bits: MppeBits): Uint8Array {
  const keyLen = mppeKeyLength(bits);
  checkMasterKey(masterKey, keyLen);
  const key = getNewKeyFromSha(masterKey, masterKey, keyLen);
  reduceKeyStrength(key, bits);
  return key;
}

/**
 * One key change after the first (RFC 3078 §7.3): interim = GetNewKeyFromSHA(Start, Current); the new key is the
 * interim key RC4-encrypted under itself, then strength-reduced. Allocates; mirrors MppeSessionKey.changeKey.
 */
export function mppeNextSessionKey(masterKey: Uint8Array, currentKey: Uint8Array, bits: MppeBits): Uint8Array {
  const keyLen = mppeKeyLength(bits);
  checkMasterKey(masterKey, keyLen);
  const interim = getNewKeyFromSha(masterKey, currentKey, keyLen);
  const rc4 = new Rc4();
  rc4.setKey(interim, keyLen);
  const next = new Uint8Array(keyLen);
  rc4.process(interim, 0, next, 0, keyLen);
  reduceKeyStrength(next, bits);
  return next;
}

export function checkMasterKey(masterKey: Uint8Array, keyLen: number): void {
  if (masterKey.length < keyLen) {
    throw new RangeError(`MPPE master key needs at least ${keyLen} bytes, got ${masterKey.length}`);
  }
}

/**
 * MS-CHAPv1 start keys (RFC 3079 §2), the same for both directions (§2 Implementation Note: both come from the
 * credentials of the peer that was authenticated, and the challenge of the first authentication):
 *  - 128-bit (§2.3): Get_Start_Key = first 16 bytes of SHA-1(NtPasswordHashHash || NtPasswordHashHash ||
 *    Challenge), where Challenge is the authenticator's 8-byte CHAP challenge;
 *  - 40- and 56-bit (§2.1/§2.2): the LAN Manager password hash (LmPasswordHash, RFC 2433 §A.2), of which the
 *    session uses the first 8 bytes. No challenge enters: the key is constant per password (§5.1 warns about it).
 *
 * The 40/56-bit rule depends on the password alone, not on which response the peer sent: §2.1 says "MPPE uses a
 * derivative of the peer's LAN Manager password" with no condition on the "use NT" flag, RFC 2548 §2.4.1's
 * MS-CHAP-MPPE-Keys always carries the LM key next to the NT one, and mpd (which interoperates with Windows) takes
 * the LM hash from the password whatever the flag. A Windows 2000+ client sends only the NT response (LM response
 * zeroed, flag 1, as RFC 2433 §6 asks) and still keys 40/56-bit from the LM hash. So `password` decides: without
 * it (only the NT hash stored, `$NT$` in chap-secrets) or when it has no LM hash Windows would agree on
 * (lmPasswordProblem), `short` holds the reason instead of keys.
 *
 * pppd does not offer these keys at all: after MS-CHAPv1 it disables 40-bit MPPE ("Disabling 40-bit MPPE; MS-CHAP
 * LM not supported", seen from pppd 2.4.9 in our interop lab) and it has no 56-bit, so nothing here can differ
 * from pppd; 128-bit is the same everywhere. We follow the RFC and Windows, as mpd does.
 */
export function mppeKeysMschap1(ntHash: Uint8Array, challenge8: Uint8Array, password?: string): MppeMasterKeys {
  if (ntHash.length !== 16) throw new RangeError(`NT password hash must be 16 bytes, got ${ntHash.length}`);
  if (challenge8.length !== 8) throw new RangeError(`MS-CHAPv1 challenge must be 8 bytes, got ${challenge8.length}`);
  const hashHash = md4(ntHash);
  const start = sha1(hashHash, hashHash, challenge8).slice(0, 16);
  let short: MppeStartKeys | string;
  if (password === undefined) {
    short = "only the NT password hash is known, and MS-CHAPv1 40/56-bit keys come from the LAN Manager hash of the password (RFC 3079 §2.1)";
  } else {
    const problem = lmPasswordProblem(password);
    short = problem === undefined ? mppeKeysMschap1Lm(password) : `${problem}, and MS-CHAPv1 40/56-bit keys come from it (RFC 3079 §2.1)`;
  }
  return { send: start, recv: start.slice(), short };
}

/**
 * The RFC 3079 §2.1/§2.2 MS-CHAPv1 start keys of 40/56-bit sessions: the LM password hash in both directions
 * (sessions use its first 8 bytes). Computed for any password; mppeKeysMschap1 first checks that the password has
 * an LM hash the peer agrees on.
 */
export function mppeKeysMschap1Lm(password: string): MppeStartKeys {
  const lm = lmPasswordHash(password);
  return { send: lm, recv: lm.slice() };
}

/** Magic1 of RFC 3079 §3.4: "This is the MPPE Master Key". */
const MASTER_MAGIC = ascii("This is the MPPE Master Key");
/** Magic2: "On the client side, this is the send key; on the server side, it is the receive key." */
const MAGIC_CLIENT_SEND = ascii("On the client side, this is the send key; on the server side, it is the receive key.");
/** Magic3: "On the client side, this is the receive key; on the server side, it is the send key." */
const MAGIC_SERVER_SEND = ascii("On the client side, this is the receive key; on the server side, it is the send key.");

function ascii(s: string): Uint8Array {
  const b = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
  return b;
}

/** GetMasterKey (RFC 3079 §3.4): first 16 bytes of SHA-1(PasswordHashHash || NT-Response || Magic1). */
export function mschap2MasterKey(ntHash: Uint8Array, ntResponse24: Uint8Array): Uint8Array {
  if (ntHash.length !== 16) throw new RangeError(`NT password hash must be 16 bytes, got ${ntHash.length}`);
  if (ntResponse24.length !== 24) throw new RangeError(`NT-Response must be 24 bytes, got ${ntResponse24.length}`);
  return sha1(md4(ntHash), ntResponse24, MASTER_MAGIC).slice(0, 16);
}

/**
 * GetAsymmetricStartKey (RFC 3079 §3.4), 16 bytes: SHA-1(MasterKey || pad1 || magic || pad2). 40/56-bit sessions
 * use the first 8 bytes, which is exactly what the RFC's SessionKeyLength = 8 call returns.
 */
export function mschap2AsymmetricStartKey(masterKey: Uint8Array, isSend: boolean, isServer: boolean): Uint8Array {
  const magic = isSend === isServer ? MAGIC_SERVER_SEND : MAGIC_CLIENT_SEND;
  return sha1(masterKey.subarray(0, 16), SHA_PAD1, magic, SHA_PAD2).slice(0, 16);
}

/**
 * MS-CHAPv2 start keys (RFC 3079 §3): the two directions differ, and each side's send key is the other side's
 * receive key. `isServer` is true on the authenticator (the PPTP server), false on the peer.
 */
export function mppeKeysMschap2(ntHash: Uint8Array, ntResponse24: Uint8Array, isServer: boolean): MppeMasterKeys {
  const master = mschap2MasterKey(ntHash, ntResponse24);
  return {
    send: mschap2AsymmetricStartKey(master, true, isServer),
    recv: mschap2AsymmetricStartKey(master, false, isServer),
  };
}
