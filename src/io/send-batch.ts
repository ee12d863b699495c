/**
 * What both send queues share (GreDemux's TxQueue: one sendmmsg; TunTxQueue: one writev/GSO write): the packets of
 * one event-loop turn in one arena with their offsets and lengths, either written in place through room()
 * (core/packet-room.ts) and then taken where they are, or copied in; sent together by one system call when the JS
 * that produced them returns (end-of-turn.ts) or when the batch is full. Made once per queue; queueing allocates
 * nothing. Subclasses keep their own per-packet fields (a destination, a source) and make the call that sends.
 */
import { PacketArena } from "./packet-arena.js";
import { flushAtEndOfTurn } from "./end-of-turn.js";
import type { PacketRoom } from "../core/packet-room.js";

export abstract class SendBatch implements PacketRoom {
  protected readonly arena: PacketArena;
  readonly bytes: Uint8Array;
  protected readonly offsets: Uint32Array;
  protected readonly lengths: Uint32Array;
  private count = 0;
  private scheduled = false;
  private readonly flushTask = (): void => {
    this.scheduled = false;
    this.flush();
  };

  constructor(
    private readonly maxPackets: number,
    arenaBytes: number,
  ) {
    this.arena = new PacketArena(arenaBytes);
    this.bytes = this.arena.bytes;
    this.offsets = new Uint32Array(maxPackets);
    this.lengths = new Uint32Array(maxPackets);
  }

  room(len: number): number {
    if (this.count === this.maxPackets || !this.arena.fits(len)) this.flush();
    return this.arena.fits(len) ? this.arena.used : -1;
  }

  flush(): void {
    const n = this.count;
    if (n === 0) return;
    this.count = 0;
    this.arena.used = 0;
    this.write(n);
  }

  /** Sends slots [0, n) of the batch (the arena, offsets and lengths, and the subclass's own fields). */
  protected abstract write(n: number): void;

  /**
   * Takes buf[off, off+len) into the batch and returns its slot, for the subclass's own fields; or -1 when a packet
   * built in place is not in the free part of the arena (something was queued after the room was given): the
   * batch before it has then been sent, and the caller sends this one on its own, now.
   */
  protected take(buf: Uint8Array, off: number, len: number): number {
    let at = off;
    if (buf === this.bytes) {
      // Built in place through room(): taken where it is, no copy.
      if (this.count === this.maxPackets) this.flush();
      if (!this.arena.claim(off, len)) {
        this.flush();
        return -1;
      }
    } else {
      if (this.count === this.maxPackets || !this.arena.fits(len)) this.flush();
      at = this.arena.append(buf, off, len);
    }
    const n = this.count;
    this.offsets[n] = at;
    this.lengths[n] = len;
    this.count = n + 1;
    if (!this.scheduled) {
      this.scheduled = true;
      flushAtEndOfTurn(this.flushTask);
    }
    return n;
  }
}
