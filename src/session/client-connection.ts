/**
 * The client side of one control connection: one call, then a PPP link that authenticates us to the server.
 * When the call ends the control connection is stopped (Stop-Control-Connection-Request), as Windows and
 * pptp-linux do. Sans-I/O; see connection.ts.
 *
 * Two ways to get the call (both end in the same PPP link, in which we are the authenticatee):
 *   - callType "outgoing" (default): we opened TCP, sent SCCRQ and place an Outgoing-Call-Request (RFC 2637's
 *     PNS role; what Windows and pptp-linux do);
 *   - callType "incoming": the server opened TCP to us and sent SCCRQ because it holds traffic for our side
 *     (the Yamaha FAQ's server-initiated LAN-to-LAN call); we answer SCCRP and place an Incoming-Call-Request
 *     (RFC 2637 §2.7, acting as the PAC on this control connection), the server replies ICRP and we send ICCN.
 */
import type { Millis } from "../core/clock.js";
import { ConnectionBase, type CallSinks, type ConnectionBaseOptions } from "./connection.js";
import type { ControlEvent, CallInfo } from "../pptp/control-events.js";
import type { ControlConnectionOptions, OutgoingCallParams } from "../pptp/control.js";
import type { PppLinkConfig } from "../ppp/link.js";

export interface ClientConnectionOptions {
  readonly peerName: string;
  readonly control?: Omit<ControlConnectionOptions, "role">;
  readonly call?: OutgoingCallParams;
  /** "outgoing" (we dialled: SCCRQ + OCRQ) or "incoming" (the server dialled us: SCCRP + ICRQ). Default outgoing. */
  readonly callType?: "outgoing" | "incoming";
  /** The Call ID to use (the process-wide GRE demultiplexer's choice); default: the control engine picks. */
  readonly callId?: number;
  readonly link: Omit<PppLinkConfig, "role">;
  readonly sinksFor: (callId: number) => CallSinks;
  readonly gre?: ConnectionBaseOptions["gre"];
}

export class ClientConnection extends ConnectionBase {
  protected readonly windowsErrorPhrase = "a Windows client would show error";
  private readonly linkCfg: Omit<PppLinkConfig, "role">;
  private readonly callParams: OutgoingCallParams;
  private readonly callType: "outgoing" | "incoming";
  private readonly wantCallId: number | undefined;
  private callId: number | undefined;

  constructor(o: ClientConnectionOptions) {
    const incoming = o.callType === "incoming";
    super({
      peerName: o.peerName,
      control: { hostName: "pptp-ts", vendorString: "pptp-ts", ...(o.control ?? {}), role: "client", originate: !incoming },
      sinksFor: o.sinksFor,
      ...(o.gre ? { gre: o.gre } : {}),
      stopWhenIdle: true,
    });
    this.linkCfg = o.link;
    this.callParams = o.call ?? {};
    this.callType = o.callType ?? "outgoing";
    this.wantCallId = o.callId;
  }

  /** Our Call ID once the Outgoing-Call-Request went out. */
  get currentCallId(): number | undefined {
    return this.callId;
  }

  /** Send SCCRQ (we opened the TCP connection), or wait for the server's SCCRQ (callType "incoming"). */
  start(now: Millis): void {
    this.control.start(now);
    this.log("events", this.callType === "incoming" ? `control connection from ${this.peerName}: waiting for SCCRQ` : `SCCRQ sent to ${this.peerName}`);
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
        const id = this.wantCallId !== undefined ? { callId: this.wantCallId } : {};
        const incoming = this.callType === "incoming";
        const r = incoming
          ? this.control.placeIncomingCall(now, { connectSpeed: 100_000_000, ...id })
          : this.control.placeOutgoingCall(now, { maximumBps: 100_000_000, minimumBps: 300, ...this.callParams, ...id });
        if (r.ok) {
          this.callId = r.value;
          this.log("events", `${incoming ? "ICRQ" : "OCRQ"} sent: call id ${r.value}`);
        } else {
          this.log("errors", `could not place the call: ${r.error.message}`);
          this.events.push({ type: "call-down", callId: 0, reason: `could not place the call: ${r.error.message}`, cause: "port-error" });
          this.control.stop(now, "none", "call not placed");
        }
        return;
      }
      case "call-connected":
        this.log("events", `${this.callType === "incoming" ? "ICRP" : "OCRP"}: call ${e.call.callId} connected (server call id ${e.call.peerCallId}, server window ${e.call.peerReceiveWindow})`, e.call.callId);
        this.startCall(now, e.call);
        return;
      case "call-failed":
        this.log("events", `the server refused the call: ${e.reason}`);
        this.events.push({ type: "call-down", callId: e.callId ?? 0, reason: `the server refused the call: ${e.reason}`, cause: "nas-request" });
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
