/**
 * What LcpEngine, IpcpEngine and CcpEngine share: each wraps one RFC 1661 automaton (fsm.ts) and passes its
 * owner's inputs and polls straight through to it.
 *
 * A subclass builds `negotiator` and then `fsm` in its own constructor, handing the automaton itself as the
 * CpHandler: the callbacks are methods on the engines' shared prototypes, so an idle session holds no closures,
 * contexts or per-instance handler objects for its three automatons (issue 11: memory per session). The
 * subclass sets `opened` from its up/down/finished methods, and overrides an input or poll only where it adds
 * to the automaton (LCP's echo timer, CCP's note of the owner stopping it).
 */
import type { Millis } from "../core/clock.js";
import type { CpHandler, Fsm, FsmEvent, FsmLogGate, FsmState, ReplyOutcome, RequestVerdict } from "./fsm.js";
import type { CpOption } from "../wire/ppp-cp.js";

/** The option-negotiation part of a CpHandler, as the options-*.ts negotiators implement it. */
export type Negotiation = Required<
  Pick<CpHandler, "resetRequest" | "buildRequest" | "processRequest" | "nakReceived" | "rejectReceived" | "verifyOpen">
>;

/** A control protocol engine with events `E` (including the automaton's) and result `R` while Opened. */
export abstract class CpEngine<E, R> implements CpHandler {
  protected abstract readonly fsm: Fsm<E>;

  /** Who reads the automaton's `log` lines (FsmLogGate); unset, they are always made. */
  set logGate(g: FsmLogGate | undefined) {
    this.fsm.logGate = g;
  }
  /** The protocol's option logic (options-*.ts); the CpHandler methods below pass negotiation to it. */
  protected abstract readonly negotiator: Negotiation;
  /** The result while Opened; undefined otherwise. */
  protected opened: R | undefined;

  // ------------------------------------------------------------------------------------------------------
  // Getters

  get state(): FsmState {
    return this.fsm.state;
  }

  get isOpened(): boolean {
    return this.fsm.isOpened;
  }

  /** The negotiated result while Opened; undefined otherwise. */
  get result(): R | undefined {
    return this.opened;
  }

  // ------------------------------------------------------------------------------------------------------
  // Inputs

  open(now: Millis): void {
    this.fsm.open(now);
  }

  close(now: Millis, reason: string): void {
    this.fsm.close(now, reason);
  }

  lowerUp(now: Millis): void {
    this.fsm.lowerUp(now);
  }

  lowerDown(now: Millis): void {
    this.fsm.lowerDown(now);
  }

  handlePacket(now: Millis, payload: Uint8Array): void {
    this.fsm.handlePacket(now, payload);
  }

  handleTimeout(now: Millis): void {
    this.fsm.handleTimeout(now);
  }

  // ------------------------------------------------------------------------------------------------------
  // Outputs

  pollTransmit(): Uint8Array | undefined {
    return this.fsm.pollTransmit();
  }

  pollTimeout(): Millis | undefined {
    return this.fsm.pollTimeout();
  }

  pollEvent(): FsmEvent | E | undefined {
    return this.fsm.pollEvent();
  }

  // ------------------------------------------------------------------------------------------------------
  // CpHandler: called by this engine's automaton only (as calls on `negotiator`, so its methods keep their
  // `this`); subclasses add up/down/finished and their extra codes.

  resetRequest(): void {
    this.negotiator.resetRequest();
  }

  buildRequest(): CpOption[] {
    return this.negotiator.buildRequest();
  }

  processRequest(options: readonly CpOption[]): RequestVerdict {
    return this.negotiator.processRequest(options);
  }

  nakReceived(options: readonly CpOption[]): ReplyOutcome {
    return this.negotiator.nakReceived(options);
  }

  rejectReceived(options: readonly CpOption[]): ReplyOutcome {
    return this.negotiator.rejectReceived(options);
  }

  verifyOpen(): string | undefined {
    return this.negotiator.verifyOpen();
  }
}

/**
 * A control protocol of the Network-Layer phase (RFC 1661 §3.5) — IPCP, CCP — which LCP carries: it takes the
 * peer's MRU and a Protocol-Reject of its protocol from LCP.
 */
export abstract class NcpEngine<E, R> extends CpEngine<E, R> {
  /** The peer's MRU from LCP, so a Code-Reject is truncated to fit it (RFC 1661 §5.6). */
  set peerMru(mru: number) {
    this.fsm.peerMru = mru;
  }

  /** LCP saw a Protocol-Reject of this protocol (RFC 1661 §5.7): stop at once. */
  protocolRejected(now: Millis): void {
    this.fsm.protocolRejected(now, `peer Protocol-Rejected ${this.fsm.protocol}`);
  }
}
