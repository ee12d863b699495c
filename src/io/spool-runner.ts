/**
 * Moves a Spool's records to their destination with real time: one record in flight, the next only after the
 * previous one was answered (so order holds), a timer for the spool's retry wait. `send` resolves true when the
 * server answered (Accounting-Response), false when it did not (every server timed out), `{ rejected }` when a server
 * answered and did not store the record (TACACS+ ERROR: Spool.rejected decides whether it is set aside); it builds a new request for
 * every call, so a resend has a new Identifier and an Acct-Delay-Time counted from the event (RFC 2866 §5.2).
 */
import type { Spool, SpoolEntry } from "../aaa/accounting/spool.js";

export class SpoolRunner<T> {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly spool: Spool<T>,
    private readonly send: (e: SpoolEntry<T>) => Promise<boolean | { readonly rejected: string }>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Something was added, or the server is back: try now. */
  kick(): void {
    if (this.closed || this.busy) return;
    const e = this.spool.next(this.now());
    if (e === undefined) {
      this.arm();
      if (this.spool.pending === 0) this.flushIdle();
      return;
    }
    this.busy = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.send(e).then(
      (ok) => this.settle(e, ok),
      () => this.settle(e, false),
    );
  }

  private settle(e: SpoolEntry<T>, ok: boolean | { readonly rejected: string }): void {
    this.busy = false;
    if (ok === true) this.spool.delivered(e.seq);
    else if (ok === false) this.spool.failed(e.seq, this.now());
    else this.spool.rejected(e.seq, this.now(), ok.rejected);
    this.kick();
  }

  private arm(): void {
    const at = this.spool.pollTimeout();
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (at === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, Math.max(0, at - this.now()));
    this.timer.unref();
  }

  /** Resolves when nothing is left undelivered, or after `ms` (false then). */
  drained(ms: number): Promise<boolean> {
    if (this.spool.pending === 0 && !this.busy) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve(true);
      });
    });
  }

  private flushIdle(): void {
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
