/**
 * The authenticator side of PAP (RFC 1334), CHAP-MD5 (RFC 1994), MS-CHAPv1 (RFC 2433) and MS-CHAPv2 (RFC 2759),
 * as a sans-I/O engine.
 *
 *   start(now)                      begin: send a Challenge (CHAP family) or wait for an Authenticate-Request (PAP)
 *   handlePacket(now, proto, pkt)   a PAP/CHAP packet from the peer
 *   completeVerification(now, r)    the backend's answer to the last "verify" event
 *   handleTimeout(now)              when pollTimeout() is due
 *   pollTransmit() / pollEvent() / pollTimeout()
 *
 * Verification is asynchronous on purpose: the engine emits { type: "verify" } and does nothing more until the
 * driver hands the result back, so a RADIUS or TACACS+ round trip fits without blocking anything.
 *
 * Timers. CHAP: the Challenge is re-sent every restartMs until a Response arrives, with a new Identifier and a new
 * value each time (RFC 1994 §4.1: both "MUST be changed each time a Challenge is sent"), giving up after
 * maxChallenges. PAP: the peer drives retransmission (RFC 1334 §2.2.1), so the authenticator only bounds the wait
 * to restartMs * maxChallenges.
 *
 * After the verdict the same reply is repeated for a repeated Response with the same Identifier (RFC 1994 §4.1
 * "MUST return the same reply Code"), or for any repeated Authenticate-Request (RFC 1334 §2.2.1), because the
 * Success/Ack may have been lost.
 *
 * Password change (MS-CHAPv2 only, RFC 2759 §7). When the backend answers 648 (password expired), the Failure
 * (E=648 R=0 C=<new challenge> V=3) does not end authentication: the engine reports "password-expired" and waits
 * up to passwordChangeWaitMs for a Change-Password packet whose Identifier is the Failure's plus one. That packet
 * becomes a "verify" event with `passwordChange` set, the Failure's challenge as the authenticator challenge and
 * the NT-Response the peer computed with its new password; the verdict is sent as usual (Success with an S= over
 * the new password, or Failure). A Change-Password at any other time is discarded, never acted on.
 */
import type { RandomSource, Millis } from "../../core/clock.js";
import { type AuthMethod, PPP_PAP, PPP_CHAP } from "../../wire/ppp-protocols.js";
import { CHAP_CHANGE_PASSWORD, parseMsChapV2ChangePassword } from "./change-password.js";
import type { AuthRequest, AuthResult } from "../../aaa/types.js";
import { authMethodLabel } from "../../aaa/types.js";
import {
  CHAP_CHALLENGE,
  CHAP_RESPONSE,
  CHAP_SUCCESS,
  CHAP_FAILURE,
  MSCHAP_V1_CHALLENGE_LEN,
  MSCHAP_V2_CHALLENGE_LEN,
  MSCHAP_ERROR_AUTHENTICATION_FAILURE,
  MSCHAP_ERROR_PASSWD_EXPIRED,
  chapCodeName,
  emitChap,
  parseChap,
  parseMsChapV1Response,
  parseMsChapV2Response,
  formatMsChapFailure,
  formatMsChapV2Success,
  isAuthenticatorResponse,
} from "../../wire/chap.js";
import { PAP_AUTH_REQUEST, PAP_AUTH_ACK, PAP_AUTH_NAK, emitPap, parsePap } from "../../wire/pap.js";
import type { AuthServerEvent, AuthTransmit } from "./events.js";
import { ACCESS_GRANTED, AUTHENTICATION_FAILED, MSCHAP_V2_CHANGE_PASSWORD_VERSION, failureText } from "./messages.js";
import { Fifo } from "../../core/fifo.js";

export interface AuthServerOptions {
  readonly method: AuthMethod;
  /** Sent in the Name field of our Challenges (RFC 1994 §4.1). */
  readonly hostName: string;
  readonly random: RandomSource;
  /** Challenge retransmission interval; default 3000 ms (RFC 1661 §4.6's Restart timer default). */
  readonly restartMs?: Millis;
  /** Challenges sent before giving up; default 10 (pppd's chap-max-challenge default). */
  readonly maxChallenges?: number;
  /** Identifier of the first Challenge; default 1. Later ones count up modulo 256. */
  readonly firstId?: number;
  /**
   * How long to wait for a Change-Password after a Failure with E=648; default 120000 ms. The peer's user has to
   * type the old and the new password into a dialog (Windows asks only when the Failure arrives), so this is a
   * human's time, not a retransmission interval.
   */
  readonly passwordChangeWaitMs?: Millis;
  /** Change-Password attempts accepted on one link (each answered 648 again may be followed by another); default 3. */
  readonly maxPasswordChanges?: number;
}

/** CHAP-MD5 challenge length: RFC 1994 leaves it open; 16 random octets match the MD5 output size. */
const CHAP_MD5_CHALLENGE_LEN = 16;

const NO_CHALLENGE = new Uint8Array(0);

/** "expired": a Failure with E=648 was sent and a Change-Password may follow (RFC 2759 §7). */
type State = "initial" | "waiting" | "verifying" | "expired" | "succeeded" | "failed";

export class AuthServer {
  readonly method: AuthMethod;
  private readonly protocol: number;
  private readonly hostName: string;
  private readonly random: RandomSource;
  private readonly restartMs: Millis;
  private readonly maxChallenges: number;
  private readonly passwordChangeWaitMs: Millis;
  private readonly maxPasswordChanges: number;

  private state: State = "initial";
  private id: number;
  private challenge: Uint8Array = NO_CHALLENGE;
  private challengesSent = 0;
  private deadline: Millis | undefined;
  private pending: AuthRequest | undefined;
  /** The final reply (Success/Failure or Ack/Nak) payload, kept to answer repeats. */
  private reply: Uint8Array | undefined;
  private peerName: string | undefined;
  /** The C= challenge of the E=648 Failure while in "expired": the Change-Password's NT-Response is over it. */
  private expiredChallenge: Uint8Array | undefined;
  /** The verifier's words about the expiry, for the failure event if no Change-Password comes. */
  private expiredMessage = "";
  private passwordChanges = 0;
  /** Identifier of the Change-Password being (or last) verified: its repeats get the same reply. */
  private changeId: number | undefined;
  private discards = 0;

  private readonly tx = new Fifo<AuthTransmit>();
  private readonly events = new Fifo<AuthServerEvent>();

  constructor(opts: AuthServerOptions) {
    this.method = opts.method;
    this.protocol = opts.method === "pap" ? PPP_PAP : PPP_CHAP;
    this.hostName = opts.hostName;
    this.random = opts.random;
    this.restartMs = opts.restartMs ?? 3000;
    this.maxChallenges = opts.maxChallenges ?? 10;
    this.id = (opts.firstId ?? 1) & 0xff;
    this.passwordChangeWaitMs = opts.passwordChangeWaitMs ?? 120_000;
    this.maxPasswordChanges = opts.maxPasswordChanges ?? 3;
    if (this.restartMs <= 0) throw new RangeError(`AuthServer: restartMs must be positive, got ${this.restartMs}`);
    if (this.maxChallenges < 1) throw new RangeError(`AuthServer: maxChallenges must be at least 1, got ${this.maxChallenges}`);
  }

  // --- getters ---------------------------------------------------------------------------------------------

  /** True once a verdict was sent (either way). */
  get isFinished(): boolean {
    return this.state === "succeeded" || this.state === "failed";
  }

  get succeeded(): boolean {
    return this.state === "succeeded";
  }

  /** Packets dropped so far (each also reported as a "discarded" event): malformed, unexpected, out of turn. */
  get discardedPackets(): number {
    return this.discards;
  }

  /** The name the peer gave, once it gave one. */
  get user(): string | undefined {
    return this.peerName;
  }

  // --- commands and input ----------------------------------------------------------------------------------

  start(now: Millis): void {
    if (this.state !== "initial") return;
    this.state = "waiting";
    if (this.protocol === PPP_PAP) {
      this.deadline = now + this.restartMs * this.maxChallenges;
    } else {
      this.sendChallenge(now, false);
    }
  }

  handlePacket(now: Millis, protocol: number, payload: Uint8Array): void {
    if (protocol !== this.protocol) {
      this.discard(`protocol 0x${protocol.toString(16)} while authenticating with ${authMethodLabel(this.method)}`);
      return;
    }
    if (protocol === PPP_PAP) this.handlePap(payload);
    else if (payload.length > 0 && payload[0] === CHAP_CHANGE_PASSWORD) this.handleChangePassword(now, payload);
    else this.handleChap(now, payload);
  }

  /** The backend's verdict on the last "verify" event. Ignored unless a verification is outstanding. */
  completeVerification(now: Millis, result: AuthResult): void {
    const req = this.pending;
    if (this.state !== "verifying" || req === undefined) return;
    this.pending = undefined;
    if (!result.ok) {
      if (result.code === MSCHAP_ERROR_PASSWD_EXPIRED && this.method === "mschap-v2" && this.passwordChanges < this.maxPasswordChanges) {
        this.enterExpired(now, req.user, result.message);
        return;
      }
      this.finishFailure(req.user, result.code, result.message, "rejected");
      return;
    }
    if (this.method === "mschap-v2") {
      const s = result.authenticatorResponse;
      if (s === undefined || !isAuthenticatorResponse(s)) {
        // Without S= the peer must hang up (RFC 2759 §5), so say no now and record why.
        this.finishFailure(
          req.user,
          MSCHAP_ERROR_AUTHENTICATION_FAILURE,
          `verifier accepted "${req.user}" but returned ${s === undefined ? "no" : `a malformed ("${s}")`} MS-CHAPv2 authenticator response`,
          "protocol",
        );
        return;
      }
    }
    this.reply = this.successPacket(result);
    this.send(this.reply);
    this.state = "succeeded";
    // Answered: what is left is repeating `reply` to a repeated Response, which needs no challenge (issue 11:
    // memory per session; the link keeps this engine for those repeats).
    this.challenge = NO_CHALLENGE;
    this.events.push({
      type: "success",
      user: req.user,
      method: this.method,
      ...(req.method === "mschap-v2" && req.passwordChange !== undefined ? { passwordChanged: true as const } : {}),
      ...(result.mppe !== undefined ? { mppe: result.mppe } : {}),
      ...(result.addresses !== undefined ? { addresses: result.addresses } : {}),
    });
  }

  handleTimeout(now: Millis): void {
    if (this.deadline === undefined || now < this.deadline) return;
    if (this.state === "expired") {
      // The Failure was sent when the password expired; only the event that ends authentication is left.
      this.finishFailure(
        this.peerName,
        MSCHAP_ERROR_PASSWD_EXPIRED,
        `${this.expiredMessage}; the peer sent no Change-Password within ${this.passwordChangeWaitMs} ms`,
        "rejected",
        false,
      );
      return;
    }
    if (this.state !== "waiting") return;
    this.deadline = undefined;
    if (this.protocol === PPP_PAP) {
      this.finishFailure(
        undefined,
        MSCHAP_ERROR_AUTHENTICATION_FAILURE,
        `peer sent no PAP Authenticate-Request within ${this.restartMs * this.maxChallenges} ms`,
        "timeout",
        false,
      );
      return;
    }
    if (this.challengesSent >= this.maxChallenges) {
      this.finishFailure(
        undefined,
        MSCHAP_ERROR_AUTHENTICATION_FAILURE,
        `peer did not answer the challenge (${this.challengesSent} ${authMethodLabel(this.method)} Challenges sent)`,
        "timeout",
        false,
      );
      return;
    }
    this.sendChallenge(now, true);
  }

  // --- output ----------------------------------------------------------------------------------------------

  pollTransmit(): AuthTransmit | undefined {
    return this.tx.shift();
  }

  pollEvent(): AuthServerEvent | undefined {
    return this.events.shift();
  }

  pollTimeout(): Millis | undefined {
    return this.deadline;
  }

  // --- internals -------------------------------------------------------------------------------------------

  private challengeLen(): number {
    if (this.method === "mschap-v1") return MSCHAP_V1_CHALLENGE_LEN;
    if (this.method === "mschap-v2") return MSCHAP_V2_CHALLENGE_LEN;
    return CHAP_MD5_CHALLENGE_LEN;
  }

  private sendChallenge(now: Millis, isRetry: boolean): void {
    if (isRetry) this.id = (this.id + 1) & 0xff;
    this.challenge = this.random(this.challengeLen()).slice(0, this.challengeLen());
    this.challengesSent++;
    this.send(emitChap({ code: CHAP_CHALLENGE, id: this.id, value: this.challenge, name: this.hostName }));
    this.deadline = now + this.restartMs;
  }

  private handleChap(now: Millis, payload: Uint8Array): void {
    void now;
    const parsed = parseChap(payload);
    if (!parsed.ok) {
      this.discard(`malformed CHAP packet: ${parsed.error.message}`);
      return;
    }
    const p = parsed.value;
    if (p.code !== CHAP_RESPONSE) {
      this.discard(`CHAP ${chapCodeName(p.code)} id ${p.id} is not for the authenticator`);
      return;
    }
    switch (this.state) {
      case "initial":
        this.discard(`CHAP Response id ${p.id} before any Challenge was sent`);
        return;
      case "verifying":
        this.discard(`CHAP Response id ${p.id} while the previous one is being verified`);
        return;
      case "expired":
      case "succeeded":
      case "failed":
        if (p.id === this.id && this.reply !== undefined && this.changeId === undefined) this.send(this.reply);
        else this.discard(`CHAP Response id ${p.id} after authentication finished (current id ${this.id})`);
        return;
      case "waiting":
        break;
    }
    if (p.id !== this.id) {
      // RFC 1994 §4.1: the Response Identifier is copied from the Challenge; anything else answers an old one.
      this.discard(`CHAP Response id ${p.id} does not match the outstanding Challenge id ${this.id}`);
      return;
    }
    this.peerName = p.name;
    const req = this.chapRequest(p.id, p.name, p.value);
    if (typeof req === "string") {
      this.finishFailure(p.name, MSCHAP_ERROR_AUTHENTICATION_FAILURE, req, "protocol");
      return;
    }
    this.beginVerification(req);
  }

  /** Build the verifier's request from a Response, or return why the value is unusable. */
  private chapRequest(id: number, user: string, value: Uint8Array): AuthRequest | string {
    switch (this.method) {
      case "mschap-v1": {
        const r = parseMsChapV1Response(value);
        if (!r.ok) return `malformed MS-CHAP Response from "${user}": ${r.error.message}`;
        return {
          method: "mschap-v1",
          user,
          challenge8: this.challenge,
          ntResponse24: r.value.ntResponse.slice(),
          lmResponse24: r.value.lmResponse.slice(),
          useNt: r.value.useNt,
        };
      }
      case "mschap-v2": {
        const r = parseMsChapV2Response(value);
        if (!r.ok) return `malformed MS-CHAPv2 Response from "${user}": ${r.error.message}`;
        return {
          method: "mschap-v2",
          user,
          authChallenge16: this.challenge,
          peerChallenge16: r.value.peerChallenge.slice(),
          ntResponse24: r.value.ntResponse.slice(),
        };
      }
      default:
        return { method: "chap-md5", user, id, challenge: this.challenge, response: value.slice() };
    }
  }

  /** A Change-Password packet (RFC 2759 §7): acted on only right after our E=648 Failure. */
  private handleChangePassword(now: Millis, payload: Uint8Array): void {
    void now;
    if (this.method !== "mschap-v2") {
      this.discard(`MS-CHAPv2 Change-Password while authenticating with ${authMethodLabel(this.method)}`);
      return;
    }
    const parsed = parseMsChapV2ChangePassword(payload);
    if (!parsed.ok) {
      this.discard(`malformed ${parsed.error.message}`);
      return;
    }
    const p = parsed.value;
    switch (this.state) {
      case "expired":
        break;
      case "verifying":
        this.discard(`MS-CHAPv2 Change-Password id ${p.id} while ${this.changeId === p.id ? "it" : "another request"} is being verified`);
        return;
      case "succeeded":
      case "failed":
        // A lost Success/Failure: the peer repeats its Change-Password, and gets the same reply (RFC 1994 §4.1).
        if (this.changeId === p.id && this.reply !== undefined) this.send(this.reply);
        else this.discard(`MS-CHAPv2 Change-Password id ${p.id} after authentication finished, with no password-expired Failure outstanding`);
        return;
      default:
        this.discard(`MS-CHAPv2 Change-Password id ${p.id} before any Failure with E=648 (password expired) was sent`);
        return;
    }
    const expected = (this.id + 1) & 0xff;
    if (p.id !== expected) {
      // §7: "the Identifier of the received Failure packet to which this packet responds plus 1".
      this.discard(`MS-CHAPv2 Change-Password id ${p.id} does not answer the E=648 Failure id ${this.id} (expected id ${expected})`);
      return;
    }
    const challenge = this.expiredChallenge!;
    this.expiredChallenge = undefined;
    this.passwordChanges++;
    this.id = p.id;
    this.changeId = p.id;
    this.beginVerification({
      method: "mschap-v2",
      user: this.peerName ?? "",
      authChallenge16: challenge,
      peerChallenge16: p.peerChallenge.slice(),
      ntResponse24: p.ntResponse.slice(),
      passwordChange: { id: p.id, encryptedPassword516: p.encryptedPassword.slice(), encryptedHash16: p.encryptedHash.slice() },
    });
  }

  /** Failure with E=648 sent; wait for the peer's Change-Password instead of ending (RFC 2759 §7). */
  private enterExpired(now: Millis, user: string, message: string): void {
    this.reply = this.failurePacket(MSCHAP_ERROR_PASSWD_EXPIRED);
    this.send(this.reply);
    this.state = "expired";
    this.changeId = undefined;
    this.expiredMessage = message;
    this.deadline = now + this.passwordChangeWaitMs;
    this.events.push({ type: "password-expired", user, method: this.method, message, waitMs: this.passwordChangeWaitMs });
  }

  private handlePap(payload: Uint8Array): void {
    const parsed = parsePap(payload);
    if (!parsed.ok) {
      this.discard(`malformed PAP packet: ${parsed.error.message}`);
      return;
    }
    const p = parsed.value;
    if (p.code !== PAP_AUTH_REQUEST) {
      this.discard(`PAP ${p.code === PAP_AUTH_ACK ? "Authenticate-Ack" : "Authenticate-Nak"} id ${p.id} is not for the authenticator`);
      return;
    }
    switch (this.state) {
      case "initial":
        this.discard(`PAP Authenticate-Request id ${p.id} before authentication started`);
        return;
      case "verifying": {
        // The peer re-sends with a new Identifier while the backend thinks (RFC 1334 §2.2.1); answer the latest
        // copy so its Identifier matches what the peer now expects.
        const pend = this.pending;
        if (pend !== undefined && pend.method === "pap" && pend.user === p.peerId && pend.password === p.password) this.id = p.id;
        else this.discard(`PAP Authenticate-Request id ${p.id} with different credentials while verifying`);
        return;
      }
      case "succeeded":
      case "failed":
        // RFC 1334 §2.2.1: repeated requests get the same reply Code, Identifier copied from the request.
        if (this.reply !== undefined) {
          const again = this.reply.slice();
          again[1] = p.id;
          this.send(again);
        }
        return;
      case "waiting":
        break;
    }
    this.id = p.id;
    this.peerName = p.peerId;
    this.beginVerification({ method: "pap", user: p.peerId, password: p.password });
  }

  private beginVerification(req: AuthRequest): void {
    this.state = "verifying";
    this.deadline = undefined; // the peer answered: stop re-challenging while the backend decides
    this.pending = req;
    this.events.push({ type: "verify", request: req });
  }

  private successPacket(result: AuthResult & { ok: true }): Uint8Array {
    switch (this.method) {
      case "pap":
        return emitPap({ code: PAP_AUTH_ACK, id: this.id, message: ACCESS_GRANTED });
      case "chap-md5":
        return emitChap({ code: CHAP_SUCCESS, id: this.id, message: ACCESS_GRANTED });
      case "mschap-v1":
        // An empty message, as Microsoft authenticators send (e.g. the captured Success ff03c22303010004).
        return emitChap({ code: CHAP_SUCCESS, id: this.id, message: "" });
      case "mschap-v2":
        return emitChap({
          code: CHAP_SUCCESS,
          id: this.id,
          message: formatMsChapV2Success({ authenticatorResponse: result.authenticatorResponse ?? "", message: ACCESS_GRANTED }),
        });
    }
  }

  private failurePacket(code: number): Uint8Array {
    switch (this.method) {
      case "pap":
        return emitPap({ code: PAP_AUTH_NAK, id: this.id, message: failureText(code) });
      case "chap-md5":
        return emitChap({ code: CHAP_FAILURE, id: this.id, message: failureText(code) });
      case "mschap-v1":
        // RFC 2433 §8 form; no retry offered, so no new challenge is needed (B.1.2: "E=691 R=0").
        return emitChap({ code: CHAP_FAILURE, id: this.id, message: formatMsChapFailure({ error: code, retry: false }) });
      case "mschap-v2":
        // RFC 2759 §6: C= "MUST be present" even when no retry is allowed.
        return emitChap({
          code: CHAP_FAILURE,
          id: this.id,
          message: formatMsChapFailure({
            error: code,
            retry: false,
            challenge: (this.expiredChallenge = this.random(MSCHAP_V2_CHALLENGE_LEN).slice(0, MSCHAP_V2_CHALLENGE_LEN)),
            version: MSCHAP_V2_CHANGE_PASSWORD_VERSION,
            message: code === MSCHAP_ERROR_AUTHENTICATION_FAILURE ? AUTHENTICATION_FAILED : failureText(code),
          }),
        });
    }
  }

  /** Send Failure/Nak (unless the peer never answered) and report. */
  private finishFailure(
    user: string | undefined,
    code: number,
    message: string,
    reason: "rejected" | "timeout" | "protocol",
    sendReply = true,
  ): void {
    this.state = "failed";
    this.deadline = undefined;
    this.pending = undefined;
    if (sendReply) {
      this.reply = this.failurePacket(code);
      this.send(this.reply);
    }
    this.expiredChallenge = undefined;
    this.challenge = NO_CHALLENGE;
    this.events.push({ type: "failure", user, method: this.method, code, message, reason });
  }

  private send(payload: Uint8Array): void {
    this.tx.push({ protocol: this.protocol, payload });
  }

  private discard(reason: string): void {
    this.discards++;
    this.events.push({ type: "discarded", reason });
  }
}
