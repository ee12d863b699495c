/**
 * One PPTP call's data channel (RFC 2637 §4): enhanced GRE packets carrying PPP frames, with
 * sequence numbers, acknowledgments, the peer's receive window and in-order delivery.
 *
 * Sans-I/O and allocation-free per packet:
 *  - `send(now, payload, off, len)` writes header + payload into a transmit buffer shared by the process (core/scratch.ts)
 *    and hands it to the `transmit` callback; `sendInPlace` writes just the header into headroom the
 *    caller left in front of the payload (GRE_MAX_HEADER_LENGTH octets), so nothing is copied.
 *    Both return false when the packet was not sent because the peer's window is full (counted in
 *    `stats.windowFull`; see send-window.ts for why we drop rather than queue).
 *  - `handlePacket(now, buf, off, len)` takes one received GRE packet (header onwards) — or
 *    `handleParsedPacket` one whose header the demultiplexer already parsed — and delivers
 *    its payload, in order, through the `deliver` callback — a view of `buf` when it was in
 *    sequence, of the reorder buffer otherwise. Either view is only valid during the callback.
 *  - `pollTimeout()` / `handleTimeout(now)` drive the delayed acknowledgment, the reorder gap
 *    time-out and the acknowledgment time-out of the send window.
 *
 * GRE is unauthenticated, so no single packet may move our state far: a sequence number outside our
 * receive window moves the receiver only when several consecutive packets confirm it, and an
 * acknowledgment for a packet we never sent moves nothing (receive-sequencer.ts, send-window.ts;
 * counted in `droppedOutOfWindow` and `badAcks`).
 *
 * Acknowledgments: we acknowledge the highest sequence number delivered in order (a gap we gave
 * up on counts as delivered), never a packet still waiting behind a gap, so the peer's window
 * cannot push more than our receive window past what PPP has consumed. The acknowledgment rides on
 * the next data packet we send; if none is sent within `ackDelayMs`, or half our window is waiting
 * to be acknowledged, an acknowledgment-only packet (A set, S clear, no payload) goes out.
 *
 * Callbacks are called synchronously; they must not re-enter handlePacket().
 */
import { emitGreHeader, GreHeader, greHeaderLength, GRE_MAX_HEADER_LENGTH, parseGreHeader } from "../wire/gre.js";
import { ReceiveSequencer, type DeliverFn } from "./receive-sequencer.js";
import { SendWindow, type FlowControl } from "./send-window.js";
import { seqAdd, seqDiff } from "./serial.js";
import { SharedScratch } from "../core/scratch.js";

/**
 * Most packets held behind a gap (the reorder buffer and the receive sequencer's acceptance window). A packet
 * further ahead than this is outside, and moves nothing until others confirm it (receive-sequencer.ts).
 */
export const REORDER_WINDOW_MAX = 64;

/**
 * The Packet Recv. Window Size our server advertises (RFC 2637 §2.8; our client asks for 64, see
 * src/client/link-config.ts). A peer that keeps to windows (RFC 2637 §4.2; Windows, our own client's "auto") may
 * have this many packets unacknowledged, so it caps its rate
 * at window / round trip: 64 packets, pptpd's figure, allow 36 Mbit/s over a 20 ms path. 512 allow 287 Mbit/s, and
 * hold nothing more here (REORDER_WINDOW_MAX); the raw socket's 4 MiB receive buffer takes ~1,800 such packets.
 */
export const ADVERTISED_RECEIVE_WINDOW = 512;

/** Largest payload through send() by default. */
const DEFAULT_MAX_PAYLOAD = 4096;
/** send()'s transmit buffer, one per process (core/scratch.ts): the packet is handed to `transmit` synchronously. */
const TX_SCRATCH = new SharedScratch(GRE_MAX_HEADER_LENGTH + DEFAULT_MAX_PAYLOAD);

export type PacketSink = (buf: Uint8Array, off: number, len: number) => void;

export interface GreChannelOptions {
  /** Our Call ID: the peer puts it in the key of every packet it sends us. */
  readonly localCallId: number;
  /** The peer's Call ID: we put it in the key of every packet we send. */
  readonly peerCallId: number;
  /** The peer's Packet Recv. Window Size from OCRQ/OCRP/ICRP/ICCN (0: none advertised, no flow control). */
  readonly peerReceiveWindow: number;
  /** The peer's Packet Processing Delay in 1/10 s (seeds the ack time-out, RFC 2637 §4.4). */
  readonly peerProcessingDelay?: number;
  /**
   * The Packet Recv. Window Size we advertised. We hold at most REORDER_WINDOW_MAX of them for reordering: in-order
   * packets are consumed as they arrive, so a window larger than that only lets a peer that keeps to it run further
   * ahead of our acknowledgments (a long path), not make us buffer more. Default 64.
   */
  readonly receiveWindow?: number;
  /** Window policy for sending; see send-window.ts. Default "sliding". */
  readonly flowControl?: FlowControl;
  /** Longest wait before an acknowledgment is sent on its own. Default 100 ms. */
  readonly ackDelayMs?: number;
  /** Longest wait for a missing packet before skipping it. Default 100 ms. */
  readonly reorderTimeoutMs?: number;
  /** Bounds of the adaptive acknowledgment time-out. Defaults 500 / 5000 ms. */
  readonly minAckTimeoutMs?: number;
  readonly maxAckTimeoutMs?: number;
  /** Largest payload sent through send() or held for reordering. Default 4096 octets. */
  readonly maxPayload?: number;
  /** First sequence number we send (RFC 2637 §4.1: 0). */
  readonly initialSeq?: number;
  /** Receives every GRE packet to put on the wire (header onwards). */
  readonly transmit: PacketSink;
  /** Receives each PPP payload, in sequence. */
  readonly deliver: DeliverFn;
}

export interface GreChannelStats {
  /** Data packets sent. */
  tx: number;
  /** Acknowledgment-only packets sent. */
  txAckOnly: number;
  /** Payloads refused because the peer's window was full. */
  windowFull: number;
  /** Payloads delivered to PPP. */
  rx: number;
  /** Acknowledgment-only packets received. */
  rxAckOnly: number;
  /** Of rx, payloads that arrived out of order and waited in the reorder buffer. */
  reordered: number;
  /** Sequence numbers that never arrived in time (skipped). */
  lost: number;
  droppedDuplicate: number;
  droppedStale: number;
  /**
   * Packets outside the acceptance window (a window or more ahead of the next expected sequence number,
   * or far behind it) that were dropped because the packets after them did not confirm their position:
   * forged or stray packets (see receive-sequencer.ts).
   */
  droppedOutOfWindow: number;
  /**
   * Times several consecutive packets outside the window agreed and the receiver moved to them (ahead, or back
   * to numbers a lone packet had made it skip).
   */
  resyncs: number;
  /** Times one packet alone far past a gap waited out the long lone wait and the gap was skipped to it. */
  loneSkips: number;
  /** Packets refused by the GRE parser or carrying another call's ID. */
  rxInvalid: number;
  /** Acknowledgment time-outs on our sent packets. */
  ackTimeouts: number;
  /** Acknowledgments for sequence numbers we never sent. */
  badAcks: number;
  /** The last reason a packet was refused, in words ("" if none). */
  lastError: string;
}

/** GreChannel.dataState(): what moves with a call between threads (structured-clone safe). */
export interface GreChannelState {
  readonly nextSendSeq: number;
  readonly acked: number;
  readonly rxExpected?: number;
}

export class GreChannel {
  readonly localCallId: number;
  readonly peerCallId: number;
  readonly stats: GreChannelStats = {
    tx: 0,
    txAckOnly: 0,
    windowFull: 0,
    rx: 0,
    rxAckOnly: 0,
    reordered: 0,
    lost: 0,
    droppedDuplicate: 0,
    droppedStale: 0,
    droppedOutOfWindow: 0,
    resyncs: 0,
    loneSkips: 0,
    rxInvalid: 0,
    ackTimeouts: 0,
    badAcks: 0,
    lastError: "",
  };

  private readonly window: SendWindow;
  private readonly rx: ReceiveSequencer;
  private readonly header = new GreHeader();
  private readonly transmit: PacketSink;
  /** Own transmit buffer: only when maxPayload is larger than the shared one, or send() is re-entered. */
  private ownTxBuf: Uint8Array | undefined;
  private readonly ackBuf = new Uint8Array(GRE_MAX_HEADER_LENGTH);
  private readonly ackDelayMs: number;
  /** Unacknowledged deliveries that trigger an immediate acknowledgment. */
  private readonly ackThreshold: number;
  private readonly maxPayload: number;
  /** Highest sequence number acknowledged to the peer (before any: the one before the first received). */
  private lastAckSent = 0;
  private ackDeadline: number | undefined;

  constructor(o: GreChannelOptions) {
    this.localCallId = o.localCallId & 0xffff;
    this.peerCallId = o.peerCallId & 0xffff;
    this.transmit = o.transmit;
    this.ackDelayMs = o.ackDelayMs ?? 100;
    this.maxPayload = o.maxPayload ?? DEFAULT_MAX_PAYLOAD;
    const receiveWindow = Math.min(Math.max(1, o.receiveWindow ?? 64), REORDER_WINDOW_MAX);
    this.ackThreshold = Math.max(1, receiveWindow >>> 1);
    this.window = new SendWindow({
      peerWindow: o.peerReceiveWindow,
      peerProcessingDelay: o.peerProcessingDelay,
      mode: o.flowControl,
      minTimeoutMs: o.minAckTimeoutMs,
      maxTimeoutMs: o.maxAckTimeoutMs,
      initialSeq: o.initialSeq,
    });
    this.rx = new ReceiveSequencer({
      window: receiveWindow,
      slotSize: this.maxPayload,
      timeoutMs: o.reorderTimeoutMs ?? 100,
      deliver: o.deliver,
    });
  }

  /** The send window's mode in force ("auto" shows as "off" until the peer acknowledges alone, then "sliding"). */
  get flowControl(): FlowControl {
    return this.window.mode;
  }

  /** Current transmit window (packets), the peer's maximum, and packets awaiting acknowledgment. */
  get sendWindow(): number {
    return this.window.window;
  }
  get peerWindow(): number {
    return this.window.maxWindow;
  }
  get outstanding(): number {
    return this.window.outstanding;
  }
  /** Sequence number of the next data packet we send. */
  get nextSendSeq(): number {
    return this.window.nextSeq;
  }
  /** Current adaptive acknowledgment time-out in ms (RFC 2637 §4.4.1). */
  get ackTimeout(): number {
    return this.window.ato;
  }
  /** Packets held in the reorder buffer. */
  get reorderPending(): number {
    return this.rx.pending;
  }

  /** True when a data packet may be sent now (the peer's window has room). */
  canSend(): boolean {
    return this.window.canSend();
  }

  /** Sends payload[off, off+len) as one data packet, copying it after the header. */
  send(now: number, payload: Uint8Array, off = 0, len = payload.length - off): boolean {
    if (len > this.maxPayload || len < 0) {
      throw new RangeError(`GreChannel.send: payload of ${len} octets exceeds maxPayload ${this.maxPayload}`);
    }
    if (!this.window.canSend()) {
      this.stats.windowFull++;
      return false;
    }
    const ack = this.takeAck();
    const h = greHeaderLength(true, ack >= 0);
    const shared = this.maxPayload <= DEFAULT_MAX_PAYLOAD ? TX_SCRATCH.take() : undefined;
    const tx = shared ?? (this.ownTxBuf ??= new Uint8Array(GRE_MAX_HEADER_LENGTH + this.maxPayload));
    try {
      // A whole array (the link's control frames: an echo reply every interval) is copied without a view of it.
      if (off === 0 && len === payload.length) tx.set(payload, h);
      else tx.set(payload.subarray(off, off + len), h);
      this.writeHeader(now, tx, 0, len, ack);
      this.transmit(tx, 0, h + len);
    } finally {
      if (shared) TX_SCRATCH.release();
    }
    return true;
  }

  /**
   * Sends buf[payloadOff, payloadOff+len) without copying: the header is written into the
   * GRE_MAX_HEADER_LENGTH octets before payloadOff, which the caller must leave free.
   */
  sendInPlace(now: number, buf: Uint8Array, payloadOff: number, len: number): boolean {
    if (payloadOff < GRE_MAX_HEADER_LENGTH || payloadOff + len > buf.length || len > 0xffff || len < 0) {
      throw new RangeError(
        `GreChannel.sendInPlace: payload at ${payloadOff} (+${len}) needs ${GRE_MAX_HEADER_LENGTH} octets of headroom in a ${buf.length}-octet buffer`,
      );
    }
    if (!this.window.canSend()) {
      this.stats.windowFull++;
      return false;
    }
    const ack = this.takeAck();
    const start = payloadOff - greHeaderLength(true, ack >= 0);
    this.writeHeader(now, buf, start, len, ack);
    this.transmit(buf, start, payloadOff + len - start);
    return true;
  }

  /** Processes one received GRE packet buf[off, off+len) (header onwards). */
  handlePacket(now: number, buf: Uint8Array, off: number, len: number): void {
    const r = parseGreHeader(buf, off, len, this.header);
    if (!r.ok) {
      this.stats.rxInvalid++;
      this.stats.lastError = r.error.message;
      return;
    }
    this.handleParsedPacket(now, buf, this.header);
  }

  /**
   * Processes a packet whose header the caller already parsed (parseGreHeader into its own
   * GreHeader, typically to find the channel by `h.callId`), so the hot path parses once.
   */
  handleParsedPacket(now: number, buf: Uint8Array, h: GreHeader): void {
    if (h.callId !== this.localCallId) {
      this.stats.rxInvalid++;
      this.stats.lastError = `GRE packet for Call ID ${h.callId} reached the channel of Call ID ${this.localCallId}`;
      return;
    }
    if (h.hasAck) {
      if (!this.window.onAck(now, h.ack)) {
        this.stats.badAcks++;
        this.stats.lastError = `acknowledgment ${h.ack} is for a packet never sent (next sequence number ${this.window.nextSeq})`;
      }
      if (!h.hasSeq) {
        this.stats.rxAckOnly++;
        this.window.peerAcknowledgesAlone();
      }
    }
    if (!h.hasSeq) return;
    const rx = this.rx;
    if (!rx.started) this.lastAckSent = seqAdd(h.seq, -1);
    rx.receive(now, buf, h.payloadOffset, h.payloadLength, h.seq);
    this.syncRxStats();
    this.scheduleAck(now);
  }

  /** Earliest time handleTimeout must be called, or undefined. */
  pollTimeout(): number | undefined {
    let t = this.ackDeadline;
    const g = this.rx.deadline();
    if (g !== undefined && (t === undefined || g < t)) t = g;
    const w = this.window.deadline();
    if (w !== undefined && (t === undefined || w < t)) t = w;
    return t;
  }

  handleTimeout(now: number): void {
    if (this.rx.onTimeout(now)) {
      this.syncRxStats();
      this.scheduleAck(now);
    }
    if (this.window.onTimeout(now)) this.stats.ackTimeouts = this.window.timeouts;
    if (this.ackDeadline !== undefined && now >= this.ackDeadline) this.sendAckOnly();
  }

  /**
   * The sequence state another GreChannel of this call needs to continue it (a data-plane worker, src/io/workers):
   * the next number we send, the highest acknowledged, and the next number expected from the peer (undefined before
   * the first). Call flushAck() first, so the peer has our last acknowledgment.
   */
  dataState(): GreChannelState {
    return { nextSendSeq: this.window.nextSeq, acked: this.window.acked, ...(this.rx.started ? { rxExpected: this.rx.expected } : {}) };
  }

  /**
   * Continue from another channel's dataState(): sequence numbers go on from where it stopped (a peer drops a
   * number it has already seen, RFC 2637 §4.3), and receiving continues at its next expected number.
   */
  resumeData(s: GreChannelState): void {
    this.window.nextSeq = s.nextSendSeq >>> 0;
    this.window.acked = s.acked >>> 0;
    this.rx.restartAt(s.rxExpected);
    this.lastAckSent = this.rx.lastInOrder;
    this.ackDeadline = undefined;
  }

  /**
   * The packets waiting in the reorder buffer (behind a gap), taken out in sequence order, for the channel that
   * continues this call from dataState(): it receives them again after resumeData. See ReceiveSequencer.takeBuffered.
   */
  takeReordered(): Array<{ seq: number; payload: Uint8Array }> {
    return this.rx.takeBuffered();
  }

  /** Sends an acknowledgment-only packet now if anything is unacknowledged (e.g. before closing). */
  flushAck(): void {
    if (this.ackPending()) this.sendAckOnly();
  }

  private ackPending(): boolean {
    return this.rx.started && this.lastAckSent !== this.rx.lastInOrder;
  }

  /** The acknowledgment number to piggy-back, or -1 when nothing new needs acknowledging. */
  private takeAck(): number {
    if (!this.ackPending()) return -1;
    const a = this.rx.lastInOrder;
    this.lastAckSent = a;
    this.ackDeadline = undefined;
    return a;
  }

  private writeHeader(now: number, buf: Uint8Array, start: number, len: number, ack: number): void {
    const seq = this.window.onSent(now);
    emitGreHeader(buf, start, this.peerCallId, len, seq, ack >= 0 ? ack : undefined);
    this.stats.tx++;
  }

  private scheduleAck(now: number): void {
    if (!this.ackPending()) return;
    if (seqDiff(this.rx.lastInOrder, this.lastAckSent) >= this.ackThreshold) {
      this.sendAckOnly();
    } else if (this.ackDeadline === undefined) {
      this.ackDeadline = now + this.ackDelayMs;
    }
  }

  private sendAckOnly(): void {
    const a = this.takeAck();
    if (a < 0) {
      this.ackDeadline = undefined;
      return;
    }
    const n = emitGreHeader(this.ackBuf, 0, this.peerCallId, 0, undefined, a);
    this.stats.txAckOnly++;
    this.transmit(this.ackBuf, 0, n);
  }

  private syncRxStats(): void {
    const s = this.stats;
    const rx = this.rx;
    s.rx = rx.delivered;
    s.reordered = rx.reordered;
    s.lost = rx.lost;
    s.droppedDuplicate = rx.duplicates;
    s.droppedStale = rx.stale;
    s.droppedOutOfWindow = rx.outOfWindow;
    s.resyncs = rx.resyncs;
    s.loneSkips = rx.loneSkips;
  }
}
