/**
 * One scratch buffer per process for code that fills it and hands it on synchronously (a GRE packet built and
 * given to the socket's send, a frame built for the next step of the same call). A per-session buffer of the
 * same size would cost its size for every session held, idle or not (issue 11: 4 KB each, three of them per
 * call); one shared buffer costs it once. JavaScript runs one call at a time, so the buffer is free again when
 * the code that took it returns, unless that code is re-entered through a callback (in-memory transports in
 * tests deliver a packet to the peer's engine inside `transmit`): a nested taker gets `undefined` and uses a
 * buffer of its own, made once, so the common path allocates nothing and a nested one stays correct.
 */
export class SharedScratch {
  readonly buf: Uint8Array;
  private busy = false;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
  }

  /** The shared buffer, now held until release(); undefined while someone up the stack holds it. */
  take(): Uint8Array | undefined {
    if (this.busy) return undefined;
    this.busy = true;
    return this.buf;
  }

  release(): void {
    this.busy = false;
  }
}
