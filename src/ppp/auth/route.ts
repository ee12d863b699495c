/**
 * Which engine a received PAP/CHAP packet belongs to. Authentication may run in both directions on one link
 * (RFC 1994 "Security Considerations": not necessarily full duplex, not necessarily the same protocol), and both
 * directions share the protocol number, so the link demultiplexes on the Code octet:
 *  - to the authenticator (AuthServer): PAP Authenticate-Request (1), CHAP Response (2), MS-CHAPv2
 *    Change-Password (7, RFC 2759 §7);
 *  - to the peer (AuthClient): PAP Ack/Nak (2, 3), CHAP Challenge/Success/Failure (1, 3, 4).
 */
import { PPP_PAP, PPP_CHAP } from "../../wire/ppp-protocols.js";

export type AuthDirection = "to-authenticator" | "to-peer";

/** Undefined for other protocols or an empty payload. Does not validate the rest of the packet. */
export function authPacketDirection(protocol: number, payload: Uint8Array): AuthDirection | undefined {
  if (payload.length < 1) return undefined;
  const code = payload[0];
  if (protocol === PPP_PAP) return code === 1 ? "to-authenticator" : "to-peer";
  if (protocol === PPP_CHAP) return code === 2 || code === 7 ? "to-authenticator" : "to-peer";
  return undefined;
}
