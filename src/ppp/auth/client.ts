/**
 * The peer (authenticatee) side of PAP (RFC 1334), CHAP-MD5 (RFC 1994), MS-CHAPv1 (RFC 2433) and MS-CHAPv2
 * (RFC 2759), as a sans-I/O engine. `method` is the one LCP agreed for the server's Authentication-Protocol.
 *
 *   start(now)                      PAP: send the first Authenticate-Request. CHAP family: wait for a Challenge.
 *   handlePacket(now, proto, pkt)   a PAP/CHAP packet from the authenticator
 *   handleTimeout(now)              when pollTimeout() is due
 *   pollTransmit() / pollEvent() / pollTimeout()
 *
 * Timers. PAP: the peer repeats the Authenticate-Request every restartMs with a new Identifier (RFC 1334 §2.2.1
 * "MUST be repeated" / "MUST be changed each time") and gives up after maxRequests. CHAP: the authenticator drives
 * retransmission by re-challenging, so the peer answers every Challenge and bounds the whole exchange to
 * restartMs * maxRequests. Once it has answered, though, only the peer can recover a lost verdict: the
 * authenticator sent its Success and moved on to the network phase, and will not challenge again. So while no
 * verdict has come the peer repeats the same Response (same Identifier) every restartMs; the authenticator
 * "MUST allow repeated Response packets" and answers each with the same reply Code (RFC 1994 §4.1, §4.2).
 * Without that, one lost Success cost the whole 30 s bound and ended as a 691 "authentication failed".
 *
 * MS-CHAPv2 is mutual: a Success is only believed if its S= value equals the Authenticator Response we compute
 * ourselves (RFC 2759 §5, §8.8: "If the authenticator response is either missing or incorrect, the peer MUST end
 * the session").
 *
 * Password change (MS-CHAPv2, RFC 2759 §7): given `newPassword`, a Failure with E=648 (password expired), V=3 and a
 * C= challenge is answered once with a Change-Password packet (Identifier = the Failure's + 1) instead of giving
 * up; its verdict is then handled like a Response's, the Success's S= checked against the new password.
 */
import type { RandomSource, Millis } from "../../core/clock.js";
import { type AuthMethod, PPP_PAP, PPP_CHAP } from "../../wire/ppp-protocols.js";
import { authMethodLabel } from "../../aaa/types.js";
import {
  ntPasswordHash,
  mschap2AuthenticatorResponse,
  mschap2NtResponse,
  newPasswordEncryptedWithOldNtPasswordHash,
  oldNtPasswordHashEncryptedWithNewNtPasswordHash,
  PW_BLOCK_SIZE,
  stripDomain,
} from "../../crypto/mschap.js";
import { emitMsChapV2ChangePassword } from "./change-password.js";
import { type MppeMasterKeys, mppeKeysMschap1, mppeKeysMschap2 } from "../../crypto/mppe-keys.js";
import {
  CHAP_CHALLENGE,
  CHAP_RESPONSE,
  CHAP_SUCCESS,
  isChapChallengeOrResponse,
  MSCHAP_V1_CHALLENGE_LEN,
  MSCHAP_V2_CHALLENGE_LEN,
  MSCHAP_ERROR_AUTHENTICATION_FAILURE,
  MSCHAP_ERROR_PASSWD_EXPIRED,
  chapCodeName,
  emitChap,
  parseChap,
  parseMsChapFailure,
  parseMsChapV2Success,
  mschapErrorText,
} from "../../wire/chap.js";
import { PAP_AUTH_REQUEST, PAP_AUTH_ACK, emitPap, parsePap } from "../../wire/pap.js";
import { bytesEqual } from "../../wire/bytes.js";
import type { AuthClientEvent, AuthFailureReason, AuthTransmit } from "./events.js";
import { chapMd5ResponseValue, mschapV1ResponseValue, mschapV2ResponseValue } from "./peer-response.js";
import { Fifo } from "../../core/fifo.js";

export interface AuthClientOptions {
  readonly method: AuthMethod;
  /** Sent as PAP Peer-ID / CHAP Name; may be `DOMAIN\user` (the domain is left out of MS-CHAPv2 hashes). */
  readonly userName: string;
  /** Clear-text password: needed for PAP and CHAP-MD5, enough for everything. */
  readonly password?: string;
  /** NT password hash (16 octets): enough for MS-CHAPv1/v2 instead of the password. */
  readonly ntHash?: Uint8Array;
  /** MS-CHAPv2 only: the password to set when the server says the current one expired (E=648, RFC 2759 §7). */
  readonly newPassword?: string;
  readonly random: RandomSource;
  /** PAP retransmission interval; default 3000 ms (RFC 1661 §4.6 Restart timer default). */
  readonly restartMs?: Millis;
  /** PAP requests sent before giving up, and CHAP's overall bound in restart intervals; default 10. */
  readonly maxRequests?: number;
  /** Identifier of the first PAP request; default 1. */
  readonly firstId?: number;
}

type State = "initial" | "waiting" | "succeeded" | "failed";

/** What we answered last, to recognise the authenticator's verdict and to check MS-CHAPv2's S= value. */
interface Answered {
  readonly id: number;
  readonly challenge: Uint8Array;
  readonly packet: Uint8Array;
  readonly ntResponse?: Uint8Array;
  readonly peerChallenge?: Uint8Array;
  /** The NT hash ntResponse was computed with, when not our configured one (a Change-Password's new password). */
  readonly ntHash?: Uint8Array;
}

export class AuthClient {
  readonly method: AuthMethod;
  private readonly protocol: number;
  private readonly userName: string;
  private readonly password: string | undefined;
  private readonly ntHash: Uint8Array | undefined;
  private readonly newPassword: string | undefined;
  private changeSent = false;
  private readonly random: RandomSource;
  private readonly restartMs: Millis;
  private readonly maxRequests: number;

  private state: State = "initial";
  private deadline: Millis | undefined;
  /** CHAP family: when to repeat our Response while no verdict has come. */
  private repeatAt: Millis | undefined;
  // PAP
  private papId: number;
  private papSent = 0;
  /** Identifiers of every Authenticate-Request sent: a late reply to any of them answers the same credentials. */
  private readonly papIssued = new Set<number>();
  // CHAP family
  private answered: Answered | undefined;
  // Outcome details, for the link's explanation of a failure
  private serverMessageValue: string | undefined;
  private mutualFailed = false;

  private readonly tx = new Fifo<AuthTransmit>();
  private readonly events = new Fifo<AuthClientEvent>();

  constructor(opts: AuthClientOptions) {
    this.method = opts.method;
    this.protocol = opts.method === "pap" ? PPP_PAP : PPP_CHAP;
    this.userName = opts.userName;
    this.password = opts.password;
    this.newPassword = opts.newPassword;
    // RFC 2759 §8.9/§8.10: the PWBLOCK holds at most 256 UTF-16 code units.
    if (opts.newPassword !== undefined && opts.newPassword.length > 256) throw new Error(`AuthClient: a new password has at most 256 characters, got ${opts.newPassword.length}`);
    this.random = opts.random;
    this.restartMs = opts.restartMs ?? 3000;
    this.maxRequests = opts.maxRequests ?? 10;
    this.papId = (opts.firstId ?? 1) & 0xff;
    if (opts.method === "pap" || opts.method === "chap-md5") {
      if (opts.password === undefined) {
        throw new Error(`AuthClient: ${authMethodLabel(opts.method)} needs the clear-text password (an NT hash is not enough)`);
      }
      this.ntHash = undefined;
    } else {
      if (opts.ntHash !== undefined && opts.ntHash.length !== 16) {
        throw new Error(`AuthClient: NT hash must be 16 octets, got ${opts.ntHash.length}`);
      }
      if (opts.ntHash === undefined && opts.password === undefined) {
        throw new Error(`AuthClient: ${authMethodLabel(opts.method)} needs a password or an NT hash`);
      }
      this.ntHash = opts.ntHash ?? ntPasswordHash(opts.password ?? "");
    }
    if (this.restartMs <= 0) throw new RangeError(`AuthClient: restartMs must be positive, got ${this.restartMs}`);
    if (this.maxRequests < 1) throw new RangeError(`AuthClient: maxRequests must be at least 1, got ${this.maxRequests}`);
  }

  // --- getters ---------------------------------------------------------------------------------------------

  get isFinished(): boolean {
    return this.state === "succeeded" || this.state === "failed";
  }

  get succeeded(): boolean {
    return this.state === "succeeded";
  }

  /**
   * After a failure: the server's own words, when it sent any — the PAP Authenticate-Nak or CHAP Failure text,
   * or for MS-CHAP the M= text only (the E=/R=/C=/V= fields are codes, not words).
   */
  get serverMessage(): string | undefined {
    return this.serverMessageValue;
  }

  /** The MS-CHAPv2 Success did not carry the Authenticator Response we computed (RFC 2759 §8.8). */
  get mutualAuthFailed(): boolean {
    return this.mutualFailed;
  }

  // --- commands and input ----------------------------------------------------------------------------------

  start(now: Millis): void {
    if (this.state !== "initial") return;
    this.state = "waiting";
    if (this.protocol === PPP_PAP) {
      this.sendPapRequest(now);
    } else {
      this.deadline = now + this.restartMs * this.maxRequests;
    }
  }

  handlePacket(now: Millis, protocol: number, payload: Uint8Array): void {
    void now;
    if (protocol !== this.protocol) {
      this.discard(`protocol 0x${protocol.toString(16)} while authenticating with ${authMethodLabel(this.method)}`);
      return;
    }
    if (this.state === "initial") {
      this.discard(`${authMethodLabel(this.method)} packet before authentication started`);
      return;
    }
    if (protocol === PPP_PAP) this.handlePap(payload);
    else this.handleChap(now, payload);
  }

  handleTimeout(now: Millis): void {
    if (this.state !== "waiting") return;
    if (this.repeatAt !== undefined && now >= this.repeatAt && (this.deadline === undefined || now < this.deadline) && this.answered) {
      this.send(this.answered.packet);
      this.repeatAt = now + this.restartMs;
    }
    if (this.deadline === undefined || now < this.deadline) return;
    this.deadline = undefined;
    this.repeatAt = undefined;
    if (this.protocol === PPP_PAP) {
      if (this.papSent >= this.maxRequests) {
        this.fail(MSCHAP_ERROR_AUTHENTICATION_FAILURE, `server did not answer the PAP Authenticate-Request (${this.papSent} sent)`, "timeout");
      } else {
        this.papId = (this.papId + 1) & 0xff;
        this.sendPapRequest(now);
      }
      return;
    }
    const waited = this.restartMs * this.maxRequests;
    this.fail(
      MSCHAP_ERROR_AUTHENTICATION_FAILURE,
      this.answered === undefined
        ? `server sent no ${authMethodLabel(this.method)} Challenge within ${waited} ms`
        : `server did not answer our ${authMethodLabel(this.method)} Response within ${waited} ms`,
      "timeout",
    );
  }

  // --- output ----------------------------------------------------------------------------------------------

  pollTransmit(): AuthTransmit | undefined {
    return this.tx.shift();
  }

  pollEvent(): AuthClientEvent | undefined {
    return this.events.shift();
  }

  pollTimeout(): Millis | undefined {
    const r = this.state === "waiting" ? this.repeatAt : undefined;
    if (r === undefined) return this.deadline;
    return this.deadline === undefined ? r : Math.min(r, this.deadline);
  }

  // --- PAP -------------------------------------------------------------------------------------------------

  private sendPapRequest(now: Millis): void {
    this.papIssued.add(this.papId);
    this.papSent++;
    this.send(emitPap({ code: PAP_AUTH_REQUEST, id: this.papId, peerId: this.userName, password: this.password ?? "" }));
    this.deadline = now + this.restartMs;
  }

  private handlePap(payload: Uint8Array): void {
    const parsed = parsePap(payload);
    if (!parsed.ok) {
      this.discard(`malformed PAP packet: ${parsed.error.message}`);
      return;
    }
    const p = parsed.value;
    if (p.code === PAP_AUTH_REQUEST) {
      this.discard(`PAP Authenticate-Request id ${p.id} is not for the peer`);
      return;
    }
    if (this.state !== "waiting") {
      this.discard(`PAP reply id ${p.id} after authentication finished`);
      return;
    }
    if (!this.papIssued.has(p.id)) {
      this.discard(`PAP reply id ${p.id} matches none of our Authenticate-Requests`);
      return;
    }
    if (p.code === PAP_AUTH_ACK) {
      this.succeed(undefined, p.message);
      return;
    }
    this.serverMessageValue = nonEmpty(p.message);
    this.fail(MSCHAP_ERROR_AUTHENTICATION_FAILURE, p.message || "PAP Authenticate-Nak", "rejected");
  }

  // --- CHAP family -----------------------------------------------------------------------------------------

  private handleChap(now: Millis, payload: Uint8Array): void {
    const parsed = parseChap(payload);
    if (!parsed.ok) {
      this.discard(`malformed CHAP packet: ${parsed.error.message}`);
      return;
    }
    const p = parsed.value;
    if (isChapChallengeOrResponse(p)) {
      if (p.code === CHAP_CHALLENGE) this.answerChallenge(now, p.id, p.value);
      else this.discard(`CHAP Response id ${p.id} is not for the peer`);
      return;
    }
    const a = this.answered;
    if (a === undefined || p.id !== a.id) {
      this.discard(`CHAP ${chapCodeName(p.code)} id ${p.id} does not match our Response${a === undefined ? "" : ` id ${a.id}`}`);
      return;
    }
    if (this.state !== "waiting") {
      // A repeated verdict (our repeated Response, or a re-challenge during the network phase, RFC 1994 §4.1).
      if (p.code !== CHAP_SUCCESS && this.state === "succeeded") {
        this.serverMessageValue = this.serverWords(p.message);
        this.fail(MSCHAP_ERROR_AUTHENTICATION_FAILURE, `re-authentication refused: ${p.message}`, "rejected");
      }
      return;
    }
    if (p.code === CHAP_SUCCESS) this.chapSuccess(a, p.message);
    else this.chapFailure(now, a, p.message);
  }

  private answerChallenge(now: Millis, id: number, value: Uint8Array): void {
    if (this.state === "failed") {
      this.discard(`CHAP Challenge id ${id} after authentication failed`);
      return;
    }
    const a = this.answered;
    // The same Challenge again (our Response was lost): repeat the same Response rather than computing a new one.
    if (a !== undefined && a.id === id && bytesEqual(a.challenge, value)) {
      this.send(a.packet);
      if (this.state === "waiting") this.repeatAt = now + this.restartMs;
      return;
    }
    const expect = this.method === "mschap-v1" ? MSCHAP_V1_CHALLENGE_LEN : this.method === "mschap-v2" ? MSCHAP_V2_CHALLENGE_LEN : 0;
    if (expect !== 0 && value.length !== expect) {
      this.discard(`${authMethodLabel(this.method)} Challenge id ${id} has a ${value.length}-octet value, expected ${expect}`);
      return;
    }
    const challenge = value.slice();
    let responseValue: Uint8Array;
    let ntResponse: Uint8Array | undefined;
    let peerChallenge: Uint8Array | undefined;
    switch (this.method) {
      case "mschap-v1": {
        const r = mschapV1ResponseValue(challenge, this.ntHash as Uint8Array);
        responseValue = r.value;
        ntResponse = r.ntResponse;
        break;
      }
      case "mschap-v2": {
        peerChallenge = this.random(16).slice(0, 16);
        const r = mschapV2ResponseValue(challenge, peerChallenge, this.userName, this.ntHash as Uint8Array);
        responseValue = r.value;
        ntResponse = r.ntResponse;
        break;
      }
      default:
        responseValue = chapMd5ResponseValue(id, this.password ?? "", challenge);
        break;
    }
    const packet = emitChap({ code: CHAP_RESPONSE, id, value: responseValue, name: this.userName });
    this.answered = { id, challenge, packet, ntResponse, peerChallenge };
    this.send(packet);
    if (this.state === "waiting") this.repeatAt = now + this.restartMs;
  }

  private chapSuccess(a: Answered, message: string): void {
    if (this.method === "mschap-v1") {
      // 40/56-bit keys from the LM hash of our password when we have it (RFC 3079 §2.1), as Windows does.
      this.succeed(mppeKeysMschap1(this.ntHash as Uint8Array, a.challenge, this.password), message);
      return;
    }
    if (this.method !== "mschap-v2") {
      this.succeed(undefined, message);
      return;
    }
    const ntHash = a.ntHash ?? (this.ntHash as Uint8Array);
    const ntResponse = a.ntResponse as Uint8Array;
    const expected = mschap2AuthenticatorResponse(ntHash, ntResponse, a.peerChallenge as Uint8Array, a.challenge, stripDomain(this.userName));
    const s = parseMsChapV2Success(message);
    // Hex case is not significant to the value; RFC 2759 §5 only says senders use upper case.
    if (!s.ok || s.value.authenticatorResponse.toUpperCase() !== expected.toUpperCase()) {
      const seen = s.ok ? s.value.authenticatorResponse : `unparseable message "${message.slice(0, 60)}"`;
      this.mutualFailed = true;
      this.fail(MSCHAP_ERROR_AUTHENTICATION_FAILURE, `server failed mutual authentication (bad S= value: ${seen})`, "protocol");
      return;
    }
    this.succeed(mppeKeysMschap2(ntHash, ntResponse, false), s.value.message);
  }

  private chapFailure(now: Millis, a: Answered, message: string): void {
    this.serverMessageValue = this.serverWords(message);
    if (this.method === "pap" || this.method === "chap-md5") {
      this.fail(MSCHAP_ERROR_AUTHENTICATION_FAILURE, message || "CHAP Failure", "rejected");
      return;
    }
    const f = parseMsChapFailure(message);
    if (!f.ok) {
      this.fail(MSCHAP_ERROR_AUTHENTICATION_FAILURE, message || "MS-CHAP Failure", "rejected");
      return;
    }
    const c = f.value.challenge;
    if (f.value.error === MSCHAP_ERROR_PASSWD_EXPIRED && this.method === "mschap-v2" && this.newPassword !== undefined && !this.changeSent && c?.length === 16 && f.value.version === 3) {
      this.sendChangePassword(now, (a.id + 1) & 0xff, c, this.newPassword);
      return;
    }
    const text = f.value.message !== undefined && f.value.message.length > 0 ? f.value.message : mschapErrorText(f.value.error);
    this.fail(f.value.error, `${text} (E=${f.value.error} ${mschapErrorText(f.value.error)})`, "rejected", f.value.retry);
  }

  /** RFC 2759 §7: the new password under the old hash, the old hash under the new one, an NT-Response over C=. */
  private sendChangePassword(now: Millis, id: number, challenge: Uint8Array, newPassword: string): void {
    const oldHash = this.ntHash as Uint8Array;
    const newHash = ntPasswordHash(newPassword);
    const peerChallenge = this.random(16).slice(0, 16);
    const ntResponse = mschap2NtResponse(challenge, peerChallenge, this.userName, newHash);
    const packet = emitMsChapV2ChangePassword({
      id,
      encryptedPassword: newPasswordEncryptedWithOldNtPasswordHash(newPassword, oldHash, this.random(PW_BLOCK_SIZE)),
      encryptedHash: oldNtPasswordHashEncryptedWithNewNtPasswordHash(newHash, oldHash),
      peerChallenge,
      ntResponse,
      flags: 0,
    });
    this.changeSent = true;
    this.answered = { id, challenge, packet, ntResponse, peerChallenge, ntHash: newHash };
    this.send(packet);
    this.repeatAt = now + this.restartMs;
    this.deadline = now + this.restartMs * this.maxRequests;
  }

  /** The human part of a CHAP Failure message: M= for MS-CHAP, the whole text otherwise. */
  private serverWords(message: string): string | undefined {
    if (this.method !== "mschap-v1" && this.method !== "mschap-v2") return nonEmpty(message);
    const f = parseMsChapFailure(message);
    return f.ok ? nonEmpty(f.value.message) : nonEmpty(message);
  }

  // --- outcome ---------------------------------------------------------------------------------------------

  private succeed(mppe: MppeMasterKeys | undefined, message: string): void {
    this.state = "succeeded";
    this.deadline = undefined;
    this.repeatAt = undefined;
    this.events.push({ type: "success", method: this.method, message, ...(mppe !== undefined ? { mppe } : {}) });
  }

  private fail(code: number, message: string, reason: AuthFailureReason, retryAllowed?: boolean): void {
    this.state = "failed";
    this.deadline = undefined;
    this.repeatAt = undefined;
    this.events.push({
      type: "failure",
      method: this.method,
      code,
      message,
      reason,
      ...(retryAllowed !== undefined ? { retryAllowed } : {}),
    });
  }

  private send(payload: Uint8Array): void {
    this.tx.push({ protocol: this.protocol, payload });
  }

  private discard(reason: string): void {
    this.events.push({ type: "discarded", reason });
  }
}

function nonEmpty(text: string | undefined): string | undefined {
  const t = text?.trim();
  return t ? t : undefined;
}
