/**
 * What an authentication backend (local users, RADIUS, TACACS+) is asked and what it answers.
 *
 * The PPP authenticator engine (src/ppp/auth/server.ts) turns a peer's PAP/CHAP packet into an AuthRequest and
 * waits for an AuthResult, so a backend may take as long as a network round trip. The request carries exactly
 * what each method lets a verifier check: the clear password for PAP, the CHAP identifier/challenge/response for
 * CHAP-MD5 (RFC 1994 §2), and the challenges and responses for MS-CHAP (RFC 2433 §6, RFC 2759 §4).
 */
import { authMethodLabel, type AuthMethod } from "../wire/ppp-protocols.js";
import type { MppeMasterKeys, MppeBits } from "../crypto/mppe-keys.js";

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
      /**
       * Present when this is a password change (RFC 2759 §7, after a Failure with E=648): then authChallenge16 is
       * the C= challenge of that Failure, and ntResponse24 was computed with the NEW password. A backend that
       * cannot change passwords refuses with 709 (ERROR_CHANGING_PASSWORD); RADIUS sends it as RFC 2548's
       * MS-CHAP2-CPW and MS-CHAP-NT-Enc-PW.
       */
      readonly passwordChange?: {
        /** Identifier of the PPP Change-Password packet (RFC 2548 MS-CHAP2-CPW's Ident). */
        readonly id: number;
        /** NewPasswordEncryptedWithOldNtPasswordHash (RFC 2759 §8.9), 516 octets. */
        readonly encryptedPassword516: Uint8Array;
        /** OldNtPasswordHashEncryptedWithNewNtPasswordHash (RFC 2759 §8.12), 16 octets. */
        readonly encryptedHash16: Uint8Array;
      };
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
      /** What the backend says about the session beyond the address (RADIUS reply attributes, TACACS+ authorization). */
      readonly session?: SessionPolicy;
      /** Which backend answered, for logs and `show sessions`: "local", "radius 10.0.0.5:1812", "tacacs+ 10.0.0.6". */
      readonly backend?: string;
    }
  | {
      readonly ok: false;
      /** MS-CHAP error code (691 authentication failure, 649 no dial-in permission, ...; see wire/chap.ts). */
      readonly code: number;
      /** For logs: may name the real reason ("unknown user"); never sent to the peer verbatim. */
      readonly message: string;
      /** The backend could not be asked at all (no server answered in time): a chain may try its next backend. */
      readonly unreachable?: boolean;
      /** Which backend answered (see the ok variant). */
      readonly backend?: string;
    };

/**
 * The call a request is about: what RADIUS (RFC 2865 §5, RFC 2868 §3) and TACACS+ (RFC 8907 §5) requests say of
 * it. Optional for backends that hold their own secrets (local users ignore it).
 */
export interface AuthContext {
  /** Acct-Session-Id: unique per session and per process start, the same in every AAA message of the session. */
  readonly sessionId: string;
  /** Our PPTP Call ID: NAS-Port. */
  readonly callId: number;
  /** The client's public address: Calling-Station-Id and Tunnel-Client-Endpoint. */
  readonly peerAddress: string;
  /** Our address its control connection reached: Called-Station-Id and Tunnel-Server-Endpoint. */
  readonly localAddress: string;
}

export interface Authenticator {
  verify(req: AuthRequest, ctx?: AuthContext): Promise<AuthResult>;
}

/**
 * What an AAA backend decides about one session besides yes/no (RADIUS RFC 2865 §5, RFC 2869, RFC 2548; TACACS+
 * authorization AV pairs, RFC 8907 §8). Every field is optional: absent means "the server's configuration".
 */
export interface SessionPolicy {
  /**
   * Framed-IP-Address (RFC 2865 §5.8): a dotted address; "pool" for 255.255.255.254 (the NAS picks, from
   * `framedPool` when given); "peer" for 255.255.255.255 (the client may propose its own).
   */
  readonly framedAddress?: string;
  /** Framed-Pool (RFC 2869 §5.18): the name of a pool in our configuration. */
  readonly framedPool?: string;
  /** Framed-Route (RFC 2865 §5.22) as prefixes "10.1.2.0/24": networks reached through this client. */
  readonly framedRoutes?: readonly string[];
  /** Framed-MTU (RFC 2865 §5.12): the largest datagram we send to this client. */
  readonly framedMtu?: number;
  /** Session-Timeout (RFC 2865 §5.27); 0 = none. */
  readonly sessionTimeoutMs?: number;
  /** Idle-Timeout (RFC 2865 §5.28); 0 = none. */
  readonly idleTimeoutMs?: number;
  /** Acct-Interim-Interval (RFC 2869 §5.16). */
  readonly interimIntervalMs?: number;
  /** Class (RFC 2865 §5.25): echoed unchanged in every accounting record of the session. */
  readonly classes?: readonly Uint8Array[];
  /** Reply-Message (RFC 2865 §5.18), for the log. */
  readonly replyMessage?: string;
  /**
   * MS-MPPE-Encryption-Policy / -Types (RFC 2548 §2.4.4/2.4.5): "require" (policy 2) or "allow" (policy 1),
   * optionally limited to these strengths; "deny" when Types says no encryption.
   */
  readonly mppe?: { readonly policy: "require" | "allow" | "deny"; readonly strengths?: readonly MppeBits[] };
}

/**
 * Acct-Terminate-Cause (RFC 2866 §5.10), the values a PPTP server has reasons for. Also what `show sessions`
 * and the "session down" log line call the end.
 */
export type TerminateCause =
  | "user-request" // 1: the client hung up (LCP Terminate-Request, Call-Clear-Request, StopCCRQ)
  | "lost-carrier" // 2: keepalive (LCP echo, PPTP echo) failed, TCP reset or closed without a goodbye
  | "lost-service" // 3
  | "idle-timeout" // 4
  | "session-timeout" // 5
  | "admin-reset" // 6: `pptp-ts clear`, Disconnect-Request, replaced by a newer session of the same user
  | "admin-reboot" // 7
  | "port-error" // 8: protocol error on the call (malformed control stream, negotiation failure)
  | "nas-error" // 9
  | "nas-request" // 10: the server stopped the session for its own reason (e.g. its config)
  | "nas-reboot" // 11: the server is shutting down
  | "service-unavailable" // 15
  | "user-error"; // 17: authentication failed, MPPE or address refused

export const TERMINATE_CAUSE_CODE: { readonly [C in TerminateCause]: number } = {
  "user-request": 1,
  "lost-carrier": 2,
  "lost-service": 3,
  "idle-timeout": 4,
  "session-timeout": 5,
  "admin-reset": 6,
  "admin-reboot": 7,
  "port-error": 8,
  "nas-error": 9,
  "nas-request": 10,
  "nas-reboot": 11,
  "service-unavailable": 15,
  "user-error": 17,
};

/** One session as accounting, Disconnect/CoA and `show sessions` see it. Counters are since the session began. */
export interface SessionSnapshot {
  readonly sessionId: string;
  readonly callId: number;
  readonly user?: string;
  readonly method?: AuthMethod;
  /** "128-bit stateless", "none", ... */
  readonly mppe?: string;
  readonly peerAddress: string;
  readonly localAddress: string;
  /** The client's tunnel address (Framed-IP-Address in accounting). */
  readonly framedAddress?: string;
  /** Wall-clock start (ms since the epoch) and length so far. */
  readonly startedAt: number;
  readonly durationMs: number;
  /** From the client (Acct-Input-*) and to it (Acct-Output-*), IP datagrams through the tunnel. */
  readonly inOctets: number;
  readonly outOctets: number;
  readonly inPackets: number;
  readonly outPackets: number;
  readonly policy?: SessionPolicy;
  readonly backend?: string;
  /** For the operator (`show sessions`): time since the client last sent a datagram (what Idle-Timeout counts). */
  readonly idleMs?: number;
  /** The peer's Call ID for this call (RFC 2637 §2.7; what its own logs name). */
  readonly peerCallId?: number;
  /** The named [peer NAME] this session is, if any. */
  readonly peerName?: string;
}

/** Which sessions a Disconnect/CoA request or an operator means (RFC 5176 §3: any given field must match). */
export interface SessionSelector {
  readonly sessionId?: string;
  readonly user?: string;
  readonly framedAddress?: string;
}

/** What the server offers to Disconnect/CoA (RFC 5176) and, later, the admin socket. */
export interface SessionDirectory {
  find(sel: SessionSelector): readonly SessionSnapshot[];
  /** Ends the session properly (LCP Terminate, CDN, accounting Stop with `cause`); false if it no longer exists. */
  disconnect(sessionId: string, cause: TerminateCause, reason: string): boolean;
  /** Changes a live session's timers (CoA); false if it no longer exists. */
  changeTimeouts(sessionId: string, change: { readonly sessionTimeoutMs?: number; readonly idleTimeoutMs?: number }): boolean;
}

/** Where session accounting goes (RADIUS accounting with its spool, TACACS+ accounting, or both). */
export interface AccountingSink {
  /** Accounting-On: the server starts (RFC 2866 §5.1 Acct-Status-Type 7). */
  accountingOn(): void;
  start(s: SessionSnapshot): void;
  interim(s: SessionSnapshot): void;
  stop(s: SessionSnapshot, cause: TerminateCause): void;
  /** Accounting-Off at a clean stop; resolves once sent or spooled. */
  accountingOff(): Promise<void>;
}

/** Method names for logs, as operators know them. */
export { authMethodLabel };

