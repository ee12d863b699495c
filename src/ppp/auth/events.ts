/**
 * What the authentication engines hand back to their driver: packets to send and events to act on.
 */
import type { AuthMethod } from "../../wire/ppp-protocols.js";
import type { AuthRequest } from "../../aaa/types.js";
import type { MppeMasterKeys } from "../../crypto/mppe-keys.js";

/** One PAP (0xC023) or CHAP (0xC223) packet, without PPP header; the link adds framing. */
export interface AuthTransmit {
  readonly protocol: number;
  readonly payload: Uint8Array;
}

/**
 * Why authentication ended badly:
 *  - "rejected": the credentials were checked and refused (or the server said so, on the client side);
 *  - "timeout": the other side stopped answering;
 *  - "protocol": the other side sent something unusable (malformed MS-CHAP value, missing/bad S= value).
 */
export type AuthFailureReason = "rejected" | "timeout" | "protocol";

export type AuthServerEvent =
  /** Check these credentials, then call `completeVerification(now, result)`. */
  | { readonly type: "verify"; readonly request: AuthRequest }
  | {
      readonly type: "success";
      /** Name as the peer sent it (may include `DOMAIN\`). */
      readonly user: string;
      readonly method: AuthMethod;
      /** Server-perspective MPPE master keys, when the verifier produced them (MS-CHAP). */
      readonly mppe?: MppeMasterKeys;
      readonly addresses?: readonly string[];
      /** The peer logged in with a new password it set by Change-Password (RFC 2759 §7). */
      readonly passwordChanged?: true;
    }
  /**
   * The backend said the password expired (648): Failure E=648 was sent and authentication continues if the peer
   * sends a Change-Password within `waitMs` (RFC 2759 §7); otherwise a "failure" event follows. For logs.
   */
  | { readonly type: "password-expired"; readonly user: string; readonly method: AuthMethod; readonly message: string; readonly waitMs: number }
  | {
      readonly type: "failure";
      /** Undefined when the peer never identified itself (timeout before any answer). */
      readonly user: string | undefined;
      readonly method: AuthMethod;
      /** MS-CHAP error code (691 etc.), also used for PAP/CHAP-MD5 and timeouts. */
      readonly code: number;
      /** For logs: the verifier's real reason, or what went wrong on the wire. */
      readonly message: string;
      readonly reason: AuthFailureReason;
    }
  /** A packet that was dropped, and why (wrong identifier, not for this side...): for debug logs only. */
  | { readonly type: "discarded"; readonly reason: string };

export type AuthClientEvent =
  | {
      readonly type: "success";
      readonly method: AuthMethod;
      /** Client-perspective MPPE master keys (MS-CHAP): client.send equals server.recv. */
      readonly mppe?: MppeMasterKeys;
      /** The server's message (PAP Ack text, CHAP Success text, MS-CHAPv2 M= text). */
      readonly message: string;
    }
  | {
      readonly type: "failure";
      readonly method: AuthMethod;
      /** MS-CHAP E= code; 691 for PAP, CHAP-MD5, timeouts and mutual-authentication failure. */
      readonly code: number;
      readonly message: string;
      /** MS-CHAP R=1: the server would accept another Response with new credentials. */
      readonly retryAllowed?: boolean;
      readonly reason: AuthFailureReason;
    }
  | { readonly type: "discarded"; readonly reason: string };
