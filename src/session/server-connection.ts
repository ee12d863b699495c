/**
 * The server side of one control connection (RFC 2637's PAC): answers SCCRQ, admits or refuses each
 * Outgoing-Call-Request (limits, call IDs), and runs a PPP link per call that authenticates the peer and
 * hands it an address. Sans-I/O; see connection.ts for the driver's side of the contract.
 */
import type { Millis } from "../core/clock.js";
import { ConnectionBase, type CallSinks, type ConnectionBaseOptions } from "./connection.js";
import type { ControlEvent, CallInfo } from "../pptp/control-events.js";
import type { ControlConnectionOptions, OutgoingCallRefusal } from "../pptp/control.js";
import type { PppLinkConfig, LinkAuthInfo, LinkRefusal } from "../ppp/link.js";
import type { IpcpOptionsConfig } from "../ppp/ipcp.js";

/** What a server decides once per call; implemented by src/server (limits, pools) or by tests. */
export interface ServerPolicy {
  /** Admit a new call: a Call ID unique on this server, or a refusal with the reason for the log. */
  admitCall(peerName: string): { readonly callId: number } | { readonly refuse: OutgoingCallRefusal; readonly reason: string };
  /** The call is over: its Call ID (and anything else held for it) can be reused. */
  releaseCall(callId: number): void;
  /** PPP link settings for a new call; `ipcp` is asked after authentication (pool or AAA address). */
  linkConfig(callId: number): Omit<PppLinkConfig, "ipcp" | "role">;
  /**
   * IPCP settings once the peer authenticated, or a reason to refuse (e.g. "address pool exhausted"; with its
   * accounting cause as a LinkRefusal, else User-Error).
   */
  ipcpFor(callId: number, auth: LinkAuthInfo): IpcpOptionsConfig | string | LinkRefusal;
}

export interface ServerConnectionOptions {
  readonly peerName: string;
  readonly control?: Omit<ControlConnectionOptions, "role">;
  readonly policy: ServerPolicy;
  /**
   * We opened the TCP connection and send SCCRQ (LAN-to-LAN: we hold traffic for the peer's networks); the peer
   * then places an Incoming-Call-Request that we answer as usual. Default false (the peer dialled us).
   */
  readonly originate?: boolean;
  readonly sinksFor: (callId: number) => CallSinks;
  readonly gre?: ConnectionBaseOptions["gre"];
}

export class ServerConnection extends ConnectionBase {
  protected readonly windowsErrorPhrase = "client sees error";
  private readonly policy: ServerPolicy;

  constructor(o: ServerConnectionOptions) {
    super({
      peerName: o.peerName,
      control: { hostName: "pptp-ts", vendorString: "pptp-ts", ...(o.control ?? {}), role: "server", originate: o.originate ?? false },
      sinksFor: o.sinksFor,
      ...(o.gre ? { gre: o.gre } : {}),
      // The client (PNS) owns the control connection's life: it sends Stop-Control-Connection-Request itself.
      stopWhenIdle: false,
    });
    this.policy = o.policy;
  }

  start(now: Millis): void {
    this.control.start(now);
    if (this.control.state === "wait-ctl-reply") this.log("events", `SCCRQ sent to ${this.peerName}: waiting for its Incoming-Call-Request`);
    this.pump(now);
  }

  protected linkConfigFor(call: CallInfo): PppLinkConfig {
    // The link keeps this object for the call's life (issue 11: memory per session), so: Object.assign rather than
    // `{ ...config, role, ipcp }`, whose added properties give each such object a hidden class of its own in V8
    // (~250 B a session); and a bound function rather than a closure, which would keep the CallInfo event too.
    return Object.assign({}, this.policy.linkConfig(call.callId), { role: "server" as const, ipcp: this.policy.ipcpFor.bind(this.policy, call.callId) });
  }

  protected callEnded(callId: number): void {
    this.policy.releaseCall(callId);
  }

  protected onControlEvent(now: Millis, e: ControlEvent): void {
    switch (e.type) {
      case "established":
        this.log(
          "events",
          `SCCRQ received from ${this.peerName}: host "${e.peer.hostName}", vendor "${e.peer.vendorString}", firmware 0x${e.peer.firmwareRevision.toString(16)}, protocol version 0x${e.protocolVersion.toString(16)}; control connection established`,
        );
        return;
      case "outgoing-call-request": {
        this.log(
          "events",
          `OCRQ from ${this.peerName}: peer call id ${e.peerCallId}, serial ${e.callSerialNumber}, bps ${e.minimumBps}-${e.maximumBps}, window ${e.packetRecvWindowSize}`,
        );
        const admit = this.policy.admitCall(this.peerName);
        if ("refuse" in admit) {
          this.log("events", `OCRQ from ${this.peerName} refused (${admit.refuse}): ${admit.reason}`);
          this.control.answerOutgoingCall(now, e.peerCallId, { accept: false, result: admit.refuse, error: "no-resource" });
          return;
        }
        const r = this.control.answerOutgoingCall(now, e.peerCallId, { accept: true, callId: admit.callId, connectSpeed: 100_000_000 });
        if (!r.ok) {
          this.log("errors", `could not answer OCRQ: ${r.error.message}`);
          this.policy.releaseCall(admit.callId);
        }
        return;
      }
      case "incoming-call-request": {
        // LAN-to-LAN: a peer that acts as PAC offers us a call; we answer as the PNS side.
        const admit = this.policy.admitCall(this.peerName);
        if ("refuse" in admit) {
          this.log("events", `ICRQ from ${this.peerName} refused: ${admit.reason}`);
          this.control.answerIncomingCall(now, e.peerCallId, { accept: false, result: "do-not-accept" });
          return;
        }
        this.log("events", `ICRQ from ${this.peerName}: peer call id ${e.peerCallId}, answering with call id ${admit.callId}`);
        const r = this.control.answerIncomingCall(now, e.peerCallId, { accept: true, callId: admit.callId });
        if (!r.ok) {
          this.log("errors", `could not answer ICRQ: ${r.error.message}`);
          this.policy.releaseCall(admit.callId);
        }
        return;
      }
      case "call-connected":
        this.log("events", `call ${e.call.callId} connected (peer call id ${e.call.peerCallId}, peer window ${e.call.peerReceiveWindow})`, e.call.callId);
        this.startCall(now, e.call);
        return;
      case "call-failed":
        this.log("events", `call ${e.callId ?? "-"} failed: ${e.reason}`);
        if (e.callId !== undefined) this.policy.releaseCall(e.callId);
        return;
      default:
        return;
    }
  }
}
