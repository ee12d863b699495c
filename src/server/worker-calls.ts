/**
 * The server's side of the data-plane workers (`[server] workers = N`, N >= 2; design in src/io/workers/README.md):
 * which calls run their IP path on a worker, their counters, and the hand-off / take-back around a call's life.
 *
 *   handOff(callId, session, ...)  at network-up: the link's start keys and header flags (PppLink.dataPlaneState)
 *                                  and the GRE channel's next sequence number go to the least loaded worker; the
 *                                  link stops sending IP (PppLink.handOffData) and its control frames leave
 *                                  through the worker (CallSession.frameOut), in the worker's GRE sequence.
 *   takeBack(callId)               before the call's end is accounted: the worker's final counters are added.
 *
 * Counters: the worker counts the call's IP packets and bytes; they are added to the link's own `stats` (which
 * `show sessions`, the traffic totals and RADIUS accounting read) every POLL_MS while the call runs and once more,
 * exactly, at take-back. So a live session's figures lag by at most POLL_MS; its final ones are exact.
 */
import type { DataPlaneWorkers, WorkerStats } from "../io/workers/pool.js";
import type { CallHandoff } from "../io/workers/data-call.js";
import type { WorkerCallStats } from "../io/workers/protocol.js";
import type { CallSession } from "../session/call.js";
import type { LogCategory } from "../session/connection.js";

/** How often a running call's worker counters are read, ms. */
export const POLL_MS = 1000;

interface Counters {
  ipIn: number;
  ipOut: number;
  bytesIn: number;
  bytesOut: number;
}

interface Held {
  /** The link's stats object: the worker's deltas are added to it. */
  readonly counters: Counters;
  readonly seen: Counters;
  readonly onActivity: () => void;
}

export interface HandOffEnds {
  readonly peerIp: number;
  readonly localIp: number;
  /** The client's tunnel address (uint32). */
  readonly clientIp: number;
}

export class WorkerCalls {
  private readonly held = new Map<number, Held>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private statefulSaid = false;
  /** Calls per worker at the last poll (index 0 = worker 1), for `show stats`. */
  private lastCalls: number[] = [];

  constructor(
    readonly pool: DataPlaneWorkers,
    private readonly log: (category: LogCategory, message: string) => void,
    private readonly pollMs = POLL_MS,
  ) {}

  /**
   * At network-up: moves the call's IP path to a worker when it can (stateless MPPE or none). Returns false when
   * the call stays on the control thread.
   */
  handOff(callId: number, session: CallSession, ends: HandOffEnds, onActivity: () => void): boolean {
    if (this.held.has(callId) || this.pool.ownerOf(callId) !== undefined) return true;
    const link = session.link;
    const d = link.dataPlaneState();
    if (d === undefined) {
      if (link.mppeInfo !== undefined && !link.mppeInfo.stateless && !this.statefulSaid) {
        this.statefulSaid = true;
        this.log(
          "events",
          `call ${callId}: stateful MPPE: its data stays on the control thread (a worker cannot answer its CCP Reset-Requests, RFC 3078 §8); this is said once, it holds for every stateful call`,
        );
      }
      return false;
    }
    const h: CallHandoff = {
      localCallId: callId,
      peerCallId: session.peerCallId,
      peerIp: ends.peerIp,
      localIp: ends.localIp,
      clientIp: ends.clientIp,
      peerReceiveWindow: session.channel.peerWindow,
      initialSeq: session.channel.nextSendSeq,
      sendFlags: d.sendFlags,
      maxIpOut: link.maxIpOut,
      ...(d.mppe !== undefined ? { mppe: { ...d.mppe, stateless: true as const } } : {}),
    };
    // From here the link never sends IP (its MPPE sender must not reuse the worker's coherency counts), and its
    // control frames go to the worker, which sends them after the "add" (one MessagePort, in order).
    link.handOffData(true);
    const pending = this.pool.handOff(h);
    session.frameOut = (f) => {
      this.pool.sendFrame(callId, f);
    };
    this.held.set(callId, { counters: link.stats, seen: { ipIn: 0, ipOut: 0, bytesIn: 0, bytesOut: 0 }, onActivity });
    this.arm();
    pending.then(
      (owner) => this.log("events", `call ${callId}: data path on worker ${owner}`),
      (e: unknown) => {
        // The worker refused it: the call carries on, on the control thread.
        this.held.delete(callId);
        session.frameOut = undefined;
        link.handOffData(false);
        this.log("errors", `call ${callId}: data-plane worker: ${(e as Error).message}; the call's data stays on the control thread`);
      },
    );
    return true;
  }

  onWorker(callId: number): boolean {
    return this.pool.ownerOf(callId) !== undefined;
  }

  /** IP for a handed-off call that reached the control thread's TUN queue (a route behind the client, or a race). */
  forwardIp(callId: number, d: Uint8Array, off: number, len: number): boolean {
    // A copy: a view would carry its whole batch buffer across the MessagePort.
    return this.pool.forwardIp(callId, d.slice(off, off + len));
  }

  /** The call ends: its path leaves the worker and the worker's last counters are added to the link's. */
  async takeBack(callId: number): Promise<void> {
    const h = this.held.get(callId);
    this.held.delete(callId);
    const s = await this.pool.takeBack(callId);
    if (h !== undefined && s !== undefined) this.apply(h, s);
    this.arm();
  }

  /** For `show stats`: workers, and calls on each at the last poll. */
  stats(): Record<string, number> {
    const out: Record<string, number> = { workers: this.pool.size, "calls-handed-off": this.held.size };
    this.lastCalls.forEach((n, i) => (out[`worker-${i + 1}-calls`] = n));
    return out;
  }

  /** Every worker's statistics now (tests, diagnostics). */
  workerStats(): Promise<WorkerStats[]> {
    return this.pool.stats();
  }

  async close(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.held.clear();
    await this.pool.close();
  }

  private arm(): void {
    if (this.held.size > 0 && this.timer === undefined) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      this.timer.unref();
    } else if (this.held.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const all = await this.pool.stats();
      this.lastCalls = all.map((w) => w.calls.length);
      for (const w of all) for (const c of w.calls) {
        const h = this.held.get(c.callId);
        if (h !== undefined) this.apply(h, c);
      }
    } catch (e) {
      this.log("errors", `data-plane workers: statistics: ${(e as Error).message}`);
    } finally {
      this.polling = false;
    }
  }

  private apply(h: Held, s: WorkerCallStats): void {
    const dIpIn = s.ipIn - h.seen.ipIn;
    const dIpOut = s.ipOut - h.seen.ipOut;
    if (dIpIn <= 0 && dIpOut <= 0) return;
    h.counters.ipIn += dIpIn;
    h.counters.ipOut += dIpOut;
    h.counters.bytesIn += s.bytesIn - h.seen.bytesIn;
    h.counters.bytesOut += s.bytesOut - h.seen.bytesOut;
    h.seen.ipIn = s.ipIn;
    h.seen.ipOut = s.ipOut;
    h.seen.bytesIn = s.bytesIn;
    h.seen.bytesOut = s.bytesOut;
    h.onActivity();
  }
}
