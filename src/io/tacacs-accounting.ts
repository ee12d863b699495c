/**
 * TACACS+ accounting with a durable spool: the records (src/aaa/tacacs/accounting.ts) go through the same spool,
 * runner and sink as RADIUS accounting (spool-accounting.ts), in a file of their own, over a TACACS+ client of their
 * own. Each delivery attempt is a new accounting REQUEST (a new session_id, §4.1) with the fields fixed at the event.
 */
import { isWatchdog, parseTacacsRecord, sendTacacsRecord, tacacsRecords, type TacacsAcctRecord } from "../aaa/tacacs/accounting.js";
import type { TacacsExchange } from "../aaa/tacacs/authenticator.js";
import { startSpooledAccounting, type SpooledAccounting } from "./spool-accounting.js";

export interface TacacsAccountingOptions {
  /** Closed with the accounting. */
  readonly client: TacacsExchange & { close(): void };
  readonly spoolPath: string;
  readonly spoolMax: number;
  /** Pause before a record is tried again after no server took it (doubles up to 5 minutes). */
  readonly retryMs?: number;
  /** ERROR replies to one record before the record behind it is tried ([tacacs] accounting-error-limit; 0 = never). */
  readonly errorLimit?: number;
  readonly log: (line: string) => void;
  /** Wall clock (tests may shift it). */
  readonly now?: () => number;
}

/** ERROR replies to one record, in a row, before the record behind it is tried (and it dropped if that one is taken). */
export const DEFAULT_ERROR_LIMIT = 5;

export function createTacacsAccounting(o: TacacsAccountingOptions): SpooledAccounting {
  return startSpooledAccounting<TacacsAcctRecord>({
    name: "TACACS+ accounting",
    spoolPath: o.spoolPath,
    spoolMax: o.spoolMax,
    maxKey: "[tacacs] spool-max",
    records: tacacsRecords,
    droppable: isWatchdog,
    droppableName: "watchdog update",
    parse: parseTacacsRecord,
    ...(o.retryMs !== undefined ? { retryMs: o.retryMs } : {}),
    rejectLimit: o.errorLimit ?? DEFAULT_ERROR_LIMIT,
    rejectKey: "[tacacs] accounting-error-limit",
    log: o.log,
    now: o.now ?? Date.now,
    client: o.client,
    send: (e) => sendTacacsRecord(o.client, e.record),
  });
}
