/**
 * The durable accounting spool (sans-I/O): records are accepted only once their line is on disk (the store appends
 * with fsync), are handed out strictly in acceptance order with one in flight (a global order, which implies the
 * per-session order RFC 2866 §2 servers need to pair Start with Stop), and are marked delivered durably after the
 * server's Accounting-Response. A restart reloads the file: undelivered records are handed out again, delivered ones
 * never. RADIUS has no idempotency key, so a kill between the Accounting-Response and the fsync of the mark can resend
 * one record; it is then byte-for-byte the same event (same Acct-Session-Id, Acct-Status-Type and Event-Timestamp),
 * by which a server can recognise the repeat (e.g. FreeRADIUS' Acct-Unique-Session-Id).
 *
 * The file is a log of lines (the format is this module's; the store only moves lines):
 *   `H <next>`              header written by compaction: the next sequence number
 *   `R <seq> <at> <json>`   a record, `at` = the event's wall-clock time in ms (for Acct-Delay-Time, RFC 2866 §5.2)
 *   `D <seq>`               delivered (or dropped because the spool was full): never hand it out again
 * A crash can tear only the last line (appends are sequential); the store cuts the file after its last newline, and
 * loadSpool skips any line it cannot read (counted, and its line number kept so the log can name it) without losing
 * the lines around it. The record type is the owner's (RADIUS and TACACS+ accounting each keep their own file).
 */
import type { Millis } from "../../core/clock.js";

export interface SpoolStore {
  /** Appends one line ("\n" added by the store) and returns only once it is written and fsynced. */
  append(line: string): void;
  /** Replaces the whole file with these lines atomically (temp file, fsync, rename) and durably. */
  replace(lines: readonly string[]): void;
}

export interface SpoolEntry<T> {
  readonly seq: number;
  /** Wall-clock time of the event (ms since the epoch). */
  readonly at: number;
  readonly record: T;
}

export interface SpoolOptions<T> {
  /** Most undelivered records kept; beyond it see `droppable`. */
  readonly maxRecords: number;
  /** When full, the oldest undelivered record for which this is true is dropped to make room (Interim-Updates: a later
   * Interim or the Stop carries totals that supersede it); if none is droppable the new record is refused. */
  readonly droppable?: (record: T) => boolean;
  /** Rewrite the file once this many delivered marks have piled up (and they outnumber the live records). */
  readonly compactAfter?: number;
  /** Wait after a failed delivery before the next try; doubles up to retryMaxMs. */
  readonly retryMs?: Millis;
  readonly retryMaxMs?: Millis;
  readonly log?: (line: string) => void;
  /** Whose spool, for log lines (default "accounting spool"; e.g. "TACACS+ accounting spool"). */
  readonly name?: string;
  /** Where the spool lives, so a log line can name the file and the line of an unreadable record. */
  readonly file?: string;
  /** The config key that raises maxRecords, for the "full" log line (default "[accounting] spool-max"). */
  readonly maxKey?: string;
  /** What a droppable record is called in the log (default "interim update"). */
  readonly droppableName?: string;
  /**
   * A server that answers and refuses the head record (`rejected`, e.g. TACACS+ status ERROR, RFC 8907 §7.2) this
   * many times in a row gets the record behind it instead; if it takes that one, the refused record is dropped
   * (logged, counted in `rejected`): the server works, so the record itself is what it will not store, and it
   * would hold every record behind it until spool-max. If it refuses that one too, the fault is the server's and
   * both stay. 0 or undefined: a refused record is retried like an unanswered one, forever.
   */
  readonly rejectLimit?: number;
  /** A record in a log line (default: its JSON, shortened). */
  readonly describe?: (record: T) => string;
  /** The config key that sets rejectLimit, named in its log lines. */
  readonly rejectKey?: string;
}

export interface SpoolStats {
  pending: number;
  accepted: number;
  delivered: number;
  /** Older Interim-Updates dropped to make room when full. */
  dropped: number;
  /** New records refused because the spool was full of records that must not be dropped. */
  refused: number;
  /** Deliveries that failed and were tried again later. */
  retries: number;
  /** Lines found unreadable when loading (a torn last line after a crash, or damage). */
  badLines: number;
  /** Records LOST: refused by a server rejectLimit times while it took the record behind them (see rejectLimit). */
  rejected: number;
}

/**
 * A spool's counters as `show stats` prints them (topic "accounting-spool radius" / "... tacacs") and /metrics
 * reads them: what waits for the server now, and what was delivered, dropped to make room, refused (lost), retried
 * and found unreadable since start.
 */
export function spoolStatsReport(s: SpoolStats): Record<string, number> {
  return { pending: s.pending, accepted: s.accepted, delivered: s.delivered, dropped: s.dropped, refused: s.refused, retries: s.retries, "bad-lines": s.badLines, rejected: s.rejected };
}

export interface LoadedSpool<T> {
  readonly entries: SpoolEntry<T>[];
  readonly nextSeq: number;
  readonly badLines: number;
  /** 1-based numbers of those lines (at most the first MAX_BAD_LINES_NAMED). */
  readonly badLineNumbers: readonly number[];
  /** Lines in the file that are no longer needed (delivered records and their marks). */
  readonly deadLines: number;
}

export const MAX_BAD_LINES_NAMED = 10;

/**
 * Reads a spool file's text; entries come back in sequence order. Unreadable lines are skipped and counted: not a
 * line of the format, JSON that does not parse, or a record `parse` refuses (it returns undefined for a value that
 * is not a record its owner can send, so damage cannot reach the sender and stall the queue behind it).
 */
export function loadSpool<T>(text: string, parse: (value: unknown) => T | undefined = (v) => v as T): LoadedSpool<T> {
  const live = new Map<number, SpoolEntry<T>>();
  let nextSeq = 1;
  let badLines = 0;
  const badLineNumbers: number[] = [];
  const bad = (lineNo: number) => {
    badLines++;
    if (badLineNumbers.length < MAX_BAD_LINES_NAMED) badLineNumbers.push(lineNo);
  };
  let deadLines = 0;
  const lines = text.split("\n");
  // Only text followed by "\n" was a complete append; a tail without it is torn (the store also cuts it off).
  const torn = lines[lines.length - 1] !== "";
  lines.pop();
  for (const [i, line] of lines.entries()) {
    if (line === "") continue;
    const m = /^(?:H (\d+)|R (\d+) (\d+) (.+)|D (\d+))$/.exec(line);
    if (m === null) {
      bad(i + 1);
      continue;
    }
    if (m[1] !== undefined) {
      nextSeq = Math.max(nextSeq, Number(m[1]));
    } else if (m[2] !== undefined) {
      let record: T | undefined;
      try {
        record = parse(JSON.parse(m[4]));
      } catch {
        record = undefined;
      }
      if (record === undefined) {
        bad(i + 1);
        continue;
      }
      const seq = Number(m[2]);
      live.set(seq, { seq, at: Number(m[3]), record });
      nextSeq = Math.max(nextSeq, seq + 1);
    } else {
      const seq = Number(m[5]);
      if (live.delete(seq)) deadLines += 2;
      else deadLines++;
    }
  }
  if (torn) bad(lines.length + 1);
  const entries = [...live.values()].sort((a, b) => a.seq - b.seq);
  return { entries, nextSeq, badLines, badLineNumbers, deadLines };
}

export class Spool<T> {
  private queue: SpoolEntry<T>[];
  private nextSeq: number;
  private inFlight: number | undefined;
  private retryAt: Millis | undefined;
  private backoff: Millis;
  private deadLines: number;
  private readonly stats_: SpoolStats;
  private readonly compactAfter: number;
  private readonly retryMs: Millis;
  private readonly retryMaxMs: Millis;
  private readonly name: string;
  /** The head record the server has refused `rejections` times in a row (see SpoolOptions.rejectLimit). */
  private rejectedSeq: number | undefined;
  private rejections = 0;
  /** Set once the head reached the limit: next() hands out the record behind it, to see whether the server takes it. */
  private suspect: number | undefined;

  constructor(
    private readonly store: SpoolStore,
    loaded: LoadedSpool<T>,
    private readonly opts: SpoolOptions<T>,
  ) {
    this.queue = loaded.entries.slice();
    this.nextSeq = loaded.nextSeq;
    this.deadLines = loaded.deadLines;
    this.compactAfter = opts.compactAfter ?? 1000;
    this.retryMs = opts.retryMs ?? 5000;
    this.retryMaxMs = opts.retryMaxMs ?? 300_000;
    this.backoff = this.retryMs;
    this.name = opts.name ?? "accounting spool";
    this.stats_ = { pending: this.queue.length, accepted: 0, delivered: 0, dropped: 0, refused: 0, retries: 0, badLines: loaded.badLines, rejected: 0 };
    if (loaded.badLines > 0) {
      const where = opts.file ?? this.name;
      for (const n of loaded.badLineNumbers) opts.log?.(`${where}:${n}: unreadable ${this.name} line skipped (a write torn by a crash, or damage); the records around it are kept`);
      const more = loaded.badLines - loaded.badLineNumbers.length;
      opts.log?.(`${this.name}: skipped ${loaded.badLines} unreadable line(s)${more > 0 ? ` (${more} not named above)` : ""}; the records before and after them are kept`);
    }
    if (this.queue.length > 0) opts.log?.(`${this.name}: ${this.queue.length} undelivered record(s) from before the restart will be sent again`);
  }

  /**
   * Accepts a record: returns once its line is fsynced. False when the spool is full and nothing could be dropped
   * (the record is lost, said in the log and counted in `refused`).
   */
  add(record: T, at: number): boolean {
    if (this.queue.length >= this.opts.maxRecords && !this.makeRoom(record)) return false;
    const entry: SpoolEntry<T> = { seq: this.nextSeq++, at, record };
    this.store.append(`R ${entry.seq} ${at} ${JSON.stringify(record)}`);
    this.queue.push(entry);
    this.stats_.accepted++;
    return true;
  }

  private makeRoom(incoming: T): boolean {
    const victim = this.opts.droppable === undefined ? -1 : this.queue.findIndex((e) => e.seq !== this.inFlight && this.opts.droppable!(e.record));
    if (victim < 0) {
      this.stats_.refused++;
      this.opts.log?.(`${this.name} full (${this.opts.maxRecords} undelivered records, none droppable): a new record is LOST: ${describeJson(incoming)}; raise ${this.opts.maxKey ?? "[accounting] spool-max"} or bring the accounting server back`);
      return false;
    }
    const [gone] = this.queue.splice(victim, 1);
    this.mark(gone.seq);
    this.stats_.dropped++;
    this.opts.log?.(`${this.name} full (${this.opts.maxRecords} undelivered records): dropped the oldest ${this.opts.droppableName ?? "interim update"} #${gone.seq} (later records carry its totals)`);
    return true;
  }

  /** The next record to send, if none is in flight and no retry wait is running; marks it in flight. */
  next(now: Millis): SpoolEntry<T> | undefined {
    if (this.inFlight !== undefined || this.queue.length === 0) return undefined;
    if (this.retryAt !== undefined && now < this.retryAt) return undefined;
    this.retryAt = undefined;
    // The head reached the refusal limit: the record behind it goes instead (a probe of the server).
    const e = this.suspect !== undefined && this.queue[0].seq === this.suspect && this.queue.length > 1 ? this.queue[1] : this.queue[0];
    this.inFlight = e.seq;
    return e;
  }

  /** The server answered: mark it delivered durably, then the next one may go. */
  delivered(seq: number): void {
    if (this.inFlight !== seq) return;
    this.inFlight = undefined;
    const i = this.queue.findIndex((e) => e.seq === seq);
    if (i >= 0) this.queue.splice(i, 1);
    this.mark(seq);
    this.stats_.delivered++;
    this.backoff = this.retryMs;
    // The server took the record behind the one it keeps refusing: that one is dropped, the queue flows again.
    if (i === 1 && this.queue[0]?.seq === this.suspect) {
      const [gone] = this.queue.splice(0, 1);
      this.mark(gone.seq);
      this.stats_.rejected++;
      this.opts.log?.(
        `${this.name}: record #${gone.seq} (${this.describe(gone.record)}) DROPPED: the server refused it ${this.rejections} times while it took the record behind it (the records behind it flow); the record was: ${JSON.stringify(gone.record)}`,
      );
      this.suspect = undefined;
      this.rejectedSeq = undefined;
      this.rejections = 0;
    }
    this.maybeCompact();
  }

  /**
   * The server answered and did not store the record (TACACS+ ERROR): retried like a failure; after rejectLimit
   * refusals in a row, the record behind it is tried (see SpoolOptions.rejectLimit).
   */
  rejected(seq: number, now: Millis, reason: string): void {
    if (this.inFlight !== seq) return;
    const limit = this.opts.rejectLimit ?? 0;
    if (limit > 0) {
      if (this.suspect !== undefined && seq !== this.suspect && this.queue[0]?.seq === this.suspect) {
        // The record behind it is refused too: the server stores nothing now, which is not the records' fault.
        this.opts.log?.(`${this.name}: the server refuses the record behind #${this.suspect} too (${reason}): both are kept and tried again`);
        this.suspect = undefined;
        this.rejections = 0;
        this.rejectedSeq = undefined;
      } else {
        if (this.rejectedSeq !== seq) {
          this.rejectedSeq = seq;
          this.rejections = 0;
        }
        this.rejections++;
        if (this.rejections >= limit && this.suspect !== seq) {
          this.suspect = seq;
          this.opts.log?.(
            `${this.name}: record #${seq} (${this.describe(this.queue[0].record)}) refused ${this.rejections} times in a row (${reason}; ${this.opts.rejectKey ?? "rejectLimit"} = ${limit}): the record behind it is tried; if the server takes that one, #${seq} is dropped`,
          );
        }
      }
    }
    this.failed(seq, now);
  }

  /** No answer (or no server at all): keep it at the head and try again after a growing pause. */
  failed(seq: number, now: Millis): void {
    if (this.inFlight !== seq) return;
    this.inFlight = undefined;
    this.retryAt = now + this.backoff;
    this.backoff = Math.min(this.backoff * 2, this.retryMaxMs);
    this.stats_.retries++;
  }

  /** When next() will have something again after a failure; undefined when it has something now or nothing at all. */
  pollTimeout(): Millis | undefined {
    return this.inFlight === undefined && this.queue.length > 0 ? this.retryAt : undefined;
  }

  /** The accounting server is known to be back: drop the retry wait. */
  retryNow(): void {
    this.retryAt = undefined;
    this.backoff = this.retryMs;
  }

  get pending(): number {
    return this.queue.length;
  }

  stats(): SpoolStats {
    return { ...this.stats_, pending: this.queue.length };
  }

  private describe(r: T): string {
    return this.opts.describe?.(r) ?? describeJson(r);
  }

  private mark(seq: number): void {
    this.store.append(`D ${seq}`);
    this.deadLines += 2;
  }

  private maybeCompact(): void {
    if (this.deadLines < this.compactAfter || this.deadLines <= this.queue.length) return;
    this.store.replace([`H ${this.nextSeq}`, ...this.queue.map((e) => `R ${e.seq} ${e.at} ${JSON.stringify(e.record)}`)]);
    this.deadLines = 0;
  }
}

function describeJson(record: unknown): string {
  const s = JSON.stringify(record);
  return s.length > 120 ? s.slice(0, 117) + "..." : s;
}
