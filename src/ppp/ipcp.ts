/**
 * IPCP (RFC 1332) as a sans-I/O engine: the RFC 1661 automaton with IPCP's options (options-ipcp.ts).
 *
 *   getters    state, isOpened, result (IpcpResult while Opened)
 *   inputs     open(now) close(now, reason) lowerUp(now) lowerDown(now) — the link drives Up/Down from LCP's
 *              Network-Layer phase (RFC 1661 §3.5) — handlePacket(now, ipcpPayload) handleTimeout(now)
 *              protocolRejected(now): LCP saw a Protocol-Reject of 0x8021
 *   outputs    pollTransmit() (IPCP packet after the 0x8021 protocol field), pollTimeout(), pollEvent()
 *
 * IPCP has no codes beyond 1..7 (RFC 1332 §2), so anything else is Code-Rejected.
 */
import type { Millis } from "../session/clock.js";
import { Fsm, type FsmConfig, type FsmEvent, type FsmState } from "./fsm.js";
import { IpcpNegotiator, type IpcpOptionsConfig, type IpcpResult } from "./options-ipcp.js";

export type { IpcpResult, IpcpServerConfig, IpcpClientConfig, IpcpOptionsConfig } from "./options-ipcp.js";

export type IpcpConfig = IpcpOptionsConfig & {
  /** Restart timer and counters (RFC 1661 §4.6). */
  readonly fsm?: FsmConfig;
};

export type IpcpEvent = FsmEvent;

export class IpcpEngine {
  private readonly fsm: Fsm;
  private opened: IpcpResult | undefined;

  /** Throws RangeError when a configured address is not dotted-quad IPv4. */
  constructor(config: IpcpConfig) {
    const n = new IpcpNegotiator(config);
    this.fsm = new Fsm(
      "IPCP",
      {
        resetRequest: () => n.resetRequest(),
        buildRequest: () => n.buildRequest(),
        processRequest: (o) => n.processRequest(o),
        nakReceived: (o) => n.nakReceived(o),
        rejectReceived: (o) => n.rejectReceived(o),
        verifyOpen: () => n.verifyOpen(),
        up: () => {
          this.opened = n.result();
        },
        down: () => {
          this.opened = undefined;
        },
        finished: () => {
          this.opened = undefined;
        },
      },
      config.fsm,
    );
  }

  get state(): FsmState {
    return this.fsm.state;
  }

  get isOpened(): boolean {
    return this.fsm.isOpened;
  }

  /** Addresses and name servers while Opened; undefined otherwise. */
  get result(): IpcpResult | undefined {
    return this.opened;
  }

  /** The peer's MRU from LCP, so a Code-Reject is truncated to fit it (RFC 1661 §5.6). */
  set peerMru(mru: number) {
    this.fsm.peerMru = mru;
  }

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

  protocolRejected(now: Millis): void {
    this.fsm.protocolRejected(now, "peer Protocol-Rejected IPCP");
  }

  handlePacket(now: Millis, payload: Uint8Array): void {
    this.fsm.handlePacket(now, payload);
  }

  handleTimeout(now: Millis): void {
    this.fsm.handleTimeout(now);
  }

  pollTransmit(): Uint8Array | undefined {
    return this.fsm.pollTransmit();
  }

  pollTimeout(): Millis | undefined {
    return this.fsm.pollTimeout();
  }

  pollEvent(): IpcpEvent | undefined {
    return this.fsm.pollEvent();
  }
}
