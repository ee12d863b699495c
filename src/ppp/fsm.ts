/**
 * The RFC 1661 §4 option-negotiation automaton, written once and shared by LCP, IPCP and CCP.
 *
 * A control protocol hands the automaton only its option logic, through `CpHandler` (build our
 * Configure-Request, judge the peer's, apply an Ack/Nak/Reject of ours, layer up/down, extra codes). The
 * automaton owns everything RFC 1661 defines generically: the ten states, the Restart timer, the
 * Max-Terminate / Max-Configure / Max-Failure counters (§4.6), Identifier matching (§5.2–§5.4),
 * Terminate and Code-Reject handling (§5.5, §5.6).
 *
 * Sans-I/O, in the quinn-proto style:
 *   inputs     open(now) close(now, reason) lowerUp(now) lowerDown(now) handlePacket(now, payload)
 *              handleTimeout(now) protocolRejected(now, reason)
 *   outputs    pollTransmit(): the control packet (Code, Identifier, Length, Data) — the link adds the PPP header
 *              pollTimeout(): absolute deadline of the Restart timer, if running
 *              pollEvent(): this-layer-up / -down / -started / -finished (with a reason), log lines, and the
 *              handler's own events (type parameter E)
 *
 * Choices the RFC leaves open, made here:
 *  - Every Configure-Request and Terminate-Request, retransmissions included, gets a fresh Identifier (§5.1
 *    "MAY remain unchanged" for retransmissions — changing it is also allowed). A late answer to an earlier
 *    transmission is then silently discarded as out of sequence rather than mistaken for an answer to the
 *    current one, and a retransmission answered twice cannot masquerade as a "crossed connection" (§4.3 RCA).
 *  - The Restart timer is a fixed interval (no backoff); Open in Opened/Stopped/Closing/Stopping does not
 *    restart the link (the "r" footnote's implementation option is not taken).
 *  - Loop avoidance (§4.5): after Max-Failure Configure-Naks without an Ack, further Naks become Rejects
 *    (§4.6); if the peer still sends unacceptable requests after Max-Failure Configure-Rejects, it is ignoring
 *    them (§5.4 "MUST NOT include") and we Close with "negotiation did not converge (Max-Failure)". Likewise if
 *    the peer Naks/Rejects Max-Configure of our requests in a row.
 *  - A handler may veto This-Layer-Up (`verifyOpen`), e.g. CCP when MPPE is required but was not agreed: the
 *    automaton then Closes instead of reporting an Up immediately followed by a Down.
 */
import type { Millis } from "../core/clock.js";
import { utf8 } from "../wire/bytes.js";
import { PPP_LCP, PPP_IPCP, PPP_CCP } from "../wire/ppp-protocols.js";
import { describeOption } from "./describe.js";
import {
  type CpOption,
  type CpPacket,
  CP_CONFIGURE_REQUEST,
  CP_CONFIGURE_ACK,
  CP_CONFIGURE_NAK,
  CP_CONFIGURE_REJECT,
  CP_TERMINATE_REQUEST,
  CP_TERMINATE_ACK,
  CP_CODE_REJECT,
  CP_HEADER_LENGTH,
  parseCpPacket,
  parseCpOptions,
  emitCpPacket,
  emitCpOptions,
  cpOptionsEqual,
  cpCodeName,
} from "../wire/ppp-cp.js";

/** RFC 1661 §4.2, in table order (0 Initial … 9 Opened). */
export type FsmState =
  | "initial"
  | "starting"
  | "closed"
  | "stopped"
  | "closing"
  | "stopping"
  | "req-sent"
  | "ack-rcvd"
  | "ack-sent"
  | "opened";

export interface FsmConfig {
  /** Restart timer (§4.6): "SHOULD default to three (3) seconds". */
  readonly restartMs?: Millis;
  /** Terminate-Requests sent without a Terminate-Ack before giving up (§4.6, default 2). */
  readonly maxTerminate?: number;
  /** Configure-Requests sent without a valid reply before giving up (§4.6, default 10). */
  readonly maxConfigure?: number;
  /** Configure-Naks sent without an Ack before Naks turn into Rejects (§4.6, default 5). */
  readonly maxFailure?: number;
  /** Identifier of the first packet we originate; default 1, then counting up modulo 256. */
  readonly firstId?: number;
  /** Who reads the `log` events (default: always read). See FsmLogGate. */
  readonly logGate?: FsmLogGate;
}

/**
 * Whether anybody reads an automaton's `log` events, asked each time (a session's debug changes at run time). When
 * nobody does, the lines are neither formatted nor queued: describing every option of every Configure-Request,
 * Ack and Nak cost a server ~6 % of its CPU per setup (issue 11, setup rate) for a log that is off as shipped.
 */
export interface FsmLogGate {
  negotiationLogged(): boolean;
}

export const FSM_DEFAULTS = {
  restartMs: 3000,
  maxTerminate: 2,
  maxConfigure: 10,
  maxFailure: 5,
  firstId: 1,
} as const;

export type FsmEvent =
  /** tlu: the protocol reached Opened (§4.4). */
  | { readonly type: "this-layer-up"; readonly protocol: string }
  /** tld: the protocol left Opened. */
  | {
      readonly type: "this-layer-down";
      readonly protocol: string;
      readonly reason: string;
      /** The peer ended the layer with a Terminate-Request: its own choice, not a failure it will report. */
      readonly byPeerRequest?: true;
    }
  /** tls: the automaton needs the lower layer (it is waiting for lowerUp). */
  | { readonly type: "this-layer-started"; readonly protocol: string }
  /** tlf: the automaton is done with the lower layer (Initial, Closed or Stopped). */
  | { readonly type: "this-layer-finished"; readonly protocol: string; readonly reason: string }
  /** Something a debug log should show: discarded packets, illegal events, Max-Failure conversions. */
  | { readonly type: "log"; readonly protocol: string; readonly message: string };

/** What to answer a peer's Configure-Request with (RFC 1661 §5.2–§5.4). */
export type RequestVerdict =
  /**
   * Every option acceptable: Configure-Ack (the automaton echoes the request's options unchanged).
   * `resendRequest`: processing this request changed what we want to ask for ourselves (e.g. CCP following
   * the peer's MPPE choice), so a fresh Configure-Request must follow — and the layer must not come up on
   * the strength of an Ack of our previous request.
   */
  | { readonly kind: "ack"; readonly resendRequest?: boolean }
  /** Configure-Nak: unacceptable values with acceptable ones in their place (+ appended options we want). */
  | { readonly kind: "nak"; readonly options: readonly CpOption[] }
  /** Configure-Reject: options we will not negotiate, copied unmodified from the request. */
  | { readonly kind: "reject"; readonly options: readonly CpOption[] }
  /** Give up negotiating (e.g. looped-back link): the automaton Closes with this reason, sending no reply. */
  | { readonly kind: "fail"; readonly reason: string };

/** How a handler took a Nak/Reject of our request: "invalid" → the packet is silently discarded (§5.3/§5.4). */
export type ReplyOutcome = "applied" | "invalid" | { readonly fail: string };

/** A handler's answer for a code beyond 1..7: "unknown" → Code-Reject (RUC); fatal → RXJ- with that reason. */
export type ExtraCodeOutcome = "handled" | "unknown" | { readonly fatal: string };

/**
 * A control protocol's option logic (pppd calls these its fsm callbacks). The automaton calls:
 *  - resetRequest() when a negotiation starts afresh (Up, Open, or renegotiation from Stopped/Opened), before
 *    it looks at whatever packet caused it;
 *  - buildRequest() each time it sends a new Configure-Request;
 *  - processRequest() for each peer Configure-Request it must answer; the values of the last one answered
 *    with an Ack are the ones in force when up() runs;
 *  - nakReceived()/rejectReceived() for a Nak/Reject whose Identifier matches our outstanding request (and,
 *    for a Reject, whose options are a subset of it — checked before the call);
 *  - ackReceived() for a valid Ack (its options are exactly our request);
 *  - verifyOpen() just before tlu; a string vetoes Opened and Closes with that reason;
 *  - up/down/started/finished on tlu/tld/tls/tlf;
 *  - extraCode() for codes other than 1..7; codeRejected() when the peer Code-Rejects one of those (RXJ+).
 */
export interface CpHandler {
  resetRequest(): void;
  buildRequest(): CpOption[];
  processRequest(options: readonly CpOption[]): RequestVerdict;
  ackReceived?(options: readonly CpOption[]): void;
  nakReceived(options: readonly CpOption[]): ReplyOutcome;
  rejectReceived(options: readonly CpOption[]): ReplyOutcome;
  verifyOpen?(): string | undefined;
  up?(now: Millis): void;
  /** `renegotiating`: the automaton left Opened to renegotiate (it sends a new Configure-Request), not to stop. */
  down?(now: Millis, reason: string, renegotiating: boolean): void;
  started?(now: Millis): void;
  finished?(now: Millis, reason: string): void;
  extraCode?(now: Millis, packet: CpPacket): ExtraCodeOutcome;
  codeRejected?(now: Millis, code: number): void;
}

/** The protocol numbers of the automatons' names, for describeOption. */
const PROTOCOL_NUMBERS: Readonly<Record<string, number>> = { LCP: PPP_LCP, IPCP: PPP_IPCP, CCP: PPP_CCP };

const TIMER_STATES: ReadonlySet<FsmState> = new Set<FsmState>(["closing", "stopping", "req-sent", "ack-rcvd", "ack-sent"]);

/** Terminate-Request data is our reason as text (RFC 1661 §5.5: "uninterpreted data"); keep it modest. */
const MAX_TERMINATE_TEXT = 64;

export class Fsm<E = never> {
  readonly protocol: string;
  /** The largest Information field the peer accepts; Code-Reject truncates the rejected packet to it (§5.6). */
  peerMru = 1500;

  private readonly handler: CpHandler;
  private readonly restartMs: Millis;
  private readonly maxTerminate: number;
  private readonly maxConfigure: number;
  private readonly maxFailure: number;
  /** See FsmLogGate; the owner may set it after construction (CpEngine.logGate). */
  logGate: FsmLogGate | undefined;

  private st: FsmState = "initial";
  private now: Millis = 0;
  private deadline: Millis | undefined;
  private restartCount = 0;
  private idCounter: number;

  /** Identifier and option bytes of our outstanding Configure-Request. */
  private reqId = -1;
  // The option bytes as a one-byte string (one char per octet): kept for the session's life to match Acks against,
  // and a short string is ~40 B where a small Uint8Array costs ~210 (view, ArrayBuffer object, elements) — issue 11.
  private reqOptions = "";

  private naksSent = 0;
  private rejectsSent = 0;
  private negativeRepliesReceived = 0;
  /** Why we are terminating, for the tlf that eventually follows (Close, RTR, RXJ-). */
  private pendingReason: string | undefined;

  /**
   * Output queues, made when something is queued and dropped when drained: a drained array keeps its backing
   * store, and an idle session's three automatons would hold six of them (issue 11: memory per session).
   */
  private txq: Uint8Array[] | undefined;
  private evq: (FsmEvent | E)[] | undefined;

  constructor(protocol: string, handler: CpHandler, config: FsmConfig = {}) {
    this.protocol = protocol;
    this.handler = handler;
    this.restartMs = config.restartMs ?? FSM_DEFAULTS.restartMs;
    this.maxTerminate = config.maxTerminate ?? FSM_DEFAULTS.maxTerminate;
    this.maxConfigure = config.maxConfigure ?? FSM_DEFAULTS.maxConfigure;
    this.maxFailure = config.maxFailure ?? FSM_DEFAULTS.maxFailure;
    this.idCounter = ((config.firstId ?? FSM_DEFAULTS.firstId) - 1) & 0xff;
    this.logGate = config.logGate;
  }

  // ------------------------------------------------------------------------------------------------------
  // Getters and polls

  get state(): FsmState {
    return this.st;
  }

  get isOpened(): boolean {
    return this.st === "opened";
  }

  /**
   * The printable text of the peer's last Terminate-Request, in any state. Forgotten when the layer comes up:
   * one from before that agreement belonged to an earlier attempt.
   */
  get peerTerminateText(): string | undefined {
    return this.lastPeerTerminateText;
  }
  private lastPeerTerminateText: string | undefined;

  pollTransmit(): Uint8Array | undefined {
    const q = this.txq;
    if (q === undefined) return undefined;
    const p = q.shift();
    if (q.length === 0) this.txq = undefined;
    return p;
  }

  pollTimeout(): Millis | undefined {
    return this.deadline;
  }

  pollEvent(): FsmEvent | E | undefined {
    const q = this.evq;
    if (q === undefined) return undefined;
    const e = q.shift();
    if (q.length === 0) this.evq = undefined;
    return e;
  }

  // ------------------------------------------------------------------------------------------------------
  // For handlers: extra codes, their own events

  private queue(packet: Uint8Array): void {
    (this.txq ??= []).push(packet);
  }

  /** Queue a packet of any code (Echo-Reply, Reset-Ack...), without PPP header. */
  sendPacket(code: number, id: number, data?: Uint8Array): void {
    this.queue(emitCpPacket(code, id, data));
  }

  /** A fresh Identifier from the shared counter (§5: "MUST be changed for each ... sent"). */
  nextId(): number {
    this.idCounter = (this.idCounter + 1) & 0xff;
    return this.idCounter;
  }

  /** Queue an event for the owner, in order with the automaton's own. */
  emit(event: FsmEvent | E): void {
    (this.evq ??= []).push(event);
  }

  /** Whether `log` lines are read now: callers that build a costly line ask first. */
  get logging(): boolean {
    const g = this.logGate;
    return g === undefined || g.negotiationLogged();
  }

  log(message: string): void {
    if (!this.logging) return;
    (this.evq ??= []).push({ type: "log", protocol: this.protocol, message });
  }

  // ------------------------------------------------------------------------------------------------------
  // Administrative and lower-layer events (§4.3)

  /** Open: the link is administratively available. */
  open(now: Millis): void {
    this.now = now;
    switch (this.st) {
      case "initial":
        this.tls();
        this.setState("starting");
        return;
      case "closed":
        this.beginNegotiation();
        this.irc(this.maxConfigure);
        this.scr();
        this.setState("req-sent");
        return;
      case "closing":
        this.setState("stopping");
        return;
      default:
        // Starting, Stopped, Stopping, Req-Sent, Ack-Rcvd, Ack-Sent, Opened: already open.
        return;
    }
  }

  /** Close: the link is not allowed to be Opened; `reason` is sent in the Terminate-Request and reported. */
  close(now: Millis, reason: string): void {
    this.now = now;
    switch (this.st) {
      case "starting":
        this.tlf(reason);
        this.setState("initial");
        return;
      case "stopped":
        this.setState("closed");
        return;
      case "stopping":
        this.setState("closing");
        return;
      case "req-sent":
      case "ack-rcvd":
      case "ack-sent":
        this.pendingReason = reason;
        this.irc(this.maxTerminate);
        this.str(reason);
        this.setState("closing");
        return;
      case "opened":
        this.pendingReason = reason;
        this.tld(reason, false, true);
        this.irc(this.maxTerminate);
        this.str(reason);
        this.setState("closing");
        return;
      default:
        // Initial, Closed, Closing: nothing to do.
        return;
    }
  }

  /** Up: the lower layer can carry packets. */
  lowerUp(now: Millis): void {
    this.now = now;
    switch (this.st) {
      case "initial":
        this.setState("closed");
        return;
      case "starting":
        this.beginNegotiation();
        this.irc(this.maxConfigure);
        this.scr();
        this.setState("req-sent");
        return;
      default:
        this.illegal("Up");
    }
  }

  /** Down: the lower layer can no longer carry packets. */
  lowerDown(now: Millis): void {
    this.now = now;
    switch (this.st) {
      case "closed":
      case "closing":
        this.setState("initial");
        return;
      case "stopped":
        this.tls();
        this.setState("starting");
        return;
      case "stopping":
      case "req-sent":
      case "ack-rcvd":
      case "ack-sent":
        this.setState("starting");
        return;
      case "opened":
        this.tld("lower layer went down");
        this.setState("starting");
        return;
      default:
        this.illegal("Down");
    }
  }

  /**
   * The peer Protocol-Rejected this protocol (seen by LCP, RFC 1661 §5.7): stop at once. Unlike RXJ- in
   * Opened we send no Terminate-Request, since we "MUST stop sending packets of the indicated protocol".
   */
  protocolRejected(now: Millis, reason: string): void {
    this.now = now;
    switch (this.st) {
      case "initial":
      case "starting":
      case "closed":
      case "stopped":
        return;
      case "closing":
        this.tlf(reason);
        this.setState("closed");
        return;
      case "opened":
        this.tld(reason);
        this.tlf(reason);
        this.setState("stopped");
        return;
      default:
        this.tlf(reason);
        this.setState("stopped");
    }
  }

  /** Call when pollTimeout() is due; TO+ or TO- depending on the Restart counter (§4.3 Timeout). */
  handleTimeout(now: Millis): void {
    this.now = now;
    if (this.deadline === undefined || now < this.deadline) return;
    this.deadline = undefined;
    if (this.restartCount > 0) this.timeoutPlus();
    else this.timeoutMinus();
  }

  // ------------------------------------------------------------------------------------------------------
  // Packets

  /** A control packet from the peer (the bytes after the PPP Protocol field). Malformed input is discarded. */
  handlePacket(now: Millis, payload: Uint8Array): void {
    this.now = now;
    const parsed = parseCpPacket(payload);
    if (!parsed.ok) {
      this.log(`discarded malformed packet: ${parsed.error.message}`);
      return;
    }
    const p = parsed.value;
    if (this.st === "initial" || this.st === "starting") {
      this.illegal(`receive ${cpCodeName(p.code)}`);
      return;
    }
    switch (p.code) {
      case CP_CONFIGURE_REQUEST:
        return this.onConfigureRequest(p);
      case CP_CONFIGURE_ACK:
        return this.onConfigureAck(p);
      case CP_CONFIGURE_NAK:
      case CP_CONFIGURE_REJECT:
        return this.onConfigureNakOrReject(p);
      case CP_TERMINATE_REQUEST:
        return this.onTerminateRequest(p);
      case CP_TERMINATE_ACK:
        return this.onTerminateAck();
      case CP_CODE_REJECT:
        return this.onCodeReject(p);
      default: {
        const outcome = this.handler.extraCode ? this.handler.extraCode(now, p) : "unknown";
        if (outcome === "handled") return;
        if (outcome === "unknown") return this.scj(payload.subarray(0, CP_HEADER_LENGTH + p.data.length));
        return this.rxjMinus(outcome.fatal);
      }
    }
  }

  private onConfigureRequest(p: CpPacket): void {
    switch (this.st) {
      case "closed":
        this.sta(p.id);
        return;
      case "closing":
      case "stopping":
        return;
    }
    const parsed = parseCpOptions(p.data);
    if (!parsed.ok) {
      // §6: an option running past the end of the packet → "the entire packet is silently discarded".
      this.log(`discarded Configure-Request id ${p.id}: ${parsed.error.message}`);
      return;
    }
    const wasOpened = this.st === "opened";
    if (this.st === "stopped" || wasOpened) this.beginNegotiation();
    const verdict = this.judge(parsed.value);
    if (verdict.kind === "fail") {
      if (this.logging) this.log(`peer asks ${this.optionsText(parsed.value)} (id ${p.id}): giving up: ${verdict.reason}`);
      this.close(this.now, verdict.reason);
      return;
    }
    // The `negotiation` log: each of the peer's requests and what we answer (RFC 1661 §5.2-§5.4).
    if (this.logging)
      this.log(
      `peer asks ${this.optionsText(parsed.value)} (id ${p.id}): ` +
        (verdict.kind === "ack"
          ? "all acceptable, Configure-Ack"
          : verdict.kind === "nak"
            ? `Configure-Nak, we want ${this.optionsText(verdict.options)} instead`
            : `Configure-Reject of ${this.optionsText(verdict.options)}: not negotiable with us`),
    );
    const acceptable = verdict.kind === "ack";
    const resend = verdict.kind === "ack" && verdict.resendRequest === true;
    switch (this.st) {
      case "stopped":
        this.irc(this.maxConfigure);
        this.scr();
        this.answer(p, verdict);
        this.setState(acceptable ? "ack-sent" : "req-sent");
        return;
      case "req-sent":
      case "ack-sent":
        this.answer(p, verdict);
        if (resend) this.scr();
        this.setState(acceptable ? "ack-sent" : "req-sent");
        return;
      case "ack-rcvd":
        this.answer(p, verdict);
        if (!acceptable) return;
        if (resend) {
          this.scr();
          this.setState("ack-sent");
          return;
        }
        this.tlu();
        return;
      case "opened":
        this.tld("peer renegotiating (Configure-Request while Opened)", true);
        this.scr();
        this.answer(p, verdict);
        this.setState(acceptable ? "ack-sent" : "req-sent");
        return;
    }
  }

  private onConfigureAck(p: CpPacket): void {
    switch (this.st) {
      case "closed":
      case "stopped":
        this.sta(p.id);
        return;
      case "closing":
      case "stopping":
        return;
    }
    if (!this.isAnswerToOurRequest(p)) return;
    if (!this.sameAsOurRequest(p.data)) {
      this.log(`discarded Configure-Ack id ${p.id}: its options differ from our Configure-Request (§5.2)`);
      return;
    }
    this.negativeRepliesReceived = 0;
    if (this.st !== "opened") this.log(`peer acks our request (id ${p.id})`);
    switch (this.st) {
      case "req-sent":
        this.handler.ackReceived?.(this.ackedOptions(p.data));
        this.irc(this.maxConfigure);
        this.setState("ack-rcvd");
        return;
      case "ack-rcvd":
        this.log("crossed connection: second Configure-Ack for the same request (§4.3 RCA)");
        this.scr();
        this.setState("req-sent");
        return;
      case "ack-sent":
        this.handler.ackReceived?.(this.ackedOptions(p.data));
        this.irc(this.maxConfigure);
        this.tlu();
        return;
      case "opened":
        this.log("crossed connection: Configure-Ack while Opened (§4.3 RCA)");
        this.tld("unexpected Configure-Ack while Opened", true);
        this.beginNegotiation();
        this.scr();
        this.setState("req-sent");
        return;
    }
  }

  private onConfigureNakOrReject(p: CpPacket): void {
    switch (this.st) {
      case "closed":
      case "stopped":
        this.sta(p.id);
        return;
      case "closing":
      case "stopping":
        return;
    }
    const name = cpCodeName(p.code);
    if (!this.isAnswerToOurRequest(p)) return;
    const parsed = parseCpOptions(p.data);
    if (!parsed.ok) {
      this.log(`discarded ${name} id ${p.id}: ${parsed.error.message}`);
      return;
    }
    const options = parsed.value;
    if (p.code === CP_CONFIGURE_REJECT && !this.isSubsetOfOurRequest(options)) {
      this.log(`discarded Configure-Reject id ${p.id}: it lists options we did not request, or modified them (§5.4)`);
      return;
    }
    const wasOpened = this.st === "opened";
    if (wasOpened) {
      this.tld(`unexpected ${name} while Opened`, true);
      this.beginNegotiation();
    }
    const outcome = p.code === CP_CONFIGURE_NAK ? this.handler.nakReceived(options) : this.handler.rejectReceived(options);
    if (outcome !== "invalid" && this.logging) {
      this.log(
        p.code === CP_CONFIGURE_NAK
          ? `peer Configure-Naks our request (id ${p.id}), suggesting ${this.optionsText(options)}${outcome === "applied" ? "" : `: giving up: ${outcome.fail}`}`
          : `peer Configure-Rejects ${this.optionsText(options)} of our request (id ${p.id})${outcome === "applied" ? ": we stop asking for them" : `: giving up: ${outcome.fail}`}`,
      );
    }
    if (outcome === "invalid") {
      this.log(`discarded ${name} id ${p.id}: not a valid answer to our request`);
      if (wasOpened) {
        // The Down already happened; renegotiate rather than sit in Opened without the layer.
        this.scr();
        this.setState("req-sent");
      }
      return;
    }
    if (outcome !== "applied") {
      this.close(this.now, outcome.fail);
      return;
    }
    this.negativeRepliesReceived++;
    if (this.negativeRepliesReceived >= this.maxConfigure) {
      this.close(
        this.now,
        `negotiation did not converge (peer sent ${this.negativeRepliesReceived} Configure-Nak/Reject without an Ack)`,
      );
      return;
    }
    switch (this.st) {
      case "req-sent":
        this.irc(this.maxConfigure);
        this.scr();
        return;
      case "ack-rcvd":
        this.scr();
        this.setState("req-sent");
        return;
      case "ack-sent":
        this.irc(this.maxConfigure);
        this.scr();
        return;
      case "opened":
        this.scr();
        this.setState("req-sent");
        return;
    }
  }

  private onTerminateRequest(p: CpPacket): void {
    const text = terminateText(p.data);
    const reason = text === undefined ? "peer sent Terminate-Request" : `peer sent Terminate-Request ("${text}")`;
    // Kept in every state: outside Opened the automaton only acknowledges, yet the text is often the only
    // explanation the peer gives for ending the link.
    if (text !== undefined) this.lastPeerTerminateText = text;
    if (this.st !== "opened") this.log(`${reason} in state ${this.st}`);
    switch (this.st) {
      case "closed":
      case "stopped":
      case "closing":
      case "stopping":
        this.sta(p.id);
        return;
      case "req-sent":
      case "ack-rcvd":
      case "ack-sent":
        this.sta(p.id);
        this.setState("req-sent");
        return;
      case "opened":
        this.pendingReason = reason;
        this.tld(reason, false, true);
        this.zrc();
        this.sta(p.id);
        this.setState("stopping");
        return;
    }
  }

  /** RTA or TO- in Closing/Stopping (RFC 1661 §4.1): tlf, then Closed or Stopped respectively. */
  private terminationDone(): void {
    const closing = this.st === "closing";
    this.tlf(this.pendingReason ?? (closing ? "closed" : "stopped"));
    this.setState(closing ? "closed" : "stopped");
  }

  private onTerminateAck(): void {
    switch (this.st) {
      case "closing":
      case "stopping":
        this.terminationDone();
        return;
      case "ack-rcvd":
        this.setState("req-sent");
        return;
      case "opened":
        this.tld("peer sent Terminate-Ack while Opened (renegotiating)", true);
        this.beginNegotiation();
        this.scr();
        this.setState("req-sent");
        return;
      default:
        // Closed, Stopped: silently discarded to avoid a loop; Req-Sent, Ack-Sent: no change.
        return;
    }
  }

  private onCodeReject(p: CpPacket): void {
    if (p.data.length < 1) {
      this.log(`discarded Code-Reject id ${p.id}: it carries no rejected packet`);
      return;
    }
    const code = p.data[0];
    if (code >= CP_CONFIGURE_REQUEST && code <= CP_CODE_REJECT) {
      // §4.3 RXJ-: "a Code-Reject of Configure-Request" and the other basic codes is catastrophic.
      this.rxjMinus(`peer sent Code-Reject for ${cpCodeName(code)}: it does not implement ${this.protocol}`);
      return;
    }
    this.log(`peer Code-Rejected ${cpCodeName(code)}; we stop sending it (RXJ+)`);
    this.handler.codeRejected?.(this.now, code);
    // §4.1: RXJ+ in Ack-Rcvd goes back to Req-Sent (as RTA does); every other state stays put.
    if (this.st === "ack-rcvd") this.setState("req-sent");
  }

  // ------------------------------------------------------------------------------------------------------
  // Timeout and RXJ- transitions

  private timeoutPlus(): void {
    switch (this.st) {
      case "closing":
      case "stopping":
        this.str(this.pendingReason ?? "");
        return;
      case "req-sent":
      case "ack-sent":
        this.retransmitRequest();
        return;
      case "ack-rcvd":
        this.retransmitRequest();
        this.setState("req-sent");
        return;
    }
  }

  private timeoutMinus(): void {
    switch (this.st) {
      case "closing":
      case "stopping":
        this.terminationDone();
        return;
      case "req-sent":
      case "ack-rcvd":
      case "ack-sent":
        // The "p" footnote's passive option is not taken: RFC 1661 says it SHOULD NOT be used on switched circuits.
        this.tlf(`no response to Configure-Request after ${this.maxConfigure} tries`);
        this.setState("stopped");
        return;
    }
  }

  private rxjMinus(reason: string): void {
    switch (this.st) {
      case "closed":
      case "closing":
        this.tlf(reason);
        this.setState("closed");
        return;
      case "stopped":
      case "stopping":
      case "req-sent":
      case "ack-rcvd":
      case "ack-sent":
        this.tlf(reason);
        this.setState("stopped");
        return;
      case "opened":
        this.pendingReason = reason;
        this.tld(reason, false, true);
        this.irc(this.maxTerminate);
        this.str(reason);
        this.setState("stopping");
        return;
    }
  }

  // ------------------------------------------------------------------------------------------------------
  // Judging the peer's request, with Max-Failure (§4.6)

  private judge(options: readonly CpOption[]): RequestVerdict {
    const v = this.handler.processRequest(options);
    switch (v.kind) {
      case "fail":
        return v;
      case "ack":
        this.naksSent = 0;
        this.rejectsSent = 0;
        return v;
      case "nak": {
        if (this.naksSent < this.maxFailure) {
          this.naksSent++;
          return v;
        }
        // "Any further Configure-Nak packets for peer requested options are converted to Configure-Reject
        // packets, and locally desired options are no longer appended."
        const rejected = options.filter((o) => v.options.some((n) => n.type === o.type));
        if (rejected.length === 0) {
          this.log(`Max-Failure (${this.maxFailure}) reached: no longer appending options we would like; acking`);
          this.naksSent = 0;
          this.rejectsSent = 0;
          return { kind: "ack" };
        }
        this.log(`Max-Failure (${this.maxFailure}) reached: Configure-Nak converted to Configure-Reject`);
        return this.rejectOrGiveUp({ kind: "reject", options: rejected });
      }
      case "reject":
        return this.rejectOrGiveUp(v);
    }
  }

  private rejectOrGiveUp(v: Extract<RequestVerdict, { kind: "reject" }>): RequestVerdict {
    if (this.rejectsSent >= this.maxFailure) return { kind: "fail", reason: "negotiation did not converge (Max-Failure)" };
    this.rejectsSent++;
    return v;
  }

  private answer(p: CpPacket, v: RequestVerdict): void {
    if (v.kind === "ack") this.queue(emitCpPacket(CP_CONFIGURE_ACK, p.id, p.data));
    else if (v.kind === "nak") this.queue(emitCpPacket(CP_CONFIGURE_NAK, p.id, emitCpOptions(v.options)));
    else if (v.kind === "reject") this.queue(emitCpPacket(CP_CONFIGURE_REJECT, p.id, emitCpOptions(v.options)));
  }

  // ------------------------------------------------------------------------------------------------------
  // Checks on replies to our request (§5.2–§5.4)

  private isAnswerToOurRequest(p: CpPacket): boolean {
    if (p.id === this.reqId) return true;
    this.log(`discarded ${cpCodeName(p.code)} id ${p.id}: our outstanding Configure-Request has id ${this.reqId}`);
    return false;
  }

  private sameAsOurRequest(data: Uint8Array): boolean {
    const a = this.reqOptions;
    if (a.length !== data.length) return false;
    for (let i = 0; i < a.length; i++) if (a.charCodeAt(i) !== data[i]) return false;
    return true;
  }

  /** The options of an Ack already checked byte for byte against our request (sameAsOurRequest): no re-encoding. */
  private ackedOptions(data: Uint8Array): CpOption[] {
    const r = parseCpOptions(data);
    return r.ok ? r.value : [];
  }

  private requestOptions(): CpOption[] {
    const r = parseCpOptions(this.requestBytes());
    return r.ok ? r.value : [];
  }

  /** Our outstanding request's option bytes, made again from `reqOptions`. */
  private requestBytes(): Uint8Array {
    const s = this.reqOptions;
    const b = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    return b;
  }

  /** Our outstanding request as a Configure-Request packet, written straight from `reqOptions` (one allocation). */
  private requestPacket(): Uint8Array {
    const s = this.reqOptions;
    const b = new Uint8Array(CP_HEADER_LENGTH + s.length);
    b[0] = CP_CONFIGURE_REQUEST;
    b[1] = this.reqId;
    b[2] = b.length >> 8;
    b[3] = b.length & 0xff;
    for (let i = 0; i < s.length; i++) b[CP_HEADER_LENGTH + i] = s.charCodeAt(i);
    return b;
  }

  private isSubsetOfOurRequest(options: readonly CpOption[]): boolean {
    const ours = this.requestOptions();
    return options.every((o) => ours.some((m) => cpOptionsEqual(m, o)));
  }

  // ------------------------------------------------------------------------------------------------------
  // Actions (§4.4)

  private setState(s: FsmState): void {
    this.st = s;
    if (!TIMER_STATES.has(s)) this.deadline = undefined;
  }

  /** A negotiation starts afresh: the handler forgets refusals, the failure counters restart. */
  private beginNegotiation(): void {
    this.naksSent = 0;
    this.rejectsSent = 0;
    this.negativeRepliesReceived = 0;
    this.pendingReason = undefined;
    this.handler.resetRequest();
  }

  private tlu(): void {
    const veto = this.handler.verifyOpen?.();
    if (veto !== undefined) {
      this.close(this.now, veto);
      return;
    }
    this.setState("opened");
    this.lastPeerTerminateText = undefined;
    this.handler.up?.(this.now);
    this.emit({ type: "this-layer-up", protocol: this.protocol });
  }

  private tld(reason: string, renegotiating = false, byPeerRequest = false): void {
    this.handler.down?.(this.now, reason, renegotiating);
    this.emit(byPeerRequest ? { type: "this-layer-down", protocol: this.protocol, reason, byPeerRequest } : { type: "this-layer-down", protocol: this.protocol, reason });
  }

  private tls(): void {
    this.handler.started?.(this.now);
    this.emit({ type: "this-layer-started", protocol: this.protocol });
  }

  private tlf(reason: string): void {
    this.handler.finished?.(this.now, reason);
    this.emit({ type: "this-layer-finished", protocol: this.protocol, reason });
  }

  private irc(count: number): void {
    this.restartCount = count;
  }

  private zrc(): void {
    // "In addition to zeroing the Restart counter, the implementation MUST set the timeout period to an
    // appropriate value": one Restart interval lets the peer see our Terminate-Ack before we go quiet.
    this.restartCount = 0;
    this.deadline = this.now + this.restartMs;
  }

  private scr(): void {
    const options = this.handler.buildRequest();
    // apply, not a spread: spreading a typed array walks an iterator and builds an array first (issue 11: setup CPU).
    this.reqOptions = String.fromCharCode.apply(null, emitCpOptions(options) as unknown as number[]);
    this.retransmitRequest();
    if (this.logging) this.log(`we ask ${this.optionsText(options)} (id ${this.reqId})`);
  }

  /** Options as pppd's debug lines show them, "<mru 1400> <magic 0x1f2e3d4c>", for the negotiation log. */
  private optionsText(options: readonly CpOption[]): string {
    if (options.length === 0) return "nothing";
    const proto = PROTOCOL_NUMBERS[this.protocol] ?? 0;
    return options.map((o) => `<${describeOption(proto, o)}>`).join(" ");
  }

  private retransmitRequest(): void {
    this.reqId = this.nextId();
    this.queue(this.requestPacket());
    this.restartCount--;
    this.deadline = this.now + this.restartMs;
  }

  private str(reason: string): void {
    const text = utf8(reason);
    this.queue(emitCpPacket(CP_TERMINATE_REQUEST, this.nextId(), text.subarray(0, MAX_TERMINATE_TEXT)));
    this.restartCount--;
    this.deadline = this.now + this.restartMs;
  }

  private sta(id: number): void {
    this.queue(emitCpPacket(CP_TERMINATE_ACK, id));
  }

  private scj(rejected: Uint8Array): void {
    // §5.6: the Rejected-Packet "MUST be truncated to comply with the peer's established MRU".
    const room = Math.max(0, this.peerMru - CP_HEADER_LENGTH);
    this.queue(emitCpPacket(CP_CODE_REJECT, this.nextId(), rejected.subarray(0, room)));
  }

  private illegal(event: string): void {
    this.log(`illegal event ${event} in state ${this.st} (ignored, RFC 1661 §4.4)`);
  }
}

/** Longest Terminate-Request text we quote. */
const MAX_TERMINATE_QUOTE = 200;

/**
 * The text of a Terminate-Request's Data field (RFC 1661 §5.5 leaves it "uninterpreted"; pppd and pptp-ts put a
 * reason there, e.g. "MPPE required but peer negotiation failed"). Only printable ASCII is quoted — anything else
 * could be binary, or steer a terminal — and trailing NULs (C strings) are dropped.
 */
export function terminateText(data: Uint8Array): string | undefined {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  if (end === 0) return undefined;
  let text = "";
  for (let i = 0; i < end && i < MAX_TERMINATE_QUOTE; i++) {
    const c = data[i];
    if (c < 0x20 || c > 0x7e) return undefined;
    text += String.fromCharCode(c);
  }
  text = text.trim();
  return text.length > 0 ? text : undefined;
}
