/**
 * One PPTP call's data side: the GRE channel (RFC 2637 §4) carrying one PPP link (RFC 1661), sans-I/O.
 *
 *   handleGre(now, buf, off, len)   a GRE packet for this call (header onwards) → PPP → IP out through `ipOut`
 *   sendIp(now, buf, off, len)      an IP datagram for the peer → PPP (MPPE) → GRE out through `greOut`
 *   start(now) / close(now, reason) / lowerDown(now)
 *   pollTimeout() / handleTimeout(now) / pollEvent() — the link's events
 *
 * The per-packet path allocates nothing and, with MPPE, copies nothing: the cipher reads the datagram where it is
 * and writes it where it goes next — into the GRE send queue's room (greRoom) with the GRE header written in place
 * in headroom reserved in front, or into the TUN write queue's room (ipRoom; core/packet-room.ts). Without rooms
 * the frame is built in a shared buffer (or decrypted into the link's) and the sink behind copies it once.
 *
 * Peer MRU. A datagram longer than the peer's MRU allows (PppLink.maxIpOut: pppd with `mru 1200` and MPPE takes
 * 1196 octets) would be dropped by the peer's kernel without a word: a path-MTU black hole. So every datagram
 * sent passes through one check here, for both roles and whatever the host's routes and TUN MTU say:
 *  - DF clear: it is fragmented (RFC 791) and each fragment sent as its own frame;
 *  - DF set: it is dropped and an ICMP "fragmentation needed" carrying maxIpOut as the next-hop MTU (RFC 1191)
 *    goes back through `ipOut` — into the TUN device, where the kernel delivers it to a local sender or forwards
 *    it to a remote one, as a router on the path would. At most ICMP_BURST at once, ICMP_PER_S per second
 *    after that (RFC 1812 §4.3.2.8: a router rate-limits its ICMP errors).
 * This is the only mechanism, not a backstop to kernel routes: the server's TUN device is shared by every
 * session (one MTU for all), the networks behind LAN-to-LAN peers would each need their own route MTU, packets
 * held for an on-demand dial were sized before the MRU was known, and a route or MTU an operator changes must
 * not reopen the hole. The cost is on the rare oversized datagram only; the common path gains one comparison.
 */
import type { Millis } from "../core/clock.js";
import { GreChannel, type GreChannelOptions } from "../pptp/gre-channel.js";
import { GRE_MAX_HEADER_LENGTH, GreHeader, parseGreHeader } from "../wire/gre.js";
import { PppLink, type PppLinkConfig, type PppLinkEvent } from "../ppp/link.js";
import { Ipv4Fragmenter, icmpFragNeeded, ipv4DontFragment, ICMP_FRAG_NEEDED_MAX } from "../wire/ipv4-fragment.js";
import type { AuthResult, TerminateCause } from "../aaa/types.js";
import { CAPTURE_RECEIVED, CAPTURE_SENT, type CaptureTap } from "./capture-tap.js";
import { SharedScratch } from "../core/scratch.js";
import { FRAME_OVERHEAD, IP_ROOM_LEAD, type PacketRoom } from "../core/packet-room.js";

export type ByteSink = (buf: Uint8Array, off: number, len: number) => void;

export interface CallSessionOptions {
  readonly localCallId: number;
  readonly peerCallId: number;
  readonly peerReceiveWindow: number;
  readonly peerProcessingDelay?: number;
  readonly receiveWindow?: number;
  readonly link: PppLinkConfig;
  /** GRE packets for the peer (GRE header onwards; the I/O edge adds the IP header). */
  readonly greOut: ByteSink;
  /** IP datagrams received from the peer, decrypted. */
  readonly ipOut: ByteSink;
  /**
   * Room in the queue behind `greOut` (core/packet-room.ts): sendIp builds each GRE packet there, so greOut takes
   * it without a copy. Without it, frames are built in a shared buffer and copied by whatever is behind greOut.
   */
  readonly greRoom?: PacketRoom | undefined;
  /** Room in the queue behind `ipOut`: encrypted datagrams are decrypted straight into it (no plaintext copy). */
  readonly ipRoom?: PacketRoom | undefined;
  /** GRE channel tuning (reorder/ack delays, flow control). */
  readonly gre?: Partial<Pick<GreChannelOptions, "ackDelayMs" | "reorderTimeoutMs" | "flowControl" | "minAckTimeoutMs" | "maxAckTimeoutMs">>;
}

/** PPP frames never exceed this on PPTP (MRU ≤ 1500 + MPPE and PPP headers). */
const FRAME_ROOM = 4096;
/** ICMP "fragmentation needed" messages a call may send at once, and per second after that (token bucket). */
const ICMP_BURST = 10;
const ICMP_PER_S = 20;
/** sendIp's frame buffer, one per process (core/scratch.ts): the frame goes to greOut synchronously. */
const TX_SCRATCH = new SharedScratch(GRE_MAX_HEADER_LENGTH + FRAME_ROOM);

export class CallSession {
  readonly localCallId: number;
  readonly peerCallId: number;
  readonly link: PppLink;
  readonly channel: GreChannel;
  private readonly ipOut: ByteSink;
  private readonly greRoom: PacketRoom | undefined;
  private readonly ipRoom: PacketRoom | undefined;
  /**
   * GRE header headroom + PPP frame: sendIp builds the frame at GRE_MAX_HEADER_LENGTH, the header goes in front.
   * Normally TX_SCRATCH; this call's own only if sendIp is re-entered from greOut (in-memory transports).
   */
  private ownTxBuf: Uint8Array | undefined;
  /** `now` of the packet being delivered, for the synchronous deliver callback. */
  private deliverNow: Millis = 0;
  /** Oversized datagrams (see the file comment): made when the first one comes, reused after. */
  private fragmenter: Ipv4Fragmenter | undefined;
  private fragBuf: Uint8Array | undefined;
  private icmpTokens = ICMP_BURST;
  private icmpRefilledAt: Millis | undefined;

  /** What the peer-MRU check did (file comment): datagrams fragmented, fragments sent, datagrams refused, ICMP sent / held back. */
  readonly mruStats = { fragmented: 0, fragments: 0, refused: 0, icmpSent: 0, icmpSuppressed: 0 };
  /** `pptp-ts capture` of this call, while one runs: one test per packet when none does (capture-tap.ts). */
  capture: CaptureTap | undefined = undefined;
  /**
   * Set when a data-plane worker took this call's IP path (src/io/workers): the link's control frames go to it, in
   * the worker's GRE sequence, instead of this call's GreChannel (whose sequence numbers stop at the hand-off).
   */
  frameOut: ((frame: Uint8Array) => void) | undefined = undefined;
  /**
   * Set while a data-plane worker runs this call's data path: GRE the control thread still reads for it (queued
   * before the steering entry took effect) goes to the worker's channel, not this one (whose receive state moved).
   */
  greIn: ((now: Millis, buf: Uint8Array, h: GreHeader) => void) | undefined = undefined;
  /** A control frame came from the worker and the link's events await the owner's next handleTimeout. */
  private drainPending = false;

  constructor(o: CallSessionOptions) {
    this.localCallId = o.localCallId;
    this.peerCallId = o.peerCallId;
    this.ipOut = o.ipOut;
    this.greRoom = o.greRoom;
    this.ipRoom = o.ipRoom;
    this.link = new PppLink(o.link);
    this.channel = new GreChannel({
      localCallId: o.localCallId,
      peerCallId: o.peerCallId,
      peerReceiveWindow: o.peerReceiveWindow,
      ...(o.peerProcessingDelay !== undefined ? { peerProcessingDelay: o.peerProcessingDelay } : {}),
      ...(o.receiveWindow !== undefined ? { receiveWindow: o.receiveWindow } : {}),
      // Defaults chosen for real peers (see README "GRE flow control"): Windows, pptp-linux and the Linux kernel
      // driver process GRE at line rate and acknowledge the highest packet seen, so pacing by the advertised
      // window only turns random loss into self-inflicted drops (PPTP never retransmits). A short reorder wait
      // keeps a lost packet from stalling everything behind it for long.
      flowControl: "off",
      reorderTimeoutMs: 50,
      ...(o.gre ?? {}),
      transmit: o.greOut,
      deliver: (buf, off, len) => this.deliverFrame(buf, off, len),
    });
  }

  start(now: Millis): void {
    this.link.lowerUp(now);
    this.flush(now);
  }

  /** The PPTP call is gone (CDN/CCRQ, control connection closed): the link ends without a Terminate exchange. */
  lowerDown(now: Millis): void {
    this.link.lowerDown(now);
  }

  /** Hang up: LCP Terminate-Request to the peer; the owner clears the PPTP call when the link reports "down". */
  close(now: Millis, reason: string, code?: number, cause?: TerminateCause): void {
    this.link.close(now, reason, code, cause);
    this.flush(now);
  }

  completeVerification(now: Millis, result: AuthResult): void {
    this.link.completeVerification(now, result);
    this.flush(now);
  }

  handleGre(now: Millis, buf: Uint8Array, off: number, len: number): void {
    if (this.greIn !== undefined) {
      const h = new GreHeader();
      if (parseGreHeader(buf, off, len, h).ok) this.greIn(now, buf, h);
      return;
    }
    this.deliverNow = now;
    this.channel.handlePacket(now, buf, off, len);
    this.flush(now);
  }

  /** The same, for a packet whose header the demultiplexer already parsed (the hot path parses once). */
  handleParsedGre(now: Millis, buf: Uint8Array, h: GreHeader): void {
    if (this.greIn !== undefined) return this.greIn(now, buf, h);
    this.deliverNow = now;
    this.channel.handleParsedPacket(now, buf, h);
    this.flush(now);
  }

  /**
   * A PPP control frame (PPP header onwards) the call's data-plane worker received (LCP echo, Terminate, CCP).
   * pollTimeout() then says "due now", so the owner's next handleTimeout hands the link's events on.
   */
  receiveControlFrame(now: Millis, frame: Uint8Array): void {
    this.deliverNow = now;
    this.deliverFrame(frame, 0, frame.length);
    this.drainPending = true;
    this.flush(now);
  }

  /** Returns false when the datagram was not sent (network not up, encryption pending, or the peer's window full). */
  sendIp(now: Millis, buf: Uint8Array, off: number, len: number): boolean {
    if (len > this.link.maxIpOut && this.link.networkUp) return this.sendOversized(now, buf, off, len);
    const room = this.greRoom;
    if (room !== undefined) {
      // Built where the send queue will send it from: greOut then takes it without a copy (core/packet-room.ts).
      // A packet not sent (link not up, window full) leaves the room untaken.
      const at = room.room(GRE_MAX_HEADER_LENGTH + FRAME_OVERHEAD + len);
      if (at >= 0) {
        const n = this.link.sendIp(buf, off, len, room.bytes, at + GRE_MAX_HEADER_LENGTH);
        if (n <= 0) return false;
        const sent = this.channel.sendInPlace(now, room.bytes, at + GRE_MAX_HEADER_LENGTH, n);
        if (this.capture !== undefined && sent) this.capture.ip(now, CAPTURE_SENT, buf, off, len);
        return sent;
      }
    }
    const shared = TX_SCRATCH.take();
    const tx = shared ?? this.ownTx();
    let sent = false;
    try {
      const n = this.link.sendIp(buf, off, len, tx, GRE_MAX_HEADER_LENGTH);
      if (n <= 0) return false;
      sent = this.channel.sendInPlace(now, tx, GRE_MAX_HEADER_LENGTH, n);
    } finally {
      if (shared) TX_SCRATCH.release();
    }
    if (this.capture !== undefined && sent) this.capture.ip(now, CAPTURE_SENT, buf, off, len);
    return sent;
  }

  private ownTx(): Uint8Array {
    return (this.ownTxBuf ??= new Uint8Array(GRE_MAX_HEADER_LENGTH + FRAME_ROOM));
  }

  /** A datagram longer than the peer's MRU allows: fragments, or ICMP "fragmentation needed" back (file comment). */
  private sendOversized(now: Millis, buf: Uint8Array, off: number, len: number): boolean {
    const mtu = this.link.maxIpOut;
    this.fragmenter ??= new Ipv4Fragmenter();
    this.fragBuf ??= new Uint8Array(FRAME_ROOM);
    const f = this.fragBuf;
    const isV4 = len >= 20 && buf[off] >> 4 === 4;
    if (isV4 && !ipv4DontFragment(buf, off)) {
      if (this.fragmenter.start(buf, off, len, mtu) !== 0) {
        this.mruStats.refused++;
        return false;
      }
      // Rare (oversized datagrams only): this call's own frame buffer, so the loop need not hold the shared one.
      const tx = this.ownTx();
      for (let k = this.fragmenter.next(f, 0); k > 0; k = this.fragmenter.next(f, 0)) {
        const n = this.link.sendIp(f, 0, k, tx, GRE_MAX_HEADER_LENGTH);
        // A lost fragment loses the datagram (the receiver cannot reassemble it): stop there.
        if (n <= 0 || !this.channel.sendInPlace(now, tx, GRE_MAX_HEADER_LENGTH, n)) return false;
        if (this.capture !== undefined) this.capture.ip(now, CAPTURE_SENT, f, 0, k);
        this.mruStats.fragments++;
      }
      this.mruStats.fragmented++;
      return true;
    }
    this.mruStats.refused++;
    // Not IPv4 (nothing else runs over our links yet): dropped, there is nothing sound to answer.
    if (!isV4) return false;
    const n = icmpFragNeeded(buf, off, len, mtu, f, 0);
    if (n > 0 && n <= ICMP_FRAG_NEEDED_MAX && this.takeIcmpToken(now)) {
      this.mruStats.icmpSent++;
      this.ipOut(f, 0, n);
    }
    return false;
  }

  private takeIcmpToken(now: Millis): boolean {
    const last = this.icmpRefilledAt ?? now;
    const add = Math.floor(((now - last) * ICMP_PER_S) / 1000);
    if (add > 0 || this.icmpRefilledAt === undefined) {
      this.icmpTokens = Math.min(ICMP_BURST, this.icmpTokens + add);
      this.icmpRefilledAt = add > 0 ? last + (add * 1000) / ICMP_PER_S : now;
    }
    if (this.icmpTokens <= 0) {
      this.mruStats.icmpSuppressed++;
      return false;
    }
    this.icmpTokens--;
    return true;
  }

  handleTimeout(now: Millis): void {
    this.drainPending = false;
    const a = this.channel.pollTimeout();
    if (a !== undefined && a <= now) this.channel.handleTimeout(now);
    const b = this.link.pollTimeout();
    if (b !== undefined && b <= now) this.link.handleTimeout(now);
    this.flush(now);
  }

  pollTimeout(): Millis | undefined {
    if (this.drainPending) return 0;
    const a = this.channel.pollTimeout();
    const b = this.link.pollTimeout();
    if (a === undefined) return b;
    if (b === undefined) return a;
    return a < b ? a : b;
  }

  pollEvent(): PppLinkEvent | undefined {
    return this.link.pollEvent();
  }

  private deliverFrame(buf: Uint8Array, off: number, len: number): void {
    const room = this.ipRoom;
    // An encrypted datagram is decrypted straight into the TUN queue's room (core/packet-room.ts), and ipOut takes
    // it there; one that does not decrypt to an IP datagram (lost, duplicate, late, malformed) leaves it untaken.
    const at = room !== undefined ? room.room(IP_ROOM_LEAD + len) : -1;
    const n = at >= 0 ? this.link.receiveFrame(this.deliverNow, buf, off, len, room!.bytes, at + IP_ROOM_LEAD) : this.link.receiveFrame(this.deliverNow, buf, off, len);
    if (n > 0) {
      if (this.capture !== undefined) this.capture.ip(this.deliverNow, CAPTURE_RECEIVED, this.link.rxData, this.link.rxOffset, n);
      this.ipOut(this.link.rxData, this.link.rxOffset, n);
    } else if (this.capture !== undefined && this.capture.control) this.capture.frame(this.deliverNow, CAPTURE_RECEIVED, buf, off, len);
  }

  /** Control frames the link produced go out through the channel (they are rare: allocation is fine here). */
  private flush(now: Millis): void {
    for (let f = this.link.pollTransmit(); f; f = this.link.pollTransmit()) {
      if (this.frameOut !== undefined) this.frameOut(f);
      else this.channel.send(now, f, 0, f.length);
      if (this.capture !== undefined && this.capture.control) this.capture.frame(now, CAPTURE_SENT, f, 0, f.length);
    }
  }
}
