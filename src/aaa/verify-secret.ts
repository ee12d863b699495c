/**
 * Check one AuthRequest against one user's stored secret. Pure and synchronous: shared by every backend that
 * holds secrets itself (the in-memory list, a chap-secrets file later).
 *
 * What each method can be checked against:
 *  - PAP (RFC 1334) and CHAP-MD5 (RFC 1994 §2) need the clear-text password: PAP compares it, CHAP-MD5 hashes
 *    MD5(id || password || challenge).
 *  - MS-CHAPv1 (RFC 2433) and MS-CHAPv2 (RFC 2759) only ever use the NT password hash, so a stored NT hash is
 *    enough — except v1's deprecated LM response (use-NT flag 0), which needs the clear password, and v1's
 *    40/56-bit MPPE keys, which come from the LM hash of the clear password (RFC 3079 §2.1).
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { utf8 } from "../wire/bytes.js";
import {
  ntPasswordHash,
  mschap1NtResponse,
  mschap1LmResponse,
  mschap2NtResponse,
  mschap2AuthenticatorResponse,
  stripDomain,
} from "../crypto/mschap.js";
import { mppeKeysMschap1, mppeKeysMschap2 } from "../crypto/mppe-keys.js";
import { MSCHAP_ERROR_AUTHENTICATION_FAILURE, MSCHAP_ERROR_CHANGING_PASSWORD } from "../wire/chap.js";
import { type AuthRequest, type AuthResult, authMethodLabel } from "./types.js";

export interface StoredSecret {
  /** Clear-text password: works for every method. */
  readonly password?: string;
  /** NT password hash MD4(UTF-16LE(password)), 16 octets: works for MS-CHAPv1 (NT response) and MS-CHAPv2. */
  readonly ntHash?: Uint8Array;
}

/** Constant-time comparison so response checks do not leak how many leading octets matched. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

function fail(message: string): AuthResult {
  return { ok: false, code: MSCHAP_ERROR_AUTHENTICATION_FAILURE, message };
}

function needsClearPassword(req: AuthRequest, detail?: string): AuthResult {
  const what = detail === undefined ? authMethodLabel(req.method) : `${authMethodLabel(req.method)} ${detail}`;
  return fail(`user "${req.user}" has only an NT hash configured, but ${what} needs the clear-text password`);
}

function badPassword(req: AuthRequest, detail: string): AuthResult {
  return fail(`bad password for user "${req.user}" (${authMethodLabel(req.method)} ${detail})`);
}

/** CHAP-MD5 response (RFC 1994 §2): MD5 over Identifier, secret, challenge value. */
export function chapMd5Response(id: number, secret: string, challenge: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("md5").update(Uint8Array.of(id & 0xff)).update(utf8(secret)).update(challenge).digest());
}

/**
 * Verify `req` against `secret`. On success MS-CHAP results carry the MPPE master keys from the server's
 * perspective and, for v2, the Authenticator Response the server must send back (RFC 2759 §5).
 */
export function verifyWithSecret(req: AuthRequest, secret: StoredSecret): AuthResult {
  if (secret.password === undefined && secret.ntHash === undefined) {
    return fail(`user "${req.user}" has neither a password nor an NT hash configured`);
  }
  switch (req.method) {
    case "pap": {
      if (secret.password === undefined) return needsClearPassword(req);
      const a = utf8(req.password);
      const b = utf8(secret.password);
      return sameBytes(a, b) ? { ok: true } : badPassword(req, "password mismatch");
    }
    case "chap-md5": {
      if (secret.password === undefined) return needsClearPassword(req);
      const expected = chapMd5Response(req.id, secret.password, req.challenge);
      return sameBytes(expected, req.response) ? { ok: true } : badPassword(req, "response mismatch");
    }
    case "mschap-v1": {
      const ntHash = secret.ntHash ?? (secret.password !== undefined ? ntPasswordHash(secret.password) : undefined);
      if (req.useNt) {
        if (ntHash === undefined) return fail(`user "${req.user}" has no NT hash configured`);
        const expected = mschap1NtResponse(req.challenge8, ntHash);
        if (!sameBytes(expected, req.ntResponse24)) return badPassword(req, "NT-Response mismatch");
      } else {
        // RFC 2433 §6: flag 0 means "use the LAN Manager response", which is computed from the clear password.
        if (secret.password === undefined) return needsClearPassword(req, "with the LAN Manager response (use-NT flag 0)");
        const expected = mschap1LmResponse(req.challenge8, secret.password);
        if (!sameBytes(expected, req.lmResponse24)) return badPassword(req, "LM-Response mismatch");
      }
      // RFC 3079 §2.1/§2.2: 40/56-bit keys come from the LM hash of the clear password, whichever response the
      // peer sent; with only an NT hash stored the keys say so and the link refuses those strengths.
      return ntHash !== undefined ? { ok: true, mppe: mppeKeysMschap1(ntHash, req.challenge8, secret.password) } : { ok: true };
    }
    case "mschap-v2": {
      if (req.passwordChange !== undefined) {
        // Secrets held here never expire, so no 648 came from them; a change can only reach us from a chain
        // whose earlier backend (RADIUS) said 648 and then stopped answering. We cannot store a new password.
        return {
          ok: false,
          code: MSCHAP_ERROR_CHANGING_PASSWORD,
          message: `user "${req.user}" sent an MS-CHAPv2 password change, which local users cannot make (their passwords never expire; change the users file instead)`,
        };
      }
      const ntHash = secret.ntHash ?? (secret.password !== undefined ? ntPasswordHash(secret.password) : undefined);
      if (ntHash === undefined) return fail(`user "${req.user}" has no NT hash configured`);
      // RFC 2759 §4/§8.2: the hashes use the account name without any "DOMAIN\" prefix.
      const account = stripDomain(req.user);
      const expected = mschap2NtResponse(req.authChallenge16, req.peerChallenge16, account, ntHash);
      if (!sameBytes(expected, req.ntResponse24)) return badPassword(req, "NT-Response mismatch");
      return {
        ok: true,
        mppe: mppeKeysMschap2(ntHash, req.ntResponse24, true),
        authenticatorResponse: mschap2AuthenticatorResponse(ntHash, req.ntResponse24, req.peerChallenge16, req.authChallenge16, account),
      };
    }
  }
}
