/**
 * Why a client-role link failed, in the operator's words. Pure functions over what the engines observed (the
 * server's Authentication-Protocol requests, its MPPE offers, its Terminate-Request text, the authenticator's
 * verdict); the link picks which one applies when it goes down. Nothing here knows about sockets or state.
 *
 * The sentences name the server and "this profile" (our configuration), because that is what an operator can
 * act on: change the profile, or ask whoever runs the server.
 */
import type { AuthMethod } from "../wire/ppp-protocols.js";
import { PPP_PAP, PPP_CHAP, authMethodLabel } from "../wire/ppp-protocols.js";
import type { CcpPolicy, MppeStrength } from "./options-ccp.js";
import { authMethodOf } from "../wire/ppp-cp.js";
import {
  MSCHAP_ERROR_RESTRICTED_LOGON_HOURS,
  MSCHAP_ERROR_ACCT_DISABLED,
  MSCHAP_ERROR_PASSWD_EXPIRED,
  MSCHAP_ERROR_NO_DIALIN_PERMISSION,
  MSCHAP_ERROR_AUTHENTICATION_FAILURE,
  MSCHAP_ERROR_CHANGING_PASSWORD,
} from "../wire/chap.js";

/** PPP protocol numbers of authentication protocols we do not implement but can name (IANA PPP DLL numbers). */
const PPP_EAP = 0xc227; // RFC 3748
const PPP_SPAP = 0xc027; // Shiva Password Authentication Protocol
/** IANA "PPP Authentication Algorithms": 6 is CHAP with SHA-1. */
const CHAP_SHA1 = 0x06;
/** Longest text of the server's (Terminate-Request, authentication message) quoted in a reason. */
const MAX_QUOTED_TEXT = 200;

// ------------------------------------------------------------------------------------------------------------
// Names


/** Any Authentication-Protocol option value (RFC 1661 §6.2), known to us or not: "MS-CHAPv2", "EAP", "CHAP-SHA1". */
export function authProtocolLabel(protocol: number, data: Uint8Array): string {
  const m = authMethodOf(protocol, data);
  if (m !== undefined) return authMethodLabel(m);
  switch (protocol) {
    case PPP_EAP:
      return "EAP";
    case PPP_SPAP:
      return "SPAP";
    case PPP_CHAP:
      if (data.length === 1 && data[0] === CHAP_SHA1) return "CHAP-SHA1";
      return data.length === 1 ? `CHAP with algorithm ${data[0]}` : "CHAP without an algorithm";
    case PPP_PAP:
      return "PAP with unexpected data";
    default:
      return `authentication protocol 0x${protocol.toString(16).padStart(4, "0")}`;
  }
}

function mppeLabel(s: MppeStrength): string {
  return `MPPE-${s}`;
}

/** "MPPE-40 or MPPE-128": weakest first, as the offers read naturally. */
function strengthList(list: readonly MppeStrength[]): string {
  return [...list].sort((a, b) => a - b).map(mppeLabel).join(" or ");
}

// ------------------------------------------------------------------------------------------------------------
// Authentication: no common method

/** One Authentication-Protocol value the server asked us to use, as first seen. */
export interface AskedAuth {
  readonly protocol: number;
  readonly data: Uint8Array;
  /** Undefined when we do not implement it (EAP, SPAP, CHAP-SHA1…). */
  readonly method: AuthMethod | undefined;
  readonly label: string;
}

/**
 * The server asked only for methods we refused (RFC 1661 §6.2: our Nak named our favourite; it never came round
 * to one we accept). `ours` is the profile's list in its order, `asked` the server's requests in the order it
 * made them. Undefined when it never asked, or asked for a method we accept (then the failure is elsewhere).
 */
export function explainAuthMismatch(ours: readonly AuthMethod[], asked: readonly AskedAuth[]): string | undefined {
  if (asked.length === 0) return undefined;
  if (asked.some((a) => a.method !== undefined && ours.includes(a.method))) return undefined;
  const known = asked.filter((a) => a.method !== undefined).map((a) => a.label);
  const unknown = asked.filter((a) => a.method === undefined).map((a) => a.label);
  if (ours.length === 0) {
    return `server requires ${asked.map((a) => a.label).join(" or ")} authentication, but this profile has no credentials to authenticate with`;
  }
  const refused = ours.map(authMethodLabel).join(" and ");
  if (known.length === 0) return `server offered only ${unknown.join(" and ")}, which pptp-ts does not implement`;
  const forbidden = `${known.join(" and ")}, which this profile forbids`;
  if (unknown.length === 0) return `server refused ${refused} and offered only ${forbidden}`;
  return `server refused ${refused} and offered only ${forbidden}, and ${unknown.join(" and ")}, which pptp-ts does not implement`;
}

// ------------------------------------------------------------------------------------------------------------
// Authentication: the server said no

const FAILURE_PHRASES: Readonly<Record<number, string>> = {
  [MSCHAP_ERROR_AUTHENTICATION_FAILURE]: "authentication failed",
  [MSCHAP_ERROR_RESTRICTED_LOGON_HOURS]: "restricted logon hours",
  [MSCHAP_ERROR_ACCT_DISABLED]: "account disabled",
  [MSCHAP_ERROR_PASSWD_EXPIRED]: "password expired",
  [MSCHAP_ERROR_NO_DIALIN_PERMISSION]: "no dial-in permission",
  [MSCHAP_ERROR_CHANGING_PASSWORD]: "password change failed",
};

export interface AuthFailureFacts {
  /** MS-CHAP E= code, or 691 for PAP/CHAP-MD5 and timeouts. */
  readonly code: number;
  readonly kind: "rejected" | "timeout" | "protocol";
  /** The engine's description (used for timeouts). */
  readonly message: string;
  /** The server's own words: PAP Nak text, CHAP Failure text, MS-CHAP M= text. */
  readonly serverText?: string;
  /** MS-CHAPv2 Success whose S= value did not verify (RFC 2759 §8.8). */
  readonly mutualFailed?: boolean;
}

export const MUTUAL_AUTH_FAILED =
  "the server's MS-CHAPv2 success message did not prove it knows the password (mutual authentication failed)";

/** "authentication failed (691): Access denied", "account disabled (647)". */
export function explainAuthFailure(f: AuthFailureFacts): string {
  if (f.mutualFailed) return MUTUAL_AUTH_FAILED;
  if (f.kind === "timeout") return `authentication timed out: ${f.message}`;
  const phrase = FAILURE_PHRASES[f.code] ?? "authentication failed";
  const base = `${phrase} (${f.code})`;
  const text = f.serverText === undefined ? undefined : printable(f.serverText);
  // The server's text adds nothing when it only repeats the phrase ("Authentication failed" with E=691).
  if (!text || text.toLowerCase() === phrase.toLowerCase()) return base;
  return `${base}: ${text}`;
}

/**
 * The server's free text made safe to print: control characters (which could steer the operator's terminal)
 * become spaces, runs of blanks one space, and the length is capped. Other Unicode is kept: Windows localises M=.
 */
function printable(text: string): string {
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ").replace(/\s+/g, " ").trim();
  return clean.length > MAX_QUOTED_TEXT ? `${clean.slice(0, MAX_QUOTED_TEXT)}...` : clean;
}

// ------------------------------------------------------------------------------------------------------------
// MPPE

/** What the server's CCP packets showed of its MPPE wishes (its Configure-Requests and its Naks of ours). */
export interface MppeOfferSeen {
  /** Strengths it asked for or suggested, weakest first; empty when it never offered MPPE. */
  readonly strengths: readonly MppeStrength[];
  /** Some offer carried the H bit (stateless, RFC 3078 §2). */
  readonly stateless: boolean;
  /** Some offer with a strength lacked the H bit (stateful). */
  readonly stateful: boolean;
}

/** Our side of CCP as configured for this link. */
export interface MppeProfile {
  readonly policy: CcpPolicy;
  /** Allowed strengths (empty allowed only with "deny"). */
  readonly strengths: readonly MppeStrength[];
  readonly stateless: CcpPolicy;
}

/**
 * The MPPE disagreement that explains a failed (or server-terminated) CCP negotiation, or undefined when what was
 * seen does not explain it.
 */
export function explainMppeMismatch(ours: MppeProfile, seen: MppeOfferSeen): string | undefined {
  if (ours.policy === "deny") {
    return seen.strengths.length > 0 ? `server requires ${strengthList(seen.strengths)}; this profile allows none` : undefined;
  }
  if (seen.strengths.length === 0) {
    return ours.policy === "require" ? "server does not offer MPPE encryption; this profile requires it" : undefined;
  }
  if (!seen.strengths.some((s) => ours.strengths.includes(s))) {
    const verb = ours.policy === "require" ? "requires" : "allows only";
    return `server offers only ${strengthList(seen.strengths)}; this profile ${verb} ${strengthList(ours.strengths)}`;
  }
  if (ours.stateless === "require" && !seen.stateless) return "server offers only stateful MPPE; this profile requires stateless";
  if (ours.stateless === "deny" && !seen.stateful) return "server offers only stateless MPPE; this profile requires stateful";
  return undefined;
}

/** The server requires MPPE but the method it authenticated us with gave no keys (RFC 3079: keys come from MS-CHAP). */
export function explainMppeWithoutKeys(method: AuthMethod | undefined, seen: MppeOfferSeen): string | undefined {
  if (seen.strengths.length === 0) return undefined;
  const how = method === undefined ? "no authentication" : `${authMethodLabel(method)} authentication`;
  return `server requires ${strengthList(seen.strengths)}, but ${how} yields no encryption keys (MPPE needs MS-CHAPv1 or MS-CHAPv2)`;
}

/** This profile requires MPPE but the agreed method cannot key it. */
export function explainKeylessMethod(method: AuthMethod | undefined): string {
  const how = method === undefined ? "no authentication" : authMethodLabel(method);
  return `this profile requires MPPE, but the server authenticated us with ${how}, which yields no encryption keys (MPPE needs MS-CHAPv1 or MS-CHAPv2)`;
}

// ------------------------------------------------------------------------------------------------------------
// Terminate-Request text and keepalive

/** Terminate-Request text is read by the automaton (fsm.ts), which keeps the peer's last one in every state. */
export { terminateText } from "./fsm.js";

/** When the server's words are the only explanation we have. */
export function serverEndedLink(text: string): string {
  return `server ended the link: "${text}"`;
}

/** Our explanation, followed by the server's Terminate-Request text when it says something the explanation does not. */
export function withServerWords(reason: string, text: string | undefined): string {
  if (text === undefined || reason.toLowerCase().includes(text.toLowerCase())) return reason;
  return `${reason}; ${serverEndedLink(text)}`;
}

export function explainEchoFailure(unanswered: number): string {
  return `no answer to ${unanswered} LCP echo requests: the server or the path to it is down`;
}
