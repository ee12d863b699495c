/**
 * The MS-CHAPv2 Change-Password packet (RFC 2759 §7), CHAP Code 7: what a peer sends after a Failure with
 * E=648 (password expired) to set a new password and log in with it in one step.
 *
 *   Code 7(1) Identifier(1) Length(2) = 586
 *   Encrypted-Password(516)  NewPasswordEncryptedWithOldNtPasswordHash (§8.9)
 *   Encrypted-Hash(16)       OldNtPasswordHashEncryptedWithNewNtPasswordHash (§8.12)
 *   Peer-Challenge(16) Reserved(8, zero)
 *   NT-Response(24)          GenerateNTResponse over the Failure's C= challenge with the NEW password (§7)
 *   Flags(2, zero)
 *
 * Pure codec. It lives beside the engines rather than in src/wire/chap.ts because only the authenticator (and a
 * test peer) ever handle it; the record aliases the input like parseChap's.
 */
import { type Result, ok, err } from "../../wire/result.js";
import { u16, put16 } from "../../wire/bytes.js";

export const CHAP_CHANGE_PASSWORD = 7;
/** RFC 2759 §7 "Length: 586". */
export const CHANGE_PASSWORD_LEN = 586;

export interface MsChapV2ChangePassword {
  readonly id: number;
  readonly encryptedPassword: Uint8Array;
  readonly encryptedHash: Uint8Array;
  readonly peerChallenge: Uint8Array;
  readonly ntResponse: Uint8Array;
  readonly flags: number;
}

/**
 * Parses a Change-Password packet. The Length field must be exactly 586; octets after it (PPP padding) are
 * ignored, as parseChap does. Reserved and Flags are "must be zero" fields that a receiver has no use for, so
 * they are not checked (Flags is returned for logs).
 */
export function parseMsChapV2ChangePassword(buf: Uint8Array): Result<MsChapV2ChangePassword> {
  if (buf.length < 4) return err("short", `MS-CHAPv2 Change-Password: packet of ${buf.length} octets is shorter than the 4-octet header`);
  if (buf[0] !== CHAP_CHANGE_PASSWORD) return err("bad-code", `MS-CHAPv2 Change-Password: Code ${buf[0]}, expected 7`);
  const length = u16(buf, 2);
  if (length !== CHANGE_PASSWORD_LEN) return err("bad-length", `MS-CHAPv2 Change-Password: Length field ${length}, RFC 2759 §7 says ${CHANGE_PASSWORD_LEN}`);
  if (buf.length < length) return err("short", `MS-CHAPv2 Change-Password: ${buf.length} octets received, Length says ${length}`);
  return ok({
    id: buf[1],
    encryptedPassword: buf.subarray(4, 520),
    encryptedHash: buf.subarray(520, 536),
    peerChallenge: buf.subarray(536, 552),
    ntResponse: buf.subarray(560, 584),
    flags: u16(buf, 584),
  });
}

/** Encodes a Change-Password packet. Throws RangeError on wrong field sizes (a caller bug). */
export function emitMsChapV2ChangePassword(p: MsChapV2ChangePassword): Uint8Array {
  const sizes: [Uint8Array, number, string][] = [
    [p.encryptedPassword, 516, "Encrypted-Password"],
    [p.encryptedHash, 16, "Encrypted-Hash"],
    [p.peerChallenge, 16, "Peer-Challenge"],
    [p.ntResponse, 24, "NT-Response"],
  ];
  for (const [v, n, name] of sizes) if (v.length !== n) throw new RangeError(`Change-Password ${name}: ${v.length} octets, must be ${n}`);
  const out = new Uint8Array(CHANGE_PASSWORD_LEN);
  out[0] = CHAP_CHANGE_PASSWORD;
  out[1] = p.id & 0xff;
  put16(out, 2, CHANGE_PASSWORD_LEN);
  out.set(p.encryptedPassword, 4);
  out.set(p.encryptedHash, 520);
  out.set(p.peerChallenge, 536);
  out.set(p.ntResponse, 560);
  put16(out, 584, p.flags & 0xffff);
  return out;
}
