/**
 * One PPTP call's data side: the GRE channel (RFC 2637 §4) carrying one PPP link (RFC 1661), sans-I/O.
 *
 *   handleGre(now, buf, off, len)   a GRE packet for this call (header onwards) → PPP → IP out through `ipOut`
 *   sendIp(now, buf, off, len)      an IP datagram for the peer → PPP (MPPE) → GRE out through `greOut`
 *   start(now) / close(now, reason) / lowerDown(now)
 *   pollTimeout() / handleTimeout(now) / pollEvent() — the link's events
 *
 * The per-packet path copies the datagram once (into the GRE transmit buffer, or the MPPE plaintext staging
 * inside the link) and allocates nothing: GRE headers are written in place in headroom reserved in front.
 */
import type { Millis } from "../core/clock.js";
import { GreChannel, type GreChannelOptions } from "../pptp/gre-channel.js";
import { GRE_MAX_HEADER_LENGTH, type GreHeader } from "../wire/gre.js";
import { PppLink, type PppLinkConfig, type PppLinkEvent } from "../ppp/link.js";
import type { AuthResult } from "../aaa/types.js";

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
  /** GRE channel tuning (reorder/ack delays, flow control). */
  readonly gre?: Partial<Pick<GreChannelOptions, "ackDelayMs" | "reorderTimeoutMs" | "flowControl" | "minAckTimeoutMs" | "maxAckTimeoutMs">>;
}

/** PPP frames never exceed this on PPTP (MRU ≤ 1500 + MPPE and PPP headers). */
const FRAME_ROOM = 4096;

export class CallSession {
  readonly localCallId: number;
  readonly peerCallId: number;
  readonly link: PppLink;
  readonly channel: GreChannel;
  private readonly ipOut: ByteSink;
  /** GRE header headroom + PPP frame: sendIp builds the frame at GRE_MAX_HEADER_LENGTH, the header goes in front. */
  private readonly txBuf = new Uint8Array(GRE_MAX_HEADER_LENGTH + FRAME_ROOM);
  /** `now` of the packet being delivered, for the synchronous deliver callback. */
  private deliverNow: Millis = 0;

  constructor(o: CallSessionOptions) {
    this.localCallId = o.localCallId;
    this.peerCallId = o.peerCallId;
    this.ipOut = o.ipOut;
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
  close(now: Millis, reason: string, code?: number): void {
    this.link.close(now, reason, code);
    this.flush(now);
  }

  completeVerification(now: Millis, result: AuthResult): void {
    this.link.completeVerification(now, result);
    this.flush(now);
  }

  handleGre(now: Millis, buf: Uint8Array, off: number, len: number): void {
    this.deliverNow = now;
    this.channel.handlePacket(now, buf, off, len);
    this.flush(now);
  }

  /** The same, for a packet whose header the demultiplexer already parsed (the hot path parses once). */
  handleParsedGre(now: Millis, buf: Uint8Array, h: GreHeader): void {
    this.deliverNow = now;
    this.channel.handleParsedPacket(now, buf, h);
    this.flush(now);
  }

  /** Returns false when the datagram was not sent (network not up, encryption pending, or the peer's window full). */
  sendIp(now: Millis, buf: Uint8Array, off: number, len: number): boolean {
    const n = this.link.sendIp(buf, off, len, this.txBuf, GRE_MAX_HEADER_LENGTH);
    if (n <= 0) return false;
    return this.channel.sendInPlace(now, this.txBuf, GRE_MAX_HEADER_LENGTH, n);
  }

  handleTimeout(now: Millis): void {
    const due = (t: Millis | undefined): boolean => t !== undefined && t <= now;
    if (due(this.channel.pollTimeout())) this.channel.handleTimeout(now);
    if (due(this.link.pollTimeout())) this.link.handleTimeout(now);
    this.flush(now);
  }

  pollTimeout(): Millis | undefined {
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
    const n = this.link.receiveFrame(this.deliverNow, buf, off, len);
    if (n > 0) this.ipOut(this.link.rxData, this.link.rxOffset, n);
  }

  /** Control frames the link produced go out through the channel (they are rare: allocation is fine here). */
  private flush(now: Millis): void {
    for (let f = this.link.pollTransmit(); f; f = this.link.pollTransmit()) this.channel.send(now, f, 0, f.length);
  }
}
