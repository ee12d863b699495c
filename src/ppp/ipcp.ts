/**
 * IPCP (RFC 1332) as a sans-I/O engine: the RFC 1661 automaton with IPCP's options (options-ipcp.ts).
 *
 *   getters    state, isOpened, result (IpcpResult — addresses and name servers — while Opened)
 *   inputs     open(now) close(now, reason) lowerUp(now) lowerDown(now) — the link drives Up/Down from LCP's
 *              Network-Layer phase (RFC 1661 §3.5) — handlePacket(now, ipcpPayload) handleTimeout(now)
 *              protocolRejected(now): LCP saw a Protocol-Reject of 0x8021
 *   setters    peerMru (from LCP)
 *   outputs    pollTransmit() (IPCP packet after the 0x8021 protocol field), pollTimeout(), pollEvent()
 *
 * IPCP has no codes beyond 1..7 (RFC 1332 §2), so anything else is Code-Rejected.
 */
import { Fsm, type FsmConfig, type FsmEvent } from "./fsm.js";
import { IpcpNegotiator, type IpcpOptionsConfig, type IpcpResult } from "./options-ipcp.js";
import { NcpEngine } from "./cp-engine.js";

export type { IpcpResult, IpcpServerConfig, IpcpClientConfig, IpcpOptionsConfig } from "./options-ipcp.js";

export type IpcpConfig = IpcpOptionsConfig & {
  /** Restart timer and counters (RFC 1661 §4.6). */
  readonly fsm?: FsmConfig;
};

export type IpcpEvent = FsmEvent;

export class IpcpEngine extends NcpEngine<IpcpEvent, IpcpResult> {
  protected readonly fsm: Fsm<IpcpEvent>;
  protected readonly negotiator: IpcpNegotiator;

  /** Throws RangeError when a configured address is not dotted-quad IPv4. */
  constructor(config: IpcpConfig) {
    super();
    this.negotiator = new IpcpNegotiator(config);
    this.fsm = new Fsm<IpcpEvent>("IPCP", this, config.fsm);
  }

  // CpHandler (the automaton's callbacks; the negotiation ones are CpEngine's)

  up(): void {
    this.opened = this.negotiator.result();
  }

  down(): void {
    this.opened = undefined;
  }

  finished(): void {
    this.opened = undefined;
  }
}
