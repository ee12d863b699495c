/**
 * One call's data path as a worker thread runs it, sans-I/O: the call's GreChannel (RFC 2637 §4: sequence numbers,
 * acknowledgments, reordering) and its MPPE sender/receiver (RFC 3078), between GRE and IP.
 *
 *   receive(now, buf, h)       a GRE packet for this call (header parsed by the worker's GreDemux)
 *                              → GreChannel → PPP: IP (MPPE-decrypted) → `ipOut`; anything else → `controlOut`
 *   sendIp(now, buf, off, len) an IP datagram from the TUN queue → MPPE → PPP → GreChannel → `greOut`
 *   sendFrame(now, frame)      a PPP control frame the control thread's PppLink produced (LCP echo, CCP, Terminate)
 *                              → the same GreChannel, so the call's GRE sequence numbers stay one counter
 *
 * The control thread keeps the call's PppLink (negotiation, echo, AAA); once IPCP is up it hands the data path here
 * with the MPPE start keys and the GRE channel's next sequence number (CallHandoff). The encapsulation mirrors
 * PppLink.sendIp/receiveFrame for the IP case only; every other clear frame goes back to the control thread
 * untouched.
 * Stateless MPPE only (RFC 3078 §7.1, the H bit: what Windows and our defaults negotiate): a stateful call needs
 * the CCP Reset-Request/Ack exchange tied to its receiver and stays on the control thread (see README.md).
 *
 * Nothing on the two IP paths allocates; control frames are rare and are copied.
 */
import { FRAME_OVERHEAD, IP_ROOM_LEAD, type PacketRoom } from "../../core/packet-room.js";
import { plausibleIpv4Plaintext } from "../../wire/ipv4.js";
import { GreChannel, type GreChannelState } from "../../pptp/gre-channel.js";
import { GRE_MAX_HEADER_LENGTH, GreHeader } from "../../wire/gre.js";
import { PppHeaderReader, emitPppHeader, type PppHeaderFlags } from "../../wire/ppp-frame.js";
import { PPP_COMP, PPP_IP } from "../../wire/ppp-protocols.js";
import { MppeReceiver, MppeSender, type MppeBits, type MppeState } from "../../crypto/mppe.js";
import { Ipv4Fragmenter, icmpFragNeeded, ipv4DontFragment, ICMP_FRAG_NEEDED_MAX } from "../../wire/ipv4-fragment.js";
import { forwardedHeader, type ForwardedGre } from "./protocol.js";

export type ByteSink = (buf: Uint8Array, off: number, len: number) => void;

/** What the control thread hands a worker for one call (structured-clone safe). */
export interface CallHandoff {
  /** Our Call ID (the GRE key of packets the peer sends). */
  readonly localCallId: number;
  readonly peerCallId: number;
  /** The control connection's remote and local IPv4 addresses (uint32); GRE goes between them. */
  readonly peerIp: number;
  readonly localIp: number;
  /** The client's tunnel address (uint32): IP for it comes out of this worker's TUN queue. */
  readonly clientIp: number;
  readonly peerReceiveWindow: number;
  /** The sequence number the control thread's GreChannel would send next (its nextSendSeq). */
  readonly initialSeq: number;
  /**
   * The control thread's channel state (GreChannel.dataState): sending and receiving go on exactly where it
   * stopped. Without it, sending starts at initialSeq and receiving at the first packet that comes.
   */
  readonly gre?: GreChannelState;
  /** The PPP header compression LCP agreed for our frames (ACFC, PFC). */
  readonly sendFlags: PppHeaderFlags;
  /** Undefined: no MPPE (IP in clear). */
  readonly mppe?: {
    readonly sendKey: Uint8Array;
    readonly recvKey: Uint8Array;
    readonly bits: MppeBits;
    readonly stateless: true;
    /** Where the link's sender and receiver had got to (MppeSender.saveState); absent: at their start. */
    readonly send?: MppeState;
    readonly recv?: MppeState;
  };
  /** Largest IP datagram the peer takes (PppLink.maxIpOut). */
  readonly maxIpOut: number;
  /**
   * GRE packets from the peer that waited in the control thread's reorder buffer behind a gap at the hand-off
   * (sequence order, not yet decrypted: `mppe.recv` is from before them; `gre.rxExpected` is the gap). The worker
   * receives them first (receiveForwarded), so they come out once the gap fills, as DataCallState.held on the way back.
   */
  readonly held?: readonly ForwardedGre[];
}

/** DataCall.handBack(): the call's GRE and MPPE state, for the control thread to continue (structured-clone safe). */
export interface DataCallState {
  readonly gre: GreChannelState;
  readonly mppe?: { readonly send: MppeState; readonly recv: MppeState };
  /**
   * GRE packets from the peer that waited in the reorder buffer behind a gap (sequence order, payload = PPP frame,
   * not yet decrypted: `mppe.recv` is from before them). The control thread receives them after resuming, so a
   * renegotiation loses none (pool.ts passes them to onGre ahead of the packets the worker still forwards).
   */
  readonly held?: readonly ForwardedGre[];
}

export interface DataCallStats {
  ipIn: number;
  bytesIn: number;
  ipOut: number;
  bytesOut: number;
  /** Frames handed to the control thread (not IP). */
  controlIn: number;
  /** Control frames the control thread sent through this call. */
  controlOut: number;
  /** Encrypted frames that did not decrypt, malformed frames, clear IP on an encrypted link. */
  droppedMppe: number;
  droppedMalformed: number;
  droppedClear: number;
  /** Datagrams not sent: over maxIpOut with DF set (ICMP "fragmentation needed" went back), or the peer's window full. */
  droppedTooBig: number;
  /** Datagrams over maxIpOut without DF, sent as fragments (RFC 791), as session/call.ts does. */
  fragmented: number;
  droppedWindow: number;
}

/** PPP frames never exceed this on PPTP (MRU ≤ 1500 plus MPPE and PPP headers), as in session/call.ts. */
const FRAME_ROOM = 4096;
/** ICMP "fragmentation needed" a call sends per second at most (session/call.ts: 20/s after a burst of 10). */
const ICMP_PER_S = 20;

export class DataCall {
  readonly localCallId: number;
  readonly peerCallId: number;
  readonly clientIp: number;
  readonly peerIp: number;
  readonly localIp: number;
  readonly channel: GreChannel;
  readonly stats: DataCallStats = {
    ipIn: 0,
    bytesIn: 0,
    ipOut: 0,
    bytesOut: 0,
    controlIn: 0,
    controlOut: 0,
    droppedMppe: 0,
    droppedMalformed: 0,
    droppedClear: 0,
    droppedTooBig: 0,
    fragmented: 0,
    droppedWindow: 0,
  };
  private readonly sender: MppeSender | undefined;
  private readonly receiver: MppeReceiver | undefined;
  private readonly sendFlags: PppHeaderFlags;
  private readonly maxIpOut: number;
  private readonly reader = new PppHeaderReader();
  private readonly innerReader = new PppHeaderReader();
  /** GRE headroom + frame; the frame is built at GRE_MAX_HEADER_LENGTH and sent in place. */
  private readonly tx = new Uint8Array(GRE_MAX_HEADER_LENGTH + FRAME_ROOM);
  /** Decrypted protocol field + datagram. */
  private readonly plain = new Uint8Array(FRAME_ROOM);
  private fragmenter: Ipv4Fragmenter | undefined;
  /** The last source array of a clear datagram and a Buffer view of it (sendOne). */
  private copySrc: Uint8Array | undefined;
  private copyView: Buffer | undefined;
  private fragBuf: Uint8Array | undefined;
  private icmpSecond = -1;
  private icmpSent = 0;

  constructor(
    h: CallHandoff,
    private readonly greOut: ByteSink,
    private readonly ipOut: ByteSink,
    private readonly controlOut: (frame: Uint8Array) => void,
    /** Room in the queues behind greOut / ipOut for packets built in place (core/packet-room.ts; session/call.ts). */
    private readonly greRoom?: PacketRoom,
    private readonly ipRoom?: PacketRoom,
  ) {
    this.localCallId = h.localCallId;
    this.peerCallId = h.peerCallId;
    this.clientIp = h.clientIp >>> 0;
    this.peerIp = h.peerIp;
    this.localIp = h.localIp;
    this.sendFlags = { acfc: h.sendFlags.acfc, pfc: h.sendFlags.pfc };
    this.maxIpOut = h.maxIpOut;
    if (h.mppe !== undefined) {
      if (h.mppe.stateless !== true) throw new RangeError(`call ${h.localCallId}: only stateless MPPE runs on a worker`);
      this.sender = new MppeSender({ masterKey: h.mppe.sendKey, bits: h.mppe.bits, stateless: true });
      this.receiver = new MppeReceiver({ masterKey: h.mppe.recvKey, bits: h.mppe.bits, stateless: true, validate: plausibleIpv4Plaintext });
      if (h.mppe.send !== undefined) this.sender.restoreState(h.mppe.send);
      if (h.mppe.recv !== undefined) this.receiver.restoreState(h.mppe.recv);
    }
    this.channel = new GreChannel({
      localCallId: h.localCallId,
      peerCallId: h.peerCallId,
      peerReceiveWindow: h.peerReceiveWindow,
      initialSeq: h.initialSeq,
      // The control thread's CallSession defaults (session/call.ts): no pacing by the window, short reorder wait.
      flowControl: "off",
      reorderTimeoutMs: 50,
      transmit: greOut,
      deliver: (buf, off, len) => this.deliverFrame(buf, off, len),
    });
    if (h.gre !== undefined) this.channel.resumeData(h.gre);
  }

  /**
   * Everything the control thread needs to carry the call on exactly (take-back): the GRE sequence state (after
   * acknowledging what came in) and where MPPE has got to. The call must not be used after this.
   */
  handBack(): DataCallState {
    this.channel.flushAck();
    const held = this.channel.takeReordered().map((p): ForwardedGre => ({ hasSeq: true, seq: p.seq, hasAck: false, ack: 0, payload: p.payload }));
    return {
      gre: this.channel.dataState(),
      ...(held.length > 0 ? { held } : {}),
      ...(this.sender !== undefined && this.receiver !== undefined ? { mppe: { send: this.sender.saveState(), recv: this.receiver.saveState() } } : {}),
    };
  }

  receive(now: number, buf: Uint8Array, h: GreHeader): void {
    this.channel.handleParsedPacket(now, buf, h);
  }

  /**
   * A packet of this call the control thread received (CallHandoff.held, or GRE it still read before the steering
   * entry took effect): into the same channel, so its sequence number and acknowledgment count as if it came here.
   * Rare (around a hand-off only): the header is made once per call, on first use.
   */
  receiveForwarded(now: number, p: ForwardedGre): void {
    this.channel.handleParsedPacket(now, p.payload, forwardedHeader(p, this.localCallId, (this.fwdHeader ??= new GreHeader())));
  }
  private fwdHeader: GreHeader | undefined;

  /** Returns false when the datagram was not sent (counted). */
  sendIp(now: number, buf: Uint8Array, off: number, len: number): boolean {
    if (len > this.maxIpOut) return this.sendOversized(now, buf, off, len);
    return this.sendOne(now, buf, off, len);
  }

  /**
   * Longer than the peer's MRU allows (session/call.ts explains why this is the only guard): DF clear — fragments
   * (RFC 791); DF set — dropped, and ICMP "fragmentation needed" with maxIpOut as the next-hop MTU (RFC 1191) goes
   * into the TUN queue, at most ICMP_PER_S a second (RFC 1812 §4.3.2.8). Rare: buffers are made on first use.
   */
  private sendOversized(now: number, buf: Uint8Array, off: number, len: number): boolean {
    this.fragmenter ??= new Ipv4Fragmenter();
    const f = (this.fragBuf ??= new Uint8Array(FRAME_ROOM));
    const isV4 = len >= 20 && buf[off] >> 4 === 4;
    if (isV4 && !ipv4DontFragment(buf, off)) {
      if (this.fragmenter.start(buf, off, len, this.maxIpOut) !== 0) {
        this.stats.droppedTooBig++;
        return false;
      }
      for (let k = this.fragmenter.next(f, 0); k > 0; k = this.fragmenter.next(f, 0)) if (!this.sendOne(now, f, 0, k)) return false;
      this.stats.fragmented++;
      return true;
    }
    this.stats.droppedTooBig++;
    if (!isV4) return false;
    const second = Math.floor(now / 1000);
    if (second !== this.icmpSecond) {
      this.icmpSecond = second;
      this.icmpSent = 0;
    }
    if (this.icmpSent >= ICMP_PER_S) return false;
    const n = icmpFragNeeded(buf, off, len, this.maxIpOut, f, 0);
    if (n > 0 && n <= ICMP_FRAG_NEEDED_MAX) {
      this.icmpSent++;
      this.ipOut(f, 0, n);
    }
    return false;
  }

  private sendOne(now: number, buf: Uint8Array, off: number, len: number): boolean {
    if (len + 8 > FRAME_ROOM) {
      this.stats.droppedTooBig++;
      return false;
    }
    // Built where the GRE send queue sends it from, when it has room: greOut then takes it without a copy.
    const room = this.greRoom;
    const at = room !== undefined ? room.room(GRE_MAX_HEADER_LENGTH + FRAME_OVERHEAD + len) : -1;
    const tx = at >= 0 ? room!.bytes : this.tx;
    const start = at >= 0 ? at + GRE_MAX_HEADER_LENGTH : GRE_MAX_HEADER_LENGTH;
    let n: number;
    if (this.sender !== undefined) {
      n = emitPppHeader(tx, start, PPP_COMP, this.sendFlags);
      // The encrypted part starts with the (uncompressed) protocol field (RFC 3078 §1/§3), then the datagram,
      // enciphered straight from the TUN batch as PppLink.sendIp does (no staging copy, no subarray per packet).
      n += this.sender.encryptProtocol(PPP_IP, buf, off, len, tx, start + n);
    } else {
      n = emitPppHeader(tx, start, PPP_IP, this.sendFlags);
      // Buffer.copy takes offsets, where Uint8Array.set needs a subarray per packet; the view over the TUN batch
      // buffer is made once per buffer (the batch reuses one), not per packet.
      if (buf !== this.copySrc) {
        this.copySrc = buf;
        this.copyView = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
      }
      this.copyView!.copy(tx, start + n, off, off + len);
      n += len;
    }
    if (!this.channel.sendInPlace(now, tx, start, n)) {
      this.stats.droppedWindow++;
      return false;
    }
    this.stats.ipOut++;
    this.stats.bytesOut += len;
    return true;
  }

  /** A control frame (PPP header onwards) from the control thread. */
  sendFrame(now: number, frame: Uint8Array): void {
    if (frame.length > FRAME_ROOM) return;
    this.stats.controlOut++;
    this.channel.send(now, frame, 0, frame.length);
  }

  pollTimeout(): number | undefined {
    return this.channel.pollTimeout();
  }

  handleTimeout(now: number): void {
    this.channel.handleTimeout(now);
  }

  private deliverFrame(buf: Uint8Array, off: number, len: number): void {
    const r = this.reader;
    if (!r.read(buf, off, len)) {
      this.stats.droppedMalformed++;
      return;
    }
    const protocol = r.protocol;
    const pOff = off + r.headerLen;
    const pLen = len - r.headerLen;
    if (protocol === PPP_COMP && this.receiver !== undefined) {
      // Decrypted straight into the TUN queue's room when it has one (ipOut then takes it there, no copy); a packet
      // that does not decrypt to IP (lost, duplicate, late, malformed) leaves the room untaken.
      const room = this.ipRoom;
      const at = room !== undefined ? room.room(IP_ROOM_LEAD + pLen) : -1;
      const dst = at >= 0 ? room!.bytes : this.plain;
      const dOff = at >= 0 ? at + IP_ROOM_LEAD : 0;
      const n = this.receiver.decrypt(buf, pOff, pLen, dst, dOff);
      const ir = this.innerReader;
      // plausibleIpv4Plaintext accepted it, so it is IP: anything else inside MPPE is dropped here as PppLink's receiver
      // drops it (only IP runs over our links).
      if (n < 0 || !ir.read(dst, dOff, n) || ir.protocol !== PPP_IP) {
        this.stats.droppedMppe++;
        return;
      }
      this.stats.ipIn++;
      this.stats.bytesIn += n - ir.headerLen;
      this.ipOut(dst, dOff + ir.headerLen, n - ir.headerLen);
      return;
    }
    if (protocol === PPP_IP) {
      // RFC 3078 §9: once MPPE is agreed, clear IP is refused (an attacker could otherwise strip encryption).
      if (this.receiver !== undefined) {
        this.stats.droppedClear++;
        return;
      }
      this.stats.ipIn++;
      this.stats.bytesIn += pLen;
      this.ipOut(buf, pOff, pLen);
      return;
    }
    this.stats.controlIn++;
    this.controlOut(buf.slice(off, off + len));
  }
}

