/**
 * The calls of one control connection (RFC 2637 §3.2): their IDs, states and the window/delay
 * parameters each side announced. Call IDs are ours to choose and must be unique on the
 * connection (§3.2.2); the peer's IDs are only looked up.
 */
import type { CallDirection, CallInfo, CallSide, CallState } from "./control-events.js";
import { SparseMap } from "../core/sparse-map.js";

/** A call's mutable record inside the engine. */
export interface Call {
  readonly callId: number;
  peerCallId: number;
  /** False while we wait for the reply that tells us the peer's Call ID. */
  peerKnown: boolean;
  readonly direction: CallDirection;
  readonly side: CallSide;
  state: CallState;
  readonly callSerialNumber: number;
  peerReceiveWindow: number;
  peerProcessingDelay: number;
  readonly receiveWindow: number;
  /** Our processing/transmit delay as we announced it (1/10 s). */
  readonly processingDelay: number;
  connectSpeed: number;
  framingType: number;
  /** When the current wait state times out (RFC 2637 §3.2.1), if it is a wait state. */
  deadline: number | undefined;
}

/** A call the peer asked for (OCRQ or ICRQ) that the owner has not answered yet. */
export interface PendingRequest {
  readonly direction: CallDirection;
  readonly peerCallId: number;
  readonly callSerialNumber: number;
  readonly peerReceiveWindow: number;
  readonly peerProcessingDelay: number;
  /** From the OCRQ (maximum bps) for outgoing calls; 0 for incoming ones. */
  readonly requestedSpeed: number;
  readonly framingType: number;
}

export function callInfo(c: Call): CallInfo {
  return {
    callId: c.callId,
    peerCallId: c.peerCallId,
    direction: c.direction,
    side: c.side,
    state: c.state,
    callSerialNumber: c.callSerialNumber,
    peerReceiveWindow: c.peerReceiveWindow,
    peerProcessingDelay: c.peerProcessingDelay,
    receiveWindow: c.receiveWindow,
    connectSpeed: c.connectSpeed,
    framingType: c.framingType,
  };
}

export class CallTable {
  private readonly calls = new Map<number, Call>();
  private readonly requests = new SparseMap<number, PendingRequest>();
  private nextId: number;

  constructor(firstCallId: number) {
    this.nextId = firstCallId & 0xffff;
  }

  get size(): number {
    return this.calls.size;
  }

  has(callId: number): boolean {
    return this.calls.has(callId);
  }

  get(callId: number): Call | undefined {
    return this.calls.get(callId);
  }

  /** The call whose peer Call ID is `peerCallId` (only calls where the peer told us its ID). */
  byPeer(peerCallId: number, direction?: CallDirection): Call | undefined {
    for (const c of this.calls.values()) {
      if (c.peerKnown && c.peerCallId === peerCallId && (direction === undefined || c.direction === direction)) return c;
    }
    return undefined;
  }

  add(c: Call): void {
    this.calls.set(c.callId, c);
  }

  remove(callId: number): void {
    this.calls.delete(callId);
  }

  all(): Call[] {
    return [...this.calls.values()];
  }

  /** The calls, not copied: for a walk that does not add or remove any (or returns once it did). */
  values(): IterableIterator<Call> {
    return this.calls.values();
  }

  /** A free Call ID, or undefined when all 65536 are in use. */
  allocate(): number | undefined {
    for (let i = 0; i < 0x10000; i++) {
      const id = this.nextId;
      this.nextId = (this.nextId + 1) & 0xffff;
      if (!this.calls.has(id)) return id;
    }
    return undefined;
  }

  addRequest(r: PendingRequest): void {
    this.requests.set(r.peerCallId, r);
  }

  takeRequest(peerCallId: number): PendingRequest | undefined {
    const r = this.requests.get(peerCallId);
    if (r !== undefined) this.requests.delete(peerCallId);
    return r;
  }

  hasRequest(peerCallId: number): boolean {
    return this.requests.has(peerCallId);
  }

  allRequests(): PendingRequest[] {
    return [...this.requests.values()];
  }

  clearRequests(): void {
    this.requests.clear();
  }
}
