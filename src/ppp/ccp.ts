/**
 * CCP (RFC 1962) with MPPE (RFC 3078) as a sans-I/O engine: the RFC 1661 automaton with the MPPE policy of
 * options-ccp.ts, plus Reset-Request / Reset-Ack (RFC 1962 §3.1).
 *
 *   getters    state, isOpened, result (CcpResult while Opened with MPPE; undefined when open without it),
 *              policy, profile, peerOffer (what the peer offered, to explain a disagreement)
 *   inputs     open(now) close(now, reason) lowerUp(now) lowerDown(now) handlePacket(now, ccpPayload)
 *              handleTimeout(now) protocolRejected(now): LCP saw a Protocol-Reject of 0x80FD
 *   commands   sendResetRequest(now): our stateful MPPE receiver lost sync (RFC 3078 §8.2)
 *   setters    peerMru (from LCP)
 *   outputs    pollTransmit() (CCP packet after the 0x80FD protocol field), pollTimeout(), pollEvent()
 *
 * Events beyond the automaton's:
 *  - "mppe-required-failed" (policy "require" only): MPPE could not be agreed, or CCP went down or finished
 *    without our asking. The link MUST then be terminated (RFC 3078 §2 "the link SHOULD be terminated"; our
 *    "require" makes it a must). Emitted once per negotiation, as soon as the failure is known — before the
 *    automaton's own Terminate exchange has finished.
 *  - "reset-request": the peer asks us to reset our sender; for MPPE that means re-initialising the RC4 state
 *    and setting the FLUSHED bit on the next packet (RFC 3078 §8.2). We answer with a Reset-Ack unless
 *    `sendResetAck` is false (RFC 1962 §3.1 says MUST; RFC 3078 §8.2 notes MPPE synchronises "without a CCP
 *    Reset-Ack packet", so a peer ignores it harmlessly).
 *  - "reset-ack": a Reset-Ack matching our last Reset-Request.
 */
import type { Millis } from "../core/clock.js";
import { Fsm, type FsmConfig, type FsmEvent, type ExtraCodeOutcome, type ReplyOutcome } from "./fsm.js";
import { CcpNegotiator, type CcpOptionsConfig, type CcpResult } from "./options-ccp.js";
import type { MppeOfferSeen, MppeProfile } from "./explain.js";
import { NcpEngine } from "./cp-engine.js";
import { type CpOption, type CpPacket, CCP_RESET_REQUEST, CCP_RESET_ACK } from "../wire/ppp-cp.js";

export type { CcpResult, CcpPolicy, MppeStrength, CcpOptionsConfig } from "./options-ccp.js";

export interface CcpConfig extends CcpOptionsConfig {
  /** Answer Reset-Request with Reset-Ack (default true). */
  readonly sendResetAck?: boolean;
  /** Restart timer and counters (RFC 1661 §4.6). */
  readonly fsm?: FsmConfig;
}

export type CcpEvent =
  | FsmEvent
  | { readonly type: "mppe-required-failed"; readonly reason: string }
  | { readonly type: "reset-request"; readonly id: number }
  | { readonly type: "reset-ack"; readonly id: number };

export class CcpEngine extends NcpEngine<CcpEvent, CcpResult> {
  protected readonly fsm: Fsm<CcpEvent>;
  protected readonly negotiator: CcpNegotiator;
  private readonly sendResetAck: boolean;

  private resetId: number | undefined;
  /** The owner itself is closing or taking the lower layer down: CCP ending is then no failure. */
  private ownerStopping = false;
  private failureReported = false;

  constructor(config: CcpConfig) {
    super();
    this.negotiator = new CcpNegotiator(config);
    this.sendResetAck = config.sendResetAck ?? true;
    this.fsm = new Fsm<CcpEvent>("CCP", this, config.fsm);
  }

  get policy(): CcpOptionsConfig["policy"] {
    return this.negotiator.policy;
  }

  /** Our MPPE settings as this engine runs them (the link may have lowered the policy to "deny"). */
  get profile(): MppeProfile {
    return this.negotiator.profile;
  }

  /** The peer's MPPE offers seen since negotiation started (see CcpNegotiator.peerOffer). */
  get peerOffer(): MppeOfferSeen {
    return this.negotiator.peerOffer;
  }

  // Open and Up start a negotiation we want; Close and Down are the owner stopping CCP (see ownerStopping).

  override open(now: Millis): void {
    this.ownerStopping = false;
    super.open(now);
  }

  override close(now: Millis, reason: string): void {
    this.ownerStopping = true;
    super.close(now, reason);
  }

  override lowerUp(now: Millis): void {
    this.ownerStopping = false;
    super.lowerUp(now);
  }

  override lowerDown(now: Millis): void {
    this.ownerStopping = true;
    super.lowerDown(now);
  }

  /**
   * Ask the peer to reset its sender: our stateful MPPE receiver saw a coherency-count gap (RFC 3078 §8.2:
   * "send a CCP Reset-Request packet without data"). Each call is a new request with a new Identifier.
   * Returns false when CCP is not Opened.
   */
  sendResetRequest(_now: Millis): boolean {
    if (!this.fsm.isOpened) return false;
    this.resetId = this.fsm.nextId();
    this.fsm.sendPacket(CCP_RESET_REQUEST, this.resetId);
    return true;
  }

  // ------------------------------------------------------------------------------------------------------

  private watch(r: ReplyOutcome): ReplyOutcome {
    if (typeof r === "object") this.reportFailure(r.fail);
    return r;
  }

  private reportFailure(reason: string): void {
    if (this.negotiator.policy !== "require" || this.ownerStopping || this.failureReported) return;
    this.failureReported = true;
    this.fsm.emit({ type: "mppe-required-failed", reason });
  }

  // ------------------------------------------------------------------------------------------------------
  // CpHandler (the automaton's callbacks; the rest of negotiation is CpEngine's)

  override resetRequest(): void {
    this.failureReported = false;
    this.negotiator.resetRequest();
  }

  override nakReceived(options: readonly CpOption[]): ReplyOutcome {
    return this.watch(this.negotiator.nakReceived(options));
  }

  override rejectReceived(options: readonly CpOption[]): ReplyOutcome {
    return this.watch(this.negotiator.rejectReceived(options));
  }

  override verifyOpen(): string | undefined {
    const veto = this.negotiator.verifyOpen();
    if (veto !== undefined) this.reportFailure(veto);
    return veto;
  }

  up(): void {
    this.opened = this.negotiator.result();
    this.resetId = undefined;
  }

  down(_now: Millis, reason: string, renegotiating: boolean): void {
    this.opened = undefined;
    if (!renegotiating) this.reportFailure(`CCP went down: ${reason}`);
  }

  finished(_now: Millis, reason: string): void {
    this.opened = undefined;
    this.reportFailure(`CCP did not complete: ${reason}`);
  }

  extraCode(_now: Millis, p: CpPacket): ExtraCodeOutcome {
    switch (p.code) {
      case CCP_RESET_REQUEST:
        if (!this.fsm.isOpened) return "handled";
        this.fsm.emit({ type: "reset-request", id: p.id });
        // RFC 1962 §3.1: the Reset-Ack copies the Reset-Request's Identifier.
        if (this.sendResetAck) this.fsm.sendPacket(CCP_RESET_ACK, p.id);
        return "handled";
      case CCP_RESET_ACK:
        if (!this.fsm.isOpened) return "handled";
        if (p.id === this.resetId) {
          this.resetId = undefined;
          this.fsm.emit({ type: "reset-ack", id: p.id });
        } else {
          this.fsm.log(`discarded Reset-Ack id ${p.id}: no Reset-Request with that id outstanding`);
        }
        return "handled";
      default:
        return "unknown";
    }
  }
}
