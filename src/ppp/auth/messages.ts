/**
 * Text the authenticator puts on the wire. Deliberately generic: the verifier's detailed reason ("unknown user",
 * "bad password") goes to logs only, so a peer cannot probe which accounts exist.
 */
import { MSCHAP_ERROR_AUTHENTICATION_FAILURE, mschapErrorText } from "../../wire/chap.js";

export const ACCESS_GRANTED = "Access granted";
export const AUTHENTICATION_FAILED = "Authentication failed";

/** Peer-visible text for a failure code: 691 is generic; the others (646 logon hours, 647 disabled...) say what. */
export function failureText(code: number): string {
  if (code === MSCHAP_ERROR_AUTHENTICATION_FAILURE) return AUTHENTICATION_FAILED;
  const t = mschapErrorText(code);
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/** MS-CHAPv2 Failure "V=": the password-change protocol version, 3 for MS-CHAPv2 (RFC 2759 §6). */
export const MSCHAP_V2_CHANGE_PASSWORD_VERSION = 3;
