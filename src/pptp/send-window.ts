/**
 * Transmit side of the GRE data channel: sequence numbers, the peer's receive window and the
 * acknowledgment time-out (RFC 2637 §4.2, §4.4). Sans-I/O: time is passed in.
 *
 * PPTP never retransmits; the window only paces us so the peer's receive buffer (its "Packet Recv.
 * Window Size" from OCRQ/OCRP/ICRP/ICCN) does not overflow. Modes:
 *
 *  - "sliding" (default, RFC 2637 §4.2): start at half the peer's window (at least 1); open by one
 *    packet each time a full window is acknowledged without a time-out, up to the peer's window;
 *    on a time-out halve it (rounding up, at least 1).
 *  - "fixed": always allow the peer's full window.
 *  - "off": never hold back (for peers that do not send acknowledgments at all).
 *  - "auto": "off" until the peer sends an acknowledgment-only packet (A set, S clear), then "sliding". A peer that
 *    acknowledges on its own when it has nothing to send (pptpd, pptp-linux, Windows, ours) can pace us; the Linux
 *    kernel driver (accel-ppp, pppd's pptp plugin) only piggy-backs acknowledgments on its own data, so a one-way
 *    flow to it would stall on every ack time-out if we waited for them.
 *
 * A time-out is when the oldest unacknowledged packet has waited longer than the adaptive time-out
 * (ATO, RFC 2637 §4.4.1: RTT/deviation estimator seeded with the peer's Packet Processing Delay,
 * clamped to [minTimeoutMs, maxTimeoutMs]; backed off with RTT *= 2 on a time-out, §4.4.2). Since
 * nothing is retransmitted, every outstanding packet is then written off as lost so sending can
 * resume; late acknowledgments for them are ignored.
 *
 * When the window is full the packet is refused: the caller drops it and counts it (the GRE
 * channel does); PPP above copes with loss, not with unbounded queues.
 */
import { seqAdd, seqDiff } from "./serial.js";

export type FlowControl = "sliding" | "fixed" | "off" | "auto";

export interface SendWindowOptions {
  /** The peer's Packet Recv. Window Size. 0 (nothing advertised) disables flow control. */
  readonly peerWindow: number;
  /** The peer's Packet Processing Delay in 1/10 s; seeds the RTT estimate (RFC 2637 §4.4). */
  readonly peerProcessingDelay?: number;
  readonly mode?: FlowControl;
  /** Lower bound of the adaptive ack time-out. Default 500 ms. */
  readonly minTimeoutMs?: number;
  /** Upper bound of the adaptive ack time-out (RFC 2637 §4.4 "MaxTimeOut"). Default 5000 ms. */
  readonly maxTimeoutMs?: number;
  /** First sequence number; RFC 2637 §4.1 says 0. Other values exist for tests of wrap-around. */
  readonly initialSeq?: number;
}

/** Send times are kept for at most this many outstanding packets, which also caps the window. */
const MAX_TRACKED = 4096;

// RFC 2637 §4.4.1 gains.
const ALPHA = 1 / 8;
const BETA = 1 / 4;
const CHI = 4;
const DELTA = 2;

export class SendWindow {
  /** Sequence number the next data packet gets. */
  nextSeq: number;
  /** Highest sequence number acknowledged (or written off); nextSeq - 1 when nothing is outstanding. */
  acked: number;
  /** Current transmit window in packets (Infinity when flow control is off). */
  window: number;
  /** The largest window allowed: the peer's advertised one (capped at MAX_TRACKED). */
  readonly maxWindow: number;
  /** The mode in force: "auto" becomes "off" at the start and "sliding" once the peer acknowledges on its own. */
  mode: Exclude<FlowControl, "auto">;
  /** Smoothed round-trip time, deviation and the resulting ack time-out, in ms (RFC 2637 §4.4.1). */
  rtt: number;
  dev = 0;
  ato: number;
  /** Acknowledgment time-outs seen. */
  timeouts = 0;
  /** Acknowledgments for packets never sent (ignored). */
  badAcks = 0;

  private readonly minTimeout: number;
  private readonly maxTimeout: number;
  private readonly sendTimes: Float64Array;
  private readonly mask: number;
  /** Packets acknowledged since the window last opened (RFC 2637 §4.2.3). */
  private ackedSinceOpen = 0;
  /** "auto" still waiting for the peer's first acknowledgment-only packet. */
  private engageLater: boolean;

  constructor(o: SendWindowOptions) {
    this.nextSeq = (o.initialSeq ?? 0) >>> 0;
    this.acked = seqAdd(this.nextSeq, -1);
    const peer = Math.max(0, Math.floor(o.peerWindow));
    const mode = peer === 0 ? "off" : (o.mode ?? "sliding");
    this.mode = mode === "auto" ? "off" : mode;
    this.engageLater = mode === "auto";
    this.minTimeout = o.minTimeoutMs ?? 500;
    this.maxTimeout = Math.max(this.minTimeout, o.maxTimeoutMs ?? 5000);
    this.rtt = Math.max(0, o.peerProcessingDelay ?? 0) * 100;
    this.ato = this.clampAto(this.rtt);
    if (mode === "off") {
      this.maxWindow = Infinity;
      this.window = Infinity;
      this.sendTimes = NO_TIMES; // flow control off (the default) times nothing: no per-call array
      this.mask = 0;
    } else {
      this.maxWindow = Math.min(peer, MAX_TRACKED);
      // RFC 2637 §4.2.1: start conservatively at half the receiver's window, at least one packet.
      // "auto" sends freely (Infinity) until peerAcknowledgesAlone().
      this.window = this.engageLater ? Infinity : mode === "fixed" ? this.maxWindow : Math.max(1, this.maxWindow >>> 1);
      let size = 1;
      while (size < this.maxWindow) size <<= 1;
      this.sendTimes = new Float64Array(size);
      this.mask = size - 1;
    }
  }

  /**
   * "auto": the peer sent an acknowledgment-only packet, so it acknowledges without data of its own: from now on
   * the sliding window applies. Packets sent before are counted as outstanding; if they are not acknowledged in
   * time they are written off like any others.
   */
  peerAcknowledgesAlone(): void {
    if (!this.engageLater) return;
    this.engageLater = false;
    this.mode = "sliding";
    this.window = Math.max(1, this.maxWindow >>> 1);
  }

  /** Data packets sent and neither acknowledged nor written off. */
  get outstanding(): number {
    return seqDiff(seqAdd(this.nextSeq, -1), this.acked);
  }

  canSend(): boolean {
    return this.outstanding < this.window;
  }

  /** Assigns the next sequence number to a packet being sent now and returns it. */
  onSent(now: number): number {
    const seq = this.nextSeq;
    if (this.sendTimes.length !== 0) this.sendTimes[seq & this.mask] = now;
    this.nextSeq = seqAdd(seq, 1);
    return seq;
  }

  /**
   * Processes an Acknowledgment Number. All outstanding packets up to it are acknowledged
   * (RFC 2637 §4.2.5); the RTT sample is taken from the highest one. Returns false for an
   * acknowledgment of a packet never sent.
   */
  onAck(now: number, ack: number): boolean {
    const newly = seqDiff(ack, this.acked);
    if (newly <= 0) return true; // old or repeated: nothing new
    if (seqDiff(ack, seqAdd(this.nextSeq, -1)) > 0) {
      this.badAcks++;
      return false;
    }
    this.acked = ack;
    if (this.mode === "off") return true;
    this.sample(now - this.sendTimes[ack & this.mask]);
    if (this.mode === "sliding") {
      this.ackedSinceOpen += newly;
      if (this.ackedSinceOpen >= this.window) {
        this.ackedSinceOpen = 0;
        if (this.window < this.maxWindow) this.window++;
      }
    }
    return true;
  }

  /** When the oldest outstanding packet times out, or undefined. */
  deadline(): number | undefined {
    if (this.mode === "off" || this.outstanding === 0) return undefined;
    return this.sendTimes[seqAdd(this.acked, 1) & this.mask] + this.ato;
  }

  /** Applies an acknowledgment time-out if one is due; returns true when it fired. */
  onTimeout(now: number): boolean {
    const d = this.deadline();
    if (d === undefined || now < d) return false;
    this.timeouts++;
    // RFC 2637 §4.2.2: close the window to half, rounded up, at least one.
    if (this.mode === "sliding") this.window = Math.max(1, Math.ceil(this.window / 2));
    this.ackedSinceOpen = 0;
    // RFC 2637 §4.4.2: back the time-out off (the estimate is kept within MaxTimeOut so it can recover).
    this.rtt = Math.min(this.rtt * DELTA, this.maxTimeout);
    this.ato = this.clampAto(this.rtt + CHI * this.dev);
    // No retransmission in PPTP: write the outstanding packets off so sending can resume.
    this.acked = seqAdd(this.nextSeq, -1);
    return true;
  }

  private sample(sample: number): void {
    const diff = sample - this.rtt;
    this.dev += BETA * (Math.abs(diff) - this.dev);
    this.rtt += ALPHA * diff;
    this.ato = this.clampAto(this.rtt + CHI * this.dev);
  }

  private clampAto(v: number): number {
    return Math.max(this.minTimeout, Math.min(v, this.maxTimeout));
  }
}

/** The send times of every window with flow control off: empty, never written (see `sent`). */
const NO_TIMES = new Float64Array(0);
