/**
 * The MessagePort protocol between the control thread and a data-plane worker (data-worker.ts). Rare messages only:
 * calls handed over and taken back, PPP control frames both ways, statistics. Packets never cross it, except the
 * few IP datagrams the control thread still receives for a call while its steering entries are being installed.
 */
import type { CallHandoff, DataCallState, DataCallStats } from "./data-call.js";
import type { GreHeader } from "../../wire/gre.js";

/** What a worker is started with (workerData). */
export interface WorkerSetup {
  /** This worker's owner number in the steering maps (1..N; 0 is the control thread). */
  readonly owner: number;
  /** The Call ID → owner map's fd (process-wide): the worker puts its owner's GRE filter on its own socket. */
  readonly callMapFd: number;
  /** The multi-queue TUN device to open one more queue of, as the control thread configured it. */
  readonly tun: { readonly name: string; readonly mtu: number; readonly address: number; readonly prefix?: number; readonly peer?: number };
  /** The local address GRE is received on / sent from (0: any). */
  readonly bindAddress: number;
  /** How often the worker serves its calls' GRE timers (acknowledgments, reorder gaps), ms. */
  readonly tickMs: number;
}

export type ToWorker =
  | { readonly type: "add"; readonly call: CallHandoff }
  /**
   * `forward`: the call goes on on the control thread (a renegotiation): GRE for it that still reaches this worker
   * (queued before the steering entry moved) is passed on as "gre" messages until "forget".
   */
  | { readonly type: "remove"; readonly callId: number; readonly forward?: boolean }
  | { readonly type: "forget"; readonly callId: number }
  | { readonly type: "frame"; readonly callId: number; readonly frame: Uint8Array }
  | { readonly type: "ip"; readonly callId: number; readonly packet: Uint8Array }
  /** GRE the control thread still read for a call handed to this worker (queued before the steering entry took effect). */
  | { readonly type: "gre"; readonly callId: number; readonly packet: ForwardedGre }
  | { readonly type: "stats"; readonly id: number }
  | { readonly type: "stop" };

export interface WorkerCallStats extends DataCallStats {
  readonly callId: number;
  /** The call's GreChannel: sequence numbers given up on, and packets refused as outside the window. */
  readonly greLost: number;
  readonly greOutOfWindow: number;
  /** The next GRE sequence number the worker sends for the call (at the last statistics). */
  readonly greNextSendSeq: number;
}

/** A GRE packet of a call changing threads, as the receiving side's demultiplexer parsed it (payload copied). */
export interface ForwardedGre {
  readonly hasSeq: boolean;
  readonly seq: number;
  readonly hasAck: boolean;
  readonly ack: number;
  readonly payload: Uint8Array;
}

/** `p` as the parsed header of a packet for `callId` whose payload is p.payload (from offset 0) — into `h`. */
export function forwardedHeader(p: ForwardedGre, callId: number, h: GreHeader): GreHeader {
  h.callId = callId;
  h.hasSeq = p.hasSeq;
  h.seq = p.seq;
  h.hasAck = p.hasAck;
  h.ack = p.ack;
  h.payloadOffset = 0;
  h.payloadLength = p.payload.length;
  return h;
}

export type FromWorker =
  | { readonly type: "ready"; readonly owner: number; readonly queue: string }
  | { readonly type: "added"; readonly callId: number }
  | { readonly type: "add-failed"; readonly callId: number; readonly error: string }
  | { readonly type: "removed"; readonly callId: number; readonly stats: WorkerCallStats | undefined; readonly state?: DataCallState }
  | { readonly type: "gre"; readonly callId: number; readonly packet: ForwardedGre }
  | { readonly type: "control"; readonly callId: number; readonly frame: Uint8Array }
  | { readonly type: "stats"; readonly id: number; readonly calls: WorkerCallStats[]; readonly gre: Record<string, number> }
  | { readonly type: "error"; readonly error: string };
