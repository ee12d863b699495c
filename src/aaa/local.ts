/**
 * Users configured in memory, verified locally for PAP, CHAP-MD5, MS-CHAPv1 and MS-CHAPv2.
 *
 * A record mirrors a pppd chap-secrets line, "client server secret IP-addresses": `user`, `server` ("*" or absent
 * = any server), the secret (`password`, or for MS-CHAP only an `ntHash`), and `addresses`.
 *
 * Name matching (decided here, documented for operators):
 *  - Case-insensitive by default. Windows account names are case-insensitive and Windows clients send whatever
 *    the user typed, so "John" must find "john". pppd compares exactly; `caseSensitive: true` restores that.
 *    The MS-CHAPv2 hashes still use the name exactly as the peer sent it (RFC 2759 §8.2), so case folding only
 *    affects which record is found, never the cryptography.
 *  - A name sent as `DOMAIN\user` (Windows adds the domain for MS-CHAP, RFC 2433 §6 / RFC 2759 §4) first tries a
 *    record for the full `DOMAIN\user`, then one for plain `user`.
 *  - The first matching record wins, like reading a secrets file from the top.
 *
 * Failures are MS-CHAP code 691 whose message names the real reason ("unknown user", "bad password") for the logs;
 * the authenticator engine sends only a generic text to the peer, so the wire does not reveal which names exist.
 */
import { stripDomain } from "../crypto/mschap.js";
import { MSCHAP_ERROR_AUTHENTICATION_FAILURE } from "../wire/chap.js";
import type { AuthRequest, AuthResult, Authenticator } from "./types.js";
import { verifyWithSecret } from "./verify-secret.js";

export interface LocalUser {
  readonly user: string;
  readonly password?: string;
  /** 16-octet NT password hash (MD4 of the UTF-16LE password); enough for MS-CHAPv1/v2, not for PAP/CHAP-MD5. */
  readonly ntHash?: Uint8Array;
  /** Server name this secret is for; "*" or absent matches any server (chap-secrets' 2nd column). */
  readonly server?: string;
  /** Addresses this user may use (chap-secrets' 4th column); passed through in the AuthResult. */
  readonly addresses?: readonly string[];
}

export interface LocalUsersOptions {
  /** Our own name, matched against each record's `server`. Without it, `server` restrictions are not applied. */
  readonly serverName?: string;
  /** Compare user names exactly, like pppd. Default false (Windows semantics). */
  readonly caseSensitive?: boolean;
}

export class LocalUsers implements Authenticator {
  private readonly users: readonly LocalUser[];
  private readonly serverName: string | undefined;
  private readonly caseSensitive: boolean;

  constructor(users: readonly LocalUser[], opts: LocalUsersOptions = {}) {
    for (const u of users) {
      if (u.password === undefined && u.ntHash === undefined) {
        throw new Error(`local user "${u.user}": needs a password or an NT hash`);
      }
      if (u.ntHash !== undefined && u.ntHash.length !== 16) {
        throw new Error(`local user "${u.user}": NT hash must be 16 octets, got ${u.ntHash.length}`);
      }
    }
    this.users = users.slice();
    this.serverName = opts.serverName;
    this.caseSensitive = opts.caseSensitive ?? false;
  }

  private sameName(a: string, b: string): boolean {
    return sameName(a, b, this.caseSensitive);
  }

  private forThisServer(u: LocalUser): boolean {
    if (u.server === undefined || u.server === "*" || this.serverName === undefined) return true;
    return this.sameName(u.server, this.serverName);
  }

  /** The record the name `asSent` (possibly `DOMAIN\user`) selects, or undefined. */
  find(asSent: string): LocalUser | undefined {
    const exact = this.users.find((u) => this.forThisServer(u) && this.sameName(u.user, asSent));
    if (exact !== undefined) return exact;
    const account = stripDomain(asSent);
    if (account === asSent) return undefined;
    return this.users.find((u) => this.forThisServer(u) && this.sameName(u.user, account));
  }

  async verify(req: AuthRequest): Promise<AuthResult> {
    const entry = this.find(req.user);
    if (entry === undefined) {
      return { ok: false, code: MSCHAP_ERROR_AUTHENTICATION_FAILURE, message: `unknown user "${req.user}"` };
    }
    const r = verifyWithSecret(req, entry);
    if (r.ok && entry.addresses !== undefined && entry.addresses.length > 0) {
      return { ...r, addresses: entry.addresses.slice() };
    }
    return r;
  }
}

function sameName(a: string, b: string, caseSensitive: boolean): boolean {
  return caseSensitive ? a === b : a.toLowerCase() === b.toLowerCase();
}

/**
 * Whether the name a peer sent (possibly `DOMAIN\user`, as Windows sends it for MS-CHAP) is the configured
 * account `configured`, by the same rule find() uses: the full name, or the name without its domain.
 */
export function isUserName(configured: string, asSent: string, caseSensitive: boolean): boolean {
  return sameName(configured, asSent, caseSensitive) || sameName(configured, stripDomain(asSent), caseSensitive);
}
