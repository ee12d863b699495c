/**
 * What an authentication backend (local users, RADIUS, TACACS+) is asked and what it answers.
 *
 * The PPP authenticator engine (src/ppp/auth/server.ts) turns a peer's PAP/CHAP packet into an AuthRequest and
 * waits for an AuthResult, so a backend may take as long as a network round trip. The request carries exactly
 * what each method lets a verifier check: the clear password for PAP, the CHAP identifier/challenge/response for
 * CHAP-MD5 (RFC 1994 §2), and the challenges and responses for MS-CHAP (RFC 2433 §6, RFC 2759 §4).
 */
import { authMethodLabel, type AuthMethod } from "../wire/ppp-protocols.js";
import type { MppeMasterKeys } from "../crypto/mppe-keys.js";

/** `user` is always the name exactly as the peer sent it (it may carry a `DOMAIN\` prefix). */
export type AuthRequest =
  | { readonly method: "pap"; readonly user: string; readonly password: string }
  | {
      readonly method: "chap-md5";
      readonly user: string;
      /** CHAP Identifier: part of the hashed input, MD5(id || secret || challenge). */
      readonly id: number;
      readonly challenge: Uint8Array;
      readonly response: Uint8Array;
    }
  | {
      readonly method: "mschap-v1";
      readonly user: string;
      readonly challenge8: Uint8Array;
      readonly ntResponse24: Uint8Array;
      readonly lmResponse24: Uint8Array;
      /** The peer's "use NT response" flag (RFC 2433 §6); when false only the LM response counts. */
      readonly useNt: boolean;
    }
  | {
      readonly method: "mschap-v2";
      readonly user: string;
      readonly authChallenge16: Uint8Array;
      readonly peerChallenge16: Uint8Array;
      readonly ntResponse24: Uint8Array;
    };

export type AuthResult =
  | {
      readonly ok: true;
      /** MPPE master keys from the authenticator's (server's) perspective; MS-CHAP only (RFC 3079). */
      readonly mppe?: MppeMasterKeys;
      /** MS-CHAPv2 only, required there: "S=" + 40 upper-case hex digits (RFC 2759 §5) for mutual authentication. */
      readonly authenticatorResponse?: string;
      /** Addresses the backend allows or assigns for this user (chap-secrets' 4th column, RADIUS Framed-IP-Address). */
      readonly addresses?: readonly string[];
    }
  | {
      readonly ok: false;
      /** MS-CHAP error code (691 authentication failure, 649 no dial-in permission, ...; see wire/chap.ts). */
      readonly code: number;
      /** For logs: may name the real reason ("unknown user"); never sent to the peer verbatim. */
      readonly message: string;
    };

export interface Authenticator {
  verify(req: AuthRequest): Promise<AuthResult>;
}

/** Method names for logs, as operators know them. */
export { authMethodLabel };

