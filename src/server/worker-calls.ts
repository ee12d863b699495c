/**
 * The server's side of the data-plane workers (`[server] workers = N`, N >= 2; design in src/io/workers/README.md):
 * which calls run their IP path on a worker, their counters, and the hand-off / take-back around a call's life.
 *
 *   handOff(callId, session, ...)  at network-up: the link's start keys and header flags (PppLink.dataPlaneState)
 *                                  and the GRE channel's next sequence number go to the least loaded worker; the
 *                                  link stops sending IP (PppLink.handOffData) and its control frames leave
 *                                  through the worker (CallSession.frameOut), in the worker's GRE sequence.
 *   takeBack(callId)               before the call's end is accounted: the worker's final counters are added.
 *   afterControl(callId)           after the link took a control frame from the worker: a renegotiation began
 *                                  (RFC 1661 §3.2: a Configure-Request in Opened; RFC 3078 §7.3 / RFC 1962 §2:
 *                                  CCP restarting), so the link's data-plane state is gone. The call comes back
 *                                  to the control thread with the worker's GRE sequence and MPPE state, exactly
 *                                  (DataCall.handBack → GreChannel/PppLink.resumeData), renegotiates there, and
 *                                  goes to a worker again once it is eligible again (network-up, or the next poll
 *                                  for a CCP-only restart, which raises no new network-up).
 *   lost(owner, callIds, reason)   a worker died: its calls' GRE sequence and MPPE state died with it, so they
 *                                  cannot go on safely (a guessed MPPE count reuses keystream): each is closed with
 *                                  the reason in the log and Acct-Terminate-Cause NAS-Error; the pool restarts
 *                                  the worker for new calls.
 *
 * Counters: the worker counts the call's IP packets and bytes; they are added to the link's own `stats` (which
 * `show sessions`, the traffic totals and RADIUS accounting read) every POLL_MS while the call runs and once more,
 * exactly, at take-back. So a live session's figures lag by at most POLL_MS; its final ones are exact.
 */
import type { DataPlaneWorkers, TakenBack, WorkerStats } from "../io/workers/pool.js";
import type { CallHandoff } from "../io/workers/data-call.js";
import type { ForwardedGre, WorkerCallStats } from "../io/workers/protocol.js";
import type { CallSession } from "../session/call.js";
import type { GreHeader } from "../wire/gre.js";
import type { LogCategory } from "../session/connection.js";

/** How often a running call's worker counters are read, ms. */
export const POLL_MS = 1000;
/**
 * A call whose worker died resumes sending (its LCP Terminate-Request) this far past the last sequence number the
 * worker reported: the worker may have sent up to POLL_MS of packets since, and a peer drops a number it has seen
 * (RFC 2637 §4.3) but takes one ahead as loss.
 */
const LOST_SEQ_MARGIN = 1 << 20;
/**
 * GRE the control thread forwards while a hand-off is unanswered is also kept here, up to this many packets, so a
 * refusal can deliver it on the control thread (the "add" round trip is one MessagePort hop: well under this).
 */
export const PENDING_GRE_MAX = 256;

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
  readonly session: CallSession;
  readonly ends: HandOffEnds;
  /** Which MPPE sender/receiver of the link the worker continues (PppLink.resumeData checks it). */
  readonly epoch: number | undefined;
  /** The GRE sequence number the worker sends next, as last reported (or as handed off). */
  lastSeq: number;
  /** Set while the call is being handed back (a renegotiation): settles once it runs on the control thread. */
  returning?: Promise<void>;
}

/** A call handed back for a renegotiation: it goes to a worker again once its link is eligible again. */
interface Returned {
  readonly session: CallSession;
  readonly ends: HandOffEnds;
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
  private readonly returned = new Map<number, Returned>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private statefulSaid = false;
  /** Calls per worker at the last poll (index 0 = worker 1), for `show stats`. */
  private lastCalls: number[] = [];
  /** Calls handed back for a renegotiation, and calls closed because their worker died (`show stats`). */
  private renegotiations = 0;
  private lostCalls = 0;
  private workerRestarts = 0;
  /**
   * GRE for a handed-off call that reached neither side: kept past PENDING_GRE_MAX while a hand-off the worker then
   * refused was unanswered, or read here for a call the pool no longer places on any worker (`show stats`).
   */
  private greForwardLost = 0;

  constructor(
    readonly pool: DataPlaneWorkers,
    private readonly log: (category: LogCategory, message: string) => void,
    private readonly pollMs = POLL_MS,
    /** Hang up a call whose worker died (the server: LCP Terminate, CDN, accounting Stop with `nas-error`). */
    private readonly closeCall: (callId: number, reason: string) => void = () => {},
    private readonly now: () => number = () => performance.now(),
    /** A GRE packet for the call's control-thread side, as the server receives one (Server.workerGre). */
    private readonly receiveGre: (callId: number, p: ForwardedGre) => void = () => {},
  ) {}

  /**
   * At network-up: moves the call's IP path to a worker when it can (stateless MPPE or none). Returns false when
   * the call stays on the control thread.
   */
  handOff(callId: number, session: CallSession, ends: HandOffEnds, onActivity: () => void): boolean {
    if (this.held.has(callId) || this.pool.ownerOf(callId) !== undefined) return true;
    const link = session.link;
    if (link.isFinished) return false;
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
    this.returned.delete(callId);
    // What the control thread had not acknowledged yet goes now: the worker continues from the state after it.
    session.channel.flushAck();
    const gre = session.channel.dataState();
    // What waits behind a gap in this channel's reorder buffer goes with the state (RFC 2637 §4.4: the receiver
    // may buffer out-of-order packets): the worker receives them first, so they come out once the gap fills
    // there. Left here, the gap filler would reach the worker and they would stay behind, for none to deliver.
    const reordered = session.channel.takeReordered().map(toForwarded);
    const h: CallHandoff = {
      localCallId: callId,
      peerCallId: session.peerCallId,
      peerIp: ends.peerIp,
      localIp: ends.localIp,
      clientIp: ends.clientIp,
      peerReceiveWindow: session.channel.peerWindow,
      initialSeq: gre.nextSendSeq,
      gre,
      sendFlags: d.sendFlags,
      maxIpOut: link.maxIpOut,
      ...(reordered.length > 0 ? { held: reordered } : {}),
      ...(d.mppe !== undefined ? { mppe: { sendKey: d.mppe.sendKey, recvKey: d.mppe.recvKey, bits: d.mppe.bits, stateless: true as const, send: d.mppe.send, recv: d.mppe.recv } } : {}),
    };
    // From here the link never sends IP (its MPPE sender must not reuse the worker's coherency counts), and its
    // control frames go to the worker, which sends them after the "add" (one MessagePort, in order).
    link.handOffData(true);
    const pending = this.pool.handOff(h);
    session.frameOut = (f) => {
      this.pool.sendFrame(callId, f);
    };
    // GRE this thread still reads for the call (queued before the steering entry took effect) follows the "add".
    // Until the worker answers, a copy stays here: a worker that refuses the call drops what was forwarded to it
    // (it has no call for it), so on a refusal these come back into this channel, after the reordered ones.
    let unanswered: ForwardedGre[] | undefined = [];
    let unansweredOver = 0;
    // Forwards the pool refused before the answer (its worker went away meanwhile; pool.ts records the owner before
    // it asks): forwarded again if the worker takes the call, delivered here with the rest if it refuses.
    const refused: ForwardedGre[] = [];
    let refusedOver = 0;
    session.greIn = (_now, buf, gh) => {
      const p = copyGre(buf, gh);
      if (unanswered !== undefined) {
        if (unanswered.length < PENDING_GRE_MAX) unanswered.push(p);
        else unansweredOver++;
      }
      if (this.pool.forwardGre(callId, p)) return;
      if (unanswered === undefined) this.greForwardLost++;
      else if (refused.length < PENDING_GRE_MAX) refused.push(p);
      else refusedOver++;
    };
    const held: Held = { counters: link.stats, seen: { ipIn: 0, ipOut: 0, bytesIn: 0, bytesOut: 0 }, onActivity, session, ends, epoch: d.mppe?.epoch, lastSeq: gre.nextSendSeq };
    this.held.set(callId, held);
    this.arm();
    pending.then(
      (owner) => {
        unanswered = undefined;
        for (const p of refused.splice(0)) if (!this.pool.forwardGre(callId, p)) this.greForwardLost++;
        this.greForwardLost += refusedOver;
        this.log("events", `call ${callId}: data path on worker ${owner}`);
      },
      (e: unknown) => {
        const forwarded = unanswered ?? [];
        unanswered = undefined;
        // The worker refused it (or died meanwhile, before it sent anything): the call carries on, on the control thread.
        if (this.held.get(callId) !== held) {
          this.greForwardLost += forwarded.length + unansweredOver;
          return;
        }
        this.held.delete(callId);
        session.frameOut = undefined;
        session.greIn = undefined;
        link.handOffData(false);
        // The held packets, then the GRE forwarded meanwhile (which reached a worker without the call), come back
        // into this channel, whose receive state never moved: its reorder buffer puts them in sequence.
        for (const p of reordered) this.receiveGre(callId, p);
        for (const p of forwarded) this.receiveGre(callId, p);
        this.greForwardLost += unansweredOver;
        const kept = forwarded.length > 0 ? ` (${forwarded.length} GRE packet${forwarded.length === 1 ? "" : "s"} forwarded meanwhile delivered here${unansweredOver > 0 ? `, ${unansweredOver} over ${PENDING_GRE_MAX} lost` : ""})` : "";
        this.log("errors", `call ${callId}: data-plane worker: ${(e as Error).message}; the call's data stays on the control thread${kept}`);
      },
    );
    return true;
  }

  onWorker(callId: number): boolean {
    return this.pool.ownerOf(callId) !== undefined || this.held.get(callId)?.returning !== undefined;
  }

  /** IP for a handed-off call that reached the control thread's TUN queue (a route behind the client, or a race). */
  forwardIp(callId: number, d: Uint8Array, off: number, len: number): boolean {
    // A copy: a view would carry its whole batch buffer across the MessagePort.
    return this.pool.forwardIp(callId, d.slice(off, off + len));
  }

  /**
   * The call's link has taken a control frame from its worker. If that began a renegotiation (the link's data
   * state is gone: LCP or IPCP left Opened, or CCP restarts and MPPE with it), the call comes back here.
   */
  afterControl(callId: number): void {
    const h = this.held.get(callId);
    if (h === undefined || h.returning !== undefined || h.session.link.isFinished) return;
    if (h.session.link.dataPlaneState() !== undefined) return;
    this.renegotiations++;
    this.log("events", `call ${callId}: the peer renegotiates (its data-plane state is no longer valid): the call's data path comes back to the control thread`);
    const session = h.session;
    // Frames the link sends while the worker gives the call up wait, then follow in the control thread's sequence.
    const queued: Uint8Array[] = [];
    session.frameOut = (f) => void queued.push(f);
    // GRE this thread reads meanwhile waits too: this channel continues only once the worker's state is in it.
    const queuedGre: ForwardedGre[] = [];
    session.greIn = (_now, buf, gh) => void queuedGre.push(copyGre(buf, gh));
    h.returning = this.pool
      .takeBack(callId, {
        onState: (t) => {
          this.resume(callId, h, t);
          session.frameOut = undefined;
          const now = this.now();
          for (const f of queued) session.channel.send(now, f, 0, f.length);
          for (const p of queuedGre) this.receiveGre(callId, p);
        },
      })
      .then(
        () => {},
        (e: unknown) => this.log("errors", `call ${callId}: taking the data path back: ${(e as Error).message}`),
      )
      .finally(() => {
        this.held.delete(callId);
        if (!session.link.isFinished) this.returned.set(callId, { session, ends: h.ends, onActivity: h.onActivity });
        this.arm();
      });
  }

  /** The worker's state goes back into the call: counters, GRE sequence, MPPE (when the link still runs the same). */
  private resume(callId: number, h: Held, t: TakenBack): void {
    h.session.greIn = undefined;
    if (t.stats !== undefined) this.apply(h, t.stats);
    const link = h.session.link;
    if (t.state === undefined) {
      // The worker died meanwhile: nothing exact to continue from, so the call ends as in lost() (the link keeps
      // dataHandedOff: its stale MPPE sender never runs).
      h.session.channel.resumeData({ nextSendSeq: (h.lastSeq + LOST_SEQ_MARGIN) >>> 0, acked: (h.lastSeq + LOST_SEQ_MARGIN - 1) >>> 0 });
      this.lostCalls++;
      const why = "its data-plane worker ended while the call came back for a renegotiation";
      this.log("errors", `call ${callId}: ${why}: the call is closed`);
      this.closeCall(callId, why);
      return;
    }
    h.session.channel.resumeData(t.state.gre);
    link.resumeData(t.state.mppe !== undefined && h.epoch !== undefined ? { epoch: h.epoch, ...t.state.mppe } : undefined);
    this.log("negotiation", `call ${callId}: data path back on the control thread at GRE sequence ${t.state.gre.nextSendSeq}`);
  }

  /** The call ends: its path leaves the worker and the worker's last counters are added to the link's. */
  async takeBack(callId: number): Promise<void> {
    this.returned.delete(callId);
    const h = this.held.get(callId);
    if (h?.returning !== undefined) {
      // Already on its way back (a renegotiation): its counters come with that.
      await h.returning;
      this.returned.delete(callId);
      return;
    }
    this.held.delete(callId);
    if (h !== undefined) h.session.greIn = undefined;
    const t = await this.pool.takeBack(callId);
    if (h !== undefined && t?.stats !== undefined) this.apply(h, t.stats);
    this.arm();
  }

  /**
   * A worker died with these calls (pool.ts onWorkerLost). Their GRE and MPPE state went with it: the control
   * thread cannot continue them exactly, and a guessed MPPE coherency count would reuse keystream (RFC 3078 §7),
   * so each is closed, saying why. Counters up to the last poll (≤ POLL_MS old) are kept.
   */
  lost(owner: number, callIds: readonly number[], reason: string): void {
    for (const callId of callIds) {
      const h = this.held.get(callId);
      if (h === undefined || h.returning !== undefined) continue;
      this.held.delete(callId);
      this.lostCalls++;
      // The link keeps dataHandedOff: it must not send IP with its stale MPPE sender. Its LCP Terminate-Request
      // goes on the control thread's channel, past any number the worker may have used.
      h.session.frameOut = undefined;
      h.session.greIn = undefined;
      h.session.channel.resumeData({ nextSendSeq: (h.lastSeq + LOST_SEQ_MARGIN) >>> 0, acked: (h.lastSeq + LOST_SEQ_MARGIN - 1) >>> 0 });
      const why = `data-plane worker ${owner} ${reason}; the call's encryption and sequence state were on it`;
      this.log("errors", `call ${callId}: ${why}: the call is closed`);
      this.closeCall(callId, why);
    }
    this.arm();
  }

  /** The pool started a new worker in place of a dead one (pool.ts onWorkerRestarted). */
  restarted(owner: number, error?: string): void {
    if (error !== undefined) {
      this.log("errors", `data-plane worker ${owner}: could not be restarted: ${error}; new calls go to the other workers`);
      return;
    }
    this.workerRestarts++;
    this.log("events", `data-plane worker ${owner}: restarted; new calls may go to it`);
  }

  /** For `show stats`: workers, and calls on each at the last poll. */
  stats(): Record<string, number> {
    const out: Record<string, number> = {
      workers: this.pool.size,
      "calls-handed-off": this.held.size,
      renegotiations: this.renegotiations,
      "calls-lost-with-worker": this.lostCalls,
      "worker-restarts": this.workerRestarts,
      "gre-forward-lost": this.greForwardLost,
    };
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
    this.returned.clear();
    await this.pool.close();
  }

  private arm(): void {
    const busy = this.held.size > 0 || this.returned.size > 0;
    if (busy && this.timer === undefined) {
      this.timer = setInterval(() => void this.poll(), this.pollMs);
      this.timer.unref();
    } else if (!busy && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      // A call back for a CCP-only renegotiation raises no new network-up: it goes out again from here.
      for (const [callId, r] of [...this.returned]) {
        if (r.session.link.isFinished) this.returned.delete(callId);
        else if (r.session.link.dataPlaneState() !== undefined) this.handOff(callId, r.session, r.ends, r.onActivity);
      }
      if (this.held.size === 0) return;
      const all = await this.pool.stats();
      this.lastCalls = all.map((w) => w.calls.length);
      for (const w of all) for (const c of w.calls) {
        const h = this.held.get(c.callId);
        if (h !== undefined && h.returning === undefined) {
          h.lastSeq = c.greNextSendSeq;
          this.apply(h, c);
        }
      }
    } catch (e) {
      this.log("errors", `data-plane workers: statistics: ${(e as Error).message}`);
    } finally {
      this.polling = false;
      this.arm();
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

/** A packet taken out of a reorder buffer: its acknowledgment was applied when it arrived. */
function toForwarded(p: { readonly seq: number; readonly payload: Uint8Array }): ForwardedGre {
  return { hasSeq: true, seq: p.seq, hasAck: false, ack: 0, payload: p.payload };
}

/** A received GRE packet as the other thread takes it (payload copied: `buf` is a reused receive buffer). */
function copyGre(buf: Uint8Array, h: GreHeader): ForwardedGre {
  return { hasSeq: h.hasSeq, seq: h.seq, hasAck: h.hasAck, ack: h.ack, payload: buf.slice(h.payloadOffset, h.payloadOffset + h.payloadLength) };
}
