/**
 * One log line per (kind of problem, source) per interval, never one per packet.
 *
 * A per-packet problem — GRE for a Call ID nobody holds, a malformed PPP frame, a refused connection attempt —
 * can arrive at line rate. Logging each would let whoever sends them fill the disk, so the server reports them
 * through this aggregator instead:
 *
 *   dropped 35,112 GRE packets for unknown calls from 10.0.0.9 in the last 10 s
 *
 * Each kind says how a count is worded and whether the first occurrence is logged at once with its details
 * (useful for the rare problem: the operator sees the real message, then a summary of the repeats) or only in
 * the summary (packet floods, where one packet's details add nothing). The number of (kind, source) entries is
 * bounded: once `maxKeys` are in use, new sources are counted under "other sources" for their kind, so memory
 * does not grow with the number of addresses an attacker can spoof. Exact totals stay in the callers' counters.
 *
 * Sans-I/O: `note` and `flush` take the time; the server calls `flush` from its once-a-second housekeeping.
 * After the first event from a source, counting it again allocates nothing.
 */

export interface AggregateKind {
  /**
   * The summary line: `count` formatted with thousands separators, `seconds` the window length, `first` the line
   * logged for the window's first event (immediate kinds).
   */
  readonly summary: (count: string, source: string, seconds: number, first: string) => string;
  /** Log the first event of a window at once (with the detail passed to note), and only the repeats later. */
  readonly immediate?: boolean;
}

export interface LogAggregatorOptions {
  readonly intervalMs?: number;
  /** Distinct (kind, source) entries held at once; beyond it sources are lumped together. */
  readonly maxKeys?: number;
  readonly emit: (line: string) => void;
}

interface Entry {
  since: number;
  /** The line logged at once for the first event (immediate kinds), or "". */
  first: string;
  /** Events not yet reported. */
  count: number;
}

export const OTHER_SOURCES = "other sources";

export class LogAggregator<K extends string> {
  private readonly kinds: Readonly<Record<K, AggregateKind>>;
  private readonly intervalMs: number;
  private readonly maxKeys: number;
  private readonly emit: (line: string) => void;
  private readonly entries = new Map<K, Map<string | number, Entry>>();
  private size = 0;

  constructor(kinds: Readonly<Record<K, AggregateKind>>, o: LogAggregatorOptions) {
    this.kinds = kinds;
    this.intervalMs = o.intervalMs ?? 10_000;
    this.maxKeys = o.maxKeys ?? 1000;
    this.emit = o.emit;
  }

  /** Number of (kind, source) entries held (bounded by maxKeys plus one "other sources" entry per kind). */
  get keys(): number {
    return this.size;
  }

  /**
   * `n` events of `kind` from `source` (an address as a string or a number, or any short key). `detail` builds
   * the line logged at once for an immediate kind's first event in a window; it is not called otherwise.
   */
  note(now: number, kind: K, source: string | number, n = 1, detail?: () => string): void {
    let byKind = this.entries.get(kind);
    if (byKind === undefined) {
      byKind = new Map();
      this.entries.set(kind, byKind);
    }
    let e = byKind.get(source);
    if (e === undefined) {
      if (this.size >= this.maxKeys) {
        source = OTHER_SOURCES;
        e = byKind.get(source);
      }
      if (e === undefined) {
        e = { since: now, count: 0, first: "" };
        byKind.set(source, e);
        this.size++;
        if (this.kinds[kind].immediate && detail !== undefined) {
          e.first = detail();
          this.emit(e.first);
          n--;
        }
      }
    }
    e.count += n;
  }

  /** Report every window that is over; a source that went quiet is forgotten. */
  flush(now: number): void {
    for (const [kind, byKind] of this.entries) {
      for (const [source, e] of byKind) {
        if (now - e.since < this.intervalMs) continue;
        if (e.count > 0) {
          const src = typeof source === "number" ? formatAddress(source) : source;
          this.emit(this.kinds[kind].summary(e.count.toLocaleString("en-US"), src, Math.max(1, Math.round((now - e.since) / 1000)), e.first));
        }
        byKind.delete(source);
        this.size--;
      }
    }
  }
}

function formatAddress(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 0xff}.${(ip >>> 8) & 0xff}.${ip & 0xff}`;
}
