/**
 * Several accounting destinations at once (RADIUS accounting and TACACS+ accounting): every event goes to each.
 * One sink that throws must not keep the others from their records, so each call is isolated.
 */
import type { AccountingSink, SessionSnapshot, TerminateCause } from "./types.js";

export class AccountingFanOut implements AccountingSink {
  private readonly sinks: readonly AccountingSink[];
  private readonly onError: (e: Error) => void;

  constructor(sinks: readonly AccountingSink[], onError: (e: Error) => void = () => {}) {
    this.sinks = sinks.slice();
    this.onError = onError;
  }

  private each(f: (s: AccountingSink) => void): void {
    for (const s of this.sinks) {
      try {
        f(s);
      } catch (e) {
        this.onError(e as Error);
      }
    }
  }

  accountingOn(): void {
    this.each((s) => s.accountingOn());
  }

  start(snap: SessionSnapshot): void {
    this.each((s) => s.start(snap));
  }

  interim(snap: SessionSnapshot): void {
    this.each((s) => s.interim(snap));
  }

  stop(snap: SessionSnapshot, cause: TerminateCause): void {
    this.each((s) => s.stop(snap, cause));
  }

  async accountingOff(): Promise<void> {
    const done = await Promise.allSettled(this.sinks.map((s) => s.accountingOff()));
    for (const d of done) if (d.status === "rejected") this.onError(d.reason as Error);
  }
}
