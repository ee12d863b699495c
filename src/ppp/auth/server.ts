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
 */
import type { RandomSource, Millis } from "../../core/clock.js";
import { type AuthMethod, PPP_PAP, PPP_CHAP } from "../../wire/ppp-protocols.js";
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
}

/** CHAP-MD5 challenge length: RFC 1994 leaves it open; 16 random octets match the MD5 output size. */
const CHAP_MD5_CHALLENGE_LEN = 16;

type State = "initial" | "waiting" | "verifying" | "succeeded" | "failed";

export class AuthServer {
  readonly method: AuthMethod;
  private readonly protocol: number;
  private readonly hostName: string;
  private readonly random: RandomSource;
  private readonly restartMs: Millis;
  private readonly maxChallenges: number;

  private state: State = "initial";
  private id: number;
  private challenge: Uint8Array = new Uint8Array(0);
  private challengesSent = 0;
  private deadline: Millis | undefined;
  private pending: AuthRequest | undefined;
  /** The final reply (Success/Failure or Ack/Nak) payload, kept to answer repeats. */
  private reply: Uint8Array | undefined;
  private peerName: string | undefined;

  private readonly tx: AuthTransmit[] = [];
  private readonly events: AuthServerEvent[] = [];

  constructor(opts: AuthServerOptions) {
    this.method = opts.method;
    this.protocol = opts.method === "pap" ? PPP_PAP : PPP_CHAP;
    this.hostName = opts.hostName;
    this.random = opts.random;
    this.restartMs = opts.restartMs ?? 3000;
    this.maxChallenges = opts.maxChallenges ?? 10;
    this.id = (opts.firstId ?? 1) & 0xff;
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
    else this.handleChap(now, payload);
  }

  /** The backend's verdict on the last "verify" event. Ignored unless a verification is outstanding. */
  completeVerification(now: Millis, result: AuthResult): void {
    void now;
    const req = this.pending;
    if (this.state !== "verifying" || req === undefined) return;
    this.pending = undefined;
    if (!result.ok) {
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
    this.events.push({
      type: "success",
      user: req.user,
      method: this.method,
      ...(result.mppe !== undefined ? { mppe: result.mppe } : {}),
      ...(result.addresses !== undefined ? { addresses: result.addresses } : {}),
    });
  }

  handleTimeout(now: Millis): void {
    if (this.deadline === undefined || now < this.deadline || this.state !== "waiting") return;
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
      case "succeeded":
      case "failed":
        if (p.id === this.id && this.reply !== undefined) this.send(this.reply);
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
            challenge: this.random(MSCHAP_V2_CHALLENGE_LEN).slice(0, MSCHAP_V2_CHALLENGE_LEN),
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
    this.events.push({ type: "failure", user, method: this.method, code, message, reason });
  }

  private send(payload: Uint8Array): void {
    this.tx.push({ protocol: this.protocol, payload });
  }

  private discard(reason: string): void {
    this.events.push({ type: "discarded", reason });
  }
}
