/**
 * MS-CHAP response computations: version 1 (RFC 2433 Appendix A) and version 2 (RFC 2759 §8).
 * Pure functions over bytes; the CHAP packet formats and the authentication state machine live in src/wire and
 * src/ppp. Names follow the RFC pseudo-code so each function can be checked against its section.
 */
import { utf8 } from "../wire/bytes.js";
import { desEncrypt7, desEncrypt7Into } from "./des.js";
import { md4 } from "./md4.js";
import { Rc4 } from "./rc4.js";
import { sha1 } from "./sha1.js";

/** UTF-16LE code units of `s`, no terminator: the "unicode-char" strings of RFC 2433 §A.6 / RFC 2759 §8.3. */
export function utf16le(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out[i * 2] = c & 0xff;
    out[i * 2 + 1] = c >>> 8;
  }
  return out;
}

/** NtPasswordHash (RFC 2433 §A.6, RFC 2759 §8.3): MD4 of the UTF-16LE password. */
export function ntPasswordHash(password: string): Uint8Array {
  return md4(utf16le(password));
}

/** HashNtPasswordHash (RFC 2759 §8.4): MD4 of the 16-byte NT hash. */
export function hashNtPasswordHash(ntHash: Uint8Array): Uint8Array {
  if (ntHash.length !== 16) throw new RangeError(`NT password hash must be 16 bytes, got ${ntHash.length}`);
  return md4(ntHash);
}

/** "KGS!@#$%", the known text DesHash encrypts (RFC 2433 §A.3). */
const LM_STD_TEXT = new Uint8Array([0x4b, 0x47, 0x53, 0x21, 0x40, 0x23, 0x24, 0x25]);

/** LAN Manager passwords hold at most 14 OEM characters (RFC 2433 §6, §A.2 "0-to-14-oem-char Password"). */
export const LM_PASSWORD_MAX = 14;

/**
 * LmPasswordHash (RFC 2433 §A.2): upper-case the password, NUL-pad/truncate to 14 characters, and DES-encrypt
 * "KGS!@#$%" (§A.3 DesHash) under each 7-byte half. LAN Manager passwords are OEM-code-page strings; we upper-case
 * ASCII letters only and map characters above 0xFF to '?', which matches Windows for ASCII passwords of up to 14
 * characters — the passwords lmPasswordProblem() accepts. Longer ones are truncated (as mpd and FreeRADIUS do).
 * Deprecated by RFC 2433 §6 itself; needed for MS-CHAPv1 peers that send only the LM response and for the
 * 40/56-bit MPPE keys of MS-CHAPv1 (RFC 3079 §2.1/§2.2).
 */
export function lmPasswordHash(password: string): Uint8Array {
  const oem = new Uint8Array(LM_PASSWORD_MAX);
  const n = Math.min(LM_PASSWORD_MAX, password.length);
  for (let i = 0; i < n; i++) {
    let c = password.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) c -= 0x20;
    else if (c > 0xff) c = 0x3f;
    oem[i] = c;
  }
  const out = new Uint8Array(16);
  out.set(desEncrypt7(oem.subarray(0, 7), LM_STD_TEXT), 0);
  out.set(desEncrypt7(oem.subarray(7, 14), LM_STD_TEXT), 8);
  return out;
}

/**
 * Why `password` has no LAN Manager hash a Windows peer would compute too, or undefined when it has one. Used where
 * a wrong guess is silent: MPPE keys derived from the LM hash (RFC 3079 §2.1) that differ from the peer's bring up
 * a session that carries no data. The reasons never quote the password.
 *  - Longer than 14 characters: LmPasswordHash is defined for "0-to-14-oem-char" passwords only (RFC 2433 §A.2;
 *    §6 "LAN Manager passwords are limited to 14 case-insensitive OEM characters").
 *  - Non-ASCII characters: the OEM form (and its upper case) depends on the code page of the peer's Windows
 *    locale (437, 850, 866, 932...), which the other side cannot know; ASCII is the same in all of them.
 */
export function lmPasswordProblem(password: string): string | undefined {
  if (password.length > LM_PASSWORD_MAX) {
    return `the password is longer than ${LM_PASSWORD_MAX} characters, so it has no LAN Manager hash (RFC 2433 §6)`;
  }
  for (let i = 0; i < password.length; i++) {
    if (password.charCodeAt(i) > 0x7f) {
      return "the password has non-ASCII characters, whose LAN Manager hash depends on the Windows code page of the peer";
    }
  }
  return undefined;
}

/**
 * ChallengeResponse (RFC 2433 §A.7, RFC 2759 §8.5): the 16-byte hash is zero-padded to 21 bytes and split into
 * three 7-byte DES keys, each encrypting the 8-byte challenge; the three blocks form the 24-byte response.
 */
export function challengeResponse(challenge8: Uint8Array, hash16: Uint8Array): Uint8Array {
  if (challenge8.length !== 8) throw new RangeError(`challenge must be 8 bytes, got ${challenge8.length}`);
  if (hash16.length !== 16) throw new RangeError(`password hash must be 16 bytes, got ${hash16.length}`);
  const z = ZPASSWORD_HASH;
  z.set(hash16);
  const out = new Uint8Array(24);
  for (let k = 0; k < 3; k++) desEncrypt7Into(z, k * 7, challenge8, 0, out, k * 8);
  return out;
}

/** ZPasswordHash of ChallengeResponse: the hash and five zero bytes (only the first 16 are ever written). */
const ZPASSWORD_HASH = new Uint8Array(21);

/** NtChallengeResponse (RFC 2433 §A.5), taking the NT hash rather than the password so stored hashes work. */
export function mschap1NtResponse(challenge8: Uint8Array, ntHash: Uint8Array): Uint8Array {
  return challengeResponse(challenge8, ntHash);
}

/** LmChallengeResponse (RFC 2433 §A.1). */
export function mschap1LmResponse(challenge8: Uint8Array, password: string): Uint8Array {
  return challengeResponse(challenge8, lmPasswordHash(password));
}

/**
 * The account name without a Windows domain prefix: "BIGCO\johndoe" -> "johndoe" (RFC 2433 §6 describes the
 * prefix; RFC 2759 §8.2 hashes the name "excluding any prepended domain name"). Everything up to the last
 * backslash is removed, so applying it twice is harmless.
 */
export function stripDomain(userName: string): string {
  const i = userName.lastIndexOf("\\");
  return i < 0 ? userName : userName.slice(i + 1);
}

/**
 * ChallengeHash (RFC 2759 §8.2): first 8 bytes of SHA-1(PeerChallenge || AuthenticatorChallenge || UserName).
 * The domain prefix is stripped here (via stripDomain) because §8.2 requires it and every caller would otherwise
 * have to remember; the name's bytes are its UTF-8 encoding (ASCII for every name Windows sends).
 */
export function mschap2ChallengeHash(
  peerChallenge16: Uint8Array,
  authChallenge16: Uint8Array,
  userName: string,
): Uint8Array {
  if (peerChallenge16.length !== 16) {
    throw new RangeError(`peer challenge must be 16 bytes, got ${peerChallenge16.length}`);
  }
  if (authChallenge16.length !== 16) {
    throw new RangeError(`authenticator challenge must be 16 bytes, got ${authChallenge16.length}`);
  }
  return sha1(peerChallenge16, authChallenge16, utf8(stripDomain(userName))).slice(0, 8);
}

/** GenerateNTResponse (RFC 2759 §8.1), from the NT hash. */
export function mschap2NtResponse(
  authChallenge16: Uint8Array,
  peerChallenge16: Uint8Array,
  userName: string,
  ntHash: Uint8Array,
): Uint8Array {
  return challengeResponse(mschap2ChallengeHash(peerChallenge16, authChallenge16, userName), ntHash);
}

/** "Magic server to client signing constant" (RFC 2759 §8.7 Magic1). */
const AUTH_MAGIC1 = utf8("Magic server to client signing constant");
/** "Pad to make it do more than one iteration" (RFC 2759 §8.7 Magic2). */
const AUTH_MAGIC2 = utf8("Pad to make it do more than one iteration");

/**
 * GenerateAuthenticatorResponse (RFC 2759 §8.7): "S=" followed by 40 upper-case hex digits, proving to the peer
 * that the authenticator also knows the password. Compare received values with `===` (the format is exact).
 */
export function mschap2AuthenticatorResponse(
  ntHash: Uint8Array,
  ntResponse24: Uint8Array,
  peerChallenge16: Uint8Array,
  authChallenge16: Uint8Array,
  userName: string,
): string {
  if (ntResponse24.length !== 24) throw new RangeError(`NT-Response must be 24 bytes, got ${ntResponse24.length}`);
  const digest1 = sha1(hashNtPasswordHash(ntHash), ntResponse24, AUTH_MAGIC1);
  const challenge = mschap2ChallengeHash(peerChallenge16, authChallenge16, userName);
  const digest2 = sha1(digest1, challenge, AUTH_MAGIC2);
  // The 42 characters written as octets and made one flat string: no toString and concatenation per digit, and no
  // rope of 21 pieces for whoever keeps the string (the server's AuthResult does, for the session).
  const t = AUTH_RESPONSE_TEXT;
  for (let i = 0; i < 20; i++) {
    t[2 + 2 * i] = HEX_DIGITS[digest2[i] >> 4];
    t[3 + 2 * i] = HEX_DIGITS[digest2[i] & 15];
  }
  return String.fromCharCode.apply(null, t as unknown as number[]);
}

/** "0123456789ABCDEF" as character codes. */
const HEX_DIGITS = Uint8Array.from("0123456789ABCDEF", (c) => c.charCodeAt(0));
/** "S=" and 40 hex digits (RFC 2759 §5), filled and read synchronously. */
const AUTH_RESPONSE_TEXT = Uint8Array.from("S=" + "0".repeat(40), (c) => c.charCodeAt(0));

/** Size of the datatype-PWBLOCK of RFC 2759 §8.9: 256 UTF-16 characters plus a 4-byte length. */
export const PW_BLOCK_SIZE = 516;

/**
 * EncryptPwBlockWithPasswordHash (RFC 2759 §8.10), used by a peer's Change-Password packet: the new password is
 * placed at the end of a 512-byte field of random filler, its byte length appended little-endian (§8.9 lays out
 * the 4-octet PasswordLength in host order, which is little-endian on every Windows platform), and the block
 * RC4-encrypted under the old NT hash. `random516` supplies the filler so tests are deterministic.
 */
export function encryptPwBlockWithPasswordHash(password: string, hash16: Uint8Array, random516: Uint8Array): Uint8Array {
  const pw = utf16le(password);
  if (pw.length > 512) throw new RangeError(`password longer than 256 characters (${password.length})`);
  if (random516.length < PW_BLOCK_SIZE) throw new RangeError(`need ${PW_BLOCK_SIZE} filler bytes, got ${random516.length}`);
  const block = random516.slice(0, PW_BLOCK_SIZE);
  block.set(pw, 512 - pw.length);
  block[512] = pw.length & 0xff;
  block[513] = (pw.length >>> 8) & 0xff;
  block[514] = 0;
  block[515] = 0;
  const rc4 = new Rc4();
  rc4.setKey(hash16);
  rc4.process(block, 0, block, 0, PW_BLOCK_SIZE);
  return block;
}

/**
 * The authenticator's inverse of encryptPwBlockWithPasswordHash: RC4-decrypts the 516-byte block under the old NT
 * hash and returns the new password, or undefined when the embedded length is impossible (wrong old password).
 */
export function decryptPwBlockWithPasswordHash(block516: Uint8Array, hash16: Uint8Array): string | undefined {
  if (block516.length !== PW_BLOCK_SIZE) return undefined;
  const clear = new Uint8Array(PW_BLOCK_SIZE);
  const rc4 = new Rc4();
  rc4.setKey(hash16);
  rc4.process(block516, 0, clear, 0, PW_BLOCK_SIZE);
  const len = clear[512] | (clear[513] << 8) | (clear[514] << 16) | (clear[515] << 24);
  if (len < 0 || len > 512 || len % 2 !== 0) return undefined;
  let s = "";
  for (let i = 512 - len; i < 512; i += 2) s += String.fromCharCode(clear[i] | (clear[i + 1] << 8));
  return s;
}

/**
 * NtPasswordHashEncryptedWithBlock (RFC 2759 §8.13): the 16-byte hash DES-encrypted in two halves under the first
 * and second 7 bytes of `block16`. Change-Password carries OldNtPasswordHashEncryptedWithNewNtPasswordHash
 * (§8.12) = ntPasswordHashEncryptedWithBlock(oldHash, newHash), which the authenticator recomputes and compares.
 */
export function ntPasswordHashEncryptedWithBlock(hash16: Uint8Array, block16: Uint8Array): Uint8Array {
  if (hash16.length !== 16 || block16.length < 14) {
    throw new RangeError(`need a 16-byte hash and a 14+-byte key block, got ${hash16.length} and ${block16.length}`);
  }
  const out = new Uint8Array(16);
  out.set(desEncrypt7(block16.subarray(0, 7), hash16.subarray(0, 8)), 0);
  out.set(desEncrypt7(block16.subarray(7, 14), hash16.subarray(8, 16)), 8);
  return out;
}

/**
 * NewPasswordEncryptedWithOldNtPasswordHash (RFC 2759 §8.9): the Encrypted-Password field of a Change-Password
 * packet (§7). Takes the old NT hash rather than the old password, so a stored hash works as it does elsewhere.
 */
export function newPasswordEncryptedWithOldNtPasswordHash(newPassword: string, oldNtHash: Uint8Array, random516: Uint8Array): Uint8Array {
  return encryptPwBlockWithPasswordHash(newPassword, oldNtHash, random516);
}

/**
 * OldNtPasswordHashEncryptedWithNewNtPasswordHash (RFC 2759 §8.12): the Encrypted-Hash field of a Change-Password
 * packet, which proves the peer knew the old password. Hashes in, as above.
 */
export function oldNtPasswordHashEncryptedWithNewNtPasswordHash(newNtHash: Uint8Array, oldNtHash: Uint8Array): Uint8Array {
  if (newNtHash.length !== 16) throw new RangeError(`new NT password hash must be 16 bytes, got ${newNtHash.length}`);
  return ntPasswordHashEncryptedWithBlock(oldNtHash, newNtHash);
}
