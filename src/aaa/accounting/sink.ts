/**
 * The AccountingSink the server calls: every event becomes a spooled record first (fsynced before the call
 * returns), and the spool's runner delivers it; so "server down" and "server up" take the same path and nothing is
 * sent that is not also on disk until answered. The records are the backend's own (RADIUS Accounting-Request
 * attributes, TACACS+ accounting REQUEST fields): `records` makes them from the session.
 */
import type { AccountingSink, SessionSnapshot, TerminateCause } from "../types.js";
import type { Spool } from "./spool.js";

/** How one backend turns session events into records it can spool. */
export interface RecordMaker<T> {
  start(s: SessionSnapshot): T;
  interim(s: SessionSnapshot): T;
  stop(s: SessionSnapshot, cause: TerminateCause): T;
  /** The NAS came up / goes down (RADIUS Accounting-On/Off, RFC 2866 §5.1); absent where the protocol has none. */
  on?(): T;
  off?(): T;
  /** Why the record can never be sent (checked before it is spooled), or undefined when it can. */
  unsendable?(r: T): string | undefined;
  /** The record in a log line. */
  describe(r: T): string;
}

export interface SpoolingSinkDeps<T> {
  readonly spool: Spool<T>;
  readonly records: RecordMaker<T>;
  /** Wall-clock ms (records keep the event time across restarts). */
  readonly now: () => number;
  /** A record was added: try to send now. */
  readonly kick: () => void;
  /** Resolves when the spool is empty or after `ms`. */
  readonly drained: (ms: number) => Promise<boolean>;
  /** How long accountingOff waits for delivery before leaving the rest in the spool (default 5000 ms). */
  readonly offWaitMs?: number;
  /** Default console.error. */
  readonly log?: (line: string) => void;
  /** Whose records, for log lines (default "accounting"). */
  readonly name?: string;
}

export class SpoolingAccountingSink<T> implements AccountingSink {
  constructor(private readonly d: SpoolingSinkDeps<T>) {}

  private add(r: T): void {
    const log = this.d.log ?? ((l: string) => console.error(l));
    const name = this.d.name ?? "accounting";
    const bad = this.d.records.unsendable?.(r);
    if (bad !== undefined) {
      log(`${name}: record lost, it cannot be sent (${this.d.records.describe(r)}): ${bad}`);
      return;
    }
    try {
      this.d.spool.add(r, this.d.now());
    } catch (e) {
      // A disk error must not take a session down with it; the spool cannot keep the record, say so.
      log(`${name}: cannot write the spool, record lost (${this.d.records.describe(r)}): ${(e as Error).message}`);
      return;
    }
    this.d.kick();
  }

  accountingOn(): void {
    if (this.d.records.on !== undefined) this.add(this.d.records.on());
  }
  start(s: SessionSnapshot): void {
    this.add(this.d.records.start(s));
  }
  interim(s: SessionSnapshot): void {
    this.add(this.d.records.interim(s));
  }
  stop(s: SessionSnapshot, cause: TerminateCause): void {
    this.add(this.d.records.stop(s, cause));
  }
  async accountingOff(): Promise<void> {
    if (this.d.records.off !== undefined) this.add(this.d.records.off());
    await this.d.drained(this.d.offWaitMs ?? 5000);
  }
}
