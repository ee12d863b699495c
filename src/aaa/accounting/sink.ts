/**
 * The AccountingSink the server calls: every event becomes a spooled record first (fsynced before the call
 * returns), and the spool's runner delivers it; so "server down" and "server up" take the same path and nothing is
 * sent that is not also on disk until answered.
 */
import type { AccountingSink, SessionSnapshot, TerminateCause } from "../types.js";
import { AcctStatus, sessionRecord, type AcctRecord } from "./records.js";
import type { Spool } from "./spool.js";

export interface SpoolingSinkDeps {
  readonly spool: Spool<AcctRecord>;
  /** Wall-clock ms (records keep the event time across restarts). */
  readonly now: () => number;
  /** A record was added: try to send now. */
  readonly kick: () => void;
  /** Resolves when the spool is empty or after `ms`. */
  readonly drained: (ms: number) => Promise<boolean>;
  /** How long accountingOff waits for delivery before leaving the rest in the spool (default 5000 ms). */
  readonly offWaitMs?: number;
}

export class SpoolingAccountingSink implements AccountingSink {
  constructor(private readonly d: SpoolingSinkDeps) {}

  private add(r: AcctRecord): void {
    try {
      this.d.spool.add(r, this.d.now());
    } catch (e) {
      // A disk error must not take a session down with it; the spool cannot keep the record, say so.
      console.error(`accounting: cannot write the spool, record lost (${r.sessionId ?? "NAS"} status ${r.status}): ${(e as Error).message}`);
      return;
    }
    this.d.kick();
  }

  accountingOn(): void {
    this.add({ status: AcctStatus.AccountingOn });
  }
  start(s: SessionSnapshot): void {
    this.add(sessionRecord(AcctStatus.Start, s));
  }
  interim(s: SessionSnapshot): void {
    this.add(sessionRecord(AcctStatus.InterimUpdate, s));
  }
  stop(s: SessionSnapshot, cause: TerminateCause): void {
    this.add(sessionRecord(AcctStatus.Stop, s, cause));
  }
  async accountingOff(): Promise<void> {
    this.add({ status: AcctStatus.AccountingOff });
    await this.d.drained(this.d.offWaitMs ?? 5000);
  }
}
