/**
 * The client side of one control connection (RFC 2637's PNS): SCCRQ, then one Outgoing-Call-Request, then a
 * PPP link that authenticates us to the server. When the call ends the control connection is stopped
 * (Stop-Control-Connection-Request), as Windows and pptp-linux do. Sans-I/O; see connection.ts.
 */
import type { Millis } from "./clock.js";
import { ConnectionBase, type CallSinks, type ConnectionBaseOptions } from "./connection.js";
import type { ControlEvent, CallInfo } from "../pptp/control-events.js";
import type { ControlConnectionOptions, OutgoingCallParams } from "../pptp/control.js";
import type { PppLinkConfig } from "../ppp/link.js";

export interface ClientConnectionOptions {
  readonly peerName: string;
  readonly control?: Omit<ControlConnectionOptions, "role">;
  readonly call?: OutgoingCallParams;
  readonly link: Omit<PppLinkConfig, "role">;
  readonly sinksFor: (callId: number) => CallSinks;
  readonly gre?: ConnectionBaseOptions["gre"];
}

export class ClientConnection extends ConnectionBase {
  private readonly linkCfg: Omit<PppLinkConfig, "role">;
  private readonly callParams: OutgoingCallParams;
  private callId: number | undefined;

  constructor(o: ClientConnectionOptions) {
    super({
      peerName: o.peerName,
      control: { hostName: "pptp-ts", vendorString: "pptp-ts", ...(o.control ?? {}), role: "client", originate: true },
      sinksFor: o.sinksFor,
      ...(o.gre ? { gre: o.gre } : {}),
      stopWhenIdle: true,
    });
    this.linkCfg = o.link;
    this.callParams = o.call ?? {};
  }

  /** Our Call ID once the Outgoing-Call-Request went out. */
  get currentCallId(): number | undefined {
    return this.callId;
  }

  /** Send SCCRQ (we opened the TCP connection). */
  start(now: Millis): void {
    this.control.start(now);
    this.log("events", `SCCRQ sent to ${this.peerName}`);
    this.pump(now);
  }

  protected linkConfigFor(_call: CallInfo): PppLinkConfig {
    return { ...this.linkCfg, role: "client" };
  }

  protected callEnded(callId: number): void {
    if (this.callId === callId) this.callId = undefined;
  }

  protected onControlEvent(now: Millis, e: ControlEvent): void {
    switch (e.type) {
      case "established": {
        this.log("events", `control connection established with ${this.peerName}: host "${e.peer.hostName}", vendor "${e.peer.vendorString}"`);
        const r = this.control.placeOutgoingCall(now, { maximumBps: 100_000_000, minimumBps: 300, ...this.callParams });
        if (r.ok) {
          this.callId = r.value;
          this.log("events", `OCRQ sent: call id ${r.value}`);
        } else this.log("errors", `could not place the call: ${r.error.message}`);
        return;
      }
      case "call-connected":
        this.log("events", `OCRP: call ${e.call.callId} connected (server call id ${e.call.peerCallId}, server window ${e.call.peerReceiveWindow})`, e.call.callId);
        this.startCall(now, e.call);
        return;
      case "call-failed":
        this.log("events", `the server refused the call: ${e.reason}`);
        this.events.push({ type: "call-down", callId: e.callId ?? 0, reason: `the server refused the call: ${e.reason}` });
        this.control.stop(now, "none", "call refused");
        return;
      case "incoming-call-request":
        this.control.answerIncomingCall(now, e.peerCallId, { accept: false, result: "do-not-accept" });
        return;
      case "outgoing-call-request":
        this.control.answerOutgoingCall(now, e.peerCallId, { accept: false, result: "do-not-accept" });
        return;
      default:
        return;
    }
  }
}
