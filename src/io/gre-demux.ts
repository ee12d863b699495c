/**
 * One raw GRE socket for the whole process, shared by the server and every dial-out peer.
 *
 * A raw IPPROTO_GRE socket receives every GRE packet the host gets, so two roles each opening their own would
 * each see (and count as "unknown call") the other's traffic, and their Call IDs could collide. Instead every
 * call registers here under the Call ID we chose for it (RFC 2637 §4.1: the GRE Key's low 16 bits carry the
 * receiver's Call ID), together with the address of its peer, and this demultiplexer parses each header once
 * and hands the packet to the call's endpoint. The Call ID alone is not proof: a packet for a known Call ID from
 * any other address is dropped and counted.
 *
 * On a multi-homed host one unbound socket serves calls on several local addresses. A call is tied to the local
 * address of its control connection (the address the peer dialled, or the one our TCP connection left from):
 * its GRE leaves from that address (peers such as pptp-linux and pptpd connect() their GRE socket to it and drop
 * anything else), and GRE for it arriving at another local address is dropped and counted.
 *
 * The receive path allocates nothing: one reusable GreHeader, one reusable list of endpoints touched by a batch
 * (each is flushed once per batch, so a burst of packets produces one TCP/timer service, not one per packet).
 */
import { randomBytes } from "node:crypto";
import { GreHeader, parseGreHeader } from "../wire/gre.js";
import { parseIpv4 } from "../wire/ipv4.js";
import { RawIpSocket } from "./raw-socket.js";
import { SendBatch } from "./send-batch.js";
import type { PacketRoom } from "../core/packet-room.js";
import type { GreBatch, GreTransport } from "./transport.js";

/** Whoever owns a call's GRE: a control connection with its calls (server or client role). */
export interface GreEndpoint {
  /** A packet for one of this endpoint's calls; `h` is valid only during the call. */
  receive(now: number, h: GreHeader, data: Uint8Array): void;
  /** After a batch in which `receive` was called: act on what the packets produced. */
  flush(): void;
}

export interface GreDemuxCounters {
  /** Parse failures: not enhanced GRE (RFC 2637 §4.1), bad version, truncated. */
  malformed: number;
  /** A Call ID no call of ours holds (a call that just ended, or scanning). */
  unknownCall: number;
  /** A known Call ID from an address that is not that call's peer. */
  wrongPeer: number;
  /** A known Call ID from the right peer, sent to a local address other than the call's. */
  wrongLocalAddress: number;
}

/** Which counter a dropped packet went to (the keys of GreDemuxCounters). */
export type GreDropKind = keyof GreDemuxCounters;

/**
 * Told of every dropped packet with its source address (uint32), so the owner can log them aggregated
 * (src/server/log-aggregator.ts): never a line per packet. Called on the receive path: it must not allocate.
 */
export type GreDropObserver = (kind: GreDropKind, sourceIp: number) => void;

interface Registration {
  readonly peerIp: number;
  /** The call's local address (0: not tied to one). */
  readonly localIp: number;
  readonly endpoint: GreEndpoint;
}

export const MAX_CALL_ID = 0xffff;

/** GRE packets queued for one sendmmsg at most (native/raw_socket.c sends 64 per system call). */
const TX_BATCH = 64;
/** Bytes of queued packets at most: 64 full-size PPTP packets (a 1500-byte frame, its GRE header, MPPE, PPP). */
const TX_ARENA_BYTES = TX_BATCH * 1600;

/**
 * The local IPv4 address (uint32) of a connected control connection: the one its calls' GRE leaves from and must
 * arrive at. 0 when it is not IPv4 (then the route chooses and any local address is accepted).
 */
export function controlLocalIp(socket: { readonly localAddress?: string | undefined }): number {
  const r = parseIpv4((socket.localAddress ?? "").replace(/^::ffff:/i, ""));
  return r.ok ? r.value : 0;
}

export class GreDemux {
  readonly counters: GreDemuxCounters = { malformed: 0, unknownCall: 0, wrongPeer: 0, wrongLocalAddress: 0 };
  /**
   * The last wrongPeer drop: which Call ID, from which address. A call that hears nothing from its peer but GRE
   * for it from another address has a multi-homed peer answering from the wrong one, not a firewall in the way.
   */
  readonly lastWrongPeer = { callId: -1, source: 0 };
  private readonly transport: GreTransport;
  private readonly now: () => number;
  private readonly calls = new Map<number, Registration>();
  /** Call IDs handed out but not yet registered (the call is being set up). */
  private readonly reserved = new Set<number>();
  private nextCallId = 1 + (randomBytes(2).readUInt16BE(0) % 0x7fff);
  private readonly header = new GreHeader();
  private readonly touched: GreEndpoint[] = [];
  private dropObserver: GreDropObserver | undefined;
  /**
   * Outgoing packets of this event-loop turn (issue 11 item 4): on the native socket each send() used to be one
   * system call, and on this VM a system call's entry and exit cost as much as a kernel's worth of GRE work. Packets
   * are copied here instead and leave in one sendmmsg when the JS that produced them returns (a microtask: after
   * the receive batch, TUN batch, timer or TCP read that sent them), or when the queue is full. In-memory transports
   * (tests) still send at once: they deliver to the peer's engine inside send, and tests count on that.
   */
  private readonly tx: TxQueue | undefined;
  /**
   * Room in the send queue for a GRE packet built in place (core/packet-room.ts): a call encrypts its frame
   * straight into it and send() then takes the packet without a copy. Undefined on in-memory transports.
   */
  readonly packetRoom: PacketRoom | undefined;

  constructor(transport: GreTransport, now: () => number) {
    this.transport = transport;
    this.now = now;
    this.tx = transport instanceof RawIpSocket ? new TxQueue(transport) : undefined;
    this.packetRoom = this.tx;
    transport.onBatch((b) => this.onBatch(b));
  }

  /** Receive-side socket failures. */
  onError(cb: (e: Error) => void): void {
    this.transport.onError(cb);
  }

  /**
   * A Call ID no call in this process uses, reserved until release(). Starting at a random point and moving
   * on makes a just-ended call's ID unlikely to be reused at once (late GRE for it is then "unknown", not
   * misdelivered). undefined when all 65535 are in use.
   */
  allocateCallId(): number | undefined {
    for (let i = 0; i < MAX_CALL_ID; i++) {
      const id = this.nextCallId;
      this.nextCallId = this.nextCallId >= MAX_CALL_ID ? 1 : this.nextCallId + 1;
      if (!this.calls.has(id) && !this.reserved.has(id)) {
        this.reserved.add(id);
        return id;
      }
    }
    return undefined;
  }

  /** Report drops (with their source) to `cb`, e.g. for an aggregated log line; the counters count them regardless. */
  onDrop(cb: GreDropObserver | undefined): void {
    this.dropObserver = cb;
  }

  /**
   * Deliver GRE for `callId` from `peerIp` (uint32) to `endpoint`. With `localIp` (the control connection's
   * local address, uint32), only GRE sent to that address is delivered; 0 accepts any local address.
   */
  register(callId: number, peerIp: number, endpoint: GreEndpoint, localIp = 0): void {
    this.reserved.delete(callId);
    this.calls.set(callId, { peerIp, localIp, endpoint });
  }

  /** The call is gone: its ID may be handed out again. */
  release(callId: number): void {
    this.reserved.delete(callId);
    this.calls.delete(callId);
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  /** One GRE packet to `dst`, leaving from local address `src` (the call's; 0 = the route's choice). */
  send(buf: Uint8Array, off: number, len: number, dst: number, src = 0): boolean {
    const tx = this.tx;
    if (tx !== undefined && len <= TX_ARENA_BYTES) return tx.queue(buf, off, len, dst, src);
    return this.transport.send(buf, off, len, dst, src);
  }

  /** Sends what send() queued now (it goes by itself when the current JS returns). */
  flushSends(): void {
    this.tx?.flush();
  }

  close(): void {
    this.tx?.flush();
    this.transport.close();
  }

  private onBatch(b: GreBatch): void {
    const now = this.now();
    const h = this.header;
    const touched = this.touched;
    touched.length = 0;
    for (let i = 0; i < b.count; i++) {
      if (!parseGreHeader(b.data, b.offsets[i], b.lengths[i], h).ok) {
        this.counters.malformed++;
        this.dropObserver?.("malformed", b.sources[i]);
        continue;
      }
      const r = this.calls.get(h.callId);
      if (r === undefined) {
        this.counters.unknownCall++;
        this.dropObserver?.("unknownCall", b.sources[i]);
        continue;
      }
      // RFC 2637 §4.1: the Call ID alone is not proof; GRE must come from the peer of that control connection.
      if (r.peerIp !== b.sources[i]) {
        this.counters.wrongPeer++;
        this.dropObserver?.("wrongPeer", b.sources[i]);
        this.lastWrongPeer.callId = h.callId;
        this.lastWrongPeer.source = b.sources[i];
        continue;
      }
      // The call belongs to the address its control connection uses; the same Call ID at another of our
      // addresses is not this call's traffic (and our replies to it would leave from the wrong address).
      if (r.localIp !== 0 && r.localIp !== b.destinations[i]) {
        this.counters.wrongLocalAddress++;
        this.dropObserver?.("wrongLocalAddress", b.sources[i]);
        continue;
      }
      r.endpoint.receive(now, h, b.data);
      if (touched.indexOf(r.endpoint) < 0) touched.push(r.endpoint);
    }
    for (let i = 0; i < touched.length; i++) touched[i].flush();
    touched.length = 0;
  }
}

/**
 * The send queue of GreDemux: packets copied into one arena with their destinations and sources, sent with one
 * sendBatch (sendmmsg). Made once; queueing allocates nothing (the flush is a bound method, scheduled at most once
 * per turn). A packet that the kernel refuses is counted by the native socket (stats: txErrors, txWouldBlock), as a
 * refused send() was; send() now answers "queued".
 * Exported for its tests only (test/io/packet-room-queues.test.ts).
 */
export class TxQueue extends SendBatch {
  private readonly dsts = new Uint32Array(TX_BATCH);
  private readonly srcs = new Uint32Array(TX_BATCH);

  constructor(private readonly sock: RawIpSocket) {
    super(TX_BATCH, TX_ARENA_BYTES);
  }

  queue(buf: Uint8Array, off: number, len: number, dst: number, src: number): boolean {
    const k = this.take(buf, off, len);
    if (k < 0) return this.sock.send(buf, off, len, dst, src);
    this.dsts[k] = dst;
    this.srcs[k] = src;
    return true;
  }

  protected write(n: number): void {
    if (!this.sock.isClosed) this.sock.sendBatch(this.arena.bytes, this.offsets, this.lengths, this.dsts, n, this.srcs);
  }
}
