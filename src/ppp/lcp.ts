/**
 * LCP as a sans-I/O engine: the RFC 1661 automaton (fsm.ts) with LCP's options (options-lcp.ts), plus the
 * Link Maintenance codes and an Echo keepalive.
 *
 *   getters    state, isOpened, result (LcpResult once Opened), localMagic
 *   inputs     open(now) close(now, reason) lowerUp(now) lowerDown(now)
 *              handlePacket(now, lcpPayload) handleTimeout(now) notePeerActivity(now)
 *   commands   sendProtocolReject(now, protocol, packet)
 *   outputs    pollTransmit() — an LCP packet (after the 0xC021 protocol field; the link adds the PPP header
 *              and must send LCP with Address/Control and a 2-octet protocol, RFC 1661 §6.5/§6.6)
 *              pollTimeout() — the earlier of the Restart timer and the echo timer
 *              pollEvent() — LcpEvent
 *
 * Codes beyond Configure/Terminate/Code-Reject:
 *  - Echo-Request (§5.8): answered with an Echo-Reply carrying our Magic-Number, in Opened only. One that
 *    carries our own Magic-Number is a looped-back link (§6.4): reported, not answered.
 *  - Echo-Reply: proves the peer alive (resets the keepalive count). Discard-Request: dropped (§5.9).
 *  - Protocol-Reject (§5.7): in Opened only; reported as "protocol-rejected" so the link stops that protocol.
 *    A Protocol-Reject of LCP itself is catastrophic (RXJ-).
 *  - Identification (RFC 1570 §1.1): Windows sends two right after its Configure-Request ("MSRASV5.00",
 *    "MSRAS-1-<host>"); accepted in any state and reported for the log, no reply. Time-Remaining (§1.2): reported.
 *  - Anything else (including CCP's 14/15): Code-Reject.
 *  - Terminate-Request: the automaton's business, but its printable text is kept (`peerTerminateText`) in
 *    every state — pppd explains itself there ("MPPE required but peer negotiation failed").
 *
 * Keepalive: once Opened, an Echo-Request goes out when nothing came from the peer for `echoIntervalMs` — any
 * LCP packet, and any other frame the link reports through `notePeerActivity` (data, NCPs, the peer's own
 * Echo-Requests), proves it alive, as pppd's `lcp-echo-adaptive` does (RFC 1661 §5.8 leaves when to send one to
 * the implementation). While requests go unanswered, one goes out every interval; when `echoFailures` of them in
 * a row got no answer, LCP emits "echo-timeout" and Closes with "peer not responding to LCP echo", at most
 * (echoFailures + 1) × interval after the last frame from the peer, as when a request went out on every tick.
 * Two ends that both echo at the same interval would each send theirs at the moment the other's arrives, and
 * both keep the link alive. So the roles differ: with `echoYieldToPeer` (the server role) a peer's Echo-Request
 * counts like any frame and a peer that sends them is given a tenth of an interval more before ours would go;
 * without it (the client role) the peer's Echo-Requests prove it alive but do not put ours off — our requests
 * keep their cadence, and a yielding peer falls silent after the first. The dead-peer bound stays the same
 * (the first unanswered wait is shortened by what the yield added).
 * A Code-Reject of Echo-Request stops the keepalive (RXJ+).
 */
import type { Millis, RandomSource } from "../core/clock.js";
import { PPP_LCP, protocolName } from "../wire/ppp-protocols.js";
import { Fsm, type FsmConfig, type FsmEvent, type ExtraCodeOutcome } from "./fsm.js";
import { LcpNegotiator, type LcpOptionsConfig, type LcpResult, type LcpNegotiatorEvent } from "./options-lcp.js";
import type { AskedAuth } from "./explain.js";
import { CpEngine } from "./cp-engine.js";
import {
  type CpPacket,
  LCP_PROTOCOL_REJECT,
  LCP_ECHO_REQUEST,
  LCP_ECHO_REPLY,
  LCP_DISCARD_REQUEST,
  LCP_IDENTIFICATION,
  LCP_TIME_REMAINING,
  CP_HEADER_LENGTH,
  parseMagicBody,
  peekLcpEchoRequest,
  writeEchoReplyFrom,
  parseProtocolReject,
  parseIdentification,
  parseTimeRemaining,
  emitMagicBody,
  emitProtocolReject,
} from "../wire/ppp-cp.js";

export type { LcpResult } from "./options-lcp.js";

export interface LcpConfig extends LcpOptionsConfig {
  /** Magic-Numbers come from here (RFC 1661 §6.4 wants them "in the most random manner possible"). */
  readonly random: RandomSource;
  /** Echo-Request interval once Opened; default 30000 ms; 0 disables the keepalive. */
  readonly echoIntervalMs?: Millis;
  /** Unanswered Echo-Requests in a row before giving up; default 4. */
  readonly echoFailures?: number;
  /** Leave the keepalive to a peer that sends its own Echo-Requests (see the file comment); default false. */
  readonly echoYieldToPeer?: boolean;
  /** Restart timer and counters (RFC 1661 §4.6). */
  readonly fsm?: FsmConfig;
}

export type LcpEvent =
  | FsmEvent
  | LcpNegotiatorEvent
  /** The keepalive gave up after `unanswered` Echo-Requests; LCP is Closing with the same reason. */
  | { readonly type: "echo-timeout"; readonly reason: string; readonly unanswered: number }
  /** The peer Protocol-Rejected `protocol`: stop sending it (RFC 1661 §5.7). */
  | { readonly type: "protocol-rejected"; readonly protocol: number; readonly name: string }
  | { readonly type: "identification"; readonly magic: number; readonly message: string }
  | { readonly type: "time-remaining"; readonly seconds: number; readonly message: string };

const DEFAULT_ECHO_INTERVAL_MS = 30000;
const DEFAULT_ECHO_FAILURES = 4;
/** With echoYieldToPeer: our Echo-Request waits interval + interval / ECHO_YIELD_DIVISOR after the peer's. */
const ECHO_YIELD_DIVISOR = 10;

export class LcpEngine extends CpEngine<LcpEvent, LcpResult> {
  protected readonly fsm: Fsm<LcpEvent>;
  protected readonly negotiator: LcpNegotiator;
  private readonly echoIntervalMs: Millis;
  private readonly echoFailures: number;

  private readonly echoYield: Millis;
  /** Opened with the keepalive running (interval > 0, Echo-Request not Code-Rejected). */
  private echoOn = false;
  /** The last frame from the peer (any: see notePeerActivity), and the last Echo-Request it sent us. */
  private lastRx: Millis = 0;
  private peerEchoAt: Millis | undefined;
  /** What our next Echo-Request counts from: lastRx, but without the yield, not moved by the peer's Echo-Requests. */
  private quietSince: Millis = 0;
  private echoSentAt: Millis = 0;
  private echoesUnanswered = 0;
  private echoRejected = false;

  constructor(config: LcpConfig) {
    super();
    this.echoIntervalMs = config.echoIntervalMs ?? DEFAULT_ECHO_INTERVAL_MS;
    this.echoFailures = config.echoFailures ?? DEFAULT_ECHO_FAILURES;
    this.echoYield = config.echoYieldToPeer === true ? this.echoIntervalMs / ECHO_YIELD_DIVISOR : -1;
    this.negotiator = new LcpNegotiator(config, config.random, (e) => this.fsm.emit(e));
    this.fsm = new Fsm<LcpEvent>("LCP", this, config.fsm);
  }

  // ------------------------------------------------------------------------------------------------------
  // Getters (the rest are CpEngine's)

  /** As authenticatee: every Authentication-Protocol the peer asked for, in its order, accepted or not. */
  get authAskedByPeer(): readonly AskedAuth[] {
    return this.negotiator.authAskedByPeer;
  }

  /**
   * The printable text of the peer's last Terminate-Request (pppd puts its reason there), in any state — also
   * before Opened, where the automaton just acknowledges it (RFC 1661 §4.3 RTR) and reports nothing. Forgotten
   * when LCP (re)opens.
   */
  get peerTerminateText(): string | undefined {
    return this.fsm.peerTerminateText;
  }

  // ------------------------------------------------------------------------------------------------------
  // Inputs and commands (the rest are CpEngine's)

  /** Any LCP packet is the peer's sign of life, except an Echo carrying our own Magic-Number (extraCode). */
  override handlePacket(now: Millis, payload: Uint8Array): void {
    const code = payload.length > 0 ? payload[0] : 0;
    if (code !== LCP_ECHO_REQUEST && code !== LCP_ECHO_REPLY) this.notePeerActivity(now);
    super.handlePacket(now, payload);
  }

  /** The Restart timer, then the echo timer. */
  override handleTimeout(now: Millis): void {
    super.handleTimeout(now);
    const d = this.echoDeadline();
    if (d !== undefined && now >= d) this.echoTimerFired(now);
  }

  /**
   * Any frame from the peer proves it alive (the link calls this for every frame it receives, data included):
   * it answers an outstanding Echo-Request and puts our next one an interval later.
   */
  notePeerActivity(now: Millis): void {
    this.lastRx = now;
    this.quietSince = now;
    this.echoesUnanswered = 0;
  }

  /**
   * Tell the peer we do not speak `protocol` (RFC 1661 §5.7). Only in Opened ("Protocol-Reject packets can only
   * be sent in the LCP Opened state"); `packet` is the rejected Information field, truncated to the peer's MRU.
   */
  sendProtocolReject(_now: Millis, protocol: number, packet: Uint8Array): boolean {
    if (!this.fsm.isOpened) return false;
    const mru = this.opened?.peerMru ?? 1500;
    const info = packet.subarray(0, Math.max(0, mru - CP_HEADER_LENGTH - 2));
    this.fsm.sendPacket(LCP_PROTOCOL_REJECT, this.fsm.nextId(), emitProtocolReject(protocol, info));
    return true;
  }

  // ------------------------------------------------------------------------------------------------------
  // Outputs (the rest are CpEngine's)

  /** The earlier of the Restart timer and the echo timer. */
  override pollTimeout(): Millis | undefined {
    const a = super.pollTimeout();
    const b = this.echoDeadline();
    if (a === undefined) return b;
    if (b === undefined) return a;
    return Math.min(a, b);
  }

  // ------------------------------------------------------------------------------------------------------

  // CpHandler (the automaton's callbacks; the negotiation ones are CpEngine's)

  up(now: Millis): void {
    this.opened = this.negotiator.result();
    this.fsm.peerMru = this.opened.peerMru;
    this.echoesUnanswered = 0;
    this.echoRejected = false;
    this.echoOn = this.echoIntervalMs > 0;
    this.lastRx = now;
    this.quietSince = now;
    this.echoSentAt = now;
    this.peerEchoAt = undefined;
  }

  down(): void {
    this.opened = undefined;
    this.fsm.peerMru = 1500;
    this.echoOn = false;
  }

  /**
   * When the keepalive acts next. Nothing outstanding: an interval after the last frame from the peer (with the
   * yield, and a peer that echoes itself, a tenth later than its last Echo-Request warrants). Requests
   * outstanding: an interval after the last one, but never later than (unanswered + 1) intervals after the last
   * frame — the bound a request on every tick gave.
   */
  private echoDeadline(): Millis | undefined {
    if (!this.echoOn) return undefined;
    const i = this.echoIntervalMs;
    if (this.echoesUnanswered > 0) {
      const next = this.echoSentAt + i;
      const bound = this.lastRx + (this.echoesUnanswered + 1) * i;
      return next < bound ? next : bound;
    }
    // Never sooner than an interval after our own last request either: the cadence of an end the peer's requests
    // do not put off.
    const from = this.quietSince > this.echoSentAt ? this.quietSince : this.echoSentAt;
    const d = from + i;
    if (this.echoYield < 0 || this.peerEchoAt === undefined) return d;
    const y = this.peerEchoAt + i + this.echoYield;
    return y > d ? y : d;
  }

  finished(): void {
    this.down();
  }

  codeRejected(_now: Millis, code: number): void {
    if (code === LCP_ECHO_REQUEST) {
      this.echoRejected = true;
      this.echoOn = false;
    }
  }

  private echoTimerFired(now: Millis): void {
    if (!this.fsm.isOpened || this.echoRejected) {
      this.echoOn = false;
      return;
    }
    if (this.echoesUnanswered >= this.echoFailures) {
      const reason = `peer not responding to LCP echo (${this.echoesUnanswered} Echo-Requests unanswered)`;
      this.echoOn = false;
      this.fsm.emit({ type: "echo-timeout", reason, unanswered: this.echoesUnanswered });
      this.fsm.close(now, reason);
      return;
    }
    this.fsm.sendPacket(LCP_ECHO_REQUEST, this.fsm.nextId(), emitMagicBody(this.negotiator.localMagic));
    this.echoesUnanswered++;
    this.echoSentAt = now;
  }

  /**
   * The peer's Echo-Request, read where it lies: an array of `headroom` + the reply's length holding the Echo-Reply
   * at `headroom` (the caller writes its PPP header in front), with the keepalive bookkeeping extraCode does. An
   * idle session receives one every interval; this path builds no packet record, body or intermediate arrays
   * (issue 11: idle cost). undefined — nothing done — for every other case (not Opened, malformed, our own
   * Magic-Number, another code): the caller hands the packet to handlePacket, which deals with it as before.
   */
  answerEchoInPlace(now: Millis, buf: Uint8Array, off: number, len: number, headroom: number): Uint8Array | undefined {
    if (!this.fsm.isOpened) return undefined;
    const length = peekLcpEchoRequest(buf, off, len);
    if (length < 0) return undefined;
    const ours = this.negotiator.localMagic;
    const theirs = ((buf[off + 4] << 24) | (buf[off + 5] << 16) | (buf[off + 6] << 8) | buf[off + 7]) >>> 0;
    if (ours !== 0 && theirs === ours) return undefined;
    this.noteEchoRequest(now);
    const reply = new Uint8Array(headroom + length);
    writeEchoReplyFrom(reply, headroom, buf, off, length, ours);
    return reply;
  }

  /** An Echo-Request from the peer (answered): alive, and with the yield our own waits (see the file comment). */
  private noteEchoRequest(now: Millis): void {
    if (this.echoYield >= 0) {
      this.notePeerActivity(now);
      this.peerEchoAt = now;
    } else {
      this.lastRx = now;
      this.echoesUnanswered = 0;
    }
  }

  extraCode(now: Millis, p: CpPacket): ExtraCodeOutcome {
    const opened = this.fsm.isOpened;
    switch (p.code) {
      case LCP_ECHO_REQUEST: {
        // §5.8: answered in Opened only; "received in any state other than ... Opened SHOULD be silently discarded".
        if (!opened) return "handled";
        const body = parseMagicBody(p.data);
        if (!body.ok) {
          this.fsm.log(`discarded Echo-Request id ${p.id}: ${body.error.message}`);
          return "handled";
        }
        const ours = this.negotiator.localMagic;
        if (ours !== 0 && body.value.magic === ours) {
          this.fsm.emit({ type: "looped-back", reason: "Echo-Request carries our own Magic-Number (RFC 1661 §6.4)" });
          return "handled";
        }
        this.noteEchoRequest(now);
        this.fsm.sendPacket(LCP_ECHO_REPLY, p.id, emitMagicBody(ours, body.value.data));
        return "handled";
      }
      case LCP_ECHO_REPLY: {
        if (!opened) return "handled";
        const body = parseMagicBody(p.data);
        const ours = this.negotiator.localMagic;
        if (body.ok && (ours === 0 || body.value.magic !== ours)) this.notePeerActivity(now);
        return "handled";
      }
      case LCP_DISCARD_REQUEST:
        return "handled";
      case LCP_PROTOCOL_REJECT: {
        if (!opened) return "handled"; // §5.7: "SHOULD be silently discarded" outside Opened
        const body = parseProtocolReject(p.data);
        if (!body.ok) {
          this.fsm.log(`discarded Protocol-Reject id ${p.id}: ${body.error.message}`);
          return "handled";
        }
        if (body.value.protocol === PPP_LCP) return { fatal: "peer sent Protocol-Reject for LCP" };
        this.fsm.emit({ type: "protocol-rejected", protocol: body.value.protocol, name: protocolName(body.value.protocol) });
        return "handled";
      }
      case LCP_IDENTIFICATION: {
        const body = parseIdentification(p.data);
        if (body.ok) this.fsm.emit({ type: "identification", magic: body.value.magic, message: body.value.message });
        else this.fsm.log(`discarded Identification id ${p.id}: ${body.error.message}`);
        return "handled";
      }
      case LCP_TIME_REMAINING: {
        const body = parseTimeRemaining(p.data);
        if (body.ok) this.fsm.emit({ type: "time-remaining", seconds: body.value.seconds, message: body.value.message });
        else this.fsm.log(`discarded Time-Remaining id ${p.id}: ${body.error.message}`);
        return "handled";
      }
      default:
        return "unknown";
    }
  }
}
