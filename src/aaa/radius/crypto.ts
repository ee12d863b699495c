/**
 * The shared-secret cryptography of RADIUS, all MD5-based (node:crypto; MD5 is in OpenSSL 3's default provider):
 *  - User-Password hiding (RFC 2865 §5.2), also the cipher of MS-CHAP-MPPE-Keys (RFC 2548 §2.4.1);
 *  - Response Authenticator (RFC 2865 §3) and the Accounting-Request authenticator (RFC 2866 §3), which
 *    Disconnect/CoA requests use too (RFC 5176 §3.1);
 *  - Message-Authenticator, HMAC-MD5 over the whole packet (RFC 3579 §3.2);
 *  - the salted key cipher of MS-MPPE-Send-Key / MS-MPPE-Recv-Key (RFC 2548 §2.4.2/2.4.3).
 * Pure: the caller provides random octets (request authenticators, salts).
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { type Result, ok, err } from "../../wire/result.js";
import { u16 } from "../../wire/bytes.js";
import { Attr } from "./dictionary.js";
import {
  type RadiusAttribute,
  RadiusCode,
  RADIUS_HEADER,
  attributeOffset,
  encodeRadius,
} from "./packet.js";

export type Secret = Uint8Array;

function md5(...parts: Uint8Array[]): Uint8Array {
  const h = createHash("md5");
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The RFC 2865 §5.2 chain: c(1) = p(1) xor MD5(S + seed), c(i) = p(i) xor MD5(S + c(i-1)). */
function chainEncrypt(plain: Uint8Array, secret: Secret, seed: Uint8Array): Uint8Array {
  const out = new Uint8Array(plain.length);
  let prev = seed;
  for (let i = 0; i < plain.length; i += 16) {
    const b = md5(secret, prev);
    for (let j = 0; j < 16; j++) out[i + j] = plain[i + j] ^ b[j];
    prev = out.subarray(i, i + 16);
  }
  return out;
}

function chainDecrypt(cipher: Uint8Array, secret: Secret, seed: Uint8Array): Uint8Array {
  const out = new Uint8Array(cipher.length);
  let prev = seed;
  for (let i = 0; i < cipher.length; i += 16) {
    const b = md5(secret, prev);
    for (let j = 0; j < 16; j++) out[i + j] = cipher[i + j] ^ b[j];
    prev = cipher.subarray(i, i + 16);
  }
  return out;
}

/** User-Password (RFC 2865 §5.2): the password NUL-padded to a multiple of 16 (at least 16, at most 128). */
export function hideUserPassword(password: Uint8Array, secret: Secret, requestAuthenticator: Uint8Array): Uint8Array {
  if (password.length > 128) throw new RangeError(`User-Password of ${password.length} octets exceeds 128`);
  const padded = new Uint8Array(Math.max(16, Math.ceil(password.length / 16) * 16));
  padded.set(password);
  return chainEncrypt(padded, secret, requestAuthenticator);
}

/** The inverse of hideUserPassword (for a server, and for tests); trailing NULs removed. */
export function recoverUserPassword(hidden: Uint8Array, secret: Secret, requestAuthenticator: Uint8Array): Result<Uint8Array> {
  if (hidden.length < 16 || hidden.length > 128 || hidden.length % 16 !== 0) {
    return err("bad-length", `User-Password of ${hidden.length} octets is not a multiple of 16 in 16..128`);
  }
  const plain = chainDecrypt(hidden, secret, requestAuthenticator);
  let end = plain.length;
  while (end > 0 && plain[end - 1] === 0) end--;
  return ok(plain.subarray(0, end));
}

/** MD5(Code + Identifier + Length + `vector` + Attributes + Secret) over an encoded packet. */
function authenticatorOver(raw: Uint8Array, vector: Uint8Array, secret: Secret): Uint8Array {
  const length = Math.min(u16(raw, 2), raw.length);
  return md5(raw.subarray(0, 4), vector, raw.subarray(RADIUS_HEADER, length), secret);
}

/** Response Authenticator (RFC 2865 §3): what a reply to a request with `requestAuthenticator` must carry. */
export function responseAuthenticator(raw: Uint8Array, requestAuthenticator: Uint8Array, secret: Secret): Uint8Array {
  return authenticatorOver(raw, requestAuthenticator, secret);
}

const ZERO16 = new Uint8Array(16);

/**
 * Request Authenticator of Accounting-Request (RFC 2866 §3), Disconnect-Request and CoA-Request (RFC 5176 §3.1):
 * MD5 over the packet with 16 zero octets in the Authenticator field, followed by the secret.
 */
export function accountingRequestAuthenticator(raw: Uint8Array, secret: Secret): Uint8Array {
  return authenticatorOver(raw, ZERO16, secret);
}

/**
 * Message-Authenticator (RFC 3579 §3.2): HMAC-MD5 keyed with the secret over the packet whose Authenticator field
 * holds `vector` and whose Message-Authenticator value is 16 zero octets. `vector` is the packet's own Request
 * Authenticator for Access-Request and Status-Server, the request's for a reply, and zeros for
 * Accounting-Request, Disconnect-Request and CoA-Request (RFC 5176 §3.1, as FreeRADIUS computes it).
 * Undefined when the packet has no Message-Authenticator.
 */
export function messageAuthenticator(raw: Uint8Array, vector: Uint8Array, secret: Secret): Uint8Array | undefined {
  const at = attributeOffset(raw, Attr.MessageAuthenticator);
  if (at < 0 || raw[at + 1] !== 18) return undefined;
  const length = Math.min(u16(raw, 2), raw.length);
  const copy = raw.slice(0, length);
  copy.set(vector, 4);
  copy.fill(0, at + 2, at + 18);
  return new Uint8Array(createHmac("md5", secret).update(copy).digest());
}

/** Where a request's Authenticator field comes from. */
function isAccessStyle(code: number): boolean {
  return code === RadiusCode.AccessRequest || code === RadiusCode.StatusServer;
}

export interface EncodeRequestOptions {
  /** Access-Request / Status-Server: the 16 random octets (RFC 2865 §3 "unpredictable and unique"). */
  readonly requestAuthenticator?: Uint8Array;
  /** Add a Message-Authenticator. Default: true for Access-Request and Status-Server, false otherwise. */
  readonly messageAuthenticator?: boolean;
}

/**
 * Encode a request ready to send. Access-Request/Status-Server carry `requestAuthenticator`; Accounting-,
 * Disconnect- and CoA-Requests get the RFC 2866 §3 authenticator. The Message-Authenticator, when added, is the
 * FIRST attribute: a forged reply cannot then prefix attributes to an HMAC-protected body (the Blast-RADIUS
 * advice, draft-ietf-radext-deprecating-radius).
 */
export function encodeRequest(
  code: number,
  identifier: number,
  attributes: readonly RadiusAttribute[],
  secret: Secret,
  opts: EncodeRequestOptions = {},
): Uint8Array {
  const access = isAccessStyle(code);
  const withMa = opts.messageAuthenticator ?? access;
  let vector: Uint8Array;
  if (access) {
    if (opts.requestAuthenticator?.length !== 16) throw new RangeError(`${code}: a 16-octet request authenticator is required`);
    vector = opts.requestAuthenticator;
  } else {
    vector = ZERO16;
  }
  const attrs = withMa ? [{ type: Attr.MessageAuthenticator, value: new Uint8Array(16) }, ...attributes.filter((a) => a.type !== Attr.MessageAuthenticator)] : attributes;
  const raw = encodeRadius({ code, identifier, authenticator: vector, attributes: attrs });
  if (withMa) raw.set(messageAuthenticator(raw, vector, secret)!, RADIUS_HEADER + 2);
  if (!access) raw.set(accountingRequestAuthenticator(raw, secret), 4);
  return raw;
}

/**
 * Encode a reply (Access-Accept/-Reject/-Challenge, Accounting-Response, Disconnect/CoA-ACK/-NAK) to the request
 * whose authenticator was `requestAuthenticator`. Message-Authenticator first when asked (default true for Access-*
 * replies, RFC 3579 §3.2 and the Blast-RADIUS fix).
 */
export function encodeResponse(
  code: number,
  identifier: number,
  requestAuthenticator: Uint8Array,
  attributes: readonly RadiusAttribute[],
  secret: Secret,
  opts: { readonly messageAuthenticator?: boolean } = {},
): Uint8Array {
  const withMa = opts.messageAuthenticator ?? (code === RadiusCode.AccessAccept || code === RadiusCode.AccessReject || code === RadiusCode.AccessChallenge);
  const attrs = withMa ? [{ type: Attr.MessageAuthenticator, value: new Uint8Array(16) }, ...attributes.filter((a) => a.type !== Attr.MessageAuthenticator)] : attributes;
  const raw = encodeRadius({ code, identifier, authenticator: requestAuthenticator, attributes: attrs });
  if (withMa) raw.set(messageAuthenticator(raw, requestAuthenticator, secret)!, RADIUS_HEADER + 2);
  raw.set(responseAuthenticator(raw, requestAuthenticator, secret), 4);
  return raw;
}

export type MessageAuthenticatorCheck = "absent" | "ok" | "bad";

export interface ResponseCheck {
  /** The Response Authenticator matches (RFC 2865 §3): the reply came from someone knowing the secret. */
  readonly authenticator: boolean;
  readonly messageAuthenticator: MessageAuthenticatorCheck;
}

function checkMa(raw: Uint8Array, vector: Uint8Array, secret: Secret): MessageAuthenticatorCheck {
  const at = attributeOffset(raw, Attr.MessageAuthenticator);
  if (at < 0) return "absent";
  const expected = messageAuthenticator(raw, vector, secret);
  if (expected === undefined) return "bad";
  return constantTimeEqual(expected, raw.subarray(at + 2, at + 18)) ? "ok" : "bad";
}

/** Check a reply against the request it answers. `raw` must be a datagram decodeRadius accepted. */
export function verifyResponse(raw: Uint8Array, requestAuthenticator: Uint8Array, secret: Secret): ResponseCheck {
  const expected = responseAuthenticator(raw, requestAuthenticator, secret);
  return {
    authenticator: constantTimeEqual(expected, raw.subarray(4, 20)),
    messageAuthenticator: checkMa(raw, requestAuthenticator, secret),
  };
}

/**
 * Check a received request. Accounting-, Disconnect- and CoA-Requests: the RFC 2866 §3 authenticator, and the
 * Message-Authenticator (zero vector) when present. Access-Request/Status-Server: only the Message-Authenticator
 * can be checked (`authenticator` is then true by definition).
 */
export function verifyRequest(raw: Uint8Array, secret: Secret): ResponseCheck {
  if (isAccessStyle(raw[0])) {
    return { authenticator: true, messageAuthenticator: checkMa(raw, raw.subarray(4, 20), secret) };
  }
  const expected = accountingRequestAuthenticator(raw, secret);
  return {
    authenticator: constantTimeEqual(expected, raw.subarray(4, 20)),
    messageAuthenticator: checkMa(raw, ZERO16, secret),
  };
}

/**
 * MS-MPPE-Send-Key / MS-MPPE-Recv-Key (RFC 2548 §2.4.2/2.4.3): Salt(2, high bit set) + ciphertext of
 * Key-Length(1) + Key + padding to a multiple of 16, chained as in §5.2 with the first block keyed by
 * MD5(S + Request-Authenticator + Salt). Returns the key (Key-Length octets).
 */
export function decryptMppeKey(value: Uint8Array, secret: Secret, requestAuthenticator: Uint8Array): Result<Uint8Array> {
  if (value.length < 18 || (value.length - 2) % 16 !== 0) {
    return err("bad-length", `MPPE key attribute of ${value.length} octets: needs a 2-octet salt and a multiple of 16`);
  }
  if ((value[0] & 0x80) === 0) return err("bad-salt", "MPPE key attribute: salt without its high bit set (RFC 2548 §2.4.2)");
  const seed = new Uint8Array(18);
  seed.set(requestAuthenticator, 0);
  seed.set(value.subarray(0, 2), 16);
  const plain = chainDecrypt(value.subarray(2), secret, seed);
  const keyLength = plain[0];
  if (keyLength === 0 || keyLength > plain.length - 1) {
    return err("bad-key-length", `MPPE key attribute: Key-Length ${keyLength} does not fit ${plain.length - 1} octets (wrong shared secret?)`);
  }
  return ok(plain.slice(1, 1 + keyLength));
}

/** The inverse of decryptMppeKey, for a RADIUS server (tests). `salt` must have its high bit set. */
export function encryptMppeKey(key: Uint8Array, secret: Secret, requestAuthenticator: Uint8Array, salt: number): Uint8Array {
  if ((salt & 0x8000) === 0) throw new RangeError("MPPE key salt needs its high bit set");
  const plain = new Uint8Array(Math.ceil((key.length + 1) / 16) * 16);
  plain[0] = key.length;
  plain.set(key, 1);
  const seed = new Uint8Array(18);
  seed.set(requestAuthenticator, 0);
  seed[16] = salt >>> 8;
  seed[17] = salt & 0xff;
  const cipher = chainEncrypt(plain, secret, seed);
  const out = new Uint8Array(2 + cipher.length);
  out[0] = salt >>> 8;
  out[1] = salt & 0xff;
  out.set(cipher, 2);
  return out;
}

/**
 * MS-CHAP-MPPE-Keys (RFC 2548 §2.4.1), MS-CHAPv1: LM-Key(8) + NT-Key(16) (+ padding), hidden like User-Password
 * with the Request Authenticator. What servers put in NT-Key is the NT password hash hash (MD4 of the NT hash,
 * RFC 3079 §2.3's NtPasswordHashHash: FreeRADIUS and pppd's radius plugin agree, the RFC's "NT hash" wording is
 * off); the 128-bit start key is derived from it and the challenge by the caller.
 */
export function decryptMsChapMppeKeys(
  value: Uint8Array,
  secret: Secret,
  requestAuthenticator: Uint8Array,
): Result<{ readonly lmKey: Uint8Array; readonly ntKey: Uint8Array }> {
  if (value.length < 32 || value.length % 16 !== 0) {
    return err("bad-length", `MS-CHAP-MPPE-Keys of ${value.length} octets: needs a multiple of 16, at least 32`);
  }
  const plain = chainDecrypt(value, secret, requestAuthenticator);
  return ok({ lmKey: plain.slice(0, 8), ntKey: plain.slice(8, 24) });
}

/** The inverse of decryptMsChapMppeKeys (tests). */
export function encryptMsChapMppeKeys(lmKey: Uint8Array, ntKey: Uint8Array, secret: Secret, requestAuthenticator: Uint8Array): Uint8Array {
  const plain = new Uint8Array(32);
  plain.set(lmKey.subarray(0, 8), 0);
  plain.set(ntKey.subarray(0, 16), 8);
  return chainEncrypt(plain, secret, requestAuthenticator);
}
