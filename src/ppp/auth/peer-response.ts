/**
 * The peer's side of the CHAP family: the Response value for a received Challenge, per method.
 * Pure functions over credentials; the AuthClient engine does the packet handling around them.
 */
import { chapMd5Response } from "../../aaa/verify-secret.js";
import { mschap1NtResponse, mschap2NtResponse, stripDomain } from "../../crypto/mschap.js";
import { emitMsChapV1Response, emitMsChapV2Response } from "../../wire/chap.js";

/** CHAP-MD5 (RFC 1994 §2): MD5(Identifier || secret || challenge). */
export function chapMd5ResponseValue(id: number, password: string, challenge: Uint8Array): Uint8Array {
  return chapMd5Response(id, password, challenge);
}

/**
 * MS-CHAPv1 (RFC 2433 §6): only the NT response. The LM response is deprecated ("peers SHOULD NOT generate it,
 * and the sub-field SHOULD be zero-filled") and the use-NT flag is set.
 */
export function mschapV1ResponseValue(challenge8: Uint8Array, ntHash: Uint8Array): { value: Uint8Array; ntResponse: Uint8Array } {
  const ntResponse = mschap1NtResponse(challenge8, ntHash);
  return { value: emitMsChapV1Response({ lmResponse: new Uint8Array(24), ntResponse, useNt: true }), ntResponse };
}

/**
 * MS-CHAPv2 (RFC 2759 §4): peer challenge, 8 zero octets, NT response over the account name without domain
 * (RFC 2759 §8.2), flags 0.
 */
export function mschapV2ResponseValue(
  authChallenge16: Uint8Array,
  peerChallenge16: Uint8Array,
  userName: string,
  ntHash: Uint8Array,
): { value: Uint8Array; ntResponse: Uint8Array } {
  const ntResponse = mschap2NtResponse(authChallenge16, peerChallenge16, stripDomain(userName), ntHash);
  return { value: emitMsChapV2Response({ peerChallenge: peerChallenge16, ntResponse, flags: 0 }), ntResponse };
}
