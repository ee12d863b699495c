/**
 * Spooled accounting for any backend: the file spool, its runner and the spooling sink, around one `send` that
 * makes a single delivery attempt. RADIUS (radius-accounting.ts) and TACACS+ (tacacs-accounting.ts) each start one
 * with their own file, so one backend's outage never holds the other's records.
 */
import { performance } from "node:perf_hooks";
import { openSpool } from "./spool-file.js";
import { SpoolRunner } from "./spool-runner.js";
import { SpoolingAccountingSink, type RecordMaker } from "../aaa/accounting/sink.js";
import type { SpoolEntry, SpoolStats } from "../aaa/accounting/spool.js";
import type { AccountingSink } from "../aaa/types.js";

/**
 * One delivery attempt: `server` answered and took the record, or nobody did (`message` says why), or a server
 * answered and would not store it (`rejected`: TACACS+ status ERROR; RADIUS has no such answer, RFC 2866 §4.1).
 */
export type Delivery = { readonly ok: true; readonly server: string } | { readonly ok: false; readonly message: string; readonly rejected?: boolean };

export interface SpooledAccountingOptions<T> {
  /** Whose records, in log lines: "accounting" (RADIUS), "TACACS+ accounting". */
  readonly name: string;
  readonly spoolPath: string;
  readonly spoolMax: number;
  /** The config key that sets spoolMax, named when the spool is full. */
  readonly maxKey: string;
  readonly records: RecordMaker<T>;
  /** Records a full spool may drop, oldest first (their totals are in later records), and what they are called. */
  readonly droppable: (r: T) => boolean;
  readonly droppableName: string;
  /** Refuses stored values that are not records (a damaged line is then skipped, not sent). */
  readonly parse?: (value: unknown) => T | undefined;
  /** Pause before a record is tried again after a failed attempt (doubles up to 5 minutes). */
  readonly retryMs?: number;
  readonly log: (line: string) => void;
  /** Wall clock for the event times. */
  readonly now: () => number;
  /** Builds a new request for `e` and makes one attempt (every server included). */
  readonly send: (e: SpoolEntry<T>) => Promise<Delivery>;
  /** A server's refusals of one record before the record behind it is tried, and it dropped if that one is taken (Spool rejectLimit). */
  readonly rejectLimit?: number;
  /** The config key that sets rejectLimit, for log lines. */
  readonly rejectKey?: string;
  /** The client `send` uses: closed with the accounting, or at once when the spool cannot be opened. */
  readonly client: { close(): void };
}

export interface SpooledAccounting {
  readonly sink: AccountingSink;
  stats(): SpoolStats;
  /** Resolves true once nothing is left undelivered, false after `ms`. */
  drained(ms: number): Promise<boolean>;
  /** Stops sending and closes the file; what is undelivered stays in it for the next start. */
  close(): void;
}

export function startSpooledAccounting<T>(o: SpooledAccountingOptions<T>): SpooledAccounting {
  let opened: ReturnType<typeof openSpool<T>>;
  try {
    opened = openSpool<T>(o.spoolPath, {
      maxRecords: o.spoolMax,
      droppable: o.droppable,
      retryMs: o.retryMs ?? 5000,
      log: o.log,
      name: `${o.name} spool`,
      maxKey: o.maxKey,
      droppableName: o.droppableName,
      ...(o.parse !== undefined ? { parse: o.parse } : {}),
      ...(o.rejectLimit !== undefined ? { rejectLimit: o.rejectLimit } : {}),
      ...(o.rejectKey !== undefined ? { rejectKey: o.rejectKey } : {}),
      describe: (r) => o.records.describe(r),
    });
  } catch (e) {
    o.client.close();
    throw e;
  }
  const { spool, file } = opened;
  let wasDown = false;
  const runner = new SpoolRunner<T>(spool, async (e) => {
    const out = await o.send(e);
    // One line per outage and one per recovery, not one per retry.
    if (!out.ok && !wasDown) o.log(`${o.name}: ${out.message}; records are kept in ${o.spoolPath} and sent in order when a server answers`);
    if (out.ok && wasDown) o.log(`${o.name}: ${out.server} answers again; sending ${spool.pending} spooled record(s)`);
    wasDown = !out.ok;
    return out.ok ? true : out.rejected === true ? { rejected: out.message } : false;
    // Retry waits run on the monotonic clock: a wall-clock step back must not stall delivery.
  }, () => performance.now());
  runner.kick();
  const sink = new SpoolingAccountingSink<T>({ spool, records: o.records, now: o.now, kick: () => runner.kick(), drained: (ms) => runner.drained(ms), log: o.log, name: o.name });
  let closed = false;
  return {
    sink,
    stats: () => spool.stats(),
    drained: (ms) => runner.drained(ms),
    close: () => {
      // Twice is harmless (a shutdown path and an error path may both get here); the fd must be closed only once.
      if (closed) return;
      closed = true;
      runner.close();
      o.client.close();
      file.close();
    },
  };
}
