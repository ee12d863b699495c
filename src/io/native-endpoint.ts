/**
 * What the raw socket and the TUN wrappers share: the receive loop wiring (one preallocated
 * batch, one callback per batch from the native poll handle), error reporting, pause/resume,
 * ref/unref, stats and close.
 */
import { constants } from "node:os";

import type { NativeEndpoint, NativeStats } from "./native.js";
import type { PacketBatch, ReceiveBatch, TransportStats } from "./transport.js";

const errnoNames = new Map<number, string>();
for (const [name, value] of Object.entries(constants.errno)) if (!errnoNames.has(value)) errnoNames.set(value, name);

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `errno ${errno}`;
}

/** Batch sizes above this gain nothing (one JS call already amortises over the batch) and cost memory. */
export const MAX_BATCH = 1024;

export function checkBatchOptions(batchSize: number, slotSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH) {
    throw new RangeError(`batchSize must be an integer in 1..${MAX_BATCH}, got ${batchSize}`);
  }
  if (!Number.isInteger(slotSize) || slotSize < 64 || slotSize > 65600) {
    throw new RangeError(`slotSize must be an integer in 64..65600, got ${slotSize}`);
  }
}

export abstract class NativeEndpointBase<B extends PacketBatch> {
  private handler: ((batch: B) => void) | undefined;
  private errorHandler: ((error: Error) => void) | undefined;
  private started = false;
  private closed = false;
  private warned = false;

  protected constructor(
    private readonly endpoint: NativeEndpoint,
    private readonly rx: ReceiveBatch,
    private readonly view: B,
    private readonly label: string,
  ) {}

  /** Called by the native poll handle once per batch (count > 0) or on a receive error (errno > 0). */
  private readonly onNative = (count: number, errno: number): void => {
    if (errno !== 0) {
      this.reportError(errno);
      return;
    }
    this.rx.count = count;
    const h = this.handler;
    if (h !== undefined) h(this.view);
  };

  private reportError(errno: number): void {
    const name = errnoName(errno);
    const e = new Error(`${this.label} receive failed: ${name}`) as Error & { code: string; errno: number };
    e.code = name;
    e.errno = errno;
    if (this.errorHandler !== undefined) this.errorHandler(e);
    else if (!this.warned) {
      this.warned = true;
      process.emitWarning(`${e.message} (no onError handler; further errors are only counted in stats())`);
    }
  }

  /** Sets the handler; the first call starts reading. The batch is only valid during the call. */
  onBatch(cb: (batch: B) => void): void {
    this.handler = cb;
    if (!this.started && !this.closed) {
      const rx = this.rx;
      this.endpoint.start(rx.data, rx.meta, rx.slotSize, rx.batchMax, this.onNative);
      this.started = true;
    }
  }

  onError(cb: (error: Error) => void): void {
    this.errorHandler = cb;
  }

  /** Stops reading (packets queue in the kernel until resume() or the queue overflows). */
  pause(): void {
    this.endpoint.pause();
  }

  resume(): void {
    if (this.started) this.endpoint.resume();
  }

  /** Whether an active reader keeps the Node event loop alive (default: it does, like dgram). */
  ref(): void {
    this.endpoint.ref();
  }

  unref(): void {
    this.endpoint.unref();
  }

  get fd(): number {
    return this.endpoint.fd;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  stats(): TransportStats {
    const s: NativeStats = this.endpoint.stats();
    return s;
  }

  /** Releases the file descriptor and poll handle; idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = undefined;
    this.endpoint.close();
  }
}
