/**
 * What LcpEngine, IpcpEngine and CcpEngine share: each wraps one RFC 1661 automaton (fsm.ts) and passes its
 * owner's inputs and polls straight through to it.
 *
 * A subclass builds `fsm` in its own constructor (the handler's closures reach back into the subclass), sets
 * `opened` from its up/down/finished callbacks, and overrides an input or poll only where it adds to the
 * automaton (LCP's echo timer, CCP's note of the owner stopping it).
 */
import type { Millis } from "../core/clock.js";
import type { CpHandler, Fsm, FsmEvent, FsmState } from "./fsm.js";

/** The option-negotiation part of a CpHandler, as the options-*.ts negotiators implement it. */
export type Negotiation = Required<
  Pick<CpHandler, "resetRequest" | "buildRequest" | "processRequest" | "nakReceived" | "rejectReceived" | "verifyOpen">
>;

/** Handler entries that pass option negotiation to `n` (as calls on `n`, so its methods keep their `this`). */
export function negotiationHandler(n: Negotiation): Negotiation {
  return {
    resetRequest: () => n.resetRequest(),
    buildRequest: () => n.buildRequest(),
    processRequest: (o) => n.processRequest(o),
    nakReceived: (o) => n.nakReceived(o),
    rejectReceived: (o) => n.rejectReceived(o),
    verifyOpen: () => n.verifyOpen(),
  };
}

/** A control protocol engine with events `E` (including the automaton's) and result `R` while Opened. */
export abstract class CpEngine<E, R> {
  protected abstract readonly fsm: Fsm<E>;
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
